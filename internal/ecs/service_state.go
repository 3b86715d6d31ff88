package ecs

import (
	"context"
	"fmt"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/placement"
)

// Bookkeeping of a scheduler pass: failed tasks, the circuit breaker,
// deployment counts and rollout states, and the service's event log.

// minStableRunning is how long a service's tasks must have been RUNNING
// (after any health check grace period) for a deployment to complete.
const minStableRunning = 5 * time.Second

// maxServiceEvents is how many events a service keeps (ECS shows 100).
const maxServiceEvents = 100

// countFailures counts each service task that stopped on its own (failed
// to start or an essential container exited) once, against its deployment.
func (s *Service) countFailures(rec *serviceRecord, mine []*taskRecord, now time.Time) {
	seen := map[string]bool{}
	for _, t := range mine {
		seen[t.ID] = true
		if t.Task.LastStatus != "STOPPED" || rec.Counted[t.ID] {
			continue
		}
		if code := t.Task.StopCode; code != "TaskFailedToStart" && code != "EssentialContainerExited" {
			continue
		}
		if rec.Counted == nil {
			rec.Counted = map[string]bool{}
		}
		rec.Counted[t.ID] = true
		if quickFailure(t) {
			rec.Failures++
			rec.LastFailureAt = api.At(now)
		}
		for i := range rec.Service.Deployments {
			if d := &rec.Service.Deployments[i]; d.Id == t.Task.StartedBy {
				d.FailedTasks++
				d.UpdatedAt = api.At(now)
			}
		}
	}
	for id := range rec.Counted {
		if !seen[id] {
			delete(rec.Counted, id) // collected: it can never be seen again
		}
	}
}

// quickFailure tells a task that failed to start, or stopped soon after,
// from one that ran a while before it died: only the former make launches
// back off, as a service that crash-loops must not hammer its instances.
func quickFailure(t *taskRecord) bool {
	if t.Task.StartedAt == nil || t.Task.StoppedAt == nil {
		return true
	}
	return t.Task.StoppedAt.Sub(t.Task.StartedAt.Time) < 2*minStableRunning
}

// circuitBreaker fails the primary deployment once enough of its tasks
// failed and, with rollback, returns to the last completed deployment.
func (s *Service) circuitBreaker(rec *serviceRecord, now time.Time) {
	svc := &rec.Service
	cb := svc.DeploymentConfiguration.DeploymentCircuitBreaker
	p := &svc.Deployments[0]
	if cb == nil || !cb.Enable || p.RolloutState != "IN_PROGRESS" || p.FailedTasks < circuitBreakerThreshold(svc.DesiredCount) {
		return
	}
	p.RolloutState, p.UpdatedAt = "FAILED", api.At(now)
	p.RolloutStateReason = "ECS deployment circuit breaker: tasks failed to start."
	addEvent(rec, now, fmt.Sprintf("(service %s) (deployment %s) deployment failed: tasks failed to start.", rec.Name, p.Id))
	s.log.Warn("deployment failed", "service", svc.ServiceArn, "deployment", p.Id, "failedTasks", p.FailedTasks)
	if !cb.Rollback || rec.Completed == nil {
		return
	}
	target := *rec.Completed
	svc.TaskDefinition = target.TaskDefinition
	startDeployment(rec, target.TaskDefinition)
	svc.Deployments[0].RolloutStateReason = "ECS deployment circuit breaker: rolling back to deploymentId " + target.Id + "."
	addEvent(rec, now, fmt.Sprintf("(service %s) rolling back to deployment %s.", rec.Name, target.Id))
}

