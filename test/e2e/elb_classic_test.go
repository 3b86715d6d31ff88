package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestClassicLoadBalancerCLI: the Classic API with the aws CLI's elb
// commands. A Classic load balancer in two default subnets, with an HTTP
// listener on a free port of 127.0.0.1 and an HTTP health check; an ECS
// service naming it (a static host port) has its task's instance
// registered, InService, answering through the listener; Berth's other
// instance, registered by hand, runs nothing there and is OutOfService
// with AWS's reason; scaled to zero, the service deregisters its
// instance. (The instances' group, berth-up, lets everything in; the rule
// naming the load balancer's group is the article's.)
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
	admitClients(t, b, cli, sg.GroupId)
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
	// HTTPS needs a certificate.
	b.Run(t, cli, "elb", "create-load-balancer-listeners", "--load-balancer-name", name,
		"--listeners", fmt.Sprintf("Protocol=HTTPS,LoadBalancerPort=%d,InstancePort=%s", freeLoopbackPort(t), hostPort)).
		MustFail(t, 254, "Secure Listeners need to specify a SSLCertificateId")
	b.Run(t, cli, "elb", "configure-health-check", "--load-balancer-name", name,
		"--health-check", fmt.Sprintf("Target=HTTP:%s/,Interval=5,Timeout=2,UnhealthyThreshold=2,HealthyThreshold=2", hostPort)).MustSucceed(t)

	// A service naming the load balancer: ECS registers its task's
	// instance (ECS needs a static host port for a Classic load balancer).
	td := map[string]any{"family": uniqueName("e2e-clbweb"), "containerDefinitions": []any{map[string]any{
		"name": "web", "image": image, "memory": 64, "essential": true,
		"portMappings": []any{map[string]any{"containerPort": 8080, "hostPort": hostPortN}},
	}}}
	var tdOut taskDefinitionOutput
	b.Run(t, cli, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "clbweb.json", td)).MustSucceed(t).JSON(t, &tdOut)
	taskDef := tdOut.TaskDefinition.TaskDefinitionArn
	svcName := uniqueName("e2e-clbsvc")
	b.Run(t, cli, "ecs", "create-service", "--cluster", defaultCluster, "--service-name", svcName, "--task-definition", taskDef,
		"--desired-count", "1", "--load-balancers", "loadBalancerName="+name+",containerName=web,containerPort=8080").MustSucceed(t)
	t.Cleanup(func() {
		b.Run(t, cli, "ecs", "delete-service", "--cluster", defaultCluster, "--service", svcName, "--force")
	})
	svc := waitService(t, b, cli, defaultCluster, svcName, "to run 1 task behind the healthy instance", 120*time.Second,
		func(s service) bool { return s.settled(taskDef) })
	if !svc.said("registered 1 instances in (elb " + name + ")") {
		t.Errorf("events: %s", pretty(svc.Events))
	}
	tasks := serviceTasks(t, b, cli, defaultCluster, svcName)
	serving, idle := "", ""
	for _, ci := range insts {
		if ci.ContainerInstanceArn == tasks[0].ContainerInstanceArn {
			serving = ci.Ec2InstanceId
		} else {
			idle = ci.Ec2InstanceId
		}
	}
	if serving == "" || idle == "" {
		t.Fatalf("the task's instance %s among %+v", tasks[0].ContainerInstanceArn, insts)
	}
	// The other instance, registered by hand, runs nothing on the port:
	// it fails its checks.
	b.Run(t, cli, "elb", "register-instances-with-load-balancer", "--load-balancer-name", name, "--instances", idle).MustSucceed(t)
	type states struct {
		InstanceStates []struct{ InstanceId, State, ReasonCode, Description string }
	}
	eventually(t, 60*time.Second, time.Second, "the task's instance InService, the other OutOfService", func() (bool, string) {
		r := b.Run(t, cli, "elb", "describe-instance-health", "--load-balancer-name", name).MustSucceed(t)
		var h states
		r.JSON(t, &h)
		got := map[string]string{}
		for _, st := range h.InstanceStates {
			got[st.InstanceId] = st.State + " " + st.ReasonCode + " " + st.Description
		}
		return got[serving] == "InService N/A N/A" &&
			got[idle] == "OutOfService Instance Instance has failed at least the UnhealthyThreshold number of health checks consecutively.", r.String()
	})
	client := &http.Client{Timeout: 5 * time.Second}
	for range 4 {
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
	}
	b.Run(t, cli, "elb", "deregister-instances-from-load-balancer", "--load-balancer-name", name, "--instances", idle).MustSucceed(t)
	b.Run(t, cli, "elb", "describe-load-balancers", "--load-balancer-names", "e2e-clb-none").MustFail(t, 254, "There is no ACTIVE Load Balancer named 'e2e-clb-none'")

	// Scaled to zero, the service deregisters its instance.
	b.Run(t, cli, "ecs", "update-service", "--cluster", defaultCluster, "--service", svcName, "--desired-count", "0").MustSucceed(t)
	eventually(t, 60*time.Second, time.Second, "the instance deregistered", func() (bool, string) {
		r := b.Run(t, cli, "elb", "describe-load-balancers", "--load-balancer-names", name).MustSucceed(t)
		var d struct {
			LoadBalancerDescriptions []struct {
				Instances []struct{ InstanceId string }
			}
		}
		r.JSON(t, &d)
		return len(d.LoadBalancerDescriptions) == 1 && len(d.LoadBalancerDescriptions[0].Instances) == 0, r.String()
	})
}

