package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testutil"
)

// requireSkopeo returns the skopeo on PATH (scripts/deps.sh installs
// Debian's), skipping the test when there is none unless the run requires
// its tools (BERTH_REQUIRE_DOCKER=1, as make test sets).
func requireSkopeo(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("skopeo")
	if err != nil {
		if os.Getenv(testutil.RequireDockerEnv) == "1" {
			t.Fatal("skopeo not found on PATH; run scripts/deps.sh")
		}
		t.Skip("skopeo not found on PATH; run scripts/deps.sh")
	}
	return p
}

// skopeo runs skopeo with a policy that accepts any image, so the test
// does not depend on the machine's /etc/containers/policy.json.
func skopeo(t *testing.T, bin string, args ...string) string {
	t.Helper()
	policy := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(policy, []byte(`{"default":[{"type":"insecureAcceptAnything"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"--policy", policy}, args...)...)
	cmd.Env = append(withoutAWSEnv(os.Environ()), "HOME="+t.TempDir()) // no stored logins
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestSkopeoCopy copies the test image from a docker-archive into Berth's
// registry with skopeo, from one repository to another (a cross-repository
// blob mount), back out to an OCI layout, and inspects it: the digest
// skopeo sees is the one ECR lists.
func TestSkopeoCopy(t *testing.T) {
	cli := requireCLIv2(t)
	bin := requireSkopeo(t)
	testutil.RequireDocker(t)
	image := testutil.BuildTestImage(t, "")
	b := shared(t)
	_, host, password := ecrLogin(t, b, cli)
	creds := "AWS:" + password
	repo, copyRepo := uniqueName("e2e-skopeo"), uniqueName("e2e-skopeo-copy")
	for _, r := range []string{repo, copyRepo} {
		b.Run(t, cli, "ecr", "create-repository", "--repository-name", r).MustSucceed(t)
		t.Cleanup(func() { b.Run(t, cli, "ecr", "delete-repository", "--repository-name", r, "--force") })
	}

	dir := t.TempDir()
	archive := filepath.Join(dir, "image.tar")
	if out, err := exec.Command("docker", "save", "-o", archive, image).CombinedOutput(); err != nil {
		t.Fatalf("docker save: %v\n%s", err, out)
	}
	ref := "docker://" + host + "/" + repo + ":v1"
	skopeo(t, bin, "copy", "--dest-creds", creds, "--dest-tls-verify=false", "docker-archive:"+archive, ref)
	skopeo(t, bin, "copy", "--src-creds", creds, "--src-tls-verify=false", "--dest-creds", creds, "--dest-tls-verify=false",
		ref, "docker://"+host+"/"+copyRepo+":copied")
	layout := filepath.Join(dir, "layout")
	skopeo(t, bin, "copy", "--src-creds", creds, "--src-tls-verify=false", ref, "oci:"+layout+":v1")
	if _, err := os.Stat(filepath.Join(layout, "index.json")); err != nil {
		t.Fatalf("no OCI layout after copying out: %v", err)
	}

	var inspected struct {
		Digest string   `json:"Digest"`
		Layers []string `json:"Layers"`
		Os     string   `json:"Os"`
	}
	out := skopeo(t, bin, "inspect", "--creds", creds, "--tls-verify=false", ref)
	if err := json.Unmarshal([]byte(out), &inspected); err != nil || inspected.Os != "linux" || len(inspected.Layers) == 0 {
		t.Fatalf("skopeo inspect: %v\n%s", err, out)
	}
	var listed struct {
		ImageIds []struct{ ImageDigest, ImageTag string } `json:"imageIds"`
	}
	for _, r := range []string{repo, copyRepo} {
		b.Run(t, cli, "ecr", "list-images", "--repository-name", r).MustSucceed(t).JSON(t, &listed)
		if len(listed.ImageIds) != 1 || listed.ImageIds[0].ImageDigest != inspected.Digest {
			t.Fatalf("list-images %s: %s, want digest %s", r, pretty(listed), inspected.Digest)
		}
	}
	tags := skopeo(t, bin, "list-tags", "--creds", creds, "--tls-verify=false", "docker://"+host+"/"+copyRepo)
	if !strings.Contains(tags, `"copied"`) {
		t.Fatalf("skopeo list-tags: %s", tags)
	}

	// Without credentials, or with a wrong password, skopeo is refused.
	cmd := exec.Command(bin, "inspect", "--tls-verify=false", "--creds", "AWS:"+password+"x", ref)
	cmd.Env = append(withoutAWSEnv(os.Environ()), "HOME="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(strings.ToLower(string(out)), "unauthorized") && !strings.Contains(strings.ToLower(string(out)), "denied") {
		t.Fatalf("skopeo inspect with a wrong password: %v\n%s", err, out)
	}
}
