package ecs

import (
	"cmp"
	"fmt"
	"github.com/berth-dev/berth/internal/acs"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/api"
)

// Checks of the container settings that go to Docker as they are (sysctls,
// Linux parameters, security options, restart policy, resource
// requirements), with ECS's valid values, so that a definition Docker would
// refuse fails at registration rather than as CannotCreateContainerError.

// kernelCapabilities are the values ECS accepts in linuxParameters.capabilities.
var kernelCapabilities = []string{"ALL", "AUDIT_CONTROL", "AUDIT_WRITE", "BLOCK_SUSPEND", "CHOWN", "DAC_OVERRIDE",
	"DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER", "KILL", "LEASE", "LINUX_IMMUTABLE", "MAC_ADMIN",
	"MAC_OVERRIDE", "MKNOD", "NET_ADMIN", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW", "SETFCAP", "SETGID",
	"SETPCAP", "SETUID", "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE", "SYS_NICE", "SYS_PACCT", "SYS_PTRACE",
	"SYS_RAWIO", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "SYSLOG", "WAKE_ALARM"}

// tmpfsMountOptions are the values ECS accepts in tmpfs.mountOptions; the
// last five take a value ("mode=1777").
var tmpfsMountOptions = []string{"defaults", "ro", "rw", "suid", "nosuid", "dev", "nodev", "exec", "noexec", "sync",
	"async", "dirsync", "remount", "mand", "nomand", "atime", "noatime", "diratime", "nodiratime", "bind", "rbind",
	"unbindable", "runbindable", "private", "rprivate", "shared", "rshared", "slave", "rslave", "relatime",
	"norelatime", "strictatime", "nostrictatime", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"}

// ipcSysctls are the namespaced kernel parameters of the IPC namespace;
// with the net.* ones they are the only sysctls a container may set.
var ipcSysctls = []string{"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
	"kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"}

// checkContainerSettings validates the settings of c that Docker applies
// as given; bad formats its message for the container.
func checkContainerSettings(c *ContainerDefinition, td *TaskDefinition, bad func(string, ...any) error) error {
	if c.RepositoryCredentials != nil {
		return bad("repositoryCredentials is not supported: Berth has no Secrets Manager to hold the credentialsParameter secret. " +
			"Push the image to Berth's ECR (pulled with the task execution role) or log the instance's Docker in to the registry.")
	}
	for k := range c.DockerLabels {
		if acs.ReservedLabel(k) {
			return bad("dockerLabels: the label %q is reserved: labels starting with %q are set by the agent.", k, acs.ReservedLabelPrefix)
		}
	}
	for _, sc := range c.SystemControls {
		if err := checkSysctl(sc, td); err != nil {
			return bad("systemControls: %s", err)
		}
	}
	for _, d := range c.DNSSearchDomains {
		if d == "" || len(d) > 253 || strings.ContainsAny(d, " \t\n/") {
			return bad("dnsSearchDomains: %q is not a domain name.", d)
		}
	}
	if len(c.DNSSearchDomains) > 6 {
		return bad("dnsSearchDomains can have at most 6 domains.")
	}
	for _, o := range c.DockerSecurityOptions {
		if !validSecurityOption(o) {
			return bad("dockerSecurityOptions: invalid value %q: valid values are no-new-privileges, apparmor:PROFILE and label:VALUE.", o)
		}
	}
	for _, u := range c.Ulimits {
		if u.SoftLimit > u.HardLimit && u.HardLimit >= 0 {
			return bad("ulimit %s: softLimit %d is greater than hardLimit %d.", u.Name, u.SoftLimit, u.HardLimit)
		}
	}
	if lp := c.LinuxParameters; lp != nil {
		if err := checkLinuxParameters(lp, c); err != nil {
			return bad("linuxParameters: %s", err)
		}
	}
	if err := checkResourceRequirements(c.ResourceRequirements); err != nil {
		return bad("resourceRequirements: %s", err)
	}
	if rp := c.RestartPolicy; rp != nil {
		if rp.Enabled == nil {
			return bad("restartPolicy.enabled is required.")
		}
		if len(rp.IgnoredExitCodes) > 50 {
			return bad("restartPolicy.ignoredExitCodes can have at most 50 exit codes.")
		}
		if p := rp.RestartAttemptPeriod; p != nil && (*p < 60 || *p > 1800) {
			return bad("restartPolicy.restartAttemptPeriod must be between 60 and 1800 seconds.")
		}
	}
	return nil
}

// checkSysctl accepts the namespaced sysctls Docker lets a container set,
// and refuses those of a namespace the task shares with the host.
func checkSysctl(sc SystemControl, td *TaskDefinition) error {
	ns := sc.Namespace
	switch {
	case ns == "":
		return fmt.Errorf("namespace is required")
	case sc.Value == "":
		return fmt.Errorf("%s needs a value", ns)
	case strings.HasPrefix(ns, "net."):
		if td.NetworkMode == "host" {
			return fmt.Errorf("%s cannot be set when networkMode=host: the container shares the host's network namespace", ns)
		}
	case slices.Contains(ipcSysctls, ns) || strings.HasPrefix(ns, "fs.mqueue."):
		if td.IpcMode == "host" {
			return fmt.Errorf("%s cannot be set when ipcMode=host: the container shares the host's IPC namespace", ns)
		}
	default:
		return fmt.Errorf("%s is not a namespaced kernel parameter; a container can set net.*, fs.mqueue.* and kernel.msg*/sem/shm* ones", ns)
	}
	return nil
}

func validSecurityOption(o string) bool {
	key, val, hasVal := strings.Cut(o, ":")
	switch key {
	case "no-new-privileges":
		return !hasVal || val == "true" || val == "false"
	case "apparmor", "label":
		return hasVal && val != ""
	}
	return false
}

func checkLinuxParameters(lp *LinuxParameters, c *ContainerDefinition) error {
	if caps := lp.Capabilities; caps != nil {
		for _, cp := range slices.Concat(caps.Add, caps.Drop) {
			if !slices.Contains(kernelCapabilities, cp) {
				return fmt.Errorf("invalid capability %q", cp)
			}
		}
	}
	for i := range lp.Devices {
		d := &lp.Devices[i]
		if !strings.HasPrefix(d.HostPath, "/") {
			return fmt.Errorf("devices need an absolute hostPath")
		}
		if d.ContainerPath != "" && !strings.HasPrefix(d.ContainerPath, "/") {
			return fmt.Errorf("device containerPath %q is not an absolute path", d.ContainerPath)
		}
		for _, p := range d.Permissions {
			if p != "read" && p != "write" && p != "mknod" {
				return fmt.Errorf("invalid device permission %q: valid values are read, write and mknod", p)
			}
		}
	}
	seen := map[string]bool{}
	for _, t := range lp.Tmpfs {
		if !strings.HasPrefix(t.ContainerPath, "/") {
			return fmt.Errorf("tmpfs needs an absolute containerPath")
		}
		if seen[t.ContainerPath] {
			return fmt.Errorf("tmpfs %s is mounted twice", t.ContainerPath)
		}
		seen[t.ContainerPath] = true
		if t.Size < 1 || t.Size > math.MaxInt32 {
			return fmt.Errorf("tmpfs %s needs a size between 1 and %d MiB", t.ContainerPath, math.MaxInt32)
		}
		for _, o := range t.MountOptions {
			if key, _, _ := strings.Cut(o, "="); !slices.Contains(tmpfsMountOptions, key) || strings.Contains(o, ",") {
				return fmt.Errorf("invalid tmpfs mount option %q", o)
			}
		}
	}
	if v := lp.SharedMemorySize; v != nil && (*v < 1 || *v > math.MaxInt32) {
		return fmt.Errorf("sharedMemorySize must be between 1 and %d MiB", math.MaxInt32)
	}
	if v := lp.MaxSwap; v != nil {
		if *v < 0 || *v > math.MaxInt32 {
			return fmt.Errorf("maxSwap must be between 0 and %d MiB", math.MaxInt32)
		}
		if c.Memory == nil {
			return fmt.Errorf("maxSwap needs the container's memory (hard limit) set")
		}
	}
	if v := lp.Swappiness; v != nil && (*v < 0 || *v > 100) {
		return fmt.Errorf("swappiness must be between 0 and 100")
	}
	return nil
}

// checkResourceRequirements accepts GPU counts; Berth instances have no
// Elastic Inference accelerators.
func checkResourceRequirements(rrs []ResourceRequirement) error {
	gpu := false
	for _, rr := range rrs {
		switch rr.Type {
		case "GPU":
			if gpu {
				return fmt.Errorf("GPU is given twice")
			}
			gpu = true
			if n, err := strconv.Atoi(rr.Value); err != nil || n < 1 || n > 1024 {
				return fmt.Errorf("GPU value %q is not a number of GPUs between 1 and 1024", rr.Value)
			}
		case "InferenceAccelerator":
			return fmt.Errorf("InferenceAccelerator is not supported: Berth instances have no Elastic Inference accelerators")
		default:
			return fmt.Errorf("invalid type %q: valid values are GPU and InferenceAccelerator", rr.Type)
		}
	}
	return nil
}

// containerGPUs is the number of GPUs c asks for.
func containerGPUs(c *ContainerDefinition) int {
	for _, rr := range c.ResourceRequirements {
		if rr.Type == "GPU" {
			n, _ := strconv.Atoi(rr.Value)
			return n
		}
	}
	return 0
}

// checkTaskLevelUnsupported refuses task definition inputs Berth cannot
// act on.
func checkTaskLevelUnsupported(in *RegisterTaskDefinitionInput) error {
	if len(in.InferenceAccelerators) > 0 {
		return api.ClientError("inferenceAccelerators is not supported: Berth instances have no Elastic Inference accelerators.")
	}
	return nil
}

// renderContainerSettings puts c's Linux settings into the Docker config
// and host config of its payload, as the ECS backend sends them; memory is
// the container's hard limit in MiB after overrides.
func renderContainerSettings(c *ContainerDefinition, memory int, cfg *dockerConfig, host *dockerHostConfig) {
	for _, sc := range c.SystemControls {
		if host.Sysctls == nil {
			host.Sysctls = map[string]string{}
		}
		host.Sysctls[sc.Namespace] = sc.Value
	}
	host.DNSSearch = c.DNSSearchDomains
	host.SecurityOpt = c.DockerSecurityOptions
	cfg.OpenStdin = c.Interactive != nil && *c.Interactive
	cfg.Tty = c.PseudoTerminal != nil && *c.PseudoTerminal
	lp := c.LinuxParameters
	if lp == nil {
		return
	}
	if caps := lp.Capabilities; caps != nil {
		host.CapAdd, host.CapDrop = caps.Add, caps.Drop
	}
	for _, d := range lp.Devices {
		perms := ""
		for _, p := range d.Permissions {
			perms += p[:1] // read, write, mknod -> r, w, m
		}
		dd := dockerDevice{PathOnHost: d.HostPath, PathInContainer: cmp.Or(d.ContainerPath, d.HostPath), CgroupPermissions: cmp.Or(perms, "rwm")}
		host.Devices = append(host.Devices, dd)
	}
	host.Init = lp.InitProcessEnabled
	for _, t := range lp.Tmpfs {
		if host.Tmpfs == nil {
			host.Tmpfs = map[string]string{}
		}
		host.Tmpfs[t.ContainerPath] = strings.Join(append([]string{fmt.Sprintf("size=%dm", t.Size)}, t.MountOptions...), ",")
	}
	if lp.SharedMemorySize != nil {
		host.ShmSize = int64(*lp.SharedMemorySize) << 20
	}
	if lp.MaxSwap != nil && memory > 0 {
		// Docker's MemorySwap is memory and swap together.
		host.MemorySwap = int64(memory+*lp.MaxSwap) << 20
		swappiness := int64(60)
		if lp.Swappiness != nil {
			swappiness = int64(*lp.Swappiness)
		}
		host.MemorySwappiness = &swappiness
	}
}

// acsRestartPolicy is an enabled restart policy as the agent receives it,
// with ECS's default attempt period of 300 seconds.
func acsRestartPolicy(rp *ContainerRestartPolicy) *acs.RestartPolicy {
	if rp == nil || rp.Enabled == nil || !*rp.Enabled {
		return nil
	}
	return &acs.RestartPolicy{Enabled: true, IgnoredExitCodes: rp.IgnoredExitCodes, RestartAttemptPeriod: cmp.Or(deref(rp.RestartAttemptPeriod), 300)}
}
