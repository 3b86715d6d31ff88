package ecs

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/store"
)

// sched drives scheduler passes by hand, with a clock the test controls,
// and plays the agents: pending tasks start, stopping tasks stop.
type sched struct {
	*env
	cluster string
	state   *schedulerState
	now     time.Time
}

func newSched(e *env, cluster string) *sched {
	return &sched{env: e, cluster: cluster, now: time.Now(),
		state: newSchedulerState(SchedulerOptions{LostAgentGrace: time.Minute})}
}

// pass runs one scheduler pass.
func (s *sched) pass() {
	s.t.Helper()
	if err := s.svc.schedulePass(s.ctx, s.state, s.now); err != nil {
		s.t.Fatalf("scheduler pass: %v", err)
	}
}

// tasks returns the cluster's task records.
func (s *sched) tasks() []taskRecord {
	s.t.Helper()
	items, err := store.List[taskRecord](s.ctx, s.st, s.svc.keys.tasks(s.cluster))
	if err != nil {
		s.t.Fatal(err)
	}
	out := make([]taskRecord, len(items))
	for i, it := range items {
		out[i] = it.Value
	}
	return out
}

// agents reports every pending task RUNNING (or, with fail, STOPPED as a
// task that could not start) and every task asked to stop STOPPED.
func (s *sched) agents(fail func(taskRecord) bool) {
	s.t.Helper()
	for _, t := range s.tasks() {
		status, reason := "", ""
		switch {
		case t.Task.LastStatus == "STOPPED":
			continue
		case t.Task.DesiredStatus == "STOPPED":
			status = "STOPPED"
		case t.Task.LastStatus != "RUNNING" && fail != nil && fail(t):
			status, reason = "STOPPED", "CannotStartContainerError: exec format error"
		case t.Task.LastStatus != "RUNNING":
			status = "RUNNING"
		default:
			continue
		}
		if _, err := s.svc.SubmitTaskStateChange(s.ctx, &SubmitTaskStateChangeInput{Cluster: s.cluster, Task: t.ID, Status: status, Reason: reason}); err != nil {
			s.t.Fatalf("report %s %s: %v", t.ID, status, err)
		}
	}
}

// service describes one service.
func (s *sched) service(name string) ECSService {
	s.t.Helper()
	out, err := s.svc.DescribeServices(s.ctx, &DescribeServicesInput{Cluster: s.cluster, Services: []string{name}})
	if err != nil || len(out.Services) != 1 {
		s.t.Fatalf("describe service %s: %v %+v", name, err, out)
	}
	return out.Services[0]
}

// live counts the service's tasks by state: running and desired RUNNING,
// pending, and by task definition revision.
func (s *sched) live(name string) (running, pending int, revisions map[int]int) {
	revisions = map[int]int{}
	for _, t := range s.tasks() {
		if t.Task.Group != "service:"+name || t.Task.DesiredStatus != "RUNNING" {
			continue
		}
		if t.Task.LastStatus == "RUNNING" {
			running++
		} else {
			pending++
		}
		revisions[t.Revision]++
	}
	return running, pending, revisions
}

func hasEvent(svc ECSService, substr string) bool {
	return slices.ContainsFunc(svc.Events, func(ev ServiceEvent) bool { return strings.Contains(ev.Message, substr) })
}

// converge runs passes and agent reports until the service's primary
// deployment leaves IN_PROGRESS, checking bounds after every pass.
func (s *sched) converge(name string, lo, hi int, fail func(taskRecord) bool) ECSService {
	s.t.Helper()
	for i := 0; i < 40; i++ {
		s.pass()
		svc := s.service(name)
		running, pending, _ := s.live(name)
		if max := svc.DesiredCount * hi / 100; running+pending > max {
			s.t.Fatalf("pass %d: %d tasks running or pending, above maximumPercent (%d)", i, running+pending, max)
		}
		if min := (svc.DesiredCount*lo + 99) / 100; running < min {
			s.t.Fatalf("pass %d: %d tasks running, below minimumHealthyPercent (%d)", i, running, min)
		}
		if d := svc.Deployments; len(d) == 1 && d[0].RolloutState != "IN_PROGRESS" {
			return svc
		}
		s.agents(fail)
		s.now = s.now.Add(time.Second)
	}
	s.t.Fatalf("service %s did not converge: %+v", name, s.service(name))
	return ECSService{}
}

