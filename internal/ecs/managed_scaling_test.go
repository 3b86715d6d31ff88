package ecs

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/autoscaling"
)

// memScaler is an in-memory Auto Scaling with groups that have a size:
// launch brings a group's instances to its desired capacity (and
// registers them with a cluster), shrink removes unprotected ones above
// it, as the group controller does.
type memScaler struct {
	*memAutoScaling
	mu     sync.Mutex
	groups map[string]*autoscaling.GroupCapacity // by ARN
	next   int
}

var _ GroupScaler = (*memScaler)(nil)

func (m *memScaler) Capacity(_ context.Context, arn string) (autoscaling.GroupCapacity, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g, ok := m.groups[arn]
	if !ok {
		return autoscaling.GroupCapacity{}, false, nil
	}
	out := *g
	out.Instances = slices.Clone(g.Instances)
	return out, true, nil
}

func (m *memScaler) byName(name string) *autoscaling.GroupCapacity {
	for _, g := range m.groups {
		if g.Name == name {
			return g
		}
	}
	return nil
}

func (m *memScaler) SetDesired(_ context.Context, group string, n int, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.byName(group)
	g.Desired = max(g.Min, min(n, g.Max))
	return nil
}

func (m *memScaler) SetProtection(_ context.Context, group string, ids []string, protected bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.byName(group)
	for i := range g.Instances {
		if slices.Contains(ids, g.Instances[i].ID) {
			g.Instances[i].Protected = protected
		}
	}
	return nil
}

func (m *memScaler) desired(group string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.byName(group).Desired
}

// launch brings the group to its desired capacity with instances that
// register with cluster at once.
func (m *memScaler) launch(e *env, group, cluster string) {
	m.mu.Lock()
	g := m.byName(group)
	var added []string
	for len(g.Instances) < g.Desired {
		m.next++
		id := fmt.Sprintf("i-%017d", m.next)
		g.Instances = append(g.Instances, autoscaling.GroupInstance{ID: id, State: "InService", Launched: time.Now().Add(-time.Hour)})
		added = append(added, id)
	}
	m.mu.Unlock()
	for _, id := range added {
		m.join(group, id)
		e.ec2Instance(cluster, id, 2048, 4096) // t3.medium
	}
}

// shrink removes unprotected instances while the group is above its
// desired capacity, and returns them.
func (m *memScaler) shrink(group string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.byName(group)
	var gone []string
	g.Instances = slices.DeleteFunc(g.Instances, func(gi autoscaling.GroupInstance) bool {
		if len(g.Instances)-len(gone) > g.Desired && !gi.Protected {
			gone = append(gone, gi.ID)
			return true
		}
		return false
	})
	return gone
}

