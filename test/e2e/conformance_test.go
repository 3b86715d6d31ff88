package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// conformancePkg is the OCI distribution-spec conformance suite, a Go
// program pinned as a tool in go.mod.
const conformancePkg = "github.com/opencontainers/distribution-spec/conformance"

// conformanceTimeout bounds one run of the suite (about 10 s on 2 cores).
const conformanceTimeout = 3 * time.Minute

var buildConformance = sync.OnceValues(func() (string, error) {
	root, err := testutil.RepoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(tmpRoot, "bin", "conformance")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, conformancePkg)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", conformancePkg, err, out)
	}
	return bin, nil
})

// conformanceSettings configure the suite for Berth: every API and data
// test of distribution-spec v1.1 except content addressed by sha512, which
// the registry refuses (DIGEST_INVALID): like ECR it addresses content by
// sha256, the one algorithm the spec requires.
var conformanceSettings = []string{
	"OCI_VERSION=1.1",
	"OCI_TLS=disabled",
	"OCI_API_BLOBS_UPLOAD_CANCEL=true",
	"OCI_API_BLOBS_DIGEST_HEADER=true",     // Docker-Content-Digest, which docker relies on
	"OCI_API_MANIFESTS_DIGEST_HEADER=true", // likewise
	"OCI_DATA_SHA512=false",
	"OCI_LOG=warn",
}

// conformanceMustPass are lines of the suite's summary that must read
// Pass: one per workflow (pull, push, content discovery, content
// management), so that a feature the suite would merely mark unsupported
// cannot slip by.
var conformanceMustPass = []string{
	"Blob get", "Blob get range", "Manifest get by tag", "Manifest head by digest", // pull
	"Blob push", "Blob chunked", "Blob streaming", "Blob mount", "Blob upload cancel", "Manifest put by tag", "Manifest put by digest", // push
	"Tag listing", "Referrers", "Manifest put with subject", // content discovery
	"Tag delete", "Manifest delete", "Blob delete", // content management
}

// TestOCIConformance runs the OCI distribution-spec v1.1 conformance suite
// against Berth's registry: it creates the two repositories the suite
// uses with the ECR API, logs in with get-login-password, and fails on any
// failed test of the suite.
func TestOCIConformance(t *testing.T) {
	runConformance(t, shared(t), requireCLIv2(t))
}

// runConformance runs the conformance suite against the registry of b.
func runConformance(t *testing.T, b *Berth, cli CLI) {
	t.Helper()
	bin, err := buildConformance()
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(b.Endpoint)
	repo1, repo2 := uniqueName("conformance/one"), uniqueName("conformance/two")
	for _, repo := range []string{repo1, repo2} {
		b.Run(t, cli, "ecr", "create-repository", "--repository-name", repo).MustSucceed(t)
		t.Cleanup(func() { b.Run(t, cli, "ecr", "delete-repository", "--repository-name", repo, "--force") })
	}
	password := strings.TrimSpace(b.Run(t, cli, "ecr", "get-login-password").MustSucceed(t).Stdout)

	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), conformanceTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Dir = dir // no oci-conformance.yaml here: the environment is the whole configuration
	cmd.Env = append(withoutAWSEnv(os.Environ()), conformanceSettings...)
	cmd.Env = append(cmd.Env,
		"OCI_RESULTS_DIR="+filepath.Join(dir, "results"),
		"OCI_REGISTRY=localhost:"+u.Port(),
		"OCI_REPO1="+repo1, "OCI_REPO2="+repo2,
		"OCI_USERNAME=AWS", "OCI_PASSWORD="+password,
	)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	report := string(out)
	t.Logf("conformance suite ran in %v; its report is in %s/results while the test runs", time.Since(start).Round(time.Millisecond), dir)
	if err != nil || !strings.Contains(report, "OCI Conformance Result: Pass") {
		t.Fatalf("conformance suite failed (%v):\n%s", err, conformanceFailures(report))
	}
	for _, name := range conformanceMustPass {
		re := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(name) + `\.+:\s+(\S+)$`)
		if m := re.FindStringSubmatch(report); m == nil || m[1] != "Pass" {
			t.Errorf("conformance %q: %v, want Pass", name, m)
		}
	}
	if t.Failed() {
		t.Logf("summary:\n%s", report[max(0, strings.Index(report, "OCI Conformance Result")):])
	}
}

// conformanceFailures keeps the suite's failed-test lines and its summary.
func conformanceFailures(report string) string {
	var keep []string
	for _, line := range strings.Split(report, "\n") {
		if strings.Contains(line, "failed test") || strings.Contains(line, "failed to") {
			keep = append(keep, line)
		}
	}
	if i := strings.Index(report, "OCI Conformance Result"); i >= 0 {
		keep = append(keep, report[i:])
	}
	return strings.Join(keep, "\n")
}
