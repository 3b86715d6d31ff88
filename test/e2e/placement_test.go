package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestPlacementWithCLI drives placement through the aws CLI's own
// --placement-strategy and --placement-constraints syntax, over four real
// agents: t3.small instances in us-east-1a, b and c, and an m5.large in
// us-east-1a that the memberOf constraint must leave out.
func TestPlacementWithCLI(t *testing.T) {
	b := shared(t)
	cli := requireCLIv2(t)
	image := testutil.BuildTestImage(t, "")
	cluster := uniqueName("e2e-place")
	b.Run(t, cli, "ecs", "create-cluster", "--cluster-name", cluster).MustSucceed(t)

	ctx, cancel := context.WithCancel(context.Background())
	var agents []*exec.Cmd
	t.Cleanup(func() {
		cancel()
		for _, a := range agents {
			a.Wait()
		}
	})
	for i, spec := range [][2]string{{"us-east-1a", "t3.small"}, {"us-east-1b", "t3.small"}, {"us-east-1c", "t3.small"}, {"us-east-1a", "m5.large"}} {
		dir := t.TempDir()
		a := exec.CommandContext(ctx, b.bin, "agent", "--endpoint", b.Endpoint, "--cluster", cluster, "--region", b.Region,
			"--availability-zone", spec[0], "--instance-type", spec[1],
			"--data-dir", filepath.Join(dir, "data"), "--config-file", filepath.Join(dir, "none"))
		a.Env = append(withoutAWSEnv(os.Environ()), "AWS_ACCESS_KEY_ID="+b.AccessKey, "AWS_SECRET_ACCESS_KEY="+b.SecretKey)
		log, err := os.Create(filepath.Join(dir, "agent.log"))
		if err != nil {
			t.Fatal(err)
		}
		a.Stdout, a.Stderr = log, log
		if err := a.Start(); err != nil {
			t.Fatalf("agent %d: %v", i, err)
		}
		agents = append(agents, a)
	}
	insts := waitForInstances(t, b, cli, cluster, 4)

	// Which instance is which, from the attributes the agents registered.
	az, itype := map[string]string{}, map[string]string{}
	for _, ci := range insts {
		var out struct {
			ContainerInstances []struct {
				Attributes []struct{ Name, Value string } `json:"attributes"`
			} `json:"containerInstances"`
		}
		b.Run(t, cli, "ecs", "describe-container-instances", "--cluster", cluster, "--container-instances", ci.ContainerInstanceArn).MustSucceed(t).JSON(t, &out)
		for _, a := range out.ContainerInstances[0].Attributes {
			switch a.Name {
			case "ecs.availability-zone":
				az[ci.ContainerInstanceArn] = a.Value
			case "ecs.instance-type":
				itype[ci.ContainerInstanceArn] = a.Value
			}
		}
	}

	family := uniqueName("e2e-place")
	registerTestApp(t, b, cli, family, image, nil)
	run := func(args ...string) tasksOutput {
		t.Helper()
		var out tasksOutput
		b.Run(t, cli, append([]string{"ecs", "run-task", "--cluster", cluster, "--task-definition", family}, args...)...).MustSucceed(t).JSON(t, &out)
		for _, tk := range out.Tasks {
			b.TrackTask(tk.TaskArn)
		}
		return out
	}
	var all []string
	defer func() {
		for _, arn := range all {
			b.Run(t, cli, "ecs", "stop-task", "--cluster", cluster, "--task", arn)
		}
	}()

	spread := run("--count", "10", "--placement-strategy", "type=spread,field=attribute:ecs.availability-zone",
		"--placement-constraints", `type=memberOf,expression=attribute:ecs.instance-type =~ t3.*`)
	perAZ := map[string]int{}
	for _, tk := range spread.Tasks {
		all = append(all, tk.TaskArn)
		if it := itype[tk.ContainerInstanceArn]; it != "t3.small" {
			t.Errorf("task %s placed on a %s, outside the memberOf constraint", tk.TaskArn, it)
		}
		perAZ[az[tk.ContainerInstanceArn]]++
	}
	counts := []int{perAZ["us-east-1a"], perAZ["us-east-1b"], perAZ["us-east-1c"]}
	slices.Sort(counts)
	if len(spread.Tasks) != 10 || len(spread.Failures) != 0 || !slices.Equal(counts, []int{3, 3, 4}) {
		t.Fatalf("spread over AZs: %d tasks, failures %v, split %v; want 10 tasks split 4/3/3", len(spread.Tasks), spread.Failures, perAZ)
	}

	// binpack on memory: every task goes to the instance with the least
	// memory left, one of the t3.smalls that got four.
	packed := run("--count", "3", "--placement-strategy", "type=binpack,field=memory")
	if len(packed.Tasks) != 3 || len(packed.Failures) != 0 {
		t.Fatalf("binpack: %d tasks, failures %v", len(packed.Tasks), packed.Failures)
	}
	for _, tk := range packed.Tasks {
		all = append(all, tk.TaskArn)
		if tk.ContainerInstanceArn != packed.Tasks[0].ContainerInstanceArn || itype[tk.ContainerInstanceArn] != "t3.small" {
			t.Fatalf("binpack spread its tasks: %s (%s) and %s", tk.ContainerInstanceArn, itype[tk.ContainerInstanceArn], packed.Tasks[0].ContainerInstanceArn)
		}
	}

	// No instance matches: nothing placed, one failure per instance with
	// the constraint's reason.
	none := run("--count", "2", "--placement-constraints", `type=memberOf,expression=attribute:ecs.instance-type == c5.*`)
	if len(none.Tasks) != 0 || len(none.Failures) != 4 {
		t.Fatalf("unsatisfiable memberOf: %d tasks, failures %v", len(none.Tasks), none.Failures)
	}
	for _, f := range none.Failures {
		if f.Reason != "MemberOf placement constraint unsatisfied." || !strings.Contains(f.Arn, ":container-instance/"+cluster+"/") {
			t.Fatalf("failure %+v, want the memberOf reason for a container instance", f)
		}
	}
}
