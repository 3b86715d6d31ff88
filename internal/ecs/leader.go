package ecs

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

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

// IsLeader reports whether this server currently runs the schedulers.
func (s *Service) IsLeader() bool { return s.leader.Load() }

// RunScheduler campaigns for leadership among the servers sharing the
// store and, while leader, runs the service scheduler. Every write it makes
// is fenced on the leader key, so a deposed leader cannot write. It returns
// when ctx ends.
func (s *Service) RunScheduler(ctx context.Context, opts SchedulerOptions) {
	opts.defaults()
	for ctx.Err() == nil {
		if err := s.lead(ctx, opts); err != nil && ctx.Err() == nil {
			s.log.Warn("scheduler leadership lost", "err", err)
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
			}
		}
	}
}

func (s *Service) lead(ctx context.Context, opts SchedulerOptions) error {
	sess, err := concurrency.NewSession(s.store.Client(), concurrency.WithTTL(max(1, int(opts.LeaderTTL/time.Second))), concurrency.WithContext(ctx))
	if err != nil {
		return err
	}
	defer sess.Close()
	el := concurrency.NewElection(sess, s.keys.prefix+"scheduler-leader")
	if err := el.Campaign(ctx, s.cfg.Endpoint); err != nil {
		return err
	}
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-sess.Done():
			cancel()
		case <-lctx.Done():
		}
	}()
	s.leader.Store(true)
	defer s.leader.Store(false)
	s.log.Info("this server leads the schedulers", "endpoint", s.cfg.Endpoint)
	fenced := store.WithFence(lctx, el.Key(), el.Rev())
	s.schedule(fenced, newSchedulerState(opts))
	rctx, rcancel := context.WithTimeout(context.Background(), time.Second)
	defer rcancel()
	el.Resign(rctx)
	return lctx.Err()
}

// schedule runs passes until ctx ends: on every change to services, tasks
// or instances (batched for a moment), and every Interval regardless.
func (s *Service) schedule(ctx context.Context, sch *schedulerState) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	changes := make(chan struct{}, 1)
	notify := func() {
		select {
		case changes <- struct{}{}:
		default:
		}
	}
	for _, prefix := range []string{s.keys.allServices(), s.keys.prefix + "task/", s.keys.prefix + "instance/", s.keys.connected("")} {
		go s.watchChanges(wctx, prefix, notify)
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

// watchChanges calls notify on every change under prefix until ctx ends.
// A watch that ends (compacted, cut off from the etcd leader) is opened
// again after a bounded backoff; as changes may have been missed
// meanwhile, notify is called then too. It returns the number of watches
// it opened, for tests.
func (s *Service) watchChanges(ctx context.Context, prefix string, notify func()) int {
	opened := 0
	for wait := watchRetryMin; ctx.Err() == nil && s.store.Client().Ctx().Err() == nil; wait = min(2*wait, watchRetryMax) {
		opened++
		start := time.Now()
		var err error
		for wr := range s.store.Client().Watch(ctx, prefix, clientv3.WithPrefix()) {
			if err = wr.Err(); err != nil {
				break
			}
			notify()
		}
		if ctx.Err() != nil {
			break
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
