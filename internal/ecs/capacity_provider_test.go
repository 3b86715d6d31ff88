package ecs

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/berth-dev/berth/internal/api"
)

// memAutoScaling is an in-memory EC2 Auto Scaling: groups by name and the
// group of each instance.
type memAutoScaling struct {
	mu      sync.Mutex
	groups  map[string]string // name -> ARN
	members map[string]string // EC2 instance id -> group ARN
}

var _ AutoScaling = (*memAutoScaling)(nil)

func newMemAutoScaling(names ...string) *memAutoScaling {
	a := &memAutoScaling{groups: map[string]string{}, members: map[string]string{}}
	for _, n := range names {
		a.groups[n] = asgARN(n)
	}
	return a
}

func asgARN(name string) string {
	return fmt.Sprintf("arn:aws:autoscaling:%s:%s:autoScalingGroup:%08x-0000-4000-8000-000000000000:autoScalingGroupName/%s", testRegion, testAccount, len(name), name)
}

func (a *memAutoScaling) GroupARN(_ context.Context, ref string) (string, bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for name, arn := range a.groups {
		if ref == name || ref == arn {
			return arn, true, nil
		}
	}
	return "", false, nil
}

func (a *memAutoScaling) GroupOfInstance(_ context.Context, id string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.members[id], nil
}

// join puts an EC2 instance in a group.
func (a *memAutoScaling) join(group, instanceID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.members[instanceID] = a.groups[group]
}

// cpEnv is an env whose ECS knows the given Auto Scaling groups.
func cpEnv(t *testing.T, groups ...string) (*env, *memAutoScaling) {
	e := newEnv(t)
	asg := newMemAutoScaling(groups...)
	e.svc.cfg.AutoScaling = asg
	return e, asg
}

// provider creates a capacity provider over group.
func (e *env) provider(name, group string) CapacityProvider {
	e.t.Helper()
	out, err := e.svc.CreateCapacityProvider(e.ctx, &CreateCapacityProviderInput{Name: name,
		AutoScalingGroupProvider: &AutoScalingGroupProvider{AutoScalingGroupArn: group}})
	if err != nil {
		e.t.Fatalf("create capacity provider %s: %v", name, err)
	}
	return *out.CapacityProvider
}

// associate sets a cluster's providers and default strategy.
func (e *env) associate(cluster string, providers []string, def []CapacityProviderStrategyItem) {
	e.t.Helper()
	if def == nil {
		def = []CapacityProviderStrategyItem{}
	}
	if _, err := e.svc.PutClusterCapacityProviders(e.ctx, &PutClusterCapacityProvidersInput{Cluster: cluster, CapacityProviders: providers, DefaultCapacityProviderStrategy: def}); err != nil {
		e.t.Fatalf("put cluster capacity providers %s: %v", cluster, err)
	}
}

// ec2Instance registers EC2 instance id (in an Auto Scaling group or not)
// with cluster and connects its agent.
func (e *env) ec2Instance(cluster, id string, cpu, memory int) ContainerInstance {
	e.t.Helper()
	out, err := e.svc.RegisterContainerInstance(e.ctx, &RegisterContainerInstanceInput{Cluster: cluster,
		InstanceIdentityDocument: `{"instanceId":"` + id + `"}`,
		TotalResources:           []Resource{{Name: "CPU", Type: "INTEGER", IntegerValue: cpu}, {Name: "MEMORY", Type: "INTEGER", IntegerValue: memory}},
		VersionInfo:              VersionInfo{AgentVersion: "1.90.0", DockerVersion: "27.0.0"}})
	if err != nil {
		e.t.Fatalf("register %s: %v", id, err)
	}
	e.connect(lastSegment(out.ContainerInstance.ContainerInstanceArn))
	return out.ContainerInstance
}

