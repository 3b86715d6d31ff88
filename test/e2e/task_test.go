package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/berth-dev/berth/internal/testutil"
)

// The cluster berth up's instances join (--cluster default).
const defaultCluster = "default"

// waitForInstances waits until the cluster lists want container instances,
// all ACTIVE with their agent connected, as seen through the aws CLI.
func waitForInstances(t *testing.T, b *Berth, cli CLI, clusterName string, want int) []containerInstance {
	t.Helper()
	var insts []containerInstance
	eventually(t, instanceTimeout, time.Second, fmt.Sprintf("%d connected ACTIVE container instances in cluster %s", want, clusterName), func() (bool, string) {
		var list struct {
			ContainerInstanceArns []string `json:"containerInstanceArns"`
		}
		r := b.Run(t, cli, "ecs", "list-container-instances", "--cluster", clusterName)
		if r.ExitCode != 0 {
			return false, r.String()
		}
		r.JSON(t, &list)
		if len(list.ContainerInstanceArns) != want {
			return false, r.String()
		}
		var desc struct {
			ContainerInstances []containerInstance `json:"containerInstances"`
			Failures           []failure           `json:"failures"`
		}
		r = b.Run(t, cli, append([]string{"ecs", "describe-container-instances", "--cluster", clusterName, "--container-instances"}, list.ContainerInstanceArns...)...)
		if r.ExitCode != 0 {
			return false, r.String()
		}
		r.JSON(t, &desc)
		if len(desc.ContainerInstances) != want || len(desc.Failures) != 0 {
			return false, r.String()
		}
		for _, ci := range desc.ContainerInstances {
			if ci.Status != "ACTIVE" || !ci.AgentConnected {
				return false, r.String()
			}
		}
		insts = desc.ContainerInstances
		return true, ""
	})
	return insts
}

// registerTestApp registers a task definition of the test image, built from
// docs/examples/web.json: container "web" on port 8080 with hostPort 0.
func registerTestApp(t *testing.T, b *Berth, cli CLI, family, image string, env map[string]string) taskDefinition {
	t.Helper()
	td := exampleTaskDef(t)
	td["family"] = family
	c := firstContainer(t, td)
	c["image"] = image
	envList := []any{}
	for k, v := range env {
		envList = append(envList, map[string]any{"name": k, "value": v})
	}
	c["environment"] = envList
	var out taskDefinitionOutput
	b.Run(t, cli, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "taskdef.json", td)).MustSucceed(t).JSON(t, &out)
	if out.TaskDefinition.Status != "ACTIVE" || out.TaskDefinition.ContainerDefinitions[0].Image != image {
		t.Fatalf("register-task-definition: %s", pretty(out))
	}
	return out.TaskDefinition
}

// runTask runs one task with the CLI and returns it; extra args are added
// to run-task.
func runTask(t *testing.T, b *Berth, cli CLI, clusterName, taskDef string, extra ...string) task {
	t.Helper()
	var out tasksOutput
	args := append([]string{"ecs", "run-task", "--cluster", clusterName, "--task-definition", taskDef, "--count", "1"}, extra...)
	r := b.Run(t, cli, args...).MustSucceed(t)
	r.JSON(t, &out)
	for _, tk := range out.Tasks {
		b.TrackTask(tk.TaskArn)
	}
	if len(out.Tasks) != 1 || len(out.Failures) != 0 {
		t.Fatalf("run-task: want 1 task and no failures:\n%v", r)
	}
	tk := out.Tasks[0]
	if tk.DesiredStatus != "RUNNING" || tk.LaunchType != "EC2" || !strings.HasPrefix(tk.TaskArn, "arn:aws:ecs:us-east-1:"+b.AccountID+":task/"+clusterName+"/") {
		t.Errorf("run-task returned an unexpected task:\n%v", r)
	}
	if tk.LastStatus != "PROVISIONING" && tk.LastStatus != "PENDING" {
		t.Errorf("run-task: lastStatus %q, want PROVISIONING or PENDING", tk.LastStatus)
	}
	return tk
}

// waitTask polls describe-tasks until the task's lastStatus is status and
// returns it; it fails at once when the task stops while waiting for
// RUNNING, and after taskTimeout otherwise, with the describe-tasks output.
func waitTask(t *testing.T, b *Berth, cli CLI, clusterName, arn, status string) task {
	t.Helper()
	var tk task
	eventually(t, taskTimeout, 500*time.Millisecond, fmt.Sprintf("task %s to be %s", arn, status), func() (bool, string) {
		r := b.Run(t, cli, "ecs", "describe-tasks", "--cluster", clusterName, "--tasks", arn)
		if r.ExitCode != 0 {
			return false, r.String()
		}
		var out tasksOutput
		r.JSON(t, &out)
		if len(out.Tasks) != 1 {
			return false, r.String()
		}
		tk = out.Tasks[0]
		if tk.LastStatus == "STOPPED" && status != "STOPPED" {
			t.Fatalf("task stopped while waiting for %s:\n%v", status, r)
		}
		return tk.LastStatus == status, r.String()
	})
	return tk
}

