package dockerrt

import (
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/network"
)

func TestCreateOptionsPorts(t *testing.T) {
	tests := []struct {
		name      string
		mode      string
		ports     []PortMapping
		wantBinds map[string]string // port -> "hostIP:hostPort"
		wantErr   string
	}{
		{name: "dynamic", ports: []PortMapping{{ContainerPort: 80}}, wantBinds: map[string]string{"80/tcp": ":"}},
		{name: "static udp on ip", ports: []PortMapping{{ContainerPort: 53, HostPort: 5353, Protocol: "UDP", HostIP: "127.0.0.1"}}, wantBinds: map[string]string{"53/udp": "127.0.0.1:5353"}},
		{name: "host mode publishes nothing", mode: "host", ports: []PortMapping{{ContainerPort: 80}}, wantBinds: map[string]string{}},
		{name: "another container's namespace exposes nothing", mode: "container:abc", ports: []PortMapping{{ContainerPort: 80}}, wantBinds: map[string]string{}},
		{name: "bad protocol", ports: []PortMapping{{ContainerPort: 80, Protocol: "sctp2"}}, wantErr: "protocol"},
		{name: "bad container port", ports: []PortMapping{{ContainerPort: 0}}, wantErr: "out of range"},
		{name: "bad host port", ports: []PortMapping{{ContainerPort: 1, HostPort: 70000}}, wantErr: "out of range"},
		{name: "bad host ip", ports: []PortMapping{{ContainerPort: 1, HostIP: "localhost"}}, wantErr: "host ip"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := createOptions(ContainerSpec{Image: "x", NetworkMode: tc.mode, Ports: tc.ports})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(tc.mode, "container:") && len(opts.Config.ExposedPorts) != 0 {
				t.Errorf("exposed %v in another container's namespace", opts.Config.ExposedPorts)
			}
			for _, p := range tc.ports {
				if strings.HasPrefix(tc.mode, "container:") {
					break
				}
				port, _ := network.PortFrom(uint16(p.ContainerPort), network.IPProtocol(strings.ToLower(p.Protocol)))
				if p.Protocol == "" {
					port, _ = network.PortFrom(uint16(p.ContainerPort), network.TCP)
				}
				if _, ok := opts.Config.ExposedPorts[port]; !ok {
					t.Errorf("port %v not exposed", port)
				}
			}
			got := map[string]string{}
			for port, bs := range opts.HostConfig.PortBindings {
				for _, b := range bs {
					ip := ""
					if b.HostIP.IsValid() {
						ip = b.HostIP.String()
					}
					got[port.String()] = ip + ":" + b.HostPort
				}
			}
			if len(got) != len(tc.wantBinds) {
				t.Fatalf("bindings %v, want %v", got, tc.wantBinds)
			}
			for k, v := range tc.wantBinds {
				if got[k] != v {
					t.Errorf("binding %s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestCreateOptionsMisc(t *testing.T) {
	opts, err := createOptions(ContainerSpec{
		Image:       "x",
		StopTimeout: 1500 * time.Millisecond,
		Mounts:      []Mount{{Source: "/a", Target: "/b"}, {Source: "vol", Target: "/c"}, {Target: "/d"}},
		HealthCheck: &HealthCheck{Test: []string{"CMD-SHELL", "true"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if *opts.Config.StopTimeout != 2 {
		t.Errorf("StopTimeout = %d, want 2", *opts.Config.StopTimeout)
	}
	var types []string
	for _, m := range opts.HostConfig.Mounts {
		types = append(types, string(m.Type))
	}
	if strings.Join(types, ",") != "bind,volume,volume" {
		t.Errorf("mount types %v", types)
	}
	if got := opts.Config.Healthcheck.Test; len(got) != 2 || got[0] != "CMD-SHELL" {
		t.Errorf("health test %q", got)
	}
	if opts.HostConfig.NetworkMode != "bridge" {
		t.Errorf("network mode %q", opts.HostConfig.NetworkMode)
	}

	for _, bad := range []ContainerSpec{
		{},
		{Image: "x", DNSServers: []string{"dns.example"}},
		{Image: "x", Mounts: []Mount{{Type: "nfs", Target: "/x"}}},
		{Image: "x", MemoryMiB: -1},
	} {
		if _, err := createOptions(bad); err == nil {
			t.Errorf("createOptions(%+v) succeeded", bad)
		}
	}
}

func TestProgressThrottle(t *testing.T) {
	now := time.Unix(1000, 0)
	th := newProgressThrottle(func() time.Time { return now })
	step := func(d time.Duration, m jsonstream.Message) string {
		now = now.Add(d)
		line, ok := th.line(m)
		if !ok {
			return "-"
		}
		return line
	}
	dl := func(cur, total int64) jsonstream.Message {
		return jsonstream.Message{ID: "abc", Status: "Downloading", Progress: &jsonstream.Progress{Current: cur, Total: total}}
	}
	got := []string{
		step(0, jsonstream.Message{ID: "latest", Status: "Pulling from library/x"}),
		step(0, jsonstream.Message{ID: "abc", Status: "Pulling fs layer", Progress: &jsonstream.Progress{}}),
		step(100*time.Millisecond, dl(1000, 40_000_000)),
		step(950*time.Millisecond, dl(12_300_000, 40_000_000)),
		step(100*time.Millisecond, dl(13_000_000, 40_000_000)),
		step(100*time.Millisecond, jsonstream.Message{ID: "abc", Status: "Pull complete"}),
		step(0, jsonstream.Message{Status: "Digest: sha256:00"}),
		step(0, jsonstream.Message{}),
	}
	want := []string{
		"latest: Pulling from library/x",
		"abc: Pulling fs layer",
		"-",
		"abc: Downloading 12.3MB/40.0MB",
		"-",
		"abc: Pull complete",
		"Digest: sha256:00",
		"-",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 999: "999B", 1000: "1.0kB", 12_345_678: "12.3MB", 5_000_000_000: "5.0GB"} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
}
