package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// freeLoopbackPort is a TCP port of 127.0.0.1 nothing listens on now.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestServiceBehindLoadBalancerCLI follows the article with the aws CLI:
// an application load balancer in two default subnets, an instance target
// group (HTTP, health check /), a listener on a free port of 127.0.0.1;
// create-service --load-balancers with hostPort 0 and desired count 2
// gives two healthy targets on different dynamic ports, answered in turn
// by both tasks through the listener. Then update-service rolls a new
// revision while a bounded request loop runs, and counts failed requests.
func TestServiceBehindLoadBalancerCLI(t *testing.T) {
	b := shared(t)
	cli := requireCLIv2(t)
	image := testutil.BuildTestImage(t, "")
	insts := waitForInstances(t, b, cli, defaultCluster, 2)

	lbArn, tg := defaultALB(t, b, cli, "e2e-alb")
	b.Run(t, cli, "elbv2", "modify-target-group-attributes", "--target-group-arn", tg,
		"--attributes", "Key=deregistration_delay.timeout_seconds,Value=5").MustSucceed(t)
	port := freeLoopbackPort(t)

	family := uniqueName("e2e-albweb")
	register := func(version string) string {
		td := map[string]any{"family": family, "containerDefinitions": []any{map[string]any{
			"name": "web", "image": image, "memory": 64, "essential": true,
			"portMappings": []any{map[string]any{"containerPort": 8080, "hostPort": 0}},
			"environment":  []any{map[string]any{"name": "VERSION", "value": version}},
		}}}
		var out taskDefinitionOutput
		b.Run(t, cli, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "albweb.json", td)).MustSucceed(t).JSON(t, &out)
		return out.TaskDefinition.TaskDefinitionArn
	}
	v1 := register("1")
	svcName := uniqueName("e2e-albsvc")
	lbArg := fmt.Sprintf("targetGroupArn=%s,containerName=web,containerPort=8080", tg)

	// The target group is not behind a load balancer yet: refused.
	b.Run(t, cli, "ecs", "create-service", "--cluster", defaultCluster, "--service-name", svcName, "--task-definition", v1,
		"--desired-count", "2", "--load-balancers", lbArg).MustFail(t, 254, "does not have an associated load balancer")
	b.Run(t, cli, "elbv2", "create-listener", "--load-balancer-arn", lbArn, "--protocol", "HTTP", "--port", fmt.Sprint(port),
		"--default-actions", "Type=forward,TargetGroupArn="+tg).MustSucceed(t)
	b.Run(t, cli, "ecs", "create-service", "--cluster", defaultCluster, "--service-name", svcName, "--task-definition", v1,
		"--desired-count", "2", "--load-balancers", lbArg, "--health-check-grace-period-seconds", "30").MustSucceed(t)
	t.Cleanup(func() {
		b.Run(t, cli, "ecs", "delete-service", "--cluster", defaultCluster, "--service", svcName, "--force")
	})
	start := time.Now()
	svc := waitService(t, b, cli, defaultCluster, svcName, "to run 2 tasks behind healthy targets", 120*time.Second,
		func(s service) bool { return s.settled(v1) })
	t.Logf("create-service to steady state behind the load balancer: %v", time.Since(start).Round(100*time.Millisecond))
	if !svc.said("registered 1 targets in (target-group " + tg + ")") {
		t.Errorf("events: %s", pretty(svc.Events))
	}

	// Two healthy targets: the instances' ids, on the tasks' dynamic host ports.
	type health struct {
		TargetHealthDescriptions []struct {
			Target struct {
				Id   string
				Port int
			}
			TargetHealth struct{ State, Reason string }
		}
	}
	var h health
	b.Run(t, cli, "elbv2", "describe-target-health", "--target-group-arn", tg).MustSucceed(t).JSON(t, &h)
	ids := map[string]bool{}
	for _, ci := range insts {
		ids[ci.Ec2InstanceId] = true
	}
	ports := map[string]bool{}
	for _, d := range h.TargetHealthDescriptions {
		if d.TargetHealth.State != "healthy" || !ids[d.Target.Id] || d.Target.Port < 32768 {
			t.Fatalf("targets: %s", pretty(h))
		}
		ports[fmt.Sprint(d.Target.Id, d.Target.Port)] = true
	}
	if len(h.TargetHealthDescriptions) != 2 || len(ports) != 2 {
		t.Fatalf("targets: %s", pretty(h))
	}
	hostPorts := map[int]bool{}
	for _, tk := range serviceTasks(t, b, cli, defaultCluster, svcName) {
		hostPorts[tk.Containers[0].NetworkBindings[0].HostPort] = true
	}
	for _, d := range h.TargetHealthDescriptions {
		if !hostPorts[d.Target.Port] {
			t.Fatalf("target port %d is no task's host port %v", d.Target.Port, hostPorts)
		}
	}

	// Both tasks answer through the listener, in turn.
	client := &http.Client{Timeout: 5 * time.Second}
	get := func() (string, error) {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("status %d: %s", resp.StatusCode, body)
		}
		var out struct {
			Hostname string
			Env      map[string]string
		}
		if err := json.Unmarshal(body, &out); err != nil {
			return "", err
		}
		return out.Hostname + " v" + out.Env["VERSION"], nil
	}
	seen := map[string]int{}
	for range 10 {
		who, err := get()
		if err != nil {
			t.Fatalf("through the listener: %v", err)
		}
		seen[who]++
	}
	if len(seen) != 2 || seen[firstKey(seen)] != 5 {
		t.Fatalf("answers %v, want both tasks in turn", seen)
	}

	// A rolling deployment under a steady request loop (20/s, at most 60s).
	v2 := register("2")
	var sent, failed atomic.Int64
	var mu sync.Mutex
	var firstErrs []string
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		deadline := time.After(60 * time.Second)
		for {
			select {
			case <-stop:
				return
			case <-deadline:
				return
			case <-tick.C:
			}
			sent.Add(1)
			if _, err := get(); err != nil {
				failed.Add(1)
				mu.Lock()
				if len(firstErrs) < 5 {
					firstErrs = append(firstErrs, err.Error())
				}
				mu.Unlock()
			}
		}
	}()
	start = time.Now()
	b.Run(t, cli, "ecs", "update-service", "--cluster", defaultCluster, "--service", svcName, "--task-definition", v2).MustSucceed(t)
	svc = waitService(t, b, cli, defaultCluster, svcName, "to roll to the new revision", 58*time.Second, func(s service) bool { return s.settled(v2) })
	rollout := time.Since(start)
	close(stop)
	<-done
	t.Logf("rolling deployment under load: %v, %d requests, %d failed %v", rollout.Round(100*time.Millisecond), sent.Load(), failed.Load(), firstErrs)
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed during the rolling deployment: %v", failed.Load(), sent.Load(), firstErrs)
	}
	if !svc.said("deregistered 1 targets in (target-group " + tg + ")") {
		t.Errorf("events: %s", pretty(svc.Events))
	}
	for range 4 {
		who, err := get()
		if err != nil || !strings.HasSuffix(who, " v2") {
			t.Fatalf("after the rollout: %q %v", who, err)
		}
	}
}

