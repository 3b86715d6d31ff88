package ecs

import (
	"cmp"
	"encoding/json"
	"github.com/berth-dev/berth/internal/acs"
	"strconv"
	"time"
)

// dockerConfig and dockerHostConfig are the Docker API fields the ECS
// backend passes through a container's dockerConfig, as the agent expects.
type dockerConfig struct {
	Labels      map[string]string  `json:"Labels,omitempty"`
	User        string             `json:"User,omitempty"`
	WorkingDir  string             `json:"WorkingDir,omitempty"`
	Hostname    string             `json:"Hostname,omitempty"`
	Healthcheck *dockerHealthcheck `json:"Healthcheck,omitempty"`
	OpenStdin   bool               `json:"OpenStdin,omitempty"`
	Tty         bool               `json:"Tty,omitempty"`
}

type dockerHealthcheck struct {
	Test        []string      `json:"Test"`
	Interval    time.Duration `json:"Interval"`
	Timeout     time.Duration `json:"Timeout"`
	StartPeriod time.Duration `json:"StartPeriod"`
	Retries     int           `json:"Retries"`
}

type dockerHostConfig struct {
	MemoryReservation int64          `json:"MemoryReservation,omitempty"`
	Ulimits           []dockerUlimit `json:"Ulimits,omitempty"`
	ReadonlyRootfs    bool           `json:"ReadonlyRootfs,omitempty"`
	Privileged        bool           `json:"Privileged,omitempty"`
	DNS               []string       `json:"Dns,omitempty"`
	ExtraHosts        []string       `json:"ExtraHosts,omitempty"`
	LogConfig         *dockerLog     `json:"LogConfig,omitempty"`
	NetworkDisabled   bool           `json:"-"`

	Sysctls          map[string]string `json:"Sysctls,omitempty"`
	DNSSearch        []string          `json:"DnsSearch,omitempty"`
	SecurityOpt      []string          `json:"SecurityOpt,omitempty"`
	CapAdd           []string          `json:"CapAdd,omitempty"`
	CapDrop          []string          `json:"CapDrop,omitempty"`
	Devices          []dockerDevice    `json:"Devices,omitempty"`
	Init             *bool             `json:"Init,omitempty"`
	Tmpfs            map[string]string `json:"Tmpfs,omitempty"`
	ShmSize          int64             `json:"ShmSize,omitempty"`
	MemorySwap       int64             `json:"MemorySwap,omitempty"`
	MemorySwappiness *int64            `json:"MemorySwappiness,omitempty"`
}

type dockerDevice struct {
	PathOnHost        string `json:"PathOnHost"`
	PathInContainer   string `json:"PathInContainer"`
	CgroupPermissions string `json:"CgroupPermissions"`
}

type dockerUlimit struct {
	Name string `json:"Name"`
	Soft int64  `json:"Soft"`
	Hard int64  `json:"Hard"`
}

type dockerLog struct {
	Type   string            `json:"Type"`
	Config map[string]string `json:"Config,omitempty"`
}

