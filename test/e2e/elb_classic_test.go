package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestClassicLoadBalancerCLI: the Classic API with the aws CLI's elb
// commands. A task with a static host port runs on one of Berth's
// instances; a Classic load balancer in two default subnets, with an HTTP
// listener on a free port of 127.0.0.1 and an HTTP health check, takes the
// instance; once it is InService the listener answers from the task.
// The instances' group lets the load balancer's group in on the port.
func TestClassicLoadBalancerCLI(t *testing.T) {
	b := shared(t)
	cli := requireCLIv2(t)
	image := testutil.BuildTestImage(t, "")
	insts := waitForInstances(t, b, cli, defaultCluster, 2)

	var subnets struct{ Subnets []struct{ SubnetId string } }
	b.Run(t, cli, "ec2", "describe-subnets", "--filters", "Name=default-for-az,Values=true").MustSucceed(t).JSON(t, &subnets)
	if len(subnets.Subnets) < 2 {
		t.Fatalf("default subnets %+v", subnets)
	}
	var sg struct{ GroupId string }
	b.Run(t, cli, "ec2", "create-security-group", "--group-name", uniqueName("e2e-clb"), "--description", "classic load balancer").MustSucceed(t).JSON(t, &sg)
	var hostGroups struct {
		SecurityGroups []struct{ GroupId string }
	}
	b.Run(t, cli, "ec2", "describe-security-groups", "--filters", "Name=group-name,Values=berth-up").MustSucceed(t).JSON(t, &hostGroups)
	if len(hostGroups.SecurityGroups) != 1 {
		t.Fatalf("berth-up group: %+v", hostGroups)
	}
	hostPortN := 40000 + freeLoopbackPort(t)%20000
	hostPort := fmt.Sprint(hostPortN)
	rule := []string{"--group-id", hostGroups.SecurityGroups[0].GroupId, "--protocol", "tcp", "--port", hostPort, "--source-group", sg.GroupId}
	b.Run(t, cli, append([]string{"ec2", "authorize-security-group-ingress"}, rule...)...).MustSucceed(t)
	t.Cleanup(func() { b.Run(t, cli, append([]string{"ec2", "revoke-security-group-ingress"}, rule...)...) })

	// A web task on a static host port.
	td := map[string]any{"family": uniqueName("e2e-clbweb"), "containerDefinitions": []any{map[string]any{
		"name": "web", "image": image, "memory": 64, "essential": true,
		"portMappings": []any{map[string]any{"containerPort": 8080, "hostPort": hostPortN}},
	}}}
	var tdOut taskDefinitionOutput
	b.Run(t, cli, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "clbweb.json", td)).MustSucceed(t).JSON(t, &tdOut)
	tk := runTask(t, b, cli, defaultCluster, tdOut.TaskDefinition.TaskDefinitionArn)
	tk = waitTask(t, b, cli, defaultCluster, tk.TaskArn, "RUNNING")
	instanceID := ""
	for _, ci := range insts {
		if ci.ContainerInstanceArn == tk.ContainerInstanceArn {
			instanceID = ci.Ec2InstanceId
		}
	}
	if instanceID == "" {
		t.Fatalf("the task's instance %s is none of %+v", tk.ContainerInstanceArn, insts)
	}

	name := uniqueName("e2e-clb")
	port := freeLoopbackPort(t)
	var created struct{ DNSName string }
	b.Run(t, cli, "elb", "create-load-balancer", "--load-balancer-name", name,
		"--listeners", fmt.Sprintf("Protocol=HTTP,LoadBalancerPort=%d,InstanceProtocol=HTTP,InstancePort=%s", port, hostPort),
		"--subnets", subnets.Subnets[0].SubnetId, subnets.Subnets[1].SubnetId, "--security-groups", sg.GroupId).MustSucceed(t).JSON(t, &created)
	t.Cleanup(func() { b.Run(t, cli, "elb", "delete-load-balancer", "--load-balancer-name", name) })
	if !regexp.MustCompile(`^` + name + `-\d{10}\.us-east-1\.elb\.amazonaws\.com$`).MatchString(created.DNSName) {
		t.Errorf("DNS name %q", created.DNSName)
	}
	// HTTPS waits for certificates.
	b.Run(t, cli, "elb", "create-load-balancer-listeners", "--load-balancer-name", name,
		"--listeners", fmt.Sprintf("Protocol=HTTPS,LoadBalancerPort=%d,InstancePort=%s", freeLoopbackPort(t), hostPort)).
		MustFail(t, 254, "certificates are not supported on Classic listeners yet")
	b.Run(t, cli, "elb", "configure-health-check", "--load-balancer-name", name,
		"--health-check", fmt.Sprintf("Target=HTTP:%s/,Interval=5,Timeout=2,UnhealthyThreshold=2,HealthyThreshold=2", hostPort)).MustSucceed(t)
	b.Run(t, cli, "elb", "register-instances-with-load-balancer", "--load-balancer-name", name, "--instances", instanceID).MustSucceed(t)

	eventually(t, 60*time.Second, time.Second, "the instance to be InService", func() (bool, string) {
		r := b.Run(t, cli, "elb", "describe-instance-health", "--load-balancer-name", name).MustSucceed(t)
		var h struct {
			InstanceStates []struct{ InstanceId, State, ReasonCode, Description string }
		}
		r.JSON(t, &h)
		return len(h.InstanceStates) == 1 && h.InstanceStates[0].InstanceId == instanceID && h.InstanceStates[0].State == "InService", r.String()
	})
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatalf("through the Classic listener: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var out struct{ Hostname string }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &out) != nil || out.Hostname == "" {
		t.Fatalf("through the Classic listener: %d %s", resp.StatusCode, body)
	}

	var d struct {
		LoadBalancerDescriptions []struct {
			Instances []struct{ InstanceId string }
		}
	}
	b.Run(t, cli, "elb", "describe-load-balancers", "--load-balancer-names", name).MustSucceed(t).JSON(t, &d)
	if len(d.LoadBalancerDescriptions) != 1 || len(d.LoadBalancerDescriptions[0].Instances) != 1 || d.LoadBalancerDescriptions[0].Instances[0].InstanceId != instanceID {
		t.Fatalf("describe-load-balancers: %+v", d)
	}
	b.Run(t, cli, "elb", "describe-load-balancers", "--load-balancer-names", "e2e-clb-none").MustFail(t, 254, "There is no ACTIVE Load Balancer named 'e2e-clb-none'")
	if !strings.HasPrefix(instanceID, "i-") {
		t.Fatalf("instance id %q", instanceID)
	}
}
