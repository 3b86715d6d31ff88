package ecs

import (
	"context"
	"errors"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// ContainerStateChange is one container's new state in SubmitTaskStateChange.
type ContainerStateChange struct {
	ContainerName   string           `json:"containerName"`
	ImageDigest     string           `json:"imageDigest"`
	RuntimeId       string           `json:"runtimeId"`
	ExitCode        *int             `json:"exitCode"`
	NetworkBindings []NetworkBinding `json:"networkBindings"`
	Reason          string           `json:"reason"`
	Status          string           `json:"status"`
}

type SubmitTaskStateChangeInput struct {
	Cluster            string                 `json:"cluster"`
	Task               string                 `json:"task"`
	Status             string                 `json:"status"`
	Reason             string                 `json:"reason"`
	Containers         []ContainerStateChange `json:"containers"`
	PullStartedAt      *api.Timestamp         `json:"pullStartedAt"`
	PullStoppedAt      *api.Timestamp         `json:"pullStoppedAt"`
	ExecutionStoppedAt *api.Timestamp         `json:"executionStoppedAt"`
}

type SubmitContainerStateChangeInput struct {
	Cluster         string           `json:"cluster"`
	Task            string           `json:"task"`
	ContainerName   string           `json:"containerName"`
	RuntimeId       string           `json:"runtimeId"`
	Status          string           `json:"status"`
	ExitCode        *int             `json:"exitCode"`
	Reason          string           `json:"reason"`
	NetworkBindings []NetworkBinding `json:"networkBindings"`
}

type AcknowledgmentOutput struct {
	Acknowledgment string `json:"acknowledgment"`
}

// SubmitTaskStateChange records what an agent observed of a task. States
// only move forward; a STOPPED task releases its instance's reservation.
func (s *Service) SubmitTaskStateChange(ctx context.Context, in *SubmitTaskStateChangeInput) (*AcknowledgmentOutput, error) {
	return s.applyStateChange(ctx, "SubmitTaskStateChange", in.Cluster, in.Task, func(rec *taskRecord) {
		for _, c := range in.Containers {
			applyContainerChange(rec, c)
		}
		if in.PullStartedAt != nil && rec.Task.PullStartedAt == nil {
			rec.Task.PullStartedAt = in.PullStartedAt
		}
		if in.PullStoppedAt != nil {
			rec.Task.PullStoppedAt = in.PullStoppedAt
		}
		if in.ExecutionStoppedAt != nil {
			rec.Task.ExecutionStoppedAt = in.ExecutionStoppedAt
		}
		advanceTask(rec, in.Status, in.Reason)
	})
}

// SubmitContainerStateChange records one container's state.
func (s *Service) SubmitContainerStateChange(ctx context.Context, in *SubmitContainerStateChangeInput) (*AcknowledgmentOutput, error) {
	return s.applyStateChange(ctx, "SubmitContainerStateChange", in.Cluster, in.Task, func(rec *taskRecord) {
		applyContainerChange(rec, ContainerStateChange{
			ContainerName: in.ContainerName, RuntimeId: in.RuntimeId, Status: in.Status,
			ExitCode: in.ExitCode, Reason: in.Reason, NetworkBindings: in.NetworkBindings,
		})
	})
}

func (s *Service) applyStateChange(ctx context.Context, op, cluster, task string, change func(*taskRecord)) (*AcknowledgmentOutput, error) {
	if task == "" {
		return nil, api.InvalidParameter("task is required.")
	}
	cl, err := s.activeCluster(ctx, cluster)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, op, s.arn("cluster/"+cl.Value.Name)); err != nil {
		return nil, err
	}
	for {
		it, found, err := s.findTask(ctx, cl.Value.Name, task)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, api.InvalidParameter("The referenced task was not found.")
		}
		rec := it.Value
		if err := s.checkTaskInstance(ctx, op, &rec); err != nil {
			return nil, err
		}
		before := rec.Task.LastStatus
		change(&rec)
		if err := s.commitTaskChange(ctx, it, &rec, before); errors.Is(err, store.ErrConflict) {
			continue
		} else if err != nil {
			return nil, err
		}
		return &AcknowledgmentOutput{Acknowledgment: "true"}, nil
	}
}

