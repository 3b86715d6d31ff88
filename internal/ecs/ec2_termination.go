package ecs

import (
	"context"

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