// TestClassicLoadBalancerSecurityGroupsCLI: a Classic load balancer's
// connections come from its interfaces, in its security groups, so the
// instances' groups judge them: an instance whose group lets nothing in
// is OutOfService (its checks time out); a rule naming the load
// balancer's group makes it InService and the listener answers.
func TestClassicLoadBalancerSecurityGroupsCLI(t *testing.T) {
	b := shared(t)
	cli := requireCLIv2(t)
	image := testutil.BuildTestImage(t, "")
	cluster, hostSG, lbSG := guardedInstance(t, b, cli, "e2e-clbsg")

	var subnets struct{ Subnets []struct{ SubnetId string } }
	b.Run(t, cli, "ec2", "describe-subnets", "--filters", "Name=default-for-az,Values=true").MustSucceed(t).JSON(t, &subnets)
	hostPort := 40000 + freeLoopbackPort(t)%20000
	port := freeLoopbackPort(t)
	name := uniqueName("e2e-clbsg")
	b.Run(t, cli, "elb", "create-load-balancer", "--load-balancer-name", name,
		"--listeners", fmt.Sprintf("Protocol=HTTP,LoadBalancerPort=%d,InstanceProtocol=HTTP,InstancePort=%d", port, hostPort),
		"--subnets", subnets.Subnets[0].SubnetId, subnets.Subnets[1].SubnetId, "--security-groups", lbSG).MustSucceed(t)
	t.Cleanup(func() { b.Run(t, cli, "elb", "delete-load-balancer", "--load-balancer-name", name) })
	b.Run(t, cli, "elb", "configure-health-check", "--load-balancer-name", name,
		"--health-check", fmt.Sprintf("Target=HTTP:%d/,Interval=5,Timeout=2,UnhealthyThreshold=2,HealthyThreshold=2", hostPort)).MustSucceed(t)
	// Its interfaces are in its group.
	var enis struct {
		NetworkInterfaces []struct{ RequesterId string }
	}
	b.Run(t, cli, "ec2", "describe-network-interfaces", "--filters", "Name=group-id,Values="+lbSG).MustSucceed(t).JSON(t, &enis)
	if len(enis.NetworkInterfaces) != 2 || enis.NetworkInterfaces[0].RequesterId != "amazon-elb" {
		t.Fatalf("load balancer interfaces: %s", pretty(enis))
	}

	family := uniqueName("e2e-clbsgweb")
	td := map[string]any{"family": family, "containerDefinitions": []any{map[string]any{
		"name": "web", "image": image, "memory": 64, "essential": true,
		"portMappings": []any{map[string]any{"containerPort": 8080, "hostPort": hostPort}},
	}}}
	b.Run(t, cli, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "clbsg.json", td)).MustSucceed(t)
	svcName := uniqueName("e2e-clbsgsvc")
	b.Run(t, cli, "ecs", "create-service", "--cluster", cluster, "--service-name", svcName, "--task-definition", family,
		"--desired-count", "1", "--health-check-grace-period-seconds", "600",
		"--load-balancers", "loadBalancerName="+name+",containerName=web,containerPort=8080").MustSucceed(t)
	t.Cleanup(func() { b.Run(t, cli, "ecs", "delete-service", "--cluster", cluster, "--service", svcName, "--force") })

	state := func() string {
		var h struct {
			InstanceStates []struct{ State, ReasonCode string }
		}
		b.Run(t, cli, "elb", "describe-instance-health", "--load-balancer-name", name).MustSucceed(t).JSON(t, &h)
		if len(h.InstanceStates) != 1 {
			return pretty(h)
		}
		return h.InstanceStates[0].State + " " + h.InstanceStates[0].ReasonCode
	}
	// Registered by the service, the instance fails its checks: its group
	// drops the load balancer's connections.
	eventually(t, 90*time.Second, time.Second, "the instance OutOfService for its own reason", func() (bool, string) {
		s := state()
		return s == "OutOfService Instance", s
	})
	b.Run(t, cli, "ec2", "authorize-security-group-ingress", "--group-id", hostSG, "--protocol", "tcp", "--port", fmt.Sprint(hostPort),
		"--source-group", lbSG).MustSucceed(t)
	eventually(t, 60*time.Second, time.Second, "the instance InService", func() (bool, string) {
		s := state()
		return s == "InService N/A", s
	})
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatalf("through the listener: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("through the listener: %s", resp.Status)
	}
}
