package agent_test

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/moby/moby/client"
)

// allSettings is a container definition with every Docker-facing setting
// of the ECS model that Berth applies.
func allSettings() ecstypes.ContainerDefinition {
	return ecstypes.ContainerDefinition{
		Name: aws.String("app"), Memory: aws.Int32(64),
		SystemControls: []ecstypes.SystemControl{
			{Namespace: aws.String("net.core.somaxconn"), Value: aws.String("1024")},
			{Namespace: aws.String("net.ipv4.ip_local_port_range"), Value: aws.String("40000 50000")},
		},
		LinuxParameters: &ecstypes.LinuxParameters{
			Capabilities:       &ecstypes.KernelCapabilities{Add: []string{"NET_ADMIN"}, Drop: []string{"MKNOD"}},
			Devices:            []ecstypes.Device{{HostPath: aws.String("/dev/null"), ContainerPath: aws.String("/dev/berth-null"), Permissions: []ecstypes.DeviceCgroupPermission{"read", "write"}}},
			InitProcessEnabled: aws.Bool(true),
			SharedMemorySize:   aws.Int32(128),
			Tmpfs:              []ecstypes.Tmpfs{{ContainerPath: aws.String("/scratch"), Size: 16, MountOptions: []string{"noexec", "mode=1777"}}},
			MaxSwap:            aws.Int32(0),
			Swappiness:         aws.Int32(10),
		},
		DnsSearchDomains:       []string{"berth.internal"},
		DockerSecurityOptions:  []string{"no-new-privileges"},
		Interactive:            aws.Bool(true),
		PseudoTerminal:         aws.Bool(true),
		Ulimits:                []ecstypes.Ulimit{{Name: ecstypes.UlimitNameNofile, SoftLimit: 1024, HardLimit: 2048}},
		ReadonlyRootFilesystem: aws.Bool(true),
		HealthCheck: &ecstypes.HealthCheck{Command: []string{"CMD", "/testapp", "healthcheck", "http://localhost:8080/"},
			Interval: aws.Int32(6), Timeout: aws.Int32(3), Retries: aws.Int32(4), StartPeriod: aws.Int32(2)},
		RestartPolicy: &ecstypes.ContainerRestartPolicy{Enabled: aws.Bool(true), IgnoredExitCodes: []int32{0}, RestartAttemptPeriod: aws.Int32(120)},
		LogConfiguration: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs,
			Options: map[string]string{"awslogs-group": "settings", "awslogs-region": "us-east-1", "awslogs-create-group": "true", "awslogs-stream-prefix": "p"}},
	}
}

