package ecs

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// memLB is an in-memory Elastic Load Balancing: target groups, their
// targets with the health the test sets, and deregistrations.
type memLB struct {
	mu     sync.Mutex
	groups map[string]*memGroup
}

type memGroup struct {
	info    TargetGroupInfo
	targets map[LBTarget]string // state
}

func newMemLB() *memLB { return &memLB{groups: map[string]*memGroup{}} }

// group adds a target group; lbs are the load balancers forwarding to it.
func (m *memLB) group(name, targetType string, delay time.Duration, lbs ...string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	arn := "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/" + name + "/0123456789abcdef"
	m.groups[arn] = &memGroup{info: TargetGroupInfo{ARN: arn, Name: name, TargetType: targetType, Protocol: "HTTP",
		LoadBalancers: lbs, DeregistrationDelay: delay}, targets: map[LBTarget]string{}}
	return arn
}

func (m *memLB) get(arn string) (*memGroup, error) {
	g, ok := m.groups[arn]
	if _, classic := ClassicName(arn); !ok && classic {
		return nil, api.Errorf("LoadBalancerNotFound", "There is no ACTIVE Load Balancer named '%s'", arn)
	}
	if !ok {
		return nil, api.Errorf("TargetGroupNotFound", "Target groups '%s' not found", arn)
	}
	return g, nil
}

func (m *memLB) TargetGroup(_ context.Context, arn string) (TargetGroupInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g, err := m.get(arn)
	if err != nil {
		return TargetGroupInfo{}, err
	}
	return g.info, nil
}

func (m *memLB) RegisterTargets(_ context.Context, arn string, ts []LBTarget) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	g, err := m.get(arn)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if s, ok := g.targets[t]; !ok || s == "draining" {
			g.targets[t] = "initial"
		}
	}
	return nil
}

func (m *memLB) DeregisterTargets(_ context.Context, arn string, ts []LBTarget) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	g, err := m.get(arn)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if _, ok := g.targets[t]; ok {
			g.targets[t] = "draining"
		}
	}
	return nil
}

func (m *memLB) TargetHealth(_ context.Context, arn string, ts []LBTarget) ([]LBTargetHealth, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g, err := m.get(arn)
	if err != nil {
		return nil, err
	}
	var out []LBTargetHealth
	for t, s := range g.targets {
		if len(ts) > 0 && !slices.Contains(ts, t) {
			continue
		}
		h := LBTargetHealth{Target: t, State: s}
		if s == "unhealthy" {
			h.Reason, h.Description = "Target.ResponseCodeMismatch", "Health checks failed with these codes: [502]"
		}
		out = append(out, h)
	}
	return out, nil
}

// classic adds a Classic load balancer, which ECS treats as a target
// group named by the load balancer's ARN.
func (m *memLB) classic(name string, drain time.Duration) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	arn := "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/" + name
	m.groups[arn] = &memGroup{info: TargetGroupInfo{ARN: arn, Name: name, TargetType: "instance", LoadBalancers: []string{arn},
		DeregistrationDelay: drain}, targets: map[LBTarget]string{}}
	return arn
}

// states are a group's targets by state.
func (m *memLB) states(arn string) map[string][]LBTarget {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string][]LBTarget{}
	for t, s := range m.groups[arn].targets {
		out[s] = append(out[s], t)
	}
	return out
}

// setAll sets every target of a group in state from to state to.
func (m *memLB) setAll(arn, from, to string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for t, s := range m.groups[arn].targets {
		if s == from {
			m.groups[arn].targets[t] = to
		}
	}
}

// newLBEnv is an env whose ECS uses lb for Elastic Load Balancing.
func newLBEnv(t *testing.T, lb *memLB) *env {
	t.Helper()
	st := openStore(t)
	svc := New(Config{Region: testRegion, Account: testAccount, Endpoint: "http://127.0.0.1:1", LoadBalancing: lb}, st, api.RootOnly{}, quietLogger())
	return &env{t: t, st: st, svc: svc, ctx: api.WithPrincipal(context.Background(), rootPrincipal)}
}

