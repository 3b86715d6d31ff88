package autoscaling

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// Lifecycle states of a group's instances, and their health.
const (
	statePending     = "Pending"
	stateInService   = "InService"
	stateTerminating = "Terminating"
	// stateTerminatingWait is an instance chosen for scale-in that waits
	// for ECS to drain it (AWS's managed draining lifecycle hook).
	stateTerminatingWait = "Terminating:Wait"
	stateDetaching       = "Detaching"
	// stateStandby is an instance taken out of service by hand: it keeps
	// running, counts toward no capacity and is neither checked nor
	// replaced until it leaves standby.
	stateStandby = "Standby"
	healthy      = "Healthy"
	unhealthy    = "Unhealthy"
)

// groupRecord is an Auto Scaling group as stored, with its instances.
type groupRecord struct {
	Name                string             `json:"name"`
	ARN                 string             `json:"arn"`
	LaunchConfiguration string             `json:"launchConfiguration,omitempty"`
	Template            *templateRef       `json:"template,omitempty"`
	Min                 int                `json:"min"`
	Max                 int                `json:"max"`
	Desired             int                `json:"desired"`
	Cooldown            int                `json:"cooldown"`
	Zones               []string           `json:"zones"`
	Subnets             []string           `json:"subnets,omitempty"`
	SubnetZones         map[string]string  `json:"subnetZones,omitempty"`
	HealthCheckType     string             `json:"healthCheckType"`
	GracePeriod         int                `json:"gracePeriod"`
	TerminationPolicies []string           `json:"terminationPolicies"`
	ProtectNew          bool               `json:"protectNew,omitempty"`
	Suspended           []SuspendedProcess `json:"suspended,omitempty"`
	Tags                []TagDescription   `json:"tags,omitempty"`
	Created             time.Time          `json:"created"`
	Deleting            bool               `json:"deleting,omitempty"`
	// Cause says why the desired capacity last changed, in the words
	// scaling activities quote: "At <time> a user request ...".
	Cause string `json:"cause,omitempty"`
	// LastScaled is when a scaling activity last changed the desired
	// capacity: cooldowns count from it.
	LastScaled time.Time `json:"lastScaled"`
	// RetryAfter holds launches back after one failed.
	RetryAfter time.Time `json:"retryAfter"`
	Instances  []member  `json:"instances,omitempty"`
}

// templateRef is the launch template a group launches from, as given.
type templateRef struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Version string `json:"version"`
}

// member is one instance of a group.
type member struct {
	ID                  string       `json:"id"`
	Type                string       `json:"type"`
	Zone                string       `json:"zone"`
	State               string       `json:"state"`
	Health              string       `json:"health"`
	Protected           bool         `json:"protected,omitempty"`
	LaunchConfiguration string       `json:"launchConfiguration,omitempty"`
	Template            *templateRef `json:"template,omitempty"`
	Launched            time.Time    `json:"launched"`
	// Activity is the scaling activity in progress for the instance.
	Activity string `json:"activity,omitempty"`
	// Subnet is where the instance was launched ("" for a zone's default).
	Subnet string `json:"subnet,omitempty"`
	// Token is the client token of the instance's launch: a member without
	// an ID is a launch decided and not yet run.
	Token string `json:"token,omitempty"`
	// Cause is why the instance was launched, for its launch activity.
	Cause string `json:"cause,omitempty"`
	// Waiting is since when a Terminating:Wait instance waits.
	Waiting time.Time `json:"waiting"`
}

// active reports whether m counts toward the group's capacity.
func (m member) active() bool {
	return m.State != stateTerminating && m.State != stateTerminatingWait && m.State != stateDetaching && m.State != stateStandby
}

func (g *groupRecord) activeCount() int {
	n := 0
	for _, m := range g.Instances {
		if m.active() {
			n++
		}
	}
	return n
}

func (g *groupRecord) member(id string) *member {
	for i := range g.Instances {
		if g.Instances[i].ID == id {
			return &g.Instances[i]
		}
	}
	return nil
}

func (g *groupRecord) suspended(process string) bool {
	return slices.ContainsFunc(g.Suspended, func(p SuspendedProcess) bool { return p.ProcessName == process })
}

