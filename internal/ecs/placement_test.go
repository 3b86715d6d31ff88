package ecs

import (
	"testing"
)

// azInstances registers one instance per AZ with the given instance types.
func (e *env) azInstances(cluster string, types ...string) []ContainerInstance {
	var out []ContainerInstance
	for i, typ := range types {
		az := "us-east-1" + string(rune('a'+i%3))
		out = append(out, e.instance(cluster, 4096, 16384, instanceOpts{attrs: []Attribute{
			{Name: "ecs.availability-zone", Value: ptr(az)}, {Name: "ecs.instance-type", Value: ptr(typ)},
		}}))
	}
	return out
}

func placedOn(out *RunTaskOutput) map[string]int {
	n := map[string]int{}
	for _, t := range out.Tasks {
		n[t.ContainerInstanceArn]++
	}
	return n
}

func TestRunTaskPlacementPolicies(t *testing.T) {
	e := newEnv(t)

	t.Run("spread over AZs gives 4/3/3", func(t *testing.T) {
		cl := e.cluster("spread")
		e.azInstances(cl, "t3.medium", "t3.medium", "t3.medium")
		td := e.simpleTaskDef("spread-app", 10, 10)
		out, err := e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: cl, TaskDefinition: td.TaskDefinitionArn, Count: ptr(10),
			PlacementStrategy: []PlacementStrategy{{Type: "spread", Field: "attribute:ecs.availability-zone"}}})
		if err != nil {
			t.Fatal(err)
		}
		counts := placedOn(out)
		fours, threes := 0, 0
		for _, n := range counts {
			if n == 4 {
				fours++
			} else if n == 3 {
				threes++
			}
		}
		if len(out.Tasks) != 10 || fours != 1 || threes != 2 {
			t.Fatalf("split %v, want 4/3/3", counts)
		}
		for _, task := range out.Tasks {
			if task.AvailabilityZone == "" {
				t.Fatalf("task %s has no availabilityZone", task.TaskArn)
			}
		}
	})

	t.Run("memberOf instance type", func(t *testing.T) {
		cl := e.cluster("member")
		insts := e.azInstances(cl, "t3.medium", "m5.large", "t3.large")
		td := e.simpleTaskDef("member-app", 10, 10)
		out, err := e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: cl, TaskDefinition: td.TaskDefinitionArn, Count: ptr(6),
			PlacementConstraints: []PlacementConstraint{{Type: "memberOf", Expression: "attribute:ecs.instance-type =~ t3.*"}}})
		if err != nil {
			t.Fatal(err)
		}
		if n := placedOn(out)[insts[1].ContainerInstanceArn]; n != 0 || len(out.Tasks) != 6 {
			t.Fatalf("placed %d tasks, %d on the m5 instance; want 6, none there", len(out.Tasks), n)
		}
	})

	t.Run("binpack memory fills one instance first", func(t *testing.T) {
		cl := e.cluster("binpack")
		e.azInstances(cl, "t3.medium", "t3.medium")
		td := e.simpleTaskDef("binpack-app", 10, 4096)
		out, err := e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: cl, TaskDefinition: td.TaskDefinitionArn, Count: ptr(5),
			PlacementStrategy: []PlacementStrategy{{Type: "binpack", Field: "memory"}}})
		if err != nil {
			t.Fatal(err)
		}
		counts := placedOn(out)
		if len(counts) != 2 || len(out.Tasks) != 5 {
			t.Fatalf("placements %v", counts)
		}
		for _, n := range counts {
			if n != 4 && n != 1 {
				t.Fatalf("placements %v, want 4 on one instance (16384 MiB full) and 1 on the other", counts)
			}
		}
	})

	t.Run("distinctInstance reports its failure", func(t *testing.T) {
		cl := e.cluster("distinct")
		e.azInstances(cl, "t3.medium", "t3.medium")
		td := e.simpleTaskDef("distinct-app", 10, 10)
		out, err := e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: cl, TaskDefinition: td.TaskDefinitionArn, Count: ptr(3),
			PlacementConstraints: []PlacementConstraint{{Type: "distinctInstance"}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Tasks) != 2 || len(out.Failures) != 2 || out.Failures[0].Reason != "DistinctInstance placement constraint unsatisfied." {
			t.Fatalf("tasks %d failures %+v", len(out.Tasks), out.Failures)
		}
	})

	t.Run("task definition memberOf combines with the request's", func(t *testing.T) {
		cl := e.cluster("tdcons")
		insts := e.azInstances(cl, "t3.medium", "t3.medium", "m5.large")
		td, err := e.svc.RegisterTaskDefinition(e.ctx, &RegisterTaskDefinitionInput{Family: "tdcons-app",
			ContainerDefinitions: []ContainerDefinition{container("app", 10, 10)},
			PlacementConstraints: []PlacementConstraint{{Type: "memberOf", Expression: "attribute:ecs.instance-type == t3.medium"}}})
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: cl, TaskDefinition: td.TaskDefinition.TaskDefinitionArn, Count: ptr(4),
			PlacementConstraints: []PlacementConstraint{{Type: "memberOf", Expression: "attribute:ecs.availability-zone != us-east-1a"}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Tasks) != 4 || placedOn(out)[insts[1].ContainerInstanceArn] != 4 {
			t.Fatalf("placements %v, want all 4 on the only t3.medium outside us-east-1a", placedOn(out))
		}
	})

	t.Run("list container instances with a filter", func(t *testing.T) {
		cl := e.cluster("filter")
		insts := e.azInstances(cl, "t3.medium", "m5.large", "m5.xlarge")
		out, err := e.svc.ListContainerInstances(e.ctx, &ListContainerInstancesInput{Cluster: cl, Filter: "attribute:ecs.instance-type =~ m5.* and attribute:ecs.availability-zone in [us-east-1b]"})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.ContainerInstanceArns) != 1 || out.ContainerInstanceArns[0] != insts[1].ContainerInstanceArn {
			t.Fatalf("filter matched %v, want only %s", out.ContainerInstanceArns, insts[1].ContainerInstanceArn)
		}
	})

	t.Run("bad policies are rejected", func(t *testing.T) {
		cl := e.cluster("badpolicy")
		e.azInstances(cl, "t3.medium")
		td := e.simpleTaskDef("badpolicy-app", 10, 10)
		many := make([]PlacementStrategy, 6)
		for i := range many {
			many[i] = PlacementStrategy{Type: "random"}
		}
		for _, in := range []RunTaskInput{
			{PlacementStrategy: many},
			{PlacementStrategy: []PlacementStrategy{{Type: "spread", Field: "zone"}}},
			{PlacementConstraints: []PlacementConstraint{{Type: "memberOf", Expression: "(attribute:a == b"}}},
		} {
			in.Cluster, in.TaskDefinition = cl, td.TaskDefinitionArn
			e.rejected("InvalidParameterException", func() error { _, err := e.svc.RunTask(e.ctx, &in); return err })
		}
		_, err := e.svc.RegisterTaskDefinition(e.ctx, &RegisterTaskDefinitionInput{Family: "badpolicy-td",
			ContainerDefinitions: []ContainerDefinition{container("app", 10, 10)},
			PlacementConstraints: []PlacementConstraint{{Type: "distinctInstance"}}})
		wantCode(t, err, "ClientException")
	})
}
