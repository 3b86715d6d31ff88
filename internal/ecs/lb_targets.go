package ecs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// The leader's load balancer controller: each pass registers the RUNNING
// tasks of services with loadBalancers, records their targets' health (a
// rollout counts a task healthy only once its targets are), replaces a
// task whose target is unhealthy after the grace period, deregisters the
// targets of tasks that stop, and releases the stop of a task the
// scheduler stopped once its targets have drained. Every step is
// idempotent: what was done is recorded on the task.

// LoadBalancerInterval is how often the leader runs the pass.
const LoadBalancerInterval = 500 * time.Millisecond

// taskTargets is what ECS registered of a task with target groups.
type taskTargets struct {
	Registered []taskTarget `json:"registered"`
	// Healthy is set while every registered target is healthy.
	Healthy bool `json:"healthy,omitempty"`
	// Deregistered is set once the targets were deregistered.
	Deregistered bool `json:"deregistered,omitempty"`
	// Held is set while the scheduler's stop waits for the targets to
	// drain: the task is DEACTIVATING and its agent still runs it.
	Held bool `json:"held,omitempty"`
	// DrainUntil is when the held stop is released.
	DrainUntil *time.Time `json:"drainUntil,omitempty"`
}

// taskTarget is one registration of a task.
type taskTarget struct {
	TargetGroupArn string `json:"targetGroupArn"`
	LBTarget
}

// lbIndex indexes the tasks that have registered targets, until they are
// stopped and deregistered, so that tasks of deleted services are found.
func (k keys) lbTask(cluster, id string) string { return k.prefix + "task-lb/" + cluster + "/" + id }
func (k keys) lbTasks() string                  { return k.prefix + "task-lb/" }

// registered reports whether the task has targets that take traffic.
func (t *taskTargets) registered() bool {
	return t != nil && len(t.Registered) > 0 && !t.Deregistered
}

// agentDesiredStatus is the desired status the task's agent is told: a
// stop held while the targets drain is not told yet.
func (r *taskRecord) agentDesiredStatus() string {
	if r.Targets != nil && r.Targets.Held {
		return "RUNNING"
	}
	return r.Task.DesiredStatus
}

// targetsHealthy reports whether a service task counts as healthy for the
// load balancers: always for a service without, else once its targets are
// registered and healthy.
func (r *taskRecord) targetsHealthy(svc *ECSService) bool {
	return r.balancedIn(svc.LoadBalancers)
}

// loadBalancersOf are the load balancers a service task registers in:
// its task set's, for a service with task sets, else the service's.
func (r *serviceRecord) loadBalancersOf(t *taskRecord) []LoadBalancer {
	if !r.Service.hasTaskSets() {
		return r.Service.LoadBalancers
	}
	if i := taskSetIndex(&r.Service, t.Task.StartedBy); i >= 0 {
		return r.Service.TaskSets[i].LoadBalancers
	}
	return nil
}

// balanced reports whether the service registers any task in a target
// group.
func (r *serviceRecord) balanced() bool {
	return len(r.Service.LoadBalancers) > 0 || slices.ContainsFunc(r.Service.TaskSets, func(ts TaskSet) bool { return len(ts.LoadBalancers) > 0 })
}

// wantTargets computes the targets of a RUNNING task: (EC2 instance id,
// host port bound for the container port) for instance targets, (the
// task's interface address, container port) for ip targets. ok is false
// while a binding is not known yet.
func wantTargets(rec *taskRecord, lbs []LoadBalancer, ec2ID string) ([]taskTarget, bool) {
	var out []taskTarget
	for _, lb := range lbs {
		if lb.ContainerPort == nil {
			return nil, false
		}
		port := *lb.ContainerPort
		if rec.Interface != nil {
			out = append(out, taskTarget{TargetGroupArn: lb.TargetGroupArn, LBTarget: LBTarget{ID: rec.Interface.IP, Port: port}})
			continue
		}
		host := 0
		for _, c := range rec.Task.Containers {
			if c.Name != lb.ContainerName {
				continue
			}
			for _, b := range c.NetworkBindings {
				if b.ContainerPort != nil && *b.ContainerPort == port && b.HostPort != nil && (b.Protocol == "" || b.Protocol == "tcp") {
					host = *b.HostPort
					break
				}
			}
		}
		if host == 0 || ec2ID == "" {
			return nil, false
		}
		out = append(out, taskTarget{TargetGroupArn: lb.TargetGroupArn, LBTarget: LBTarget{ID: ec2ID, Port: host}})
	}
	return out, len(out) > 0
}

