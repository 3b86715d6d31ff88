package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// agentPids returns the pids of the `berth agent` children of berth up.
func agentPids(t *testing.T, upPid int) []int {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, p := range dirs {
		data, err := os.ReadFile(p)
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid ...; comm may contain spaces, so cut at the last ')'.
		s := string(data)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) < 2 || fields[1] != strconv.Itoa(upPid) {
			continue
		}
		pidDir := filepath.Dir(p)
		cmdline, err := os.ReadFile(filepath.Join(pidDir, "cmdline"))
		if err != nil || !slices.Contains(strings.Split(string(cmdline), "\x00"), "agent") {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(pidDir))
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	return pids
}

// TestRestartKeepsTasks checks that a running task survives its agents
// being killed (berth up restarts them) and berth up itself being
// restarted on the same data dir: the container keeps running, the
// instances come back under their ARNs, the credentials stay, and the task
// can still be stopped.
func TestRestartKeepsTasks(t *testing.T) {
	cli := requireCLIv2(t)
	image := testutil.BuildTestImage(t, "")
	b := startBerth(t)

	insts := waitForInstances(t, b, cli, defaultCluster, 2)
	var instARNs []string
	for _, ci := range insts {
		instARNs = append(instARNs, ci.ContainerInstanceArn)
	}
	slices.Sort(instARNs)

	family := uniqueName("e2e-restart")
	registerTestApp(t, b, cli, family, image, map[string]string{"GREETING": "survivor"})
	tk := runTask(t, b, cli, defaultCluster, family)
	before := waitTask(t, b, cli, defaultCluster, tk.TaskArn, "RUNNING")
	checkApp(t, before, "GREETING", "survivor")

	// sameTask checks that the task still runs in the very same container,
	// reachable on the same host port, on connected instances.
	sameTask := func(t *testing.T) {
		t.Helper()
		got := waitForInstances(t, b, cli, defaultCluster, 2)
		var arns []string
		for _, ci := range got {
			arns = append(arns, ci.ContainerInstanceArn)
		}
		slices.Sort(arns)
		if !slices.Equal(arns, instARNs) {
			t.Errorf("container instances changed: before %v, after %v", instARNs, arns)
		}
		after := waitTask(t, b, cli, defaultCluster, tk.TaskArn, "RUNNING")
		if after.Containers[0].RuntimeID == "" || after.Containers[0].RuntimeID != before.Containers[0].RuntimeID {
			t.Errorf("the task's container changed: runtimeId before %q, after %q", before.Containers[0].RuntimeID, after.Containers[0].RuntimeID)
		}
		checkApp(t, after, "GREETING", "survivor")
		if after.Containers[0].NetworkBindings[0].HostPort != before.Containers[0].NetworkBindings[0].HostPort {
			t.Errorf("host port changed: %d → %d", before.Containers[0].NetworkBindings[0].HostPort, after.Containers[0].NetworkBindings[0].HostPort)
		}
	}

	t.Run("agents killed", func(t *testing.T) {
		old := agentPids(t, b.Pid())
		if len(old) != 2 {
			t.Fatalf("want 2 berth agent children of berth up (pid %d), found %v", b.Pid(), old)
		}
		for _, pid := range old {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatalf("kill agent %d: %v", pid, err)
			}
		}
		eventually(t, 30*time.Second, 250*time.Millisecond, "berth up to restart both agents", func() (bool, string) {
			now := agentPids(t, b.Pid())
			return len(now) == 2 && !slices.Contains(now, old[0]) && !slices.Contains(now, old[1]),
				fmt.Sprintf("agent pids %v (killed %v)\n%s", now, old, b.LogTail(10))
		})
		sameTask(t)
	})

	t.Run("berth up killed with SIGKILL", func(t *testing.T) {
		if err := b.Crash(); err != nil {
			t.Fatalf("crash and restart berth up: %v", err)
		}
		sameTask(t)
		out, err := exec.Command("docker", "ps", "-aq", "--filter", "label=com.amazonaws.ecs.task-arn="+tk.TaskArn).Output()
		if err != nil {
			t.Fatal(err)
		}
		if n := len(strings.Fields(string(out))); n != 1 {
			t.Errorf("%d containers carry the task's label after the crash, want exactly 1", n)
		}
	})

	t.Run("berth up restarted", func(t *testing.T) {
		// Restart checks that berth.env still holds the same credentials,
		// now read from the store: BERTH_ROOT_* are not passed again.
		if err := b.Restart(); err != nil {
			t.Fatalf("restart berth up: %v", err)
		}
		sameTask(t)
	})

	var stop struct {
		Task task `json:"task"`
	}
	b.Run(t, cli, "ecs", "stop-task", "--cluster", defaultCluster, "--task", tk.TaskArn).MustSucceed(t).JSON(t, &stop)
	stopped := waitTask(t, b, cli, defaultCluster, tk.TaskArn, "STOPPED")
	if stopped.StopCode != "UserInitiated" || len(stopped.Containers) != 1 || stopped.Containers[0].ExitCode == nil || *stopped.Containers[0].ExitCode != 0 {
		t.Errorf("after the restarts, stop-task should stop the task with exit code 0: %s", pretty(stopped))
	}
}
