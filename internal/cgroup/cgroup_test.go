package cgroup

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestContainersAreHeldToTheInstance runs a container under an instance's
// parent group and reads, from the kernel, the limits that hold it: the
// instance's memory and CPU, whatever the container itself was given.
func TestContainersAreHeldToTheInstance(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	image := testutil.BuildTestImage(t, "")
	path := "/berth-test/i-cgroup" + strings.ToLower(t.Name()[:4])
	p, err := Ensure(path, 1, 96)
	if err != nil {
		t.Fatal(err)
	}
	name := "berth-cgroup-test"
	exec.Command("docker", "rm", "-f", name).Run()
	out, err := exec.Command("docker", "run", "-d", "--name", name, "--cgroup-parent", p.Path, "--memory", "512m", image, "sleep", "60").CombinedOutput()
	if err != nil {
		t.Fatalf("docker run: %v: %s", err, out)
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		exec.Command("docker", "rm", "-f", name).Run()
		if err := Remove(path); err != nil {
			t.Errorf("remove: %v", err)
		}
		Remove("/berth-test")
	})
	if V2() {
		b, err := os.ReadFile(filepath.Join(Root, path, "memory.max"))
		if err != nil || strings.TrimSpace(string(b)) != "100663296" {
			t.Fatalf("memory.max = %q %v", b, err)
		}
		if _, err := os.Stat(filepath.Join(Root, path, id)); err != nil {
			t.Fatalf("the container is not under the instance's group: %v", err)
		}
		return
	}
	// The container's own limit is 512 MiB, but the kernel holds it to
	// its ancestors' smallest: the instance's 96 MiB.
	stat := readStat(t, filepath.Join(Root, "memory", path, id, "memory.stat"))
	if stat["hierarchical_memory_limit"] != "100663296" {
		t.Fatalf("hierarchical_memory_limit = %s, want the instance's 96 MiB", stat["hierarchical_memory_limit"])
	}
	quota, err := os.ReadFile(filepath.Join(Root, "cpu", path, "cpu.cfs_quota_us"))
	if err != nil || strings.TrimSpace(string(quota)) != "100000" {
		t.Fatalf("cpu quota = %q %v, want one CPU", quota, err)
	}
	if _, err := os.Stat(filepath.Join(Root, "cpu", path, id)); err != nil {
		t.Fatalf("the container's CPU group is not under the instance's: %v", err)
	}
	// Updating the size applies to the running container at once.
	if _, err := Ensure(path, 2, 128); err != nil {
		t.Fatal(err)
	}
	if stat := readStat(t, filepath.Join(Root, "memory", path, id, "memory.stat")); stat["hierarchical_memory_limit"] != "134217728" {
		t.Fatalf("after resize, hierarchical_memory_limit = %s", stat["hierarchical_memory_limit"])
	}
	if _, err := Ensure("../etc", 1, 1); err == nil {
		t.Fatal("a relative path was accepted")
	}
}

func readStat(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		out[k] = v
	}
	return out
}
