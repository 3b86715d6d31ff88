package ecs

import (
	"context"
	"errors"
	"time"

	"github.com/berth-dev/berth/internal/controller"
	"github.com/berth-dev/berth/internal/store"
)

// schedulerState is what the leader remembers between passes.
type schedulerState struct {
	opts SchedulerOptions
	// disconnectedSince is when each instance was first seen without an
	// agent; a new leader starts the clock afresh.
	disconnectedSince map[string]time.Time
	// tasks and instances mirror each cluster's records between passes;
	// the scheduler only reads them.
	tasks     map[string]*store.Mirror[taskRecord]
	instances map[string]*store.Mirror[instanceRecord]
}

func newSchedulerState(opts SchedulerOptions) *schedulerState {
	return &schedulerState{opts: opts, disconnectedSince: map[string]time.Time{}, tasks: map[string]*store.Mirror[taskRecord]{},
		instances: map[string]*store.Mirror[instanceRecord]{}}
}

// CollectInterval is how often the leader collects stopped tasks.
const CollectInterval = 5 * time.Minute

// Controllers are ECS's background loops: the service scheduler and the
// collection of stopped tasks on the leader (each term starts with fresh
// scheduler state, and every write is fenced on the leadership), and the
// instance cache on every server, as every server places tasks.
func (s *Service) Controllers() []controller.Controller {
	return []controller.Controller{
		controller.Leader("ecs-service-scheduler", func(ctx context.Context) error {
			opts := s.cfg.Scheduler
			opts.defaults()
			s.schedule(ctx, newSchedulerState(opts))
			return nil
		}),
		controller.Leader("ecs-task-collector", controller.Periodic(CollectInterval, s.collectPass)),
		controller.Leader("ecs-task-interfaces", controller.Periodic(InterfaceReleaseInterval, s.releaseInterfacesPass)),
		controller.Leader("ecs-fargate", s.runFargate),
		controller.Leader("ecs-load-balancers", controller.Periodic(LoadBalancerInterval, s.loadBalancersPass)),
		controller.Leader("ecs-managed-scaling", func(ctx context.Context) error {
			st := &scalingState{lowSince: map[string]time.Time{}}
			return controller.Periodic(ManagedScalingInterval, func(ctx context.Context) error { return s.managedScalingPass(ctx, st) })(ctx)
		}),
		controller.Every("ecs-instance-cache", func(ctx context.Context) error {
			s.RunInstanceCache(ctx)
			return nil
		}),
	}
}

// schedule runs passes until ctx ends: on every change to services, tasks
// or instances (batched for a moment), and every Interval regardless.
func (s *Service) schedule(ctx context.Context, sch *schedulerState) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes := make(chan struct{}, 1)
	notify := func() {
		select {
		case changes <- struct{}{}:
		default:
		}
	}
	for _, prefix := range []string{s.keys.allServices(), s.keys.prefix + "task/", s.keys.prefix + "instance/", s.keys.connected("")} {
		go s.watchChanges(wctx, s.store.Watch, prefix, notify)
	}
	tick := time.NewTicker(sch.opts.Interval)
	defer tick.Stop()
	for {
		if err := s.schedulePass(ctx, sch, time.Now()); err != nil && ctx.Err() == nil {
			s.log.Warn("scheduler pass", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-changes:
		case <-s.kick:
		}
		// Let a burst of changes land before the next pass.
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// watchFunc opens a watch of the changes under prefix from revision
// fromRev (0: from now), as store.Watch does.
type watchFunc func(ctx context.Context, prefix string, fromRev int64) <-chan store.Changes

// watchChanges calls notify on every change under prefix until ctx ends.
// A watch that ends (compacted, cut off from the etcd leader, closed) is
// opened again after a bounded backoff, from just after the last revision
// it delivered so that nothing is missed; a compacted one from now, and as
// changes may have been missed then, notify is called too. It returns the
// number of watches it opened, for tests.
func (s *Service) watchChanges(ctx context.Context, watch watchFunc, prefix string, notify func()) int {
	opened := 0
	var rev int64 // the last revision seen; 0 before any
	for wait := watchRetryMin; ctx.Err() == nil; wait = min(2*wait, watchRetryMax) {
		select {
		case <-s.store.Done():
			return opened
		default:
		}
		opened++
		start := time.Now()
		from := int64(0)
		if rev > 0 {
			from = rev + 1
		}
		var err error
		for c := range watch(ctx, prefix, from) {
			if err = c.Err; err != nil {
				break
			}
			rev = max(rev, c.Rev)
			notify()
		}
		if ctx.Err() != nil {
			break
		}
		if errors.Is(err, store.ErrCompacted) {
			rev = 0
		}
		s.log.Warn("scheduler: watch ended; watching again", "prefix", prefix, "err", err)
		notify()
		if time.Since(start) > watchRetryMax {
			wait = watchRetryMin // it had been working: no need to back off far
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	return opened
}