// checkTaskInstance refuses an instance's session reporting on a task of
// another instance (or of none).
func (s *Service) checkTaskInstance(ctx context.Context, op string, rec *taskRecord) error {
	p := api.PrincipalFrom(ctx)
	if p.SourceInstance == "" {
		return nil
	}
	inst, err := store.Get[instanceRecord](ctx, s.store, s.keys.instance(rec.Cluster, rec.InstanceID))
	if errors.Is(err, store.ErrNotFound) {
		return notThisInstance(p, op, rec.Task.TaskArn)
	}
	if err != nil {
		return err
	}
	if err := actsAs(ctx, op, &inst.Value); err != nil {
		return notThisInstance(p, op, rec.Task.TaskArn)
	}
	return nil
}

// commitTaskChange writes a changed task and, when its state moved, the
// instance reservation and assignment that depend on it, atomically.
func (s *Service) commitTaskChange(ctx context.Context, it store.Item[taskRecord], rec *taskRecord, before string) error {
	txn := store.NewTxn().IfRev(it.Key, it.Rev)
	if rec.Task.LastStatus != before {
		ikey := s.keys.instance(rec.Cluster, rec.InstanceID)
		inst, err := store.Get[instanceRecord](ctx, s.store, ikey)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		default:
			if inst.Value.Usage.move(rec.Reservation, before, rec.Task.LastStatus) {
				txn.IfRev(ikey, inst.Rev).Put(ikey, inst.Value)
			}
		}
		if rec.Task.LastStatus == "STOPPED" {
			txn.Delete(s.keys.assignment(rec.InstanceID, rec.ID))
		}
		s.log.Info("task state", "task", rec.Task.TaskArn, "from", before, "to", rec.Task.LastStatus, "reason", rec.Task.StoppedReason)
	}
	rec.Task.Version++
	txn.Put(it.Key, rec)
	return s.store.Commit(ctx, txn)
}

// advanceTask moves the task to status when that is a step forward.
func advanceTask(rec *taskRecord, status, reason string) {
	if statusOrder[status] <= statusOrder[rec.Task.LastStatus] {
		return
	}
	t := &rec.Task
	t.LastStatus = status
	now := api.Now()
	switch status {
	case "RUNNING":
		t.StartedAt = now
		t.Connectivity, t.ConnectivityAt = "CONNECTED", now
	case "STOPPED":
		t.StoppedAt = now
		if t.ExecutionStoppedAt == nil {
			t.ExecutionStoppedAt = now
		}
		if t.StoppingAt == nil {
			t.StoppingAt = now
		}
		if t.DesiredStatus != "STOPPED" {
			t.DesiredStatus = "STOPPED"
			t.StopCode, t.StoppedReason = stopCause(rec, reason)
		}
		for i := range t.Containers {
			if t.Containers[i].LastStatus != "STOPPED" {
				t.Containers[i].LastStatus = "STOPPED"
			}
		}
	}
}

// stopCause explains a stop the agent initiated: when no container ever ran
// the task failed to start; otherwise an essential container exited.
func stopCause(rec *taskRecord, reason string) (code, text string) {
	// A container with an exit code ran, even if it exited before the
	// agent could report the task RUNNING.
	started := rec.Task.StartedAt != nil
	for _, c := range rec.Task.Containers {
		started = started || c.ExitCode != nil
	}
	if !started {
		if reason == "" {
			reason = "Task failed to start"
		}
		return "TaskFailedToStart", reason
	}
	if reason == "" {
		reason = "Essential container in task exited"
	}
	return "EssentialContainerExited", reason
}

func applyContainerChange(rec *taskRecord, c ContainerStateChange) {
	for i := range rec.Task.Containers {
		ct := &rec.Task.Containers[i]
		if ct.Name != c.ContainerName {
			continue
		}
		if c.RuntimeId != "" {
			ct.RuntimeId = c.RuntimeId
		}
		if c.ImageDigest != "" {
			ct.ImageDigest = c.ImageDigest
		}
		if c.NetworkBindings != nil {
			ct.NetworkBindings = c.NetworkBindings
		}
		if c.Reason != "" {
			ct.Reason = c.Reason
		}
		if c.ExitCode != nil {
			ct.ExitCode = c.ExitCode
		}
		if statusOrder[c.Status] > statusOrder[ct.LastStatus] {
			ct.LastStatus = c.Status
		}
	}
}