func firstKey(m map[string]int) string {
	for k := range m {
		return k
	}
	return ""
}

// TestLoadBalancerSecurityGroupsCLI: the article's note. An instance
// whose group lets nothing in has its targets unhealthy with
// Target.Timeout; a rule naming the load balancer's group (and nothing
// else) makes them healthy and the listener answers, while the task's
// port stays closed to this host.
func TestLoadBalancerSecurityGroupsCLI(t *testing.T) {
	b := shared(t)
	cli := requireCLIv2(t)
	image := testutil.BuildTestImage(t, "")
	cluster, hostSG, lbSG := guardedInstance(t, b, cli, "e2e-albsg")

	var vpcs struct{ Vpcs []struct{ VpcId string } }
	b.Run(t, cli, "ec2", "describe-vpcs", "--filters", "Name=isDefault,Values=true").MustSucceed(t).JSON(t, &vpcs)
	var subnets struct{ Subnets []struct{ SubnetId string } }
	b.Run(t, cli, "ec2", "describe-subnets", "--filters", "Name=default-for-az,Values=true").MustSucceed(t).JSON(t, &subnets)
	name := uniqueName("e2e-albsg")
	var lbOut struct {
		LoadBalancers []struct{ LoadBalancerArn string }
	}
	b.Run(t, cli, "elbv2", "create-load-balancer", "--name", name, "--subnets", subnets.Subnets[0].SubnetId, subnets.Subnets[1].SubnetId,
		"--security-groups", lbSG).MustSucceed(t).JSON(t, &lbOut)
	lbArn := lbOut.LoadBalancers[0].LoadBalancerArn
	t.Cleanup(func() { b.Run(t, cli, "elbv2", "delete-load-balancer", "--load-balancer-arn", lbArn) })
	// Its interfaces are in its group.
	var enis struct {
		NetworkInterfaces []struct {
			PrivateIpAddress string
			Groups           []struct{ GroupId string }
		}
	}
	b.Run(t, cli, "ec2", "describe-network-interfaces", "--filters", "Name=group-id,Values="+lbSG).MustSucceed(t).JSON(t, &enis)
	if len(enis.NetworkInterfaces) != 2 {
		t.Fatalf("load balancer interfaces: %s", pretty(enis))
	}
	var tgOut struct {
		TargetGroups []struct{ TargetGroupArn string }
	}
	b.Run(t, cli, "elbv2", "create-target-group", "--name", name, "--protocol", "HTTP", "--port", "80", "--vpc-id", vpcs.Vpcs[0].VpcId,
		"--health-check-path", "/", "--health-check-interval-seconds", "5", "--health-check-timeout-seconds", "2",
		"--healthy-threshold-count", "2", "--unhealthy-threshold-count", "2").MustSucceed(t).JSON(t, &tgOut)
	tg := tgOut.TargetGroups[0].TargetGroupArn
	t.Cleanup(func() { b.Run(t, cli, "elbv2", "delete-target-group", "--target-group-arn", tg) })
	port := freeLoopbackPort(t)
	b.Run(t, cli, "elbv2", "create-listener", "--load-balancer-arn", lbArn, "--protocol", "HTTP", "--port", fmt.Sprint(port),
		"--default-actions", "Type=forward,TargetGroupArn="+tg).MustSucceed(t)

	family := uniqueName("e2e-albsgweb")
	td := map[string]any{"family": family, "containerDefinitions": []any{map[string]any{
		"name": "web", "image": image, "memory": 64, "essential": true,
		"portMappings": []any{map[string]any{"containerPort": 8080, "hostPort": 0}},
	}}}
	b.Run(t, cli, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "albsg.json", td)).MustSucceed(t)
	svcName := uniqueName("e2e-albsgsvc")
	b.Run(t, cli, "ecs", "create-service", "--cluster", cluster, "--service-name", svcName, "--task-definition", family,
		"--desired-count", "1", "--health-check-grace-period-seconds", "600",
		"--load-balancers", fmt.Sprintf("targetGroupArn=%s,containerName=web,containerPort=8080", tg)).MustSucceed(t)
	t.Cleanup(func() { b.Run(t, cli, "ecs", "delete-service", "--cluster", cluster, "--service", svcName, "--force") })

	state := func() (string, string) {
		var h struct {
			TargetHealthDescriptions []struct {
				TargetHealth struct{ State, Reason string }
			}
		}
		b.Run(t, cli, "elbv2", "describe-target-health", "--target-group-arn", tg).MustSucceed(t).JSON(t, &h)
		if len(h.TargetHealthDescriptions) != 1 {
			return "", pretty(h)
		}
		return h.TargetHealthDescriptions[0].TargetHealth.State, h.TargetHealthDescriptions[0].TargetHealth.Reason
	}
	eventually(t, 90*time.Second, time.Second, "the target unhealthy with Target.Timeout", func() (bool, string) {
		s, r := state()
		return s == "unhealthy" && r == "Target.Timeout", s + " " + r
	})
	tasks := serviceTasks(t, b, cli, cluster, svcName)
	if len(tasks) != 1 {
		t.Fatalf("tasks: %s", pretty(tasks))
	}
	nb := tasks[0].Containers[0].NetworkBindings[0]

	b.Run(t, cli, "ec2", "authorize-security-group-ingress", "--group-id", hostSG, "--protocol", "tcp", "--port", "32768-65535",
		"--source-group", lbSG).MustSucceed(t)
	eventually(t, 60*time.Second, time.Second, "the target healthy", func() (bool, string) {
		s, r := state()
		return s == "healthy", s + " " + r
	})
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatalf("through the listener: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("through the listener: %s", resp.Status)
	}
	// The rule lets the load balancer in, not this host.
	if reachableOnce(nb.BindIP, nb.HostPort) {
		t.Fatalf("%s:%d answers this host: the rule opened more than the load balancer's group", nb.BindIP, nb.HostPort)
	}
}

