package ecs

import (
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/api"
)

func TestComputedCount(t *testing.T) {
	for _, c := range []struct {
		desired int
		scale   float64
		want    int
	}{
		{4, 50, 2}, {3, 50, 2}, {10, 12, 2}, {5, 0, 0}, {0, 100, 0}, {7, 100, 7}, {1, 0.1, 1},
	} {
		if got := computedCount(c.desired, Scale{Value: c.scale, Unit: "PERCENT"}); got != c.want {
			t.Errorf("computedCount(%d, %v%%) = %d, want %d", c.desired, c.scale, got, c.want)
		}
	}
}

// externalService creates an EXTERNAL service with desired tasks.
func externalService(e *env, cluster, name string, desired int) ECSService {
	e.t.Helper()
	out, err := e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: cluster, ServiceName: name, DesiredCount: ptr(desired),
		DeploymentController: &DeploymentController{Type: "EXTERNAL"}})
	if err != nil {
		e.t.Fatalf("create EXTERNAL service: %v", err)
	}
	return *out.Service
}

func TestCreateServiceDeploymentControllers(t *testing.T) {
	lb := newMemLB()
	e := newLBEnv(t, lb)
	cluster := e.cluster("dc")
	td := e.simpleTaskDef("dc-web", 128, 128)
	bridge := e.taskDef("dc-lb", withPorts(container("web", 0, 64), [2]int{8080, 0}))
	tg := lb.group("blue", "instance", 0, "arn:lb/app/web")
	ext := &DeploymentController{Type: "EXTERNAL"}
	for _, c := range []struct {
		name string
		in   CreateServiceInput
		code string
	}{
		{"unknown type", CreateServiceInput{DeploymentController: &DeploymentController{Type: "BLUE_GREEN"}, TaskDefinition: td.TaskDefinitionArn, DesiredCount: ptr(1)}, "InvalidParameterException"},
		{"external with task definition", CreateServiceInput{DeploymentController: ext, TaskDefinition: td.TaskDefinitionArn, DesiredCount: ptr(1)}, "InvalidParameterException"},
		{"external with launch type", CreateServiceInput{DeploymentController: ext, LaunchType: "EC2", DesiredCount: ptr(1)}, "InvalidParameterException"},
		{"external with load balancers", CreateServiceInput{DeploymentController: ext, DesiredCount: ptr(1), LoadBalancers: []LoadBalancer{{TargetGroupArn: tg, ContainerName: "web", ContainerPort: ptr(8080)}}}, "InvalidParameterException"},
		{"external daemon", CreateServiceInput{DeploymentController: ext, SchedulingStrategy: "DAEMON"}, "InvalidParameterException"},
		{"code deploy without load balancer", CreateServiceInput{DeploymentController: &DeploymentController{Type: "CODE_DEPLOY"}, TaskDefinition: td.TaskDefinitionArn, DesiredCount: ptr(1)}, "InvalidParameterException"},
		{"code deploy without task definition", CreateServiceInput{DeploymentController: &DeploymentController{Type: "CODE_DEPLOY"}, DesiredCount: ptr(1), LoadBalancers: []LoadBalancer{{TargetGroupArn: tg, ContainerName: "web", ContainerPort: ptr(8080)}}}, "InvalidParameterException"},
		{"service connect", CreateServiceInput{TaskDefinition: td.TaskDefinitionArn, DesiredCount: ptr(1), ServiceConnectConfiguration: &ServiceConnectConfiguration{Enabled: true}}, "InvalidParameterException"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := e.with(t)
			c.in.Cluster, c.in.ServiceName = cluster, "bad"
			e.rejected(c.code, func() error { _, err := e.svc.CreateService(e.ctx, &c.in); return err })
		})
	}

	svc := externalService(e, cluster, "ext", 2)
	if svc.DeploymentController.Type != "EXTERNAL" || len(svc.Deployments) != 0 || svc.TaskDefinition != "" || len(svc.TaskSets) != 0 {
		t.Fatalf("EXTERNAL service: controller %+v, %d deployments, taskDefinition %q, %d task sets", svc.DeploymentController, len(svc.Deployments), svc.TaskDefinition, len(svc.TaskSets))
	}
	// UpdateService changes only what the controller leaves to it.
	for _, in := range []UpdateServiceInput{
		{TaskDefinition: td.TaskDefinitionArn},
		{ForceNewDeployment: true},
		{NetworkConfiguration: &NetworkConfiguration{AwsvpcConfiguration: &AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}},
		{DeploymentConfiguration: &DeploymentConfiguration{MaximumPercent: ptr(150)}},
	} {
		in.Cluster, in.Service = cluster, "ext"
		e.rejected("InvalidParameterException", func() error { _, err := e.svc.UpdateService(e.ctx, &in); return err })
	}
	up, err := e.svc.UpdateService(e.ctx, &UpdateServiceInput{Cluster: cluster, Service: "ext", DesiredCount: ptr(3), HealthCheckGracePeriodSeconds: ptr(5)})
	if err != nil || up.Service.DesiredCount != 3 || len(up.Service.Deployments) != 0 {
		t.Fatalf("update EXTERNAL desired count: %v %+v", err, up)
	}

	// A CODE_DEPLOY service starts with its PRIMARY task set at 100%.
	out, err := e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: cluster, ServiceName: "cd", TaskDefinition: bridge.TaskDefinitionArn, DesiredCount: ptr(2),
		DeploymentController: &DeploymentController{Type: "CODE_DEPLOY"}, LoadBalancers: []LoadBalancer{{TargetGroupArn: tg, ContainerName: "web", ContainerPort: ptr(8080)}}})
	if err != nil {
		t.Fatal(err)
	}
	cd := out.Service
	if len(cd.TaskSets) != 1 || len(cd.Deployments) != 0 {
		t.Fatalf("CODE_DEPLOY service: %d task sets, %d deployments", len(cd.TaskSets), len(cd.Deployments))
	}
	ts := cd.TaskSets[0]
	if ts.Status != "PRIMARY" || ts.StartedBy != "CODE_DEPLOY" || ts.Scale != (Scale{100, "PERCENT"}) || ts.ComputedDesiredCount != 2 ||
		ts.TaskDefinition != bridge.TaskDefinitionArn || len(ts.LoadBalancers) != 1 || cd.TaskDefinition != bridge.TaskDefinitionArn {
		t.Fatalf("CODE_DEPLOY task set %+v (service taskDefinition %s)", ts, cd.TaskDefinition)
	}
	if ts.TaskSetArn != arn("task-set/"+cluster+"/cd/"+ts.Id) || len(ts.Id) != len("ecs-svc/")+19 {
		t.Fatalf("task set id %s arn %s", ts.Id, ts.TaskSetArn)
	}
	e.rejected("InvalidParameterException", func() error {
		_, err := e.svc.UpdateService(e.ctx, &UpdateServiceInput{Cluster: cluster, Service: "cd", TaskDefinition: td.TaskDefinitionArn})
		return err
	})
	// Task set operations are the EXTERNAL controller's.
	e.rejected("InvalidParameterException", func() error {
		_, err := e.svc.CreateTaskSet(e.ctx, &CreateTaskSetInput{Cluster: cluster, Service: "cd", TaskDefinition: bridge.TaskDefinitionArn})
		return err
	})
}