// setDesired changes the desired capacity and says why, in the words of
// the activities it causes: "At <time> <why> changing the desired
// capacity from 2 to 3."
func (g *groupRecord) setDesired(n int, why string, now time.Time) {
	if n != g.Desired {
		g.Cause = fmt.Sprintf("At %s %s changing the desired capacity from %d to %d.", stamp(now), why, g.Desired, n)
		g.LastScaled = now
	}
	g.Desired = n
}

// Processes are the scaling processes SuspendProcesses can suspend.
var processes = []string{"Launch", "Terminate", "AddToLoadBalancer", "AlarmNotification", "AZRebalance",
	"HealthCheck", "InstanceRefresh", "ReplaceUnhealthy", "ScheduledActions"}

type LaunchTemplateSpecification struct {
	LaunchTemplateId   string `xml:",omitempty"`
	LaunchTemplateName string `xml:",omitempty"`
	Version            string `xml:",omitempty"`
}

type Tag struct {
	Key               string
	Value             string
	PropagateAtLaunch bool
	ResourceId        string
	ResourceType      string
}

// TagDescription is Auto Scaling's TagDescription shape.
type TagDescription struct {
	ResourceId        string `json:"-"`
	ResourceType      string `json:"-"`
	Key               string `json:"key"`
	Value             string `json:"value"`
	PropagateAtLaunch bool   `json:"propagate"`
}

type SuspendedProcess struct {
	ProcessName      string `json:"process"`
	SuspensionReason string `json:"reason"`
}

// GroupSettings are the parameters CreateAutoScalingGroup and
// UpdateAutoScalingGroup share.
type GroupSettings struct {
	AutoScalingGroupName             string
	LaunchConfigurationName          string
	LaunchTemplate                   *LaunchTemplateSpecification
	MinSize                          *int
	MaxSize                          *int
	DesiredCapacity                  *int
	DefaultCooldown                  *int
	AvailabilityZones                []string
	VPCZoneIdentifier                string
	HealthCheckType                  string
	HealthCheckGracePeriod           *int
	TerminationPolicies              []string
	NewInstancesProtectedFromScaleIn *bool
	ServiceLinkedRoleARN             string
}

type CreateAutoScalingGroupInput struct {
	GroupSettings
	Tags []Tag
}

// CreateAutoScalingGroup creates a group; the controller then launches
// its desired capacity.
func (s *Service) CreateAutoScalingGroup(ctx context.Context, in *CreateAutoScalingGroupInput) (*struct{}, error) {
	if err := checkName("AutoScalingGroupName", in.AutoScalingGroupName); err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	g := groupRecord{Name: in.AutoScalingGroupName, ARN: s.arn("autoScalingGroup", "autoScalingGroupName/"+in.AutoScalingGroupName),
		Cooldown: 300, HealthCheckType: "EC2", TerminationPolicies: []string{"Default"}, Created: now, ProtectNew: in.NewInstancesProtectedFromScaleIn != nil && *in.NewInstancesProtectedFromScaleIn}
	if err := s.authorize(ctx, "CreateAutoScalingGroup", g.ARN); err != nil {
		return nil, err
	}
	if in.MinSize == nil || in.MaxSize == nil {
		return nil, check.Null(map[bool]string{true: "minSize", false: "maxSize"}[in.MinSize == nil])
	}
	if in.ServiceLinkedRoleARN != "" && !strings.HasSuffix(in.ServiceLinkedRoleARN, "/"+ServiceRole) {
		return nil, validation("ARN specified is not a valid service-linked role: %s", in.ServiceLinkedRoleARN)
	}
	g.Min, g.Max = *in.MinSize, *in.MaxSize
	desired := g.Min
	if in.DesiredCapacity != nil {
		desired = *in.DesiredCapacity
	}
	if err := checkBounds(g.Min, g.Max, desired); err != nil {
		return nil, err
	}
	if err := s.setLaunchSource(ctx, &g, in.LaunchConfigurationName, in.LaunchTemplate, true); err != nil {
		return nil, err
	}
	if err := s.setPlacement(ctx, &g, in.AvailabilityZones, in.VPCZoneIdentifier, true); err != nil {
		return nil, err
	}
	if err := g.setOptions(in.DefaultCooldown, in.HealthCheckType, in.HealthCheckGracePeriod, in.TerminationPolicies); err != nil {
		return nil, err
	}
	tags, err := checkTags(in.Tags, g.Name)
	if err != nil {
		return nil, err
	}
	g.Tags = tags
	g.setDesired(desired, "a user request created an AutoScalingGroup", now)
	err = s.store.Commit(ctx, store.NewTxn().IfAbsent(s.keys.group(g.Name)).Put(s.keys.group(g.Name), g))
	if errors.Is(err, store.ErrConflict) {
		return nil, api.Errorf(codeAlreadyExists, "AutoScalingGroup by this name already exists - A group with the name %s already exists", g.Name)
	}
	if err != nil {
		return nil, err
	}
	s.wake()
	return nil, nil
}

