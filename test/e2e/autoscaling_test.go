package e2e

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
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
	ami := strings.TrimSpace(b.Run(t, cli, "ssm", "get-parameter", "--name", "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id",
		"--query", "Parameter.Value", "--output", "text").MustSucceed(t).Stdout)
	userData := base64.StdEncoding.EncodeToString([]byte("#!/bin/bash\necho ECS_CLUSTER=" + cluster + " >> /etc/ecs/ecs.config\n"))
	data, _ := json.Marshal(map[string]any{"ImageId": ami, "InstanceType": "t3.micro", "UserData": userData,
		"IamInstanceProfile": map[string]string{"Name": "ecsInstanceRole"}})
	template := uniqueName("e2e-asg-lt")
	b.Run(t, cli, "ec2", "create-launch-template", "--launch-template-name", template, "--launch-template-data", string(data)).MustSucceed(t)
	var subnets struct{ Subnets []struct{ SubnetId, AvailabilityZone string } }
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
	var acts struct{ Activities []struct{ Description, Cause, StatusCode string } }
	b.Run(t, cli, "autoscaling", "describe-scaling-activities", "--auto-scaling-group-name", group).MustSucceed(t).JSON(t, &acts)
	if !slices.ContainsFunc(acts.Activities, func(a struct{ Description, Cause, StatusCode string }) bool {
		return a.Description == "Terminating EC2 instance: "+victim && strings.Contains(a.Cause, "EC2 health check indicating it has been terminated or stopped")
	}) {
		t.Fatalf("no activity explains %s: %+v", victim, acts.Activities)
	}
}
