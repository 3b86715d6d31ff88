package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth-dev/berth/internal/acs"
)

// TaskHook sets up and tears down what belongs to a whole task rather than
// to one of its containers, as the hooks of Nomad's allocation runner do.
// The agent runs every hook's Prerun, in order, before it creates the
// task's first container, and every hook's Postrun, in order, once it has
// removed the task's containers. Either may run more than once for a task,
// or Postrun without Prerun (a restarted agent starts a task it adopted
// again; a task stopped before it started is cleaned up all the same), so
// both must be idempotent. def is the task's latest payload; it is nil
// for a task adopted from Docker that no payload has named since.
type TaskHook interface {
	// Name names the hook in errors and logs.
	Name() string
	// Prerun prepares the task; an error fails the task before any of
	// its containers is created.
	Prerun(ctx context.Context, taskArn string, def *acs.Task) error
	// Postrun releases what the task held; an error is logged, and the
	// hooks after it still run.
	Postrun(ctx context.Context, taskArn string, def *acs.Task) error
}

// taskHooks are the hooks every task runs, in order, on rt.
func (a *Agent) taskHooks(rt Runtime) []TaskHook {
	hooks := []TaskHook{
		// The task's own Docker volumes; they outlive its containers.
		volumeHook{rt: rt},
	}
	if a.cfg.EC2.CgroupParent != "" {
		// The task's control group, when it sets task-level limits.
		hooks = append(hooks, cgroupHook{parent: a.cfg.EC2.CgroupParent})
	}
	if a.cfg.TaskENI {
		// An awsvpc task's network namespace and interface, which its
		// containers join when they are created.
		eni := &eniHook{rt: rt, cgroupParent: a.cfg.EC2.CgroupParent, labels: a.instanceLabels, exe: executable,
			report: a.reportAttachment}
		if a.cfg.PausePool > 0 {
			eni.pool = newPausePool(a.cfg.PausePool, rt, eni.spareSpec)
		}
		a.pauses = eni.pool
		hooks = append(hooks, eni)
	}
	return hooks
}

// useRuntime makes rt the agent's container runtime and builds the task
// hooks on it.
func (a *Agent) useRuntime(rt Runtime) {
	a.rt = rt
	a.hooks = a.taskHooks(rt)
}

// stopHook is a TaskHook that also releases something as soon as the
// task's containers have stopped, before the agent reports the task
// STOPPED, rather than at clean-up: an awsvpc task's interface, whose
// address ECS gives to another task once this one stopped.
type stopHook interface {
	Stopped(ctx context.Context, taskArn string, def *acs.Task) error
}

// stopped runs the Stopped of the hooks that have one.
func (a *Agent) stopped(ctx context.Context, t *task) {
	a.mu.Lock()
	def := t.def
	a.mu.Unlock()
	for _, h := range a.hooks {
		if sh, ok := h.(stopHook); ok {
			if err := sh.Stopped(ctx, t.arn, def); err != nil {
				a.log.Warn("task stop", "task", t.arn, "hook", h.Name(), "err", err)
			}
		}
	}
}

// prerun runs the hooks' Prerun in order, stopping at the first failure.
func (a *Agent) prerun(ctx context.Context, t *task, def *acs.Task) error {
	for _, h := range a.hooks {
		if err := h.Prerun(ctx, t.arn, def); err != nil {
			return fmt.Errorf("%s: %w", h.Name(), err)
		}
	}
	return nil
}

// postrun runs every hook's Postrun in order; one failing does not keep
// the others from running.
func (a *Agent) postrun(ctx context.Context, t *task, def *acs.Task) {
	for _, h := range a.hooks {
		if err := h.Postrun(ctx, t.arn, def); err != nil {
			a.log.Warn("task clean-up", "task", t.arn, "hook", h.Name(), "err", err)
		}
	}
}

// attachmentReport is an interface attachment's new status.
type attachmentReport struct{ arn, status string }

// reportAttachment queues an interface attachment's status for ECS; it
// does not wait, so that a task's start never waits on the report. A
// report that finds the queue full is dropped and logged: the task runs
// either way, and the attachment's status is informational.
func (a *Agent) reportAttachment(_ context.Context, attachmentArn, status string) {
	select {
	case a.attachments <- attachmentReport{attachmentArn, status}:
	default:
		a.log.Warn("attachment state change not reported: too many waiting", "attachment", attachmentArn, "status", status)
	}
}

// sendAttachmentReports sends the queued reports in order, each once,
// until ctx ends.
func (a *Agent) sendAttachmentReports(ctx context.Context) {
	for {
		var r attachmentReport
		select {
		case <-ctx.Done():
			return
		case r = <-a.attachments:
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := a.ecs.SubmitAttachmentStateChanges(cctx, &ecs.SubmitAttachmentStateChangesInput{Cluster: aws.String(a.cfg.Cluster),
			Attachments: []ecstypes.AttachmentStateChange{{AttachmentArn: aws.String(r.arn), Status: aws.String(r.status)}}})
		cancel()
		if err != nil && ctx.Err() == nil {
			a.log.Warn("attachment state change not reported", "attachment", r.arn, "status", r.status, "err", err)
		}
	}
}
