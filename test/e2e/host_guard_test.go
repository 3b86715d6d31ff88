package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestLocalInstancesGuardTheHost: berth up's instances share the host with
// Berth, so they offer no privileged containers (a privileged task is not
// placed, for want of the capability) and refuse a bind mount of Docker's
// socket: the task stops with CannotCreateContainerError before any of its
// containers exists.
func TestLocalInstancesGuardTheHost(t *testing.T) {
	cli := requireCLIv2(t)
	testutil.RequireDocker(t)
	image := testutil.BuildTestImage(t, "")
	b := shared(t)
	waitForInstances(t, b, cli, "default", 2)

	register := func(family string, edit func(td, c map[string]any)) {
		td := exampleTaskDef(t)
		td["family"] = family
		c := firstContainer(t, td)
		c["image"] = image
		edit(td, c)
		b.Run(t, cli, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, family+".json", td)).MustSucceed(t)
	}

	priv := uniqueName("e2e-priv")
	register(priv, func(_, c map[string]any) { c["privileged"] = true })
	var out tasksOutput
	r := b.Run(t, cli, "ecs", "run-task", "--cluster", "default", "--task-definition", priv).MustSucceed(t)
	r.JSON(t, &out)
	if len(out.Tasks) != 0 || len(out.Failures) == 0 || !strings.Contains(out.Failures[0].Reason, "ATTRIBUTE") {
		t.Fatalf("a privileged task on instances that refuse privileged containers: want an ATTRIBUTE failure, got\n%v", r)
	}

	sock := uniqueName("e2e-sock")
	register(sock, func(td, c map[string]any) {
		td["volumes"] = []any{map[string]any{"name": "docker", "host": map[string]any{"sourcePath": "/var/run/docker.sock"}}}
		c["mountPoints"] = []any{map[string]any{"sourceVolume": "docker", "containerPath": "/var/run/docker.sock"}}
	})
	tk := runTask(t, b, cli, "default", sock)
	stopped := waitTask(t, b, cli, "default", tk.TaskArn, "STOPPED")
	reason := stopped.StoppedReason
	if len(stopped.Containers) > 0 && stopped.Containers[0].Reason != "" {
		reason += " " + stopped.Containers[0].Reason
	}
	if !strings.Contains(reason, "CannotCreateContainerError") || !strings.Contains(reason, "docker.sock") {
		t.Fatalf("a task mounting Docker's socket: stoppedReason %q, container reason %q; want CannotCreateContainerError naming the socket",
			stopped.StoppedReason, stopped.Containers[0].Reason)
	}
	out2, err := exec.Command("docker", "ps", "-aq", "--filter", "label=com.amazonaws.ecs.task-arn="+tk.TaskArn).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out2)) != "" {
		t.Fatalf("containers of the refused task exist: %q %v", out2, err)
	}
}