func TestServiceRollingDeployment(t *testing.T) {
	e := newEnv(t)
	cluster := e.cluster("svc")
	for range 3 {
		e.instance(cluster, 2048, 2048)
	}
	v1 := e.simpleTaskDef("web", 128, 128)
	s := newSched(e, cluster)
	out, err := e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: cluster, ServiceName: "web", TaskDefinition: "web", DesiredCount: ptr(3),
		DeploymentConfiguration: &DeploymentConfiguration{MinimumHealthyPercent: ptr(50), MaximumPercent: ptr(200)}})
	if err != nil {
		t.Fatal(err)
	}
	if d := out.Service.Deployments; len(d) != 1 || d[0].Status != "PRIMARY" || d[0].RolloutState != "IN_PROGRESS" || !strings.HasPrefix(d[0].Id, "ecs-svc/") {
		t.Fatalf("new service deployments = %+v", d)
	}
	// Before any task runs the minimum cannot hold: start from steady.
	s.pass()
	s.agents(nil)
	svc := s.converge("web", 0, 200, nil)
	if svc.RunningCount != 3 || svc.Deployments[0].RolloutState != "COMPLETED" || !hasEvent(svc, "(service web) has reached a steady state.") {
		t.Fatalf("after create: running %d, deployments %+v, events %+v", svc.RunningCount, svc.Deployments, svc.Events)
	}
	if !hasEvent(svc, "(service web) has started 3 tasks:") {
		t.Fatalf("no start event: %+v", svc.Events)
	}
	// Tasks spread over the three instances (the service default).
	perInstance := map[string]int{}
	for _, tk := range s.tasks() {
		perInstance[tk.InstanceID]++
		if tk.Task.StartedBy != svc.Deployments[0].Id || tk.Task.Group != "service:web" {
			t.Fatalf("task startedBy %q group %q", tk.Task.StartedBy, tk.Task.Group)
		}
	}
	if len(perInstance) != 3 {
		t.Fatalf("tasks per instance = %v, want one on each of 3", perInstance)
	}

	// A task dies: the next pass replaces it.
	victim := s.tasks()[0]
	e.svc.SubmitTaskStateChange(e.ctx, &SubmitTaskStateChangeInput{Cluster: cluster, Task: victim.ID, Status: "RUNNING",
		Containers: []ContainerStateChange{{ContainerName: "app", Status: "STOPPED", ExitCode: ptr(137)}}})
	e.svc.SubmitTaskStateChange(e.ctx, &SubmitTaskStateChangeInput{Cluster: cluster, Task: victim.ID, Status: "STOPPED"})
	s.pass()
	if _, pending, _ := s.live("web"); pending != 1 {
		t.Fatalf("after a task died: %d pending, want 1 replacement", pending)
	}
	s.agents(nil)
	s.pass()
	svc = s.service("web")
	if svc.RunningCount != 3 || svc.Deployments[0].FailedTasks != 1 {
		t.Fatalf("after replacement: running %d failedTasks %d", svc.RunningCount, svc.Deployments[0].FailedTasks)
	}

	// Roll to revision 2 within 50%/200%.
	v2 := e.simpleTaskDef("web", 128, 128)
	if _, err := e.svc.UpdateService(e.ctx, &UpdateServiceInput{Cluster: cluster, Service: "web", TaskDefinition: v2.TaskDefinitionArn}); err != nil {
		t.Fatal(err)
	}
	svc = s.service("web")
	if len(svc.Deployments) != 2 || svc.Deployments[1].Status != "ACTIVE" || svc.Deployments[1].TaskDefinition != v1.TaskDefinitionArn {
		t.Fatalf("after update: deployments %+v", svc.Deployments)
	}
	svc = s.converge("web", 50, 200, nil)
	_, _, revs := s.live("web")
	if svc.Deployments[0].RolloutState != "COMPLETED" || svc.TaskDefinition != v2.TaskDefinitionArn || revs[2] != 3 || len(revs) != 1 {
		t.Fatalf("after roll: %+v revisions %v", svc.Deployments, revs)
	}
	if !hasEvent(svc, "deployment completed.") || !hasEvent(svc, "has stopped") {
		t.Fatalf("roll events: %+v", svc.Events)
	}

	// A revision whose tasks cannot start trips the circuit breaker, which
	// rolls back to revision 2.
	v3 := e.simpleTaskDef("web", 128, 128)
	if _, err := e.svc.UpdateService(e.ctx, &UpdateServiceInput{Cluster: cluster, Service: "web", TaskDefinition: v3.TaskDefinitionArn,
		DeploymentConfiguration: &DeploymentConfiguration{DeploymentCircuitBreaker: &DeploymentCircuitBreaker{Enable: true, Rollback: true}}}); err != nil {
		t.Fatal(err)
	}
	broken := func(tk taskRecord) bool { return tk.Revision == 3 }
	for i := 0; i < 40 && s.service("web").TaskDefinition == v3.TaskDefinitionArn; i++ {
		s.pass()
		s.agents(broken)
		s.now = s.now.Add(time.Second)
	}
	svc = s.converge("web", 50, 200, broken)
	_, _, revs = s.live("web")
	if svc.TaskDefinition != v2.TaskDefinitionArn || svc.Deployments[0].RolloutState != "COMPLETED" || revs[2] != 3 || len(revs) != 1 {
		t.Fatalf("after rollback: taskDefinition %s deployments %+v revisions %v", svc.TaskDefinition, svc.Deployments, revs)
	}
	if !hasEvent(svc, "deployment failed: tasks failed to start.") || !hasEvent(svc, "rolling back to deployment") {
		t.Fatalf("circuit breaker events: %+v", svc.Events)
	}
}

