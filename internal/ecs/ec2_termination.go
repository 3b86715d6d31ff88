package ecs

import (
	"context"
	"errors"

	"github.com/berth-dev/berth/internal/store"
)

// InstanceTerminated deregisters the container instances of an EC2
// instance that was terminated and stops their tasks (stopCode
// TerminationNotice), so that services replace them at once rather than
// after the lost-agent grace: the instance's host calls it once the
// instance's agent is gone. It returns how many container instances it
// deregistered.
func (s *Service) InstanceTerminated(ctx context.Context, ec2InstanceID string) (int, error) {
	all, err := store.List[instanceRecord](ctx, s.store, s.keys.prefix+"instance/")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, it := range all {
		if it.Value.Instance.Ec2InstanceId != ec2InstanceID || it.Value.Instance.Status == "INACTIVE" {
			continue
		}
		rec, err := store.Update(ctx, s.store, it.Key, func(r *instanceRecord) error {
			r.Instance.Status = "INACTIVE"
			r.Instance.AgentConnected = false
			r.Instance.Version++
			return nil
		})
		if err != nil {
			return n, err
		}
		reason := "Host EC2 (instance " + ec2InstanceID + ") terminated."
		if _, err := s.stopTasksOnInstance(ctx, rec.Cluster, rec.ID, stopCodeHostGone, reason); err != nil {
			return n, err
		}
		n++
	}
	if n > 0 {
		s.kickScheduler()
	}
	return n, nil
}

// DrainBeforeTermination is EC2 Auto Scaling's question before it
// terminates an instance on scale-in (AWS's managed draining, the
// ecs-managed-draining-termination-hook): it sets the instance's container
// instances DRAINING, when their capacity provider has managedDraining
// ENABLED, and answers whether the instance may go: it has no container
// instance of such a provider, or none of its tasks other than a
// daemon's is left.
func (s *Service) DrainBeforeTermination(ctx context.Context, ec2InstanceID string) (bool, error) {
	all, err := store.List[instanceRecord](ctx, s.store, s.keys.prefix+"instance/")
	if err != nil {
		return false, err
	}
	for _, it := range all {
		r := it.Value
		if r.Instance.Ec2InstanceId != ec2InstanceID || r.Instance.Status == "INACTIVE" || r.Instance.CapacityProviderName == "" {
			continue
		}
		cp, err := store.Get[CapacityProvider](ctx, s.store, s.keys.capacityProvider(r.Instance.CapacityProviderName))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return false, err
		}
		if a := cp.Value.AutoScalingGroupProvider; a == nil || a.ManagedDraining != "ENABLED" {
			continue
		}
		if r.Instance.Status != "DRAINING" {
			if _, err := store.Update(ctx, s.store, it.Key, func(r *instanceRecord) error {
				r.Instance.Status = "DRAINING"
				r.Instance.Version++
				return nil
			}); err != nil {
				return false, err
			}
			s.log.Info("draining before scale-in", "containerInstance", r.Instance.ContainerInstanceArn, "ec2Instance", ec2InstanceID)
			s.kickScheduler()
			return false, nil
		}
		daemons, err := s.daemonGroups(ctx, r.Cluster)
		if err != nil {
			return false, err
		}
		tasks, err := store.List[taskRecord](ctx, s.store, s.keys.tasks(r.Cluster))
		if err != nil {
			return false, err
		}
		for _, t := range tasks {
			if t.Value.InstanceID == r.ID && t.Value.Task.LastStatus != "STOPPED" && !daemons[t.Value.Task.Group] {
				return false, nil
			}
		}
	}
	return true, nil
}
