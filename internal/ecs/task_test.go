package ecs

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestRunTaskValidation(t *testing.T) {
	e := newEnv(t)
	e.cluster("v")
	td := e.simpleTaskDef("v-app", 128, 128)
	e.instance("v", 1024, 1024)
	e.cluster("empty")
	inactive := e.simpleTaskDef("v-old", 128, 128)
	must[*TaskDefinitionOutput](t)(e.svc.DeregisterTaskDefinition(e.ctx, &DeregisterTaskDefinitionInput{TaskDefinition: inactive.TaskDefinitionArn}))

	for _, tc := range []struct {
		name string
		in   RunTaskInput
		code string
		msg  string
	}{
		{"count 0", RunTaskInput{Cluster: "v", TaskDefinition: "v-app", Count: ptr(0)}, "InvalidParameterException", ""},
		{"count 11", RunTaskInput{Cluster: "v", TaskDefinition: "v-app", Count: ptr(11)}, "InvalidParameterException", ""},
		{"count -1", RunTaskInput{Cluster: "v", TaskDefinition: "v-app", Count: ptr(-1)}, "InvalidParameterException", ""},
		{"unknown cluster", RunTaskInput{Cluster: "ghost", TaskDefinition: "v-app"}, "ClusterNotFoundException", ""},
		{"unknown cluster ARN", RunTaskInput{Cluster: arn("cluster/ghost"), TaskDefinition: "v-app"}, "ClusterNotFoundException", ""},
		{"no task definition", RunTaskInput{Cluster: "v"}, "InvalidParameterException", ""},
		{"unknown family", RunTaskInput{Cluster: "v", TaskDefinition: "nope"}, "InvalidParameterException", ""},
		{"unknown revision", RunTaskInput{Cluster: "v", TaskDefinition: "v-app:7"}, "InvalidParameterException", ""},
		{"garbage task definition", RunTaskInput{Cluster: "v", TaskDefinition: "::"}, "InvalidParameterException", ""},
		{"inactive revision", RunTaskInput{Cluster: "v", TaskDefinition: inactive.TaskDefinitionArn}, "ClientException", ""},
		{"inactive family only", RunTaskInput{Cluster: "v", TaskDefinition: "v-old"}, "InvalidParameterException", ""},
		{"no instances", RunTaskInput{Cluster: "empty", TaskDefinition: td.TaskDefinitionArn}, "InvalidParameterException", "No Container Instances were found in your cluster."},
		{"unknown override container", RunTaskInput{Cluster: "v", TaskDefinition: "v-app", Overrides: &TaskOverride{ContainerOverrides: []ContainerOverride{{Name: "ghost", Command: []string{"x"}}}}}, "InvalidParameterException", ""},
		{"negative override", RunTaskInput{Cluster: "v", TaskDefinition: "v-app", Overrides: &TaskOverride{ContainerOverrides: []ContainerOverride{{Name: "app", Memory: ptr(-5)}}}}, "InvalidParameterException", ""},
		{"negative task cpu override", RunTaskInput{Cluster: "v", TaskDefinition: "v-app", Overrides: &TaskOverride{Cpu: "-4096"}}, "InvalidParameterException", ""},
		{"zero task memory override", RunTaskInput{Cluster: "v", TaskDefinition: "v-app", Overrides: &TaskOverride{Memory: "0"}}, "InvalidParameterException", ""},
		{"non-numeric task memory override", RunTaskInput{Cluster: "v", TaskDefinition: "v-app", Overrides: &TaskOverride{Memory: "lots"}}, "InvalidParameterException", ""},
		{"container override beyond 32 bits", RunTaskInput{Cluster: "v", TaskDefinition: "v-app", Overrides: &TaskOverride{ContainerOverrides: []ContainerOverride{{Name: "app", Memory: ptr(1 << 62)}}}}, "InvalidParameterException", ""},
		{"fargate", RunTaskInput{Cluster: "v", TaskDefinition: "v-app", LaunchType: "FARGATE"}, "InvalidParameterException", ""},
		{"bad launch type", RunTaskInput{Cluster: "v", TaskDefinition: "v-app", LaunchType: "MAINFRAME"}, "InvalidParameterException", ""},
		{"containerInstances on RunTask", RunTaskInput{Cluster: "v", TaskDefinition: "v-app", ContainerInstances: []string{"x"}}, "InvalidParameterException", ""},
		{"constraints", RunTaskInput{Cluster: "v", TaskDefinition: "v-app", PlacementConstraints: []PlacementConstraint{{Type: "memberOf", Expression: "attribute:x =="}}}, "InvalidParameterException", ""},
		{"binpack", RunTaskInput{Cluster: "v", TaskDefinition: "v-app", PlacementStrategy: []PlacementStrategy{{Type: "binpack", Field: "disk"}}}, "InvalidParameterException", ""},
		{"long startedBy", RunTaskInput{Cluster: "v", TaskDefinition: "v-app", StartedBy: strings.Repeat("s", 129)}, "InvalidParameterException", ""},
		{"long clientToken", RunTaskInput{Cluster: "v", TaskDefinition: "v-app", ClientToken: strings.Repeat("t", 65)}, "InvalidParameterException", ""},
		{"aws: tag", RunTaskInput{Cluster: "v", TaskDefinition: "v-app", Tags: []Tag{{Key: "aws:x", Value: "y"}}}, "InvalidParameterException", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			e.rejected(tc.code, func() error {
				_, err := e.svc.RunTask(e.ctx, &tc.in)
				if err != nil && tc.msg != "" && err.Error() != tc.code+": "+tc.msg {
					t.Errorf("error = %q, want message %q", err.Error(), tc.msg)
				}
				return err
			})
		})
	}
	for _, tc := range []struct {
		name string
		in   RunTaskInput
		code string
	}{
		{"StartTask without instances", RunTaskInput{Cluster: "v", TaskDefinition: "v-app"}, "InvalidParameterException"},
		{"StartTask with 11 instances", RunTaskInput{Cluster: "v", TaskDefinition: "v-app", ContainerInstances: strings.Split("a,b,c,d,e,f,g,h,i,j,k", ",")}, "InvalidParameterException"},
		{"StartTask unknown cluster", RunTaskInput{Cluster: "ghost", TaskDefinition: "v-app", ContainerInstances: []string{"a"}}, "ClusterNotFoundException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			e.rejected(tc.code, func() error { _, err := e.svc.StartTask(e.ctx, &tc.in); return err })
		})
	}
}

