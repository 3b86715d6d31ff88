package ecs

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/store"
)

// lifecycle is a cluster with one 1024/1024 instance and a task definition
// with an essential web container (dynamic host port) and a sidecar.
type lifecycle struct {
	*env
	cluster string
	ci      ContainerInstance
	td      *TaskDefinition
}

func newLifecycle(e *env, cluster string) *lifecycle {
	e.t.Helper()
	e.cluster(cluster)
	ci := e.instance(cluster, 1024, 1024)
	side := container("side", 128, 128)
	side.Essential = ptr(false)
	td := e.taskDef(cluster+"-app", withPorts(container("web", 256, 256), [2]int{80, 0}), side)
	return &lifecycle{env: e, cluster: cluster, ci: ci, td: td}
}

// start runs one task and returns it.
func (l *lifecycle) start() Task {
	l.t.Helper()
	out := l.run(l.cluster, l.td.TaskDefinitionArn, 1)
	if len(out.Tasks) != 1 {
		l.t.Fatalf("task not placed: %+v", out.Failures)
	}
	return out.Tasks[0]
}

func (l *lifecycle) submit(in SubmitTaskStateChangeInput) {
	l.t.Helper()
	if in.Cluster == "" {
		in.Cluster = l.cluster
	}
	out, err := l.svc.SubmitTaskStateChange(l.ctx, &in)
	if err != nil || out.Acknowledgment != "true" {
		l.t.Fatalf("SubmitTaskStateChange(%s): %v %+v", in.Status, err, out)
	}
}

func (l *lifecycle) submitContainer(in SubmitContainerStateChangeInput) {
	l.t.Helper()
	if in.Cluster == "" {
		in.Cluster = l.cluster
	}
	out, err := l.svc.SubmitContainerStateChange(l.ctx, &in)
	if err != nil || out.Acknowledgment != "true" {
		l.t.Fatalf("SubmitContainerStateChange(%s %s): %v", in.ContainerName, in.Status, err)
	}
}

// fullyFree fails unless the instance holds no reservation.
func (l *lifecycle) fullyFree() {
	l.t.Helper()
	ci := l.describeInstance(l.cluster, l.ci.ContainerInstanceArn)
	if cpu, mem := remaining(ci); cpu != 1024 || mem != 1024 || ci.RunningTasksCount+ci.PendingTasksCount != 0 {
		l.t.Fatalf("instance not released: remaining %d/%d, %d running %d pending", cpu, mem, ci.RunningTasksCount, ci.PendingTasksCount)
	}
	l.checkNoOvercommit(l.cluster)
}

// assignment reads the ACS assignment of a task, if any.
func (l *lifecycle) assignment(taskArn string) (assignment, bool) {
	l.t.Helper()
	it, err := store.Get[assignment](context.Background(), l.st, l.svc.keys.assignment(lastSegment(l.ci.ContainerInstanceArn), lastSegment(taskArn)))
	if errors.Is(err, store.ErrNotFound) {
		return assignment{}, false
	}
	if err != nil {
		l.t.Fatal(err)
	}
	return it.Value, true
}

func container0(tk Task, name string) Container {
	for _, c := range tk.Containers {
		if c.Name == name {
			return c
		}
	}
	return Container{}
}