func TestCreateCapacityProviderDefaults(t *testing.T) {
	e, _ := cpEnv(t, "asg-a")
	out := must[*CapacityProviderOutput](t)(e.svc.CreateCapacityProvider(e.ctx, &CreateCapacityProviderInput{Name: "cp-a",
		AutoScalingGroupProvider: &AutoScalingGroupProvider{AutoScalingGroupArn: "asg-a"}, Tags: []Tag{{Key: "team", Value: "x"}}}))
	cp := out.CapacityProvider
	if cp.CapacityProviderArn != arn("capacity-provider/cp-a") || cp.Status != "ACTIVE" || cp.Name != "cp-a" {
		t.Fatalf("created %+v", cp)
	}
	p := cp.AutoScalingGroupProvider
	ms := p.ManagedScaling
	if p.AutoScalingGroupArn != asgARN("asg-a") || p.ManagedTerminationProtection != "DISABLED" || p.ManagedDraining != "ENABLED" ||
		ms.Status != "DISABLED" || *ms.TargetCapacity != 100 || *ms.MinimumScalingStepSize != 1 || *ms.MaximumScalingStepSize != 10000 || *ms.InstanceWarmupPeriod != 300 {
		t.Fatalf("defaults: %+v %+v", p, ms)
	}
	for _, tc := range []struct {
		name    string
		in      DescribeCapacityProvidersInput
		tags    bool
		missing int
	}{
		{"by name", DescribeCapacityProvidersInput{CapacityProviders: []string{"cp-a"}}, false, 0},
		{"by ARN with tags", DescribeCapacityProvidersInput{CapacityProviders: []string{arn("capacity-provider/cp-a")}, Include: []string{"TAGS"}}, true, 0},
		{"unknown", DescribeCapacityProvidersInput{CapacityProviders: []string{"cp-a", "nope"}}, false, 1},
		{"all", DescribeCapacityProvidersInput{}, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := must[*DescribeCapacityProvidersOutput](t)(e.svc.DescribeCapacityProviders(e.ctx, &tc.in))
			if len(tc.in.CapacityProviders) == 0 {
				// Fargate's providers come first in every account's list.
				if len(got.CapacityProviders) != 3 || got.CapacityProviders[0].Name != "FARGATE" || got.CapacityProviders[1].Name != "FARGATE_SPOT" {
					t.Fatalf("got %+v", got)
				}
				got.CapacityProviders = got.CapacityProviders[2:]
			}
			if len(got.CapacityProviders) != 1 || len(got.Failures) != tc.missing {
				t.Fatalf("got %+v", got)
			}
			if has := len(got.CapacityProviders[0].Tags) == 1; has != tc.tags {
				t.Fatalf("tags %v, want %v", got.CapacityProviders[0].Tags, tc.tags)
			}
			if tc.missing > 0 && got.Failures[0].Reason != "MISSING" {
				t.Fatalf("failure %+v", got.Failures[0])
			}
		})
	}
	// Tagged through the tag helpers like any ECS resource.
	must[*struct{}](t)(e.svc.TagResource(e.ctx, &TagResourceInput{ResourceArn: cp.CapacityProviderArn, Tags: []Tag{{Key: "env", Value: "prod"}}}))
	tags := must[*TagsOutput](t)(e.svc.ListTagsForResource(e.ctx, &TagResourceInput{ResourceArn: cp.CapacityProviderArn}))
	if len(tags.Tags) != 2 {
		t.Fatalf("tags %+v", tags.Tags)
	}
}

