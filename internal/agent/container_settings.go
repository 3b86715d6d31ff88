package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/berth-dev/berth/internal/acs"
	"github.com/berth-dev/berth/internal/agent/dockerrt"
)

// awslogsLogOptions bound the json-file log Docker keeps of a container
// whose output the agent ships to CloudWatch Logs: at most three files of
// 10 MiB, so a chatty container cannot fill the host's disk. The agent
// follows the log as Docker writes it, so rotation loses nothing it has
// not shipped unless it falls 20 MiB or more behind.
var awslogsLogOptions = map[string]string{"max-size": "10m", "max-file": "3"}

// linuxConfig and linuxHostConfig are the Docker API fields of a payload's
// dockerConfig that become a container's LinuxSettings.
type linuxConfig struct {
	OpenStdin bool `json:"OpenStdin"`
	Tty       bool `json:"Tty"`
}

type linuxHostConfig struct {
	Sysctls     map[string]string `json:"Sysctls"`
	DNSSearch   []string          `json:"DnsSearch"`
	SecurityOpt []string          `json:"SecurityOpt"`
	CapAdd      []string          `json:"CapAdd"`
	CapDrop     []string          `json:"CapDrop"`
	Devices     []struct {
		PathOnHost, PathInContainer, CgroupPermissions string
	} `json:"Devices"`
	Init             *bool             `json:"Init"`
	Tmpfs            map[string]string `json:"Tmpfs"`
	ShmSize          int64             `json:"ShmSize"`
	MemorySwap       int64             `json:"MemorySwap"`
	MemorySwappiness *int64            `json:"MemorySwappiness"`
}

// linuxSettings reads a payload container's Linux settings.
func linuxSettings(cd *acs.Container) (dockerrt.LinuxSettings, error) {
	var cfg linuxConfig
	var host linuxHostConfig
	if cd.DockerConfig.Config != "" {
		if err := json.Unmarshal([]byte(cd.DockerConfig.Config), &cfg); err != nil {
			return dockerrt.LinuxSettings{}, fmt.Errorf("dockerConfig.config: %w", err)
		}
	}
	if cd.DockerConfig.HostConfig != "" {
		if err := json.Unmarshal([]byte(cd.DockerConfig.HostConfig), &host); err != nil {
			return dockerrt.LinuxSettings{}, fmt.Errorf("dockerConfig.hostConfig: %w", err)
		}
	}
	l := dockerrt.LinuxSettings{
		Sysctls: host.Sysctls, CapAdd: host.CapAdd, CapDrop: host.CapDrop, Init: host.Init != nil && *host.Init,
		Tmpfs: host.Tmpfs, ShmSize: host.ShmSize, MemorySwap: host.MemorySwap, MemorySwappiness: host.MemorySwappiness,
		SecurityOpt: host.SecurityOpt, DNSSearch: host.DNSSearch, OpenStdin: cfg.OpenStdin, Tty: cfg.Tty,
	}
	for _, d := range host.Devices {
		l.Devices = append(l.Devices, dockerrt.Device{HostPath: d.PathOnHost, ContainerPath: d.PathInContainer, Permissions: d.CgroupPermissions})
	}
	return l, nil
}

// shouldRestart applies a container's restart policy, as the ECS agent
// does, to a container that exited with code after running since
// startedAt: it is restarted unless the code is ignored or it last
// started less than the policy's attempt period ago.
func shouldRestart(rp *acs.RestartPolicy, code int, startedAt, now time.Time) bool {
	if rp == nil || !rp.Enabled || startedAt.IsZero() || slices.Contains(rp.IgnoredExitCodes, code) {
		return false
	}
	return now.Sub(startedAt) >= time.Duration(rp.RestartAttemptPeriod)*time.Second
}

// restartContainer starts an exited container again under its restart
// policy; if Docker refuses, the container stays stopped and checkTask
// handles it as any exit on its next pass.
func (a *Agent) restartContainer(ctx context.Context, t *task, c *container) {
	if err := a.rt.Start(ctx, c.id); err != nil {
		a.log.Warn("restart container under its restart policy", "task", t.arn, "container", c.name, "err", err)
		a.mu.Lock()
		c.def = withoutRestart(c.def)
		a.mu.Unlock()
		t.poke()
		return
	}
	a.log.Info("restarted container under its restart policy", "task", t.arn, "container", c.name)
	if opts, ok := awslogsOf(c.def); ok {
		a.shipLogs(ctx, t.arn, c.name, c.id, opts)
	}
}

// withoutRestart is cd with its restart policy turned off.
func withoutRestart(cd *acs.Container) *acs.Container {
	cp := *cd
	cp.RestartPolicy = nil
	return &cp
}
