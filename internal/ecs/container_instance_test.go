package ecs

import (
	"slices"
	"strings"
	"testing"
)

func TestContainerInstances(t *testing.T) {
	base := newEnv(t)
	base.cluster("ci")

	t.Run("Register", func(t *testing.T) {
		e := base.with(t)
		doc := `{"instanceId":"i-0123456789abcdef0","instanceType":"m5.large","availabilityZone":"us-east-1a","imageId":"ami-1234","region":"us-east-1"}`
		out := must[*ContainerInstanceOutput](t)(e.svc.RegisterContainerInstance(e.ctx, &RegisterContainerInstanceInput{
			Cluster:                  "ci",
			InstanceIdentityDocument: doc,
			TotalResources: []Resource{
				{Name: "CPU", Type: "INTEGER", IntegerValue: 2048},
				{Name: "MEMORY", Type: "INTEGER", LongValue: 3768}, // agents may use any numeric field
				{Name: "PORTS", Type: "STRINGSET", StringSetValue: []string{"8443", "22"}},
				{Name: "PORTS_UDP", Type: "STRINGSET", StringSetValue: []string{"5353"}},
			},
			VersionInfo: VersionInfo{AgentVersion: "1.90.0", DockerVersion: "27.0.0"},
			Attributes: []Attribute{
				{Name: "ecs.capability.docker-remote-api.1.44"},
				{Name: "ecs.os-type", Value: ptr("linux")},
				{Name: "custom.rack", Value: ptr("r7")},
			},
		}))
		ci := out.ContainerInstance
		id := lastSegment(ci.ContainerInstanceArn)
		if ci.ContainerInstanceArn != arn("container-instance/ci/"+id) || len(id) != 32 {
			t.Fatalf("arn = %s", ci.ContainerInstanceArn)
		}
		if ci.Status != "ACTIVE" || ci.Ec2InstanceId != "i-0123456789abcdef0" || ci.Version != 1 || ci.AgentConnected ||
			ci.VersionInfo.AgentVersion != "1.90.0" || ci.RegisteredAt == nil {
			t.Fatalf("instance = %+v", ci)
		}
		wantPorts := []string{"22", "2375", "2376", "51678", "51679", "8443"}
		slices.Sort(wantPorts)
		for _, rs := range [][]Resource{ci.RegisteredResources, ci.RemainingResources} {
			if resourceValue(rs, "CPU") != 2048 || resourceValue(rs, "MEMORY") != 3768 {
				t.Fatalf("resources = %+v", rs)
			}
			if got := resourceSet(rs, "PORTS"); !slices.Equal(got, wantPorts) {
				t.Fatalf("PORTS = %v, want %v", got, wantPorts)
			}
			if got := resourceSet(rs, "PORTS_UDP"); !slices.Equal(got, []string{"5353"}) {
				t.Fatalf("PORTS_UDP = %v", got)
			}
		}
		attrs := map[string]string{}
		for _, a := range ci.Attributes {
			v := "<nil>"
			if a.Value != nil {
				v = *a.Value
			}
			attrs[a.Name] = v
		}
		for name, want := range map[string]string{
			"ecs.capability.docker-remote-api.1.44": "<nil>", "ecs.os-type": "linux", "custom.rack": "r7",
			"ecs.availability-zone": "us-east-1a", "ecs.instance-type": "m5.large", "ecs.ami-id": "ami-1234",
		} {
			if attrs[name] != want {
				t.Errorf("attribute %s = %q, want %q (all: %v)", name, attrs[name], want, attrs)
			}
		}

		// Re-registering with the ARN keeps the id and updates what the agent sends.
		e.connect(id)
		again := must[*ContainerInstanceOutput](t)(e.svc.RegisterContainerInstance(e.ctx, &RegisterContainerInstanceInput{
			Cluster: arn("cluster/ci"), ContainerInstanceArn: ci.ContainerInstanceArn,
			TotalResources: []Resource{{Name: "CPU", IntegerValue: 4096}, {Name: "MEMORY", IntegerValue: 7680}},
			Attributes:     []Attribute{{Name: "ecs.os-type", Value: ptr("linux")}, {Name: "added.later"}},
		})).ContainerInstance
		if again.ContainerInstanceArn != ci.ContainerInstanceArn || again.Version != 2 || again.Ec2InstanceId != ci.Ec2InstanceId ||
			!again.AgentConnected || resourceValue(again.RegisteredResources, "CPU") != 4096 {
			t.Fatalf("re-registered = %+v", again)
		}
		names := []string{}
		for _, a := range again.Attributes {
			names = append(names, a.Name)
		}
		if !slices.Contains(names, "added.later") || !slices.Contains(names, "custom.rack") {
			t.Fatalf("attributes after re-registration: %v", names)
		}
		list := must[*ListContainerInstancesOutput](t)(e.svc.ListContainerInstances(e.ctx, &ListContainerInstancesInput{Cluster: "ci"}))
		if len(list.ContainerInstanceArns) != 1 {
			t.Fatalf("re-registration made a second instance: %v", list.ContainerInstanceArns)
		}
	})

	t.Run("RegisterDefaultClusterIsCreated", func(t *testing.T) {
		e := base.with(t)
		ci := must[*ContainerInstanceOutput](t)(e.svc.RegisterContainerInstance(e.ctx, &RegisterContainerInstanceInput{
			TotalResources: []Resource{{Name: "CPU", IntegerValue: 1024}, {Name: "MEMORY", IntegerValue: 1024}},
		})).ContainerInstance
		if !strings.HasPrefix(ci.ContainerInstanceArn, arn("container-instance/default/")) || !strings.HasPrefix(ci.Ec2InstanceId, "mi-") {
			t.Fatalf("instance = %+v", ci)
		}
	})

	t.Run("RegisterInvalid", func(t *testing.T) {
		good := []Resource{{Name: "CPU", IntegerValue: 1024}, {Name: "MEMORY", IntegerValue: 1024}}
		for _, tc := range []struct {
			name string
			in   RegisterContainerInstanceInput
			code string
		}{
			{"unknown cluster", RegisterContainerInstanceInput{Cluster: "nowhere", TotalResources: good}, "ClusterNotFoundException"},
			{"no memory", RegisterContainerInstanceInput{Cluster: "ci", TotalResources: good[:1]}, "InvalidParameterException"},
			{"zero cpu", RegisterContainerInstanceInput{Cluster: "ci", TotalResources: []Resource{{Name: "CPU"}, good[1]}}, "InvalidParameterException"},
			{"bad port", RegisterContainerInstanceInput{Cluster: "ci", TotalResources: append(slices.Clone(good), Resource{Name: "PORTS", StringSetValue: []string{"http"}})}, "InvalidParameterException"},
			{"port out of range", RegisterContainerInstanceInput{Cluster: "ci", TotalResources: append(slices.Clone(good), Resource{Name: "PORTS", StringSetValue: []string{"65536"}})}, "InvalidParameterException"},
			{"bad identity document", RegisterContainerInstanceInput{Cluster: "ci", TotalResources: good, InstanceIdentityDocument: "{"}, "InvalidParameterException"},
			{"bad attribute name", RegisterContainerInstanceInput{Cluster: "ci", TotalResources: good, Attributes: []Attribute{{Name: "has space"}}}, "InvalidParameterException"},
			{"aws: tag", RegisterContainerInstanceInput{Cluster: "ci", TotalResources: good, Tags: []Tag{{Key: "aws:x", Value: "1"}}}, "InvalidParameterException"},
			{"unknown ARN", RegisterContainerInstanceInput{Cluster: "ci", TotalResources: good, ContainerInstanceArn: arn("container-instance/ci/00000000000000000000000000000000")}, "InvalidParameterException"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := base.with(t)
				e.rejected(tc.code, func() error { _, err := e.svc.RegisterContainerInstance(e.ctx, &tc.in); return err })
			})
		}
	})

	t.Run("DescribeRemainingResources", func(t *testing.T) {
		e := base.with(t)
		e.cluster("rem")
		ci := e.instance("rem", 2048, 4096, instanceOpts{ports: []string{"9999"}})
		td := e.taskDef("rem-web", withPorts(container("web", 512, 1000), [2]int{80, 8080}, [2]int{81, 0}))
		e.run("rem", td.TaskDefinitionArn, 1)
		for _, ref := range []string{ci.ContainerInstanceArn, lastSegment(ci.ContainerInstanceArn)} {
			got := e.describeInstance("rem", ref)
			if cpu, mem := remaining(got); cpu != 1536 || mem != 3096 {
				t.Fatalf("remaining = %d/%d, want 1536/3096", cpu, mem)
			}
			if ports := resourceSet(got.RemainingResources, "PORTS"); !slices.Contains(ports, "8080") || !slices.Contains(ports, "9999") || !slices.Contains(ports, "22") {
				t.Fatalf("remaining PORTS (ports in use) = %v", ports)
			}
			if got.PendingTasksCount != 1 || got.RunningTasksCount != 0 || !got.AgentConnected {
				t.Fatalf("counts = %d pending %d running connected=%v", got.PendingTasksCount, got.RunningTasksCount, got.AgentConnected)
			}
			if resourceValue(got.RegisteredResources, "CPU") != 2048 {
				t.Fatalf("registered = %+v", got.RegisteredResources)
			}
		}
		out := must[*DescribeContainerInstancesOutput](t)(e.svc.DescribeContainerInstances(e.ctx, &DescribeContainerInstancesInput{
			Cluster: "rem", ContainerInstances: []string{ci.ContainerInstanceArn, "ffffffffffffffffffffffffffffffff", arn("container-instance/rem/eeee")},
		}))
		want := []Failure{{Arn: arn("container-instance/rem/ffffffffffffffffffffffffffffffff"), Reason: "MISSING"}, {Arn: arn("container-instance/rem/eeee"), Reason: "MISSING"}}
		if len(out.ContainerInstances) != 1 || !slices.Equal(out.Failures, want) {
			t.Fatalf("describe = %+v", out)
		}
		_, err := e.svc.DescribeContainerInstances(e.ctx, &DescribeContainerInstancesInput{Cluster: "rem"})
		wantCode(t, err, "InvalidParameterException")
		_, err = e.svc.DescribeContainerInstances(e.ctx, &DescribeContainerInstancesInput{Cluster: "ghost", ContainerInstances: []string{"x"}})
		wantCode(t, err, "ClusterNotFoundException")
	})

	t.Run("ListAndDrain", func(t *testing.T) {
		e := base.with(t)
		e.cluster("drain")
		a := e.instance("drain", 4096, 4096)
		b := e.instance("drain", 4096, 4096)
		c := e.instance("drain", 4096, 4096)
		all := []string{a.ContainerInstanceArn, b.ContainerInstanceArn, c.ContainerInstanceArn}
		slices.Sort(all)

		out := must[*DescribeContainerInstancesOutput](t)(e.svc.UpdateContainerInstancesState(e.ctx, &UpdateContainerInstancesStateInput{
			Cluster: "drain", ContainerInstances: []string{a.ContainerInstanceArn, lastSegment(c.ContainerInstanceArn), "missing-one"}, Status: "DRAINING",
		}))
		if len(out.ContainerInstances) != 2 || out.ContainerInstances[0].Status != "DRAINING" || out.ContainerInstances[0].Version != 2 {
			t.Fatalf("update = %+v", out)
		}
		if len(out.Failures) != 1 || out.Failures[0] != (Failure{Arn: "missing-one", Reason: "MISSING"}) {
			t.Fatalf("failures = %+v", out.Failures)
		}

		for _, tc := range []struct {
			status string
			want   []string
		}{
			{"", all},
			{"ACTIVE", []string{b.ContainerInstanceArn}},
			{"DRAINING", sorted(a.ContainerInstanceArn, c.ContainerInstanceArn)},
			{"REGISTERING", []string{}},
		} {
			got := must[*ListContainerInstancesOutput](t)(e.svc.ListContainerInstances(e.ctx, &ListContainerInstancesInput{Cluster: "drain", Status: tc.status}))
			if !slices.Equal(got.ContainerInstanceArns, tc.want) {
				t.Fatalf("list status=%q = %v, want %v", tc.status, got.ContainerInstanceArns, tc.want)
			}
		}
		page1 := must[*ListContainerInstancesOutput](t)(e.svc.ListContainerInstances(e.ctx, &ListContainerInstancesInput{Cluster: "drain", MaxResults: ptr(2)}))
		page2 := must[*ListContainerInstancesOutput](t)(e.svc.ListContainerInstances(e.ctx, &ListContainerInstancesInput{Cluster: "drain", MaxResults: ptr(2), NextToken: page1.NextToken}))
		if got := append(page1.ContainerInstanceArns, page2.ContainerInstanceArns...); !slices.Equal(got, all) || page2.NextToken != nil {
			t.Fatalf("paged = %v, want %v", got, all)
		}
		for _, in := range []ListContainerInstancesInput{{Cluster: "drain", Status: "INACTIVE"}, {Cluster: "drain", Filter: "attribute:x =="}} {
			_, err := e.svc.ListContainerInstances(e.ctx, &in)
			wantCode(t, err, "InvalidParameterException")
		}

		// RunTask places nothing on the draining instances.
		td := e.simpleTaskDef("drain-app", 256, 256)
		for range 3 {
			ran := e.run("drain", td.TaskDefinitionArn, 4)
			for _, tk := range ran.Tasks {
				if tk.ContainerInstanceArn != b.ContainerInstanceArn {
					t.Fatalf("task placed on draining instance %s", tk.ContainerInstanceArn)
				}
			}
			if len(ran.Tasks)+len(ran.Failures) == 0 {
				t.Fatal("RunTask placed nothing and reported nothing")
			}
		}
		if cpu, _ := remaining(e.describeInstance("drain", b.ContainerInstanceArn)); cpu != 4096-12*256 {
			t.Fatalf("active instance remaining cpu = %d", cpu)
		}
		for _, ci := range []ContainerInstance{a, c} {
			if cpu, _ := remaining(e.describeInstance("drain", ci.ContainerInstanceArn)); cpu != 4096 {
				t.Fatalf("draining instance remaining cpu = %d", cpu)
			}
		}
		// The agent re-registering (as after a restart) keeps the instance DRAINING.
		rereg := must[*ContainerInstanceOutput](t)(e.svc.RegisterContainerInstance(e.ctx, &RegisterContainerInstanceInput{
			Cluster: "drain", ContainerInstanceArn: c.ContainerInstanceArn,
			TotalResources: []Resource{{Name: "CPU", IntegerValue: 4096}, {Name: "MEMORY", IntegerValue: 4096}},
		}))
		if rereg.ContainerInstance.Status != "DRAINING" {
			t.Fatalf("re-registration changed DRAINING to %s", rereg.ContainerInstance.Status)
		}
		// Back to ACTIVE, it takes tasks again.
		must[*DescribeContainerInstancesOutput](t)(e.svc.UpdateContainerInstancesState(e.ctx, &UpdateContainerInstancesStateInput{Cluster: "drain", ContainerInstances: []string{a.ContainerInstanceArn}, Status: "ACTIVE"}))
		// b has room for 4 more, a for 16: ten tasks need a, and c stays empty.
		ran := e.run("drain", td.TaskDefinitionArn, 10)
		onA := 0
		for _, tk := range ran.Tasks {
			switch tk.ContainerInstanceArn {
			case a.ContainerInstanceArn:
				onA++
			case c.ContainerInstanceArn:
				t.Fatalf("task placed on draining instance %s", tk.ContainerInstanceArn)
			}
		}
		if len(ran.Tasks) != 10 || onA < 6 {
			t.Fatalf("after reactivation: %d tasks, %d on the reactivated instance", len(ran.Tasks), onA)
		}
		e.checkNoOvercommit("drain")

		for _, tc := range []struct {
			name string
			in   UpdateContainerInstancesStateInput
			code string
		}{
			{"bad status", UpdateContainerInstancesStateInput{Cluster: "drain", ContainerInstances: []string{a.ContainerInstanceArn}, Status: "INACTIVE"}, "InvalidParameterException"},
			{"no instances", UpdateContainerInstancesStateInput{Cluster: "drain", Status: "DRAINING"}, "InvalidParameterException"},
			{"unknown cluster", UpdateContainerInstancesStateInput{Cluster: "ghost", ContainerInstances: []string{a.ContainerInstanceArn}, Status: "DRAINING"}, "ClusterNotFoundException"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := e.with(t)
				e.rejected(tc.code, func() error { _, err := e.svc.UpdateContainerInstancesState(e.ctx, &tc.in); return err })
			})
		}
	})

	t.Run("DeregisterRefusedWithTasksUnlessForced", func(t *testing.T) {
		e := base.with(t)
		e.cluster("dereg")
		busy := e.instance("dereg", 1024, 1024)
		idle := e.instance("dereg", 1024, 1024)
		td := e.simpleTaskDef("dereg-app", 128, 128)
		if _, err := e.svc.StartTask(e.ctx, &RunTaskInput{Cluster: "dereg", TaskDefinition: td.TaskDefinitionArn, ContainerInstances: []string{busy.ContainerInstanceArn}}); err != nil {
			t.Fatal(err)
		}
		e.rejected("InvalidParameterException", func() error {
			_, err := e.svc.DeregisterContainerInstance(e.ctx, &DeregisterContainerInstanceInput{Cluster: "dereg", ContainerInstance: busy.ContainerInstanceArn})
			return err
		})
		e.rejected("InvalidParameterException", func() error {
			_, err := e.svc.DeregisterContainerInstance(e.ctx, &DeregisterContainerInstanceInput{Cluster: "dereg", ContainerInstance: busy.ContainerInstanceArn, Force: ptr(false)})
			return err
		})
		forced := must[*ContainerInstanceOutput](t)(e.svc.DeregisterContainerInstance(e.ctx, &DeregisterContainerInstanceInput{Cluster: "dereg", ContainerInstance: busy.ContainerInstanceArn, Force: ptr(true)}))
		if forced.ContainerInstance.Status != "INACTIVE" || forced.ContainerInstance.AgentConnected {
			t.Fatalf("forced = %+v", forced.ContainerInstance)
		}
		plain := must[*ContainerInstanceOutput](t)(e.svc.DeregisterContainerInstance(e.ctx, &DeregisterContainerInstanceInput{Cluster: "dereg", ContainerInstance: lastSegment(idle.ContainerInstanceArn)}))
		if plain.ContainerInstance.Status != "INACTIVE" {
			t.Fatalf("deregistered = %+v", plain.ContainerInstance)
		}
		list := must[*ListContainerInstancesOutput](t)(e.svc.ListContainerInstances(e.ctx, &ListContainerInstancesInput{Cluster: "dereg"}))
		if len(list.ContainerInstanceArns) != 0 {
			t.Fatalf("inactive instances listed: %v", list.ContainerInstanceArns)
		}
		// Deregistered instances are gone for good.
		e.rejected("InvalidParameterException", func() error {
			_, err := e.svc.DeregisterContainerInstance(e.ctx, &DeregisterContainerInstanceInput{Cluster: "dereg", ContainerInstance: idle.ContainerInstanceArn})
			return err
		})
		e.rejected("ClientException", func() error {
			_, err := e.svc.RegisterContainerInstance(e.ctx, &RegisterContainerInstanceInput{
				Cluster: "dereg", ContainerInstanceArn: idle.ContainerInstanceArn,
				TotalResources: []Resource{{Name: "CPU", IntegerValue: 1024}, {Name: "MEMORY", IntegerValue: 1024}},
			})
			return err
		})
		e.rejected("ClusterNotFoundException", func() error {
			_, err := e.svc.DeregisterContainerInstance(e.ctx, &DeregisterContainerInstanceInput{Cluster: "ghost", ContainerInstance: idle.ContainerInstanceArn})
			return err
		})
	})
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}
