package dockerrt_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/agent/dockerrt"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/moby/moby/client"
)

// testLabel marks every container these tests create.
const testLabel = "dev.berth.test.dockerrt"

// setup returns a Runtime and the test image, skipping without Docker.
func setup(t *testing.T) (*dockerrt.Runtime, string) {
	t.Helper()
	testutil.RequireDocker(t)
	image := testutil.BuildTestImage(t, "")
	rt, err := dockerrt.New(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	return rt, image
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var nameSanitizer = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// uniqueName returns a container name derived from the test's name.
func uniqueName(t *testing.T) string {
	n := strings.ToLower(nameSanitizer.ReplaceAllString(t.Name(), "-"))
	if len(n) > 40 {
		n = n[:40]
	}
	return "berth-test-" + strings.Trim(n, "-") + "-" + randHex(4)
}

// create creates a container from spec (filling in Name, Image and the test
// label) and removes it when the test ends.
func create(t *testing.T, rt *dockerrt.Runtime, image string, spec dockerrt.ContainerSpec) string {
	t.Helper()
	if spec.Name == "" {
		spec.Name = uniqueName(t)
	}
	if spec.Image == "" {
		spec.Image = image
	}
	if spec.Labels == nil {
		spec.Labels = map[string]string{}
	}
	spec.Labels[testLabel] = "1"
	id, err := rt.Create(t.Context(), spec)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := rt.Remove(ctx, id); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return id
}

// run creates and starts a container.
func run(t *testing.T, rt *dockerrt.Runtime, image string, spec dockerrt.ContainerSpec) string {
	t.Helper()
	id := create(t, rt, image, spec)
	if err := rt.Start(t.Context(), id); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return id
}

// waitState polls Inspect until cond holds or timeout passes.
func waitState(t *testing.T, rt *dockerrt.Runtime, id string, timeout time.Duration, what string, cond func(dockerrt.State) bool) dockerrt.State {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st, err := rt.Inspect(t.Context(), id)
		if err != nil {
			t.Fatalf("Inspect: %v", err)
		}
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last state %+v", timeout, what, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func waitExited(t *testing.T, rt *dockerrt.Runtime, id string) dockerrt.State {
	t.Helper()
	return waitState(t, rt, id, 30*time.Second, "exit", func(s dockerrt.State) bool {
		return !s.Running && s.Status == "exited"
	})
}

// ipv4HostPort returns the host port bound on an IPv4 (or unspecified)
// address for containerPort.
func ipv4HostPort(t *testing.T, st dockerrt.State, containerPort int) int {
	t.Helper()
	for _, p := range st.Ports {
		if p.ContainerPort == containerPort && !strings.Contains(p.HostIP, ":") {
			return p.HostPort
		}
	}
	t.Fatalf("no IPv4 binding for container port %d in %+v", containerPort, st.Ports)
	return 0
}

type appInfo struct {
	Hostname string            `json:"hostname"`
	Args     []string          `json:"args"`
	Env      map[string]string `json:"env"`
}

// getApp queries the test app's JSON endpoint, retrying until it answers.
func getApp(t *testing.T, url string) appInfo {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := hc.Get(url)
		if err == nil {
			var info appInfo
			err = json.NewDecoder(resp.Body).Decode(&info)
			resp.Body.Close()
			if err == nil && resp.StatusCode == http.StatusOK {
				return info
			}
			if err == nil {
				err = fmt.Errorf("status %s", resp.Status)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestInfo(t *testing.T) {
	rt, _ := setup(t)
	info, err := rt.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", info)
	if info.NCPU < 1 || info.MemTotal <= 0 || info.ServerVersion == "" || info.APIVersion == "" || info.OSType != "linux" || info.Architecture == "" {
		t.Errorf("incomplete info: %+v", info)
	}
}

// The bridge's gateway is the host's address on the bridge interface,
// whether the daemon lists it in the network's IPAM configuration or (as
// a restarted daemon does) not.
func TestDefaultBridge(t *testing.T) {
	rt, _ := setup(t)
	b, err := rt.DefaultBridge(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ifc, err := net.InterfaceByName(b.Interface)
	if err != nil {
		t.Fatalf("bridge %+v: %v", b, err)
	}
	addrs, _ := ifc.Addrs()
	found := false
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.String() == b.Gateway {
			found = true
		}
	}
	if !found {
		t.Fatalf("bridge %+v: the gateway is not an address of %s (%v)", b, b.Interface, addrs)
	}
}

func TestRunPublishesDynamicPortAndPassesEnvAndCommand(t *testing.T) {
	t.Parallel()
	rt, image := setup(t)
	tests := []struct {
		name     string
		cmd      []string
		env      []string
		port     int
		wantArgs []string
	}{
		{name: "image default command", env: []string{"FOO=bar", "EMPTY="}, port: 8080},
		{name: "custom command and port", cmd: []string{"print", "hello", "world"}, env: []string{"PORT=9090", "GREETING=hi there"}, port: 9090, wantArgs: []string{"print", "hello", "world"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id := run(t, rt, image, dockerrt.ContainerSpec{
				Cmd:   tc.cmd,
				Env:   tc.env,
				Ports: []dockerrt.PortMapping{{ContainerPort: tc.port}},
			})
			st := waitState(t, rt, id, 20*time.Second, "port binding", func(s dockerrt.State) bool { return s.Running && len(s.Ports) > 0 })
			if st.Status != "running" || st.StartedAt.IsZero() || !st.FinishedAt.IsZero() {
				t.Errorf("unexpected state %+v", st)
			}
			for _, p := range st.Ports {
				if p.ContainerPort != tc.port || p.Protocol != "tcp" || p.HostPort == 0 || p.HostPort == tc.port {
					t.Errorf("unexpected binding %+v", p)
				}
			}
			hp := ipv4HostPort(t, st, tc.port)
			info := getApp(t, fmt.Sprintf("http://127.0.0.1:%d/", hp))

			if !strings.HasPrefix(id, info.Hostname) || len(info.Hostname) != 12 {
				t.Errorf("hostname %q is not the short container ID of %s", info.Hostname, id)
			}
			for _, kv := range tc.env {
				k, v, _ := strings.Cut(kv, "=")
				if got, ok := info.Env[k]; !ok || got != v {
					t.Errorf("env %s = %q (present %v), want %q", k, got, ok, v)
				}
			}
			if !slices.Equal(info.Args, tc.wantArgs) && (len(info.Args) != 0 || len(tc.wantArgs) != 0) {
				t.Errorf("args = %q, want %q", info.Args, tc.wantArgs)
			}
		})
	}
}

func TestStaticHostPort(t *testing.T) {
	t.Parallel()
	rt, image := setup(t)
	// Find a free port by letting Docker choose one first, then reuse it.
	probe := run(t, rt, image, dockerrt.ContainerSpec{Ports: []dockerrt.PortMapping{{ContainerPort: 8080}}})
	st := waitState(t, rt, probe, 20*time.Second, "port binding", func(s dockerrt.State) bool { return len(s.Ports) > 0 })
	port := ipv4HostPort(t, st, 8080)
	if err := rt.Remove(t.Context(), probe); err != nil {
		t.Fatal(err)
	}

	id := run(t, rt, image, dockerrt.ContainerSpec{Ports: []dockerrt.PortMapping{{ContainerPort: 8080, HostPort: port, HostIP: "127.0.0.1"}}})
	st = waitState(t, rt, id, 20*time.Second, "port binding", func(s dockerrt.State) bool { return len(s.Ports) > 0 })
	want := []dockerrt.PortMapping{{ContainerPort: 8080, HostPort: port, Protocol: "tcp", HostIP: "127.0.0.1"}}
	if !slices.Equal(st.Ports, want) {
		t.Errorf("Ports = %+v, want %+v", st.Ports, want)
	}
	getApp(t, fmt.Sprintf("http://127.0.0.1:%d/", port))
}

func TestCreateAppliesConfiguration(t *testing.T) {
	t.Parallel()
	rt, image := setup(t)
	tests := []struct {
		name       string
		cpu        int64
		wantShares int64
	}{
		{"default cpu", 0, 0},
		{"cpu 1 raised to docker minimum", 1, 2},
		{"cpu 256", 256, 256},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := dockerrt.ContainerSpec{
				Labels:               map[string]string{"com.example.task": "abc", "empty": ""},
				CPUShares:            tc.cpu,
				MemoryMiB:            64,
				MemoryReservationMiB: 32,
				StopTimeout:          2500 * time.Millisecond,
				Entrypoint:           []string{"/testapp"},
				Cmd:                  []string{"sleep", "1"},
				WorkingDir:           "/tmp",
				User:                 "1000:1000",
				ReadonlyRootfs:       true,
				Ulimits:              []dockerrt.Ulimit{{Name: "nofile", Soft: 1024, Hard: 2048}},
				Mounts: []dockerrt.Mount{
					{Target: "/data"},
					{Source: t.TempDir(), Target: "/host", ReadOnly: true},
				},
				DNSServers:  []string{"10.0.0.2"},
				ExtraHosts:  []string{"db:10.0.0.3"},
				LogDriver:   "json-file",
				LogOptions:  map[string]string{"max-size": "1m"},
				HealthCheck: &dockerrt.HealthCheck{Test: []string{"/testapp", "healthcheck", "http://127.0.0.1:8080/"}, Interval: 5 * time.Second, Retries: 2},
			}
			id := create(t, rt, image, spec)

			res, err := rt.Client().ContainerInspect(t.Context(), id, client.ContainerInspectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			c := res.Container
			hc, cfg := c.HostConfig, c.Config
			check := func(what string, got, want any) {
				t.Helper()
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}
			check("CpuShares", hc.CPUShares, tc.wantShares)
			check("Memory", hc.Memory, int64(64<<20))
			check("MemoryReservation", hc.MemoryReservation, int64(32<<20))
			check("label", cfg.Labels["com.example.task"], "abc")
			_, hasEmpty := cfg.Labels["empty"]
			check("empty label present", hasEmpty, true)
			check("StopTimeout", *cfg.StopTimeout, 3)
			check("Entrypoint", cfg.Entrypoint, []string{"/testapp"})
			check("Cmd", cfg.Cmd, []string{"sleep", "1"})
			check("WorkingDir", cfg.WorkingDir, "/tmp")
			check("User", cfg.User, "1000:1000")
			check("ReadonlyRootfs", hc.ReadonlyRootfs, true)
			check("Ulimits", fmt.Sprint(*hc.Ulimits[0]), "{nofile 2048 1024}")
			check("Mounts", len(hc.Mounts), 2)
			check("DNS", hc.DNS, "[10.0.0.2]")
			check("ExtraHosts", hc.ExtraHosts, []string{"db:10.0.0.3"})
			check("LogConfig", hc.LogConfig.Type+" "+hc.LogConfig.Config["max-size"], "json-file 1m")
			check("NetworkMode", hc.NetworkMode, "bridge")
			check("Healthcheck", cfg.Healthcheck.Test, []string{"CMD", "/testapp", "healthcheck", "http://127.0.0.1:8080/"})
			check("Healthcheck interval", cfg.Healthcheck.Interval, 5*time.Second)

			st, err := rt.Inspect(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if st.Status != "created" || st.Running || !st.StartedAt.IsZero() || !strings.HasPrefix(st.Name, "berth-test-") || st.Image != image || st.Labels["com.example.task"] != "abc" {
				t.Errorf("unexpected state %+v", st)
			}
		})
	}
}

func TestStop(t *testing.T) {
	t.Parallel()
	rt, image := setup(t)
	tests := []struct {
		name     string
		env      []string
		timeout  time.Duration
		wantCode int
		minTime  time.Duration
	}{
		{name: "graceful", timeout: 10 * time.Second, wantCode: 0},
		{name: "custom exit code on SIGTERM", env: []string{"TERM_EXIT_CODE=5"}, timeout: 10 * time.Second, wantCode: 5},
		{name: "SIGTERM ignored then SIGKILL", env: []string{"IGNORE_SIGTERM=1"}, timeout: time.Second, wantCode: 137, minTime: time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id := run(t, rt, image, dockerrt.ContainerSpec{Env: tc.env, Ports: []dockerrt.PortMapping{{ContainerPort: 8080}}})
			st := waitState(t, rt, id, 20*time.Second, "running", func(s dockerrt.State) bool { return s.Running && len(s.Ports) > 0 })
			// Make sure the app installed its signal handling before stopping it.
			getApp(t, fmt.Sprintf("http://127.0.0.1:%d/", ipv4HostPort(t, st, 8080)))

			start := time.Now()
			if err := rt.Stop(t.Context(), id, tc.timeout); err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			st = waitExited(t, rt, id)
			if st.ExitCode != tc.wantCode {
				t.Errorf("ExitCode = %d, want %d", st.ExitCode, tc.wantCode)
			}
			if took < tc.minTime {
				t.Errorf("Stop took %v, want at least %v", took, tc.minTime)
			}
			if st.FinishedAt.IsZero() || st.OOMKilled {
				t.Errorf("unexpected state %+v", st)
			}
			// Stopping a stopped container is fine.
			if err := rt.Stop(t.Context(), id, time.Second); err != nil {
				t.Errorf("second Stop: %v", err)
			}
		})
	}
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	rt, image := setup(t)
	tests := []struct {
		cmd  []string
		want int
	}{
		{[]string{"exit", "0"}, 0},
		{[]string{"exit", "3"}, 3},
		{[]string{"sleep", "1"}, 0},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.cmd, " "), func(t *testing.T) {
			t.Parallel()
			id := run(t, rt, image, dockerrt.ContainerSpec{Cmd: tc.cmd})
			st := waitExited(t, rt, id)
			// No ordering check of StartedAt/FinishedAt: for a process that
			// exits at once, Docker 20.10 may record StartedAt after FinishedAt.
			if st.ExitCode != tc.want || st.FinishedAt.IsZero() {
				t.Errorf("state %+v, want exit code %d", st, tc.want)
			}
		})
	}
}

func TestExitViaHTTP(t *testing.T) {
	t.Parallel()
	rt, image := setup(t)
	id := run(t, rt, image, dockerrt.ContainerSpec{Ports: []dockerrt.PortMapping{{ContainerPort: 8080}}})
	st := waitState(t, rt, id, 20*time.Second, "port binding", func(s dockerrt.State) bool { return len(s.Ports) > 0 })
	url := fmt.Sprintf("http://127.0.0.1:%d/", ipv4HostPort(t, st, 8080))
	getApp(t, url)
	resp, err := http.Get(url + "exit?code=42")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	st = waitExited(t, rt, id)
	if st.ExitCode != 42 {
		t.Errorf("ExitCode = %d, want 42", st.ExitCode)
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	rt, image := setup(t)
	group := randHex(6)
	a := create(t, rt, image, dockerrt.ContainerSpec{Labels: map[string]string{"dev.berth.test.group": group}})
	b := run(t, rt, image, dockerrt.ContainerSpec{Labels: map[string]string{"dev.berth.test.group": group, "dev.berth.test.role": "web"}})

	tests := []struct {
		name   string
		labels map[string]string
		want   []string
	}{
		{"by group", map[string]string{"dev.berth.test.group": group}, []string{a, b}},
		{"group and role present", map[string]string{"dev.berth.test.group": group, "dev.berth.test.role": ""}, []string{b}},
		{"group and role value", map[string]string{"dev.berth.test.group": group, "dev.berth.test.role": "web"}, []string{b}},
		{"wrong role", map[string]string{"dev.berth.test.group": group, "dev.berth.test.role": "db"}, nil},
		{"unknown group", map[string]string{"dev.berth.test.group": group + "x"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := rt.List(t.Context(), tc.labels)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, s := range got {
				ids = append(ids, s.ID)
				if s.Labels["dev.berth.test.group"] != group || s.Name == "" || s.Status == "" {
					t.Errorf("incomplete state %+v", s)
				}
			}
			slices.Sort(ids)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(ids, want) {
				t.Errorf("List(%v) = %v, want %v", tc.labels, ids, want)
			}
		})
	}
}

// collectEvents gathers events for id until stop returns true.
func collectEvents(t *testing.T, evs <-chan dockerrt.Event, errs <-chan error, id string, stop func(dockerrt.Event) bool) []dockerrt.Event {
	t.Helper()
	var got []dockerrt.Event
	timeout := time.After(60 * time.Second)
	for {
		select {
		case ev, ok := <-evs:
			if !ok {
				t.Fatalf("event stream closed: %v (got %+v)", <-errs, got)
			}
			if ev.ID != id {
				continue
			}
			got = append(got, ev)
			if stop(ev) {
				return got
			}
		case <-timeout:
			t.Fatalf("timed out waiting for events; got %+v", got)
		}
	}
}

func TestEvents(t *testing.T) {
	t.Parallel()
	rt, image := setup(t)
	key := "dev.berth.test.events." + randHex(4)
	ctx, cancel := context.WithCancel(t.Context())
	evs, errs := rt.Events(ctx, key)

	id := run(t, rt, image, dockerrt.ContainerSpec{Cmd: []string{"exit", "7"}, Labels: map[string]string{key: "yes"}})
	got := collectEvents(t, evs, errs, id, func(ev dockerrt.Event) bool { return ev.Action == dockerrt.ActionDie })
	if len(got) != 2 || got[0].Action != dockerrt.ActionStart {
		t.Errorf("events = %+v, want start then die", got)
	}
	die := got[len(got)-1]
	if die.ExitCode != 7 || die.Labels[key] != "yes" || die.Time.IsZero() || !strings.HasPrefix(die.Name, "berth-test-") {
		t.Errorf("die event %+v", die)
	}

	if err := rt.Remove(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	collectEvents(t, evs, errs, id, func(ev dockerrt.Event) bool { return ev.Action == dockerrt.ActionDestroy })

	// Canceling the context closes both channels without an error.
	cancel()
	for range evs {
	}
	if err, ok := <-errs; ok {
		t.Errorf("error after cancel: %v", err)
	}
}

func TestEventsUnrelatedContainersFiltered(t *testing.T) {
	t.Parallel()
	rt, image := setup(t)
	key := "dev.berth.test.events." + randHex(4)
	evs, _ := rt.Events(t.Context(), key)
	id := run(t, rt, image, dockerrt.ContainerSpec{Cmd: []string{"exit", "0"}})
	waitExited(t, rt, id)
	select {
	case ev := <-evs:
		t.Errorf("unexpected event for a container without label %s: %+v", key, ev)
	case <-time.After(500 * time.Millisecond):
	}
}

func TestHealthCheck(t *testing.T) {
	t.Parallel()
	rt, image := setup(t)
	tests := []struct {
		name string
		url  string
		want string
	}{
		{"healthy", "http://127.0.0.1:8080/", "healthy"},
		{"unhealthy", "http://127.0.0.1:1/", "unhealthy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			key := "dev.berth.test.health." + randHex(4)
			evs, errs := rt.Events(t.Context(), key)
			id := run(t, rt, image, dockerrt.ContainerSpec{
				Labels: map[string]string{key: ""},
				HealthCheck: &dockerrt.HealthCheck{
					Test:     []string{"CMD", "/testapp", "healthcheck", tc.url},
					Interval: time.Second, Timeout: 3 * time.Second, Retries: 1,
				},
			})
			st := waitState(t, rt, id, 30*time.Second, tc.want, func(s dockerrt.State) bool { return s.Health == tc.want })
			if !st.Running {
				t.Errorf("not running: %+v", st)
			}
			got := collectEvents(t, evs, errs, id, func(ev dockerrt.Event) bool { return ev.Action == dockerrt.ActionHealthStatus })
			if ev := got[len(got)-1]; ev.Health != tc.want {
				t.Errorf("health event %+v, want %s", ev, tc.want)
			}
		})
	}
}

func TestEnsureImage(t *testing.T) {
	t.Parallel()
	rt, image := setup(t)

	t.Run("present locally", func(t *testing.T) {
		var lines []string
		if err := rt.EnsureImage(t.Context(), image, "", false, func(s string) { lines = append(lines, s) }); err != nil {
			t.Fatal(err)
		}
		if len(lines) != 0 {
			t.Errorf("unexpected progress %q", lines)
		}
	})

	for _, tc := range []struct {
		name, image string
		alwaysPull  bool
		wantErr     string
	}{
		{"unreachable registry", "127.0.0.1:1/nope:latest", false, "127.0.0.1:1"},
		{"unreachable registry always pull", "127.0.0.1:1/nope/deeper:v2", true, "connection refused"},
		{"invalid reference", "UPPER/Case:latest", false, "UPPER/Case"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			start := time.Now()
			err := rt.EnsureImage(ctx, tc.image, "", tc.alwaysPull, func(s string) { t.Log(s) })
			t.Logf("EnsureImage(%s) after %v: %v", tc.image, time.Since(start), err)
			if err == nil {
				t.Fatal("want error")
			}
			if !dockerrt.IsPullError(err) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q: want a PullError mentioning %q", err, tc.wantErr)
			}
			if time.Since(start) > 15*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
}

func TestNotFoundAndConflict(t *testing.T) {
	t.Parallel()
	rt, image := setup(t)
	missing := "berth-test-missing-" + randHex(6)

	_, err := rt.Inspect(t.Context(), missing)
	if !dockerrt.IsNotFound(err) {
		t.Errorf("Inspect missing: %v, want not found", err)
	}
	if err := rt.Start(t.Context(), missing); !dockerrt.IsNotFound(err) {
		t.Errorf("Start missing: %v, want not found", err)
	}
	if err := rt.Stop(t.Context(), missing, time.Second); !dockerrt.IsNotFound(err) {
		t.Errorf("Stop missing: %v, want not found", err)
	}
	if err := rt.Remove(t.Context(), missing); err != nil {
		t.Errorf("Remove missing: %v, want nil", err)
	}
	_, err = rt.Create(t.Context(), dockerrt.ContainerSpec{Name: missing, Image: "berth-test-no-such-image:" + randHex(4)})
	if !dockerrt.IsNotFound(err) {
		t.Errorf("Create with missing image: %v, want not found", err)
	}

	name := uniqueName(t)
	create(t, rt, image, dockerrt.ContainerSpec{Name: name})
	_, err = rt.Create(t.Context(), dockerrt.ContainerSpec{Name: name, Image: image})
	if !dockerrt.IsConflict(err) {
		t.Errorf("Create duplicate name: %v, want conflict", err)
	}
}

func TestNetworkModes(t *testing.T) {
	t.Parallel()
	rt, image := setup(t)
	for _, mode := range []string{"none", "host"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			// Ports are accepted but not published outside bridge mode; use a
			// port unlikely to clash in host mode.
			id := run(t, rt, image, dockerrt.ContainerSpec{
				NetworkMode: mode,
				Cmd:         []string{"sleep", "30"},
				Ports:       []dockerrt.PortMapping{{ContainerPort: 8080}},
			})
			st := waitState(t, rt, id, 20*time.Second, "running", func(s dockerrt.State) bool { return s.Running })
			if len(st.Ports) != 0 {
				t.Errorf("Ports = %+v, want none in %s mode", st.Ports, mode)
			}
		})
	}
}

func TestNewWithoutDaemon(t *testing.T) {
	sock := "unix://" + t.TempDir() + "/no-docker.sock"
	t.Setenv("DOCKER_HOST", sock)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	rt, err := dockerrt.New(ctx)
	if err == nil {
		rt.Close()
		t.Fatal("New succeeded without a daemon")
	}
	if !strings.Contains(err.Error(), sock) {
		t.Errorf("error %q does not name the daemon address", err)
	}
}

// TestStorageLimit: a container asked for a writable-layer size gets it
// where the storage driver holds such limits, and is created without it
// where the driver refuses them (overlay2 on ext4), after which the
// runtime reports that it cannot limit storage.
func TestStorageLimit(t *testing.T) {
	t.Parallel()
	rt, image := setup(t)
	id := run(t, rt, image, dockerrt.ContainerSpec{StorageGiB: 1})
	waitState(t, rt, id, 20*time.Second, "running", func(s dockerrt.State) bool { return s.Running })
	out, err := exec.Command("docker", "inspect", "--format", "{{json .HostConfig.StorageOpt}}", id).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.TrimSpace(string(out))
	if rt.StorageLimits() {
		if got != `{"size":"1G"}` {
			t.Fatalf("StorageOpt %s, want size 1G", got)
		}
		return
	}
	if got != "null" && got != "{}" {
		t.Fatalf("StorageOpt %s after the driver refused limits", got)
	}
	// Later containers are not asked for it again, and start.
	again := run(t, rt, image, dockerrt.ContainerSpec{StorageGiB: 1})
	waitState(t, rt, again, 20*time.Second, "running", func(s dockerrt.State) bool { return s.Running })
}
