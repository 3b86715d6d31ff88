package ecs

import (
	"context"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// Task scale-in protection: a service's task that is protected is not
// stopped by the service scheduler when the service scales in or rolls
// out a new deployment, until its protection expires (120 minutes unless
// asked otherwise, at most 2,880), as ECS does.

// defaultProtection is how long protection lasts when no expiry is asked.
const defaultProtection = 120 * time.Minute

type UpdateTaskProtectionInput struct {
	Cluster           string   `json:"cluster"`
	Tasks             []string `json:"tasks"`
	ProtectionEnabled *bool    `json:"protectionEnabled"`
	ExpiresInMinutes  *int     `json:"expiresInMinutes"`
}

type GetTaskProtectionInput struct {
	Cluster string   `json:"cluster"`
	Tasks   []string `json:"tasks"`
}

// ProtectedTask is ECS's ProtectedTask shape.
type ProtectedTask struct {
	TaskArn           string         `json:"taskArn"`
	ProtectionEnabled bool           `json:"protectionEnabled"`
	ExpirationDate    *api.Timestamp `json:"expirationDate,omitempty"`
}

type TaskProtectionOutput struct {
	ProtectedTasks []ProtectedTask `json:"protectedTasks"`
	Failures       []Failure       `json:"failures"`
}

// protected reports whether the task is protected from scale-in at now.
func (r *taskRecord) protected(now time.Time) bool {
	return r.ProtectedUntil != nil && now.Before(*r.ProtectedUntil)
}

func (r *taskRecord) protection(now time.Time) ProtectedTask {
	p := ProtectedTask{TaskArn: r.Task.TaskArn, ProtectionEnabled: r.protected(now)}
	if p.ProtectionEnabled {
		p.ExpirationDate = api.At(*r.ProtectedUntil)
	}
	return p
}

// UpdateTaskProtection protects a service's tasks from scale-in, or ends
// their protection. A standalone task fails with TASK_NOT_VALID.
func (s *Service) UpdateTaskProtection(ctx context.Context, in *UpdateTaskProtectionInput) (*TaskProtectionOutput, error) {
	if in.ProtectionEnabled == nil {
		return nil, api.InvalidParameter("protectionEnabled is required.")
	}
	until := time.Now().Add(defaultProtection)
	if in.ExpiresInMinutes != nil {
		if !*in.ProtectionEnabled {
			return nil, api.InvalidParameter("expiresInMinutes can be set only when protectionEnabled is true.")
		}
		if *in.ExpiresInMinutes < 1 || *in.ExpiresInMinutes > 2880 {
			return nil, api.InvalidParameter("expiresInMinutes must be between 1 and 2880.")
		}
		until = time.Now().Add(time.Duration(*in.ExpiresInMinutes) * time.Minute)
	}
	until = until.UTC().Truncate(time.Second)
	return s.eachProtectedTask(ctx, "UpdateTaskProtection", in.Cluster, in.Tasks, func(it store.Item[taskRecord]) (taskRecord, error) {
		return store.Update(ctx, s.store, it.Key, func(r *taskRecord) error {
			if *in.ProtectionEnabled {
				r.ProtectedUntil = &until
			} else {
				r.ProtectedUntil = nil
			}
			return nil
		})
	})
}

// GetTaskProtection says which of a service's tasks are protected, and
// until when.
func (s *Service) GetTaskProtection(ctx context.Context, in *GetTaskProtectionInput) (*TaskProtectionOutput, error) {
	return s.eachProtectedTask(ctx, "GetTaskProtection", in.Cluster, in.Tasks, func(it store.Item[taskRecord]) (taskRecord, error) {
		return it.Value, nil
	})
}

// eachProtectedTask resolves up to ten tasks of a cluster, authorizes
// action on each, and applies fn to those that belong to a service and
// have not stopped; the others are failures, as ECS reports them.
func (s *Service) eachProtectedTask(ctx context.Context, action, cluster string, refs []string, fn func(store.Item[taskRecord]) (taskRecord, error)) (*TaskProtectionOutput, error) {
	if len(refs) == 0 || len(refs) > 10 {
		return nil, api.InvalidParameter("tasks must name between 1 and 10 tasks.")
	}
	cl, err := s.activeCluster(ctx, cluster)
	if err != nil {
		return nil, err
	}
	out := &TaskProtectionOutput{ProtectedTasks: []ProtectedTask{}, Failures: []Failure{}}
	now := time.Now()
	for _, ref := range refs {
		it, found, err := s.findTask(ctx, cl.Value.Name, ref)
		if err != nil {
			return nil, err
		}
		if !found {
			out.Failures = append(out.Failures, Failure{Arn: ref, Reason: "MISSING"})
			continue
		}
		if err := s.authorize(ctx, action, it.Value.Task.TaskArn); err != nil {
			return nil, err
		}
		t := it.Value.Task
		if !strings.HasPrefix(t.Group, "service:") || !strings.HasPrefix(t.StartedBy, "ecs-svc/") {
			out.Failures = append(out.Failures, Failure{Arn: t.TaskArn, Reason: "TASK_NOT_VALID", Detail: "The task is not part of a service."})
			continue
		}
		if t.LastStatus == "STOPPED" || t.DesiredStatus == "STOPPED" {
			out.Failures = append(out.Failures, Failure{Arn: t.TaskArn, Reason: "TASK_NOT_VALID", Detail: "The task is stopping or stopped."})
			continue
		}
		rec, err := fn(it)
		if err != nil {
			return nil, err
		}
		out.ProtectedTasks = append(out.ProtectedTasks, rec.protection(now))
	}
	return out, nil
}