// TestContainerSettingsReachDocker registers a definition with every
// setting through the SDK, reads it back, runs it and checks the created
// container's configuration with docker inspect.
func TestContainerSettingsReachDocker(t *testing.T) {
	e := newEnv(t)
	want := allSettings()
	td := e.register("settings", want)

	// The SDK decodes every setting as it was registered.
	out, err := e.client.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: &td})
	if err != nil {
		t.Fatal(err)
	}
	got := out.TaskDefinition.ContainerDefinitions[0]
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"systemControls", got.SystemControls, want.SystemControls},
		{"linuxParameters", got.LinuxParameters, want.LinuxParameters},
		{"dnsSearchDomains", got.DnsSearchDomains, want.DnsSearchDomains},
		{"dockerSecurityOptions", got.DockerSecurityOptions, want.DockerSecurityOptions},
		{"interactive", got.Interactive, want.Interactive},
		{"pseudoTerminal", got.PseudoTerminal, want.PseudoTerminal},
		{"ulimits", got.Ulimits, want.Ulimits},
		{"readonlyRootFilesystem", got.ReadonlyRootFilesystem, want.ReadonlyRootFilesystem},
		{"healthCheck", got.HealthCheck, want.HealthCheck},
		{"restartPolicy", got.RestartPolicy, want.RestartPolicy},
	} {
		if !reflect.DeepEqual(f.got, f.want) {
			g, _ := json.Marshal(f.got)
			w, _ := json.Marshal(f.want)
			t.Errorf("DescribeTaskDefinition %s = %s, want %s", f.name, g, w)
		}
	}

	arn := e.run(td)
	task := e.waitStatus(arn, "RUNNING", 60*time.Second)
	cli, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	res, err := cli.ContainerInspect(context.Background(), aws.ToString(task.Containers[0].RuntimeId), client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hc, cfg := res.Container.HostConfig, res.Container.Config
	check := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("container %s = %#v, want %#v", what, got, want)
		}
	}
	check("Sysctls", hc.Sysctls, map[string]string{"net.core.somaxconn": "1024", "net.ipv4.ip_local_port_range": "40000 50000"})
	check("CapAdd", []string(hc.CapAdd), []string{"CAP_NET_ADMIN"}) // Docker names them with the prefix
	check("CapDrop", []string(hc.CapDrop), []string{"CAP_MKNOD"})
	check("Devices", len(hc.Devices) == 1 && hc.Devices[0].PathOnHost == "/dev/null" && hc.Devices[0].PathInContainer == "/dev/berth-null" && hc.Devices[0].CgroupPermissions == "rw", true)
	check("Init", hc.Init != nil && *hc.Init, true)
	check("ShmSize", hc.ShmSize, int64(128<<20))
	check("Tmpfs", hc.Tmpfs, map[string]string{"/scratch": "size=16m,noexec,mode=1777"})
	check("MemorySwap", hc.MemorySwap, int64(64<<20))
	check("DnsSearch", hc.DNSSearch, []string{"berth.internal"})
	check("SecurityOpt", hc.SecurityOpt, []string{"no-new-privileges"})
	check("OpenStdin", cfg.OpenStdin, true)
	check("Tty", cfg.Tty, true)
	check("ReadonlyRootfs", hc.ReadonlyRootfs, true)
	check("Ulimits", len(hc.Ulimits) == 1 && hc.Ulimits[0].Name == "nofile" && hc.Ulimits[0].Soft == 1024 && hc.Ulimits[0].Hard == 2048, true)
	if h := cfg.Healthcheck; h == nil {
		t.Error("container has no health check")
	} else {
		check("Healthcheck", []any{h.Test, h.Interval, h.Timeout, h.Retries, h.StartPeriod},
			[]any{[]string{"CMD", "/testapp", "healthcheck", "http://localhost:8080/"}, 6 * time.Second, 3 * time.Second, 4, 2 * time.Second})
	}
	// awslogs output is kept in a bounded json-file log the agent ships.
	check("LogConfig", []any{hc.LogConfig.Type, hc.LogConfig.Config}, []any{"json-file", map[string]string{"max-size": "10m", "max-file": "3"}})
	if !slices.Contains([]string{"running"}, string(res.Container.State.Status)) {
		t.Errorf("container is %s, want running", res.Container.State.Status)
	}
}

// TestRestartPolicyRestartsInPlace runs an essential container that exits
// after its restart attempt period: the agent starts the same container
// again and the task stays RUNNING; an ignored exit code stops the task.
func TestRestartPolicyRestartsInPlace(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 60 s minimum restart attempt period")
	}
	e := newEnv(t)
	td := e.register("restarts", ecstypes.ContainerDefinition{
		Name: aws.String("app"), Command: []string{"sleep", "61"},
		RestartPolicy: &ecstypes.ContainerRestartPolicy{Enabled: aws.Bool(true), IgnoredExitCodes: []int32{3}, RestartAttemptPeriod: aws.Int32(60)},
	})
	arn := e.run(td)
	task := e.waitStatus(arn, "RUNNING", 60*time.Second)
	cli, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	id := aws.ToString(task.Containers[0].RuntimeId)
	first, err := cli.ContainerInspect(context.Background(), id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.eventually(100*time.Second, "the container restarted in place", func() bool {
		res, err := cli.ContainerInspect(context.Background(), id, client.ContainerInspectOptions{})
		return err == nil && res.Container.State.Running && res.Container.State.StartedAt != first.Container.State.StartedAt
	})
	if got := aws.ToString(e.describe(arn).LastStatus); got != "RUNNING" {
		t.Fatalf("task is %s after the restart, want RUNNING", got)
	}

	ignored := e.register("ignored", ecstypes.ContainerDefinition{
		Name: aws.String("app"), Command: []string{"exit", "3"},
		RestartPolicy: &ecstypes.ContainerRestartPolicy{Enabled: aws.Bool(true), IgnoredExitCodes: []int32{3}, RestartAttemptPeriod: aws.Int32(60)},
	})
	stopped := e.waitStatus(e.run(ignored), "STOPPED", 60*time.Second)
	if aws.ToInt32(stopped.Containers[0].ExitCode) != 3 {
		t.Fatalf("exit code %v, want 3", stopped.Containers[0].ExitCode)
	}
}