func TestServiceDrainAndLostAgent(t *testing.T) {
	e := newEnv(t)
	cluster := e.cluster("drain")
	a := e.instance(cluster, 1024, 1024)
	e.simpleTaskDef("app", 128, 128)
	s := newSched(e, cluster)
	if _, err := e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: cluster, ServiceName: "app", TaskDefinition: "app", DesiredCount: ptr(2)}); err != nil {
		t.Fatal(err)
	}
	s.pass()
	s.agents(nil)
	s.converge("app", 0, 200, nil)
	b := e.instance(cluster, 1024, 1024)

	// Draining A: replacements start on B before A's tasks stop (max 200%).
	if _, err := e.svc.UpdateContainerInstancesState(e.ctx, &UpdateContainerInstancesStateInput{Cluster: cluster, ContainerInstances: []string{a.ContainerInstanceArn}, Status: "DRAINING"}); err != nil {
		t.Fatal(err)
	}
	s.pass()
	if running, pending, _ := s.live("app"); running != 2 || pending != 2 {
		t.Fatalf("after drain pass: running %d pending %d, want 2 and 2 (replacements first)", running, pending)
	}
	for i := 0; i < 5; i++ {
		s.agents(nil)
		s.pass()
	}
	for _, tk := range s.tasks() {
		if tk.Task.DesiredStatus == "RUNNING" && tk.InstanceID != lastSegment(b.ContainerInstanceArn) {
			t.Fatalf("task %s still wanted on the draining instance", tk.ID)
		}
	}
	if svc := s.service("app"); svc.RunningCount != 2 {
		t.Fatalf("after drain: running %d", svc.RunningCount)
	}

	// B's agent disappears; A comes back ACTIVE. After the grace period
	// B's tasks are given up and replaced on A.
	e.svc.UpdateContainerInstancesState(e.ctx, &UpdateContainerInstancesStateInput{Cluster: cluster, ContainerInstances: []string{a.ContainerInstanceArn}, Status: "ACTIVE"})
	e.st.Client().Delete(e.ctx, e.svc.keys.connected(lastSegment(b.ContainerInstanceArn)))
	s.pass()
	if running, _, _ := s.live("app"); running != 2 {
		t.Fatalf("tasks replaced before the grace period: running %d", running)
	}
	s.now = s.now.Add(2 * time.Minute)
	s.pass()
	for _, tk := range s.tasks() {
		if tk.InstanceID == lastSegment(b.ContainerInstanceArn) && tk.Task.DesiredStatus != "STOPPED" {
			t.Fatalf("task %s on the lost instance still desired %s", tk.ID, tk.Task.DesiredStatus)
		}
	}
	if _, pending, _ := s.live("app"); pending != 2 {
		t.Fatalf("after the agent was lost: %d pending, want 2 replacements", pending)
	}
}