func TestServiceLoadBalancerValidation(t *testing.T) {
	lb := newMemLB()
	e := newLBEnv(t, lb)
	cluster := e.cluster("lbv")
	inst := lb.group("web", "instance", 0, "arn:lb/app/web")
	ip := lb.group("web-ip", "ip", 0, "arn:lb/app/web")
	unused := lb.group("unused", "instance", 0)
	bridge := e.taskDef("lbv-web", withPorts(container("web", 0, 64), [2]int{8080, 0}))
	awsvpcTD := &TaskDefinition{NetworkMode: "awsvpc", ContainerDefinitions: []ContainerDefinition{withPorts(container("web", 0, 64), [2]int{8080, 8080})}}
	hostTD := &TaskDefinition{NetworkMode: "host", ContainerDefinitions: []ContainerDefinition{withPorts(container("web", 0, 64), [2]int{8080, 8080})}}
	one := func(arn, name string, port int) []LoadBalancer {
		return []LoadBalancer{{TargetGroupArn: arn, ContainerName: name, ContainerPort: ptr(port)}}
	}
	six := slices.Repeat(one(inst, "web", 8080), 6)
	lb.classic("clb", 0)
	staticTD := &TaskDefinition{ContainerDefinitions: []ContainerDefinition{withPorts(container("web", 0, 64), [2]int{8080, 80})}}
	classicLB := func(name string) []LoadBalancer {
		return []LoadBalancer{{LoadBalancerName: name, ContainerName: "web", ContainerPort: ptr(8080)}}
	}
	for _, tc := range []struct {
		name string
		lbs  []LoadBalancer
		td   *TaskDefinition
		want string // "" = accepted
	}{
		{"instance group, bridge", one(inst, "web", 8080), bridge, ""},
		{"instance group, host", one(inst, "web", 8080), hostTD, ""},
		{"ip group, awsvpc", one(ip, "web", 8080), awsvpcTD, ""},
		{"ip group, bridge", one(ip, "web", 8080), bridge, "The provided target group " + ip + " has target type ip, which is incompatible with the bridge network mode specified in the task definition."},
		{"instance group, awsvpc", one(inst, "web", 8080), awsvpcTD, "has target type instance, which is incompatible with the awsvpc network mode"},
		{"group without load balancer", one(unused, "web", 8080), bridge, "The target group with targetGroupArn " + unused + " does not have an associated load balancer."},
		{"unknown group", one(inst+"0", "web", 8080), bridge, "Unable to find the target group with targetGroupArn"},
		{"unknown container", one(inst, "api", 8080), bridge, "The container api does not exist in the task definition."},
		{"port not mapped", one(inst, "web", 9090), bridge, "The container web did not have a container port 9090 defined."},
		{"blank container name", one(inst, "", 8080), bridge, "Container Name can not be blank."},
		{"no port", []LoadBalancer{{TargetGroupArn: inst, ContainerName: "web"}}, bridge, "Container Port can not be blank."},
		{"classic, static host port", classicLB("clb"), staticTD, ""},
		{"classic, host", classicLB("clb"), hostTD, ""},
		{"classic, dynamic host port", classicLB("clb"), bridge, "The container web uses a dynamic host port for container port 8080; a Classic Load Balancer (clb) needs a static hostPort"},
		{"classic, awsvpc", classicLB("clb"), awsvpcTD, "Classic Load Balancers are not supported with the awsvpc network mode"},
		{"classic, unknown", classicLB("nope"), staticTD, "Unable to find the load balancer with loadBalancerName nope."},
		{"classic, port not mapped", []LoadBalancer{{LoadBalancerName: "clb", ContainerName: "web", ContainerPort: ptr(9090)}}, staticTD, "The container web did not have a container port 9090 defined."},
		{"classic and target group", []LoadBalancer{{LoadBalancerName: "clb", TargetGroupArn: inst, ContainerName: "web", ContainerPort: ptr(8080)}}, staticTD, "cannot both be specified"},
		{"neither", []LoadBalancer{{ContainerName: "web", ContainerPort: ptr(8080)}}, bridge, "Target Group Arn can not be blank."},
		{"six", six, bridge, "loadBalancers can have at most 5 items."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := e.svc.checkLoadBalancers(e.ctx, tc.lbs, tc.td)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantCode(t, err, "InvalidParameterException")
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want %q", err, tc.want)
			}
		})
	}

	// Through the API: a refused service or update writes nothing; an
	// accepted one keeps its loadBalancers.
	before := e.snapshot()
	_, err := e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: cluster, ServiceName: "bad", TaskDefinition: bridge.TaskDefinitionArn,
		DesiredCount: ptr(1), LoadBalancers: one(ip, "web", 8080)})
	wantCode(t, err, "InvalidParameterException")
	e.unchanged(before)
	out, err := e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: cluster, ServiceName: "good", TaskDefinition: bridge.TaskDefinitionArn,
		DesiredCount: ptr(1), LoadBalancers: one(inst, "web", 8080)})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Service.LoadBalancers; len(got) != 1 || got[0].TargetGroupArn != inst {
		t.Fatalf("service load balancers %+v", got)
	}
	before = e.snapshot()
	_, err = e.svc.UpdateService(e.ctx, &UpdateServiceInput{Cluster: cluster, Service: "good", LoadBalancers: one(inst, "web", 9090)})
	wantCode(t, err, "InvalidParameterException")
	e.unchanged(before)
	// A new target group is a new deployment.
	up, err := e.svc.UpdateService(e.ctx, &UpdateServiceInput{Cluster: cluster, Service: "good", LoadBalancers: append(one(inst, "web", 8080), one(lb.group("web2", "instance", 0, "arn:lb/app/web"), "web", 8080)...)})
	if err != nil {
		t.Fatal(err)
	}
	if len(up.Service.Deployments) != 2 || len(up.Service.LoadBalancers) != 2 {
		t.Fatalf("update: %d deployments, load balancers %+v", len(up.Service.Deployments), up.Service.LoadBalancers)
	}
}

