package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestRepoRoot(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "test", "testapp", "main.go")); err != nil {
		t.Errorf("RepoRoot() = %s, which has no test/testapp: %v", root, err)
	}
}

func TestBuildTestImage(t *testing.T) {
	tag := BuildTestImage(t, "")
	if tag != DefaultTestImage {
		t.Errorf("tag = %q, want %q", tag, DefaultTestImage)
	}
	if again := BuildTestImage(t, ""); again != tag {
		t.Errorf("second call returned %q", again)
	}

	cli, err := newClient(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	img, err := cli.ImageInspect(t.Context(), tag)
	if err != nil {
		t.Fatal(err)
	}
	cfg := img.Config
	if !slices.Equal(cfg.Entrypoint, []string{"/testapp"}) {
		t.Errorf("Entrypoint = %q", cfg.Entrypoint)
	}
	if _, ok := cfg.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("ExposedPorts = %v, want 8080/tcp", cfg.ExposedPorts)
	}
	if cfg.Labels[contentLabel] == "" {
		t.Errorf("missing %s label", contentLabel)
	}

	// Building an unchanged image again is a no-op that keeps the image ID.
	if err := BuildImage(t.Context(), tag); err != nil {
		t.Fatal(err)
	}
	img2, err := cli.ImageInspect(t.Context(), tag)
	if err != nil {
		t.Fatal(err)
	}
	if img2.ID != img.ID {
		t.Errorf("rebuild changed the image: %s -> %s", img.ID, img2.ID)
	}
}

// TestRequireDockerWithoutDaemon runs TestRequireDockerHelper in a child
// process pointed at a socket where no daemon listens.
func TestRequireDockerWithoutDaemon(t *testing.T) {
	if os.Getenv("BERTH_TESTUTIL_CHILD") == "1" {
		t.Skip("child process")
	}
	sock := "unix://" + filepath.Join(t.TempDir(), "no-docker.sock")
	for _, tc := range []struct {
		require  string
		wantFail bool
		wantText string
	}{
		{"", false, "SKIP"},
		{"1", true, "Docker daemon required"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRequireDockerHelper$", "-test.v")
		cmd.Env = append(os.Environ(), "BERTH_TESTUTIL_CHILD=1", "DOCKER_HOST="+sock, RequireDockerEnv+"="+tc.require)
		out, err := cmd.CombinedOutput()
		if (err != nil) != tc.wantFail || !strings.Contains(string(out), tc.wantText) {
			t.Errorf("%s=%q: err=%v, output:\n%s", RequireDockerEnv, tc.require, err, out)
		}
	}
}

func TestRequireDockerHelper(t *testing.T) {
	if os.Getenv("BERTH_TESTUTIL_CHILD") != "1" {
		t.Skip("only runs as a child of TestRequireDockerWithoutDaemon")
	}
	RequireDocker(t)
	t.Log("docker available")
}
