// Package bench holds Berth's built-in benchmarks, which `berth bench` runs:
// placement starts a control plane of its own in the process; runtask,
// service and registry drive a running Berth (a Target) and Docker. Each
// drives Berth through the public API and reports figures.
package bench