func TestRunTaskPlacementFailures(t *testing.T) {
	e := newEnv(t)
	// One task needs 512 CPU, 512 MiB and host port 8080.
	td := e.taskDef("needy", withPorts(container("app", 512, 512), [2]int{80, 8080}))
	for _, tc := range []struct {
		name    string
		cpu     int
		memory  int
		opts    instanceOpts
		reason  string
		prepare func(e *env, cluster string)
	}{
		{"cpu", 256, 4096, instanceOpts{}, "RESOURCE:CPU", nil},
		{"memory", 4096, 256, instanceOpts{}, "RESOURCE:MEMORY", nil},
		{"agent", 4096, 4096, instanceOpts{disconnected: true}, "AGENT", nil},
		{"registered port", 4096, 4096, instanceOpts{ports: []string{"8080"}}, "RESOURCE:PORTS", nil},
		{"port held by a task", 4096, 4096, instanceOpts{}, "RESOURCE:PORTS", func(e *env, cluster string) {
			if ran := e.run(cluster, td.TaskDefinitionArn, 1); len(ran.Tasks) != 1 {
				e.t.Fatalf("first task not placed: %+v", ran)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			cluster := e.cluster("fail-" + strings.ReplaceAll(tc.name, " ", "-"))
			ci := e.instance(cluster, tc.cpu, tc.memory, tc.opts)
			if tc.prepare != nil {
				tc.prepare(e, cluster)
			}
			before := e.snapshot()
			out := must[*RunTaskOutput](t)(e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: cluster, TaskDefinition: "needy"}))
			e.unchanged(before)
			want := []Failure{{Arn: ci.ContainerInstanceArn, Reason: tc.reason}}
			if len(out.Tasks) != 0 || !slices.Equal(out.Failures, want) {
				t.Fatalf("RunTask = tasks %d failures %+v, want failures %+v", len(out.Tasks), out.Failures, want)
			}
		})
	}

	t.Run("one failure per instance", func(t *testing.T) {
		e := e.with(t)
		e.cluster("mixed")
		small := e.instance("mixed", 128, 4096)
		off := e.instance("mixed", 4096, 4096, instanceOpts{disconnected: true})
		out := must[*RunTaskOutput](t)(e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: "mixed", TaskDefinition: "needy", Count: ptr(3)}))
		want := []Failure{{Arn: small.ContainerInstanceArn, Reason: "RESOURCE:CPU"}, {Arn: off.ContainerInstanceArn, Reason: "AGENT"}}
		slices.SortFunc(want, func(a, b Failure) int { return strings.Compare(a.Arn, b.Arn) })
		if len(out.Tasks) != 0 || !slices.Equal(out.Failures, want) {
			t.Fatalf("failures = %+v, want %+v", out.Failures, want)
		}
	})
}