// lbSched drives the scheduler and the load balancer controller by hand,
// with agents that report dynamic host ports.
type lbSched struct {
	*sched
	lb       *memLB
	nextPort int
}

// agents starts pending tasks with a new host port for container web's
// port 8080, and stops the tasks whose agent was told to stop (the
// assignment, not the desired status, is what the agent sees).
func (s *lbSched) agents() {
	s.t.Helper()
	for _, t := range s.tasks() {
		in := &SubmitTaskStateChangeInput{Cluster: s.cluster, Task: t.ID}
		switch {
		case t.Task.LastStatus == "STOPPED":
			continue
		case t.agentDesiredStatus() == "STOPPED":
			in.Status = "STOPPED"
		case t.Task.LastStatus == "PENDING" || t.Task.LastStatus == "PROVISIONING":
			s.nextPort++
			in.Status = "RUNNING"
			in.Containers = []ContainerStateChange{{ContainerName: "web", Status: "RUNNING",
				NetworkBindings: []NetworkBinding{{BindIP: "172.31.0.10", ContainerPort: ptr(8080), HostPort: ptr(s.nextPort), Protocol: "tcp"}}}}
		default:
			continue
		}
		if _, err := s.svc.SubmitTaskStateChange(s.ctx, in); err != nil {
			s.t.Fatalf("report %s %s: %v", t.ID, in.Status, err)
		}
	}
}

// step runs a scheduler pass, the agents, and a load balancer pass, then
// moves the clock by d.
func (s *lbSched) step(d time.Duration) {
	s.t.Helper()
	s.pass()
	s.agents()
	if err := s.svc.reconcileTargets(s.ctx, s.now); err != nil {
		s.t.Fatalf("load balancer pass: %v", err)
	}
	s.now = s.now.Add(d)
}

// byState are the service's tasks by last status, and whether their stop
// reached the agent.
func (s *lbSched) task(id string) taskRecord {
	s.t.Helper()
	it, err := store.Get[taskRecord](s.ctx, s.st, s.svc.keys.task(s.cluster, id))
	if err != nil {
		s.t.Fatal(err)
	}
	return it.Value
}

