package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestFargateWithCLI: the article's serverless ECS with the aws CLI. A
// cluster with no instances runs a FARGATE task (its Fargate host is
// launched on demand and seen nowhere: no container instance, no EC2
// instance); the task shows FARGATE's fields and its interface, and
// answers at its private address when its security group allows; a
// FARGATE service of 4 tasks spreads over its subnets' zones; AWS's
// errors for a definition that is not FARGATE-compatible and for
// placement constraints.
func TestFargateWithCLI(t *testing.T) {
	b := shared(t)
	cli := requireCLIv2(t)
	image := testutil.BuildTestImage(t, "")
	cluster := uniqueName("e2e-fargate")
	b.Run(t, cli, "ecs", "create-cluster", "--cluster-name", cluster).MustSucceed(t)

	var subnets struct {
		Subnets []struct{ SubnetId, AvailabilityZone string }
	}
	b.Run(t, cli, "ec2", "describe-subnets", "--filters", "Name=default-for-az,Values=true").MustSucceed(t).JSON(t, &subnets)
	var ids []string
	for _, s := range subnets.Subnets[:2] {
		ids = append(ids, s.SubnetId)
	}
	var sg struct{ GroupId string }
	b.Run(t, cli, "ec2", "create-security-group", "--group-name", uniqueName("e2e-fargate"), "--description", "fargate web").MustSucceed(t).JSON(t, &sg)
	b.Run(t, cli, "ec2", "authorize-security-group-ingress", "--group-id", sg.GroupId, "--protocol", "tcp", "--port", "8080", "--cidr", "0.0.0.0/0").MustSucceed(t)
	network := fmt.Sprintf("awsvpcConfiguration={subnets=[%s],securityGroups=[%s],assignPublicIp=ENABLED}", strings.Join(ids, ","), sg.GroupId)

	family := uniqueName("e2e-fargate")
	td := map[string]any{"family": family, "networkMode": "awsvpc", "requiresCompatibilities": []string{"FARGATE"}, "cpu": "256", "memory": "512",
		"containerDefinitions": []any{map[string]any{"name": "web", "image": image, "essential": true, "portMappings": []any{map[string]any{"containerPort": 8080}}}}}
	var reg struct {
		TaskDefinition struct{ Compatibilities []string }
	}
	b.Run(t, cli, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "fargate.json", td)).MustSucceed(t).JSON(t, &reg)
	if !strings.Contains(strings.Join(reg.TaskDefinition.Compatibilities, ","), "FARGATE") {
		t.Fatalf("compatibilities %v", reg.TaskDefinition.Compatibilities)
	}

	// AWS's errors, nothing started.
	bridge := uniqueName("e2e-fargate-bridge")
	b.Run(t, cli, "ecs", "register-task-definition", "--family", bridge, "--container-definitions",
		`[{"name":"web","image":"`+image+`","memory":64}]`).MustSucceed(t)
	r := b.Run(t, cli, "ecs", "run-task", "--cluster", cluster, "--launch-type", "FARGATE", "--task-definition", bridge, "--network-configuration", network)
	r.MustFail(t, cli.ServiceErrorExit, "InvalidParameterException")
	if !strings.Contains(r.Stderr, "does not support launch_type FARGATE") {
		t.Fatalf("bridge definition on FARGATE: %s", r.Stderr)
	}
	r = b.Run(t, cli, "ecs", "run-task", "--cluster", cluster, "--launch-type", "FARGATE", "--task-definition", family, "--network-configuration", network,
		"--placement-constraints", "type=distinctInstance")
	r.MustFail(t, cli.ServiceErrorExit, "InvalidParameterException")

	run := func() task {
		t.Helper()
		var out tasksOutput
		b.Run(t, cli, "ecs", "run-task", "--cluster", cluster, "--launch-type", "FARGATE", "--task-definition", family,
			"--network-configuration", network).MustSucceed(t).JSON(t, &out)
		if len(out.Tasks) != 1 {
			t.Fatalf("run-task: %+v", out)
		}
		b.TrackTask(out.Tasks[0].TaskArn)
		return out.Tasks[0]
	}
	started := time.Now()
	first := waitTask(t, b, cli, cluster, run().TaskArn, "RUNNING")
	t.Logf("first FARGATE task of a cluster to RUNNING (its host launched): %v", time.Since(started).Round(10*time.Millisecond))
	started = time.Now()
	second := waitTask(t, b, cli, cluster, run().TaskArn, "RUNNING")
	t.Logf("next FARGATE task to RUNNING: %v", time.Since(started).Round(10*time.Millisecond))

	var described struct {
		Tasks []struct {
			LaunchType, PlatformVersion, PlatformFamily, ContainerInstanceArn, AvailabilityZone string
			EphemeralStorage                                                                    struct{ SizeInGiB int }
		}
	}
	b.Run(t, cli, "ecs", "describe-tasks", "--cluster", cluster, "--tasks", first.TaskArn).MustSucceed(t).JSON(t, &described)
	if d := described.Tasks[0]; d.LaunchType != "FARGATE" || d.PlatformVersion != "1.4.0" || d.PlatformFamily != "Linux" || d.ContainerInstanceArn != "" ||
		d.EphemeralStorage.SizeInGiB != 20 || d.AvailabilityZone == "" {
		t.Fatalf("describe-tasks of a Fargate task: %+v", d)
	}
	for _, tk := range []task{first, second} {
		if len(tk.Attachments) != 1 || tk.Attachments[0].Type != "ElasticNetworkInterface" {
			t.Fatalf("attachments %+v", tk.Attachments)
		}
		ip := tk.Attachments[0].detail("privateIPv4Address")
		eventually(t, 15*time.Second, 200*time.Millisecond, "the Fargate task at "+ip+":8080", func() (bool, string) { return reachable(ip, 8080) })
	}
	// Task metadata v4 from inside the task: Fargate's fields, and the
	// interface its containers share.
	ip := first.Attachments[0].detail("privateIPv4Address")
	var root struct{ Env map[string]string }
	httpGetJSON(t, "http://"+ip+":8080/", &root)
	var fetched struct {
		Status int
		Body   string
	}
	httpGetJSON(t, "http://"+ip+":8080/fetch?url="+url.QueryEscape(root.Env["ECS_CONTAINER_METADATA_URI_V4"]+"/task"), &fetched)
	var meta struct {
		LaunchType              string
		ClockDrift              *struct{ ClockSynchronizationStatus string }
		EphemeralStorageMetrics *struct{ Reserved int }
		Containers              []struct {
			Networks []struct {
				NetworkMode, IPv4SubnetCIDRBlock string
				IPv4Addresses                    []string
			}
		}
	}
	if err := json.Unmarshal([]byte(fetched.Body), &meta); err != nil || fetched.Status != 200 {
		t.Fatalf("task metadata %d %q: %v", fetched.Status, fetched.Body, err)
	}
	if meta.LaunchType != "FARGATE" || meta.ClockDrift == nil || meta.EphemeralStorageMetrics == nil || meta.EphemeralStorageMetrics.Reserved != 20*1024 ||
		len(meta.Containers) != 1 || len(meta.Containers[0].Networks) != 1 {
		t.Fatalf("task metadata of a Fargate task: %s", fetched.Body)
	}
	if n := meta.Containers[0].Networks[0]; n.NetworkMode != "awsvpc" || len(n.IPv4Addresses) != 1 || n.IPv4Addresses[0] != ip || n.IPv4SubnetCIDRBlock == "" {
		t.Fatalf("the container's network in its metadata: %+v", n)
	}

	var list struct{ ContainerInstanceArns []string }
	b.Run(t, cli, "ecs", "list-container-instances", "--cluster", cluster).MustSucceed(t).JSON(t, &list)
	if len(list.ContainerInstanceArns) != 0 {
		t.Fatalf("a Fargate cluster lists container instances %v", list.ContainerInstanceArns)
	}
	var res struct {
		Reservations []struct{ Instances []ec2Instance }
	}
	b.Run(t, cli, "ec2", "describe-instances", "--filters", "Name=instance-type,Values=m5.24xlarge").MustSucceed(t).JSON(t, &res)
	if len(res.Reservations) != 0 {
		t.Fatalf("describe-instances shows the Fargate host: %+v", res)
	}

	// A FARGATE service of 4 tasks spreads over the subnets' zones.
	service := uniqueName("e2e-fargate-svc")
	b.Run(t, cli, "ecs", "create-service", "--cluster", cluster, "--service-name", service, "--task-definition", family,
		"--desired-count", "4", "--launch-type", "FARGATE", "--network-configuration", network).MustSucceed(t)
	t.Cleanup(func() {
		b.Run(t, cli, "ecs", "delete-service", "--cluster", cluster, "--service", service, "--force")
	})
	eventually(t, 90*time.Second, time.Second, "4 running Fargate service tasks in two zones", func() (bool, string) {
		var arns struct{ TaskArns []string }
		b.Run(t, cli, "ecs", "list-tasks", "--cluster", cluster, "--service-name", service, "--desired-status", "RUNNING").MustSucceed(t).JSON(t, &arns)
		if len(arns.TaskArns) != 4 {
			return false, fmt.Sprint(len(arns.TaskArns), " tasks")
		}
		var out struct {
			Tasks []struct{ LastStatus, AvailabilityZone, LaunchType string }
		}
		b.Run(t, cli, append([]string{"ecs", "describe-tasks", "--cluster", cluster, "--tasks"}, arns.TaskArns...)...).MustSucceed(t).JSON(t, &out)
		zones := map[string]int{}
		for _, tk := range out.Tasks {
			if tk.LastStatus != "RUNNING" || tk.LaunchType != "FARGATE" {
				return false, fmt.Sprintf("%+v", out.Tasks)
			}
			zones[tk.AvailabilityZone]++
		}
		return len(zones) == 2, fmt.Sprint(zones)
	})
	// A rolling deployment to a new revision replaces all four.
	td["containerDefinitions"].([]any)[0].(map[string]any)["environment"] = []any{map[string]any{"name": "REVISION", "value": "2"}}
	var rev2 struct {
		TaskDefinition struct{ TaskDefinitionArn string }
	}
	b.Run(t, cli, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "fargate2.json", td)).MustSucceed(t).JSON(t, &rev2)
	b.Run(t, cli, "ecs", "update-service", "--cluster", cluster, "--service", service, "--task-definition", rev2.TaskDefinition.TaskDefinitionArn).MustSucceed(t)
	eventually(t, 120*time.Second, time.Second, "the Fargate service on its new revision", func() (bool, string) {
		var svc struct {
			Services []struct {
				RunningCount int
				Deployments  []struct{ TaskDefinition, RolloutState string }
			}
		}
		b.Run(t, cli, "ecs", "describe-services", "--cluster", cluster, "--services", service).MustSucceed(t).JSON(t, &svc)
		s := svc.Services[0]
		done := len(s.Deployments) == 1 && s.Deployments[0].TaskDefinition == rev2.TaskDefinition.TaskDefinitionArn &&
			s.Deployments[0].RolloutState == "COMPLETED" && s.RunningCount == 4
		return done, fmt.Sprintf("%+v", s)
	})
	b.Run(t, cli, "ecs", "update-service", "--cluster", cluster, "--service", service, "--desired-count", "0").MustSucceed(t)
	for _, tk := range []task{first, second} {
		b.Run(t, cli, "ecs", "stop-task", "--cluster", cluster, "--task", tk.TaskArn).MustSucceed(t)
	}
}