// checkApp GETs the test app through the task's dynamic host port and
// checks that it sees the environment variable.
func checkApp(t *testing.T, tk task, envName, envValue string) {
	t.Helper()
	if len(tk.Containers) != 1 {
		t.Fatalf("want 1 container, got %s", pretty(tk))
	}
	c := tk.Containers[0]
	if c.LastStatus != "RUNNING" || len(c.NetworkBindings) == 0 {
		t.Fatalf("RUNNING task's container should be RUNNING with network bindings: %s", pretty(tk))
	}
	nb := c.NetworkBindings[0]
	if nb.ContainerPort != 8080 || nb.HostPort <= 0 || nb.HostPort > 65535 {
		t.Fatalf("network binding %s: want containerPort 8080 on a dynamic hostPort", pretty(nb))
	}
	var got struct {
		Hostname string            `json:"hostname"`
		Env      map[string]string `json:"env"`
	}
	// The port is the instance's: it listens on the instance's address.
	httpGetJSON(t, fmt.Sprintf("http://%s:%d/", bindAddr(nb.BindIP), nb.HostPort), &got)
	if got.Env[envName] != envValue {
		t.Errorf("the app on host port %d sees %s=%q, want %q (env %v)", nb.HostPort, envName, got.Env[envName], envValue, got.Env)
	}
}

// TestRunTaskCLI is the quickstart workflow with the aws CLI v2: the
// instances of berth up register, a task of the test image runs on a dynamic
// host port and answers HTTP, stops on request with exit code 0; a task
// whose essential container exits 3 stops by itself.
func TestRunTaskCLI(t *testing.T) {
	b := shared(t)
	cli := requireCLIv2(t)
	image := testutil.BuildTestImage(t, "")

	insts := waitForInstances(t, b, cli, defaultCluster, 2)
	for _, ci := range insts {
		if !slices.ContainsFunc(ci.RegisteredResources, func(r resource) bool { return r.Name == "CPU" && r.IntegerValue == 2048 }) {
			t.Errorf("a t3.medium registers 2048 CPU units: %s", pretty(ci))
		}
	}
	var desc describeClustersOutput
	b.Run(t, cli, "ecs", "describe-clusters", "--clusters", defaultCluster).MustSucceed(t).JSON(t, &desc)
	if len(desc.Clusters) != 1 || intOr(desc.Clusters[0].RegisteredContainerInstancesCount, 0) != 2 {
		t.Errorf("describe-clusters default: want registeredContainerInstancesCount 2, got %s", pretty(desc))
	}

	family := uniqueName("e2e-web")
	greeting := uniqueName("hello-from-berth")
	registerTestApp(t, b, cli, family, image, map[string]string{"GREETING": greeting})

	t.Run("run, curl, stop", func(t *testing.T) {
		tk := runTask(t, b, cli, defaultCluster, family)
		running := waitTask(t, b, cli, defaultCluster, tk.TaskArn, "RUNNING")
		if !slices.ContainsFunc(insts, func(ci containerInstance) bool { return ci.ContainerInstanceArn == running.ContainerInstanceArn }) {
			t.Errorf("task runs on %q, not one of berth up's instances", running.ContainerInstanceArn)
		}
		checkApp(t, running, "GREETING", greeting)

		var list struct {
			TaskArns []string `json:"taskArns"`
		}
		b.Run(t, cli, "ecs", "list-tasks", "--cluster", defaultCluster, "--family", family).MustSucceed(t).JSON(t, &list)
		if !slices.Equal(list.TaskArns, []string{tk.TaskArn}) {
			t.Errorf("list-tasks --family %s: want [%s], got %v", family, tk.TaskArn, list.TaskArns)
		}

		var stop struct {
			Task task `json:"task"`
		}
		b.Run(t, cli, "ecs", "stop-task", "--cluster", defaultCluster, "--task", tk.TaskArn, "--reason", "e2e says stop").MustSucceed(t).JSON(t, &stop)
		if stop.Task.DesiredStatus != "STOPPED" {
			t.Errorf("stop-task: desiredStatus %q, want STOPPED", stop.Task.DesiredStatus)
		}
		stopped := waitTask(t, b, cli, defaultCluster, tk.TaskArn, "STOPPED")
		if stopped.StopCode != "UserInitiated" || stopped.StoppedReason != "e2e says stop" {
			t.Errorf("want stopCode UserInitiated and the reason given, got %s", pretty(stopped))
		}
		if len(stopped.Containers) != 1 || stopped.Containers[0].ExitCode == nil || *stopped.Containers[0].ExitCode != 0 {
			t.Errorf("the app exits 0 on SIGTERM; want container exitCode 0, got %s", pretty(stopped))
		}
	})

	t.Run("essential container exits 3", func(t *testing.T) {
		tk := runTask(t, b, cli, defaultCluster, family,
			"--overrides", `{"containerOverrides":[{"name":"web","command":["exit","3"]}]}`)
		stopped := waitTask(t, b, cli, defaultCluster, tk.TaskArn, "STOPPED")
		if stopped.StopCode != "EssentialContainerExited" {
			t.Errorf("want stopCode EssentialContainerExited, got %s", pretty(stopped))
		}
		if len(stopped.Containers) != 1 || stopped.Containers[0].ExitCode == nil || *stopped.Containers[0].ExitCode != 3 {
			t.Errorf("want container exitCode 3, got %s", pretty(stopped))
		}
	})
}