func (s *lbSched) assignment(t taskRecord) string {
	s.t.Helper()
	it, err := store.Get[assignment](s.ctx, s.st, s.svc.keys.assignment(t.InstanceID, t.ID))
	if errors.Is(err, store.ErrNotFound) {
		return ""
	}
	if err != nil {
		s.t.Fatal(err)
	}
	return it.Value.DesiredStatus
}

func TestServiceLoadBalancerRegistrationAndDrain(t *testing.T) {
	lb := newMemLB()
	e := newLBEnv(t, lb)
	cluster := e.cluster("lbd")
	e.instance(cluster, 4096, 4096)
	tg := lb.group("web", "instance", 10*time.Second, "arn:lb/app/web")
	v1 := e.taskDef("lbd-web", withPorts(container("web", 0, 64), [2]int{8080, 0}))
	v2 := e.taskDef("lbd-web", withPorts(container("web", 0, 64), [2]int{8080, 0}))
	s := &lbSched{sched: newSched(e, cluster), lb: lb, nextPort: 32767}
	if _, err := e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: cluster, ServiceName: "web", TaskDefinition: v1.TaskDefinitionArn,
		DesiredCount: ptr(2), LoadBalancers: []LoadBalancer{{TargetGroupArn: tg, ContainerName: "web", ContainerPort: ptr(8080)}}}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		s.step(time.Second)
	}
	// Two targets, each on the instance's EC2 id and its task's host port.
	initial := lb.states(tg)["initial"]
	ec2ID := e.describeInstance(cluster, s.tasks()[0].InstanceID).Ec2InstanceId
	if len(initial) != 2 || initial[0].ID != ec2ID || initial[1].ID != ec2ID || initial[0].Port == initial[1].Port {
		t.Fatalf("targets %+v, want two on %s with different ports", lb.states(tg), ec2ID)
	}
	for _, tk := range s.tasks() {
		if r := tk.Targets; r == nil || len(r.Registered) != 1 || r.Registered[0].TargetGroupArn != tg || r.Registered[0].ID != ec2ID {
			t.Fatalf("task %s records %+v", tk.ID, tk.Targets)
		}
	}
	// Not steady until the targets are healthy.
	for range 8 {
		s.step(time.Second)
	}
	if d := s.service("web").Deployments[0]; d.RolloutState != "IN_PROGRESS" {
		t.Fatalf("deployment %s with targets still initial", d.RolloutState)
	}
	lb.setAll(tg, "initial", "healthy")
	for range 3 {
		s.step(time.Second)
	}
	svc := s.service("web")
	if d := svc.Deployments[0]; d.RolloutState != "COMPLETED" || !hasEvent(svc, "registered 1 targets in (target-group "+tg+")") {
		t.Fatalf("deployment %s, events %+v", d.RolloutState, svc.Events)
	}
	old := map[string]bool{}
	for _, tk := range s.tasks() {
		old[tk.ID] = true
	}

	// A rolling deployment: the old tasks stay until the new targets are
	// healthy, then drain (DEACTIVATING, their agent not told) for the
	// group's deregistration delay, and only then stop.
	if _, err := e.svc.UpdateService(e.ctx, &UpdateServiceInput{Cluster: cluster, Service: "web", TaskDefinition: v2.TaskDefinitionArn}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		s.step(time.Second)
	}
	for id := range old {
		if tk := s.task(id); tk.Task.DesiredStatus != "RUNNING" {
			t.Fatalf("old task %s stopped (%s) before the new targets were healthy", id, tk.Task.LastStatus)
		}
	}
	if n := len(lb.states(tg)["initial"]); n != 2 {
		t.Fatalf("new targets %+v", lb.states(tg))
	}
	lb.setAll(tg, "initial", "healthy")
	s.step(0) // records health
	s.step(0) // stops the old tasks, held; deregisters them
	var drainUntil time.Time
	for id := range old {
		tk := s.task(id)
		if tk.Task.DesiredStatus != "STOPPED" || tk.Task.LastStatus != "DEACTIVATING" || tk.agentDesiredStatus() != "RUNNING" || s.assignment(tk) != "RUNNING" {
			t.Fatalf("old task %s: desired %s last %s, agent told %s", id, tk.Task.DesiredStatus, tk.Task.LastStatus, s.assignment(tk))
		}
		// The payload its agent gets (on a reconnect too) still says RUNNING.
		if td, err := e.svc.taskDefinitionOf(e.ctx, &tk); err != nil || e.svc.acsTask(&tk, &td).DesiredStatus != "RUNNING" {
			t.Fatalf("old task %s: the agent's payload says stop while it drains (%v)", id, err)
		}
		if tk.Targets == nil || !tk.Targets.Deregistered || tk.Targets.DrainUntil == nil {
			t.Fatalf("old task %s targets %+v", id, tk.Targets)
		}
		drainUntil = *tk.Targets.DrainUntil
	}
	if d := len(lb.states(tg)["draining"]); d != 2 {
		t.Fatalf("targets %+v, want the old two draining", lb.states(tg))
	}
	if got := drainUntil.Sub(s.now); got < 9*time.Second || got > 10*time.Second {
		t.Fatalf("drains for %v, want the group's 10s", got)
	}
	s.step(5 * time.Second)
	for id := range old {
		if tk := s.task(id); s.assignment(tk) != "RUNNING" {
			t.Fatalf("old task %s told to stop before its targets drained", id)
		}
	}
	s.now = drainUntil
	s.pass()
	if err := e.svc.reconcileTargets(e.ctx, s.now); err != nil { // releases the stops
		t.Fatal(err)
	}
	for id := range old {
		tk := s.task(id)
		td, _ := e.svc.taskDefinitionOf(e.ctx, &tk)
		if s.assignment(tk) != "STOPPED" || e.svc.acsTask(&tk, &td).DesiredStatus != "STOPPED" {
			t.Fatalf("old task %s not told to stop once drained", id)
		}
	}
	s.step(0) // the agents stop them
	for id := range old {
		if tk := s.task(id); tk.Task.LastStatus != "STOPPED" || tk.Task.StopCode != "ServiceSchedulerInitiated" {
			t.Fatalf("old task %s: %s (%s)", id, tk.Task.LastStatus, tk.Task.StopCode)
		}
	}
	for range 8 {
		s.step(time.Second)
	}
	if svc := s.service("web"); len(svc.Deployments) != 1 || svc.Deployments[0].RolloutState != "COMPLETED" {
		t.Fatalf("deployments %+v", svc.Deployments)
	}
	// The index forgets stopped, deregistered tasks.
	if keys, _ := e.st.Keys(e.ctx, e.svc.keys.lbTasks()); len(keys) != 2 {
		t.Fatalf("index %v, want the two running tasks", keys)
	}
}

