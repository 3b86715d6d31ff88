package agent_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth-dev/berth/internal/agent"
	"github.com/berth-dev/berth/internal/agent/dockerrt"
	"github.com/berth-dev/berth/internal/server"
	"github.com/berth-dev/berth/internal/testutil"
)

// env is a real control plane plus one real agent on the local Docker.
type env struct {
	t       *testing.T
	srv     *server.Server
	client  *ecs.Client
	cluster string
	dataDir string
	image   string
	// cleanupWait is the agent's CleanupWait; an hour when unset.
	cleanupWait time.Duration
	stop        context.CancelFunc
	done        chan error
}

func newEnv(t *testing.T) *env {
	testutil.RequireDocker(t)
	image := testutil.BuildTestImage(t, "")
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	srv, err := server.Start(ctx, server.Config{
		DataDir: t.TempDir(), Listen: "127.0.0.1:0", Region: "us-east-1", AccountID: "123456789012",
		Heartbeat: time.Second, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	e := &env{t: t, srv: srv, image: image, dataDir: t.TempDir(), cluster: "agent-test-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))}
	e.client = ecs.New(ecs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(srv.Account.RootAccessKeyID, srv.Account.RootSecretAccessKey, ""),
	})
	if _, err := e.client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(e.cluster)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.removeContainers)
	e.startAgent()
	t.Cleanup(e.stopAgent)
	e.waitConnected()
	return e
}

func (e *env) startAgent() {
	cfg := agent.Config{Endpoint: e.srv.Endpoint, Cluster: e.cluster, DataDir: e.dataDir, InstanceType: "t3.medium",
		AvailabilityZone: "us-east-1a", AccessKeyID: e.srv.Account.RootAccessKeyID, SecretAccessKey: e.srv.Account.RootSecretAccessKey}
	if err := cfg.ApplyECSEnv(nil); err != nil {
		e.t.Fatal(err)
	}
	cfg.CleanupWait = cmp.Or(e.cleanupWait, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	e.stop, e.done = cancel, make(chan error, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	go func() { e.done <- agent.New(cfg, log).Run(ctx) }()
}

func (e *env) stopAgent() {
	e.stop()
	<-e.done
}

func (e *env) removeContainers() {
	rt, err := dockerrt.New(context.Background())
	if err != nil {
		return
	}
	defer rt.Close()
	states, _ := rt.List(context.Background(), map[string]string{"com.amazonaws.ecs.cluster": e.cluster})
	for _, st := range states {
		rt.Remove(context.Background(), st.ID)
	}
}

func (e *env) waitConnected() string {
	var arn string
	e.eventually(30*time.Second, "agent connected", func() bool {
		out, err := e.client.ListContainerInstances(context.Background(), &ecs.ListContainerInstancesInput{Cluster: &e.cluster})
		if err != nil || len(out.ContainerInstanceArns) != 1 {
			return false
		}
		d, err := e.client.DescribeContainerInstances(context.Background(), &ecs.DescribeContainerInstancesInput{Cluster: &e.cluster, ContainerInstances: out.ContainerInstanceArns})
		if err != nil || len(d.ContainerInstances) != 1 {
			return false
		}
		arn = aws.ToString(d.ContainerInstances[0].ContainerInstanceArn)
		return d.ContainerInstances[0].AgentConnected
	})
	return arn
}

func (e *env) eventually(timeout time.Duration, what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// register registers a task definition of the test image.
func (e *env) register(family string, containers ...ecstypes.ContainerDefinition) string {
	for i := range containers {
		if containers[i].Image == nil {
			containers[i].Image = aws.String(e.image)
		}
		if containers[i].Memory == nil {
			containers[i].Memory = aws.Int32(64)
		}
	}
	out, err := e.client.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{Family: &family, ContainerDefinitions: containers})
	if err != nil {
		e.t.Fatal(err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

func (e *env) run(td string) string {
	out, err := e.client.RunTask(context.Background(), &ecs.RunTaskInput{Cluster: &e.cluster, TaskDefinition: &td})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(out.Tasks) != 1 {
		e.t.Fatalf("RunTask placed %d tasks, failures %+v", len(out.Tasks), out.Failures)
	}
	return aws.ToString(out.Tasks[0].TaskArn)
}

func (e *env) describe(arn string) ecstypes.Task {
	out, err := e.client.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: &e.cluster, Tasks: []string{arn}})
	if err != nil || len(out.Tasks) != 1 {
		e.t.Fatalf("describe %s: %v %+v", arn, err, out)
	}
	return out.Tasks[0]
}

func (e *env) waitStatus(arn, status string, timeout time.Duration) ecstypes.Task {
	e.t.Helper()
	var last ecstypes.Task
	deadline := time.Now().Add(timeout)
	for {
		last = e.describe(arn)
		if aws.ToString(last.LastStatus) == status {
			return last
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(last, "", "  ")
			e.t.Fatalf("task did not reach %s in %s:\n%s", status, timeout, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func portMapping(container, host int32) []ecstypes.PortMapping {
	return []ecstypes.PortMapping{{ContainerPort: aws.Int32(container), HostPort: aws.Int32(host)}}
}

func TestRunServeAndStop(t *testing.T) {
	e := newEnv(t)
	td := e.register("web", ecstypes.ContainerDefinition{
		Name: aws.String("app"), Cpu: 256, PortMappings: portMapping(8080, 0),
		Environment: []ecstypes.KeyValuePair{{Name: aws.String("GREETING"), Value: aws.String("hi")}},
	})
	arn := e.run(td)
	task := e.waitStatus(arn, "RUNNING", 60*time.Second)
	c := task.Containers[0]
	if len(c.NetworkBindings) != 1 || aws.ToInt32(c.NetworkBindings[0].HostPort) == 0 {
		t.Fatalf("network bindings = %+v, want one dynamic host port", c.NetworkBindings)
	}
	if task.StartedAt == nil || task.PullStartedAt == nil || task.PullStoppedAt == nil {
		t.Fatalf("timestamps missing: started %v pull %v..%v", task.StartedAt, task.PullStartedAt, task.PullStoppedAt)
	}
	// RUNNING means the process started, not that it listens yet: retry briefly.
	var body struct{ Env map[string]string }
	e.eventually(10*time.Second, "the container to answer on its host port", func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", aws.ToInt32(c.NetworkBindings[0].HostPort)))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(&body) == nil
	})
	if body.Env["GREETING"] != "hi" {
		t.Fatalf("container env = %v, want GREETING=hi", body.Env)
	}

	rt, err := dockerrt.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	st, err := rt.Inspect(context.Background(), aws.ToString(c.RuntimeId))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"com.amazonaws.ecs.task-arn": arn, "com.amazonaws.ecs.cluster": e.cluster, "com.amazonaws.ecs.container-name": "app",
		"com.amazonaws.ecs.task-definition-family": "web", "com.amazonaws.ecs.task-definition-version": "1",
	} {
		if st.Labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, st.Labels[k], want)
		}
	}

	if _, err := e.client.StopTask(context.Background(), &ecs.StopTaskInput{Cluster: &e.cluster, Task: &arn}); err != nil {
		t.Fatal(err)
	}
	task = e.waitStatus(arn, "STOPPED", 30*time.Second)
	if task.StopCode != ecstypes.TaskStopCodeUserInitiated || aws.ToInt32(task.Containers[0].ExitCode) != 0 || task.Containers[0].ExitCode == nil {
		t.Fatalf("stopped task: stopCode %s exitCode %v", task.StopCode, task.Containers[0].ExitCode)
	}
}

func TestStopTimeoutKills(t *testing.T) {
	e := newEnv(t)
	td := e.register("stubborn", ecstypes.ContainerDefinition{
		Name: aws.String("app"), StopTimeout: aws.Int32(2), Command: []string{"print", "signals-set"},
		Environment: []ecstypes.KeyValuePair{{Name: aws.String("IGNORE_SIGTERM"), Value: aws.String("1")}},
	})
	arn := e.run(td)
	running := e.waitStatus(arn, "RUNNING", 60*time.Second)
	// RUNNING comes when Docker starts the container, maybe before the app
	// ignores SIGTERM: wait for the line it prints once it does.
	id := aws.ToString(running.Containers[0].RuntimeId)
	e.eventually(30*time.Second, "the app to ignore SIGTERM", func() bool {
		out, _ := exec.Command("docker", "logs", id).CombinedOutput()
		return strings.Contains(string(out), "signals-set")
	})
	start := time.Now()
	if _, err := e.client.StopTask(context.Background(), &ecs.StopTaskInput{Cluster: &e.cluster, Task: &arn}); err != nil {
		t.Fatal(err)
	}
	task := e.waitStatus(arn, "STOPPED", 30*time.Second)
	if took := time.Since(start); took < 2*time.Second {
		t.Fatalf("stopped after %s, before the 2 s stopTimeout: %s %s exit %v %s", took, task.StopCode, aws.ToString(task.StoppedReason), aws.ToInt32(task.Containers[0].ExitCode), aws.ToString(task.Containers[0].Reason))
	}
	if got := aws.ToInt32(task.Containers[0].ExitCode); got != 137 {
		t.Fatalf("exit code %d, want 137 (SIGKILL after stopTimeout)", got)
	}
}

func TestEssentialExitAndFailures(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name     string
		def      ecstypes.ContainerDefinition
		stopCode ecstypes.TaskStopCode
		reason   string
		exitCode *int32
	}{
		{"essential exits", ecstypes.ContainerDefinition{Name: aws.String("app"), Command: []string{"exit", "3"}},
			ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited", aws.Int32(3)},
		{"pull fails", ecstypes.ContainerDefinition{Name: aws.String("app"), Image: aws.String("127.0.0.1:1/nope:latest")},
			ecstypes.TaskStopCodeTaskFailedToStart, "CannotPullContainerError", nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arn := e.run(e.register(fmt.Sprintf("fail%d", i), tt.def))
			task := e.waitStatus(arn, "STOPPED", 60*time.Second)
			if task.StopCode != tt.stopCode || !strings.HasPrefix(aws.ToString(task.StoppedReason), tt.reason) {
				t.Fatalf("stopCode %q reason %q, want %q %q", task.StopCode, aws.ToString(task.StoppedReason), tt.stopCode, tt.reason)
			}
			if tt.exitCode != nil && aws.ToInt32(task.Containers[0].ExitCode) != *tt.exitCode {
				t.Fatalf("exit code %v, want %d", task.Containers[0].ExitCode, *tt.exitCode)
			}
		})
	}
}

func TestDependsOnOrdersStart(t *testing.T) {
	e := newEnv(t)
	td := e.register("ordered",
		ecstypes.ContainerDefinition{Name: aws.String("init"), Essential: aws.Bool(false), Command: []string{"exit", "0"}},
		ecstypes.ContainerDefinition{Name: aws.String("app"), DependsOn: []ecstypes.ContainerDependency{{ContainerName: aws.String("init"), Condition: ecstypes.ContainerConditionSuccess}}},
	)
	arn := e.run(td)
	task := e.waitStatus(arn, "RUNNING", 60*time.Second)
	rt, _ := dockerrt.New(context.Background())
	defer rt.Close()
	var initDone, appStart time.Time
	e.eventually(10*time.Second, "init container exit recorded", func() bool {
		task = e.describe(arn)
		for _, c := range task.Containers {
			st, err := rt.Inspect(context.Background(), aws.ToString(c.RuntimeId))
			if err != nil {
				return false
			}
			if aws.ToString(c.Name) == "init" {
				initDone = st.FinishedAt
			} else {
				appStart = st.StartedAt
			}
		}
		return !initDone.IsZero()
	})
	if appStart.Before(initDone) {
		t.Fatalf("app started at %s before init finished at %s", appStart, initDone)
	}
	if aws.ToString(task.LastStatus) != "RUNNING" {
		t.Fatalf("a non-essential container's exit stopped the task: %s", aws.ToString(task.LastStatus))
	}
}

// TestAgentRestartAdoptsContainers stops the agent abruptly and starts a new
// one on the same data dir: the instance keeps its ARN and the running
// container is adopted, not started again.
func TestAgentRestartAdoptsContainers(t *testing.T) {
	e := newEnv(t)
	arn := e.run(e.register("keep", ecstypes.ContainerDefinition{Name: aws.String("app")}))
	before := e.waitStatus(arn, "RUNNING", 60*time.Second)
	instance := aws.ToString(before.ContainerInstanceArn)
	e.stopAgent()
	e.startAgent()
	if got := e.waitConnected(); got != instance {
		t.Fatalf("restarted agent registered as %s, want %s", got, instance)
	}
	// Stop it through the new agent: proof that it owns the adopted container.
	if _, err := e.client.StopTask(context.Background(), &ecs.StopTaskInput{Cluster: &e.cluster, Task: &arn}); err != nil {
		t.Fatal(err)
	}
	after := e.waitStatus(arn, "STOPPED", 30*time.Second)
	if aws.ToString(after.Containers[0].RuntimeId) != aws.ToString(before.Containers[0].RuntimeId) {
		t.Fatalf("container replaced: %s then %s", aws.ToString(before.Containers[0].RuntimeId), aws.ToString(after.Containers[0].RuntimeId))
	}
	rt, _ := dockerrt.New(context.Background())
	defer rt.Close()
	states, _ := rt.List(context.Background(), map[string]string{"com.amazonaws.ecs.task-arn": arn})
	if len(states) != 1 {
		t.Fatalf("%d containers for the task, want exactly 1", len(states))
	}
}
