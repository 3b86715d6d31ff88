package ecs

import (
	"fmt"
	"testing"

	"github.com/berth-dev/berth/internal/api"
)

// providerCluster is a cluster with providers cp-a and cp-b over groups
// asg-a and asg-b, two instances in each group and one in no group.
func providerCluster(t *testing.T, def []CapacityProviderStrategyItem) (*env, map[string]string) {
	e, asg := cpEnv(t, "asg-a", "asg-b")
	e.provider("cp-a", "asg-a")
	e.provider("cp-b", "asg-b")
	e.cluster("cp")
	e.associate("cp", []string{"cp-a", "cp-b"}, def)
	providerOf := map[string]string{} // container instance ARN -> provider
	for _, in := range []struct{ id, group string }{
		{"i-0a0000000000000a1", "asg-a"}, {"i-0a0000000000000a2", "asg-a"},
		{"i-0b0000000000000b1", "asg-b"}, {"i-0b0000000000000b2", "asg-b"},
		{"i-0c0000000000000c1", ""},
	} {
		if in.group != "" {
			asg.join(in.group, in.id)
		}
		ci := e.ec2Instance("cp", in.id, 4096, 4096)
		if d := e.describeInstance("cp", ci.ContainerInstanceArn); d.CapacityProviderName != ci.CapacityProviderName {
			t.Fatalf("described with provider %q, registered with %q", d.CapacityProviderName, ci.CapacityProviderName)
		}
		providerOf[ci.ContainerInstanceArn] = ci.CapacityProviderName
	}
	e.simpleTaskDef("web", 64, 64)
	return e, providerOf
}

func TestInstancesJoinTheirGroupsProvider(t *testing.T) {
	_, providerOf := providerCluster(t, nil)
	counts := map[string]int{}
	for _, p := range providerOf {
		counts[p]++
	}
	if counts["cp-a"] != 2 || counts["cp-b"] != 2 || counts[""] != 1 {
		t.Fatalf("instances by provider %v", counts)
	}
}

