package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// fetchVia asks the test app at addr:8080 to GET target, and returns the
// status it got (0 when it could not connect). ok is false when addr
// itself did not answer.
func fetchVia(addr, target string) (status int, ok bool) {
	c := http.Client{Timeout: 15 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://%s:8080/fetch?url=%s", addr, url.QueryEscape(target)))
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var out struct{ Status int }
	if json.NewDecoder(resp.Body).Decode(&out) != nil {
		return 0, false
	}
	return out.Status, true
}

// TestAwsvpcTasksWithCLI: awsvpc tasks on berth up's instances, with the
// aws CLI. Each task gets an interface of its subnet (describe-tasks and
// describe-network-interfaces agree) whose address its containers share
// (one reaches the other on localhost) and reach the task endpoint for
// their task role's keys; the task's security group decides
// who reaches that address, from this host and from another task, by
// CIDR and by source group, and its egress rules what it opens; a change
// applies to running tasks; the interface is deleted once the task stops.
func TestAwsvpcTasksWithCLI(t *testing.T) {
	b := shared(t)
	cli := requireCLIv2(t)
	image := testutil.BuildTestImage(t, "")
	waitForInstances(t, b, cli, "default", 2)

	var subnets struct {
		Subnets []struct{ SubnetId, CidrBlock string }
	}
	b.Run(t, cli, "ec2", "describe-subnets", "--filters", "Name=default-for-az,Values=true").MustSucceed(t).JSON(t, &subnets)
	var ids []string
	for _, s := range subnets.Subnets {
		ids = append(ids, s.SubnetId)
	}
	group := func(name string) string {
		var sg struct{ GroupId string }
		b.Run(t, cli, "ec2", "create-security-group", "--group-name", uniqueName(name), "--description", name).MustSucceed(t).JSON(t, &sg)
		return sg.GroupId
	}
	sgA, sgB := group("e2e-vpc-a"), group("e2e-vpc-b")
	// A lets this host call it; B lets in nothing yet.
	b.Run(t, cli, "ec2", "authorize-security-group-ingress", "--group-id", sgA, "--protocol", "tcp", "--port", "8080", "--cidr", "0.0.0.0/0").MustSucceed(t)

	family := uniqueName("e2e-awsvpc")
	role := uniqueName("e2e-vpcrole")
	td := map[string]any{"family": family, "networkMode": "awsvpc", "taskRoleArn": createTaskRole(t, b, cli, role), "containerDefinitions": []any{
		map[string]any{"name": "web", "image": image, "memory": 64, "essential": true, "portMappings": []any{map[string]any{"containerPort": 8080}}},
		map[string]any{"name": "sidecar", "image": image, "memory": 64, "essential": false, "environment": []any{map[string]any{"name": "PORT", "value": "9090"}}},
	}}
	b.Run(t, cli, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "awsvpc.json", td)).MustSucceed(t)
	run := func(sg string) task {
		t.Helper()
		var out tasksOutput
		b.Run(t, cli, "ecs", "run-task", "--cluster", "default", "--task-definition", family, "--network-configuration",
			fmt.Sprintf("awsvpcConfiguration={subnets=[%s],securityGroups=[%s],assignPublicIp=DISABLED}", strings.Join(ids, ","), sg)).MustSucceed(t).JSON(t, &out)
		if len(out.Tasks) != 1 {
			t.Fatalf("run-task: %+v", out)
		}
		b.TrackTask(out.Tasks[0].TaskArn)
		return waitTask(t, b, cli, "default", out.Tasks[0].TaskArn, "RUNNING")
	}
	started := time.Now()
	a := run(sgA)
	t.Logf("awsvpc run-task to RUNNING: %v", time.Since(started).Round(10*time.Millisecond))
	bTask := run(sgB)

	eniOf := func(tk task) (eni, ip string) {
		t.Helper()
		if len(tk.Attachments) != 1 || tk.Attachments[0].Type != "ElasticNetworkInterface" || tk.Attachments[0].Status != "ATTACHED" {
			t.Fatalf("task %s attachments %+v", tk.TaskArn, tk.Attachments)
		}
		return tk.Attachments[0].detail("networkInterfaceId"), tk.Attachments[0].detail("privateIPv4Address")
	}
	eniA, ipA := eniOf(a)
	eniB, ipB := eniOf(bTask)
	var enis struct {
		NetworkInterfaces []struct {
			NetworkInterfaceId, PrivateIpAddress, Status, InterfaceType, RequesterId string
			Groups                                                                   []struct{ GroupId string }
		}
	}
	b.Run(t, cli, "ec2", "describe-network-interfaces", "--network-interface-ids", eniA).MustSucceed(t).JSON(t, &enis)
	if n := enis.NetworkInterfaces; len(n) != 1 || n[0].PrivateIpAddress != ipA || n[0].Status != "in-use" || n[0].InterfaceType != "interface" ||
		n[0].RequesterId != "ecs" || len(n[0].Groups) != 1 || n[0].Groups[0].GroupId != sgA {
		t.Fatalf("describe-network-interfaces %s: %+v", eniA, enis)
	}

	// The host reaches A (its group allows it); A's containers share its
	// address: the web container reaches the sidecar on localhost.
	eventually(t, 15*time.Second, 200*time.Millisecond, "task A at "+ipA+":8080", func() (bool, string) { return reachable(ipA, 8080) })
	if status, ok := fetchVia(ipA, "http://127.0.0.1:9090/"); !ok || status != http.StatusOK {
		t.Fatalf("web → sidecar on localhost: %d (answered: %v)", status, ok)
	}
	// The task endpoint serves it: its SDK gets the task role's keys.
	var who struct{ Arn, Error string }
	httpGetJSON(t, "http://"+ipA+":8080/whoami", &who)
	if want := "arn:aws:sts::" + b.AccountID + ":assumed-role/" + role + "/" + lastSegment(a.TaskArn); who.Arn != want {
		t.Fatalf("sts get-caller-identity inside the awsvpc task = %+v, want %s", who, want)
	}
	// B allows nothing: neither this host nor A reaches it.
	if reachableOnce(ipB, 8080) {
		t.Fatalf("task B answered this host with no ingress rule")
	}
	if status, _ := fetchVia(ipA, "http://"+ipB+":8080/"); status != 0 {
		t.Fatalf("A reached B (%d) with no ingress rule", status)
	}
	// B allows A's group: A gets through, this host still does not.
	b.Run(t, cli, "ec2", "authorize-security-group-ingress", "--group-id", sgB, "--protocol", "tcp", "--port", "8080", "--source-group", sgA).MustSucceed(t)
	eventually(t, 30*time.Second, 500*time.Millisecond, "A to reach B", func() (bool, string) {
		status, _ := fetchVia(ipA, "http://"+ipB+":8080/")
		return status == http.StatusOK, fmt.Sprint(status)
	})
	if reachableOnce(ipB, 8080) {
		t.Fatalf("this host reached B, which only A's group may reach")
	}
	b.Run(t, cli, "ec2", "revoke-security-group-ingress", "--group-id", sgB, "--protocol", "tcp", "--port", "8080", "--source-group", sgA).MustSucceed(t)
	eventually(t, 45*time.Second, 500*time.Millisecond, "A to be cut from B", func() (bool, string) {
		status, _ := fetchVia(ipA, "http://"+ipB+":8080/")
		return status == 0, fmt.Sprint(status)
	})

	// A's egress: with B open to A again, revoking A's egress (all
	// traffic anywhere, as a new group has it) cuts A from B.
	b.Run(t, cli, "ec2", "authorize-security-group-ingress", "--group-id", sgB, "--protocol", "tcp", "--port", "8080", "--source-group", sgA).MustSucceed(t)
	eventually(t, 30*time.Second, 500*time.Millisecond, "A to reach B again", func() (bool, string) {
		status, _ := fetchVia(ipA, "http://"+ipB+":8080/")
		return status == http.StatusOK, fmt.Sprint(status)
	})
	b.Run(t, cli, "ec2", "revoke-security-group-egress", "--group-id", sgA, "--protocol", "-1", "--cidr", "0.0.0.0/0").MustSucceed(t)
	eventually(t, 45*time.Second, 500*time.Millisecond, "A's egress to be closed", func() (bool, string) {
		status, _ := fetchVia(ipA, "http://"+ipB+":8080/")
		return status == 0, fmt.Sprint(status)
	})

	// Stopping B deletes its interface.
	b.Run(t, cli, "ecs", "stop-task", "--cluster", "default", "--task", bTask.TaskArn).MustSucceed(t)
	waitTask(t, b, cli, "default", bTask.TaskArn, "STOPPED")
	eventually(t, 30*time.Second, 500*time.Millisecond, "B's interface to be deleted", func() (bool, string) {
		r := b.Run(t, cli, "ec2", "describe-network-interfaces", "--network-interface-ids", eniB)
		return r.ExitCode != 0 && strings.Contains(r.Stderr, "InvalidNetworkInterfaceID.NotFound"), r.String()
	})
	b.Run(t, cli, "ecs", "stop-task", "--cluster", "default", "--task", a.TaskArn).MustSucceed(t)
	// The agents reported the interfaces ATTACHED and DETACHED
	// (SubmitAttachmentStateChanges), and Berth accepted every report.
	if log := b.readLog(); strings.Contains(log, "attachment state change not reported") {
		t.Fatalf("an agent's attachment report was refused:\n%s", b.LogTail(40))
	}
}