// lbPass is one pass of the load balancer controller.
type lbPass struct {
	s   *Service
	now time.Time
	// health caches each target group's target health for the pass.
	health map[string]map[LBTarget]LBTargetHealth
	// events are the service events the pass says, by service key.
	events map[string][]lbEvent
}

// loadBalancersPass runs the controller once.
func (s *Service) loadBalancersPass(ctx context.Context) error {
	return s.reconcileTargets(ctx, time.Now())
}

// reconcileTargets takes every balanced service task a step, at now.
func (s *Service) reconcileTargets(ctx context.Context, now time.Time) error {
	if s.cfg.LoadBalancing == nil {
		return nil
	}
	p := &lbPass{s: s, now: now, health: map[string]map[LBTarget]LBTargetHealth{}, events: map[string][]lbEvent{}}
	services, err := store.List[serviceRecord](ctx, s.store, s.keys.allServices())
	if err != nil {
		return err
	}
	byGroup := map[string]*serviceRecord{} // "cluster/service:name"
	clusters := map[string]bool{}
	for i := range services {
		rec := &services[i].Value
		if !rec.balanced() || rec.Service.Status == "INACTIVE" {
			continue
		}
		byGroup[rec.Cluster+"/service:"+rec.Name] = rec
		clusters[rec.Cluster] = true
	}
	// The index lists the tasks with targets, whatever their service.
	index, err := s.store.Keys(ctx, s.keys.lbTasks())
	if err != nil {
		return err
	}
	indexed := map[string]bool{}
	for _, k := range index {
		cluster, id, _ := strings.Cut(strings.TrimPrefix(k, s.keys.lbTasks()), "/")
		indexed[s.keys.task(cluster, id)] = true
	}
	done := map[string]bool{}
	var errs []error
	for _, cluster := range slices.Sorted(func(yield func(string) bool) {
		for c := range clusters {
			if !yield(c) {
				return
			}
		}
	}) {
		tasks, err := store.List[taskRecord](ctx, s.store, s.keys.tasks(cluster))
		if err != nil {
			return err
		}
		for _, it := range tasks {
			svc := byGroup[cluster+"/"+it.Value.Task.Group]
			if svc == nil || !strings.HasPrefix(it.Value.Task.StartedBy, "ecs-svc/") {
				continue
			}
			done[it.Key] = true
			if err := p.task(ctx, it, svc, indexed[it.Key]); err != nil {
				errs = append(errs, fmt.Errorf("task %s: %w", it.Value.ID, err))
			}
		}
	}
	// Tasks with targets whose service is gone or no longer balanced.
	for _, k := range index {
		cluster, id, _ := strings.Cut(strings.TrimPrefix(k, s.keys.lbTasks()), "/")
		key := s.keys.task(cluster, id)
		if done[key] {
			continue
		}
		it, err := store.Get[taskRecord](ctx, s.store, key)
		if errors.Is(err, store.ErrNotFound) {
			errs = append(errs, s.store.Commit(ctx, store.NewTxn().Delete(k)))
			continue
		}
		if err != nil {
			return err
		}
		if err := p.task(ctx, it, byGroup[cluster+"/"+it.Value.Task.Group], true); err != nil {
			errs = append(errs, fmt.Errorf("task %s: %w", id, err))
		}
	}
	for key, msgs := range p.events {
		_, err := store.Update(ctx, s.store, key, func(r *serviceRecord) error {
			head := func() string {
				if len(r.Service.Events) == 0 {
					return ""
				}
				return r.Service.Events[0].Id
			}
			before := head()
			for _, m := range msgs {
				if m.once {
					addEventOnce(r, p.now, m.msg)
				} else {
					addEvent(r, p.now, m.msg)
				}
			}
			if head() == before {
				return errReadOnly // nothing new to say
			}
			return nil
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, errReadOnly) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// task takes one task a step: register, record health, deregister,
// release, forget. svc is its service when that still has load
// balancers; indexed says the task is in the index.
func (p *lbPass) task(ctx context.Context, it store.Item[taskRecord], svc *serviceRecord, indexed bool) error {
	rec := &it.Value
	t := rec.Targets
	stopping := rec.Task.DesiredStatus == "STOPPED" || rec.Task.LastStatus == "STOPPED"
	switch {
	case !stopping && svc != nil && rec.Task.LastStatus == "RUNNING" && t == nil && len(svc.loadBalancersOf(rec)) > 0:
		return p.register(ctx, it, svc)
	case t.registered() && (stopping || svc == nil):
		return p.deregister(ctx, it, svc)
	case t.registered():
		return p.checkHealth(ctx, it, svc)
	case t != nil && t.Held && (rec.Task.LastStatus == "STOPPED" || t.DrainUntil == nil || !p.now.Before(*t.DrainUntil)):
		return p.release(ctx, it)
	case indexed && rec.Task.LastStatus == "STOPPED" && !t.registered() && (t == nil || !t.Held):
		return p.s.store.Commit(ctx, store.NewTxn().Delete(p.s.keys.lbTask(rec.Cluster, rec.ID)))
	}
	return nil
}

// register registers a RUNNING task's targets and records them.
func (p *lbPass) register(ctx context.Context, it store.Item[taskRecord], svc *serviceRecord) error {
	rec := &it.Value
	ec2ID := ""
	if rec.Interface == nil {
		inst, err := store.Get[instanceRecord](ctx, p.s.store, p.s.keys.instance(rec.Cluster, rec.InstanceID))
		if err != nil {
			return err
		}
		ec2ID = inst.Value.Instance.Ec2InstanceId
	}
	targets, ok := wantTargets(rec, p.s.resolved(svc.loadBalancersOf(rec)), ec2ID)
	if !ok {
		return nil // its port binding is not reported yet
	}
	for _, g := range groupTargets(targets) {
		if err := p.s.cfg.LoadBalancing.RegisterTargets(ctx, g.arn, g.targets); err != nil {
			// Said once in a while, tried again at every pass (the group
			// may have been deleted, or the instance be stopping).
			p.sayOnce(svc, fmt.Sprintf("(service %s) failed to register targets in %s with (error %s)", svc.Name, lbWhere(g.arn), api.AsError(err).Message))
			return nil
		}
		p.say(svc, fmt.Sprintf("(service %s) registered %s", svc.Name, lbTargetsIn(len(g.targets), g.arn)))
	}
	// Record them whatever happened to the task meanwhile: a stop that
	// raced the registration then deregisters them.
	return p.updateTask(ctx, it.Key, func(r *taskRecord) (bool, error) {
		if r.Targets != nil {
			return false, nil
		}
		r.Targets = &taskTargets{Registered: targets}
		return true, nil
	}, func(txn *store.Txn, r *taskRecord) { txn.Put(p.s.keys.lbTask(r.Cluster, r.ID), r.ID) })
}

// deregister deregisters a stopping task's targets. A stop the scheduler
// holds is released once the longest deregistration delay of its groups
// is over; any other stop (the task stopped by itself, or was stopped by
// a user) went to the agent already.
func (p *lbPass) deregister(ctx context.Context, it store.Item[taskRecord], svc *serviceRecord) error {
	rec := &it.Value
	var delay time.Duration
	for _, g := range groupTargets(rec.Targets.Registered) {
		if err := p.s.cfg.LoadBalancing.DeregisterTargets(ctx, g.arn, g.targets); err != nil {
			return err
		}
		if info, err := p.s.cfg.LoadBalancing.TargetGroup(ctx, g.arn); err == nil {
			delay = max(delay, info.DeregistrationDelay)
		}
		if svc != nil {
			p.say(svc, fmt.Sprintf("(service %s) deregistered %s", svc.Name, lbTargetsIn(len(g.targets), g.arn)))
		}
	}
	until := p.now.Add(delay).UTC()
	return p.updateTask(ctx, it.Key, func(r *taskRecord) (bool, error) {
		if r.Targets == nil || r.Targets.Deregistered {
			return false, nil
		}
		r.Targets.Deregistered, r.Targets.Healthy = true, false
		if r.Targets.Held {
			r.Targets.DrainUntil = &until
		}
		return true, nil
	}, nil)
}

// release lets a held stop reach the task's agent.
func (p *lbPass) release(ctx context.Context, it store.Item[taskRecord]) error {
	return p.updateTask(ctx, it.Key, func(r *taskRecord) (bool, error) {
		if r.Targets == nil || !r.Targets.Held {
			return false, nil
		}
		r.Targets.Held = false
		return true, nil
	}, func(txn *store.Txn, r *taskRecord) {
		if r.Task.LastStatus != "STOPPED" && r.InstanceID != "" {
			txn.Put(p.s.keys.assignment(r.InstanceID, r.ID), assignment{TaskID: r.ID, Cluster: r.Cluster, DesiredStatus: "STOPPED"})
		}
	})
}

// checkHealth records whether a task's targets are all healthy, and stops
// a task with an unhealthy target once its grace period is over, saying
// so in the service's events as ECS does.
func (p *lbPass) checkHealth(ctx context.Context, it store.Item[taskRecord], svc *serviceRecord) error {
	rec := &it.Value
	healthy := true
	var bad *LBTargetHealth
	var badGroup string
	for _, rt := range rec.Targets.Registered {
		h, err := p.targetHealth(ctx, rt)
		if err != nil {
			return err
		}
		healthy = healthy && h.State == "healthy"
		if h.State == "unhealthy" && bad == nil {
			bad, badGroup = &h, rt.TargetGroupArn
		}
	}
	grace := time.Duration(deref(svc.Service.HealthCheckGracePeriodSeconds)) * time.Second
	if bad != nil && rec.Task.StartedAt != nil && p.now.Sub(rec.Task.StartedAt.Time) >= grace {
		p.say(svc, unhealthyEvent(svc.Name, rec, *bad, badGroup))
		_, err := p.s.stopDraining(ctx, it.Key, "ServiceSchedulerInitiated", "Task failed ELB health checks in "+lbWhere(badGroup))
		p.s.kickScheduler()
		return err
	}
	if healthy == rec.Targets.Healthy {
		return nil
	}
	err := p.updateTask(ctx, it.Key, func(r *taskRecord) (bool, error) {
		if !r.Targets.registered() || r.Targets.Healthy == healthy {
			return false, nil
		}
		r.Targets.Healthy = healthy
		return true, nil
	}, nil)
	p.s.kickScheduler()
	return err
}

// unhealthyEvent words an unhealthy target as ECS's service events do.
func unhealthyEvent(service string, rec *taskRecord, h LBTargetHealth, group string) string {
	reason := h.Description
	if reason == "" {
		reason = h.Reason
	}
	where := fmt.Sprintf("(instance %s) ", h.Target.ID)
	if rec.Interface != nil {
		where = ""
	}
	return fmt.Sprintf("(service %s) (task %s) %s(port %d) is unhealthy in %s due to (reason %s).",
		service, rec.ID, where, h.Target.Port, lbWhere(group), reason)
}

// targetHealth is one target's health, from the group's health read once
// per pass.
func (p *lbPass) targetHealth(ctx context.Context, rt taskTarget) (LBTargetHealth, error) {
	hs, ok := p.health[rt.TargetGroupArn]
	if !ok {
		list, err := p.s.cfg.LoadBalancing.TargetHealth(ctx, rt.TargetGroupArn, nil)
		var ae *api.Error
		if errors.As(err, &ae) && (ae.Code == "TargetGroupNotFound" || ae.Code == "LoadBalancerNotFound") {
			list, err = nil, nil // deleted: its targets are not healthy
		}
		if err != nil {
			return LBTargetHealth{}, err
		}
		hs = map[LBTarget]LBTargetHealth{}
		for _, h := range list {
			hs[h.Target] = h
		}
		p.health[rt.TargetGroupArn] = hs
	}
	if h, ok := hs[rt.LBTarget]; ok {
		return h, nil
	}
	return LBTargetHealth{Target: rt.LBTarget, State: "unused", Reason: "Target.NotRegistered"}, nil
}

func (p *lbPass) say(svc *serviceRecord, msg string) {
	key := p.s.keys.service(svc.Cluster, svc.Name)
	p.events[key] = append(p.events[key], lbEvent{msg: msg})
}

// sayOnce says msg unless it was said in the last five minutes.
func (p *lbPass) sayOnce(svc *serviceRecord, msg string) {
	key := p.s.keys.service(svc.Cluster, svc.Name)
	p.events[key] = append(p.events[key], lbEvent{msg: msg, once: true})
}

// lbEvent is a service event a pass says.
type lbEvent struct {
	msg  string
	once bool
}

// updateTask applies fn to the task's record and commits it (with extra
// writes) unless fn changes nothing; it retries on a conflict.
func (p *lbPass) updateTask(ctx context.Context, key string, fn func(*taskRecord) (bool, error), extra func(*store.Txn, *taskRecord)) error {
	for {
		it, err := store.Get[taskRecord](ctx, p.s.store, key)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		rec := it.Value
		changed, err := fn(&rec)
		if err != nil || !changed {
			return err
		}
		rec.Task.Version++
		txn := store.NewTxn().IfRev(key, it.Rev).Put(key, rec)
		if extra != nil {
			extra(txn, &rec)
		}
		err = p.s.store.Commit(ctx, txn)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return err
	}
}

// targetsByGroup are a task's targets of one target group.
type targetsByGroup struct {
	arn     string
	targets []LBTarget
}

// groupTargets groups targets by target group, in the order given.
func groupTargets(ts []taskTarget) []targetsByGroup {
	var out []targetsByGroup
	for _, t := range ts {
		i := slices.IndexFunc(out, func(g targetsByGroup) bool { return g.arn == t.TargetGroupArn })
		if i < 0 {
			out = append(out, targetsByGroup{arn: t.TargetGroupArn})
			i = len(out) - 1
		}
		out[i].targets = append(out[i].targets, t.LBTarget)
	}
	return out
}

// stopDraining stops a service task on the scheduler's behalf. A task
// with registered targets is not stopped at once: it turns DEACTIVATING
// (desired status STOPPED) and keeps running while the load balancer
// controller deregisters its targets and they drain; then its agent is
// told to stop it. Any other task stops as requestStop does.
func (s *Service) stopDraining(ctx context.Context, key, code, reason string) (taskRecord, error) {
	for {
		it, err := store.Get[taskRecord](ctx, s.store, key)
		if err != nil {
			return taskRecord{}, err
		}
		rec := it.Value
		if rec.Task.DesiredStatus == "STOPPED" {
			return rec, nil
		}
		if !rec.Targets.registered() || rec.InstanceID == "" {
			return s.requestStop(ctx, key, code, reason)
		}
		before := rec.Task.LastStatus
		rec.Task.DesiredStatus, rec.Task.StopCode, rec.Task.StoppedReason = "STOPPED", code, reason
		rec.Task.StoppingAt = api.Now()
		rec.Targets.Held = true
		advanceTask(&rec, "DEACTIVATING", reason)
		err = s.commitTaskChange(ctx, it, &rec, before)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err == nil {
			s.log.Info("task stop held while its targets drain", "task", rec.Task.TaskArn, "stopCode", code, "reason", reason)
		}
		return rec, err
	}
}