func TestRunTaskPlacesWhatFits(t *testing.T) {
	e := newEnv(t)
	e.cluster("fit")
	ci := e.instance("fit", 1024, 2048)
	td := e.simpleTaskDef("quarter", 256, 300)

	out := must[*RunTaskOutput](t)(e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: "fit", TaskDefinition: "quarter", Count: ptr(6), StartedBy: "tester", Group: "batch-1"}))
	if len(out.Tasks) != 4 {
		t.Fatalf("placed %d tasks, want 4", len(out.Tasks))
	}
	want := []Failure{{Arn: ci.ContainerInstanceArn, Reason: "RESOURCE:CPU"}}
	if !slices.Equal(out.Failures, want) {
		t.Fatalf("failures = %+v, want %+v", out.Failures, want)
	}
	seen := map[string]bool{}
	for _, tk := range out.Tasks {
		if seen[tk.TaskArn] || !strings.HasPrefix(tk.TaskArn, arn("task/fit/")) {
			t.Fatalf("task arn %s", tk.TaskArn)
		}
		seen[tk.TaskArn] = true
		if tk.LastStatus != "PENDING" || tk.DesiredStatus != "RUNNING" || tk.LaunchType != "EC2" || tk.ContainerInstanceArn != ci.ContainerInstanceArn ||
			tk.TaskDefinitionArn != td.TaskDefinitionArn || tk.StartedBy != "tester" || tk.Group != "batch-1" || tk.Cpu != "256" || tk.Memory != "300" ||
			tk.CreatedAt == nil || tk.ClusterArn != arn("cluster/fit") || len(tk.Containers) != 1 || tk.Containers[0].LastStatus != "PENDING" {
			t.Fatalf("task = %+v", tk)
		}
	}
	got := e.describeInstance("fit", ci.ContainerInstanceArn)
	if cpu, mem := remaining(got); cpu != 0 || mem != 2048-4*300 {
		t.Fatalf("remaining = %d/%d, want 0/%d", cpu, mem, 2048-4*300)
	}
	if got.PendingTasksCount != 4 {
		t.Fatalf("pendingTasksCount = %d", got.PendingTasksCount)
	}
	e.checkNoOvercommit("fit")

	t.Run("OverridesChangeTheReservation", func(t *testing.T) {
		e := e.with(t)
		e.cluster("ovr")
		ci := e.instance("ovr", 4096, 4096)
		two := e.taskDef("two", container("a", 100, 100), container("b", 100, 200))
		out := must[*RunTaskOutput](t)(e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: "ovr", TaskDefinition: two.TaskDefinitionArn, Overrides: &TaskOverride{
			ContainerOverrides: []ContainerOverride{{Name: "b", Cpu: ptr(400), Memory: ptr(1000), Command: []string{"echo", "hi"}}},
		}}))
		if len(out.Tasks) != 1 || out.Tasks[0].Cpu != "500" || out.Tasks[0].Memory != "1100" || out.Tasks[0].Overrides.ContainerOverrides[0].Name != "b" {
			t.Fatalf("task = %+v", out.Tasks)
		}
		if cpu, mem := remaining(e.describeInstance("ovr", ci.ContainerInstanceArn)); cpu != 4096-500 || mem != 4096-1100 {
			t.Fatalf("remaining = %d/%d", cpu, mem)
		}
		// memoryReservation is what is reserved when set.
		out = must[*RunTaskOutput](t)(e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: "ovr", TaskDefinition: two.TaskDefinitionArn, Overrides: &TaskOverride{
			ContainerOverrides: []ContainerOverride{{Name: "a", MemoryReservation: ptr(50)}},
		}}))
		if out.Tasks[0].Memory != "250" {
			t.Fatalf("memory with a memoryReservation override = %s, want 250", out.Tasks[0].Memory)
		}
		// Task-level overrides replace the containers' sum.
		before, _ := remaining(e.describeInstance("ovr", ci.ContainerInstanceArn))
		out = must[*RunTaskOutput](t)(e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: "ovr", TaskDefinition: two.TaskDefinitionArn, Overrides: &TaskOverride{Cpu: "1024", Memory: "512"}}))
		if len(out.Tasks) != 1 {
			t.Fatalf("task-level override: %+v", out.Failures)
		}
		if after, _ := remaining(e.describeInstance("ovr", ci.ContainerInstanceArn)); before-after != 1024 {
			t.Fatalf("task-level cpu override reserved %d, want 1024", before-after)
		}
		e.checkNoOvercommit("ovr")
	})
}