func TestRunTaskWithStrategy(t *testing.T) {
	e, providerOf := providerCluster(t, nil)
	run := func(in RunTaskInput) (*RunTaskOutput, error) {
		in.Cluster, in.TaskDefinition = "cp", "web"
		return e.svc.RunTask(e.ctx, &in)
	}
	out := must[*RunTaskOutput](t)(run(RunTaskInput{Count: ptr(6), CapacityProviderStrategy: []CapacityProviderStrategyItem{
		{CapacityProvider: "cp-a", Base: 2, Weight: 1}, {CapacityProvider: "cp-b", Weight: 1}}}))
	if len(out.Tasks) != 6 || len(out.Failures) != 0 {
		t.Fatalf("RunTask %+v", out)
	}
	counts := map[string]int{}
	for _, task := range out.Tasks {
		if task.CapacityProviderName != providerOf[task.ContainerInstanceArn] {
			t.Fatalf("task of %s on an instance of %q", task.CapacityProviderName, providerOf[task.ContainerInstanceArn])
		}
		counts[task.CapacityProviderName]++
		if d := e.describeTask("cp", task.TaskArn); d.CapacityProviderName != task.CapacityProviderName || d.LaunchType != "EC2" {
			t.Fatalf("described %s %s", d.CapacityProviderName, d.LaunchType)
		}
	}
	if counts["cp-a"] != 4 || counts["cp-b"] != 2 {
		t.Fatalf("tasks by provider %v, want base 2 on cp-a then 1:1", counts)
	}
	e.checkNoOvercommit("cp")
	// A retry with the same client token gets the same tasks back.
	tokened := RunTaskInput{Count: ptr(3), ClientToken: "tok-1", CapacityProviderStrategy: []CapacityProviderStrategyItem{{CapacityProvider: "cp-a", Weight: 1}, {CapacityProvider: "cp-b", Weight: 1}}}
	first := must[*RunTaskOutput](t)(run(tokened))
	again := must[*RunTaskOutput](t)(run(tokened))
	if len(first.Tasks) != 3 || fmt.Sprint(taskArns(first.Tasks)) != fmt.Sprint(taskArns(again.Tasks)) {
		t.Fatalf("token replay: %v then %v", taskArns(first.Tasks), taskArns(again.Tasks))
	}
	// Providers whose tasks still run cannot leave the cluster.
	e.rejected("ResourceInUseException", func() error {
		_, err := e.svc.PutClusterCapacityProviders(e.ctx, &PutClusterCapacityProvidersInput{Cluster: "cp", CapacityProviders: []string{"cp-a"}, DefaultCapacityProviderStrategy: []CapacityProviderStrategyItem{}})
		return err
	})

	for _, tc := range []struct {
		name string
		in   RunTaskInput
	}{
		{"launch type and strategy", RunTaskInput{LaunchType: "EC2", CapacityProviderStrategy: []CapacityProviderStrategyItem{{CapacityProvider: "cp-a", Weight: 1}}}},
		{"provider not associated", RunTaskInput{CapacityProviderStrategy: []CapacityProviderStrategyItem{{CapacityProvider: "cp-z", Weight: 1}}}},
		{"all weights zero", RunTaskInput{CapacityProviderStrategy: []CapacityProviderStrategyItem{{CapacityProvider: "cp-a"}, {CapacityProvider: "cp-b"}}}},
		{"two bases", RunTaskInput{CapacityProviderStrategy: []CapacityProviderStrategyItem{{CapacityProvider: "cp-a", Base: 1, Weight: 1}, {CapacityProvider: "cp-b", Base: 1}}}},
		{"negative weight", RunTaskInput{CapacityProviderStrategy: []CapacityProviderStrategyItem{{CapacityProvider: "cp-a", Weight: -1}}}},
		{"StartTask", RunTaskInput{ContainerInstances: []string{"x"}, CapacityProviderStrategy: []CapacityProviderStrategyItem{{CapacityProvider: "cp-a", Weight: 1}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.with(t).rejected("InvalidParameterException", func() error {
				in := tc.in
				if len(in.ContainerInstances) > 0 {
					in.Cluster, in.TaskDefinition = "cp", "web"
					_, err := e.svc.StartTask(e.ctx, &in)
					return err
				}
				_, err := run(in)
				return err
			})
		})
	}
}

func TestRunTaskUsesDefaultStrategy(t *testing.T) {
	e, providerOf := providerCluster(t, []CapacityProviderStrategyItem{{CapacityProvider: "cp-b", Weight: 1}})
	out := e.run("cp", "web", 4)
	for _, task := range out.Tasks {
		if task.CapacityProviderName != "cp-b" || providerOf[task.ContainerInstanceArn] != "cp-b" {
			t.Fatalf("task of %q on an instance of %q, want cp-b's", task.CapacityProviderName, providerOf[task.ContainerInstanceArn])
		}
	}
	// A launch type bypasses the default strategy.
	out = must[*RunTaskOutput](t)(e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: "cp", TaskDefinition: "web", LaunchType: "EC2", Count: ptr(1)}))
	if len(out.Tasks) != 1 || out.Tasks[0].CapacityProviderName != "" {
		t.Fatalf("launch type EC2: %+v", out.Tasks)
	}
}

func TestStrategyPlacesOnlyOnItsProvidersInstances(t *testing.T) {
	e, providerOf := providerCluster(t, nil)
	// Each instance has room for two of these; cp-a's two instances take four.
	e.simpleTaskDef("big", 2048, 2048)
	strategy := []CapacityProviderStrategyItem{{CapacityProvider: "cp-a", Weight: 1}}
	out := must[*RunTaskOutput](t)(e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: "cp", TaskDefinition: "big", Count: ptr(4), CapacityProviderStrategy: strategy}))
	if len(out.Tasks) != 4 {
		t.Fatalf("placed %d: %+v", len(out.Tasks), out.Failures)
	}
	for _, task := range out.Tasks {
		if providerOf[task.ContainerInstanceArn] != "cp-a" {
			t.Fatalf("placed on an instance of %q", providerOf[task.ContainerInstanceArn])
		}
	}
	// cp-a is full though cp-b and the ungrouped instance have room.
	out = must[*RunTaskOutput](t)(e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: "cp", TaskDefinition: "big", CapacityProviderStrategy: strategy}))
	if len(out.Tasks) != 0 || len(out.Failures) == 0 {
		t.Fatalf("full provider: %+v", out)
	}
	for _, f := range out.Failures {
		if providerOf[f.Arn] != "cp-a" || f.Reason != "RESOURCE:CPU" {
			t.Fatalf("failure %+v", f)
		}
	}
	e.checkNoOvercommit("cp")
}