func TestTaskLifecycle(t *testing.T) {
	base := newEnv(t)

	t.Run("RunningThenAgentStopsIt", func(t *testing.T) {
		l := newLifecycle(base.with(t), "life-run")
		tk := l.start()
		if as, ok := l.assignment(tk.TaskArn); !ok || as.DesiredStatus != "RUNNING" {
			t.Fatalf("assignment = %+v %v", as, ok)
		}
		l.submitContainer(SubmitContainerStateChangeInput{Task: tk.TaskArn, ContainerName: "web", Status: "RUNNING", RuntimeId: "abc123",
			NetworkBindings: []NetworkBinding{{BindIP: "0.0.0.0", ContainerPort: ptr(80), HostPort: ptr(32768), Protocol: "tcp"}}})
		l.submit(SubmitTaskStateChangeInput{Task: lastSegment(tk.TaskArn), Status: "RUNNING",
			Containers: []ContainerStateChange{{ContainerName: "side", Status: "RUNNING", RuntimeId: "def456"}}})

		got := l.describeTask(l.cluster, tk.TaskArn)
		if got.LastStatus != "RUNNING" || got.DesiredStatus != "RUNNING" || got.StartedAt == nil || got.Connectivity != "CONNECTED" || got.Version <= tk.Version {
			t.Fatalf("running task = %+v", got)
		}
		web := container0(got, "web")
		if web.LastStatus != "RUNNING" || web.RuntimeId != "abc123" || len(web.NetworkBindings) != 1 || *web.NetworkBindings[0].HostPort != 32768 {
			t.Fatalf("web container = %+v", web)
		}
		if side := container0(got, "side"); side.LastStatus != "RUNNING" || side.RuntimeId != "def456" {
			t.Fatalf("side container = %+v", side)
		}
		ci := l.describeInstance(l.cluster, l.ci.ContainerInstanceArn)
		if ci.RunningTasksCount != 1 || ci.PendingTasksCount != 0 {
			t.Fatalf("instance counts = %d running %d pending", ci.RunningTasksCount, ci.PendingTasksCount)
		}
		if cpu, mem := remaining(ci); cpu != 1024-384 || mem != 1024-384 {
			t.Fatalf("remaining while running = %d/%d", cpu, mem)
		}
		desc := must[*DescribeClustersOutput](t)(l.svc.DescribeClusters(l.ctx, &DescribeClustersInput{Clusters: []string{l.cluster}}))
		if c := desc.Clusters[0]; c.RunningTasksCount != 1 || c.PendingTasksCount != 0 {
			t.Fatalf("cluster counts = %d running %d pending", c.RunningTasksCount, c.PendingTasksCount)
		}

		// States never move backwards.
		startedAt := got.StartedAt
		l.submit(SubmitTaskStateChangeInput{Task: tk.TaskArn, Status: "PENDING",
			Containers: []ContainerStateChange{{ContainerName: "web", Status: "PENDING"}}})
		l.submitContainer(SubmitContainerStateChangeInput{Task: tk.TaskArn, ContainerName: "side", Status: "PENDING"})
		got = l.describeTask(l.cluster, tk.TaskArn)
		// startedAt keeps its value. (Compared to within a few ms: api.Timestamp
		// can lose a millisecond each time a record is decoded and re-encoded.)
		if got.LastStatus != "RUNNING" || got.StartedAt.Sub(startedAt.Time).Abs() > 5*time.Millisecond || container0(got, "web").LastStatus != "RUNNING" || container0(got, "side").LastStatus != "RUNNING" {
			t.Fatalf("state moved backwards: %s / web %s / side %s / startedAt %v -> %v", got.LastStatus, container0(got, "web").LastStatus, container0(got, "side").LastStatus, startedAt.Time, got.StartedAt.Time)
		}

		// The essential container exits; the agent stops the task on its own.
		l.submitContainer(SubmitContainerStateChangeInput{Task: tk.TaskArn, ContainerName: "web", Status: "STOPPED", ExitCode: ptr(2), Reason: "boom"})
		l.submit(SubmitTaskStateChangeInput{Task: tk.TaskArn, Status: "STOPPED",
			Containers: []ContainerStateChange{{ContainerName: "side", Status: "STOPPED", ExitCode: ptr(137)}}})
		got = l.describeTask(l.cluster, tk.TaskArn)
		if got.LastStatus != "STOPPED" || got.DesiredStatus != "STOPPED" || got.StoppedAt == nil || got.StoppingAt == nil || got.ExecutionStoppedAt == nil {
			t.Fatalf("stopped task = %+v", got)
		}
		if got.StopCode != "EssentialContainerExited" || got.StoppedReason != "Essential container in task exited" {
			t.Fatalf("stopCode %q reason %q", got.StopCode, got.StoppedReason)
		}
		web = container0(got, "web")
		if web.LastStatus != "STOPPED" || web.ExitCode == nil || *web.ExitCode != 2 || web.Reason != "boom" {
			t.Fatalf("web = %+v", web)
		}
		if side := container0(got, "side"); side.ExitCode == nil || *side.ExitCode != 137 || side.LastStatus != "STOPPED" {
			t.Fatalf("side = %+v", side)
		}
		l.fullyFree()
		if _, ok := l.assignment(tk.TaskArn); ok {
			t.Fatal("assignment of a stopped task remains")
		}

		// A late RUNNING report changes nothing that matters.
		l.submit(SubmitTaskStateChangeInput{Task: tk.TaskArn, Status: "RUNNING"})
		if again := l.describeTask(l.cluster, tk.TaskArn); again.LastStatus != "STOPPED" || again.StopCode != "EssentialContainerExited" {
			t.Fatalf("after late RUNNING: %s %s", again.LastStatus, again.StopCode)
		}
		l.fullyFree()
	})

	t.Run("FailedToStart", func(t *testing.T) {
		l := newLifecycle(base.with(t), "life-fail")
		tk := l.start()
		l.submit(SubmitTaskStateChangeInput{Task: tk.TaskArn, Status: "STOPPED", Reason: "CannotPullContainerError: pull access denied",
			Containers: []ContainerStateChange{{ContainerName: "web", Status: "STOPPED", Reason: "CannotPullContainerError"}}})
		got := l.describeTask(l.cluster, tk.TaskArn)
		if got.StopCode != "TaskFailedToStart" || got.StoppedReason != "CannotPullContainerError: pull access denied" || got.StartedAt != nil || got.StoppedAt == nil {
			t.Fatalf("stopped = code %q reason %q startedAt %v", got.StopCode, got.StoppedReason, got.StartedAt)
		}
		l.fullyFree()

		// Without a reason ECS says so generically.
		tk = l.start()
		l.submit(SubmitTaskStateChangeInput{Task: tk.TaskArn, Status: "STOPPED"})
		if got := l.describeTask(l.cluster, tk.TaskArn); got.StopCode != "TaskFailedToStart" || got.StoppedReason == "" {
			t.Fatalf("stopped = code %q reason %q", got.StopCode, got.StoppedReason)
		}
	})

	t.Run("ExitedBeforeRunningWasReported", func(t *testing.T) {
		// A container that exits at once may stop its task before the agent
		// ever reports RUNNING: its exit code shows it ran.
		l := newLifecycle(base.with(t), "life-quick")
		tk := l.start()
		l.submit(SubmitTaskStateChangeInput{Task: tk.TaskArn, Status: "STOPPED", Reason: "Essential container in task exited",
			Containers: []ContainerStateChange{{ContainerName: "web", Status: "STOPPED", ExitCode: ptr(3)}}})
		got := l.describeTask(l.cluster, tk.TaskArn)
		if got.StopCode != "EssentialContainerExited" || got.Containers[0].ExitCode == nil || *got.Containers[0].ExitCode != 3 {
			t.Fatalf("stopped = code %q exit %v", got.StopCode, got.Containers[0].ExitCode)
		}
	})

	t.Run("StopTask", func(t *testing.T) {
		l := newLifecycle(base.with(t), "life-stop")
		tk := l.start()
		l.submit(SubmitTaskStateChangeInput{Task: tk.TaskArn, Status: "RUNNING"})

		out := must[*StopTaskOutput](t)(l.svc.StopTask(l.ctx, &StopTaskInput{Cluster: l.cluster, Task: tk.TaskArn}))
		if out.Task.DesiredStatus != "STOPPED" || out.Task.LastStatus != "RUNNING" || out.Task.StopCode != "UserInitiated" ||
			out.Task.StoppedReason != "Task stopped by user" || out.Task.StoppingAt == nil {
			t.Fatalf("StopTask = %+v", out.Task)
		}
		if as, ok := l.assignment(tk.TaskArn); !ok || as.DesiredStatus != "STOPPED" {
			t.Fatalf("assignment after StopTask = %+v %v", as, ok)
		}
		// The reservation holds until the agent reports STOPPED.
		if cpu, _ := remaining(l.describeInstance(l.cluster, l.ci.ContainerInstanceArn)); cpu == 1024 {
			t.Fatal("reservation released before the task stopped")
		}
		// Stopping again is idempotent and writes nothing.
		before := l.snapshot()
		again := must[*StopTaskOutput](t)(l.svc.StopTask(l.ctx, &StopTaskInput{Cluster: l.cluster, Task: lastSegment(tk.TaskArn), Reason: "again"}))
		l.unchanged(before)
		if again.Task.StoppedReason != "Task stopped by user" || again.Task.StopCode != "UserInitiated" {
			t.Fatalf("second StopTask = %+v", again.Task)
		}
		// ListTasks sees it as desired STOPPED.
		if list := must[*ListTasksOutput](t)(l.svc.ListTasks(l.ctx, &ListTasksInput{Cluster: l.cluster})); len(list.TaskArns) != 0 {
			t.Fatalf("stopping task listed as RUNNING: %v", list.TaskArns)
		}
		if list := must[*ListTasksOutput](t)(l.svc.ListTasks(l.ctx, &ListTasksInput{Cluster: l.cluster, DesiredStatus: "STOPPED"})); !slices.Equal(list.TaskArns, []string{tk.TaskArn}) {
			t.Fatalf("desired STOPPED = %v", list.TaskArns)
		}
		// The agent reports the stop; the user's stop code stays.
		l.submit(SubmitTaskStateChangeInput{Task: tk.TaskArn, Status: "STOPPED",
			Containers: []ContainerStateChange{{ContainerName: "web", Status: "STOPPED", ExitCode: ptr(143)}}})
		got := l.describeTask(l.cluster, tk.TaskArn)
		if got.LastStatus != "STOPPED" || got.StopCode != "UserInitiated" || got.StoppedReason != "Task stopped by user" || got.StoppedAt == nil {
			t.Fatalf("after agent stop = %+v", got)
		}
		l.fullyFree()
		// StopTask on a stopped task answers with it.
		must[*StopTaskOutput](t)(l.svc.StopTask(l.ctx, &StopTaskInput{Cluster: l.cluster, Task: tk.TaskArn}))

		// A given reason is kept; a pending task can be stopped too.
		tk = l.start()
		out = must[*StopTaskOutput](t)(l.svc.StopTask(l.ctx, &StopTaskInput{Cluster: arn("cluster/" + l.cluster), Task: tk.TaskArn, Reason: "maintenance window"}))
		if out.Task.StoppedReason != "maintenance window" || out.Task.StopCode != "UserInitiated" {
			t.Fatalf("StopTask with reason = %+v", out.Task)
		}
		l.submit(SubmitTaskStateChangeInput{Task: tk.TaskArn, Status: "STOPPED"})
		if got := l.describeTask(l.cluster, tk.TaskArn); got.StopCode != "UserInitiated" || got.StoppedReason != "maintenance window" {
			t.Fatalf("user stop of a pending task reported as %q %q", got.StopCode, got.StoppedReason)
		}
		l.fullyFree()

		for _, tc := range []struct {
			name string
			in   StopTaskInput
			code string
		}{
			{"no task", StopTaskInput{Cluster: l.cluster}, "InvalidParameterException"},
			{"unknown task", StopTaskInput{Cluster: l.cluster, Task: "0123456789abcdef0123456789abcdef"}, "InvalidParameterException"},
			{"long reason", StopTaskInput{Cluster: l.cluster, Task: tk.TaskArn, Reason: string(make([]byte, 256))}, "InvalidParameterException"},
			{"unknown cluster", StopTaskInput{Cluster: "ghost", Task: tk.TaskArn}, "ClusterNotFoundException"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				l.with(t).rejected(tc.code, func() error { _, err := l.svc.StopTask(l.ctx, &tc.in); return err })
			})
		}
	})

	t.Run("StateChangeValidation", func(t *testing.T) {
		e := base.with(t)
		e.cluster("life-val")
		for _, tc := range []struct {
			name string
			call func() error
			code string
		}{
			{"task no task", func() error {
				_, err := e.svc.SubmitTaskStateChange(e.ctx, &SubmitTaskStateChangeInput{Cluster: "life-val", Status: "RUNNING"})
				return err
			}, "InvalidParameterException"},
			{"task unknown task", func() error {
				_, err := e.svc.SubmitTaskStateChange(e.ctx, &SubmitTaskStateChangeInput{Cluster: "life-val", Task: arn("task/life-val/abc"), Status: "RUNNING"})
				return err
			}, "InvalidParameterException"},
			{"task unknown cluster", func() error {
				_, err := e.svc.SubmitTaskStateChange(e.ctx, &SubmitTaskStateChangeInput{Cluster: "ghost", Task: "abc", Status: "RUNNING"})
				return err
			}, "ClusterNotFoundException"},
			{"container unknown task", func() error {
				_, err := e.svc.SubmitContainerStateChange(e.ctx, &SubmitContainerStateChangeInput{Cluster: "life-val", Task: "abc", ContainerName: "web", Status: "RUNNING"})
				return err
			}, "InvalidParameterException"},
		} {
			t.Run(tc.name, func(t *testing.T) { e.with(t).rejected(tc.code, tc.call) })
		}
	})
}