func checkBounds(lo, hi, desired int) error {
	switch {
	case lo < 0:
		return check.AtLeast("minSize", lo, 0)
	case hi < 0:
		return check.AtLeast("maxSize", hi, 0)
	case lo > hi:
		return validation("Max bound, %d, must be greater than or equal to min bound, %d", hi, lo)
	case desired < lo || desired > hi:
		return validation("Desired capacity:%d must be between the specified min size:%d and max size:%d", desired, lo, hi)
	}
	return nil
}

// setLaunchSource sets the launch configuration or template a group
// launches from, after checking it exists. On create exactly one is
// required; on update, either replaces the other.
func (s *Service) setLaunchSource(ctx context.Context, g *groupRecord, config string, lt *LaunchTemplateSpecification, create bool) error {
	hasLT := lt != nil && (lt.LaunchTemplateId != "" || lt.LaunchTemplateName != "")
	switch {
	case config != "" && hasLT, create && config == "" && !hasLT:
		return validation("Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.")
	case lt != nil && !hasLT:
		return validation("Valid requests must contain either launchTemplateId or launchTemplateName.")
	case lt != nil && lt.LaunchTemplateId != "" && lt.LaunchTemplateName != "":
		return validation("Valid requests must contain either launchTemplateId or launchTemplateName, not both.")
	case config != "":
		if _, err := s.launchConfig(ctx, config); err != nil {
			return err
		}
		g.LaunchConfiguration, g.Template = config, nil
	case hasLT:
		version := lt.Version
		if version == "" {
			version = "$Default"
		}
		id, name, err := s.ec2.LaunchTemplateRef(ctx, lt.LaunchTemplateId, lt.LaunchTemplateName)
		if err != nil {
			named := "template name " + lt.LaunchTemplateName
			if lt.LaunchTemplateId != "" {
				named = "id " + lt.LaunchTemplateId
			}
			return validation("You must use a valid fully-formed launch template. The specified launch template, with template %s, does not exist.", named)
		}
		if _, err := s.ec2.ResolveLaunchTemplate(ctx, id, "", version); err != nil {
			return validation("You must use a valid fully-formed launch template. %s", api.AsError(err).Message)
		}
		g.LaunchConfiguration, g.Template = "", &templateRef{ID: id, Name: name, Version: version}
	}
	return nil
}

// setPlacement sets the group's subnets (VPCZoneIdentifier, a comma list)
// or zones; subnets decide the zones when both are given.
func (s *Service) setPlacement(ctx context.Context, g *groupRecord, zones []string, subnetList string, create bool) error {
	if subnetList == "" && len(zones) == 0 {
		if create {
			return validation("At least one Availability Zone or VPC Subnet is required.")
		}
		return nil
	}
	if subnetList != "" {
		var subnets, subnetZones []string
		zoneOf := map[string]string{}
		vpc := ""
		for _, id := range strings.Split(subnetList, ",") {
			id = strings.TrimSpace(id)
			if id == "" || slices.Contains(subnets, id) {
				continue
			}
			zone, v, err := s.ec2.SubnetZone(ctx, id)
			if err != nil {
				return validation("The subnet ID '%s' does not exist", id)
			}
			if vpc != "" && v != vpc {
				return validation("The subnets specified must be in the same VPC.")
			}
			vpc = v
			subnets = append(subnets, id)
			zoneOf[id] = zone
			if !slices.Contains(subnetZones, zone) {
				subnetZones = append(subnetZones, zone)
			}
		}
		g.Subnets, g.Zones, g.SubnetZones = subnets, subnetZones, zoneOf
		return nil
	}
	var valid []string
	for _, z := range s.ec2.Zones() {
		valid = append(valid, z.Name)
	}
	for _, z := range zones {
		if !slices.Contains(valid, z) {
			return validation("The availability zone %s is not legal.", z)
		}
	}
	g.Subnets, g.SubnetZones, g.Zones = nil, nil, slices.Compact(slices.Clone(zones))
	return nil
}

