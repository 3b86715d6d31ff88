package ecs

import (
	"cmp"
	"slices"
)

// The rolling-update arithmetic of the REPLICA scheduler, free of effects:
// given a service's live tasks it says how many tasks to start and which
// to stop. The scheduler (scheduler.go) gathers the facts and applies the
// plan.

// liveTask is a task of a service whose desired status is RUNNING.
type liveTask struct {
	ID string
	// Current is true for a task of the PRIMARY deployment on an instance
	// that keeps it: it counts toward the desired count. Tasks of older
	// deployments, on DRAINING instances or failing health checks are
	// not current and are replaced.
	Current bool
	// Running is true once the task is RUNNING; Healthy when it also
	// passes its health checks (or has none).
	Running, Healthy bool
	// Order breaks ties among tasks to stop: lower goes first.
	Order int
	// Protected tasks (task scale-in protection) are stopped neither to
	// scale in nor to replace them with a newer deployment's.
	Protected bool
}

// rolloutPlan is what one scheduler pass does to a service.
type rolloutPlan struct {
	Start int
	Stop  []string
}

// planReplica computes the next step towards desired current tasks. The
// service may have at most floor(desired*maxPercent/100) tasks in RUNNING
// or PENDING, and must keep ceil(desired*minHealthyPercent/100) healthy
// RUNNING tasks while it replaces any. Extra current tasks (the service
// scaled in) are stopped without regard to the minimum, as ECS does.
func planReplica(desired, minPercent, maxPercent int, tasks []liveTask) rolloutPlan {
	maxTotal := desired * maxPercent / 100
	minHealthy := (desired*minPercent + 99) / 100
	var current, stale []liveTask
	for _, t := range tasks {
		if t.Current {
			current = append(current, t)
		} else {
			stale = append(stale, t)
		}
	}
	var plan rolloutPlan
	// Scale in: stop the least useful current tasks first, never a
	// protected one.
	if len(current) > desired {
		sortForStop(current)
		var keep []liveTask
		extra := len(current) - desired
		for _, t := range current {
			if extra > 0 && !t.Protected {
				plan.Stop = append(plan.Stop, t.ID)
				extra--
				continue
			}
			keep = append(keep, t)
		}
		current = keep
	}
	total := len(current) + len(stale)
	if need := desired - len(current); need > 0 {
		plan.Start = max(0, min(need, maxTotal-total))
	}
	// Replace stale tasks: the ones not serving go at once; healthy ones
	// only while enough healthy tasks remain.
	healthy := 0
	for _, t := range current {
		if t.Healthy {
			healthy++
		}
	}
	for _, t := range stale {
		if t.Healthy {
			healthy++
		}
	}
	sortForStop(stale)
	for _, t := range stale {
		if t.Protected {
			continue
		}
		if t.Healthy {
			if healthy-1 < minHealthy {
				break
			}
			healthy--
		}
		plan.Stop = append(plan.Stop, t.ID)
	}
	return plan
}

// sortForStop orders tasks so those doing the least go first: pending,
// then unhealthy, then healthy; ties by Order.
func sortForStop(ts []liveTask) {
	rank := func(t liveTask) int {
		switch {
		case !t.Running:
			return 0
		case !t.Healthy:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(ts, func(a, b liveTask) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.Order, b.Order))
	})
}

// circuitBreakerThreshold is how many failed tasks fail a deployment:
// half the desired count, at least 3 and at most 200, as ECS documents.
func circuitBreakerThreshold(desired int) int {
	return min(max((desired+1)/2, 3), 200)
}