func TestTaskSetValidation(t *testing.T) {
	e := newEnv(t)
	cluster := e.cluster("tsv")
	td := e.simpleTaskDef("tsv-web", 128, 128)
	externalService(e, cluster, "ext", 2)
	if _, err := e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: cluster, ServiceName: "rolling", TaskDefinition: td.TaskDefinitionArn, DesiredCount: ptr(1)}); err != nil {
		t.Fatal(err)
	}
	good, err := e.svc.CreateTaskSet(e.ctx, &CreateTaskSetInput{Cluster: cluster, Service: "ext", TaskDefinition: td.TaskDefinitionArn, ClientToken: "tok-1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		call func() error
		code string
	}{
		{"missing cluster", func() error {
			_, err := e.svc.CreateTaskSet(e.ctx, &CreateTaskSetInput{Cluster: "nope", Service: "ext", TaskDefinition: td.TaskDefinitionArn})
			return err
		}, "ClusterNotFoundException"},
		{"missing service", func() error {
			_, err := e.svc.CreateTaskSet(e.ctx, &CreateTaskSetInput{Cluster: cluster, Service: "nope", TaskDefinition: td.TaskDefinitionArn})
			return err
		}, "ServiceNotFoundException"},
		{"rolling service", func() error {
			_, err := e.svc.CreateTaskSet(e.ctx, &CreateTaskSetInput{Cluster: cluster, Service: "rolling", TaskDefinition: td.TaskDefinitionArn})
			return err
		}, "InvalidParameterException"},
		{"no task definition", func() error {
			_, err := e.svc.CreateTaskSet(e.ctx, &CreateTaskSetInput{Cluster: cluster, Service: "ext"})
			return err
		}, "InvalidParameterException"},
		{"unknown task definition", func() error {
			_, err := e.svc.CreateTaskSet(e.ctx, &CreateTaskSetInput{Cluster: cluster, Service: "ext", TaskDefinition: "nope:1"})
			return err
		}, "InvalidParameterException"},
		{"scale above 100", func() error {
			_, err := e.svc.CreateTaskSet(e.ctx, &CreateTaskSetInput{Cluster: cluster, Service: "ext", TaskDefinition: td.TaskDefinitionArn, Scale: &Scale{Value: 101, Unit: "PERCENT"}})
			return err
		}, "InvalidParameterException"},
		{"scale unit", func() error {
			_, err := e.svc.CreateTaskSet(e.ctx, &CreateTaskSetInput{Cluster: cluster, Service: "ext", TaskDefinition: td.TaskDefinitionArn, Scale: &Scale{Value: 10, Unit: "COUNT"}})
			return err
		}, "InvalidParameterException"},
		{"update unknown task set", func() error {
			_, err := e.svc.UpdateTaskSet(e.ctx, &UpdateTaskSetInput{Cluster: cluster, Service: "ext", TaskSet: "ecs-svc/1", Scale: &Scale{Value: 10, Unit: "PERCENT"}})
			return err
		}, "TaskSetNotFoundException"},
		{"update without scale", func() error {
			_, err := e.svc.UpdateTaskSet(e.ctx, &UpdateTaskSetInput{Cluster: cluster, Service: "ext", TaskSet: good.TaskSet.Id})
			return err
		}, "InvalidParameterException"},
		{"delete scaled task set", func() error {
			_, err := e.svc.DeleteTaskSet(e.ctx, &DeleteTaskSetInput{Cluster: cluster, Service: "ext", TaskSet: good.TaskSet.TaskSetArn})
			return err
		}, "InvalidParameterException"},
		{"primary unknown", func() error {
			_, err := e.svc.UpdateServicePrimaryTaskSet(e.ctx, &UpdateServicePrimaryTaskSetInput{Cluster: cluster, Service: "ext", PrimaryTaskSet: "ecs-svc/2"})
			return err
		}, "TaskSetNotFoundException"},
		{"describe rolling service", func() error {
			_, err := e.svc.DescribeTaskSets(e.ctx, &DescribeTaskSetsInput{Cluster: cluster, Service: "rolling"})
			return err
		}, "InvalidParameterException"},
	} {
		t.Run(c.name, func(t *testing.T) { e.with(t).rejected(c.code, c.call) })
	}
	// The same client token gets the same task set back.
	again, err := e.svc.CreateTaskSet(e.ctx, &CreateTaskSetInput{Cluster: cluster, Service: "ext", TaskDefinition: td.TaskDefinitionArn, ClientToken: "tok-1"})
	if err != nil || again.TaskSet.Id != good.TaskSet.Id {
		t.Fatalf("retry with the same token: %v %+v, want %s", err, again, good.TaskSet.Id)
	}
	d, err := e.svc.DescribeTaskSets(e.ctx, &DescribeTaskSetsInput{Cluster: cluster, Service: "ext", TaskSets: []string{good.TaskSet.Id, "ecs-svc/3"}})
	if err != nil || len(d.TaskSets) != 1 || len(d.Failures) != 1 || d.Failures[0].Reason != "MISSING" || d.Failures[0].Arn != arn("task-set/"+cluster+"/ext/ecs-svc/3") {
		t.Fatalf("describe with a missing task set: %v %+v", err, d)
	}
}