func (g *groupRecord) setOptions(cooldown *int, healthCheckType string, grace *int, policies []string) error {
	if cooldown != nil {
		if err := check.AtLeast("defaultCooldown", *cooldown, 0); err != nil {
			return err
		}
		g.Cooldown = *cooldown
	}
	switch healthCheckType {
	case "":
	case "EC2":
		g.HealthCheckType = healthCheckType
	case "ELB", "VPC_LATTICE", "EBS":
		return validation("Health check type %s is not supported by Berth yet; use EC2.", healthCheckType)
	default:
		return validation("Invalid health check type: %s", healthCheckType)
	}
	if grace != nil {
		if err := check.AtLeast("healthCheckGracePeriod", *grace, 0); err != nil {
			return err
		}
		g.GracePeriod = *grace
	}
	if len(policies) > 0 {
		for _, p := range policies {
			if !slices.Contains(terminationPolicies, p) {
				return validation("Termination policy '%s' is not supported. Use one of: %s.", p, strings.Join(terminationPolicies, ", "))
			}
		}
		g.TerminationPolicies = policies
	}
	return nil
}

func checkTags(tags []Tag, group string) ([]TagDescription, error) {
	var out []TagDescription
	for _, t := range tags {
		switch {
		case t.Key == "":
			return nil, validation("Tag key cannot be null or empty.")
		case len(t.Key) > 128 || len(t.Value) > 256:
			return nil, validation("Tag key must be at most 128 characters and value at most 256: %s", t.Key)
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			return nil, validation("Tag keys starting with 'aws:' are reserved for AWS use.")
		case t.ResourceType != "" && t.ResourceType != "auto-scaling-group", t.ResourceId != "" && t.ResourceId != group:
			return nil, validation("Tags must name the group being created (ResourceType auto-scaling-group, ResourceId %s).", group)
		}
		if slices.ContainsFunc(out, func(d TagDescription) bool { return d.Key == t.Key }) {
			return nil, validation("Duplicate tag key: %s", t.Key)
		}
		out = append(out, TagDescription{Key: t.Key, Value: t.Value, PropagateAtLaunch: t.PropagateAtLaunch})
	}
	if len(out) > 50 {
		return nil, api.Errorf(codeLimitExceeded, "The number of tags (%d) exceeds the limit of 50.", len(out))
	}
	return out, nil
}

// group loads a group by name, or Auto Scaling's not-found error.
func (s *Service) group(ctx context.Context, name string) (store.Item[groupRecord], error) {
	if err := checkName("AutoScalingGroupName", name); err != nil {
		return store.Item[groupRecord]{}, err
	}
	it, err := store.Get[groupRecord](ctx, s.store, s.keys.group(name))
	if errors.Is(err, store.ErrNotFound) {
		return it, validation("AutoScalingGroup name not found - AutoScalingGroup '%s' not found", name)
	}
	return it, err
}

// update changes a group under the caller's authorization, retrying on
// conflicts with the controller, and wakes the controller.
func (s *Service) update(ctx context.Context, action, name string, change func(*groupRecord) error) error {
	err := store.Retry(ctx, func() error {
		it, err := s.group(ctx, name)
		if err != nil {
			return err
		}
		if err := s.authorize(ctx, action, it.Value.ARN); err != nil {
			return err
		}
		if it.Value.Deleting {
			return api.Errorf(codeActivityInProgress, "AutoScalingGroup %s is pending delete.", name)
		}
		if err := change(&it.Value); err != nil {
			return err
		}
		return s.store.Commit(ctx, store.NewTxn().IfRev(it.Key, it.Rev).Put(it.Key, it.Value))
	})
	if err == nil {
		s.wake()
	}
	return err
}

type UpdateAutoScalingGroupInput struct {
	GroupSettings
}

