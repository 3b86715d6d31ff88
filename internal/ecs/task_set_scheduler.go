package ecs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// The service scheduler's pass over a service with task sets: each task
// set keeps its computed desired count of tasks (started by its id),
// tasks of no task set (one deleted) stop, a DRAINING task set is
// forgotten once its tasks are gone, and the counts and stability of each
// are recorded. A task set's tasks are replaced one for one: there is no
// rollout between task sets, which is the external controller's to do.

// taskSetPlan is what one pass decides for one task set.
type taskSetPlan struct {
	stop  []*taskRecord
	start int
}

// planTaskSet keeps want of live (the task set's tasks that are to run):
// surplus ones stop, pending before running and newest first.
func planTaskSet(want int, live []*taskRecord) taskSetPlan {
	if len(live) <= want {
		return taskSetPlan{start: want - len(live)}
	}
	order := slices.Clone(live)
	slices.SortStableFunc(order, func(a, b *taskRecord) int {
		ar, br := a.Task.LastStatus == "RUNNING", b.Task.LastStatus == "RUNNING"
		if ar != br {
			if ar {
				return 1
			}
			return -1
		}
		return b.Task.CreatedAt.Compare(a.Task.CreatedAt.Time)
	})
	return taskSetPlan{stop: order[:len(live)-want]}
}

// reconcileTaskSets runs one pass over a service with task sets and
// writes back what changed.
func (s *Service) reconcileTaskSets(ctx context.Context, it store.Item[serviceRecord], cs *clusterState, now time.Time) error {
	rec := it.Value
	before, _ := json.Marshal(rec)
	svc := &rec.Service
	bySet := map[string][]*taskRecord{}
	var mine, strays []*taskRecord
	for _, t := range cs.byGroup["service:"+rec.Name] {
		if !strings.HasPrefix(t.Task.StartedBy, "ecs-svc/") {
			continue
		}
		mine = append(mine, t)
		if t.Task.DesiredStatus != "RUNNING" || cs.lost[t.InstanceID] {
			continue
		}
		if taskSetIndex(svc, t.Task.StartedBy) < 0 {
			strays = append(strays, t)
			continue
		}
		bySet[t.Task.StartedBy] = append(bySet[t.Task.StartedBy], t)
	}
	// Tasks that fail to start make launches back off, as for deployments.
	s.countFailures(&rec, mine, now)
	wait := backoff(rec.Failures)
	holdOff := wait > 0 && now.Sub(rec.lastFailure()) < wait
	var stopped []string
	stop := func(t *taskRecord, reason string) {
		if s.stopTask(ctx, &rec, t, reason) {
			stopped = append(stopped, t.ID)
		}
	}
	for _, t := range strays {
		stop(t, "Scaling activity initiated by (deployment "+t.Task.StartedBy+")")
	}
	svc.RunningCount, svc.PendingCount = 0, 0
	kept := svc.TaskSets[:0]
	for i := range svc.TaskSets {
		ts := svc.TaskSets[i]
		live := bySet[ts.Id]
		want := computedCount(svc.DesiredCount, ts.Scale)
		if ts.Status == "DRAINING" || svc.Status != "ACTIVE" {
			want = 0
		}
		if ts.Status == "DRAINING" && len(live) == 0 {
			continue // deleted, and its tasks are gone
		}
		plan := planTaskSet(want, live)
		for _, t := range plan.stop {
			stop(t, "Scaling activity initiated by (deployment "+ts.Id+")")
			live = slices.DeleteFunc(live, func(l *taskRecord) bool { return l == t })
		}
		var started []Task
		if plan.start > 0 && holdOff {
			sayBackingOff(&rec, now)
		} else if plan.start > 0 {
			in := serviceLaunchInput(&rec, ts.TaskDefinition, ts.Id, ts.LaunchType, ts.CapacityProviderStrategy, ts.NetworkConfiguration)
			started = s.launchForService(ctx, &rec, in, plan.start, nil, providerCounts(live), now)
		}
		running, pending, healthy := 0, len(started), true
		for _, t := range live {
			if t.Task.LastStatus == "RUNNING" {
				running++
				healthy = healthy && t.Task.HealthStatus != "UNHEALTHY" && t.balancedIn(ts.LoadBalancers)
			} else {
				pending++
			}
		}
		stability := "STABILIZING"
		if running == want && pending == 0 && healthy && len(plan.stop) == 0 {
			stability = "STEADY_STATE"
		}
		if ts.ComputedDesiredCount != want || ts.RunningCount != running || ts.PendingCount != pending {
			ts.ComputedDesiredCount, ts.RunningCount, ts.PendingCount, ts.UpdatedAt = want, running, pending, api.At(now)
		}
		if ts.StabilityStatus != stability {
			ts.StabilityStatus, ts.StabilityStatusAt = stability, api.At(now)
		}
		svc.RunningCount += running
		svc.PendingCount += pending
		kept = append(kept, ts)
	}
	svc.TaskSets = kept
	if len(stopped) > 0 {
		addEvent(&rec, now, fmt.Sprintf("(service %s) has stopped %d running tasks: %s.", rec.Name, len(stopped), taskList(stopped)))
	}
	steady := len(strays) == 0 && !slices.ContainsFunc(svc.TaskSets, func(ts TaskSet) bool { return ts.StabilityStatus != "STEADY_STATE" })
	if steady && !rec.Steady && svc.Status == "ACTIVE" {
		addEvent(&rec, now, fmt.Sprintf("(service %s) has reached a steady state.", rec.Name))
		rec.Failures = 0
	}
	rec.Steady = steady
	if svc.Status == "DRAINING" && svc.RunningCount+svc.PendingCount == 0 && len(strays) == 0 {
		svc.Status, svc.TaskSets = "INACTIVE", nil
	}
	after, _ := json.Marshal(rec)
	if string(after) == string(before) {
		return nil
	}
	err := s.store.Commit(ctx, store.NewTxn().IfRev(it.Key, it.Rev).Put(it.Key, rec))
	if errors.Is(err, store.ErrConflict) {
		s.kickScheduler() // changed meanwhile (a task set call): go again
		return nil
	}
	return err
}

// providerCounts counts tasks by capacity provider, for a strategy's base
// and weights.
func providerCounts(ts []*taskRecord) map[string]int {
	counts := map[string]int{}
	for _, t := range ts {
		counts[t.Task.CapacityProviderName]++
	}
	return counts
}

// balancedIn reports whether a task counts as healthy for load balancers
// lbs: always without any, else once its targets are registered and
// healthy.
func (r *taskRecord) balancedIn(lbs []LoadBalancer) bool {
	return len(lbs) == 0 || r.Targets.registered() && r.Targets.Healthy
}
