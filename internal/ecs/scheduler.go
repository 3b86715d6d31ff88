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

// The service scheduler: one pass reads every service with its tasks and
// instances, decides (rollout.go) and acts — stops tasks, places new ones
// through the same path as RunTask — then records counts, deployments and
// events on the service. Only the elected leader runs passes (leader.go, on the controller
// runtime).

// SchedulerOptions tune the service scheduler.
type SchedulerOptions struct {
	// Interval between passes when nothing changes (default 1s).
	Interval time.Duration
	// LostAgentGrace is how long an instance's agent may stay disconnected
	// before its service tasks are replaced elsewhere (default 1m).
	LostAgentGrace time.Duration
}

func (o *SchedulerOptions) defaults() {
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.LostAgentGrace <= 0 {
		o.LostAgentGrace = time.Minute
	}
}

// kickScheduler asks for a pass soon (after an API change).
func (s *Service) kickScheduler() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// clusterState is what a pass knows of one cluster.
type clusterState struct {
	// byGroup indexes the cluster's tasks by task group ("service:web").
	byGroup   map[string][]*taskRecord
	instances map[string]*instanceRecord
	// lost instances have had no agent for longer than the grace period.
	lost map[string]bool
}

// schedulePass reconciles every service once.
func (s *Service) schedulePass(ctx context.Context, sch *schedulerState, now time.Time) error {
	services, err := store.List[serviceRecord](ctx, s.store, s.keys.allServices())
	if err != nil {
		return err
	}
	// Connection markers are read only when some service is active: with
	// thousands of instances the read is not free, and a pass runs often.
	var connected map[string]bool
	clusters := map[string]*clusterState{}
	var errs []error
	for _, it := range services {
		if it.Value.Service.Status == "INACTIVE" {
			continue
		}
		if connected == nil {
			if connected, err = s.connectedInstances(ctx); err != nil {
				return err
			}
		}
		cs := clusters[it.Value.Cluster]
		if cs == nil {
			if cs, err = s.loadClusterState(ctx, it.Value.Cluster, connected, sch, now); err != nil {
				return err
			}
			clusters[it.Value.Cluster] = cs
		}
		if err := s.reconcileService(ctx, it, cs, now); err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", it.Value.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) loadClusterState(ctx context.Context, cluster string, connected map[string]bool, sch *schedulerState, now time.Time) (*clusterState, error) {
	m := sch.tasks[cluster]
	if m == nil {
		m = store.NewMirror[taskRecord](s.keys.tasks(cluster))
		sch.tasks[cluster] = m
	}
	tasks, err := m.Sync(ctx, s.store)
	if err != nil {
		return nil, err
	}
	im := sch.instances[cluster]
	if im == nil {
		im = store.NewMirror[instanceRecord](s.keys.instances(cluster))
		sch.instances[cluster] = im
	}
	insts, err := im.Sync(ctx, s.store)
	if err != nil {
		return nil, err
	}
	cs := &clusterState{byGroup: map[string][]*taskRecord{}, instances: map[string]*instanceRecord{}, lost: map[string]bool{}}
	for i := range tasks {
		t := &tasks[i].Value
		cs.byGroup[t.Task.Group] = append(cs.byGroup[t.Task.Group], t)
	}
	for i := range insts {
		rec := &insts[i].Value
		cs.instances[rec.ID] = rec
		if connected[rec.ID] || rec.Instance.Status == "INACTIVE" {
			delete(sch.disconnectedSince, rec.ID)
			continue
		}
		since, ok := sch.disconnectedSince[rec.ID]
		if !ok {
			sch.disconnectedSince[rec.ID] = now
			continue
		}
		cs.lost[rec.ID] = now.Sub(since) >= sch.opts.LostAgentGrace
	}
	// Nobody reports on the tasks of a lost instance any more: they are
	// marked stopped here, so that their reservations are released and
	// the collector removes them.
	for i := range tasks {
		t := &tasks[i].Value
		if inst := cs.instances[t.InstanceID]; cs.lost[t.InstanceID] && t.Task.LastStatus != "STOPPED" {
			if err := s.markStopped(ctx, tasks[i].Key, stopCodeHostGone, hostGoneReason(inst)); err != nil {
				s.log.Warn("scheduler could not stop a task of a lost instance", "task", t.ID, "err", err)
			}
		}
	}
	return cs, nil
}

// reconcileService runs one pass over one service and writes back what
// changed.
func (s *Service) reconcileService(ctx context.Context, it store.Item[serviceRecord], cs *clusterState, now time.Time) error {
	rec := it.Value
	before, _ := json.Marshal(rec)
	svc := &rec.Service
	if svc.hasTaskSets() {
		return s.reconcileTaskSets(ctx, it, cs, now)
	}
	if len(svc.Deployments) == 0 {
		return nil
	}
	var mine []*taskRecord
	for _, t := range cs.byGroup["service:"+rec.Name] {
		if strings.HasPrefix(t.Task.StartedBy, "ecs-svc/") {
			mine = append(mine, t)
		}
	}
	s.countFailures(&rec, mine, now)
	s.circuitBreaker(&rec, now)
	primary := &svc.Deployments[0]
	grace := time.Duration(deref(svc.HealthCheckGracePeriodSeconds)) * time.Second

	// Tasks on lost instances are given up (marked stopped).
	var live []liveTask
	byID := map[string]*taskRecord{}
	unhealthy := map[string]bool{}
	for _, t := range mine {
		if t.Task.DesiredStatus != "RUNNING" {
			continue
		}
		if cs.lost[t.InstanceID] {
			continue // marked stopped by loadClusterState
		}
		inst := cs.instances[t.InstanceID]
		running := t.Task.LastStatus == "RUNNING"
		healthy := running && (t.Task.HealthStatus != "UNHEALTHY" || t.Task.StartedAt != nil && now.Sub(t.Task.StartedAt.Time) < grace)
		failing := running && !healthy
		// A task waiting in PROVISIONING for its group to scale out is
		// current too: it will run where the group makes room.
		current := t.Task.StartedBy == primary.Id && !failing && (inst != nil && inst.Instance.Status == "ACTIVE" || t.Task.LastStatus == "PROVISIONING")
		byID[t.ID] = t
		unhealthy[t.ID] = failing
		// Behind load balancers a task serves once its targets are healthy.
		live = append(live, liveTask{ID: t.ID, Current: current, Running: running, Healthy: healthy && t.targetsHealthy(svc), Order: int(t.Task.CreatedAt.UnixMilli()),
			Protected: t.protected(now)})
	}
	var plan rolloutPlan
	var daemonTargets []string
	switch {
	case svc.Status == "DRAINING":
		for _, t := range live {
			plan.Stop = append(plan.Stop, t.ID)
		}
	case svc.SchedulingStrategy == "DAEMON":
		plan, daemonTargets, svc.DesiredCount = s.planDaemon(ctx, &rec, cs, live, byID)
		primary.DesiredCount = svc.DesiredCount
	default:
		plan = planReplica(svc.DesiredCount, deref(svc.DeploymentConfiguration.MinimumHealthyPercent), deref(svc.DeploymentConfiguration.MaximumPercent), live)
	}
	if primary.RolloutState == "FAILED" {
		plan.Start, daemonTargets = 0, nil // a failed deployment launches nothing more
	}
	var stopped []string
	for _, id := range plan.Stop {
		reason := "Scaling activity initiated by (deployment " + byID[id].Task.StartedBy + ")"
		if unhealthy[id] {
			reason = "Task failed container health checks"
		}
		if s.stopTask(ctx, &rec, byID[id], reason) {
			stopped = append(stopped, id)
		}
	}
	if len(stopped) > 0 {
		addEvent(&rec, now, fmt.Sprintf("(service %s) has stopped %d running tasks: %s.", rec.Name, len(stopped), taskList(stopped)))
	}
	// A strategy's base and weights count the service's tasks that stay.
	counts := map[string]int{}
	for _, t := range live {
		if !slices.Contains(plan.Stop, t.ID) {
			counts[byID[t.ID].Task.CapacityProviderName]++
		}
	}
	started := s.startTasks(ctx, &rec, plan.Start, daemonTargets, counts, now)
	s.tally(&rec, mine, started, len(plan.Stop) == 0 && plan.Start == 0 && len(daemonTargets) == 0, now)
	if svc.Status == "DRAINING" && len(live) == 0 {
		svc.Status = "INACTIVE"
		svc.Deployments = []Deployment{}
	}
	after, _ := json.Marshal(rec)
	if string(after) == string(before) {
		return nil
	}
	err := s.store.Commit(ctx, store.NewTxn().IfRev(it.Key, it.Rev).Put(it.Key, rec))
	if errors.Is(err, store.ErrConflict) {
		s.kickScheduler() // changed meanwhile (UpdateService): go again
		return nil
	}
	return err
}

// stopTask stops a service task on the scheduler's behalf.
func (s *Service) stopTask(ctx context.Context, rec *serviceRecord, t *taskRecord, reason string) bool {
	if _, err := s.stopDraining(ctx, s.keys.task(t.Cluster, t.ID), "ServiceSchedulerInitiated", reason); err != nil {
		s.log.Warn("scheduler could not stop task", "service", rec.Name, "task", t.ID, "err", err)
		return false
	}
	return true
}

// startTasks launches n tasks of the primary deployment (or one on each
// daemon target) through the RunTask path and says so in the events.
func (s *Service) startTasks(ctx context.Context, rec *serviceRecord, n int, targets []string, counts map[string]int, now time.Time) []Task {
	svc := &rec.Service
	if n == 0 && len(targets) == 0 {
		return nil
	}
	if wait := backoff(rec.Failures); wait > 0 && now.Sub(rec.lastFailure()) < wait {
		sayBackingOff(rec, now)
		return nil
	}
	primary := svc.Deployments[0]
	in := serviceLaunchInput(rec, primary.TaskDefinition, primary.Id, svc.LaunchType, svc.CapacityProviderStrategy, primary.NetworkConfiguration)
	return s.launchForService(ctx, rec, in, n, targets, counts, now)
}

// sayBackingOff says, once in a while, that the service's launches back
// off after failures, as ECS words it.
func sayBackingOff(rec *serviceRecord, now time.Time) {
	addEventOnce(rec, now, fmt.Sprintf("(service %s) is unable to consistently start tasks successfully. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.", rec.Name))
}

// serviceLaunchInput is the RunTask input of a service's tasks: of task
// definition td, started by its deployment or task set, placed as the
// service says.
func serviceLaunchInput(rec *serviceRecord, td, startedBy, lt string, cps []CapacityProviderStrategyItem, network *NetworkConfiguration) RunTaskInput {
	svc := &rec.Service
	in := RunTaskInput{
		Cluster: rec.Cluster, TaskDefinition: td, Group: "service:" + rec.Name, StartedBy: startedBy,
		PlacementConstraints: svc.PlacementConstraints, PlacementStrategy: svc.PlacementStrategy,
		EnableECSManagedTags: svc.EnableECSManagedTags, EnableExecuteCommand: svc.EnableExecuteCommand,
		LaunchType: lt, CapacityProviderStrategy: cps,
		NetworkConfiguration: network,
	}
	if svc.PropagateTags == "SERVICE" {
		in.Tags = svc.Tags
	}
	fargate, _ := fargateStrategy(cps)
	if len(in.PlacementStrategy) == 0 && svc.SchedulingStrategy == "REPLICA" && !fargate && lt != string(launchFargate) {
		// ECS spreads a service's tasks across zones, then instances.
		in.PlacementStrategy = []PlacementStrategy{{Type: "spread", Field: "attribute:ecs.availability-zone"}, {Type: "spread", Field: "instanceId"}}
	}
	return in
}

// launchForService launches n tasks as in describes them (or one on each
// daemon target) through the RunTask path and says so in the events.
func (s *Service) launchForService(ctx context.Context, rec *serviceRecord, in RunTaskInput, n int, targets []string, counts map[string]int, now time.Time) []Task {
	var started []Task
	var failures []Failure
	for n > 0 || len(targets) > 0 {
		batch := in
		count := min(n, 10)
		if len(targets) > 0 {
			k := min(len(targets), 10)
			batch.ContainerInstances, targets, count = targets[:k], targets[k:], k
		} else {
			n -= count
		}
		batch.providerCounts = counts
		out, err := s.Launch(ctx, LaunchRequest{Caller: CallerScheduler, Input: &batch, Count: count})
		if err != nil {
			failures = append(failures, Failure{Reason: api.AsError(err).Message})
			break
		}
		for _, t := range out.Tasks {
			counts[t.CapacityProviderName]++
		}
		started = append(started, out.Tasks...)
		failures = append(failures, out.Failures...)
		if len(out.Tasks) == 0 {
			break
		}
	}
	if len(started) > 0 {
		ids := make([]string, len(started))
		for i, t := range started {
			ids[i] = lastSegment(t.TaskArn)
		}
		addEvent(rec, now, fmt.Sprintf("(service %s) has started %d tasks: %s.", rec.Name, len(started), taskList(ids)))
	}
	if len(failures) > 0 {
		addEventOnce(rec, now, placementFailureEvent(rec.Name, failures))
	}
	return started
}

// placementFailureEvent words a failed placement as ECS does.
func placementFailureEvent(service string, fs []Failure) string {
	f := fs[0]
	if f.Arn == "" {
		return fmt.Sprintf("(service %s) was unable to place a task. Reason: %s", service, f.Reason)
	}
	return fmt.Sprintf("(service %s) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance %s) %s. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.",
		service, lastSegment(f.Arn), reasonText(f.Reason))
}

// reasonText turns a placement failure reason into the event's wording.
func reasonText(reason string) string {
	switch reason {
	case "RESOURCE:CPU":
		return "has insufficient CPU units available"
	case "RESOURCE:MEMORY":
		return "has insufficient memory available"
	case "RESOURCE:PORTS", "RESOURCE:PORTS_UDP":
		return "is already using a port required by your task"
	case "ATTRIBUTE":
		return "is missing an attribute required by your task"
	case "AGENT":
		return "is not connected to its agent"
	}
	return "does not satisfy a placement constraint: " + reason
}

func taskList(ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = "(task " + id + ")"
	}
	return strings.Join(parts, " ")
}