func TestRunTaskClientToken(t *testing.T) {
	e := newEnv(t)
	e.cluster("tok")
	e.instance("tok", 4096, 4096)
	td := e.simpleTaskDef("tok-app", 128, 128)
	other := e.simpleTaskDef("tok-other", 128, 128)

	first := must[*RunTaskOutput](t)(e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: "tok", TaskDefinition: td.TaskDefinitionArn, Count: ptr(3), ClientToken: "abc-123"}))
	if len(first.Tasks) != 3 {
		t.Fatalf("placed %d", len(first.Tasks))
	}
	before := e.snapshot()
	again := must[*RunTaskOutput](t)(e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: "tok", TaskDefinition: td.TaskDefinitionArn, Count: ptr(3), ClientToken: "abc-123"}))
	e.unchanged(before)
	if !slices.Equal(taskArns(again.Tasks), taskArns(first.Tasks)) {
		t.Fatalf("retry returned %v, want %v", taskArns(again.Tasks), taskArns(first.Tasks))
	}
	list := must[*ListTasksOutput](t)(e.svc.ListTasks(e.ctx, &ListTasksInput{Cluster: "tok"}))
	if len(list.TaskArns) != 3 {
		t.Fatalf("%d tasks exist after a retried RunTask, want 3", len(list.TaskArns))
	}
	// Reusing the token for another request is a conflict (ConflictException in the AWS model).
	e.rejected("ConflictException", func() error {
		_, err := e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: "tok", TaskDefinition: other.TaskDefinitionArn, ClientToken: "abc-123"})
		return err
	})
	// Tokens are case sensitive.
	if out := must[*RunTaskOutput](t)(e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: "tok", TaskDefinition: td.TaskDefinitionArn, ClientToken: "ABC-123"})); len(out.Tasks) != 1 || slices.Contains(taskArns(first.Tasks), out.Tasks[0].TaskArn) {
		t.Fatalf("different-case token = %+v", out.Tasks)
	}

	t.Run("ConcurrentRetries", func(t *testing.T) {
		e := e.with(t)
		const n = 8
		var wg sync.WaitGroup
		results := make([][]string, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: "tok", TaskDefinition: td.TaskDefinitionArn, Count: ptr(2), ClientToken: "same-token"})
				errs[i] = err
				if err == nil {
					results[i] = taskArns(out.Tasks)
				}
			}()
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("call %d: %v", i, errs[i])
			}
			if !slices.Equal(results[i], results[0]) || len(results[i]) != 2 {
				t.Fatalf("call %d returned %v, call 0 %v", i, results[i], results[0])
			}
		}
		list := must[*ListTasksOutput](t)(e.svc.ListTasks(e.ctx, &ListTasksInput{Cluster: "tok", Family: "tok-app"}))
		if len(list.TaskArns) != 3+1+2 {
			t.Fatalf("%d tasks after concurrent retries, want 6", len(list.TaskArns))
		}
		e.checkNoOvercommit("tok")
	})
}

