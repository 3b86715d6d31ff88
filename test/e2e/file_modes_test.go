package e2e

import (
	"io/fs"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestDataDirIsPrivate: every file and directory berth up wrote under its
// data dir — etcd, credentials and env files, instance folders, agent
// sockets, registry content — is its owner's alone, although the harness
// starts it with a umask that would let others read them.
func TestDataDirIsPrivate(t *testing.T) {
	cli := requireCLIv2(t)
	testutil.RequireDocker(t)
	image := testutil.BuildTestImage(t, "")
	b := shared(t)
	// An image in the registry, so its content is on disk too.
	cfg, host, _ := ecrLogin(t, b, cli)
	repo := uniqueName("e2e-modes")
	ref := host + "/" + repo + ":v1"
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", ref).Run() })
	b.Run(t, cli, "ecr", "create-repository", "--repository-name", repo).MustSucceed(t)
	for _, args := range [][]string{{"tag", image, ref}, {"push", ref}} {
		if out, err := docker(t, cfg, "", args...); err != nil {
			t.Fatalf("docker %v: %v\n%s", args, err, out)
		}
	}
	n := 0
	err := filepath.WalkDir(b.DataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == b.LogPath {
			return nil // the harness's own log
		}
		info, err := d.Info()
		if err != nil {
			return nil // gone meanwhile
		}
		n++
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %v: readable by others than its owner", path, perm)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("only %d entries under %s: the walk found nothing to check", n, b.DataDir)
	}
}