func TestCreateCapacityProviderErrors(t *testing.T) {
	e, _ := cpEnv(t, "asg-a", "asg-b", "asg-c")
	e.provider("taken", "asg-a")
	create := func(name, group string, mod func(*AutoScalingGroupProvider)) func() error {
		return func() error {
			p := &AutoScalingGroupProvider{AutoScalingGroupArn: group}
			if mod != nil {
				mod(p)
			}
			_, err := e.svc.CreateCapacityProvider(e.ctx, &CreateCapacityProviderInput{Name: name, AutoScalingGroupProvider: p})
			return err
		}
	}
	scaling := func(ms ManagedScaling) func(*AutoScalingGroupProvider) {
		return func(p *AutoScalingGroupProvider) { p.ManagedScaling = &ms }
	}
	for _, tc := range []struct {
		name, code string
		call       func() error
	}{
		{"FARGATE", "InvalidParameterException", create("FARGATE", "asg-b", nil)},
		{"FARGATE_SPOT", "InvalidParameterException", create("FARGATE_SPOT", "asg-b", nil)},
		{"prefix aws", "InvalidParameterException", create("aws-cp", "asg-b", nil)},
		{"prefix ECS", "InvalidParameterException", create("ECScp", "asg-b", nil)},
		{"prefix fargate", "InvalidParameterException", create("fargate2", "asg-b", nil)},
		{"bad characters", "InvalidParameterException", create("a b", "asg-b", nil)},
		{"no name", "InvalidParameterException", create("", "asg-b", nil)},
		{"no group", "InvalidParameterException", create("cp", "", nil)},
		{"no provider", "InvalidParameterException", func() error {
			_, err := e.svc.CreateCapacityProvider(e.ctx, &CreateCapacityProviderInput{Name: "cp"})
			return err
		}},
		{"unknown group", "ClientException", create("cp", "asg-nope", nil)},
		{"duplicate name", "ClientException", create("taken", "asg-b", nil)},
		{"group in use", "ClientException", create("cp", asgARN("asg-a"), nil)},
		{"target capacity 0", "InvalidParameterException", create("cp", "asg-b", scaling(ManagedScaling{TargetCapacity: ptr(0)}))},
		{"target capacity 101", "InvalidParameterException", create("cp", "asg-b", scaling(ManagedScaling{TargetCapacity: ptr(101)}))},
		{"minimum step 0", "InvalidParameterException", create("cp", "asg-b", scaling(ManagedScaling{MinimumScalingStepSize: ptr(0)}))},
		{"maximum step 10001", "InvalidParameterException", create("cp", "asg-b", scaling(ManagedScaling{MaximumScalingStepSize: ptr(10001)}))},
		{"minimum above maximum", "InvalidParameterException", create("cp", "asg-b", scaling(ManagedScaling{MinimumScalingStepSize: ptr(5), MaximumScalingStepSize: ptr(2)}))},
		{"warmup negative", "InvalidParameterException", create("cp", "asg-b", scaling(ManagedScaling{InstanceWarmupPeriod: ptr(-1)}))},
		{"scaling status", "InvalidParameterException", create("cp", "asg-b", scaling(ManagedScaling{Status: "ON"}))},
		{"termination protection", "InvalidParameterException", create("cp", "asg-b", func(p *AutoScalingGroupProvider) { p.ManagedTerminationProtection = "YES" })},
		{"draining", "InvalidParameterException", create("cp", "asg-b", func(p *AutoScalingGroupProvider) { p.ManagedDraining = "maybe" })},
		{"too many tags", "InvalidParameterException", func() error {
			tags := make([]Tag, 51)
			for i := range tags {
				tags[i] = Tag{Key: fmt.Sprint("k", i), Value: "v"}
			}
			_, err := e.svc.CreateCapacityProvider(e.ctx, &CreateCapacityProviderInput{Name: "cp", Tags: tags, AutoScalingGroupProvider: &AutoScalingGroupProvider{AutoScalingGroupArn: "asg-b"}})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { e.with(t).rejected(tc.code, tc.call) })
	}
	// Settings given replace the defaults.
	out := must[*CapacityProviderOutput](t)(e.svc.CreateCapacityProvider(e.ctx, &CreateCapacityProviderInput{Name: "scaled",
		AutoScalingGroupProvider: &AutoScalingGroupProvider{AutoScalingGroupArn: "asg-c", ManagedTerminationProtection: "ENABLED",
			ManagedScaling: &ManagedScaling{Status: "ENABLED", TargetCapacity: ptr(80)}}}))
	if ms := out.CapacityProvider.AutoScalingGroupProvider.ManagedScaling; ms.Status != "ENABLED" || *ms.TargetCapacity != 80 || *ms.MaximumScalingStepSize != 10000 {
		t.Fatalf("managed scaling %+v", ms)
	}
	// Without Auto Scaling there are no groups at all.
	bare := newEnv(t)
	bare.rejected("ClientException", func() error {
		_, err := bare.svc.CreateCapacityProvider(bare.ctx, &CreateCapacityProviderInput{Name: "cp", AutoScalingGroupProvider: &AutoScalingGroupProvider{AutoScalingGroupArn: "asg-a"}})
		return err
	})
}

func TestUpdateAndDeleteCapacityProvider(t *testing.T) {
	e, _ := cpEnv(t, "asg-a")
	e.provider("cp", "asg-a")
	out := must[*CapacityProviderOutput](t)(e.svc.UpdateCapacityProvider(e.ctx, &UpdateCapacityProviderInput{Name: "cp",
		AutoScalingGroupProvider: &AutoScalingGroupProvider{ManagedScaling: &ManagedScaling{Status: "ENABLED", TargetCapacity: ptr(75)}}}))
	p := out.CapacityProvider.AutoScalingGroupProvider
	if ms := p.ManagedScaling; ms.Status != "ENABLED" || *ms.TargetCapacity != 75 || *ms.InstanceWarmupPeriod != 300 || p.AutoScalingGroupArn != asgARN("asg-a") ||
		out.CapacityProvider.UpdateStatus != "UPDATE_COMPLETE" {
		t.Fatalf("updated %+v %+v", out.CapacityProvider, p.ManagedScaling)
	}
	update := func(name string, p AutoScalingGroupProvider) func() error {
		return func() error {
			_, err := e.svc.UpdateCapacityProvider(e.ctx, &UpdateCapacityProviderInput{Name: name, AutoScalingGroupProvider: &p})
			return err
		}
	}
	for _, tc := range []struct {
		name, code string
		call       func() error
	}{
		{"unknown", "InvalidParameterException", update("nope", AutoScalingGroupProvider{})},
		{"target capacity", "InvalidParameterException", update("cp", AutoScalingGroupProvider{ManagedScaling: &ManagedScaling{TargetCapacity: ptr(200)}})},
		{"group", "InvalidParameterException", update("cp", AutoScalingGroupProvider{AutoScalingGroupArn: "asg-b"})},
		{"termination protection", "InvalidParameterException", update("cp", AutoScalingGroupProvider{ManagedTerminationProtection: "on"})},
	} {
		t.Run(tc.name, func(t *testing.T) { e.with(t).rejected(tc.code, tc.call) })
	}

	del := must[*CapacityProviderOutput](t)(e.svc.DeleteCapacityProvider(e.ctx, &DeleteCapacityProviderInput{CapacityProvider: arn("capacity-provider/cp")}))
	if del.CapacityProvider.Status != "INACTIVE" || del.CapacityProvider.UpdateStatus != "DELETE_COMPLETE" {
		t.Fatalf("deleted %+v", del.CapacityProvider)
	}
	// Still described by name, no longer listed.
	got := must[*DescribeCapacityProvidersOutput](t)(e.svc.DescribeCapacityProviders(e.ctx, &DescribeCapacityProvidersInput{CapacityProviders: []string{"cp"}}))
	if len(got.CapacityProviders) != 1 || got.CapacityProviders[0].Status != "INACTIVE" {
		t.Fatalf("described %+v", got)
	}
	if all := must[*DescribeCapacityProvidersOutput](t)(e.svc.DescribeCapacityProviders(e.ctx, &DescribeCapacityProvidersInput{})); len(all.CapacityProviders) != 2 {
		t.Fatalf("listed %+v", all.CapacityProviders)
	}
	e.rejected("InvalidParameterException", func() error {
		_, err := e.svc.DeleteCapacityProvider(e.ctx, &DeleteCapacityProviderInput{CapacityProvider: "cp"})
		return err
	})
	e.rejected("InvalidParameterException", update("cp", AutoScalingGroupProvider{}))
	// The name and the group are free again.
	e.provider("cp", "asg-a")
}

func TestDescribeCapacityProvidersPages(t *testing.T) {
	e, _ := cpEnv(t, "g1", "g2", "g3")
	for _, n := range []string{"c", "a", "b"} {
		e.provider("cp-"+n, "g"+fmt.Sprint(strings.Index("abc", n)+1))
	}
	// FARGATE, FARGATE_SPOT, then the account's own, by name.
	first := must[*DescribeCapacityProvidersOutput](t)(e.svc.DescribeCapacityProviders(e.ctx, &DescribeCapacityProvidersInput{MaxResults: ptr(3)}))
	if len(first.CapacityProviders) != 3 || first.NextToken == nil || first.CapacityProviders[0].Name != "FARGATE" || first.CapacityProviders[2].Name != "cp-a" {
		t.Fatalf("first page %+v", first)
	}
	second := must[*DescribeCapacityProvidersOutput](t)(e.svc.DescribeCapacityProviders(e.ctx, &DescribeCapacityProvidersInput{MaxResults: ptr(3), NextToken: first.NextToken}))
	if len(second.CapacityProviders) != 2 || second.NextToken != nil || second.CapacityProviders[1].Name != "cp-c" {
		t.Fatalf("second page %+v", second)
	}
	for _, in := range []DescribeCapacityProvidersInput{{MaxResults: ptr(11)}, {MaxResults: ptr(0)}, {NextToken: ptr("garbage!")}, {Include: []string{"STATISTICS"}}} {
		e.rejected("InvalidParameterException", func() error {
			_, err := e.svc.DescribeCapacityProviders(e.ctx, &in)
			return err
		})
	}
}

func TestClusterCapacityProviderAssociation(t *testing.T) {
	e, _ := cpEnv(t, "asg-a", "asg-b", "asg-free")
	e.provider("cp-a", "asg-a")
	e.provider("cp-b", "asg-b")
	e.provider("cp-free", "asg-free")
	e.cluster("one")
	e.cluster("two")
	out := must[*ClusterOutput](t)(e.svc.PutClusterCapacityProviders(e.ctx, &PutClusterCapacityProvidersInput{Cluster: "one",
		CapacityProviders: []string{"cp-a", arn("capacity-provider/cp-b")}, DefaultCapacityProviderStrategy: []CapacityProviderStrategyItem{{CapacityProvider: "cp-a", Weight: 1, Base: 1}}}))
	if c := out.Cluster; len(c.CapacityProviders) != 2 || c.CapacityProviders[1] != "cp-b" || len(c.DefaultCapacityProviderStrategy) != 1 {
		t.Fatalf("cluster %+v", c)
	}
	put := func(cluster string, providers []string, def ...CapacityProviderStrategyItem) func() error {
		return func() error {
			_, err := e.svc.PutClusterCapacityProviders(e.ctx, &PutClusterCapacityProvidersInput{Cluster: cluster, CapacityProviders: providers, DefaultCapacityProviderStrategy: orEmpty(def)})
			return err
		}
	}
	many := make([]CapacityProviderStrategyItem, 21)
	for i := range many {
		many[i] = CapacityProviderStrategyItem{CapacityProvider: fmt.Sprint("p", i), Weight: 1}
	}
	for _, tc := range []struct {
		name, code string
		call       func() error
	}{
		{"unknown provider", "InvalidParameterException", put("two", []string{"nope"})},
		{"Fargate mixed with a group's provider", "InvalidParameterException", func() error {
			_, err := e.svc.PutClusterCapacityProviders(e.ctx, &PutClusterCapacityProvidersInput{Cluster: "two", CapacityProviders: []string{"FARGATE", "cp-free"},
				DefaultCapacityProviderStrategy: []CapacityProviderStrategyItem{{CapacityProvider: "FARGATE", Weight: 1}, {CapacityProvider: "cp-free", Weight: 1}}})
			return err
		}},
		{"provider twice", "InvalidParameterException", put("two", []string{"cp-free", "cp-free"})},
		{"strategy not associated", "InvalidParameterException", put("two", []string{"cp-free"}, CapacityProviderStrategyItem{CapacityProvider: "cp-a", Weight: 1})},
		{"two bases", "InvalidParameterException", put("one", []string{"cp-a", "cp-b"}, CapacityProviderStrategyItem{CapacityProvider: "cp-a", Base: 1}, CapacityProviderStrategyItem{CapacityProvider: "cp-b", Base: 2})},
		{"weight 1001", "InvalidParameterException", put("one", []string{"cp-a"}, CapacityProviderStrategyItem{CapacityProvider: "cp-a", Weight: 1001})},
		{"base 100001", "InvalidParameterException", put("one", []string{"cp-a"}, CapacityProviderStrategyItem{CapacityProvider: "cp-a", Base: 100001})},
		{"21 items", "InvalidParameterException", put("one", []string{"cp-a"}, many...)},
		{"associated elsewhere", "ResourceInUseException", put("two", []string{"cp-a"})},
		{"unknown cluster", "ClusterNotFoundException", put("nope", []string{"cp-free"})},
		{"missing lists", "InvalidParameterException", func() error {
			_, err := e.svc.PutClusterCapacityProviders(e.ctx, &PutClusterCapacityProvidersInput{Cluster: "two"})
			return err
		}},
		{"delete associated provider", "ResourceInUseException", func() error {
			_, err := e.svc.DeleteCapacityProvider(e.ctx, &DeleteCapacityProviderInput{CapacityProvider: "cp-a"})
			return err
		}},
		{"create cluster with unknown provider", "InvalidParameterException", func() error {
			_, err := e.svc.CreateCluster(e.ctx, &CreateClusterInput{ClusterName: "three", CapacityProviders: []string{"nope"}})
			return err
		}},
		{"create cluster with provider of another", "ResourceInUseException", func() error {
			_, err := e.svc.CreateCluster(e.ctx, &CreateClusterInput{ClusterName: "three", CapacityProviders: []string{"cp-b"}})
			return err
		}},
		{"create cluster strategy not associated", "InvalidParameterException", func() error {
			_, err := e.svc.CreateCluster(e.ctx, &CreateClusterInput{ClusterName: "three", CapacityProviders: []string{"cp-free"},
				DefaultCapacityProviderStrategy: []CapacityProviderStrategyItem{{CapacityProvider: "cp-a", Weight: 1}}})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { e.with(t).rejected(tc.code, tc.call) })
	}
	c := must[*ClusterOutput](t)(e.svc.CreateCluster(e.ctx, &CreateClusterInput{ClusterName: "three", CapacityProviders: []string{"cp-free"},
		DefaultCapacityProviderStrategy: []CapacityProviderStrategyItem{{CapacityProvider: "cp-free", Weight: 2}}}))
	if len(c.Cluster.CapacityProviders) != 1 || c.Cluster.DefaultCapacityProviderStrategy[0].Weight != 2 {
		t.Fatalf("created %+v", c.Cluster)
	}
	// Deleting a cluster frees its providers for another.
	e.rejected("ResourceInUseException", put("two", []string{"cp-free"}))
	must[*ClusterOutput](t)(e.svc.DeleteCluster(e.ctx, &ClusterRefInput{Cluster: "three"}))
	e.associate("two", []string{"cp-free"}, nil)

	// A provider a service's strategy or a running task uses cannot leave
	// the cluster or be deleted.
	e.instance("one", 4096, 4096)
	e.simpleTaskDef("web", 64, 64)
	must[*ServiceOutput](t)(e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: "one", ServiceName: "svc", TaskDefinition: "web", DesiredCount: ptr(0),
		CapacityProviderStrategy: []CapacityProviderStrategyItem{{CapacityProvider: "cp-b", Weight: 1}}}))
	e.rejected("ResourceInUseException", put("one", []string{"cp-a"}))
	e.associate("one", []string{"cp-a", "cp-b"}, nil) // keeping both is fine
	e.rejected("ResourceInUseException", func() error {
		_, err := e.svc.DeleteCapacityProvider(e.ctx, &DeleteCapacityProviderInput{CapacityProvider: "cp-b"})
		return err
	})
	must[*ServiceOutput](t)(e.svc.DeleteService(e.ctx, &DeleteServiceInput{Cluster: "one", Service: "svc", Force: ptr(true)}))
	newSched(e, "one").pass()
	e.associate("one", []string{"cp-a"}, nil)
	e.associate("one", []string{}, nil)
	must[*CapacityProviderOutput](t)(e.svc.DeleteCapacityProvider(e.ctx, &DeleteCapacityProviderInput{CapacityProvider: "cp-b"}))
}