func TestStartTask(t *testing.T) {
	e := newEnv(t)
	e.cluster("st")
	big := e.instance("st", 2048, 2048)
	small := e.instance("st", 256, 2048)
	off := e.instance("st", 2048, 2048, instanceOpts{disconnected: true})
	draining := e.instance("st", 2048, 2048)
	must[*DescribeContainerInstancesOutput](t)(e.svc.UpdateContainerInstancesState(e.ctx, &UpdateContainerInstancesStateInput{Cluster: "st", ContainerInstances: []string{draining.ContainerInstanceArn}, Status: "DRAINING"}))
	e.simpleTaskDef("st-app", 512, 512)

	out := must[*RunTaskOutput](t)(e.svc.StartTask(e.ctx, &RunTaskInput{Cluster: "st", TaskDefinition: "st-app", StartedBy: "me", ContainerInstances: []string{
		big.ContainerInstanceArn, lastSegment(small.ContainerInstanceArn), off.ContainerInstanceArn, draining.ContainerInstanceArn, "0123abcd",
	}}))
	if len(out.Tasks) != 1 || out.Tasks[0].ContainerInstanceArn != big.ContainerInstanceArn || out.Tasks[0].StartedBy != "me" {
		t.Fatalf("tasks = %+v", out.Tasks)
	}
	reasons := map[string]string{}
	for _, f := range out.Failures {
		reasons[f.Arn] = f.Reason
	}
	want := map[string]string{
		"0123abcd":                 "MISSING",
		small.ContainerInstanceArn: "RESOURCE:CPU",
		off.ContainerInstanceArn:   "AGENT",
	}
	// A draining instance takes no task; the reason text is Berth's own.
	if reasons[draining.ContainerInstanceArn] == "" {
		t.Errorf("no failure for the draining instance: %+v", out.Failures)
	}
	if len(reasons) != len(want)+1 {
		t.Fatalf("failures = %+v", out.Failures)
	}
	for k, v := range want {
		if reasons[k] != v {
			t.Errorf("failure for %s = %q, want %q", k, reasons[k], v)
		}
	}
	// The same instance named twice gets two tasks only if both fit.
	out = must[*RunTaskOutput](t)(e.svc.StartTask(e.ctx, &RunTaskInput{Cluster: "st", TaskDefinition: "st-app", ContainerInstances: []string{
		big.ContainerInstanceArn, big.ContainerInstanceArn, big.ContainerInstanceArn, big.ContainerInstanceArn,
	}}))
	if len(out.Tasks) != 3 || len(out.Failures) != 1 || out.Failures[0].Reason != "RESOURCE:CPU" {
		t.Fatalf("four on one instance with room for three: %d tasks, failures %+v", len(out.Tasks), out.Failures)
	}
	e.checkNoOvercommit("st")
	if cpu, _ := remaining(e.describeInstance("st", big.ContainerInstanceArn)); cpu != 0 {
		t.Fatalf("remaining cpu = %d", cpu)
	}
}