// acsTask renders a stored task and its definition as an ACS payload task,
// with the run's overrides already applied.
func (s *Service) acsTask(rec *taskRecord, td *TaskDefinition) acs.Task {
	t := acs.Task{
		Arn: rec.Task.TaskArn, DesiredStatus: rec.agentDesiredStatus(), Family: td.Family,
		Version: strconv.Itoa(td.Revision), TaskDefinitionAccountId: s.cfg.Account,
		Volumes: []acs.Volume{}, LaunchType: cmp.Or(rec.Task.LaunchType, "EC2"), NetworkMode: td.NetworkMode, Group: rec.Task.Group,
		PidMode: td.PidMode, IpcMode: td.IpcMode, TaskClusterArn: rec.Task.ClusterArn,
	}
	if es := rec.Task.EphemeralStorage; es != nil {
		t.EphemeralStorageGiB = es.SizeInGiB
	}
	t.RoleCredentials, t.ExecutionRoleCredentials = rec.Credentials.acsCredentials()
	if rec.Interface != nil {
		t.ElasticNetworkInterfaces = rec.Interface.acsInterface(s.arn("attachment/" + rec.Interface.Attachment))
	}
	if v, err := strconv.Atoi(td.Cpu); err == nil {
		t.Cpu = float64(v) / 1024
	}
	if v, err := strconv.Atoi(td.Memory); err == nil {
		t.Memory = v
	}
	for _, v := range td.Volumes {
		av := acs.Volume{Name: v.Name, Type: "host", Host: v.Host}
		if v.DockerVolumeConfiguration != nil {
			av.Type, av.Host, av.DockerVolumeConfiguration = "docker", nil, v.DockerVolumeConfiguration
		}
		if av.Type == "host" && av.Host == nil {
			av.Host = &acs.HostVolumeProperties{}
		}
		t.Volumes = append(t.Volumes, av)
	}
	for i, c := range td.ContainerDefinitions {
		ac := acs.Container{
			Name: c.Name, Image: c.Image, Command: c.Command, EntryPoint: c.EntryPoint, Cpu: c.Cpu,
			Environment: map[string]string{}, Essential: c.Essential == nil || *c.Essential, Links: c.Links,
			PortMappings: []acs.PortMapping{}, MountPoints: c.MountPoints, VolumesFrom: c.VolumesFrom,
			DependsOn: c.DependsOn, Overrides: "{}",
		}
		if i < len(rec.Task.Containers) {
			ac.ContainerArn = rec.Task.Containers[i].ContainerArn
		}
		if c.Memory != nil {
			ac.Memory = *c.Memory
		}
		if c.StopTimeout != nil {
			ac.StopTimeout = *c.StopTimeout
		}
		if c.StartTimeout != nil {
			ac.StartTimeout = *c.StartTimeout
		}
		for _, e := range c.Environment {
			ac.Environment[e.Name] = e.Value
		}
		memRes := c.MemoryReservation
		if co := containerOverride(&rec.Task.Overrides, c.Name); co != nil {
			if co.Command != nil {
				ac.Command = co.Command
			}
			for _, e := range co.Environment {
				ac.Environment[e.Name] = e.Value
			}
			if co.Cpu != nil {
				ac.Cpu = *co.Cpu
			}
			if co.Memory != nil {
				ac.Memory = *co.Memory
			}
			if co.MemoryReservation != nil {
				memRes = co.MemoryReservation
			}
		}
		for _, pm := range c.PortMappings {
			ap := acs.PortMapping{ContainerPort: *pm.ContainerPort, Protocol: pm.Protocol}
			if pm.HostPort != nil {
				ap.HostPort = *pm.HostPort
			}
			ac.PortMappings = append(ac.PortMappings, ap)
		}
		cfg := dockerConfig{Labels: c.DockerLabels, User: c.User, WorkingDir: c.WorkingDirectory, Hostname: c.Hostname}
		if hc := c.HealthCheck; hc != nil {
			ac.HealthCheckType = "docker"
			cfg.Healthcheck = &dockerHealthcheck{
				Test: hc.Command, Interval: secs(hc.Interval), Timeout: secs(hc.Timeout),
				StartPeriod: secs(hc.StartPeriod), Retries: deref(hc.Retries),
			}
		}
		host := dockerHostConfig{DNS: c.DNSServers}
		if memRes != nil {
			host.MemoryReservation = int64(*memRes) << 20
		}
		for _, u := range c.Ulimits {
			host.Ulimits = append(host.Ulimits, dockerUlimit{Name: u.Name, Soft: u.SoftLimit, Hard: u.HardLimit})
		}
		host.ReadonlyRootfs = c.ReadonlyRootFilesystem != nil && *c.ReadonlyRootFilesystem
		host.Privileged = c.Privileged != nil && *c.Privileged
		for _, h := range c.ExtraHosts {
			host.ExtraHosts = append(host.ExtraHosts, h.Hostname+":"+h.IPAddress)
		}
		if lc := c.LogConfiguration; lc != nil {
			host.LogConfig = &dockerLog{Type: lc.LogDriver, Config: lc.Options}
		}
		renderContainerSettings(&c, ac.Memory, &cfg, &host)
		ac.RestartPolicy = acsRestartPolicy(c.RestartPolicy)
		cb, _ := json.Marshal(cfg)
		hb, _ := json.Marshal(host)
		ac.DockerConfig = acs.DockerConfig{Config: string(cb), HostConfig: string(hb), Version: "1.19"}
		t.Containers = append(t.Containers, ac)
	}
	return t
}

func secs(v *int) time.Duration { return time.Duration(deref(v)) * time.Second }

func deref(v *int) int {
	if v == nil {
		return 0
	}
	return *v
}
