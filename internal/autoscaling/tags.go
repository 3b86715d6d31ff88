package autoscaling

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// Group tags after creation, the describe calls of fixed lists, and an
// instance's health set by hand.

type TagsInput struct {
	Tags []Tag
}

// CreateOrUpdateTags sets tags of groups (ResourceType auto-scaling-group,
// ResourceId the group's name), replacing the values of keys they have.
func (s *Service) CreateOrUpdateTags(ctx context.Context, in *TagsInput) (*struct{}, error) {
	return nil, s.changeTags(ctx, "CreateOrUpdateTags", in.Tags, func(g *groupRecord, t Tag) error {
		i := slices.IndexFunc(g.Tags, func(d TagDescription) bool { return d.Key == t.Key })
		d := TagDescription{Key: t.Key, Value: t.Value, PropagateAtLaunch: t.PropagateAtLaunch}
		if i >= 0 {
			g.Tags[i] = d
			return nil
		}
		if len(g.Tags) >= 50 {
			return api.Errorf(codeLimitExceeded, "The number of tags of AutoScalingGroup %s would exceed the limit of 50.", g.Name)
		}
		g.Tags = append(g.Tags, d)
		return nil
	})
}

// DeleteTags removes tags of groups by key.
func (s *Service) DeleteTags(ctx context.Context, in *TagsInput) (*struct{}, error) {
	return nil, s.changeTags(ctx, "DeleteTags", in.Tags, func(g *groupRecord, t Tag) error {
		g.Tags = slices.DeleteFunc(g.Tags, func(d TagDescription) bool { return d.Key == t.Key })
		return nil
	})
}

// changeTags checks every tag, then applies change to each tag's group.
func (s *Service) changeTags(ctx context.Context, action string, tags []Tag, change func(*groupRecord, Tag) error) error {
	if len(tags) == 0 {
		return check.Null("tags")
	}
	for _, t := range tags {
		if t.ResourceType != "auto-scaling-group" || t.ResourceId == "" {
			return validation("Each tag must name its group: ResourceType auto-scaling-group and ResourceId the group's name.")
		}
		if _, err := checkTags([]Tag{{Key: t.Key, Value: t.Value}}, t.ResourceId); err != nil {
			return err
		}
	}
	for _, t := range tags {
		if err := s.update(ctx, action, t.ResourceId, func(g *groupRecord) error { return change(g, t) }); err != nil {
			return err
		}
	}
	return nil
}

type DescribeTagsInput struct {
	Filters    []Filter
	NextToken  string
	MaxRecords int
}

type DescribeTagsOutput struct {
	Tags      api.Members[TagDescription]
	NextToken string `xml:",omitempty"`
}

// DescribeTags lists the groups' tags, filtered by auto-scaling-group,
// key, value and propagate-at-launch.
func (s *Service) DescribeTags(ctx context.Context, in *DescribeTagsInput) (*DescribeTagsOutput, error) {
	if err := s.authorize(ctx, "DescribeTags", "*"); err != nil {
		return nil, err
	}
	groups, err := store.List[groupRecord](ctx, s.store, s.keys.groups())
	if err != nil {
		return nil, err
	}
	var all []TagDescription
	for _, g := range groups {
		for _, t := range g.Value.Tags {
			t.ResourceId, t.ResourceType = g.Value.Name, "auto-scaling-group"
			ok := true
			for _, f := range in.Filters {
				var have string
				switch f.Name {
				case "auto-scaling-group":
					have = t.ResourceId
				case "key":
					have = t.Key
				case "value":
					have = t.Value
				case "propagate-at-launch":
					have = strconv.FormatBool(t.PropagateAtLaunch)
				default:
					return nil, validation("Filter type %s is not correct. Allowed Filter types are: auto-scaling-group key value propagate-at-launch", f.Name)
				}
				ok = ok && slices.Contains(f.Values, have)
			}
			if ok {
				all = append(all, t)
			}
		}
	}
	page, next, err := page(all, func(t TagDescription) string { return t.ResourceId + "\x00" + t.Key }, in.NextToken, in.MaxRecords)
	if err != nil {
		return nil, err
	}
	return &DescribeTagsOutput{Tags: api.Members[TagDescription](orEmpty(page)), NextToken: next}, nil
}

