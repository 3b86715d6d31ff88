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
	memoryUnitRE    = regexp.MustCompile(`^(?i)\s*(\d+)\s*(gb|mb|mib|gib)?\s*$`)
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
		m := cpuUnitRE.FindStringSubmatch(in.Cpu)
		if m == nil {
			return nil, api.ClientError("Invalid 'cpu' setting for task: %q is not a number of CPU units or vCPUs.", in.Cpu)
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		if m[2] != "" {
			v *= 1024
		}
		if v < 128 {
			return nil, api.ClientError("Invalid 'cpu' setting for task. Minimum is 128 CPU units.")
		}
		if v > 196608 {
			return nil, api.ClientError("Invalid 'cpu' setting for task. Maximum is 196608 CPU units (192 vCPUs).")
		}
		td.Cpu = strconv.Itoa(int(v))
	}
	if in.Memory != "" {
		m := memoryUnitRE.FindStringSubmatch(in.Memory)
		if m == nil {
			return nil, api.ClientError("Invalid 'memory' setting for task: %q is not a number of MiB or GB.", in.Memory)
		}
		v, err := strconv.Atoi(m[1])
		unit := 1
		if u := strings.ToLower(m[2]); u == "gb" || u == "gib" {
			unit = 1024
		}
		// Bounded before scaling so a huge value cannot wrap around.
		if err != nil || v > math.MaxInt32/unit {
			return nil, api.ClientError("Invalid 'memory' setting for task: %q is too large.", in.Memory)
		}
		v *= unit
		if v < 6 {
			return nil, api.ClientError("Invalid 'memory' setting for task. Minimum is 6 MiB.")
		}
		td.Memory = strconv.Itoa(v)
	}
	if slices.Contains(in.RequiresCompatibilities, "FARGATE") {
		if mode != "awsvpc" {
			return nil, api.ClientError("Fargate only supports network mode 'awsvpc'.")
		}
		if td.Cpu == "" || td.Memory == "" {
			return nil, api.ClientError("Fargate requires task definition to have 'cpu' and 'memory' set at the task level.")
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
	td.Compatibilities = compatibilities(td)
	td.RequiresAttributes = requiresAttributes(td)
	return td, nil
}

func compatibilities(td *TaskDefinition) []string {
	out := []string{"EC2"}
	if td.NetworkMode != "awsvpc" {
		out = append([]string{"EXTERNAL"}, out...)
	} else if td.Cpu != "" && td.Memory != "" {
		out = append(out, "FARGATE")
	}
	return out
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