// TestTaskSetScheduling: an EXTERNAL service's two task sets each keep
// ceil(desired × scale) tasks started by their id; UpdateTaskSet scale
// changes the counts, UpdateServicePrimaryTaskSet flips PRIMARY and
// ACTIVE, and DeleteTaskSet stops the task set's tasks and forgets it.
func TestTaskSetScheduling(t *testing.T) {
	e := newEnv(t)
	cluster := e.cluster("tss")
	e.instance(cluster, 4096, 4096)
	blue := e.simpleTaskDef("tss-blue", 64, 64)
	green := e.simpleTaskDef("tss-green", 64, 64)
	s := newSched(e, cluster)
	externalService(e, cluster, "web", 4)
	mk := func(td string, scale float64, external string) TaskSet {
		out, err := e.svc.CreateTaskSet(e.ctx, &CreateTaskSetInput{Cluster: cluster, Service: "web", TaskDefinition: td, ExternalId: external,
			Scale: &Scale{Value: scale, Unit: "PERCENT"}, Tags: []Tag{{Key: "set", Value: external}}})
		if err != nil {
			t.Fatal(err)
		}
		if out.TaskSet.Status != "ACTIVE" || out.TaskSet.ExternalId != external || out.TaskSet.StabilityStatus != "STABILIZING" {
			t.Fatalf("new task set %+v", out.TaskSet)
		}
		return *out.TaskSet
	}
	a := mk(blue.TaskDefinitionArn, 100, "blue")
	b := mk(green.TaskDefinitionArn, 50, "green")
	// counts are each task set's live tasks (desired RUNNING).
	counts := func() map[string]int {
		m := map[string]int{}
		for _, t := range s.tasks() {
			if t.Task.DesiredStatus == "RUNNING" {
				m[t.Task.StartedBy]++
			}
		}
		return m
	}
	settle := func() {
		t.Helper()
		for range 4 {
			s.pass()
			s.agents(nil)
		}
		s.pass()
	}
	describe := func() map[string]TaskSet {
		t.Helper()
		out, err := e.svc.DescribeTaskSets(e.ctx, &DescribeTaskSetsInput{Cluster: cluster, Service: "web", Include: []string{"TAGS"}})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]TaskSet{}
		for _, ts := range out.TaskSets {
			m[ts.Id] = ts
		}
		return m
	}
	check := func(step string, want map[string]int) {
		t.Helper()
		settle()
		got := counts()
		sets := describe()
		for id, n := range want {
			ts := sets[id]
			if got[id] != n || ts.ComputedDesiredCount != n || ts.RunningCount != n || ts.PendingCount != 0 || ts.StabilityStatus != "STEADY_STATE" {
				t.Fatalf("%s: task set %s has %d tasks, described %+v; want %d", step, id, got[id], ts, n)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%s: tasks by starter %v, want %v", step, got, want)
		}
	}
	check("created", map[string]int{a.Id: 4, b.Id: 2})
	sets := describe()
	if len(sets[a.Id].Tags) != 1 || sets[a.Id].Tags[0].Value != "blue" {
		t.Fatalf("DescribeTaskSets include TAGS: %+v", sets[a.Id].Tags)
	}
	svc := s.service("web")
	if len(svc.TaskSets) != 2 || len(svc.Deployments) != 0 || svc.RunningCount != 6 || svc.TaskSets[0].Tags != nil {
		t.Fatalf("DescribeServices: %d task sets, %d deployments, running %d", len(svc.TaskSets), len(svc.Deployments), svc.RunningCount)
	}
	for _, tk := range s.tasks() {
		if want := map[string]string{a.Id: blue.TaskDefinitionArn, b.Id: green.TaskDefinitionArn}[tk.Task.StartedBy]; tk.Task.TaskDefinitionArn != want || tk.Task.Group != "service:web" {
			t.Fatalf("task %s of %s runs %s in group %s", tk.ID, tk.Task.StartedBy, tk.Task.TaskDefinitionArn, tk.Task.Group)
		}
	}

	if _, err := e.svc.UpdateTaskSet(e.ctx, &UpdateTaskSetInput{Cluster: cluster, Service: "web", TaskSet: a.TaskSetArn, Scale: &Scale{Value: 25, Unit: "PERCENT"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateTaskSet(e.ctx, &UpdateTaskSetInput{Cluster: cluster, Service: "web", TaskSet: b.Id, Scale: &Scale{Value: 100, Unit: "PERCENT"}}); err != nil {
		t.Fatal(err)
	}
	check("rescaled", map[string]int{a.Id: 1, b.Id: 4})
	if _, err := e.svc.UpdateService(e.ctx, &UpdateServiceInput{Cluster: cluster, Service: "web", DesiredCount: ptr(2)}); err != nil {
		t.Fatal(err)
	}
	check("service scaled in", map[string]int{a.Id: 1, b.Id: 2})

	for _, step := range []struct {
		primary, active TaskSet
	}{{a, b}, {b, a}} {
		out, err := e.svc.UpdateServicePrimaryTaskSet(e.ctx, &UpdateServicePrimaryTaskSetInput{Cluster: cluster, Service: "web", PrimaryTaskSet: step.primary.Id})
		if err != nil || out.TaskSet.Status != "PRIMARY" {
			t.Fatalf("primary %s: %v %+v", step.primary.Id, err, out)
		}
		sets := describe()
		svc := s.service("web")
		if sets[step.primary.Id].Status != "PRIMARY" || sets[step.active.Id].Status != "ACTIVE" || svc.TaskDefinition != step.primary.TaskDefinition {
			t.Fatalf("after making %s primary: %s is %s, %s is %s, service runs %s", step.primary.Id, step.primary.Id, sets[step.primary.Id].Status,
				step.active.Id, sets[step.active.Id].Status, svc.TaskDefinition)
		}
	}

	// b is PRIMARY now: deleting it takes force; a, scaled above zero, too.
	e.rejected("InvalidParameterException", func() error {
		_, err := e.svc.DeleteTaskSet(e.ctx, &DeleteTaskSetInput{Cluster: cluster, Service: "web", TaskSet: b.Id})
		return err
	})
	del, err := e.svc.DeleteTaskSet(e.ctx, &DeleteTaskSetInput{Cluster: cluster, Service: "web", TaskSet: a.Id, Force: ptr(true)})
	if err != nil || del.TaskSet.Status != "DRAINING" {
		t.Fatalf("delete: %v %+v", err, del)
	}
	check("deleted", map[string]int{b.Id: 2})
	if _, ok := describe()[a.Id]; ok {
		t.Fatalf("deleted task set %s is still described after its tasks stopped", a.Id)
	}
	// a ran 4 tasks, then 1 after its scale-in; all are stopped now.
	stopped := 0
	for _, tk := range s.tasks() {
		if tk.Task.StartedBy == a.Id {
			if tk.Task.LastStatus != "STOPPED" {
				t.Fatalf("task %s of the deleted task set is %s", tk.ID, tk.Task.LastStatus)
			}
			stopped++
		}
	}
	if stopped != 4 {
		t.Fatalf("%d of the deleted task set's tasks stopped, want 4", stopped)
	}

	// Deleting the service stops the rest and ends INACTIVE.
	if _, err := e.svc.DeleteService(e.ctx, &DeleteServiceInput{Cluster: cluster, Service: "web", Force: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		s.pass()
		s.agents(nil)
	}
	s.pass()
	if svc := s.service("web"); svc.Status != "INACTIVE" || len(counts()) != 0 {
		t.Fatalf("deleted service %s with tasks %v", svc.Status, counts())
	}
}

// TestTaskSetLoadBalancers: blue/green by task sets, each task set's
// tasks registered in its own target group.
func TestTaskSetLoadBalancers(t *testing.T) {
	lb := newMemLB()
	e := newLBEnv(t, lb)
	cluster := e.cluster("tslb")
	e.instance(cluster, 4096, 4096)
	td := e.taskDef("tslb-web", withPorts(container("web", 0, 64), [2]int{8080, 0}))
	blueTG := lb.group("blue", "instance", 0, "arn:lb/app/web")
	greenTG := lb.group("green", "instance", 0, "arn:lb/app/web")
	s := &lbSched{sched: newSched(e, cluster), lb: lb, nextPort: 32767}
	externalService(e, cluster, "web", 2)
	sets := map[string]string{}
	for _, tg := range []string{blueTG, greenTG} {
		out, err := e.svc.CreateTaskSet(e.ctx, &CreateTaskSetInput{Cluster: cluster, Service: "web", TaskDefinition: td.TaskDefinitionArn,
			LoadBalancers: []LoadBalancer{{TargetGroupArn: tg, ContainerName: "web", ContainerPort: ptr(8080)}}})
		if err != nil {
			t.Fatal(err)
		}
		sets[tg] = out.TaskSet.Id
	}
	for range 4 {
		s.step(time.Second)
	}
	for tg, id := range sets {
		registered := 0
		for _, tk := range s.tasks() {
			if tk.Task.StartedBy != id {
				continue
			}
			if tk.Targets == nil || len(tk.Targets.Registered) != 1 || tk.Targets.Registered[0].TargetGroupArn != tg {
				t.Fatalf("task %s of %s has targets %+v, want one in %s", tk.ID, id, tk.Targets, tg)
			}
			registered++
		}
		if registered != 2 || len(lb.states(tg)["initial"])+len(lb.states(tg)["healthy"]) != 2 {
			t.Fatalf("target group %s: %d tasks registered, states %v", tg, registered, lb.states(tg))
		}
	}
	// Scaling green to 0 deregisters its targets as its tasks stop.
	if _, err := e.svc.UpdateTaskSet(e.ctx, &UpdateTaskSetInput{Cluster: cluster, Service: "web", TaskSet: sets[greenTG], Scale: &Scale{Value: 0, Unit: "PERCENT"}}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		s.step(time.Second)
	}
	if st := lb.states(greenTG); len(st["initial"])+len(st["healthy"]) != 0 {
		t.Fatalf("green target group after scaling to 0: %v", st)
	}
	if st := lb.states(blueTG); len(st["initial"])+len(st["healthy"]) != 2 {
		t.Fatalf("blue target group: %v", st)
	}
}

// TestTaskSetBackoff: a task set whose tasks fail to start backs off as a
// service's deployment does, instead of relaunching at every pass.
func TestTaskSetBackoff(t *testing.T) {
	e := newEnv(t)
	cluster := e.cluster("tsb")
	e.instance(cluster, 4096, 4096)
	td := e.simpleTaskDef("tsb-bad", 64, 64)
	s := newSched(e, cluster)
	externalService(e, cluster, "bad", 1)
	if _, err := e.svc.CreateTaskSet(e.ctx, &CreateTaskSetInput{Cluster: cluster, Service: "bad", TaskDefinition: td.TaskDefinitionArn}); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		s.pass()
		s.agents(func(taskRecord) bool { return true })
		s.now = s.now.Add(100 * time.Millisecond)
	}
	if n := len(s.tasks()); n != 3 {
		t.Fatalf("%d tasks launched in 10 passes of failing starts, want 3 before the back-off", n)
	}
	if svc := s.service("bad"); !hasEvent(svc, "is unable to consistently start tasks successfully") {
		t.Fatalf("events %+v", svc.Events)
	}
}

// TestTaskSetAuthorization: task set operations are authorized on the
// service's ARN (CreateTaskSet, DescribeTaskSets,
// UpdateServicePrimaryTaskSet) or the task set's (UpdateTaskSet,
// DeleteTaskSet).
func TestTaskSetAuthorization(t *testing.T) {
	e := newIdentityEnv(t)
	td := e.simpleTaskDef("authz-web", 64, 64)
	externalService(e.env, e.cluster, "ext", 2)
	mk := func() TaskSet {
		out, err := e.svc.CreateTaskSet(e.ctx, &CreateTaskSetInput{Cluster: e.cluster, Service: "ext", TaskDefinition: td.TaskDefinitionArn, Scale: &Scale{Value: 0, Unit: "PERCENT"}})
		if err != nil {
			t.Fatal(err)
		}
		return *out.TaskSet
	}
	mine, other := mk(), mk()
	svcArn := arn("service/" + e.cluster + "/ext")
	u := e.user("deployer", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["ecs:DescribeTaskSets","ecs:UpdateServicePrimaryTaskSet"],"Resource":"`+svcArn+`"},
		{"Effect":"Allow","Action":["ecs:UpdateTaskSet","ecs:DeleteTaskSet"],"Resource":"`+mine.TaskSetArn+`"}]}`)
	scale := &Scale{Value: 10, Unit: "PERCENT"}
	for _, c := range []struct {
		name string
		call func() error
		ok   bool
	}{
		{"create", func() error {
			_, err := e.svc.CreateTaskSet(u.ctx, &CreateTaskSetInput{Cluster: e.cluster, Service: "ext", TaskDefinition: td.TaskDefinitionArn})
			return err
		}, false},
		{"describe", func() error {
			_, err := e.svc.DescribeTaskSets(u.ctx, &DescribeTaskSetsInput{Cluster: e.cluster, Service: "ext"})
			return err
		}, true},
		{"update another task set", func() error {
			_, err := e.svc.UpdateTaskSet(u.ctx, &UpdateTaskSetInput{Cluster: e.cluster, Service: "ext", TaskSet: other.Id, Scale: scale})
			return err
		}, false},
		{"delete another task set", func() error {
			_, err := e.svc.DeleteTaskSet(u.ctx, &DeleteTaskSetInput{Cluster: e.cluster, Service: "ext", TaskSet: other.Id})
			return err
		}, false},
		{"update its task set", func() error {
			_, err := e.svc.UpdateTaskSet(u.ctx, &UpdateTaskSetInput{Cluster: e.cluster, Service: "ext", TaskSet: mine.Id, Scale: scale})
			return err
		}, true},
		{"make its task set primary", func() error {
			_, err := e.svc.UpdateServicePrimaryTaskSet(u.ctx, &UpdateServicePrimaryTaskSetInput{Cluster: e.cluster, Service: "ext", PrimaryTaskSet: mine.Id})
			return err
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.ok {
				if err := c.call(); err != nil {
					t.Fatal(err)
				}
				return
			}
			e.env.with(t).rejected(api.CodeAccessDenied, c.call)
		})
	}
}