func TestNextProvider(t *testing.T) {
	ab := func(baseA, weightA, weightB int) []CapacityProviderStrategyItem {
		return []CapacityProviderStrategyItem{{CapacityProvider: "a", Base: baseA, Weight: weightA}, {CapacityProvider: "b", Weight: weightB}}
	}
	for _, tc := range []struct {
		name     string
		strategy []CapacityProviderStrategyItem
		counts   map[string]int
		n        int
		want     map[string]int
	}{
		{"base then even", ab(2, 1, 1), nil, 6, map[string]int{"a": 4, "b": 2}},
		{"weights 1:4", ab(0, 1, 4), nil, 10, map[string]int{"a": 2, "b": 8}},
		{"base only on a", ab(3, 0, 1), nil, 5, map[string]int{"a": 3, "b": 2}},
		{"existing tasks count", ab(0, 1, 1), map[string]int{"a": 4}, 4, map[string]int{"b": 4}},
		{"single provider weight 0", []CapacityProviderStrategyItem{{CapacityProvider: "a"}}, nil, 3, map[string]int{"a": 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]int{}
			for _, sh := range shareTasks(tc.strategy, tc.n, tc.counts) {
				got[sh.provider] += sh.count
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("shares %v, want %v", got, tc.want)
			}
		})
	}
}

