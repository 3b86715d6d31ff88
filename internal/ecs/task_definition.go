package ecs

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/placement"
	"github.com/berth-dev/berth/internal/store"
)

// familyRecord tracks the revisions of a task definition family.
type familyRecord struct {
	Name           string `json:"name"`
	LatestRevision int    `json:"latestRevision"`
	ActiveCount    int    `json:"activeCount"`
}

// taskDefRecord is a task definition revision as stored.
type taskDefRecord struct {
	TaskDefinition TaskDefinition `json:"taskDefinition"`
	Tags           []Tag          `json:"tags"`
}

type RegisterTaskDefinitionInput struct {
	Family                  string                 `json:"family"`
	TaskRoleArn             string                 `json:"taskRoleArn"`
	ExecutionRoleArn        string                 `json:"executionRoleArn"`
	NetworkMode             string                 `json:"networkMode"`
	ContainerDefinitions    []ContainerDefinition  `json:"containerDefinitions"`
	Volumes                 []Volume               `json:"volumes"`
	PlacementConstraints    []PlacementConstraint  `json:"placementConstraints"`
	RequiresCompatibilities []string               `json:"requiresCompatibilities"`
	Cpu                     string                 `json:"cpu"`
	Memory                  string                 `json:"memory"`
	Tags                    []Tag                  `json:"tags"`
	PidMode                 string                 `json:"pidMode"`
	IpcMode                 string                 `json:"ipcMode"`
	EphemeralStorage        *EphemeralStorage      `json:"ephemeralStorage"`
	RuntimePlatform         *RuntimePlatform       `json:"runtimePlatform"`
	InferenceAccelerators   []InferenceAccelerator `json:"inferenceAccelerators"`
}

type TaskDefinitionOutput struct {
	TaskDefinition *TaskDefinition `json:"taskDefinition"`
	Tags           []Tag           `json:"tags,omitempty"`
}

// RegisterTaskDefinition validates a task definition and stores it as the
// family's next revision.
func (s *Service) RegisterTaskDefinition(ctx context.Context, in *RegisterTaskDefinitionInput) (*TaskDefinitionOutput, error) {
	if err := s.authorize(ctx, "RegisterTaskDefinition", s.arn("task-definition/"+in.Family+":*")); err != nil {
		return nil, err
	}
	td, err := normalizeTaskDefinition(in)
	if err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	td.RegisteredBy = api.PrincipalFrom(ctx).ARN
	fkey := s.keys.family(td.Family)
	for {
		fam, err := store.Get[familyRecord](ctx, s.store, fkey)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		f := fam.Value
		f.Name = td.Family
		f.LatestRevision++
		f.ActiveCount++
		td.Revision = f.LatestRevision
		td.TaskDefinitionArn = s.arn(fmt.Sprintf("task-definition/%s:%d", td.Family, td.Revision))
		td.RegisteredAt = api.Now()
		rec := taskDefRecord{TaskDefinition: *td, Tags: in.Tags}
		err = s.store.Commit(ctx, store.NewTxn().IfRev(fkey, fam.Rev).Put(fkey, f).Put(s.keys.taskDef(td.Family, td.Revision), rec))
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &TaskDefinitionOutput{TaskDefinition: td, Tags: in.Tags}, nil
	}
}

var (
	containerNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)
	memoryUnitRE    = regexp.MustCompile(`^(?i)\s*(\d+(?:\.\d+)?)\s*(gb|mb|mib|gib)?\s*$`)
	cpuUnitRE       = regexp.MustCompile(`^(?i)\s*(\d+(?:\.\d+)?)\s*(vcpu)?\s*$`)
)

