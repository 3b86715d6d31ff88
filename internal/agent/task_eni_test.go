package agent

import (
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/vishvananda/netlink"

	"github.com/berth-dev/berth/internal/acs"
	"github.com/berth-dev/berth/internal/agent/dockerrt"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/internal/vpc"
)

// eniTestAgent is an agent with task ENIs on real Docker that has not
// registered anywhere: the tests drive its task code directly.
func eniTestAgent(t *testing.T, instance string) (*Agent, *dockerrt.Runtime) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	testutil.RequireDocker(t)
	rt, err := dockerrt.New(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	a := New(Config{Endpoint: "http://127.0.0.1:1", Cluster: "eni-test", Region: "us-east-1", DataDir: t.TempDir(),
		TaskENI: true, StopTimeout: 2 * time.Second, CleanupWait: 100 * time.Millisecond}, log)
	a.useRuntime(rt)
	a.instanceArn = instance
	t.Cleanup(func() {
		// Each build of the test binary makes a pause image of its own.
		if exe, err := os.Executable(); err == nil {
			if ref, err := pauseImageRef(exe); err == nil {
				rt.Client().ImageRemove(context.Background(), ref, client.ImageRemoveOptions{Force: true})
			}
		}
	})
	t.Cleanup(func() {
		states, _ := rt.List(context.Background(), map[string]string{labelInstance: instance})
		for _, st := range states {
			rt.Remove(context.Background(), st.ID)
		}
	})
	return a, rt
}

// get GETs u and returns the body of a 200 answer.
func get(u string) (string, bool) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode == http.StatusOK
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out after %v waiting for %s", d, what)
}

// TestAWSVPCTask runs an awsvpc task of two containers with an ENI of a
// private address the test picks, through the agent's own task code: the
// host reaches both containers on the ENI's one address, they reach each
// other on localhost, a second Prerun changes nothing, a restarted agent
// does not take the pause container for a task container, and once the
// task is cleaned up its interface and pause container are gone.
func TestAWSVPCTask(t *testing.T) {
	instance := "arn:aws:ecs:us-east-1:123456789012:container-instance/eni-test/" + randomHex(8)
	a, rt := eniTestAgent(t, instance)
	image := testutil.BuildTestImage(t, "")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	eni := acs.ElasticNetworkInterface{
		Ec2Id: "eni-0" + randomHex(8), MacAddress: "0a:58:0a:d5:0b:0a", SubnetGatewayIpv4Address: "10.213.11.1/24",
		IPV4Addresses: []acs.ENIIPV4Address{{Primary: true, PrivateAddress: "10.213.11.10"}},
	}
	t.Cleanup(func() { vpc.DetachTask(eni.Ec2Id) })
	def := acs.Task{
		Arn: "arn:aws:ecs:us-east-1:123456789012:task/eni-test/" + randomHex(16), Family: "eni", Version: "1",
		DesiredStatus: statusRunning, NetworkMode: "awsvpc", ElasticNetworkInterfaces: []acs.ElasticNetworkInterface{eni},
		Containers: []acs.Container{
			{Name: "web", Image: image, Essential: true, Memory: 64, PortMappings: []acs.PortMapping{{ContainerPort: 8080}}},
			{Name: "side", Image: image, Essential: true, Memory: 64, Environment: map[string]string{"PORT": "8081"}},
		},
	}
	started := time.Now()
	a.mergePayload(ctx, []acs.Task{def})
	status := func() string {
		a.mu.Lock()
		defer a.mu.Unlock()
		if tk := a.tasks[def.Arn]; tk != nil {
			return tk.status
		}
		return ""
	}
	waitFor(t, "the task to run", 60*time.Second, func() bool { return status() == statusRunning })
	t.Logf("payload to RUNNING: %v", time.Since(started))

	ip := "10.213.11.10"
	for _, port := range []string{"8080", "8081"} {
		waitFor(t, "the task at "+ip+":"+port, 10*time.Second, func() bool { _, ok := get("http://" + ip + ":" + port + "/"); return ok })
	}
	body, ok := get("http://" + ip + ":8081/fetch?url=" + url.QueryEscape("http://127.0.0.1:8080/"))
	var fetched struct{ Status int }
	if !ok || json.Unmarshal([]byte(body), &fetched) != nil || fetched.Status != http.StatusOK {
		t.Fatalf("one container cannot reach the other on localhost: %s", body)
	}

	pause, err := rt.Inspect(ctx, pauseName(def.Arn, &def))
	if err != nil {
		t.Fatal(err)
	}
	if pause.NetworkMode != "none" || pause.Labels[labelPause] != def.Arn || pause.Labels[labelInstance] != instance || pause.Labels[labelTaskArn] != "" {
		t.Fatalf("pause container: mode %q, labels %v", pause.NetworkMode, pause.Labels)
	}
	web, err := rt.Inspect(ctx, dockerName(&task{arn: def.Arn, family: "eni", version: "1"}, "web"))
	if err != nil {
		t.Fatal(err)
	}
	if web.NetworkMode != "container:"+pause.ID || len(web.Ports) != 0 {
		t.Fatalf("task container: network mode %q, ports %v", web.NetworkMode, web.Ports)
	}

	// A second Prerun (a restarted agent starting the task again) keeps
	// the pause container and the link.
	link, err := netlink.LinkByName(vpc.TaskLinkName(eni.Ec2Id))
	if err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	tk := a.tasks[def.Arn]
	a.mu.Unlock()
	if err := a.prerun(ctx, tk, &def); err != nil {
		t.Fatalf("Prerun again: %v", err)
	}
	again, err := netlink.LinkByName(vpc.TaskLinkName(eni.Ec2Id))
	if st, _ := rt.Inspect(ctx, pause.Name); err != nil || again.Attrs().Index != link.Attrs().Index || st.ID != pause.ID || !st.Running {
		t.Fatalf("Prerun again replaced the link or the pause container (%v)", err)
	}
	if _, ok := get("http://" + ip + ":8080/"); !ok {
		t.Fatal("the task is unreachable after Prerun again")
	}

	// A restarted agent adopts the task's two containers, not the pause.
	b, _ := eniTestAgent(t, instance)
	bctx, bcancel := context.WithCancel(ctx)
	if err := b.adopt(bctx); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	adoptedTasks := len(b.tasks)
	var names []string
	if adopted := b.tasks[def.Arn]; adopted != nil {
		for _, c := range adopted.containers {
			names = append(names, c.name)
		}
	}
	b.mu.Unlock()
	bcancel()
	if slices.Sort(names); !slices.Equal(names, []string{"side", "web"}) || adoptedTasks != 1 {
		t.Fatalf("adopted %d tasks, containers %q", adoptedTasks, names)
	}

	stop := def
	stop.DesiredStatus = statusStopped
	a.mergePayload(ctx, []acs.Task{stop})
	waitFor(t, "the task to be cleaned up", 30*time.Second, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.tasks[def.Arn] == nil
	})
	if _, err := netlink.LinkByName(vpc.TaskLinkName(eni.Ec2Id)); err == nil {
		t.Fatal("the task's interface is left after its clean-up")
	}
	if _, err := rt.Inspect(ctx, pause.Name); !dockerrt.IsNotFound(err) {
		t.Fatalf("the pause container is left after the task's clean-up (%v)", err)
	}
}