// describeTask returns the task as DescribeTasks sees it, for messages.
func describeTask(c *ecs.Client, clusterName, arn string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(clusterName), Tasks: []string{arn}})
	if err != nil {
		return "DescribeTasks: " + err.Error()
	}
	return pretty(out.Tasks) + "\nfailures: " + pretty(out.Failures)
}

// TestRunTaskSDK runs and stops a task through aws-sdk-go-v2, using the
// SDK's own waiters.
func TestRunTaskSDK(t *testing.T) {
	b := shared(t)
	image := testutil.BuildTestImage(t, "")
	c := b.ECS()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	eventually(t, instanceTimeout, time.Second, "2 connected container instances (SDK)", func() (bool, string) {
		list, err := c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String(defaultCluster)})
		if err != nil {
			return false, err.Error()
		}
		if len(list.ContainerInstanceArns) != 2 {
			return false, pretty(list.ContainerInstanceArns)
		}
		desc, err := c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(defaultCluster), ContainerInstances: list.ContainerInstanceArns})
		if err != nil {
			return false, err.Error()
		}
		for _, ci := range desc.ContainerInstances {
			if !ci.AgentConnected || aws.ToString(ci.Status) != "ACTIVE" {
				return false, pretty(desc.ContainerInstances)
			}
		}
		return len(desc.ContainerInstances) == 2, pretty(desc)
	})

	family := uniqueName("e2e-sdk")
	value := uniqueName("sdk")
	reg, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:      aws.String(family),
		NetworkMode: ecstypes.NetworkModeBridge,
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name:         aws.String("app"),
			Image:        aws.String(image),
			Essential:    aws.Bool(true),
			Cpu:          128,
			Memory:       aws.Int32(64),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080), HostPort: aws.Int32(0), Protocol: ecstypes.TransportProtocolTcp}},
			Environment:  []ecstypes.KeyValuePair{{Name: aws.String("SDK_VALUE"), Value: aws.String(value)}},
		}},
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	if reg.TaskDefinition.Revision != 1 || reg.TaskDefinition.Status != ecstypes.TaskDefinitionStatusActive {
		t.Fatalf("RegisterTaskDefinition: %s", pretty(reg.TaskDefinition))
	}

	run, err := c.RunTask(ctx, &ecs.RunTaskInput{
		Cluster:        aws.String(defaultCluster),
		TaskDefinition: reg.TaskDefinition.TaskDefinitionArn,
		StartedBy:      aws.String("berth-e2e"),
		Tags:           []ecstypes.Tag{{Key: aws.String("suite"), Value: aws.String("e2e")}},
	})
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	for _, tk := range run.Tasks {
		b.TrackTask(aws.ToString(tk.TaskArn))
	}
	if len(run.Tasks) != 1 || len(run.Failures) != 0 {
		t.Fatalf("RunTask: want 1 task, no failures; got %s / %s", pretty(run.Tasks), pretty(run.Failures))
	}
	arn := aws.ToString(run.Tasks[0].TaskArn)

	running, err := ecs.NewTasksRunningWaiter(c, func(o *ecs.TasksRunningWaiterOptions) {
		o.MinDelay, o.MaxDelay = time.Second, 2*time.Second
	}).WaitForOutput(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(defaultCluster), Tasks: []string{arn}}, taskTimeout)
	if err != nil {
		t.Fatalf("waiting for task RUNNING: %v\n%s", err, describeTask(c, defaultCluster, arn))
	}
	tk := running.Tasks[0]
	if aws.ToString(tk.StartedBy) != "berth-e2e" || len(tk.Containers) != 1 || len(tk.Containers[0].NetworkBindings) != 1 {
		t.Fatalf("running task: %s", pretty(tk))
	}
	nb := tk.Containers[0].NetworkBindings[0]
	var got struct {
		Env map[string]string `json:"env"`
	}
	httpGetJSON(t, fmt.Sprintf("http://%s:%d/", bindAddr(aws.ToString(nb.BindIP)), aws.ToInt32(nb.HostPort)), &got)
	if got.Env["SDK_VALUE"] != value {
		t.Errorf("app sees SDK_VALUE=%q, want %q", got.Env["SDK_VALUE"], value)
	}

	tags, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "suite" {
		t.Errorf("ListTagsForResource(task): %v %s", err, pretty(tags))
	}

	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(defaultCluster), Task: aws.String(arn)}); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	stopped, err := ecs.NewTasksStoppedWaiter(c, func(o *ecs.TasksStoppedWaiterOptions) {
		o.MinDelay, o.MaxDelay = time.Second, 2*time.Second
	}).WaitForOutput(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(defaultCluster), Tasks: []string{arn}}, taskTimeout)
	if err != nil {
		t.Fatalf("waiting for task STOPPED: %v\n%s", err, describeTask(c, defaultCluster, arn))
	}
	st := stopped.Tasks[0]
	if st.StopCode != ecstypes.TaskStopCodeUserInitiated || len(st.Containers) != 1 || st.Containers[0].ExitCode == nil || *st.Containers[0].ExitCode != 0 {
		t.Errorf("stopped task: want stopCode UserInitiated and exitCode 0, got %s", pretty(st))
	}
	if st.StoppedAt == nil || st.StartedAt == nil || st.StoppedAt.Before(*st.StartedAt) {
		t.Errorf("stopped task: want startedAt <= stoppedAt, got %v / %v", st.StartedAt, st.StoppedAt)
	}
}

