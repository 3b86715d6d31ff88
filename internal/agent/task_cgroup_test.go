package agent

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/acs"
	"github.com/berth-dev/berth/internal/cgroup"
	"github.com/berth-dev/berth/internal/testutil"
)

// TestTaskCgroup: a task with task-level cpu and memory gets a group of
// its own under its instance's, its containers are created in it, and the
// kernel holds them to the task's size; a task without task-level limits
// keeps the instance's group; clean-up removes the task's group.
func TestTaskCgroup(t *testing.T) {
	parent := "/berth-test/i-taskcgroup"
	arn := "arn:aws:ecs:us-east-1:123456789012:task/c/0123456789abcdef0123456789abcdef"
	sized := &acs.Task{Arn: arn, Family: "web", Version: "1", NetworkMode: "bridge", Cpu: 0.25, Memory: 96,
		Containers: []acs.Container{{Name: "app", Image: "img", Memory: 512}}}
	unsized := &acs.Task{Arn: arn, Family: "web", Version: "1", NetworkMode: "bridge", Containers: sized.Containers}
	a := &Agent{cfg: Config{Region: "us-east-1", Endpoint: "http://127.0.0.1:1"}}
	a.cfg.EC2.CgroupParent = parent
	for _, tc := range []struct {
		name string
		def  *acs.Task
		want string
	}{
		{"task-level limits", sized, parent + "/0123456789abcdef0123456789abcdef"},
		{"no task-level limits", unsized, parent},
	} {
		tk := &task{arn: arn, family: "web", version: "1"}
		spec, err := a.containerSpec(tk, tc.def, a.newContainer(tk, &tc.def.Containers[0]))
		if err != nil {
			t.Fatal(err)
		}
		if spec.CgroupParent != tc.want {
			t.Fatalf("%s: cgroup parent %q, want %q", tc.name, spec.CgroupParent, tc.want)
		}
	}

	if os.Geteuid() != 0 || cgroup.V2() {
		t.Skip("the kernel's limits are read as root on cgroup v1")
	}
	image := testutil.BuildTestImage(t, "")
	if _, err := cgroup.Ensure(parent, 1, 512); err != nil {
		t.Fatal(err)
	}
	h := cgroupHook{parent: parent}
	if err := h.Prerun(context.Background(), arn, sized); err != nil {
		t.Fatal(err)
	}
	path := taskCgroup(parent, arn, sized)
	name := "berth-taskcgroup-test"
	exec.Command("docker", "rm", "-f", name).Run()
	out, err := exec.Command("docker", "run", "-d", "--name", name, "--cgroup-parent", path, "--memory", "512m", image, "sleep", "60").CombinedOutput()
	if err != nil {
		t.Fatalf("docker run: %v: %s", err, out)
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		exec.Command("docker", "rm", "-f", name).Run()
		cgroup.Remove(path)
		cgroup.Remove(parent)
		cgroup.Remove("/berth-test")
	})
	stat, err := os.ReadFile(filepath.Join(cgroup.Root, "memory", path, id, "memory.stat"))
	if err != nil || !strings.Contains(string(stat), "hierarchical_memory_limit 100663296\n") {
		t.Fatalf("the container is not held to the task's 96 MiB: %v\n%s", err, stat)
	}
	quota, err := os.ReadFile(filepath.Join(cgroup.Root, "cpu", path, "cpu.cfs_quota_us"))
	if err != nil || strings.TrimSpace(string(quota)) != "25000" {
		t.Fatalf("cpu quota %q %v, want a quarter of a CPU", quota, err)
	}
	exec.Command("docker", "rm", "-f", name).Run()
	if err := h.Postrun(context.Background(), arn, sized); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cgroup.Root, "memory", path)); !os.IsNotExist(err) {
		t.Fatalf("the task's group is left after clean-up: %v", err)
	}
}