// denyAction refuses one action and lets the root principal do the rest,
// recording what each call asked.
type denyAction struct {
	mu     sync.Mutex
	action string
	asked  map[string]string // action -> resource
}

func (d *denyAction) Authorize(ctx context.Context, p api.Principal, action, resource string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.asked[action] = resource
	if action == d.action {
		return api.Errorf(api.CodeAccessDenied, "User: %s is not authorized to perform: %s on resource: %s", p.ARN, action, resource)
	}
	return api.RootOnly{}.Authorize(ctx, p, action, resource)
}

func TestCapacityProviderAuthorization(t *testing.T) {
	e, _ := cpEnv(t, "asg-a", "asg-b")
	authz := &denyAction{asked: map[string]string{}}
	e.svc.authz = authz
	e.provider("cp", "asg-a")
	e.cluster("auth")
	for _, tc := range []struct {
		action, resource string
		call             func() error
	}{
		{"ecs:CreateCapacityProvider", arn("capacity-provider/new"), func() error {
			_, err := e.svc.CreateCapacityProvider(e.ctx, &CreateCapacityProviderInput{Name: "new", AutoScalingGroupProvider: &AutoScalingGroupProvider{AutoScalingGroupArn: "asg-b"}})
			return err
		}},
		{"ecs:UpdateCapacityProvider", arn("capacity-provider/cp"), func() error {
			_, err := e.svc.UpdateCapacityProvider(e.ctx, &UpdateCapacityProviderInput{Name: "cp", AutoScalingGroupProvider: &AutoScalingGroupProvider{ManagedTerminationProtection: "ENABLED"}})
			return err
		}},
		{"ecs:DeleteCapacityProvider", arn("capacity-provider/cp"), func() error {
			_, err := e.svc.DeleteCapacityProvider(e.ctx, &DeleteCapacityProviderInput{CapacityProvider: "cp"})
			return err
		}},
		{"ecs:DescribeCapacityProviders", "*", func() error {
			_, err := e.svc.DescribeCapacityProviders(e.ctx, &DescribeCapacityProvidersInput{})
			return err
		}},
		{"ecs:PutClusterCapacityProviders", arn("cluster/auth"), func() error {
			_, err := e.svc.PutClusterCapacityProviders(e.ctx, &PutClusterCapacityProvidersInput{Cluster: "auth", CapacityProviders: []string{"cp"}, DefaultCapacityProviderStrategy: []CapacityProviderStrategyItem{}})
			return err
		}},
	} {
		t.Run(tc.action, func(t *testing.T) {
			authz.action = tc.action
			e.with(t).rejected(api.CodeAccessDenied, tc.call)
			if got := authz.asked[tc.action]; got != tc.resource {
				t.Fatalf("authorized on %q, want %q", got, tc.resource)
			}
		})
	}
}
