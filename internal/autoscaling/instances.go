package autoscaling

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/ec2"
	"github.com/berth-dev/berth/internal/store"
)

// The actions on a group's instances: protection, termination, listing,
// attaching and detaching.

type SetInstanceProtectionInput struct {
	InstanceIds          []string
	AutoScalingGroupName string
	ProtectedFromScaleIn *bool
}

// SetInstanceProtection protects instances from scale-in, or stops.
func (s *Service) SetInstanceProtection(ctx context.Context, in *SetInstanceProtectionInput) (*struct{}, error) {
	if in.ProtectedFromScaleIn == nil {
		return nil, check.Null("protectedFromScaleIn")
	}
	if len(in.InstanceIds) > 50 {
		return nil, api.Errorf(codeLimitExceeded, "The number of instances (%d) exceeds the limit of 50.", len(in.InstanceIds))
	}
	err := s.update(ctx, "SetInstanceProtection", in.AutoScalingGroupName, func(g *groupRecord) error {
		for _, id := range in.InstanceIds {
			m := g.member(id)
			if m == nil {
				return validation("The instance %s is not part of Auto Scaling group %s.", id, g.Name)
			}
			m.Protected = *in.ProtectedFromScaleIn
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

type TerminateInstanceInAutoScalingGroupInput struct {
	InstanceId                     string
	ShouldDecrementDesiredCapacity *bool
}

type ActivityOutput struct {
	Activity Activity
}

// TerminateInstanceInAutoScalingGroup terminates one instance of a group,
// lowering the desired capacity or not (then a replacement launches).
func (s *Service) TerminateInstanceInAutoScalingGroup(ctx context.Context, in *TerminateInstanceInAutoScalingGroupInput) (*ActivityOutput, error) {
	if in.ShouldDecrementDesiredCapacity == nil {
		return nil, check.Null("shouldDecrementDesiredCapacity")
	}
	name, err := s.groupOf(ctx, in.InstanceId)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, validation("Instance Id not found - No managed instance found for instance ID: %s", in.InstanceId)
	}
	var act Activity
	err = s.update(ctx, "TerminateInstanceInAutoScalingGroup", name, func(g *groupRecord) error {
		m := g.member(in.InstanceId)
		if m == nil || !m.active() {
			return validation("Instance Id not found - No managed instance found for instance ID: %s", in.InstanceId)
		}
		now := s.now()
		cause := fmt.Sprintf("At %s instance %s was taken out of service in response to a user request.", stamp(now), m.ID)
		if *in.ShouldDecrementDesiredCapacity {
			if g.Desired-1 < g.Min {
				return validation("Currently, desiredSize equals minSize (%d). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.", g.Min)
			}
			cause = fmt.Sprintf("At %s instance %s was taken out of service in response to a user request, shrinking the capacity from %d to %d.", stamp(now), m.ID, g.Desired, g.Desired-1)
			g.Desired--
			g.Cause = ""
		}
		act = s.newActivity(g, "Terminating EC2 instance: "+m.ID, cause)
		m.State, m.Activity = stateTerminating, act.ActivityId
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.putActivities(ctx, act); err != nil {
		return nil, err
	}
	if _, err := s.ec2.TerminateInstances(s.asService(ctx), &ec2.InstanceIdsInput{InstanceIds: []string{in.InstanceId}}); err != nil {
		s.log.Warn("terminate a group's instance", "instance", in.InstanceId, "err", err)
	}
	return &ActivityOutput{Activity: act}, nil
}

// groupOf names the group instance id belongs to, "" when none.
func (s *Service) groupOf(ctx context.Context, id string) (string, error) {
	groups, err := store.List[groupRecord](ctx, s.store, s.keys.groups())
	if err != nil {
		return "", err
	}
	for _, g := range groups {
		if m := g.Value.member(id); m != nil {
			return g.Value.Name, nil
		}
	}
	return "", nil
}

type DescribeAutoScalingInstancesInput struct {
	InstanceIds []string
	MaxRecords  int
	NextToken   string
}

// AutoScalingInstanceDetails is an Instance with its group's name.
type AutoScalingInstanceDetails struct {
	AutoScalingGroupName string
	Instance
}

type DescribeAutoScalingInstancesOutput struct {
	AutoScalingInstances api.Members[AutoScalingInstanceDetails]
	NextToken            string `xml:",omitempty"`
}

// DescribeAutoScalingInstances lists the instances of every group.
func (s *Service) DescribeAutoScalingInstances(ctx context.Context, in *DescribeAutoScalingInstancesInput) (*DescribeAutoScalingInstancesOutput, error) {
	if err := s.authorize(ctx, "DescribeAutoScalingInstances", "*"); err != nil {
		return nil, err
	}
	groups, err := store.List[groupRecord](ctx, s.store, s.keys.groups())
	if err != nil {
		return nil, err
	}
	var all []AutoScalingInstanceDetails
	for _, g := range groups {
		for _, m := range g.Value.Instances {
			if len(in.InstanceIds) > 0 && !slices.Contains(in.InstanceIds, m.ID) {
				continue
			}
			// Here, unlike in DescribeAutoScalingGroups, AWS writes the
			// health in capitals.
			d := AutoScalingInstanceDetails{AutoScalingGroupName: g.Value.Name, Instance: m.describe()}
			d.HealthStatus = strings.ToUpper(d.HealthStatus)
			all = append(all, d)
		}
	}
	slices.SortFunc(all, func(a, b AutoScalingInstanceDetails) int { return strings.Compare(a.InstanceId, b.InstanceId) })
	all, next, err := page(all, func(d AutoScalingInstanceDetails) string { return d.InstanceId }, in.NextToken, in.MaxRecords)
	if err != nil {
		return nil, err
	}
	return &DescribeAutoScalingInstancesOutput{AutoScalingInstances: api.Members[AutoScalingInstanceDetails](orEmpty(all)), NextToken: next}, nil
}

type AttachInstancesInput struct {
	InstanceIds          []string
	AutoScalingGroupName string
}

// AttachInstances adds running instances to a group, raising its desired
// capacity by as many; they must be in one of the group's zones (and
// subnets' VPC) and in no other group.
func (s *Service) AttachInstances(ctx context.Context, in *AttachInstancesInput) (*struct{}, error) {
	all, err := s.ec2.Instances(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[string]ec2.InstanceRecord{}
	for _, it := range all {
		byID[it.Value.ID] = it.Value
	}
	for _, id := range in.InstanceIds {
		if other, err := s.groupOf(ctx, id); err != nil {
			return nil, err
		} else if other != "" && other != in.AutoScalingGroupName {
			return nil, validation("The instance %s is already part of the Auto Scaling group %s.", id, other)
		}
	}
	err = s.update(ctx, "AttachInstances", in.AutoScalingGroupName, func(g *groupRecord) error {
		var added []member
		for _, id := range in.InstanceIds {
			r, ok := byID[id]
			if !ok || r.State != ec2.StateRunning {
				return validation("Instance %s is not in correct state. The instance must be running.", id)
			}
			if !slices.Contains(g.Zones, r.Zone) {
				return validation("The instance %s is not in a zone of the Auto Scaling group (%s).", id, strings.Join(g.Zones, ", "))
			}
			if g.member(id) != nil {
				continue
			}
			added = append(added, member{ID: id, Type: r.InstanceType, Zone: r.Zone, State: stateInService, Health: healthy,
				Protected: g.ProtectNew, Launched: r.Launched})
		}
		if g.activeCount()+len(added) > g.Max {
			return validation("Attaching %d instance(s) to %s would exceed its maximum size of %d.", len(added), g.Name, g.Max)
		}
		g.Instances = append(g.Instances, added...)
		if len(added) > 0 {
			g.setDesired(g.Desired+len(added), "a user request attached instances to the group", s.now())
		}
		return nil
	})
	return nil, err
}

type DetachInstancesInput struct {
	InstanceIds                    []string
	AutoScalingGroupName           string
	ShouldDecrementDesiredCapacity *bool
}

// ActivitiesOutput is the answer of the calls that return the
// activities they caused (DetachInstances, Enter/ExitStandby).
type ActivitiesOutput struct {
	Activities api.Members[Activity]
}

// DetachInstances takes instances out of a group; they keep running.
func (s *Service) DetachInstances(ctx context.Context, in *DetachInstancesInput) (*ActivitiesOutput, error) {
	if in.ShouldDecrementDesiredCapacity == nil {
		return nil, check.Null("shouldDecrementDesiredCapacity")
	}
	var acts []Activity
	err := s.update(ctx, "DetachInstances", in.AutoScalingGroupName, func(g *groupRecord) error {
		acts = nil
		now := s.now()
		before := g.Desired
		if *in.ShouldDecrementDesiredCapacity {
			if g.Desired-len(in.InstanceIds) < g.Min {
				return validation("The number of instances (%d) to detach would take the group below its minimum size of %d.", len(in.InstanceIds), g.Min)
			}
			g.Desired -= len(in.InstanceIds)
		}
		g.Instances = slices.DeleteFunc(g.Instances, func(m member) bool {
			if !slices.Contains(in.InstanceIds, m.ID) {
				return false
			}
			cause := fmt.Sprintf("At %s instance %s was detached in response to a user request.", stamp(now), m.ID)
			if *in.ShouldDecrementDesiredCapacity {
				cause = fmt.Sprintf("At %s instance %s was detached in response to a user request, shrinking the capacity from %d to %d.", stamp(now), m.ID, before, g.Desired)
			}
			act := s.newActivity(g, "Detaching EC2 instance: "+m.ID, cause)
			act.StatusCode, act.Progress, act.EndTime = "Successful", 100, &act.StartTime
			acts = append(acts, act)
			return true
		})
		if len(acts) != len(slices.Compact(slices.Sorted(slices.Values(in.InstanceIds)))) {
			return validation("The instances %s are not all part of Auto Scaling group %s.", strings.Join(in.InstanceIds, ", "), g.Name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.putActivities(ctx, acts...); err != nil {
		return nil, err
	}
	return &ActivitiesOutput{Activities: api.Members[Activity](orEmpty(acts))}, nil
}

type EnterStandbyInput struct {
	InstanceIds                    []string
	AutoScalingGroupName           string
	ShouldDecrementDesiredCapacity *bool
}

// EnterStandby takes InService instances out of service without ending
// them, lowering the desired capacity or not (then replacements launch).
func (s *Service) EnterStandby(ctx context.Context, in *EnterStandbyInput) (*ActivitiesOutput, error) {
	if in.ShouldDecrementDesiredCapacity == nil {
		return nil, check.Null("shouldDecrementDesiredCapacity")
	}
	return s.standby(ctx, "EnterStandby", in.AutoScalingGroupName, in.InstanceIds, func(g *groupRecord, m *member, now time.Time) (Activity, error) {
		if m.State != stateInService {
			return Activity{}, validation("The instance %s is not in InService.", m.ID)
		}
		cause := fmt.Sprintf("At %s instance %s was moved to standby in response to a user request.", stamp(now), m.ID)
		if *in.ShouldDecrementDesiredCapacity {
			if g.Desired-1 < g.Min {
				return Activity{}, validation("AutoScalingGroup %s has min-size=%d, max-size=%d, and desired-size=%d. To place into standby %s, please consider reducing min-size to %d.", g.Name, g.Min, g.Max, g.Desired, m.ID, g.Desired-1)
			}
			cause = fmt.Sprintf("At %s instance %s was moved to standby in response to a user request, shrinking the capacity from %d to %d.", stamp(now), m.ID, g.Desired, g.Desired-1)
			g.Desired--
		}
		m.State = stateStandby
		return s.newActivity(g, "Moving EC2 instance to Standby: "+m.ID, cause), nil
	})
}

type ExitStandbyInput struct {
	InstanceIds          []string
	AutoScalingGroupName string
}

// ExitStandby puts standby instances back in service, raising the desired
// capacity by as many.
func (s *Service) ExitStandby(ctx context.Context, in *ExitStandbyInput) (*ActivitiesOutput, error) {
	return s.standby(ctx, "ExitStandby", in.AutoScalingGroupName, in.InstanceIds, func(g *groupRecord, m *member, now time.Time) (Activity, error) {
		if m.State != stateStandby {
			return Activity{}, validation("The instance %s is not in Standby.", m.ID)
		}
		if g.Desired+1 > g.Max {
			return Activity{}, validation("AutoScalingGroup %s has min-size=%d, max-size=%d, and desired-size=%d. To move %s out of standby, please consider increasing max-size to %d.", g.Name, g.Min, g.Max, g.Desired, m.ID, g.Desired+1)
		}
		cause := fmt.Sprintf("At %s instance %s was moved out of standby in response to a user request, increasing the capacity from %d to %d.", stamp(now), m.ID, g.Desired, g.Desired+1)
		g.Desired++
		m.State = stateInService
		return s.newActivity(g, "Moving EC2 instance out of Standby: "+m.ID, cause), nil
	})
}

// standby moves each named instance with move, all or none, and records
// the activities, which end at once.
func (s *Service) standby(ctx context.Context, action, group string, ids []string, move func(*groupRecord, *member, time.Time) (Activity, error)) (*ActivitiesOutput, error) {
	if len(ids) == 0 {
		return nil, check.Null("instanceIds")
	}
	var acts []Activity
	err := s.update(ctx, action, group, func(g *groupRecord) error {
		acts = nil
		now := s.now()
		for _, id := range ids {
			m := g.member(id)
			if m == nil {
				return validation("The instance %s is not part of Auto Scaling group %s.", id, g.Name)
			}
			act, err := move(g, m, now)
			if err != nil {
				return err
			}
			act.StatusCode, act.Progress, act.EndTime = "Successful", 100, &act.StartTime
			acts = append(acts, act)
		}
		g.Cause = ""
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.putActivities(ctx, acts...); err != nil {
		return nil, err
	}
	return &ActivitiesOutput{Activities: api.Members[Activity](acts)}, nil
}