func TestListAndDescribeTasks(t *testing.T) {
	e := newEnv(t)
	e.cluster("lt")
	a := e.instance("lt", 8192, 8192)
	b := e.instance("lt", 8192, 8192)
	e.simpleTaskDef("fam-a", 64, 64)
	e.simpleTaskDef("fam-b", 64, 64)

	start := func(family, inst, startedBy, group string) Task {
		t.Helper()
		out := must[*RunTaskOutput](t)(e.svc.StartTask(e.ctx, &RunTaskInput{Cluster: "lt", TaskDefinition: family, ContainerInstances: []string{inst}, StartedBy: startedBy, Group: group,
			Tags: []Tag{{Key: "who", Value: startedBy}}}))
		if len(out.Tasks) != 1 {
			t.Fatalf("StartTask: %+v", out.Failures)
		}
		return out.Tasks[0]
	}
	a1 := start("fam-a", a.ContainerInstanceArn, "alice", "")
	a2 := start("fam-a", b.ContainerInstanceArn, "alice", "")
	b1 := start("fam-b", a.ContainerInstanceArn, "bob", "service:web")
	b2 := start("fam-b", b.ContainerInstanceArn, "bob", "service:web")
	b3 := start("fam-b", b.ContainerInstanceArn, "carol", "service:api")
	stopped := start("fam-a", a.ContainerInstanceArn, "alice", "")
	must[*StopTaskOutput](t)(e.svc.StopTask(e.ctx, &StopTaskInput{Cluster: "lt", Task: stopped.TaskArn}))
	running := sorted(a1.TaskArn, a2.TaskArn, b1.TaskArn, b2.TaskArn, b3.TaskArn)

	for _, tc := range []struct {
		name string
		in   ListTasksInput
		want []string
	}{
		{"default desired RUNNING", ListTasksInput{}, running},
		{"family", ListTasksInput{Family: "fam-a"}, sorted(a1.TaskArn, a2.TaskArn)},
		{"startedBy", ListTasksInput{StartedBy: "bob"}, sorted(b1.TaskArn, b2.TaskArn)},
		{"family and startedBy", ListTasksInput{Family: "fam-b", StartedBy: "carol"}, []string{b3.TaskArn}},
		{"containerInstance ARN", ListTasksInput{ContainerInstance: a.ContainerInstanceArn}, sorted(a1.TaskArn, b1.TaskArn)},
		{"containerInstance id", ListTasksInput{ContainerInstance: lastSegment(b.ContainerInstanceArn)}, sorted(a2.TaskArn, b2.TaskArn, b3.TaskArn)},
		{"serviceName", ListTasksInput{ServiceName: "web"}, sorted(b1.TaskArn, b2.TaskArn)},
		{"desired STOPPED", ListTasksInput{DesiredStatus: "STOPPED"}, []string{stopped.TaskArn}},
		{"desired STOPPED of family b", ListTasksInput{DesiredStatus: "STOPPED", Family: "fam-b"}, []string{}},
		// AWS: filtering on desiredStatus PENDING "doesn't return any results".
		{"desired PENDING", ListTasksInput{DesiredStatus: "PENDING"}, []string{}},
		{"launchType EC2", ListTasksInput{LaunchType: "EC2"}, running},
		{"launchType FARGATE", ListTasksInput{LaunchType: "FARGATE"}, []string{}},
		{"cluster by ARN", ListTasksInput{Cluster: arn("cluster/lt"), StartedBy: "carol"}, []string{b3.TaskArn}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			if in.Cluster == "" {
				in.Cluster = "lt"
			}
			out := must[*ListTasksOutput](t)(e.svc.ListTasks(e.ctx, &in))
			if !slices.Equal(out.TaskArns, tc.want) {
				t.Fatalf("ListTasks(%+v) = %v, want %v", tc.in, out.TaskArns, tc.want)
			}
		})
	}

	t.Run("Pagination", func(t *testing.T) {
		var got []string
		var sizes []int
		var token *string
		for page := 0; page < 10; page++ {
			out := must[*ListTasksOutput](t)(e.svc.ListTasks(e.ctx, &ListTasksInput{Cluster: "lt", MaxResults: ptr(2), NextToken: token}))
			got = append(got, out.TaskArns...)
			sizes = append(sizes, len(out.TaskArns))
			if token = out.NextToken; token == nil {
				break
			}
		}
		if !slices.Equal(got, running) || !slices.Equal(sizes, []int{2, 2, 1}) {
			t.Fatalf("pages %v gave %v, want %v", sizes, got, running)
		}
	})

	for _, tc := range []struct {
		name string
		in   ListTasksInput
		code string
	}{
		{"bad desiredStatus", ListTasksInput{Cluster: "lt", DesiredStatus: "DONE"}, "InvalidParameterException"},
		{"family and serviceName", ListTasksInput{Cluster: "lt", Family: "fam-a", ServiceName: "web"}, "InvalidParameterException"},
		{"maxResults 0", ListTasksInput{Cluster: "lt", MaxResults: ptr(0)}, "InvalidParameterException"},
		{"unknown cluster", ListTasksInput{Cluster: "ghost"}, "ClusterNotFoundException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.ListTasks(e.ctx, &tc.in)
			wantCode(t, err, tc.code)
		})
	}

	t.Run("Describe", func(t *testing.T) {
		out := must[*DescribeTasksOutput](t)(e.svc.DescribeTasks(e.ctx, &DescribeTasksInput{Cluster: "lt",
			Tasks: []string{a1.TaskArn, lastSegment(b1.TaskArn), "ffffffffffffffffffffffffffffffff", arn("task/lt/eeee")}}))
		if len(out.Tasks) != 2 || out.Tasks[0].TaskArn != a1.TaskArn || out.Tasks[1].TaskArn != b1.TaskArn {
			t.Fatalf("tasks = %v", taskArns(out.Tasks))
		}
		if len(out.Tasks[0].Tags) != 0 {
			t.Fatalf("tags without include TAGS: %v", out.Tasks[0].Tags)
		}
		want := []Failure{{Arn: arn("task/lt/ffffffffffffffffffffffffffffffff"), Reason: "MISSING"}, {Arn: arn("task/lt/eeee"), Reason: "MISSING"}}
		if !slices.Equal(out.Failures, want) {
			t.Fatalf("failures = %+v, want %+v", out.Failures, want)
		}
		withTags := must[*DescribeTasksOutput](t)(e.svc.DescribeTasks(e.ctx, &DescribeTasksInput{Cluster: "lt", Tasks: []string{b3.TaskArn}, Include: []string{"TAGS"}}))
		if tags := withTags.Tasks[0].Tags; len(tags) != 1 || tags[0] != (Tag{Key: "who", Value: "carol"}) {
			t.Fatalf("tags = %v", tags)
		}
		if g := withTags.Tasks[0].Group; g != "service:api" {
			t.Fatalf("group = %q", g)
		}
		if g := e.describeTask("lt", a1.TaskArn).Group; g != "family:fam-a" {
			t.Fatalf("default group = %q, want family:fam-a", g)
		}
		_, err := e.svc.DescribeTasks(e.ctx, &DescribeTasksInput{Cluster: "lt"})
		wantCode(t, err, "InvalidParameterException")
		_, err = e.svc.DescribeTasks(e.ctx, &DescribeTasksInput{Cluster: "ghost", Tasks: []string{a1.TaskArn}})
		wantCode(t, err, "ClusterNotFoundException")
	})
}