// TestPauseImage makes the pause image of the test binary and runs it: it
// waits until stopped, then exits 0 at once.
func TestPauseImage(t *testing.T) {
	a, rt := eniTestAgent(t, "arn:aws:ecs:us-east-1:123456789012:container-instance/eni-test/"+randomHex(8))
	ctx := t.Context()
	h := a.hooks[len(a.hooks)-1].(*eniHook)
	image, err := h.pauseImage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	if want, _ := pauseImageRef(exe); image != want || !strings.HasPrefix(image, "berth-pause:") {
		t.Fatalf("image %q, want %q", image, want)
	}
	id, err := rt.Create(ctx, dockerrt.ContainerSpec{Name: "berth-pause-test-" + randomHex(6), Image: image, NetworkMode: "none",
		Labels: map[string]string{labelInstance: a.instanceArn}})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	// Give the process time to reach its handler: a SIGTERM that comes
	// while the (race-instrumented, loaded) test binary still initialises
	// its dependencies meets Go's default action, which PID 1 of a
	// container cannot die from, and the runtime then exits 2.
	time.Sleep(3 * time.Second)
	st, err := rt.Inspect(ctx, id)
	if err != nil || !st.Running || st.Pid == 0 {
		t.Fatalf("pause container not running: %+v %v", st, err)
	}
	start := time.Now()
	if err := rt.Stop(ctx, id, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	st, _ = rt.Inspect(ctx, id)
	if took := time.Since(start); st.ExitCode != 0 || took > 5*time.Second {
		t.Fatalf("pause stopped with %d after %v; want 0 at once", st.ExitCode, took)
	}
}

// TestPauseFiles: a dynamically linked executable (the test binary under
// -race is one) brings its interpreter and libraries; a static one is
// alone.
func TestPauseFiles(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	files, err := pauseFiles(exe)
	if err != nil {
		t.Fatal(err)
	}
	if files["/berth-pause"] != exe {
		t.Fatalf("files %v lack the executable", files)
	}
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	needed, _ := f.ImportedLibraries()
	if len(needed) == 0 {
		if len(files) != 1 {
			t.Fatalf("static executable, files %v", files)
		}
		return
	}
	for _, lib := range needed {
		found := false
		for p := range files {
			found = found || strings.HasSuffix(p, "/"+lib)
		}
		if !found {
			t.Errorf("library %s missing from %v", lib, files)
		}
	}
	if len(files) < len(needed)+2 {
		t.Errorf("files %v: want the executable, its interpreter and %d libraries", files, len(needed))
	}
}

// TestContainerSpecAWSVPC: with task ENIs an awsvpc task's containers join
// its pause container and publish nothing; without, or without an ENI in
// the payload, they run in bridge mode as before.
func TestContainerSpecAWSVPC(t *testing.T) {
	eni := acs.ElasticNetworkInterface{Ec2Id: "eni-1", MacAddress: "0a:58:0a:00:00:01", SubnetGatewayIpv4Address: "10.0.0.1/24",
		IPV4Addresses: []acs.ENIIPV4Address{{Primary: true, PrivateAddress: "10.0.0.5"}}}
	for _, tc := range []struct {
		name    string
		taskENI bool
		mode    string
		enis    []acs.ElasticNetworkInterface
		want    string
		ports   int
	}{
		{"task ENIs, awsvpc", true, "awsvpc", []acs.ElasticNetworkInterface{eni}, "container:ecs-web-3-abc-pause", 0},
		{"no task ENIs", false, "awsvpc", []acs.ElasticNetworkInterface{eni}, "bridge", 1},
		{"awsvpc without ENI", true, "awsvpc", nil, "bridge", 1},
		{"bridge", true, "bridge", nil, "bridge", 1},
		{"host", true, "host", nil, "host", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &Agent{cfg: Config{TaskENI: tc.taskENI, Region: "us-east-1", Endpoint: "http://127.0.0.1:1"}}
			def := &acs.Task{Arn: "arn:aws:ecs:us-east-1:123456789012:task/c/abc", Family: "web", Version: "3", NetworkMode: tc.mode,
				ElasticNetworkInterfaces: tc.enis,
				Containers: []acs.Container{{Name: "app", Image: "img", Links: []string{"db"},
					PortMappings: []acs.PortMapping{{ContainerPort: 80}}}}}
			tk := &task{arn: def.Arn, family: def.Family, version: def.Version}
			c := a.newContainer(tk, &def.Containers[0])
			spec, err := a.containerSpec(tk, def, c)
			if err != nil {
				t.Fatal(err)
			}
			if spec.NetworkMode != tc.want || len(spec.Ports) != tc.ports {
				t.Fatalf("network mode %q, ports %v", spec.NetworkMode, spec.Ports)
			}
			if strings.HasPrefix(tc.want, "container:") && len(spec.Links) != 0 {
				t.Fatalf("links %v in another container's namespace", spec.Links)
			}
		})
	}
}