// tally records running and pending counts per deployment, drops drained
// old deployments, completes the rollout and notes a steady state.
// settled says the pass found nothing to start or stop.
func (s *Service) tally(rec *serviceRecord, mine []*taskRecord, started []Task, settled bool, now time.Time) {
	svc := &rec.Service
	type count struct{ running, pending int }
	counts := map[string]count{}
	// A deployment completes only once its tasks have stayed up a while:
	// a container that exits right after starting must trip the circuit
	// breaker rather than complete the rollout.
	stable := time.Duration(deref(svc.HealthCheckGracePeriodSeconds))*time.Second + minStableRunning
	young := false
	for _, t := range mine {
		if t.Task.DesiredStatus != "RUNNING" {
			continue
		}
		c := counts[t.Task.StartedBy]
		if t.Task.LastStatus == "RUNNING" {
			c.running++
			young = young || t.Task.StartedAt == nil || now.Sub(t.Task.StartedAt.Time) < stable || !t.targetsHealthy(svc)
		} else {
			c.pending++
		}
		counts[t.Task.StartedBy] = c
	}
	for _, t := range started {
		c := counts[t.StartedBy]
		c.pending++
		counts[t.StartedBy] = c
	}
	svc.RunningCount, svc.PendingCount = 0, 0
	kept := svc.Deployments[:0]
	for i, d := range svc.Deployments {
		c := counts[d.Id]
		svc.RunningCount += c.running
		svc.PendingCount += c.pending
		if i > 0 {
			if c.running+c.pending == 0 {
				continue // drained
			}
			d.DesiredCount = c.running + c.pending
		}
		if d.RunningCount != c.running || d.PendingCount != c.pending {
			d.RunningCount, d.PendingCount, d.UpdatedAt = c.running, c.pending, api.At(now)
		}
		kept = append(kept, d)
	}
	svc.Deployments = kept
	p := &svc.Deployments[0]
	steady := settled && !young && len(started) == 0 && len(svc.Deployments) == 1 && p.RunningCount == svc.DesiredCount && p.PendingCount == 0
	if steady && p.RolloutState == "IN_PROGRESS" {
		p.RolloutState, p.UpdatedAt = "COMPLETED", api.At(now)
		p.RolloutStateReason = "ECS deployment " + p.Id + " completed."
		addEvent(rec, now, fmt.Sprintf("(service %s) (deployment %s) deployment completed.", rec.Name, p.Id))
		done := *p
		rec.Completed = &done
		s.log.Info("deployment completed", "service", svc.ServiceArn, "deployment", p.Id)
	}
	if steady && !rec.Steady {
		addEvent(rec, now, fmt.Sprintf("(service %s) has reached a steady state.", rec.Name))
		rec.Failures = 0
	}
	rec.Steady = steady
}

// addEvent puts message at the head of the service's events.
func addEvent(rec *serviceRecord, now time.Time, message string) {
	ev := ServiceEvent{Id: api.NewRequestID(), CreatedAt: api.At(now), Message: message}
	rec.Service.Events = append([]ServiceEvent{ev}, rec.Service.Events...)
	if len(rec.Service.Events) > maxServiceEvents {
		rec.Service.Events = rec.Service.Events[:maxServiceEvents]
	}
}

// addEventOnce adds message unless the same one was said in the last five
// minutes, so a condition that lasts does not flood the log.
func addEventOnce(rec *serviceRecord, now time.Time, message string) {
	for _, ev := range rec.Service.Events {
		if now.Sub(ev.CreatedAt.Time) > 5*time.Minute {
			break
		}
		if ev.Message == message {
			return
		}
	}
	addEvent(rec, now, message)
}

// backoff is how long to wait after the last failure before launching
// again, once tasks keep failing: nothing for the first few, then doubling
// from 5 s up to 5 min.
func backoff(failures int) time.Duration {
	if failures < 3 {
		return 0
	}
	return min(5*time.Second<<min(failures-3, 10), 5*time.Minute)
}

func (r *serviceRecord) lastFailure() time.Time {
	if r.LastFailureAt == nil {
		return time.Time{}
	}
	return r.LastFailureAt.Time
}

// daemonInstances returns the ACTIVE instances a DAEMON service's task
// belongs on: those that satisfy the task definition's and the service's
// placement constraints.
func (s *Service) daemonInstances(ctx context.Context, rec *serviceRecord, cs *clusterState) map[string]bool {
	out := map[string]bool{}
	var tdCons []PlacementConstraint
	if family, rev, ok := parseTaskDefRef(rec.Service.Deployments[0].TaskDefinition); ok {
		if td, err := s.revision(ctx, family, rev); err == nil {
			tdCons = td.PlacementConstraints
		}
	}
	cons, _, err := compilePlacement(tdCons, rec.Service.PlacementConstraints, nil)
	if err != nil {
		return out
	}
	for id, inst := range cs.instances {
		if inst.Instance.Status != "ACTIVE" {
			continue
		}
		view := placementView(inst, true)
		view.TaskGroups = nil // its own task must not make it ineligible (distinctInstance)
		if placement.Explain(&view, placement.Request{Constraints: cons, Group: "service:" + rec.Name}) == "" {
			out[id] = true
		}
	}
	return out
}
