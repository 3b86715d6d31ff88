package ecs

import (
	"context"
	"errors"

	"github.com/berth-dev/berth/internal/store"
)

// Tasks on an instance that is gone — force-deregistered, or its agent
// lost for longer than the grace period — have nobody left to report
// them stopped. The server marks them STOPPED itself and gives their
// reservations back, so that the collector removes them in time and their
// services replace them. Their assignment goes too: an agent that comes
// back is no longer sent them.

// Stop causes of tasks whose instance is gone. ECS words a vanished host as
// "Host EC2 (instance i-...) stopped/terminated."; the model's
// TaskStopCode for a stop the task did not cause is TerminationNotice,
// and a user's deregistration is UserInitiated.
const (
	stopCodeHostGone     = "TerminationNotice"
	stopCodeDeregistered = "UserInitiated"
)

func hostGoneReason(rec *instanceRecord) string {
	return "Host EC2 (instance " + rec.Instance.Ec2InstanceId + ") stopped/terminated."
}

// stopTasksOnInstance marks every task on the instance that has not
// stopped as STOPPED with code and reason, and returns how many it
// stopped.
func (s *Service) stopTasksOnInstance(ctx context.Context, cluster, instanceID, code, reason string) (int, error) {
	tasks, err := store.List[taskRecord](ctx, s.store, s.keys.tasks(cluster))
	if err != nil {
		return 0, err
	}
	stopped := 0
	var errs []error
	for _, it := range tasks {
		if it.Value.InstanceID != instanceID || it.Value.Task.LastStatus == "STOPPED" {
			continue
		}
		if err := s.markStopped(ctx, it.Key, code, reason); err != nil {
			errs = append(errs, err)
			continue
		}
		stopped++
	}
	return stopped, errors.Join(errs...)
}

// markStopped records a task as STOPPED without its agent: desired and
// last status, the stop's cause (unless a stop was already requested,
// whose cause stands), its reservation released.
func (s *Service) markStopped(ctx context.Context, key, code, reason string) error {
	for {
		it, err := store.Get[taskRecord](ctx, s.store, key)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		rec := it.Value
		before := rec.Task.LastStatus
		if before == "STOPPED" {
			return nil
		}
		if rec.Task.DesiredStatus != "STOPPED" {
			rec.Task.DesiredStatus = "STOPPED"
			rec.Task.StopCode, rec.Task.StoppedReason = code, reason
		}
		advanceTask(&rec, "STOPPED", reason)
		err = s.commitTaskChange(ctx, it, &rec, before)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return err
	}
}