func TestServiceLoadBalancerHealth(t *testing.T) {
	for _, tc := range []struct {
		name     string
		grace    int
		selfStop bool
		// replaced: the unhealthy task is stopped by the scheduler.
		replaced bool
	}{
		{name: "unhealthy after the grace period", grace: 0, replaced: true},
		{name: "unhealthy within the grace period", grace: 600},
		{name: "a task that stops by itself", grace: 600, selfStop: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lb := newMemLB()
			e := newLBEnv(t, lb)
			cluster := e.cluster("lbh")
			e.instance(cluster, 4096, 4096)
			tg := lb.group("web", "instance", 30*time.Second, "arn:lb/app/web")
			td := e.taskDef("lbh-web", withPorts(container("web", 0, 64), [2]int{8080, 0}))
			s := &lbSched{sched: newSched(e, cluster), lb: lb, nextPort: 40000}
			if _, err := e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: cluster, ServiceName: "web", TaskDefinition: td.TaskDefinitionArn,
				DesiredCount: ptr(1), HealthCheckGracePeriodSeconds: ptr(tc.grace),
				LoadBalancers: []LoadBalancer{{TargetGroupArn: tg, ContainerName: "web", ContainerPort: ptr(8080)}}}); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				s.step(time.Second)
			}
			first := s.tasks()[0]
			if tc.selfStop {
				if _, err := e.svc.SubmitTaskStateChange(e.ctx, &SubmitTaskStateChangeInput{Cluster: cluster, Task: first.ID, Status: "STOPPED",
					Containers: []ContainerStateChange{{ContainerName: "web", Status: "STOPPED", ExitCode: ptr(1)}}}); err != nil {
					t.Fatal(err)
				}
				s.step(0)
				tk := s.task(first.ID)
				if !tk.Targets.Deregistered || tk.Targets.Held || len(lb.states(tg)["draining"]) != 1 {
					t.Fatalf("stopped task's targets %+v, group %+v", tk.Targets, lb.states(tg))
				}
				return
			}
			lb.setAll(tg, "initial", "unhealthy")
			s.step(time.Second)
			s.step(time.Second)
			tk := s.task(first.ID)
			svc := s.service("web")
			if !tc.replaced {
				if tk.Task.DesiredStatus != "RUNNING" {
					t.Fatalf("task stopped within the grace period: %s", tk.Task.StoppedReason)
				}
				return
			}
			want := "(service web) (task " + first.ID + ") (instance " + e.describeInstance(cluster, first.InstanceID).Ec2InstanceId + ") (port 40001) is unhealthy in (target-group " + tg + ") due to (reason Health checks failed with these codes: [502])."
			if !hasEvent(svc, want) {
				t.Fatalf("events %+v, want %q", svc.Events, want)
			}
			if tk.Task.DesiredStatus != "STOPPED" || tk.Task.StoppedReason != "Task failed ELB health checks in (target-group "+tg+")" || !tk.Targets.Held {
				t.Fatalf("unhealthy task: desired %s, reason %q, targets %+v", tk.Task.DesiredStatus, tk.Task.StoppedReason, tk.Targets)
			}
			// Its replacement starts while it drains.
			s.step(time.Second)
			s.step(time.Second)
			running := 0
			for _, x := range s.tasks() {
				if x.Task.DesiredStatus == "RUNNING" {
					running++
				}
			}
			if running != 1 {
				t.Fatalf("%d replacement tasks", running)
			}
		})
	}
}