// TestRunTaskErrors checks RunTask's validation with the aws CLI v2 and the
// SDK; none of them may start a task.
func TestRunTaskErrors(t *testing.T) {
	b := shared(t)
	cli := requireCLIv2(t)
	family := uniqueName("e2e-errors")
	td := exampleTaskDef(t)
	td["family"] = family
	b.Run(t, cli, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "td.json", td)).MustSucceed(t)
	inactive := uniqueName("e2e-inactive")
	td["family"] = inactive
	b.Run(t, cli, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "td2.json", td)).MustSucceed(t)
	b.Run(t, cli, "ecs", "deregister-task-definition", "--task-definition", inactive+":1").MustSucceed(t)

	cases := []struct {
		name    string
		args    []string
		errCode string
	}{
		{"count 11", []string{"--cluster", defaultCluster, "--task-definition", family, "--count", "11"}, "InvalidParameterException"},
		{"count 0", []string{"--cluster", defaultCluster, "--task-definition", family, "--count", "0"}, "InvalidParameterException"},
		{"unknown cluster", []string{"--cluster", uniqueName("e2e-no-such-cluster"), "--task-definition", family}, "ClusterNotFoundException"},
		{"unknown task definition", []string{"--cluster", defaultCluster, "--task-definition", uniqueName("e2e-no-such-family")}, "Exception"},
		{"unknown revision", []string{"--cluster", defaultCluster, "--task-definition", family + ":42"}, "Exception"},
		{"inactive task definition", []string{"--cluster", defaultCluster, "--task-definition", inactive + ":1"}, "ClientException"},
		{"Fargate launch type", []string{"--cluster", defaultCluster, "--task-definition", family, "--launch-type", "FARGATE"}, "InvalidParameterException"},
	}
	t.Run("CLI", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				r := b.Run(t, cli, append([]string{"ecs", "run-task"}, tc.args...)...).MustFail(t, cli.ServiceErrorExit, tc.errCode)
				if !strings.Contains(r.Stderr, "RunTask operation") {
					t.Errorf("the error should come from the RunTask call:\n%v", r)
				}
			})
		}
	})

	t.Run("SDK count 11", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := b.ECS().RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(defaultCluster), TaskDefinition: aws.String(family), Count: aws.Int32(11)})
		var ipe *ecstypes.InvalidParameterException
		if !errors.As(err, &ipe) {
			var ae smithy.APIError
			errors.As(err, &ae)
			t.Fatalf("want *types.InvalidParameterException, got %T %v (%v)", err, err, ae)
		}
	})

	for _, status := range []string{"RUNNING", "STOPPED"} {
		var list struct {
			TaskArns []string `json:"taskArns"`
		}
		awsv2(t, "ecs", "list-tasks", "--cluster", defaultCluster, "--family", family, "--desired-status", status).MustSucceed(t).JSON(t, &list)
		if len(list.TaskArns) != 0 {
			t.Errorf("rejected run-task calls started tasks (%s): %v", status, list.TaskArns)
		}
	}
}