// admitClients lets this machine's clients (127.0.0.0/8) reach a load
// balancer in group on any port, as a user opens a load balancer's
// listener ports: a load balancer admits only whom its groups let in.
func admitClients(t *testing.T, b *Berth, cli CLI, group string) {
	t.Helper()
	b.Run(t, cli, "ec2", "authorize-security-group-ingress", "--group-id", group, "--protocol", "tcp", "--port", "0-65535",
		"--cidr", "127.0.0.0/8").MustSucceed(t)
}

// guardedInstance makes a cluster with one instance of its own, in a
// security group that lets nothing in, and an empty group for a load
// balancer: the cluster and the two groups.
func guardedInstance(t *testing.T, b *Berth, cli CLI, prefix string) (cluster, hostSG, lbSG string) {
	t.Helper()
	cluster = uniqueName(prefix)
	b.Run(t, cli, "ecs", "create-cluster", "--cluster-name", cluster).MustSucceed(t)
	group := func(name string) string {
		var sg struct{ GroupId string }
		b.Run(t, cli, "ec2", "create-security-group", "--group-name", uniqueName(name), "--description", name).MustSucceed(t).JSON(t, &sg)
		return sg.GroupId
	}
	hostSG, lbSG = group(prefix+"-hosts"), group(prefix+"-lb")
	admitClients(t, b, cli, lbSG)
	template := clusterLaunchTemplate(t, b, cli, cluster, "t3.micro", map[string]any{"SecurityGroupIds": []string{hostSG}})
	var run struct{ Instances []ec2Instance }
	b.Run(t, cli, "ec2", "run-instances", "--launch-template", "LaunchTemplateName="+template, "--count", "1").MustSucceed(t).JSON(t, &run)
	t.Cleanup(func() { b.Run(t, cli, "ec2", "terminate-instances", "--instance-ids", run.Instances[0].InstanceId) })
	waitForInstances(t, b, cli, cluster, 1)
	return cluster, hostSG, lbSG
}

