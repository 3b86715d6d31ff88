package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

type ec2Instance struct {
	InstanceId       string
	PrivateIpAddress string
	State            struct{ Name string }
	Placement        struct{ AvailabilityZone string }
	InstanceType     string
}

func describeInstances(t *testing.T, b *Berth, cli CLI, ids ...string) []ec2Instance {
	t.Helper()
	var out struct {
		Reservations []struct{ Instances []ec2Instance }
	}
	b.Run(t, cli, append([]string{"ec2", "describe-instances", "--instance-ids"}, ids...)...).MustSucceed(t).JSON(t, &out)
	var all []ec2Instance
	for _, r := range out.Reservations {
		all = append(all, r.Instances...)
	}
	return all
}

// reachableOnce reports whether the test app answers at addr:port within
// two seconds.
func reachableOnce(addr string, port int) bool {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://%s:%d/", addr, port))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// TestEC2InstancesWithCLI follows the article with the aws CLI: the AMI
// looked up in SSM, a launch template whose user data joins a cluster,
// run-instances → container instances in the cluster, one per zone; a task
// on hostPort 8080 runs once on each of three instances of this one host;
// the instances' security group decides who reaches that port, and a
// change applies at once; terminating the instances deregisters them and
// stops their tasks.
func TestEC2InstancesWithCLI(t *testing.T) {
	b := shared(t)
	cli := requireCLIv2(t)
	image := testutil.BuildTestImage(t, "")
	cluster := uniqueName("e2e-ec2")
	b.Run(t, cli, "ecs", "create-cluster", "--cluster-name", cluster).MustSucceed(t)

	var sg struct{ GroupId string }
	b.Run(t, cli, "ec2", "create-security-group", "--group-name", uniqueName("e2e-hosts"), "--description", "ECS hosts").MustSucceed(t).JSON(t, &sg)
	template := clusterLaunchTemplate(t, b, cli, cluster, "t3.micro", map[string]any{"SecurityGroupIds": []string{sg.GroupId}})

	launched := time.Now()
	var run struct{ Instances []ec2Instance }
	b.Run(t, cli, "ec2", "run-instances", "--launch-template", "LaunchTemplateName="+template, "--count", "3").MustSucceed(t).JSON(t, &run)
	if len(run.Instances) != 3 {
		t.Fatalf("run-instances: %+v", run)
	}
	var ids []string
	zones := map[string]bool{}
	for _, in := range run.Instances {
		ids = append(ids, in.InstanceId)
		zones[in.Placement.AvailabilityZone] = true
		if in.InstanceType != "t3.micro" || in.PrivateIpAddress == "" {
			t.Fatalf("instance %+v", in)
		}
	}
	if len(zones) != 3 {
		t.Fatalf("instances in zones %v, want three", zones)
	}
	t.Cleanup(func() { b.Run(t, cli, append([]string{"ec2", "terminate-instances", "--instance-ids"}, ids...)...) })
	insts := waitForInstances(t, b, cli, cluster, 3)
	t.Logf("run-instances to 3 container instances registered: %v", time.Since(launched).Round(10*time.Millisecond))
	for _, ci := range insts {
		if !slices.Contains(ids, ci.Ec2InstanceId) {
			t.Fatalf("container instance of %s, not one of %v", ci.Ec2InstanceId, ids)
		}
	}
	for _, in := range describeInstances(t, b, cli, ids...) {
		if in.State.Name != "running" {
			t.Fatalf("instance %s is %s", in.InstanceId, in.State.Name)
		}
	}

	// hostPort 8080 on each of the three: each instance has its own ports.
	family := uniqueName("e2e-port8080")
	td := exampleTaskDef(t)
	td["family"] = family
	c := firstContainer(t, td)
	c["image"] = image
	c["memory"] = 64
	c["portMappings"] = []any{map[string]any{"containerPort": 8080, "hostPort": 8080}}
	b.Run(t, cli, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "taskdef.json", td)).MustSucceed(t)
	var out tasksOutput
	b.Run(t, cli, "ecs", "run-task", "--cluster", cluster, "--task-definition", family, "--count", "3",
		"--placement-constraints", "type=distinctInstance").MustSucceed(t).JSON(t, &out)
	if len(out.Tasks) != 3 || len(out.Failures) != 0 {
		t.Fatalf("run-task placed %d, failures %+v", len(out.Tasks), out.Failures)
	}
	addrs := map[string]bool{}
	for _, tk := range out.Tasks {
		b.TrackTask(tk.TaskArn)
		running := waitTask(t, b, cli, cluster, tk.TaskArn, "RUNNING")
		nb := running.Containers[0].NetworkBindings[0]
		if nb.HostPort != 8080 {
			t.Fatalf("binding %+v", nb)
		}
		addrs[nb.BindIP] = true
	}
	if len(addrs) != 3 {
		t.Fatalf("the three tasks bind %v, want the three instances' addresses", addrs)
	}

	// The group allows nothing in: the port is closed, from this host too.
	var addr string
	for a := range addrs {
		addr = a
	}
	if reachableOnce(addr, 8080) {
		t.Fatalf("%s:8080 answered with no ingress rule", addr)
	}
	b.Run(t, cli, "ec2", "authorize-security-group-ingress", "--group-id", sg.GroupId, "--protocol", "tcp", "--port", "8080", "--cidr", "0.0.0.0/0").MustSucceed(t)
	eventually(t, 15*time.Second, 200*time.Millisecond, addr+":8080 to open", func() (bool, string) { return reachableOnce(addr, 8080), "" })
	b.Run(t, cli, "ec2", "revoke-security-group-ingress", "--group-id", sg.GroupId, "--protocol", "tcp", "--port", "8080", "--cidr", "0.0.0.0/0").MustSucceed(t)
	eventually(t, 15*time.Second, 200*time.Millisecond, addr+":8080 to close", func() (bool, string) { return !reachableOnce(addr, 8080), "" })

	// Terminated: the tasks stop, the container instances leave.
	b.Run(t, cli, append([]string{"ec2", "terminate-instances", "--instance-ids"}, ids...)...).MustSucceed(t)
	for _, tk := range out.Tasks {
		stopped := waitTask(t, b, cli, cluster, tk.TaskArn, "STOPPED")
		if stopped.StopCode != "TerminationNotice" {
			t.Errorf("task stopped with %q (%s)", stopped.StopCode, stopped.StoppedReason)
		}
	}
	eventually(t, 30*time.Second, 500*time.Millisecond, "instances terminated", func() (bool, string) {
		for _, in := range describeInstances(t, b, cli, ids...) {
			if in.State.Name != "terminated" {
				return false, in.InstanceId + " " + in.State.Name
			}
		}
		return true, ""
	})
	if reachableOnce(addr, 8080) {
		t.Fatalf("%s:8080 still answers after termination", addr)
	}
}

