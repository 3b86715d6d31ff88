package ecs

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestContainerSettingsValidation(t *testing.T) {
	e := newEnv(t)
	lp := func(f func(*LinuxParameters)) func(*RegisterTaskDefinitionInput) {
		return func(in *RegisterTaskDefinitionInput) {
			p := &LinuxParameters{}
			f(p)
			in.ContainerDefinitions[0].LinuxParameters = p
		}
	}
	sysctl := func(ns, v string) func(*RegisterTaskDefinitionInput) {
		return func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].SystemControls = []SystemControl{{Namespace: ns, Value: v}}
		}
	}
	labels := func(kv ...string) func(*RegisterTaskDefinitionInput) {
		return func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].DockerLabels = map[string]string{}
			for i := 0; i+1 < len(kv); i += 2 {
				in.ContainerDefinitions[0].DockerLabels[kv[i]] = kv[i+1]
			}
		}
	}
	for _, tc := range []struct {
		name   string
		mutate func(*RegisterTaskDefinitionInput)
		field  string // "" = accepted; else the error must name it
	}{
		{"net sysctl", sysctl("net.core.somaxconn", "1024"), ""},
		{"own labels", labels("app", "web", "com.example.team", "a"), ""},
		{"agent label", labels("berth.task-credentials-id", "x"), "dockerLabels"},
		{"agent label, other case", labels("Berth.Container-Instance-Arn", "x"), "dockerLabels"},
		{"unknown reserved label", labels("berth.anything", "x"), "dockerLabels"},
		{"ipc sysctl", sysctl("kernel.shmmax", "68719476736"), ""},
		{"mqueue sysctl", sysctl("fs.mqueue.msg_max", "20"), ""},
		{"host-wide sysctl", sysctl("kernel.panic", "1"), "systemControls"},
		{"sysctl without namespace", sysctl("", "1"), "systemControls"},
		{"sysctl without value", sysctl("net.core.somaxconn", ""), "systemControls"},
		{"net sysctl in host network", func(in *RegisterTaskDefinitionInput) {
			in.NetworkMode = "host"
			sysctl("net.core.somaxconn", "1024")(in)
		}, "systemControls"},
		{"ipc sysctl with host ipc", func(in *RegisterTaskDefinitionInput) {
			in.IpcMode = "host"
			sysctl("kernel.sem", "250 32000 32 128")(in)
		}, "systemControls"},
		{"capabilities", lp(func(p *LinuxParameters) {
			p.Capabilities = &KernelCapabilities{Add: []string{"NET_ADMIN"}, Drop: []string{"ALL"}}
		}), ""},
		{"unknown capability", lp(func(p *LinuxParameters) { p.Capabilities = &KernelCapabilities{Add: []string{"CAP_NET_ADMIN"}} }), "linuxParameters"},
		{"device", lp(func(p *LinuxParameters) {
			p.Devices = []Device{{HostPath: "/dev/fuse", Permissions: []string{"read", "mknod"}}}
		}), ""},
		{"relative device", lp(func(p *LinuxParameters) { p.Devices = []Device{{HostPath: "dev/fuse"}} }), "linuxParameters"},
		{"bad device permission", lp(func(p *LinuxParameters) { p.Devices = []Device{{HostPath: "/dev/fuse", Permissions: []string{"rw"}}} }), "linuxParameters"},
		{"tmpfs", lp(func(p *LinuxParameters) {
			p.Tmpfs = []Tmpfs{{ContainerPath: "/run", Size: 64, MountOptions: []string{"noexec", "mode=1777"}}}
		}), ""},
		{"tmpfs without size", lp(func(p *LinuxParameters) { p.Tmpfs = []Tmpfs{{ContainerPath: "/run"}} }), "linuxParameters"},
		{"tmpfs bad option", lp(func(p *LinuxParameters) {
			p.Tmpfs = []Tmpfs{{ContainerPath: "/run", Size: 1, MountOptions: []string{"size=1g"}}}
		}), "linuxParameters"},
		{"tmpfs twice", lp(func(p *LinuxParameters) {
			p.Tmpfs = []Tmpfs{{ContainerPath: "/run", Size: 1}, {ContainerPath: "/run", Size: 2}}
		}), "linuxParameters"},
		{"shared memory", lp(func(p *LinuxParameters) { p.SharedMemorySize = ptr(256) }), ""},
		{"zero shared memory", lp(func(p *LinuxParameters) { p.SharedMemorySize = ptr(0) }), "linuxParameters"},
		{"swap", lp(func(p *LinuxParameters) { p.MaxSwap, p.Swappiness = ptr(512), ptr(10) }), ""},
		{"negative swap", lp(func(p *LinuxParameters) { p.MaxSwap = ptr(-1) }), "linuxParameters"},
		{"swappiness over 100", lp(func(p *LinuxParameters) { p.MaxSwap, p.Swappiness = ptr(0), ptr(101) }), "linuxParameters"},
		{"swap without memory", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].Memory, in.ContainerDefinitions[0].MemoryReservation = nil, ptr(64)
			in.ContainerDefinitions[0].LinuxParameters = &LinuxParameters{MaxSwap: ptr(64)}
		}, "linuxParameters"},
		{"init", lp(func(p *LinuxParameters) { p.InitProcessEnabled = ptr(true) }), ""},
		{"security options", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].DockerSecurityOptions = []string{"no-new-privileges", "apparmor:docker-default", "label:type:svirt_apache_t"}
		}, ""},
		{"seccomp security option", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].DockerSecurityOptions = []string{"seccomp=unconfined"}
		}, "dockerSecurityOptions"},
		{"dns search", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].DNSSearchDomains = []string{"svc.local"}
		}, ""},
		{"bad dns search", func(in *RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].DNSSearchDomains = []string{"a b"} }, "dnsSearchDomains"},
		{"ulimit soft over hard", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].Ulimits = []Ulimit{{Name: "nofile", SoftLimit: 10, HardLimit: 5}}
		}, "ulimit"},
		{"gpu", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].ResourceRequirements = []ResourceRequirement{{Type: "GPU", Value: "2"}}
		}, ""},
		{"gpu not a number", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].ResourceRequirements = []ResourceRequirement{{Type: "GPU", Value: "two"}}
		}, "resourceRequirements"},
		{"inference accelerator requirement", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].ResourceRequirements = []ResourceRequirement{{Type: "InferenceAccelerator", Value: "device_1"}}
		}, "InferenceAccelerator"},
		{"inference accelerators", func(in *RegisterTaskDefinitionInput) {
			in.InferenceAccelerators = []InferenceAccelerator{{DeviceName: "device_1", DeviceType: "eia2.medium"}}
		}, "inferenceAccelerators"},
		{"restart policy", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].RestartPolicy = &ContainerRestartPolicy{Enabled: ptr(true), IgnoredExitCodes: []int{0}, RestartAttemptPeriod: ptr(60)}
		}, ""},
		{"restart policy without enabled", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].RestartPolicy = &ContainerRestartPolicy{}
		}, "restartPolicy"},
		{"restart period too short", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].RestartPolicy = &ContainerRestartPolicy{Enabled: ptr(true), RestartAttemptPeriod: ptr(59)}
		}, "restartPolicy"},
		{"repository credentials", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].RepositoryCredentials = &RepositoryCredentials{CredentialsParameter: "arn:aws:secretsmanager:us-east-1:123456789012:secret:reg"}
		}, "repositoryCredentials"},
		{"empty lists", func(in *RegisterTaskDefinitionInput) {
			c := &in.ContainerDefinitions[0]
			c.SystemControls, c.DNSSearchDomains, c.DockerSecurityOptions, c.ResourceRequirements = []SystemControl{}, []string{}, []string{}, []ResourceRequirement{}
			c.LinuxParameters = &LinuxParameters{Capabilities: &KernelCapabilities{}, Devices: []Device{}, Tmpfs: []Tmpfs{}}
			in.InferenceAccelerators = []InferenceAccelerator{}
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := validTaskDef()
			in.Family = "settings"
			tc.mutate(&in)
			_, err := e.svc.RegisterTaskDefinition(e.ctx, &in)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantCode(t, err, "ClientException")
			if !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("error %q does not name %s", err, tc.field)
			}
		})
	}
}