func TestWantTargets(t *testing.T) {
	lbs := []LoadBalancer{{TargetGroupArn: "tg-a", ContainerName: "web", ContainerPort: ptr(8080)}}
	bound := func(name string, container, host int, proto string) Container {
		return Container{Name: name, NetworkBindings: []NetworkBinding{{ContainerPort: ptr(container), HostPort: ptr(host), Protocol: proto}}}
	}
	for _, tc := range []struct {
		name       string
		containers []Container
		iface      *taskInterface
		ec2ID      string
		want       []taskTarget // nil: not ready
	}{
		{"dynamic host port", []Container{bound("web", 8080, 32781, "tcp")}, nil, "i-1", []taskTarget{{"tg-a", LBTarget{"i-1", 32781}}}},
		{"other container's binding", []Container{bound("sidecar", 8080, 32781, "tcp"), bound("web", 8080, 32790, "")}, nil, "i-1", []taskTarget{{"tg-a", LBTarget{"i-1", 32790}}}},
		{"udp binding only", []Container{bound("web", 8080, 32781, "udp")}, nil, "i-1", nil},
		{"no binding yet", []Container{{Name: "web"}}, nil, "i-1", nil},
		{"awsvpc: the interface's address", []Container{{Name: "web"}}, &taskInterface{IP: "172.31.0.9"}, "", []taskTarget{{"tg-a", LBTarget{"172.31.0.9", 8080}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &taskRecord{Task: Task{Containers: tc.containers}, Interface: tc.iface}
			got, ok := wantTargets(rec, lbs, tc.ec2ID)
			if ok != (tc.want != nil) || !slices.Equal(got, tc.want) {
				t.Fatalf("wantTargets = %+v %v, want %+v", got, ok, tc.want)
			}
		})
	}
}

// A target group deleted under a service: registration fails, is said
// once in the events and tried again at every pass.
func TestServiceLoadBalancerRegistrationFails(t *testing.T) {
	lb := newMemLB()
	e := newLBEnv(t, lb)
	cluster := e.cluster("lbf")
	e.instance(cluster, 4096, 4096)
	tg := lb.group("web", "instance", 0, "arn:lb/app/web")
	td := e.taskDef("lbf-web", withPorts(container("web", 0, 64), [2]int{8080, 0}))
	s := &lbSched{sched: newSched(e, cluster), lb: lb, nextPort: 41000}
	if _, err := e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: cluster, ServiceName: "web", TaskDefinition: td.TaskDefinitionArn,
		DesiredCount: ptr(1), LoadBalancers: []LoadBalancer{{TargetGroupArn: tg, ContainerName: "web", ContainerPort: ptr(8080)}}}); err != nil {
		t.Fatal(err)
	}
	lb.mu.Lock()
	delete(lb.groups, tg)
	lb.mu.Unlock()
	for range 5 {
		s.step(time.Second)
	}
	n := 0
	for _, ev := range s.service("web").Events {
		if strings.Contains(ev.Message, "(service web) failed to register targets in (target-group "+tg+") with (error Target groups") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d failure events: %+v", n, s.service("web").Events)
	}
	if tk := s.tasks()[0]; tk.Targets != nil {
		t.Fatalf("targets recorded: %+v", tk.Targets)
	}
	// The group back: the task is registered.
	lb.group("web", "instance", 0, "arn:lb/app/web")
	s.step(time.Second)
	if tk := s.tasks()[0]; !tk.Targets.registered() {
		t.Fatalf("not registered once the group is back: %+v", tk.Targets)
	}
}