func TestTaskENIAttribute(t *testing.T) {
	for _, on := range []bool{false, true} {
		a := &Agent{cfg: Config{TaskENI: on}}
		has := false
		for _, at := range a.attributes(dockerrt.Info{Architecture: "x86_64"}) {
			has = has || *at.Name == "ecs.capability.task-eni"
		}
		if has != on {
			t.Errorf("TaskENI %v: ecs.capability.task-eni advertised = %v", on, has)
		}
	}
}

func TestTaskInterface(t *testing.T) {
	ti, err := taskInterface(acs.ElasticNetworkInterface{Ec2Id: "eni-1", MacAddress: "0a:58:0a:00:00:01", SubnetGatewayIpv4Address: "172.31.0.1/20",
		IPV4Addresses: []acs.ENIIPV4Address{{PrivateAddress: "172.31.5.9"}, {Primary: true, PrivateAddress: "172.31.4.7"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(ti.Addr, " ", ti.Gateway); got != "172.31.4.7/20 172.31.0.1" {
		t.Fatalf("interface %s", got)
	}
	for _, bad := range []acs.ElasticNetworkInterface{
		{Ec2Id: "eni-1", SubnetGatewayIpv4Address: "172.31.0.1", IPV4Addresses: []acs.ENIIPV4Address{{Primary: true, PrivateAddress: "172.31.4.7"}}},
		{Ec2Id: "eni-1", SubnetGatewayIpv4Address: "172.31.0.1/20"},
	} {
		if _, err := taskInterface(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