// TestContainerSettingsPayload checks the Docker configuration an agent
// receives for the container settings.
func TestContainerSettingsPayload(t *testing.T) {
	c := ContainerDefinition{
		Name: "app", Image: "busybox", Memory: ptr(64),
		SystemControls:        []SystemControl{{Namespace: "net.core.somaxconn", Value: "1024"}},
		DNSSearchDomains:      []string{"svc.local"},
		DockerSecurityOptions: []string{"no-new-privileges"},
		Interactive:           ptr(true), PseudoTerminal: ptr(true),
		LinuxParameters: &LinuxParameters{
			Capabilities:       &KernelCapabilities{Add: []string{"NET_ADMIN"}, Drop: []string{"MKNOD"}},
			Devices:            []Device{{HostPath: "/dev/fuse", Permissions: []string{"read", "mknod"}}, {HostPath: "/dev/null", ContainerPath: "/dev/n"}},
			InitProcessEnabled: ptr(true), SharedMemorySize: ptr(128),
			Tmpfs:   []Tmpfs{{ContainerPath: "/run", Size: 16, MountOptions: []string{"noexec"}}},
			MaxSwap: ptr(32),
		},
		RestartPolicy: &ContainerRestartPolicy{Enabled: ptr(true), IgnoredExitCodes: []int{0}},
	}
	s := &Service{}
	task := s.acsTask(&taskRecord{}, &TaskDefinition{Family: "f", NetworkMode: "bridge", ContainerDefinitions: []ContainerDefinition{c}})
	ac := task.Containers[0]
	var cfg map[string]any
	var host map[string]any
	if err := json.Unmarshal([]byte(ac.DockerConfig.Config), &cfg); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(ac.DockerConfig.HostConfig), &host); err != nil {
		t.Fatal(err)
	}
	wantHost := map[string]any{
		"Sysctls":   map[string]any{"net.core.somaxconn": "1024"},
		"DnsSearch": []any{"svc.local"}, "SecurityOpt": []any{"no-new-privileges"},
		"CapAdd": []any{"NET_ADMIN"}, "CapDrop": []any{"MKNOD"},
		"Devices": []any{
			map[string]any{"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/fuse", "CgroupPermissions": "rm"},
			map[string]any{"PathOnHost": "/dev/null", "PathInContainer": "/dev/n", "CgroupPermissions": "rwm"},
		},
		"Init": true, "ShmSize": float64(128 << 20), "Tmpfs": map[string]any{"/run": "size=16m,noexec"},
		"MemorySwap": float64(96 << 20), "MemorySwappiness": float64(60),
	}
	for k, want := range wantHost {
		if !reflect.DeepEqual(host[k], want) {
			t.Errorf("hostConfig.%s = %#v, want %#v", k, host[k], want)
		}
	}
	if cfg["OpenStdin"] != true || cfg["Tty"] != true {
		t.Errorf("config = %v, want OpenStdin and Tty", cfg)
	}
	if rp := ac.RestartPolicy; rp == nil || !rp.Enabled || rp.RestartAttemptPeriod != 300 || !reflect.DeepEqual(rp.IgnoredExitCodes, []int{0}) {
		t.Errorf("restartPolicy = %+v, want enabled, ignoring 0, every 300 s", rp)
	}
}