// TestClusterAutoScaling is the service scenario on the control
// plane: 20 tasks of 512 MiB on an empty cluster whose default provider
// scales a group of t3.medium (max 6): the tasks wait in PROVISIONING,
// the group is asked for the 3 instances they need, the tasks run there
// once they join, the instances that run tasks are protected; at 2 tasks
// the group shrinks to the instances that still run one, and only empty
// instances lose their protection.
func TestClusterAutoScaling(t *testing.T) {
	defer func(d time.Duration) { ScaleInAfter = d }(ScaleInAfter)
	ScaleInAfter = 0
	e, asg := cpEnv(t, "asg")
	sc := &memScaler{memAutoScaling: asg, groups: map[string]*autoscaling.GroupCapacity{asgARN("asg"): {Name: "asg", Max: 6, InstanceType: "t3.medium"}}}
	e.svc.cfg.AutoScaling = sc
	must[*CapacityProviderOutput](t)(e.svc.CreateCapacityProvider(e.ctx, &CreateCapacityProviderInput{Name: "cp",
		AutoScalingGroupProvider: &AutoScalingGroupProvider{AutoScalingGroupArn: "asg", ManagedTerminationProtection: "ENABLED",
			ManagedScaling: &ManagedScaling{Status: "ENABLED", TargetCapacity: ptr(100)}}}))
	e.cluster("cas")
	e.associate("cas", []string{"cp"}, []CapacityProviderStrategyItem{{CapacityProvider: "cp", Weight: 1}})
	e.simpleTaskDef("web", 256, 512)
	must[*ServiceOutput](t)(e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: "cas", ServiceName: "web", TaskDefinition: "web", DesiredCount: ptr(20)}))
	s := newSched(e, "cas")
	s.pass()
	byStatus := func() map[string]int {
		counts := map[string]int{}
		for _, tk := range s.tasks() {
			if tk.Task.DesiredStatus == "RUNNING" {
				counts[tk.Task.LastStatus]++
				if tk.Task.CapacityProviderName != "cp" {
					t.Fatalf("task %s of provider %q", tk.ID, tk.Task.CapacityProviderName)
				}
			}
		}
		return counts
	}
	if got := byStatus(); got["PROVISIONING"] != 20 {
		t.Fatalf("tasks on an empty cluster: %v, want 20 PROVISIONING", got)
	}
	st := &scalingState{lowSince: map[string]time.Time{}}
	pass := func() {
		t.Helper()
		if err := e.svc.managedScalingPass(e.ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	pass()
	if d := sc.desired("asg"); d != 3 {
		t.Fatalf("desired capacity %d, want 3 t3.medium for 20 × 512 MiB", d)
	}
	cps := must[*DescribeCapacityProvidersOutput](t)(e.svc.DescribeCapacityProviders(e.ctx, &DescribeCapacityProvidersInput{CapacityProviders: []string{"cp"}}))
	if got := cps.CapacityProviders[0].UpdateStatusReason; got != "CapacityProviderReservation 200 (target 100)" {
		t.Fatalf("the provider's status reason %q, want the metric (200 for an empty group that needs instances)", got)
	}
	pass() // nothing joined yet: no more than that
	if d := sc.desired("asg"); d != 3 {
		t.Fatalf("desired capacity %d on a second pass, want 3", d)
	}
	sc.launch(e, "asg", "cas")
	pass()
	if got := byStatus(); got["PENDING"] != 20 {
		t.Fatalf("tasks once 3 instances joined: %v, want 20 placed", got)
	}
	e.checkNoOvercommit("cas")
	g, _, _ := sc.Capacity(e.ctx, asgARN("asg"))
	for _, gi := range g.Instances {
		if !gi.Protected {
			t.Fatalf("instance %s runs tasks and is not protected", gi.ID)
		}
	}

	// Down to 2 tasks: the instances that still run one stay.
	must[*ServiceOutput](t)(e.svc.UpdateService(e.ctx, &UpdateServiceInput{Cluster: "cas", Service: "web", DesiredCount: ptr(2)}))
	s.pass()
	hosts := map[string]bool{}
	for _, tk := range s.tasks() {
		if tk.Task.DesiredStatus == "STOPPED" {
			if err := e.svc.markStopped(e.ctx, e.svc.keys.task("cas", tk.ID), "ServiceSchedulerInitiated", "scaled in"); err != nil {
				t.Fatal(err)
			}
			continue
		}
		hosts[tk.Task.ContainerInstanceArn] = true
	}
	pass() // below target: noted
	pass() // still below: scale in
	if d := sc.desired("asg"); d != len(hosts) {
		t.Fatalf("desired capacity %d, want %d (the instances running the 2 tasks)", d, len(hosts))
	}
	ec2Of := map[string]string{}
	for _, it := range must[*ListContainerInstancesOutput](t)(e.svc.ListContainerInstances(e.ctx, &ListContainerInstancesInput{Cluster: "cas"})).ContainerInstanceArns {
		ec2Of[e.describeInstance("cas", it).Ec2InstanceId] = it
	}
	for _, id := range sc.shrink("asg") {
		if hosts[ec2Of[id]] {
			t.Fatalf("the group removed %s, which runs a task", id)
		}
	}
	if got := byStatus(); got["PENDING"] != 2 {
		t.Fatalf("tasks after scale-in: %v", got)
	}
}

// TestProvisioningTimesOut: a task no instance of its group could run
// waits, asks for no instance, and stops after ProvisioningTimeout.
func TestProvisioningTimesOut(t *testing.T) {
	e, asg := cpEnv(t, "asg")
	sc := &memScaler{memAutoScaling: asg, groups: map[string]*autoscaling.GroupCapacity{asgARN("asg"): {Name: "asg", Max: 6, InstanceType: "t3.medium"}}}
	e.svc.cfg.AutoScaling = sc
	must[*CapacityProviderOutput](t)(e.svc.CreateCapacityProvider(e.ctx, &CreateCapacityProviderInput{Name: "cp",
		AutoScalingGroupProvider: &AutoScalingGroupProvider{AutoScalingGroupArn: "asg", ManagedScaling: &ManagedScaling{Status: "ENABLED"}}}))
	e.cluster("cas")
	e.associate("cas", []string{"cp"}, []CapacityProviderStrategyItem{{CapacityProvider: "cp", Weight: 1}})
	e.simpleTaskDef("huge", 256, 8192) // more than a t3.medium has
	out := e.run("cas", "huge", 1)
	if len(out.Tasks) != 1 || out.Tasks[0].LastStatus != "PROVISIONING" || out.Tasks[0].ContainerInstanceArn != "" {
		t.Fatalf("RunTask %+v", out)
	}
	st := &scalingState{lowSince: map[string]time.Time{}}
	if err := e.svc.managedScalingPass(e.ctx, st); err != nil {
		t.Fatal(err)
	}
	if d := sc.desired("asg"); d != 0 {
		t.Fatalf("desired capacity %d for a task no instance can run", d)
	}
	defer func(d time.Duration) { ProvisioningTimeout = d }(ProvisioningTimeout)
	ProvisioningTimeout = 0
	if err := e.svc.managedScalingPass(e.ctx, st); err != nil {
		t.Fatal(err)
	}
	if tk := e.describeTask("cas", out.Tasks[0].TaskArn); tk.LastStatus != "STOPPED" || tk.StopCode != "TaskFailedToStart" {
		t.Fatalf("after the timeout: %s %s %q", tk.LastStatus, tk.StopCode, tk.StoppedReason)
	}
}

// TestBinsFor: first-fit by decreasing memory, within CPU too; a task
// larger than an instance needs none.
func TestBinsFor(t *testing.T) {
	r := func(cpu, mem int) reservation { return reservation{CPU: cpu, Memory: mem} }
	for _, tc := range []struct {
		name  string
		tasks []reservation
		want  int
	}{
		{"none", nil, 0},
		{"20 × 512 MiB on 4 GiB", slices.Repeat([]reservation{r(0, 512)}, 20), 3},
		{"CPU bound", slices.Repeat([]reservation{r(1024, 128)}, 5), 3},
		{"decreasing memory packs tighter", []reservation{r(0, 1024), r(0, 3072), r(0, 2048), r(0, 2048)}, 2},
		{"too large", []reservation{r(0, 8192), r(0, 512)}, 1},
	} {
		if got := binsFor(tc.tasks, 2048, 4096); got != tc.want {
			t.Errorf("%s: %d instances, want %d", tc.name, got, tc.want)
		}
	}
}

// TestManagedDraining: before scale-in ends an instance, ECS drains it
// when its provider has managed draining, and lets it go once no task but
// a daemon's is left; without managed draining it lets it go at once.
func TestManagedDraining(t *testing.T) {
	e, asg := cpEnv(t, "asg-d", "asg-n")
	for _, p := range []struct{ name, group, draining string }{{"cp-d", "asg-d", "ENABLED"}, {"cp-n", "asg-n", "DISABLED"}} {
		must[*CapacityProviderOutput](t)(e.svc.CreateCapacityProvider(e.ctx, &CreateCapacityProviderInput{Name: p.name,
			AutoScalingGroupProvider: &AutoScalingGroupProvider{AutoScalingGroupArn: p.group, ManagedDraining: p.draining}}))
	}
	e.cluster("md")
	e.associate("md", []string{"cp-d", "cp-n"}, nil)
	asg.join("asg-d", "i-0d0000000000000d1")
	asg.join("asg-n", "i-0e0000000000000e1")
	drained := e.ec2Instance("md", "i-0d0000000000000d1", 2048, 4096)
	e.ec2Instance("md", "i-0e0000000000000e1", 2048, 4096)
	e.simpleTaskDef("web", 128, 128)
	out := must[*RunTaskOutput](t)(e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: "md", TaskDefinition: "web", Count: ptr(1),
		CapacityProviderStrategy: []CapacityProviderStrategyItem{{CapacityProvider: "cp-d", Weight: 1}}}))
	if len(out.Tasks) != 1 {
		t.Fatalf("RunTask %+v", out)
	}
	if ok := must[bool](t)(e.svc.DrainBeforeTermination(e.ctx, "i-0e0000000000000e1")); !ok {
		t.Fatal("an instance of a provider without managed draining was held")
	}
	if ok := must[bool](t)(e.svc.DrainBeforeTermination(e.ctx, "i-0d0000000000000d1")); ok {
		t.Fatal("an instance running a task was let go")
	}
	if st := e.describeInstance("md", drained.ContainerInstanceArn).Status; st != "DRAINING" {
		t.Fatalf("instance is %s, want DRAINING", st)
	}
	if ok := must[bool](t)(e.svc.DrainBeforeTermination(e.ctx, "i-0d0000000000000d1")); ok {
		t.Fatal("let go while its task runs")
	}
	if err := e.svc.markStopped(e.ctx, e.svc.keys.task("md", lastSegment(out.Tasks[0].TaskArn)), "UserInitiated", "done"); err != nil {
		t.Fatal(err)
	}
	if ok := must[bool](t)(e.svc.DrainBeforeTermination(e.ctx, "i-0d0000000000000d1")); !ok {
		t.Fatal("held after its last task stopped")
	}
	if ok := must[bool](t)(e.svc.DrainBeforeTermination(e.ctx, "i-00000000000000000")); !ok {
		t.Fatal("an instance ECS does not know was held")
	}
}