// normalizeTaskDefinition validates a registration request the way ECS does
// and fills the defaults ECS reports back.
func normalizeTaskDefinition(in *RegisterTaskDefinitionInput) (*TaskDefinition, error) {
	if !nameRE.MatchString(in.Family) {
		return nil, api.ClientError("Family must be 1-255 characters long and contain only letters, numbers, hyphens and underscores.")
	}
	if len(in.ContainerDefinitions) == 0 {
		return nil, api.ClientError("Container list cannot be empty.")
	}
	if len(in.ContainerDefinitions) > 10 {
		return nil, api.ClientError("Too many containers: a task definition can have at most 10 containers.")
	}
	if err := checkTaskLevelUnsupported(in); err != nil {
		return nil, err
	}
	mode := in.NetworkMode
	if mode == "" {
		mode = "bridge"
	}
	if !slices.Contains([]string{"bridge", "host", "awsvpc", "none"}, mode) {
		return nil, api.InvalidParameter("Invalid networkMode %q: valid values are bridge, host, awsvpc and none.", in.NetworkMode)
	}
	for _, c := range in.RequiresCompatibilities {
		if !slices.Contains([]string{"EC2", "FARGATE", "EXTERNAL"}, c) {
			return nil, api.InvalidParameter("Invalid requiresCompatibilities value %q: valid values are EC2, FARGATE and EXTERNAL.", c)
		}
	}
	td := &TaskDefinition{
		Family: in.Family, TaskRoleArn: in.TaskRoleArn, ExecutionRoleArn: in.ExecutionRoleArn,
		NetworkMode: mode, Volumes: orEmpty(in.Volumes), Status: "ACTIVE",
		PlacementConstraints: orEmpty(in.PlacementConstraints), RequiresCompatibilities: in.RequiresCompatibilities,
		PidMode: in.PidMode, IpcMode: in.IpcMode, EphemeralStorage: in.EphemeralStorage, RuntimePlatform: in.RuntimePlatform,
	}
	if in.Cpu != "" {
		cpu, err := parseTaskCPU(in.Cpu)
		if err != nil {
			return nil, err
		}
		td.Cpu = strconv.Itoa(cpu)
	}
	if in.Memory != "" {
		mem, err := parseTaskMemory(in.Memory)
		if err != nil {
			return nil, err
		}
		td.Memory = strconv.Itoa(mem)
	}
	if err := checkTaskStorageAndPlatform(td); err != nil {
		return nil, err
	}
	requiresFargate := slices.Contains(in.RequiresCompatibilities, "FARGATE")
	if requiresFargate {
		if err := fargateTaskProblem(td); err != nil {
			return nil, err
		}
	}
	if len(in.PlacementConstraints) > placement.MaxConstraints {
		return nil, api.ClientError("Too many placement constraints: at most %d are allowed.", placement.MaxConstraints)
	}
	for _, c := range in.PlacementConstraints {
		if c.Type != "memberOf" {
			return nil, api.ClientError("Invalid placement constraint type %q: task definitions accept only memberOf.", c.Type)
		}
		if _, err := placement.ParseConstraint(c.Type, c.Expression); err != nil {
			return nil, api.ClientError("%s", err)
		}
	}
	volumes := map[string]bool{}
	for _, v := range td.Volumes {
		if !containerNameRE.MatchString(v.Name) {
			return nil, api.ClientError("Volume name must be 1-255 letters, numbers, hyphens and underscores.")
		}
		if volumes[v.Name] {
			return nil, api.ClientError("Duplicate volume name %q.", v.Name)
		}
		volumes[v.Name] = true
	}
	names := map[string]bool{}
	essential := false
	hostPorts := map[string]string{}
	for i := range in.ContainerDefinitions {
		c := in.ContainerDefinitions[i]
		if err := normalizeContainer(&c, td, volumes, hostPorts); err != nil {
			return nil, err
		}
		if names[c.Name] {
			return nil, api.ClientError("Duplicate container name %q: container names must be unique within a task definition.", c.Name)
		}
		names[c.Name] = true
		essential = essential || *c.Essential
		td.ContainerDefinitions = append(td.ContainerDefinitions, c)
	}
	if !essential {
		return nil, api.ClientError("Invalid setting for task definition: at least one container must be essential.")
	}
	for _, c := range td.ContainerDefinitions {
		for _, d := range c.DependsOn {
			if !names[d.ContainerName] || d.ContainerName == c.Name {
				return nil, api.ClientError("Invalid setting for container '%s'. dependsOn names unknown container '%s'.", c.Name, d.ContainerName)
			}
		}
		for _, vf := range c.VolumesFrom {
			if !names[vf.SourceContainer] {
				return nil, api.ClientError("Invalid setting for container '%s'. volumesFrom names unknown container '%s'.", c.Name, vf.SourceContainer)
			}
		}
		for _, l := range c.Links {
			if name, _, _ := strings.Cut(l, ":"); !names[name] {
				return nil, api.ClientError("Invalid setting for container '%s'. Link to unknown container '%s'.", c.Name, name)
			}
		}
	}
	if requiresFargate {
		for i := range td.ContainerDefinitions {
			if err := fargateContainerProblem(&td.ContainerDefinitions[i]); err != nil {
				return nil, err
			}
		}
	}
	td.Compatibilities = compatibilities(td)
	td.RequiresAttributes = requiresAttributes(td)
	return td, nil
}