type EmptyInput struct{}

type AdjustmentType struct{ AdjustmentType string }

type DescribeAdjustmentTypesOutput struct {
	AdjustmentTypes api.Members[AdjustmentType]
}

// DescribeAdjustmentTypes lists the policies' adjustment types.
func (s *Service) DescribeAdjustmentTypes(ctx context.Context, _ *EmptyInput) (*DescribeAdjustmentTypesOutput, error) {
	if err := s.authorize(ctx, "DescribeAdjustmentTypes", "*"); err != nil {
		return nil, err
	}
	out := &DescribeAdjustmentTypesOutput{AdjustmentTypes: api.Members[AdjustmentType]{}}
	for _, t := range adjustmentTypes {
		out.AdjustmentTypes = append(out.AdjustmentTypes, AdjustmentType{t})
	}
	return out, nil
}

type DescribeTerminationPolicyTypesOutput struct {
	TerminationPolicyTypes api.Members[string]
}

// DescribeTerminationPolicyTypes lists the termination policies.
func (s *Service) DescribeTerminationPolicyTypes(ctx context.Context, _ *EmptyInput) (*DescribeTerminationPolicyTypesOutput, error) {
	if err := s.authorize(ctx, "DescribeTerminationPolicyTypes", "*"); err != nil {
		return nil, err
	}
	return &DescribeTerminationPolicyTypesOutput{TerminationPolicyTypes: api.Members[string](terminationPolicies)}, nil
}

// AWS's default quotas of groups and launch configurations per region.
const (
	maxGroups  = 500
	maxConfigs = 200
)

type DescribeAccountLimitsOutput struct {
	MaxNumberOfAutoScalingGroups    int
	MaxNumberOfLaunchConfigurations int
	NumberOfAutoScalingGroups       int
	NumberOfLaunchConfigurations    int
}

// DescribeAccountLimits says the quotas and how much of them is used.
func (s *Service) DescribeAccountLimits(ctx context.Context, _ *EmptyInput) (*DescribeAccountLimitsOutput, error) {
	if err := s.authorize(ctx, "DescribeAccountLimits", "*"); err != nil {
		return nil, err
	}
	groups, err := s.store.Count(ctx, s.keys.groups())
	if err != nil {
		return nil, err
	}
	configs, err := s.store.Count(ctx, s.keys.configs())
	if err != nil {
		return nil, err
	}
	return &DescribeAccountLimitsOutput{MaxNumberOfAutoScalingGroups: maxGroups, MaxNumberOfLaunchConfigurations: maxConfigs,
		NumberOfAutoScalingGroups: int(groups), NumberOfLaunchConfigurations: int(configs)}, nil
}

type SetInstanceHealthInput struct {
	InstanceId               string
	HealthStatus             string
	ShouldRespectGracePeriod *bool
}

// SetInstanceHealth marks an instance Healthy or Unhealthy; an unhealthy
// one is replaced by the next pass (unless ReplaceUnhealthy is
// suspended), after the group's grace period when asked to respect it.
func (s *Service) SetInstanceHealth(ctx context.Context, in *SetInstanceHealthInput) (*struct{}, error) {
	if in.HealthStatus != healthy && in.HealthStatus != unhealthy {
		return nil, validation("Valid requests must specify a HealthStatus of Healthy or Unhealthy.")
	}
	name, err := s.groupOf(ctx, in.InstanceId)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, validation("Instance Id not found - No managed instance found for instance ID: %s", in.InstanceId)
	}
	err = s.update(ctx, "SetInstanceHealth", name, func(g *groupRecord) error {
		m := g.member(in.InstanceId)
		if m == nil || !m.active() {
			return validation("Instance Id not found - No managed instance found for instance ID: %s", in.InstanceId)
		}
		respect := in.ShouldRespectGracePeriod == nil || *in.ShouldRespectGracePeriod
		if in.HealthStatus == unhealthy && respect && s.now().Before(m.Launched.Add(time.Duration(g.GracePeriod)*time.Second)) {
			return nil // within the grace period, the health check is not acted on
		}
		m.Health = in.HealthStatus
		return nil
	})
	return nil, err
}