// planDaemon wants one primary task on every ACTIVE instance that meets the
// service's constraints, and none elsewhere. It returns the instances to
// start on and the desired count (the number of such instances).
func (s *Service) planDaemon(ctx context.Context, rec *serviceRecord, cs *clusterState, live []liveTask, byID map[string]*taskRecord) (rolloutPlan, []string, int) {
	eligible := s.daemonInstances(ctx, rec, cs)
	var plan rolloutPlan
	perInstance := map[string][]liveTask{}
	for _, t := range live {
		inst := byID[t.ID].InstanceID
		perInstance[inst] = append(perInstance[inst], t)
	}
	var targets []string
	for id, ts := range perInstance {
		if !eligible[id] {
			for _, t := range ts {
				plan.Stop = append(plan.Stop, t.ID)
			}
		}
	}
	ids := make([]string, 0, len(eligible))
	for id := range eligible {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		ts := perInstance[id]
		sortForStop(ts)
		current := 0
		for _, t := range ts {
			if t.Current {
				current++
			}
		}
		// Old tasks go first (minimumHealthyPercent 0), then the new one starts.
		for _, t := range ts {
			if !t.Current || current > 1 {
				if t.Current {
					current--
				}
				plan.Stop = append(plan.Stop, t.ID)
			}
		}
		if len(ts) == 0 {
			targets = append(targets, cs.instances[id].Instance.ContainerInstanceArn)
		}
	}
	slices.Sort(plan.Stop)
	plan.Stop = slices.Compact(plan.Stop)
	return plan, targets, len(eligible)
}