// TestServiceClassicLoadBalancer: a service naming a Classic load
// balancer registers its task's instance with it (the target the pass
// records is the instance and the task's host port), counts the task
// healthy once the instance is, says so in ECS's words for Classic, and
// deregisters the instance when the task stops.
func TestServiceClassicLoadBalancer(t *testing.T) {
	lb := newMemLB()
	e := newLBEnv(t, lb)
	cluster := e.cluster("clb")
	e.instance(cluster, 4096, 4096)
	clb := lb.classic("web-clb", 0)
	td := e.taskDef("clb-web", withPorts(container("web", 0, 64), [2]int{8080, 8080}))
	s := &lbSched{sched: newSched(e, cluster), lb: lb, nextPort: 8079}
	if _, err := e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: cluster, ServiceName: "web", TaskDefinition: td.TaskDefinitionArn,
		DesiredCount: ptr(1), LoadBalancers: []LoadBalancer{{LoadBalancerName: "web-clb", ContainerName: "web", ContainerPort: ptr(8080)}}}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		s.step(time.Second)
	}
	ec2ID := e.describeInstance(cluster, s.tasks()[0].InstanceID).Ec2InstanceId
	if initial := lb.states(clb)["initial"]; len(initial) != 1 || initial[0] != (LBTarget{ID: ec2ID, Port: 8080}) {
		t.Fatalf("registered %+v, want %s at 8080", lb.states(clb), ec2ID)
	}
	if d := s.service("web").Deployments[0]; d.RolloutState != "IN_PROGRESS" {
		t.Fatalf("deployment %s before the instance is healthy", d.RolloutState)
	}
	lb.setAll(clb, "initial", "healthy")
	for range 10 {
		s.step(time.Second)
	}
	svc := s.service("web")
	if d := svc.Deployments[0]; d.RolloutState != "COMPLETED" || !hasEvent(svc, "(service web) registered 1 instances in (elb web-clb)") {
		t.Fatalf("deployment %s, events %+v", d.RolloutState, svc.Events)
	}
	// Scaled to zero, the task's instance is deregistered before it stops.
	if _, err := e.svc.UpdateService(e.ctx, &UpdateServiceInput{Cluster: cluster, Service: "web", DesiredCount: ptr(0)}); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		s.step(time.Second)
	}
	if d := lb.states(clb)["draining"]; len(d) != 1 || d[0].ID != ec2ID {
		t.Fatalf("targets %+v, want the instance deregistered", lb.states(clb))
	}
	if svc := s.service("web"); !hasEvent(svc, "(service web) deregistered 1 instances in (elb web-clb)") {
		t.Fatalf("events %+v", svc.Events)
	}
}