func TestDaemonService(t *testing.T) {
	e := newEnv(t)
	cluster := e.cluster("daemon")
	e.instance(cluster, 1024, 1024, instanceOpts{attrs: []Attribute{{Name: "role", Value: ptr("edge")}}})
	e.instance(cluster, 1024, 1024, instanceOpts{attrs: []Attribute{{Name: "role", Value: ptr("edge")}}})
	e.instance(cluster, 1024, 1024, instanceOpts{attrs: []Attribute{{Name: "role", Value: ptr("db")}}})
	e.simpleTaskDef("agent", 64, 64)
	s := newSched(e, cluster)
	if _, err := e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: cluster, ServiceName: "agent", TaskDefinition: "agent", SchedulingStrategy: "DAEMON",
		PlacementConstraints: []PlacementConstraint{{Type: "memberOf", Expression: "attribute:role == edge"}}}); err != nil {
		t.Fatal(err)
	}
	s.pass()
	s.agents(nil)
	s.pass()
	if svc := s.service("agent"); svc.DesiredCount != 2 || svc.RunningCount != 2 {
		t.Fatalf("daemon on 2 edge instances: desired %d running %d", svc.DesiredCount, svc.RunningCount)
	}
	// An instance that joins later gets its task too.
	e.instance(cluster, 1024, 1024, instanceOpts{attrs: []Attribute{{Name: "role", Value: ptr("edge")}}})
	s.pass()
	s.agents(nil)
	s.pass()
	perInstance := map[string]int{}
	for _, tk := range s.tasks() {
		if tk.Task.DesiredStatus == "RUNNING" {
			perInstance[tk.InstanceID]++
		}
	}
	if svc := s.service("agent"); svc.DesiredCount != 3 || svc.RunningCount != 3 || len(perInstance) != 3 {
		t.Fatalf("after a join: desired %d running %d per instance %v", svc.DesiredCount, svc.RunningCount, perInstance)
	}
	// Deleting the service stops its tasks and leaves it INACTIVE.
	if _, err := e.svc.DeleteService(e.ctx, &DeleteServiceInput{Cluster: cluster, Service: "agent"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		s.pass()
		s.agents(nil)
	}
	s.pass()
	if svc := s.service("agent"); svc.Status != "INACTIVE" {
		t.Fatalf("deleted daemon service status %s", svc.Status)
	}
	list, _ := e.svc.ListServices(e.ctx, &ListServicesInput{Cluster: cluster})
	if len(list.ServiceArns) != 0 {
		t.Fatalf("ListServices after delete = %v", list.ServiceArns)
	}
}