// UpdateAutoScalingGroup changes a group. As on AWS, a new minimum above
// the desired capacity raises it, a new maximum below lowers it; new
// launch settings apply to instances launched from now on.
func (s *Service) UpdateAutoScalingGroup(ctx context.Context, in *UpdateAutoScalingGroupInput) (*struct{}, error) {
	err := s.update(ctx, "UpdateAutoScalingGroup", in.AutoScalingGroupName, func(g *groupRecord) error {
		lo, hi, desired := g.Min, g.Max, g.Desired
		if in.MinSize != nil {
			lo = *in.MinSize
		}
		if in.MaxSize != nil {
			hi = *in.MaxSize
		}
		if in.DesiredCapacity != nil {
			desired = *in.DesiredCapacity
		} else {
			desired = clamp(desired, lo, hi)
		}
		if err := checkBounds(lo, hi, desired); err != nil {
			return err
		}
		if err := s.setLaunchSource(ctx, g, in.LaunchConfigurationName, in.LaunchTemplate, false); err != nil {
			return err
		}
		if err := s.setPlacement(ctx, g, in.AvailabilityZones, in.VPCZoneIdentifier, false); err != nil {
			return err
		}
		if err := g.setOptions(in.DefaultCooldown, in.HealthCheckType, in.HealthCheckGracePeriod, in.TerminationPolicies); err != nil {
			return err
		}
		if in.NewInstancesProtectedFromScaleIn != nil {
			g.ProtectNew = *in.NewInstancesProtectedFromScaleIn
		}
		g.Min, g.Max = lo, hi
		g.setDesired(desired, fmt.Sprintf("a user request update of AutoScalingGroup constraints to min: %d, max: %d, desired: %d", lo, hi, desired), s.now())
		return nil
	})
	return nil, err
}

func clamp(n, lo, hi int) int { return max(lo, min(n, hi)) }

type DeleteAutoScalingGroupInput struct {
	AutoScalingGroupName string
	ForceDelete          bool
}

// DeleteAutoScalingGroup deletes an empty group, or with ForceDelete
// terminates its instances and then deletes it.
func (s *Service) DeleteAutoScalingGroup(ctx context.Context, in *DeleteAutoScalingGroupInput) (*struct{}, error) {
	err := s.update(ctx, "DeleteAutoScalingGroup", in.AutoScalingGroupName, func(g *groupRecord) error {
		if len(g.Instances) > 0 && !in.ForceDelete {
			return api.Errorf(codeResourceInUse, "You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.")
		}
		g.Deleting, g.Min, g.Desired = true, 0, 0
		return nil
	})
	return nil, err
}

type DescribeAutoScalingGroupsInput struct {
	AutoScalingGroupNames []string
	Filters               []Filter
	NextToken             string
	MaxRecords            int
}

type Filter struct {
	Name   string
	Values []string
}

// AutoScalingGroup is Auto Scaling's AutoScalingGroup shape.
type AutoScalingGroup struct {
	AutoScalingGroupName             string
	AutoScalingGroupARN              string
	LaunchConfigurationName          string                       `xml:",omitempty"`
	LaunchTemplate                   *LaunchTemplateSpecification `xml:",omitempty"`
	MinSize                          int
	MaxSize                          int
	DesiredCapacity                  int
	DefaultCooldown                  int
	AvailabilityZones                api.Members[string]
	LoadBalancerNames                api.Members[string]
	TargetGroupARNs                  api.Members[string]
	HealthCheckType                  string
	HealthCheckGracePeriod           int
	Instances                        api.Members[Instance]
	CreatedTime                      time.Time
	SuspendedProcesses               api.Members[SuspendedProcess]
	VPCZoneIdentifier                string `xml:",omitempty"`
	EnabledMetrics                   api.Members[string]
	Status                           string `xml:",omitempty"`
	Tags                             api.Members[TagDescription]
	TerminationPolicies              api.Members[string]
	NewInstancesProtectedFromScaleIn bool
	ServiceLinkedRoleARN             string
	TrafficSources                   api.Members[string]
}

// Instance is Auto Scaling's Instance shape.
type Instance struct {
	InstanceId              string
	InstanceType            string
	AvailabilityZone        string
	LifecycleState          string
	HealthStatus            string
	LaunchConfigurationName string                       `xml:",omitempty"`
	LaunchTemplate          *LaunchTemplateSpecification `xml:",omitempty"`
	ProtectedFromScaleIn    bool
}

type DescribeAutoScalingGroupsOutput struct {
	AutoScalingGroups api.Members[AutoScalingGroup]
	NextToken         string `xml:",omitempty"`
}