func TestCollectStoppedTasks(t *testing.T) {
	l := newLifecycle(newEnv(t), "gc")
	out := must[*RunTaskOutput](t)(l.svc.RunTask(l.ctx, &RunTaskInput{Cluster: "gc", TaskDefinition: l.td.TaskDefinitionArn, Count: ptr(2), ClientToken: "gc-token"}))
	if len(out.Tasks) != 2 {
		t.Fatalf("placed %d", len(out.Tasks))
	}
	old, live := out.Tasks[0], out.Tasks[1]
	l.submit(SubmitTaskStateChangeInput{Task: old.TaskArn, Status: "STOPPED"})
	stoppedAt := l.describeTask("gc", old.TaskArn).StoppedAt.Time

	// Within the retention nothing goes.
	if n, err := l.svc.CollectStoppedTasks(l.ctx, stoppedAt.Add(StoppedTaskRetention/2), StoppedTaskRetention); err != nil || n != 0 {
		t.Fatalf("early collection removed %d (%v)", n, err)
	}
	n, err := l.svc.CollectStoppedTasks(l.ctx, stoppedAt.Add(StoppedTaskRetention+time.Second), StoppedTaskRetention)
	if err != nil || n != 1 {
		t.Fatalf("collection removed %d (%v), want 1", n, err)
	}
	desc := must[*DescribeTasksOutput](t)(l.svc.DescribeTasks(l.ctx, &DescribeTasksInput{Cluster: "gc", Tasks: []string{old.TaskArn, live.TaskArn}}))
	if len(desc.Tasks) != 1 || desc.Tasks[0].TaskArn != live.TaskArn || len(desc.Failures) != 1 || desc.Failures[0].Reason != "MISSING" {
		t.Fatalf("after collection: %+v", desc)
	}
	// Retrying the RunTask whose token names a collected task still answers
	// with what remains rather than failing.
	again, err := l.svc.RunTask(l.ctx, &RunTaskInput{Cluster: "gc", TaskDefinition: l.td.TaskDefinitionArn, Count: ptr(2), ClientToken: "gc-token"})
	if err != nil {
		t.Fatalf("retry after collection: %v", err)
	}
	if !slices.Equal(taskArns(again.Tasks), []string{live.TaskArn}) {
		t.Fatalf("retry after collection = %v, want [%s]", taskArns(again.Tasks), live.TaskArn)
	}
	l.checkNoOvercommit("gc")
}