// TestGPUPlacement places GPU tasks only where registered GPUs are free,
// and explains the refusal as RESOURCE:GPU.
func TestGPUPlacement(t *testing.T) {
	e := newEnv(t)
	gpuTask := container("train", 128, 128)
	gpuTask.ResourceRequirements = []ResourceRequirement{{Type: "GPU", Value: "2"}}
	td := e.taskDef("train", gpuTask)
	e.cluster("gpu")
	plain := e.instance("gpu", 4096, 4096)
	run := func() *RunTaskOutput {
		return must[*RunTaskOutput](t)(e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: "gpu", TaskDefinition: td.TaskDefinitionArn}))
	}
	if out := run(); len(out.Tasks) != 0 || len(out.Failures) != 1 || out.Failures[0].Reason != "RESOURCE:GPU" || out.Failures[0].Arn != plain.ContainerInstanceArn {
		t.Fatalf("without GPUs: tasks %d failures %+v, want one RESOURCE:GPU", len(out.Tasks), out.Failures)
	}
	withGPUs := e.instance("gpu", 4096, 4096, instanceOpts{gpus: []string{"GPU-0", "GPU-1", "GPU-2"}})
	out := run()
	if len(out.Tasks) != 1 || out.Tasks[0].ContainerInstanceArn != withGPUs.ContainerInstanceArn {
		t.Fatalf("with GPUs: tasks %+v failures %+v", out.Tasks, out.Failures)
	}
	// One GPU is left: the next task does not fit.
	if out := run(); len(out.Tasks) != 0 || !slices.ContainsFunc(out.Failures, func(f Failure) bool {
		return f.Arn == withGPUs.ContainerInstanceArn && f.Reason == "RESOURCE:GPU"
	}) {
		t.Fatalf("third GPU task: tasks %d failures %+v", len(out.Tasks), out.Failures)
	}
}
