package dockerrt

import (
	"github.com/moby/moby/api/types/container"
)

// LinuxSettings are the kernel-facing settings of a container, as an ECS
// container definition's linuxParameters, systemControls,
// dockerSecurityOptions, dnsSearchDomains, interactive and pseudoTerminal
// give them. Zero values mean Docker's defaults.
type LinuxSettings struct {
	Sysctls          map[string]string // namespaced kernel parameters, "net.core.somaxconn" -> "1024"
	CapAdd, CapDrop  []string          // capabilities added to or dropped from Docker's default set
	Devices          []Device          // host devices exposed in the container
	Init             bool              // run an init process (docker run --init) as PID 1
	Tmpfs            map[string]string // container path -> tmpfs mount options ("size=64m,noexec")
	ShmSize          int64             // bytes of /dev/shm; 0 = Docker's default (64 MiB)
	MemorySwap       int64             // bytes of memory and swap together; 0 = Docker's default
	MemorySwappiness *int64            // 0-100; nil = the host's
	SecurityOpt      []string          // "no-new-privileges", "apparmor:PROFILE", "label:..."
	DNSSearch        []string          // DNS search domains
	OpenStdin, Tty   bool              // keep stdin open; allocate a pseudo-terminal
}

// Device exposes a host device in a container.
type Device struct {
	HostPath, ContainerPath string
	Permissions             string // cgroup permissions, e.g. "rwm"
}

// apply sets l on the create request.
func (l *LinuxSettings) apply(cfg *container.Config, hc *container.HostConfig) {
	hc.Sysctls = l.Sysctls
	hc.CapAdd, hc.CapDrop = l.CapAdd, l.CapDrop
	for _, d := range l.Devices {
		hc.Devices = append(hc.Devices, container.DeviceMapping{PathOnHost: d.HostPath, PathInContainer: d.ContainerPath, CgroupPermissions: d.Permissions})
	}
	if l.Init {
		init := true
		hc.Init = &init
	}
	hc.Tmpfs = l.Tmpfs
	hc.ShmSize = l.ShmSize
	hc.MemorySwap = l.MemorySwap
	hc.MemorySwappiness = l.MemorySwappiness
	hc.SecurityOpt = l.SecurityOpt
	hc.DNSSearch = l.DNSSearch
	cfg.OpenStdin, cfg.Tty = l.OpenStdin, l.Tty
}