// clusterLaunchTemplate makes the article's launch template: the
// ECS-optimized AMI looked up in SSM, instanceType, the ecsInstanceRole
// profile and user data that joins cluster, with extra fields of the
// template's data; it returns the template's name.
func clusterLaunchTemplate(t *testing.T, b *Berth, cli CLI, cluster, instanceType string, extra map[string]any) string {
	t.Helper()
	ami := strings.TrimSpace(b.Run(t, cli, "ssm", "get-parameter", "--name", "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id",
		"--query", "Parameter.Value", "--output", "text").MustSucceed(t).Stdout)
	userData := base64.StdEncoding.EncodeToString([]byte("#!/bin/bash\necho ECS_CLUSTER=" + cluster + " >> /etc/ecs/ecs.config\n"))
	data := map[string]any{"ImageId": ami, "InstanceType": instanceType, "UserData": userData,
		"IamInstanceProfile": map[string]string{"Name": "ecsInstanceRole"}}
	for k, v := range extra {
		data[k] = v
	}
	text, _ := json.Marshal(data)
	template := uniqueName("e2e-lt")
	b.Run(t, cli, "ec2", "create-launch-template", "--launch-template-name", template, "--launch-template-data", string(text)).MustSucceed(t)
	return template
}

// pathTo describes how this machine reaches addr, for a failure message:
// the route, the neighbour entry and the firewall rules that name it.
func pathTo(addr string) string {
	var b strings.Builder
	for _, args := range [][]string{{"ip", "route", "get", addr}, {"ip", "neigh", "show", "to", addr}} {
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		fmt.Fprintf(&b, "%s: %s (%v)\n", strings.Join(args, " "), strings.TrimSpace(string(out)), err)
	}
	if out, err := exec.Command("iptables-save", "-c", "-t", "filter").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, addr+"/") || strings.Contains(line, "-j E2E") {
				fmt.Fprintln(&b, line)
			}
		}
	}
	return b.String()
}

// reachable is reachableOnce with pathTo as the state of a failure.
func reachable(addr string, port int) (bool, string) {
	if reachableOnce(addr, port) {
		return true, ""
	}
	return false, pathTo(addr)
}
