// Package e2e holds Berth's end-to-end tests: they build bin/berth, run
// `berth up` with two local instances and drive it the way users do, with
// the aws CLI (v2 and v1), aws-sdk-go-v2 and plain HTTP, running real
// Docker containers of the test/testapp image.
//
// Run them with `make e2e` (or `go test ./test/e2e/`). Tests that need
// Docker skip without it unless BERTH_REQUIRE_DOCKER=1, which make sets.
// BERTH_E2E_LOG_LEVEL=debug makes berth log more; a failing test prints the
// tail of berth's log.
package e2e