// defaultALB makes, in the default VPC, a security group for a load
// balancer that the instances' group (berth-up) lets in on the dynamic
// host ports, an application load balancer in that group and two default
// subnets, and an instance target group (HTTP 80, health check / every
// 5s); they are deleted when the test ends.
func defaultALB(t *testing.T, b *Berth, cli CLI, prefix string) (lbArn, tg string) {
	t.Helper()
	var vpcs struct{ Vpcs []struct{ VpcId string } }
	b.Run(t, cli, "ec2", "describe-vpcs", "--filters", "Name=isDefault,Values=true").MustSucceed(t).JSON(t, &vpcs)
	var subnets struct{ Subnets []struct{ SubnetId string } }
	b.Run(t, cli, "ec2", "describe-subnets", "--filters", "Name=default-for-az,Values=true").MustSucceed(t).JSON(t, &subnets)
	if len(vpcs.Vpcs) != 1 || len(subnets.Subnets) < 2 {
		t.Fatalf("default VPC %+v, subnets %+v", vpcs, subnets)
	}
	var sg struct{ GroupId string }
	b.Run(t, cli, "ec2", "create-security-group", "--group-name", uniqueName(prefix), "--description", "load balancer").MustSucceed(t).JSON(t, &sg)
	admitClients(t, b, cli, sg.GroupId)
	// The instances' group lets the load balancer's group in.
	var hostGroups struct {
		SecurityGroups []struct{ GroupId string }
	}
	b.Run(t, cli, "ec2", "describe-security-groups", "--filters", "Name=group-name,Values=berth-up").MustSucceed(t).JSON(t, &hostGroups)
	if len(hostGroups.SecurityGroups) != 1 {
		t.Fatalf("berth-up group: %+v", hostGroups)
	}
	b.Run(t, cli, "ec2", "authorize-security-group-ingress", "--group-id", hostGroups.SecurityGroups[0].GroupId, "--protocol", "tcp",
		"--port", "32768-65535", "--source-group", sg.GroupId).MustSucceed(t)

	name := uniqueName(prefix)
	var lbOut struct {
		LoadBalancers []struct{ LoadBalancerArn string }
	}
	b.Run(t, cli, "elbv2", "create-load-balancer", "--name", name, "--subnets", subnets.Subnets[0].SubnetId, subnets.Subnets[1].SubnetId,
		"--security-groups", sg.GroupId).MustSucceed(t).JSON(t, &lbOut)
	lbArn = lbOut.LoadBalancers[0].LoadBalancerArn
	t.Cleanup(func() { b.Run(t, cli, "elbv2", "delete-load-balancer", "--load-balancer-arn", lbArn) })
	var tgOut struct {
		TargetGroups []struct{ TargetGroupArn string }
	}
	b.Run(t, cli, "elbv2", "create-target-group", "--name", name, "--protocol", "HTTP", "--port", "80", "--vpc-id", vpcs.Vpcs[0].VpcId,
		"--target-type", "instance", "--health-check-path", "/", "--health-check-interval-seconds", "5", "--health-check-timeout-seconds", "2",
		"--healthy-threshold-count", "2", "--unhealthy-threshold-count", "2").MustSucceed(t).JSON(t, &tgOut)
	tg = tgOut.TargetGroups[0].TargetGroupArn
	t.Cleanup(func() { b.Run(t, cli, "elbv2", "delete-target-group", "--target-group-arn", tg) })
	return lbArn, tg
}
