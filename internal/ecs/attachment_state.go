package ecs

import (
	"context"
	"errors"
	"slices"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// SubmitAttachmentStateChanges is the agent's report that a task's
// elastic network interface attachment changed state. Berth attaches the
// interface when it places the task (ATTACHED) and marks it DELETED when
// it releases it; in between the task's agent may report it ATTACHED or
// DETACHED, as ECS's attachments show it.

type SubmitAttachmentStateChangesInput struct {
	Cluster     string                  `json:"cluster"`
	Attachments []AttachmentStateChange `json:"attachments"`
}

// AttachmentStateChange is one attachment's new status.
type AttachmentStateChange struct {
	AttachmentArn string `json:"attachmentArn"`
	Status        string `json:"status"`
}

// attachmentStatuses are the statuses an agent reports of an attachment
// (the ECS agent sends ATTACHED and DETACHED).
var attachmentStatuses = []string{"ATTACHED", "DETACHED"}

// SubmitAttachmentStateChanges records the statuses. Every attachment must
// be a task interface of the cluster, and a caller bound to an instance
// may report only on its own tasks' (as SubmitTaskStateChange); nothing is
// written unless all are.
func (s *Service) SubmitAttachmentStateChanges(ctx context.Context, in *SubmitAttachmentStateChangesInput) (*AcknowledgmentOutput, error) {
	const op = "SubmitAttachmentStateChanges"
	if len(in.Attachments) == 0 {
		return nil, api.InvalidParameter("attachments is required.")
	}
	for _, a := range in.Attachments {
		if a.AttachmentArn == "" {
			return nil, api.InvalidParameter("attachmentArn is required.")
		}
		if !slices.Contains(attachmentStatuses, a.Status) {
			return nil, api.InvalidParameter("Invalid attachment status %q: valid values are ATTACHED and DETACHED.", a.Status)
		}
	}
	cl, err := s.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, op, s.arn("cluster/"+cl.Value.Name)); err != nil {
		return nil, err
	}
	tasks, err := store.List[taskRecord](ctx, s.store, s.keys.tasks(cl.Value.Name))
	if err != nil {
		return nil, err
	}
	byAttachment := map[string]string{} // attachment id -> task key
	for _, it := range tasks {
		if it.Value.Interface != nil {
			byAttachment[it.Value.Interface.Attachment] = it.Key
		}
	}
	keys := make([]string, len(in.Attachments))
	for i, a := range in.Attachments {
		key, ok := byAttachment[lastSegment(a.AttachmentArn)]
		if !ok {
			// The wording is Berth's, after its tasks' "referenced task".
			return nil, api.InvalidParameter("The referenced attachment was not found: %s.", a.AttachmentArn)
		}
		keys[i] = key
		it := tasks[slices.IndexFunc(tasks, func(t store.Item[taskRecord]) bool { return t.Key == key })]
		if err := s.checkTaskInstance(ctx, op, &it.Value); err != nil {
			return nil, err
		}
	}
	for i, a := range in.Attachments {
		if err := s.setAttachmentStatus(ctx, keys[i], lastSegment(a.AttachmentArn), a.Status); err != nil {
			return nil, err
		}
	}
	return &AcknowledgmentOutput{Acknowledgment: "true"}, nil
}

// setAttachmentStatus records an interface attachment's status on its
// task, unless the interface is already released (DELETED).
func (s *Service) setAttachmentStatus(ctx context.Context, key, id, status string) error {
	for {
		it, err := store.Get[taskRecord](ctx, s.store, key)
		if errors.Is(err, store.ErrNotFound) {
			return nil // collected meanwhile
		}
		if err != nil {
			return err
		}
		rec := it.Value
		i := slices.IndexFunc(rec.Task.Attachments, func(a Attachment) bool { return a.ID == id })
		if i < 0 || rec.Task.Attachments[i].Status == status || rec.Task.Attachments[i].Status == "DELETED" {
			return nil
		}
		rec.Task.Attachments[i].Status = status
		err = s.commitTaskChange(ctx, it, &rec, rec.Task.LastStatus)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return err
	}
}