func TestStrategyProviderWithoutInstances(t *testing.T) {
	e, asg := cpEnv(t, "asg-a", "asg-empty")
	e.provider("cp-a", "asg-a")
	e.provider("cp-empty", "asg-empty")
	e.cluster("cp")
	e.associate("cp", []string{"cp-a", "cp-empty"}, nil)
	asg.join("asg-a", "i-0a0000000000000a1")
	e.ec2Instance("cp", "i-0a0000000000000a1", 4096, 4096)
	e.simpleTaskDef("web", 64, 64)
	out := must[*RunTaskOutput](t)(e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: "cp", TaskDefinition: "web",
		CapacityProviderStrategy: []CapacityProviderStrategyItem{{CapacityProvider: "cp-empty", Weight: 1}}}))
	if len(out.Tasks) != 0 || len(out.Failures) != 1 || out.Failures[0].Arn != arn("capacity-provider/cp-empty") {
		t.Fatalf("RunTask %+v", out)
	}
}

func TestServiceWithStrategy(t *testing.T) {
	e, providerOf := providerCluster(t, []CapacityProviderStrategyItem{{CapacityProvider: "cp-a", Weight: 1}})
	strategy := []CapacityProviderStrategyItem{{CapacityProvider: "cp-a", Base: 1, Weight: 1}, {CapacityProvider: "cp-b", Weight: 2}}
	svc := must[*ServiceOutput](t)(e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: "cp", ServiceName: "api", TaskDefinition: "web",
		DesiredCount: ptr(7), CapacityProviderStrategy: strategy})).Service
	if svc.LaunchType != "" || len(svc.CapacityProviderStrategy) != 2 || svc.Deployments[0].LaunchType != "" {
		t.Fatalf("service %s %+v", svc.LaunchType, svc.CapacityProviderStrategy)
	}
	// Without launch type or strategy a service takes the cluster's default.
	def := must[*ServiceOutput](t)(e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: "cp", ServiceName: "def", TaskDefinition: "web", DesiredCount: ptr(0)})).Service
	if len(def.CapacityProviderStrategy) != 1 || def.CapacityProviderStrategy[0].CapacityProvider != "cp-a" {
		t.Fatalf("default strategy %+v", def.CapacityProviderStrategy)
	}
	// A daemon takes no strategy: it runs on every instance.
	daemon := must[*ServiceOutput](t)(e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: "cp", ServiceName: "agent", TaskDefinition: "web", SchedulingStrategy: "DAEMON"})).Service
	if daemon.LaunchType != "EC2" || len(daemon.CapacityProviderStrategy) != 0 {
		t.Fatalf("daemon %s %+v", daemon.LaunchType, daemon.CapacityProviderStrategy)
	}
	s := newSched(e, "cp")
	s.pass()
	daemons := 0
	for _, task := range s.tasks() {
		if task.Task.Group == "service:agent" {
			daemons++
		}
	}
	if daemons != 5 {
		t.Fatalf("%d daemon tasks, want one on each of 5 instances", daemons)
	}
	counts := map[string]int{}
	for _, task := range s.tasks() {
		if task.Task.Group != "service:api" {
			continue
		}
		if providerOf[task.Task.ContainerInstanceArn] != task.Task.CapacityProviderName {
			t.Fatalf("task of %s on an instance of %q", task.Task.CapacityProviderName, providerOf[task.Task.ContainerInstanceArn])
		}
		counts[task.Task.CapacityProviderName]++
	}
	if counts["cp-a"] != 3 || counts["cp-b"] != 4 {
		t.Fatalf("service tasks by provider %v, want cp-a 1+2, cp-b 4", counts)
	}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"update to unassociated provider", func() error {
			_, err := e.svc.UpdateService(e.ctx, &UpdateServiceInput{Cluster: "cp", Service: "api", CapacityProviderStrategy: []CapacityProviderStrategyItem{{CapacityProvider: "nope", Weight: 1}}})
			return err
		}},
		{"create with launch type and strategy", func() error {
			_, err := e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: "cp", ServiceName: "x", TaskDefinition: "web", DesiredCount: ptr(1), LaunchType: "EC2", CapacityProviderStrategy: strategy})
			return err
		}},
		{"daemon with strategy", func() error {
			_, err := e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: "cp", ServiceName: "x", TaskDefinition: "web", SchedulingStrategy: "DAEMON", CapacityProviderStrategy: strategy})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { e.with(t).rejected("InvalidParameterException", tc.call) })
	}
	up := must[*ServiceOutput](t)(e.svc.UpdateService(e.ctx, &UpdateServiceInput{Cluster: "cp", Service: "api", CapacityProviderStrategy: []CapacityProviderStrategyItem{{CapacityProvider: "cp-b", Weight: 1}}})).Service
	if len(up.CapacityProviderStrategy) != 1 || up.Deployments[0].CapacityProviderStrategy[0].CapacityProvider != "cp-b" || len(up.Deployments) != 2 {
		t.Fatalf("updated %+v %+v", up.CapacityProviderStrategy, up.Deployments)
	}
}