// DescribeAutoScalingGroups lists groups by name and filters
// (tag:<key>, tag-key, tag-value).
func (s *Service) DescribeAutoScalingGroups(ctx context.Context, in *DescribeAutoScalingGroupsInput) (*DescribeAutoScalingGroupsOutput, error) {
	if err := s.authorize(ctx, "DescribeAutoScalingGroups", "*"); err != nil {
		return nil, err
	}
	items, err := store.List[groupRecord](ctx, s.store, s.keys.groups())
	if err != nil {
		return nil, err
	}
	var groups []groupRecord
	for _, it := range items {
		g := it.Value
		if len(in.AutoScalingGroupNames) > 0 && !slices.Contains(in.AutoScalingGroupNames, g.Name) {
			continue
		}
		ok, err := matchTags(in.Filters, g.Tags)
		if err != nil {
			return nil, err
		}
		if ok {
			groups = append(groups, g)
		}
	}
	groups, next, err := page(groups, func(g groupRecord) string { return g.Name }, in.NextToken, in.MaxRecords)
	if err != nil {
		return nil, err
	}
	out := &DescribeAutoScalingGroupsOutput{AutoScalingGroups: api.Members[AutoScalingGroup]{}, NextToken: next}
	for _, g := range groups {
		out.AutoScalingGroups = append(out.AutoScalingGroups, s.describe(g))
	}
	return out, nil
}

