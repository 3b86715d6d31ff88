package autoscaling

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/store"
)

// What ECS asks of Auto Scaling, for capacity providers.

// GroupARN returns the ARN of the group named by nameOrARN (its name, or
// its ARN, whose last part is autoScalingGroupName/<name>).
func (s *Service) GroupARN(ctx context.Context, nameOrARN string) (string, bool, error) {
	name := nameOrARN
	if isARN(nameOrARN) {
		_, name, _ = strings.Cut(nameOrARN, ":autoScalingGroupName/")
	}
	if name == "" || checkName("AutoScalingGroupName", name) != nil {
		return "", false, nil
	}
	g, err := store.Get[groupRecord](ctx, s.store, s.keys.group(name))
	if errors.Is(err, store.ErrNotFound) || (err == nil && (g.Value.Deleting || (isARN(nameOrARN) && g.Value.ARN != nameOrARN))) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return g.Value.ARN, true, nil
}

// GroupOfInstance returns the ARN of the group an EC2 instance is in, ""
// when it is in none.
func (s *Service) GroupOfInstance(ctx context.Context, instanceID string) (string, error) {
	groups, err := store.List[groupRecord](ctx, s.store, s.keys.groups())
	if err != nil {
		return "", err
	}
	for _, g := range groups {
		if g.Value.member(instanceID) != nil {
			return g.Value.ARN, nil
		}
	}
	// An instance whose agent registers before its launch is recorded in
	// the group was launched with the client token of a member still
	// without an id.
	r, err := s.ec2.Instance(ctx, instanceID)
	if err != nil || r.ClientToken == "" {
		return "", nil
	}
	for _, g := range groups {
		for _, m := range g.Value.Instances {
			if m.ID == "" && m.Token == r.ClientToken {
				return g.Value.ARN, nil
			}
		}
	}
	return "", nil
}

// GroupCapacity is what ECS managed scaling reads of a group.
type GroupCapacity struct {
	Name                 string
	Min, Max, Desired    int
	InstanceType         string
	Instances            []GroupInstance
	ProtectedFromScaleIn bool
}

// GroupInstance is one instance of a group, launched or not yet.
type GroupInstance struct {
	ID        string // "" while its launch has not run
	State     string // Pending, InService, Terminating, ...
	Launched  time.Time
	Protected bool
}

// Capacity returns the state of the group with the ARN, ok false when
// there is none.
func (s *Service) Capacity(ctx context.Context, arn string) (GroupCapacity, bool, error) {
	_, name, _ := strings.Cut(arn, ":autoScalingGroupName/")
	if name == "" {
		return GroupCapacity{}, false, nil
	}
	it, err := store.Get[groupRecord](ctx, s.store, s.keys.group(name))
	if errors.Is(err, store.ErrNotFound) || (err == nil && it.Value.ARN != arn) {
		return GroupCapacity{}, false, nil
	}
	if err != nil {
		return GroupCapacity{}, false, err
	}
	g := it.Value
	out := GroupCapacity{Name: g.Name, Min: g.Min, Max: g.Max, Desired: g.Desired, ProtectedFromScaleIn: g.ProtectNew}
	if out.InstanceType, err = s.instanceType(ctx, &g); err != nil {
		return GroupCapacity{}, false, err
	}
	for _, m := range g.Instances {
		out.Instances = append(out.Instances, GroupInstance{ID: m.ID, State: m.State, Launched: m.Launched, Protected: m.Protected})
	}
	return out, true, nil
}

// instanceType is the type the group launches: its launch template's
// (t3.micro, EC2's default, when the template names none) or its launch
// configuration's.
func (s *Service) instanceType(ctx context.Context, g *groupRecord) (string, error) {
	if g.Template != nil {
		d, err := s.ec2.ResolveLaunchTemplate(ctx, g.Template.ID, "", g.Template.Version)
		if err != nil {
			return "", err
		}
		if d.InstanceType == "" {
			return "t3.micro", nil
		}
		return d.InstanceType, nil
	}
	lc, err := s.launchConfig(ctx, g.LaunchConfiguration)
	if err != nil {
		return "", err
	}
	return lc.Value.InstanceType, nil
}

// SetProtection protects instances of a group from scale-in, or stops,
// on behalf of ECS (managed termination protection). Instances no longer
// in the group are skipped.
func (s *Service) SetProtection(ctx context.Context, group string, ids []string, protected bool) error {
	return s.mutate(ctx, group, func(g *groupRecord) error {
		for _, id := range ids {
			if m := g.member(id); m != nil {
				m.Protected = protected
			}
		}
		return nil
	})
}