// FuzzShareTasks checks the split of tasks across an accepted strategy:
// every task goes to a provider of the strategy, the provider with a base
// gets its base first, and with several providers one of weight 0 gets no
// more than its base.
func FuzzShareTasks(f *testing.F) {
	for _, s := range []string{
		`[{"capacityProvider":"a","base":2,"weight":1},{"capacityProvider":"b","weight":1}]`,
		`[{"capacityProvider":"a","weight":1},{"capacityProvider":"b","weight":4}]`,
		`[{"capacityProvider":"a","base":3},{"capacityProvider":"b","weight":1000}]`,
		`[{"capacityProvider":"a"}]`,
		`[{"capacityProvider":"a","weight":-1}]`,
		`[{"capacityProvider":"a","base":1},{"capacityProvider":"b","base":1,"weight":1}]`,
	} {
		f.Add([]byte(s), uint8(10))
	}
	f.Fuzz(func(t *testing.T, body []byte, n uint8) {
		var strategy []CapacityProviderStrategyItem
		if err := api.Decode(body, &strategy); err != nil || len(strategy) == 0 {
			return
		}
		cluster := &clusterRecord{}
		for _, it := range strategy {
			cluster.CapacityProviders = append(cluster.CapacityProviders, it.CapacityProvider)
		}
		if err := checkStrategyFor(cluster, strategy); err != nil {
			wantClientError(t, err)
			return
		}
		got := map[string]int{}
		total := 0
		for _, sh := range shareTasks(strategy, int(n), nil) {
			got[sh.provider] += sh.count
			total += sh.count
		}
		if total != int(n) {
			t.Fatalf("shared %d tasks of %d", total, n)
		}
		for _, it := range strategy {
			if c := got[it.CapacityProvider]; c < min(it.Base, int(n)) {
				t.Fatalf("%s got %d tasks, below its base %d", it.CapacityProvider, c, it.Base)
			}
			if len(strategy) > 1 && it.Weight == 0 && got[it.CapacityProvider] > it.Base {
				t.Fatalf("%s of weight 0 got %d tasks beyond its base %d", it.CapacityProvider, got[it.CapacityProvider], it.Base)
			}
			delete(got, it.CapacityProvider)
		}
		if len(got) > 0 {
			t.Fatalf("tasks shared to providers outside the strategy: %v", got)
		}
	})
}