func (s *Service) describe(g groupRecord) AutoScalingGroup {
	out := AutoScalingGroup{AutoScalingGroupName: g.Name, AutoScalingGroupARN: g.ARN, LaunchConfigurationName: g.LaunchConfiguration,
		LaunchTemplate: g.Template.spec(), MinSize: g.Min, MaxSize: g.Max, DesiredCapacity: g.Desired, DefaultCooldown: g.Cooldown,
		AvailabilityZones: api.Members[string](orEmpty(g.Zones)), LoadBalancerNames: api.Members[string]{}, TargetGroupARNs: api.Members[string]{},
		HealthCheckType: g.HealthCheckType, HealthCheckGracePeriod: g.GracePeriod, Instances: api.Members[Instance]{}, CreatedTime: g.Created,
		SuspendedProcesses: api.Members[SuspendedProcess](orEmpty(g.Suspended)), VPCZoneIdentifier: strings.Join(g.Subnets, ","),
		EnabledMetrics: api.Members[string]{}, Tags: api.Members[TagDescription]{}, TerminationPolicies: api.Members[string](g.TerminationPolicies),
		NewInstancesProtectedFromScaleIn: g.ProtectNew, TrafficSources: api.Members[string]{},
		ServiceLinkedRoleARN: fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/autoscaling.amazonaws.com/%s", s.cfg.Account, ServiceRole)}
	if g.Deleting {
		out.Status = "Delete in progress"
	}
	for _, m := range g.Instances {
		out.Instances = append(out.Instances, m.describe())
	}
	for _, t := range g.Tags {
		t.ResourceId, t.ResourceType = g.Name, "auto-scaling-group"
		out.Tags = append(out.Tags, t)
	}
	return out
}

func (m member) describe() Instance {
	return Instance{InstanceId: m.ID, InstanceType: m.Type, AvailabilityZone: m.Zone, LifecycleState: m.State, HealthStatus: m.Health,
		LaunchConfigurationName: m.LaunchConfiguration, LaunchTemplate: m.Template.spec(), ProtectedFromScaleIn: m.Protected}
}

func (t *templateRef) spec() *LaunchTemplateSpecification {
	if t == nil {
		return nil
	}
	return &LaunchTemplateSpecification{LaunchTemplateId: t.ID, LaunchTemplateName: t.Name, Version: t.Version}
}

// matchTags applies DescribeAutoScalingGroups' tag filters.
func matchTags(filters []Filter, tags []TagDescription) (bool, error) {
	for _, f := range filters {
		var have []string
		switch {
		case strings.HasPrefix(f.Name, "tag:"):
			key := strings.TrimPrefix(f.Name, "tag:")
			for _, t := range tags {
				if t.Key == key {
					have = append(have, t.Value)
				}
			}
		case f.Name == "tag-key":
			for _, t := range tags {
				have = append(have, t.Key)
			}
		case f.Name == "tag-value":
			for _, t := range tags {
				have = append(have, t.Value)
			}
		default:
			return false, validation("Filter type %s is not correct. Allowed Filter types are: tag-key tag-value tag:<key>", f.Name)
		}
		if !slices.ContainsFunc(have, func(v string) bool { return slices.Contains(f.Values, v) }) {
			return false, nil
		}
	}
	return true, nil
}

type SetDesiredCapacityInput struct {
	AutoScalingGroupName string
	DesiredCapacity      *int
	HonorCooldown        bool
}

// SetDesiredCapacity changes how many instances the group keeps.
func (s *Service) SetDesiredCapacity(ctx context.Context, in *SetDesiredCapacityInput) (*struct{}, error) {
	if in.DesiredCapacity == nil {
		return nil, check.Null("desiredCapacity")
	}
	n := *in.DesiredCapacity
	err := s.update(ctx, "SetDesiredCapacity", in.AutoScalingGroupName, func(g *groupRecord) error {
		switch {
		case n > g.Max:
			return validation("New SetDesiredCapacity value %d is above max value %d for the AutoScalingGroup.", n, g.Max)
		case n < g.Min:
			return validation("New SetDesiredCapacity value %d is below min value %d for the AutoScalingGroup.", n, g.Min)
		case in.HonorCooldown && s.now().Before(g.LastScaled.Add(time.Duration(g.Cooldown)*time.Second)):
			return api.Errorf(codeActivityInProgress, "Scaling activity is in progress and blocks this action.")
		}
		g.setDesired(n, "a user request explicitly set group desired capacity", s.now())
		return nil
	})
	return nil, err
}

// SetDesired sets a group's desired capacity on behalf of another
// service (ECS managed scaling), within the group's bounds.
func (s *Service) SetDesired(ctx context.Context, name string, n int, why string) error {
	return s.update(s.asService(ctx), "SetDesiredCapacity", name, func(g *groupRecord) error {
		g.setDesired(clamp(n, g.Min, g.Max), why, s.now())
		return nil
	})
}

type ScalingProcessInput struct {
	AutoScalingGroupName string
	ScalingProcesses     []string
}

// SuspendProcesses suspends the named processes (all when none is named).
func (s *Service) SuspendProcesses(ctx context.Context, in *ScalingProcessInput) (*struct{}, error) {
	return nil, s.setProcesses(ctx, "SuspendProcesses", in, true)
}

// ResumeProcesses resumes the named processes (all when none is named).
func (s *Service) ResumeProcesses(ctx context.Context, in *ScalingProcessInput) (*struct{}, error) {
	return nil, s.setProcesses(ctx, "ResumeProcesses", in, false)
}

func (s *Service) setProcesses(ctx context.Context, action string, in *ScalingProcessInput, suspend bool) error {
	names := in.ScalingProcesses
	if len(names) == 0 {
		names = processes
	}
	for _, p := range names {
		if !slices.Contains(processes, p) {
			return validation("Invalid process name: %s. Valid processes: %s.", p, strings.Join(processes, ", "))
		}
	}
	return s.update(ctx, action, in.AutoScalingGroupName, func(g *groupRecord) error {
		g.Suspended = slices.DeleteFunc(g.Suspended, func(p SuspendedProcess) bool { return slices.Contains(names, p.ProcessName) })
		if suspend {
			for _, p := range names {
				g.Suspended = append(g.Suspended, SuspendedProcess{ProcessName: p, SuspensionReason: fmt.Sprintf("User suspended at %s", stamp(s.now()))})
			}
		}
		return nil
	})
}

type DescribeScalingProcessTypesInput struct{}

type ProcessType struct{ ProcessName string }

type DescribeScalingProcessTypesOutput struct {
	Processes api.Members[ProcessType]
}

// DescribeScalingProcessTypes lists the processes a group can suspend.
func (s *Service) DescribeScalingProcessTypes(ctx context.Context, _ *DescribeScalingProcessTypesInput) (*DescribeScalingProcessTypesOutput, error) {
	if err := s.authorize(ctx, "DescribeScalingProcessTypes", "*"); err != nil {
		return nil, err
	}
	out := &DescribeScalingProcessTypesOutput{Processes: api.Members[ProcessType]{}}
	for _, p := range processes {
		out.Processes = append(out.Processes, ProcessType{p})
	}
	return out, nil
}
