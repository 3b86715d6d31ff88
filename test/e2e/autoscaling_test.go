package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestAutoScalingGroupWithCLI is the first scenario with the aws
// CLI: a group of two over two subnets, from a launch template whose user
// data names the cluster, brings two container instances in two zones;
// an instance terminated with ec2 terminate-instances is replaced, and
// the scaling activities say why.
func TestAutoScalingGroupWithCLI(t *testing.T) {
	b := shared(t)
	cli := requireCLIv2(t)
	cluster := uniqueName("e2e-asg")
	b.Run(t, cli, "ecs", "create-cluster", "--cluster-name", cluster).MustSucceed(t)
	template := clusterLaunchTemplate(t, b, cli, cluster, "t3.micro", nil)
	var subnets struct {
		Subnets []struct{ SubnetId, AvailabilityZone string }
	}
	b.Run(t, cli, "ec2", "describe-subnets", "--filters", "Name=default-for-az,Values=true").MustSucceed(t).JSON(t, &subnets)
	if len(subnets.Subnets) < 2 {
		t.Fatalf("default subnets: %+v", subnets)
	}
	group := uniqueName("e2e-asg")
	start := time.Now()
	b.Run(t, cli, "autoscaling", "create-auto-scaling-group", "--auto-scaling-group-name", group,
		"--launch-template", "LaunchTemplateName="+template, "--min-size", "2", "--max-size", "4", "--desired-capacity", "2",
		"--vpc-zone-identifier", subnets.Subnets[0].SubnetId+","+subnets.Subnets[1].SubnetId).MustSucceed(t)
	t.Cleanup(func() {
		b.Run(t, cli, "autoscaling", "delete-auto-scaling-group", "--auto-scaling-group-name", group, "--force-delete")
	})
	insts := waitForInstances(t, b, cli, cluster, 2)
	t.Logf("create-auto-scaling-group to 2 container instances registered: %v", time.Since(start).Round(10*time.Millisecond))
	type asgInstance struct{ InstanceId, AvailabilityZone, LifecycleState string }
	describe := func() []asgInstance {
		var out struct {
			AutoScalingGroups []struct{ Instances []asgInstance }
		}
		b.Run(t, cli, "autoscaling", "describe-auto-scaling-groups", "--auto-scaling-group-names", group).MustSucceed(t).JSON(t, &out)
		if len(out.AutoScalingGroups) != 1 {
			t.Fatalf("describe-auto-scaling-groups: %+v", out)
		}
		return out.AutoScalingGroups[0].Instances
	}
	members := describe()
	zones := map[string]bool{}
	var ids []string
	for _, m := range members {
		zones[m.AvailabilityZone] = true
		ids = append(ids, m.InstanceId)
	}
	if len(members) != 2 || len(zones) != 2 {
		t.Fatalf("group instances %+v, want two in two zones", members)
	}
	for _, ci := range insts {
		if !slices.Contains(ids, ci.Ec2InstanceId) {
			t.Fatalf("container instance of %s, not of the group %v", ci.Ec2InstanceId, ids)
		}
	}

	// Terminated for good: the group launches a replacement that joins.
	victim := ids[0]
	b.Run(t, cli, "ec2", "terminate-instances", "--instance-ids", victim).MustSucceed(t)
	eventually(t, instanceTimeout, time.Second, "a replacement in service", func() (bool, string) {
		ms := describe()
		n := 0
		for _, m := range ms {
			if m.InstanceId == victim {
				return false, "still holds " + victim
			}
			if m.LifecycleState == "InService" {
				n++
			}
		}
		return n == 2, ""
	})
	waitForInstances(t, b, cli, cluster, 2)
	var acts struct {
		Activities []struct{ Description, Cause, StatusCode string }
	}
	b.Run(t, cli, "autoscaling", "describe-scaling-activities", "--auto-scaling-group-name", group).MustSucceed(t).JSON(t, &acts)
	if !slices.ContainsFunc(acts.Activities, func(a struct{ Description, Cause, StatusCode string }) bool {
		return a.Description == "Terminating EC2 instance: "+victim && strings.Contains(a.Cause, "EC2 health check indicating it has been terminated or stopped")
	}) {
		t.Fatalf("no activity explains %s: %+v", victim, acts.Activities)
	}
}