// compatibilities are the launch types td validates against, as ECS
// reports them: FARGATE only when every Fargate rule holds.
func compatibilities(td *TaskDefinition) []string {
	out := []string{"EC2"}
	if td.NetworkMode != "awsvpc" {
		out = append([]string{"EXTERNAL"}, out...)
	} else if fargateProblem(td) == nil {
		out = append(out, "FARGATE")
	}
	return out
}

// parseTaskCPU reads a task-level cpu in CPU units ("1024") or vCPUs
// ("1 vCPU", "0.25 vcpu") and returns CPU units, the form ECS stores.
func parseTaskCPU(s string) (int, error) {
	m := cpuUnitRE.FindStringSubmatch(s)
	if m == nil {
		return 0, api.ClientError("Invalid 'cpu' setting for task: %q is not a number of CPU units or vCPUs.", s)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	if m[2] != "" {
		v *= 1024
	}
	if v < 128 {
		return 0, api.ClientError("Invalid 'cpu' setting for task. Minimum is 128 CPU units.")
	}
	if v > 196608 {
		return 0, api.ClientError("Invalid 'cpu' setting for task. Maximum is 196608 CPU units (192 vCPUs).")
	}
	return int(v), nil
}

// parseTaskMemory reads a task-level memory in MiB ("2048") or GB ("2 GB",
// "0.5GB", "2 gib") and returns MiB, the form ECS stores; 1 GB is 1024 MiB.
func parseTaskMemory(s string) (int, error) {
	m := memoryUnitRE.FindStringSubmatch(s)
	gb := m != nil && (strings.EqualFold(m[2], "gb") || strings.EqualFold(m[2], "gib"))
	if m == nil || (!gb && strings.Contains(m[1], ".")) {
		return 0, api.ClientError("Invalid 'memory' setting for task: %q is not a number of MiB or GB.", s)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	if gb {
		v *= 1024
	}
	// Bounded as a float, so a huge value cannot wrap around.
	if v > math.MaxInt32 {
		return 0, api.ClientError("Invalid 'memory' setting for task: %q is too large.", s)
	}
	if v < 6 {
		return 0, api.ClientError("Invalid 'memory' setting for task. Minimum is 6 MiB.")
	}
	return int(v), nil
}

// checkTaskStorageAndPlatform validates ephemeralStorage and
// runtimePlatform, which are recorded for every launch type.
func checkTaskStorageAndPlatform(td *TaskDefinition) error {
	if es := td.EphemeralStorage; es != nil && (es.SizeInGiB < 21 || es.SizeInGiB > 200) {
		return api.ClientError("Invalid 'ephemeralStorage.sizeInGiB' setting for task: %d. The minimum supported value is 21 GiB and the maximum supported value is 200 GiB.", es.SizeInGiB)
	}
	rp := td.RuntimePlatform
	if rp == nil {
		return nil
	}
	if a := rp.CpuArchitecture; a != "" && a != "X86_64" && a != "ARM64" {
		return api.InvalidParameter("Invalid runtimePlatform.cpuArchitecture %q: valid values are X86_64 and ARM64.", a)
	}
	switch fam := rp.OperatingSystemFamily; {
	case fam == "" || fam == "LINUX":
	case slices.Contains(windowsFamilies, fam):
		return api.ClientError("runtimePlatform.operatingSystemFamily %s is not supported: Berth runs Linux containers only; use LINUX.", fam)
	default:
		return api.InvalidParameter("Invalid runtimePlatform.operatingSystemFamily %q: valid values are LINUX and the WINDOWS_SERVER_* families.", fam)
	}
	return nil
}

// windowsFamilies are ECS's Windows values of operatingSystemFamily.
var windowsFamilies = []string{"WINDOWS_SERVER_2019_FULL", "WINDOWS_SERVER_2019_CORE", "WINDOWS_SERVER_2016_FULL",
	"WINDOWS_SERVER_2004_CORE", "WINDOWS_SERVER_2022_CORE", "WINDOWS_SERVER_2022_FULL", "WINDOWS_SERVER_2025_CORE",
	"WINDOWS_SERVER_2025_FULL", "WINDOWS_SERVER_20H2_CORE"}

// AWS's Fargate rules for a task definition, from the ECS developer guide
// ("Amazon ECS task definition differences for Fargate" and "Task size"):
//   - networkMode must be awsvpc, and task-level cpu and memory are required;
//   - the cpu/memory pair must be one of Fargate's task sizes (Linux):
//     256 -> 512, 1024, 2048; 512 -> 1024..4096; 1024 -> 2048..8192;
//     2048 -> 4096..16384; 4096 -> 8192..30720 (all in 1024 steps);
//     8192 -> 16384..61440 in 4096 steps; 16384 -> 32768..122880 in 8192 steps;
//   - not valid on Fargate: ipcMode, pidMode host, placementConstraints,
//     dockerVolumeConfiguration and host volumes with a sourcePath (only bind
//     mounts of task storage), and in containers disableNetworking,
//     dnsSearchDomains, dnsServers, dockerSecurityOptions, extraHosts, gpu,
//     privileged, and in linuxParameters maxSwap, swappiness, devices,
//     sharedMemorySize, tmpfs and added capabilities other than SYS_PTRACE;
//   - the log drivers are awslogs, splunk and awsfirelens.
// links and hostname are refused for every awsvpc task definition, and in
// awsvpc mode hostPort must equal containerPort (normalizeContainer).
// ECS's own words are used where they are known ("Fargate only supports
// network mode 'awsvpc'.", "No Fargate configuration exists for given
// values: ...", "Tasks using the Fargate launch type do not support
// ipcMode."); the other refusals follow that last sentence's pattern.

// fargateProblem is why td cannot run on Fargate, or nil.
func fargateProblem(td *TaskDefinition) error {
	if err := fargateTaskProblem(td); err != nil {
		return err
	}
	for i := range td.ContainerDefinitions {
		if err := fargateContainerProblem(&td.ContainerDefinitions[i]); err != nil {
			return err
		}
	}
	return nil
}

// fargateTaskProblem checks the task-level Fargate rules.
func fargateTaskProblem(td *TaskDefinition) error {
	unsupported := func(param string) error {
		return api.ClientError("Tasks using the Fargate launch type do not support %s.", param)
	}
	if td.NetworkMode != "awsvpc" {
		return api.ClientError("Fargate only supports network mode 'awsvpc'.")
	}
	if td.Cpu == "" || td.Memory == "" {
		return api.ClientError("Fargate requires task definition to have 'cpu' and 'memory' set at the task level.")
	}
	cpu, _ := strconv.Atoi(td.Cpu)
	mem, _ := strconv.Atoi(td.Memory)
	if !fargateTaskSize(cpu, mem) {
		return api.ClientError("No Fargate configuration exists for given values: %d CPU, %d memory. See the Amazon ECS documentation for the valid values.", cpu, mem)
	}
	switch {
	case td.IpcMode != "":
		return unsupported("ipcMode")
	case td.PidMode == "host":
		return unsupported("pidMode 'host'")
	case len(td.PlacementConstraints) > 0:
		return unsupported("placementConstraints")
	}
	for _, v := range td.Volumes {
		if v.DockerVolumeConfiguration != nil {
			return unsupported("dockerVolumeConfiguration")
		}
		if v.Host != nil && v.Host.SourcePath != "" {
			return unsupported("host volumes with a sourcePath")
		}
	}
	return nil
}

// fargateTaskSize reports whether cpu units and memory MiB are one of
// Fargate's Linux task sizes.
func fargateTaskSize(cpu, mem int) bool {
	steps := func(min, max, step int) bool { return mem >= min && mem <= max && (mem-min)%step == 0 }
	switch cpu {
	case 256:
		return mem == 512 || mem == 1024 || mem == 2048
	case 512:
		return steps(1024, 4096, 1024)
	case 1024:
		return steps(2048, 8192, 1024)
	case 2048:
		return steps(4096, 16384, 1024)
	case 4096:
		return steps(8192, 30720, 1024)
	case 8192:
		return steps(16384, 61440, 4096)
	case 16384:
		return steps(32768, 122880, 8192)
	}
	return false
}

// fargateContainerProblem checks the container-level Fargate rules.
func fargateContainerProblem(c *ContainerDefinition) error {
	unsupported := func(param string) error {
		return api.ClientError("Invalid setting for container '%s'. Tasks using the Fargate launch type do not support %s.", c.Name, param)
	}
	isTrue := func(b *bool) bool { return b != nil && *b }
	switch {
	case isTrue(c.DisableNetworking):
		return unsupported("disableNetworking")
	case len(c.DNSSearchDomains) > 0:
		return unsupported("dnsSearchDomains")
	case len(c.DNSServers) > 0:
		return unsupported("dnsServers")
	case len(c.DockerSecurityOptions) > 0:
		return unsupported("dockerSecurityOptions")
	case len(c.ExtraHosts) > 0:
		return unsupported("extraHosts")
	case containerGPUs(c) > 0:
		return unsupported("gpu")
	case isTrue(c.Privileged):
		return unsupported("privileged")
	}
	if lp := c.LinuxParameters; lp != nil {
		switch {
		case lp.MaxSwap != nil:
			return unsupported("linuxParameters.maxSwap")
		case lp.Swappiness != nil:
			return unsupported("linuxParameters.swappiness")
		case len(lp.Devices) > 0:
			return unsupported("linuxParameters.devices")
		case lp.SharedMemorySize != nil:
			return unsupported("linuxParameters.sharedMemorySize")
		case len(lp.Tmpfs) > 0:
			return unsupported("linuxParameters.tmpfs")
		}
		if caps := lp.Capabilities; caps != nil {
			for _, cp := range caps.Add {
				if cp != "SYS_PTRACE" {
					return unsupported(fmt.Sprintf("adding the capability %s (only SYS_PTRACE can be added)", cp))
				}
			}
		}
	}
	if lc := c.LogConfiguration; lc != nil && !slices.Contains([]string{"awslogs", "splunk", "awsfirelens"}, lc.LogDriver) {
		return unsupported(fmt.Sprintf("the log driver %s (use awslogs, splunk or awsfirelens)", lc.LogDriver))
	}
	return nil
}

func normalizeContainer(c *ContainerDefinition, td *TaskDefinition, volumes map[string]bool, hostPorts map[string]string) error {
	if c.Name == "" {
		return api.ClientError("Container.name should not be null or empty.")
	}
	if !containerNameRE.MatchString(c.Name) {
		return api.ClientError("Container name '%s' is invalid: up to 255 letters, numbers, hyphens and underscores are allowed.", c.Name)
	}
	if strings.TrimSpace(c.Image) == "" {
		return api.ClientError("Container.image should not be null or empty.")
	}
	bad := func(format string, args ...any) error {
		return api.ClientError("Invalid setting for container '%s'. %s", c.Name, fmt.Sprintf(format, args...))
	}
	if c.Cpu < 0 || c.Cpu > 10240*4 {
		return bad("'cpu' must be between 0 and 40960 CPU units.")
	}
	if c.Memory == nil && c.MemoryReservation == nil && td.Memory == "" {
		return bad("At least one of 'memory' or 'memoryReservation' must be specified.")
	}
	// The AWS model's integers are 32-bit; larger values could overflow the
	// sums placement makes.
	for _, v := range []*int{c.Memory, c.MemoryReservation} {
		if v != nil && *v > math.MaxInt32 {
			return bad("'memory' and 'memoryReservation' must be at most %d MiB.", math.MaxInt32)
		}
	}
	if c.Memory != nil && *c.Memory < 6 {
		return bad("The 'memory' setting must be at least 6 MiB.")
	}
	if c.MemoryReservation != nil && *c.MemoryReservation < 6 {
		return bad("The 'memoryReservation' setting must be at least 6 MiB.")
	}
	if c.Memory != nil && c.MemoryReservation != nil && *c.MemoryReservation > *c.Memory {
		return bad("'memory' must be greater than or equal to 'memoryReservation'.")
	}
	if c.Essential == nil {
		c.Essential = ptr(true)
	}
	for i := range c.PortMappings {
		pm := &c.PortMappings[i]
		if pm.ContainerPort == nil || *pm.ContainerPort < 1 || *pm.ContainerPort > 65535 {
			return bad("Port mappings need a containerPort between 1 and 65535.")
		}
		if pm.Protocol == "" {
			pm.Protocol = "tcp"
		}
		if pm.Protocol != "tcp" && pm.Protocol != "udp" {
			return bad("Invalid protocol %q: valid values are tcp and udp.", pm.Protocol)
		}
		switch td.NetworkMode {
		case "host", "awsvpc":
			if pm.HostPort == nil || *pm.HostPort == 0 {
				pm.HostPort = ptr(*pm.ContainerPort)
			}
			if *pm.HostPort != *pm.ContainerPort {
				return bad("When networkMode=%s, 'containerPort' and 'hostPort' must be the same.", td.NetworkMode)
			}
		case "none":
			return bad("Port mappings are not allowed when networkMode=none.")
		default:
			if pm.HostPort == nil {
				pm.HostPort = ptr(0)
			}
			if *pm.HostPort < 0 || *pm.HostPort > 65535 {
				return bad("'hostPort' must be between 0 and 65535.")
			}
		}
		if *pm.HostPort != 0 {
			k := fmt.Sprintf("%d/%s", *pm.HostPort, pm.Protocol)
			if other, dup := hostPorts[k]; dup {
				return bad("Host port %d/%s is also mapped by container '%s'.", *pm.HostPort, pm.Protocol, other)
			}
			hostPorts[k] = c.Name
		}
	}
	if len(c.Links) > 0 && td.NetworkMode != "bridge" {
		return bad("Links are only supported when networkMode=bridge.")
	}
	if c.Hostname != "" && td.NetworkMode == "awsvpc" {
		return api.ClientError("hostname is not supported on container when networkMode=awsvpc.")
	}
	for _, mp := range c.MountPoints {
		if !volumes[mp.SourceVolume] {
			return bad("Unknown volume '%s'.", mp.SourceVolume)
		}
		if !strings.HasPrefix(mp.ContainerPath, "/") {
			return bad("Mount point containerPath must be an absolute path.")
		}
	}
	for _, d := range c.DependsOn {
		if !slices.Contains([]string{"START", "COMPLETE", "SUCCESS", "HEALTHY"}, d.Condition) {
			return bad("Invalid dependsOn condition %q: valid values are START, COMPLETE, SUCCESS and HEALTHY.", d.Condition)
		}
	}
	if hc := c.HealthCheck; hc != nil {
		if len(hc.Command) == 0 {
			return bad("healthCheck.command must not be empty.")
		}
		for _, f := range []struct {
			name     string
			v        **int
			def, min int
			max      int
		}{{"interval", &hc.Interval, 30, 5, 300}, {"timeout", &hc.Timeout, 5, 2, 120}, {"retries", &hc.Retries, 3, 1, 10}, {"startPeriod", &hc.StartPeriod, 0, 0, 300}} {
			if *f.v == nil {
				*f.v = ptr(f.def)
			}
			if **f.v < f.min || **f.v > f.max {
				return bad("healthCheck.%s must be between %d and %d.", f.name, f.min, f.max)
			}
		}
	}
	if c.StopTimeout != nil && (*c.StopTimeout < 0 || *c.StopTimeout > 120) {
		return bad("'stopTimeout' must be between 0 and 120 seconds.")
	}
	for _, u := range c.Ulimits {
		if !slices.Contains([]string{"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"}, u.Name) {
			return bad("Invalid ulimit name %q.", u.Name)
		}
	}
	if lc := c.LogConfiguration; lc != nil && !slices.Contains([]string{"json-file", "syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "awsfirelens"}, lc.LogDriver) {
		return bad("Invalid logDriver %q.", lc.LogDriver)
	}
	for _, e := range c.Environment {
		if e.Name == "" {
			return bad("Environment variable names must not be empty.")
		}
	}
	if err := checkContainerSettings(c, td, bad); err != nil {
		return err
	}
	c.PortMappings = orEmpty(c.PortMappings)
	c.Environment = orEmpty(c.Environment)
	c.MountPoints = orEmpty(c.MountPoints)
	c.VolumesFrom = orEmpty(c.VolumesFrom)
	c.SystemControls = orEmpty(c.SystemControls)
	return nil
}

func ptr[T any](v T) *T { return &v }

// parseTaskDefRef splits "family", "family:rev" or an ARN; rev 0 means latest active.
func parseTaskDefRef(ref string) (family string, rev int, ok bool) {
	if strings.HasPrefix(ref, "arn:") {
		_, after, found := strings.Cut(ref, ":task-definition/")
		if !found {
			return "", 0, false
		}
		ref = after
	}
	family, revStr, hasRev := strings.Cut(ref, ":")
	if !nameRE.MatchString(family) {
		return "", 0, false
	}
	if !hasRev {
		return family, 0, true
	}
	rev, err := strconv.Atoi(revStr)
	if err != nil || rev < 1 {
		return "", 0, false
	}
	return family, rev, true
}

// lookupTaskDef resolves a reference; a bare family means its latest ACTIVE revision.
func (s *Service) lookupTaskDef(ctx context.Context, ref string) (store.Item[taskDefRecord], bool, error) {
	family, rev, ok := parseTaskDefRef(ref)
	if !ok {
		return store.Item[taskDefRecord]{}, false, nil
	}
	if rev > 0 {
		it, err := store.Get[taskDefRecord](ctx, s.store, s.keys.taskDef(family, rev))
		if errors.Is(err, store.ErrNotFound) {
			return it, false, nil
		}
		return it, err == nil, err
	}
	items, err := store.List[taskDefRecord](ctx, s.store, s.keys.taskDefs(family))
	if err != nil {
		return store.Item[taskDefRecord]{}, false, err
	}
	for i := len(items) - 1; i >= 0; i-- {
		if items[i].Value.TaskDefinition.Status == "ACTIVE" {
			return items[i], true, nil
		}
	}
	return store.Item[taskDefRecord]{}, false, nil
}

type DescribeTaskDefinitionInput struct {
	TaskDefinition string   `json:"taskDefinition"`
	Include        []string `json:"include"`
}

// DescribeTaskDefinition returns a revision, or a family's latest ACTIVE one.
func (s *Service) DescribeTaskDefinition(ctx context.Context, in *DescribeTaskDefinitionInput) (*TaskDefinitionOutput, error) {
	if in.TaskDefinition == "" {
		return nil, api.ClientError("taskDefinition is required.")
	}
	if err := s.authorize(ctx, "DescribeTaskDefinition", "*"); err != nil {
		return nil, err
	}
	it, found, err := s.lookupTaskDef(ctx, in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, api.ClientError("Unable to describe task definition.")
	}
	out := &TaskDefinitionOutput{TaskDefinition: &it.Value.TaskDefinition}
	if slices.Contains(in.Include, "TAGS") {
		out.Tags = orEmpty(it.Value.Tags)
	}
	return out, nil
}

type ListTaskDefinitionsInput struct {
	FamilyPrefix string  `json:"familyPrefix"`
	Status       string  `json:"status"`
	Sort         string  `json:"sort"`
	NextToken    *string `json:"nextToken"`
	MaxResults   *int    `json:"maxResults"`
}

type ListTaskDefinitionsOutput struct {
	TaskDefinitionArns []string `json:"taskDefinitionArns"`
	NextToken          *string  `json:"nextToken,omitempty"`
}

// ListTaskDefinitions lists revision ARNs by family and status, oldest first unless sort=DESC.
func (s *Service) ListTaskDefinitions(ctx context.Context, in *ListTaskDefinitionsInput) (*ListTaskDefinitionsOutput, error) {
	if err := s.authorize(ctx, "ListTaskDefinitions", "*"); err != nil {
		return nil, err
	}
	status := in.Status
	if status == "" {
		status = "ACTIVE"
	}
	if status != "ACTIVE" && status != "INACTIVE" && status != "DELETE_IN_PROGRESS" {
		return nil, api.InvalidParameter("Invalid status %q: valid values are ACTIVE, INACTIVE and DELETE_IN_PROGRESS.", in.Status)
	}
	if in.Sort != "" && in.Sort != "ASC" && in.Sort != "DESC" {
		return nil, api.InvalidParameter("Invalid sort %q: valid values are ASC and DESC.", in.Sort)
	}
	prefix := s.keys.allTaskDefs()
	if in.FamilyPrefix != "" {
		// A family prefix matches whole family names only, as in ECS.
		prefix = s.keys.taskDefs(in.FamilyPrefix)
	}
	items, err := store.List[taskDefRecord](ctx, s.store, prefix)
	if err != nil {
		return nil, err
	}
	// Sort by family name, then revision. The NUL separator sorts below every
	// family character, so "api" precedes "api-v2" as in ECS; store keys
	// ("api-v2/" < "api/") would not.
	var keys []string
	arnOf := map[string]string{}
	for _, it := range items {
		if it.Value.TaskDefinition.Status != status {
			continue
		}
		k := fmt.Sprintf("%s\x00%010d", it.Value.TaskDefinition.Family, it.Value.TaskDefinition.Revision)
		if in.Sort == "DESC" {
			k = invertKey(k)
		}
		keys = append(keys, k)
		arnOf[k] = it.Value.TaskDefinition.TaskDefinitionArn
	}
	sort.Strings(keys)
	page, next, err := api.Paginate(keys, in.NextToken, in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	out := &ListTaskDefinitionsOutput{TaskDefinitionArns: []string{}, NextToken: next}
	for _, k := range page {
		out.TaskDefinitionArns = append(out.TaskDefinitionArns, arnOf[k])
	}
	return out, nil
}

// invertKey maps a key to one that sorts in reverse order.
func invertKey(k string) string {
	b := []byte(k)
	for i := range b {
		b[i] = 0xff - b[i]
	}
	return string(b)
}

type ListTaskDefinitionFamiliesInput struct {
	FamilyPrefix string  `json:"familyPrefix"`
	Status       string  `json:"status"`
	NextToken    *string `json:"nextToken"`
	MaxResults   *int    `json:"maxResults"`
}

type ListTaskDefinitionFamiliesOutput struct {
	Families  []string `json:"families"`
	NextToken *string  `json:"nextToken,omitempty"`
}

// ListTaskDefinitionFamilies lists family names, all by default; ACTIVE families have at least one ACTIVE revision.
func (s *Service) ListTaskDefinitionFamilies(ctx context.Context, in *ListTaskDefinitionFamiliesInput) (*ListTaskDefinitionFamiliesOutput, error) {
	if err := s.authorize(ctx, "ListTaskDefinitionFamilies", "*"); err != nil {
		return nil, err
	}
	status := in.Status
	if status == "" {
		// AWS lists both ACTIVE and INACTIVE families by default.
		status = "ALL"
	}
	if status != "ACTIVE" && status != "INACTIVE" && status != "ALL" {
		return nil, api.InvalidParameter("Invalid status %q: valid values are ACTIVE, INACTIVE and ALL.", in.Status)
	}
	items, err := store.List[familyRecord](ctx, s.store, s.keys.families()+in.FamilyPrefix)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, it := range items {
		active := it.Value.ActiveCount > 0
		if status == "ALL" || (status == "ACTIVE") == active {
			names = append(names, it.Value.Name)
		}
	}
	page, next, err := api.Paginate(names, in.NextToken, in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	return &ListTaskDefinitionFamiliesOutput{Families: orEmpty(page), NextToken: next}, nil
}

type DeregisterTaskDefinitionInput struct {
	TaskDefinition string `json:"taskDefinition"`
}

// DeregisterTaskDefinition marks one revision INACTIVE.
func (s *Service) DeregisterTaskDefinition(ctx context.Context, in *DeregisterTaskDefinitionInput) (*TaskDefinitionOutput, error) {
	family, rev, ok := parseTaskDefRef(in.TaskDefinition)
	if !ok || rev == 0 {
		return nil, api.ClientError("The specified task definition identifier is invalid. Specify a valid name or ARN with a revision and try again.")
	}
	tdArn := s.arn(fmt.Sprintf("task-definition/%s:%d", family, rev))
	if err := s.authorize(ctx, "DeregisterTaskDefinition", tdArn); err != nil {
		return nil, err
	}
	key, fkey := s.keys.taskDef(family, rev), s.keys.family(family)
	for {
		it, err := store.Get[taskDefRecord](ctx, s.store, key)
		if errors.Is(err, store.ErrNotFound) {
			return nil, api.ClientError("The specified task definition does not exist.")
		}
		if err != nil {
			return nil, err
		}
		if it.Value.TaskDefinition.Status != "ACTIVE" {
			return &TaskDefinitionOutput{TaskDefinition: &it.Value.TaskDefinition}, nil
		}
		fam, err := store.Get[familyRecord](ctx, s.store, fkey)
		if err != nil {
			return nil, err
		}
		fam.Value.ActiveCount--
		rec := it.Value
		rec.TaskDefinition.Status = "INACTIVE"
		rec.TaskDefinition.DeregisteredAt = api.Now()
		err = s.store.Commit(ctx, store.NewTxn().IfRev(key, it.Rev).IfRev(fkey, fam.Rev).Put(key, rec).Put(fkey, fam.Value))
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &TaskDefinitionOutput{TaskDefinition: &rec.TaskDefinition}, nil
	}
}
