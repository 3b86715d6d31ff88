package agent

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth-dev/berth/internal/acs"
	"github.com/berth-dev/berth/internal/agent/dockerrt"
)

func TestHostPolicy(t *testing.T) {
	dataDir := t.TempDir()
	link := filepath.Join(t.TempDir(), "link-to-data")
	if err := os.Symlink(dataDir, link); err != nil {
		t.Fatal(err)
	}
	local := HostPolicy{DisablePrivileged: true, ProtectedPaths: []string{dataDir, "/var/run/docker.sock", "/"}}
	strict := HostPolicy{DisableHostNamespaces: true, DisableCapAdd: true}
	task := func(f func(*acs.Task)) *acs.Task {
		def := &acs.Task{Containers: []acs.Container{{Name: "web"}, {Name: "side"}}}
		f(def)
		return def
	}
	mount := func(path string) func(*acs.Task) {
		return func(def *acs.Task) {
			def.Volumes = []acs.Volume{{Name: "v", Host: &acs.HostVolumeProperties{SourcePath: path}}}
			def.Containers[1].MountPoints = []acs.MountPoint{{SourceVolume: "v", ContainerPath: "/mnt"}}
		}
	}
	hostConfig := func(js string) func(*acs.Task) {
		return func(def *acs.Task) { def.Containers[1].DockerConfig.HostConfig = js }
	}
	for _, tc := range []struct {
		name   string
		policy HostPolicy
		def    *acs.Task
		want   string // "" = allowed; else a word of the refusal
	}{
		{"plain task", local, task(func(*acs.Task) {}), ""},
		{"privileged", local, task(hostConfig(`{"Privileged":true}`)), "ECS_DISABLE_PRIVILEGED"},
		{"privileged allowed", strict, task(hostConfig(`{"Privileged":true}`)), ""},
		{"data dir", local, task(mount(dataDir)), "protects"},
		{"inside the data dir", local, task(mount(filepath.Join(dataDir, "etcd"))), "protects"},
		{"a link to the data dir", local, task(mount(link)), "protects"},
		{"docker socket", local, task(mount("/var/run/docker.sock")), "protects"},
		{"directory of the docker socket", local, task(mount("/var/run")), "protects"},
		{"host root", local, task(mount("/")), "protects"},
		{"host root, unclean", local, task(mount("//./")), "protects"},
		{"other host path", local, task(mount("/srv/app-data")), ""},
		{"host pid", strict, task(func(def *acs.Task) { def.PidMode = "host" }), "pidMode"},
		{"host ipc", strict, task(func(def *acs.Task) { def.IpcMode = "host" }), "ipcMode"},
		{"task pid", strict, task(func(def *acs.Task) { def.PidMode = "task" }), ""},
		{"host pid allowed", local, task(func(def *acs.Task) { def.PidMode = "host" }), ""},
		{"cap add", strict, task(hostConfig(`{"CapAdd":["NET_ADMIN"]}`)), "NET_ADMIN"},
		{"cap drop", strict, task(hostConfig(`{"CapDrop":["ALL"]}`)), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name, err := tc.policy.check(tc.def)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want a refusal naming %q", err, tc.want)
			case tc.want != "" && name == "":
				t.Fatalf("the refusal names no container")
			}
		})
	}
}

// TestPrivilegedAttribute: an instance that refuses privileged containers
// does not offer the capability, so placement passes it by.
func TestPrivilegedAttribute(t *testing.T) {
	for _, disabled := range []bool{false, true} {
		a := &Agent{cfg: Config{Host: HostPolicy{DisablePrivileged: disabled}}}
		offered := slices.ContainsFunc(a.attributes(dockerrt.Info{Architecture: "amd64"}), func(at ecstypes.Attribute) bool {
			return at.Name != nil && *at.Name == "com.amazonaws.ecs.capability.privileged-container"
		})
		if offered == disabled {
			t.Errorf("ECS_DISABLE_PRIVILEGED=%v: privileged-container offered = %v", disabled, offered)
		}
	}
}

func TestHostPolicySettings(t *testing.T) {
	t.Setenv("ECS_DISABLE_PRIVILEGED", "true")
	t.Setenv("BERTH_DISABLE_HOST_NAMESPACES", "1")
	t.Setenv("BERTH_PROTECTED_HOST_PATHS", "/var/lib/berth, /var/run/docker.sock")
	cfg := Config{Endpoint: "http://127.0.0.1:4600", AccessKeyID: "AKID", SecretAccessKey: "secret"}
	if err := cfg.ApplyECSEnv(nil); err != nil {
		t.Fatal(err)
	}
	want := HostPolicy{DisablePrivileged: true, DisableHostNamespaces: true, ProtectedPaths: []string{"/var/lib/berth", "/var/run/docker.sock"}}
	if cfg.Host.DisablePrivileged != want.DisablePrivileged || cfg.Host.DisableHostNamespaces != want.DisableHostNamespaces ||
		cfg.Host.DisableCapAdd || !slices.Equal(cfg.Host.ProtectedPaths, want.ProtectedPaths) {
		t.Fatalf("host policy = %+v, want %+v", cfg.Host, want)
	}
	t.Setenv("BERTH_PROTECTED_HOST_PATHS", "relative/path")
	if err := (&Config{Endpoint: "http://127.0.0.1:4600", AccessKeyID: "AKID", SecretAccessKey: "secret"}).ApplyECSEnv(nil); err == nil {
		t.Fatal("a relative protected path was accepted")
	}
}