// TestClusterAutoScalingWithCLI is the managed scaling scenario
// with the aws CLI and real instances: a service of 20 tasks of 512 MiB on
// an empty cluster whose default capacity provider scales a group of
// t3.medium (max 6): the tasks wait in PROVISIONING, the group scales out
// and all 20 run; at 2 tasks the group scales in to the instances that
// run them, and those 2 tasks never stop.
func TestClusterAutoScalingWithCLI(t *testing.T) {
	b := shared(t)
	cli := requireCLIv2(t)
	image := testutil.BuildTestImage(t, "")
	cluster := uniqueName("e2e-cas")
	b.Run(t, cli, "ecs", "create-cluster", "--cluster-name", cluster).MustSucceed(t)
	template := clusterLaunchTemplate(t, b, cli, cluster, "t3.medium", nil)
	var subnets struct{ Subnets []struct{ SubnetId string } }
	b.Run(t, cli, "ec2", "describe-subnets", "--filters", "Name=default-for-az,Values=true").MustSucceed(t).JSON(t, &subnets)
	group := uniqueName("e2e-cas")
	b.Run(t, cli, "autoscaling", "create-auto-scaling-group", "--auto-scaling-group-name", group,
		"--launch-template", "LaunchTemplateName="+template, "--min-size", "0", "--max-size", "6", "--desired-capacity", "0",
		"--vpc-zone-identifier", subnets.Subnets[0].SubnetId+","+subnets.Subnets[1].SubnetId).MustSucceed(t)
	t.Cleanup(func() {
		b.Run(t, cli, "autoscaling", "delete-auto-scaling-group", "--auto-scaling-group-name", group, "--force-delete")
	})
	provider := uniqueName("e2e-cas-cp")
	b.Run(t, cli, "ecs", "create-capacity-provider", "--name", provider, "--auto-scaling-group-provider",
		"autoScalingGroupArn="+group+",managedScaling={status=ENABLED,targetCapacity=100,instanceWarmupPeriod=0},managedTerminationProtection=ENABLED").MustSucceed(t)
	b.Run(t, cli, "ecs", "put-cluster-capacity-providers", "--cluster", cluster, "--capacity-providers", provider,
		"--default-capacity-provider-strategy", "capacityProvider="+provider+",weight=1").MustSucceed(t)

	family := uniqueName("e2e-cas")
	td := exampleTaskDef(t)
	td["family"] = family
	c := firstContainer(t, td)
	c["image"] = image
	c["memory"] = 512
	delete(c, "portMappings")
	b.Run(t, cli, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "taskdef.json", td)).MustSucceed(t)
	name := uniqueName("e2e-cas")
	start := time.Now()
	b.Run(t, cli, "ecs", "create-service", "--cluster", cluster, "--service-name", name, "--task-definition", family, "--desired-count", "20").MustSucceed(t)
	t.Cleanup(func() {
		b.Run(t, cli, "ecs", "delete-service", "--cluster", cluster, "--service", name, "--force")
	})
	waitService(t, b, cli, cluster, name, "waiting in PROVISIONING", 30*time.Second, func(s service) bool { return s.PendingCount == 20 })
	var listed struct{ TaskArns []string }
	b.Run(t, cli, "ecs", "list-tasks", "--cluster", cluster, "--service-name", name).MustSucceed(t).JSON(t, &listed)
	if len(listed.TaskArns) > 0 {
		var desc struct{ Tasks []task }
		b.Run(t, cli, append([]string{"ecs", "describe-tasks", "--cluster", cluster, "--tasks"}, listed.TaskArns[:1]...)...).MustSucceed(t).JSON(t, &desc)
		if len(desc.Tasks) != 1 || (desc.Tasks[0].LastStatus != "PROVISIONING" && desc.Tasks[0].LastStatus != "PENDING" && desc.Tasks[0].LastStatus != "RUNNING") {
			t.Fatalf("a task of the service: %+v", desc.Tasks)
		}
	}
	waitService(t, b, cli, cluster, name, "running 20", 3*time.Minute, func(s service) bool { return s.RunningCount == 20 })
	t.Logf("desired count 0 → 20 on an empty managed cluster until all 20 run: %v", time.Since(start).Round(100*time.Millisecond))
	type asgInstance struct {
		InstanceId           string
		ProtectedFromScaleIn bool
	}
	members := func() (desired int, ms []asgInstance) {
		var out struct {
			AutoScalingGroups []struct {
				DesiredCapacity int
				Instances       []asgInstance
			}
		}
		b.Run(t, cli, "autoscaling", "describe-auto-scaling-groups", "--auto-scaling-group-names", group).MustSucceed(t).JSON(t, &out)
		return out.AutoScalingGroups[0].DesiredCapacity, out.AutoScalingGroups[0].Instances
	}
	if d, ms := members(); d != 3 || len(ms) != 3 {
		t.Fatalf("group at %d with %d instances for 20 × 512 MiB on t3.medium, want 3", d, len(ms))
	}

	// Down to 2 tasks: the group shrinks to the instances that run them.
	b.Run(t, cli, "ecs", "update-service", "--cluster", cluster, "--service", name, "--desired-count", "2").MustSucceed(t)
	scaleIn := time.Now()
	waitService(t, b, cli, cluster, name, "down to 2", time.Minute, func(s service) bool { return s.RunningCount == 2 && s.PendingCount == 0 })
	kept := serviceTasks(t, b, cli, cluster, name)
	hosts := map[string]bool{}
	for _, tk := range kept {
		hosts[tk.ContainerInstanceArn] = true
	}
	var ec2Hosts []string
	for _, ci := range waitForInstances(t, b, cli, cluster, 3) {
		if hosts[ci.ContainerInstanceArn] {
			ec2Hosts = append(ec2Hosts, ci.Ec2InstanceId)
		}
	}
	eventually(t, 3*time.Minute, time.Second, "the group to shrink to the instances that run tasks", func() (bool, string) {
		d, ms := members()
		var ids []string
		for _, m := range ms {
			ids = append(ids, m.InstanceId)
		}
		return d == len(ec2Hosts) && len(ms) == len(ec2Hosts), fmt.Sprintf("desired %d, instances %v, hosts %v", d, ids, ec2Hosts)
	})
	t.Logf("desired count 20 → 2 until the group shrank to %d: %v", len(ec2Hosts), time.Since(scaleIn).Round(100*time.Millisecond))
	for _, tk := range kept {
		if got := waitTask(t, b, cli, cluster, tk.TaskArn, "RUNNING"); got.LastStatus != "RUNNING" {
			t.Fatalf("task %s on a kept instance is %s", tk.TaskArn, got.LastStatus)
		}
	}
}