// TestRunTaskConcurrent races many RunTask calls for capacity that fits
// exactly N tasks and checks exactly N are placed without over-commitment.
func TestRunTaskConcurrent(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name    string
		td      ContainerDefinition
		perInst int // tasks that fit on one 1024/1024 instance
		count   int // tasks per RunTask call
	}{
		{"cpu and memory", container("app", 256, 200), 4, 1},
		{"memory", container("app", 10, 300), 3, 2},
		{"fixed host port", withPorts(container("app", 10, 10), [2]int{80, 8080}), 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			cluster := e.cluster("race-" + strings.ReplaceAll(tc.name, " ", "-"))
			for range 3 {
				e.instance(cluster, 1024, 1024)
			}
			td := e.taskDef(cluster+"-app", tc.td)
			const workers = 16
			var wg sync.WaitGroup
			placed := make([][]Task, workers)
			errs := make([]error, workers)
			start := make(chan struct{})
			for i := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					out, err := e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: cluster, TaskDefinition: td.TaskDefinitionArn, Count: ptr(tc.count)})
					errs[i] = err
					if err == nil {
						placed[i] = out.Tasks
						if len(out.Tasks) < tc.count && len(out.Failures) == 0 {
							errs[i] = fmt.Errorf("placed %d of %d without a failure", len(out.Tasks), tc.count)
						}
					}
				}()
			}
			close(start)
			wg.Wait()
			total := 0
			ids := map[string]bool{}
			for i := range workers {
				if errs[i] != nil {
					t.Fatalf("worker %d: %v", i, errs[i])
				}
				for _, tk := range placed[i] {
					if ids[tk.TaskArn] {
						t.Fatalf("task %s returned twice", tk.TaskArn)
					}
					ids[tk.TaskArn] = true
				}
				total += len(placed[i])
			}
			if want := 3 * tc.perInst; total != want {
				t.Fatalf("placed %d tasks in total, want exactly %d", total, want)
			}
			list := must[*ListTasksOutput](t)(e.svc.ListTasks(e.ctx, &ListTasksInput{Cluster: cluster}))
			if len(list.TaskArns) != total {
				t.Fatalf("ListTasks = %d tasks, RunTask reported %d", len(list.TaskArns), total)
			}
			e.checkNoOvercommit(cluster)
		})
	}
}

// TestRunTaskBurst fires a burst of RunTask calls that all fit: placements
// race on three instances, and every call must still succeed rather than
// give up on store conflicts (which would reach clients as ServerException).
func TestRunTaskBurst(t *testing.T) {
	e := newEnv(t)
	e.cluster("burst")
	for range 3 {
		e.instance("burst", 100000, 100000)
	}
	td := e.simpleTaskDef("burst-app", 10, 10)
	const workers, calls = 48, 2
	var wg sync.WaitGroup
	errs := make(chan error, workers*calls)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range calls {
				out, err := e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: "burst", TaskDefinition: td.TaskDefinitionArn})
				if err == nil && len(out.Tasks) != 1 {
					err = fmt.Errorf("placed %d tasks: %+v", len(out.Tasks), out.Failures)
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("RunTask in a burst: %v", err)
	}
	list := must[*ListTasksOutput](t)(e.svc.ListTasks(e.ctx, &ListTasksInput{Cluster: "burst", MaxResults: ptr(100)}))
	if len(list.TaskArns) != 96 {
		t.Fatalf("%d tasks exist, want 96", len(list.TaskArns))
	}
	e.checkNoOvercommit("burst")
}
