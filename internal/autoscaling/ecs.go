package autoscaling

import (
	"context"
	"errors"
	"strings"

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
	return "", nil
}
