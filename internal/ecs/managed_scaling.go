package ecs

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth-dev/berth/internal/autoscaling"
	"github.com/berth-dev/berth/internal/ec2"
	"github.com/berth-dev/berth/internal/instancetype"
	"github.com/berth-dev/berth/internal/placement"
	"github.com/berth-dev/berth/internal/store"
)

// Cluster auto scaling, as AWS does it: a task whose capacity provider
// scales its group and that fits on none of the provider's instances
// waits in PROVISIONING instead of failing; the managed scaling
// controller (on the leader) computes each provider's
// CapacityProviderReservation and moves the group's desired capacity
// toward the provider's target; the provisioner places waiting tasks as
// instances join.

// GroupScaler is what managed scaling asks of EC2 Auto Scaling beyond
// AutoScaling.
type GroupScaler interface {
	Capacity(ctx context.Context, arn string) (autoscaling.GroupCapacity, bool, error)
	SetDesired(ctx context.Context, group string, n int, why string) error
	SetProtection(ctx context.Context, group string, ids []string, protected bool) error
}

// Managed scaling's timing. AWS publishes the metric every minute and
// scales in after 15 minutes below target; instances here start in
// seconds, so Berth looks every ManagedScalingInterval and scales in after
// ScaleInAfter below target.
var (
	ManagedScalingInterval = 5 * time.Second
	ScaleInAfter           = 30 * time.Second
	// ProvisioningTimeout is how long a task waits in PROVISIONING before
	// it is stopped.
	ProvisioningTimeout = 30 * time.Minute
)

var capacityReservation = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "berth_ecs_capacity_provider_reservation",
	Help: "CapacityProviderReservation of each capacity provider with managed scaling (AWS/ECS/ManagedScaling): instances needed over instances running, in percent.",
}, []string{"cluster", "capacity_provider"})

func init() { prometheus.MustRegister(capacityReservation) }

// provisioning is what a waiting task is to be placed with once there is room.
type provisioning struct {
	Constraints []PlacementConstraint `json:"constraints,omitempty"`
	Strategies  []PlacementStrategy   `json:"strategies,omitempty"`
	// Network is an awsvpc task's configuration: its interface is made
	// when it is placed.
	Network *NetworkConfiguration `json:"network,omitempty"`
}

// scalesFunc answers whether ECS scales a provider's group (managed
// scaling ENABLED), reading each provider once.
func (s *Service) scalesFunc(ctx context.Context) func(string) bool {
	seen := map[string]bool{}
	return func(name string) bool {
		if v, ok := seen[name]; ok {
			return v
		}
		cp, err := store.Get[CapacityProvider](ctx, s.store, s.keys.capacityProvider(name))
		v := err == nil && cp.Value.Status == "ACTIVE" && managed(cp.Value)
		seen[name] = v
		return v
	}
}

func managed(cp CapacityProvider) bool {
	a := cp.AutoScalingGroupProvider
	return a != nil && a.ManagedScaling != nil && a.ManagedScaling.Status == "ENABLED"
}

// scalingState is what the managed scaling controller remembers between
// passes: since when each provider has wanted fewer instances.
type scalingState struct {
	// lowSince is read and written only by the controller's one goroutine.
	lowSince map[string]time.Time
}

// managedScalingPass places waiting tasks where there is room now, then
// scales every managed provider's group.
func (s *Service) managedScalingPass(ctx context.Context, st *scalingState) error {
	clusters, err := store.List[clusterRecord](ctx, s.store, s.keys.clusters())
	if err != nil {
		return err
	}
	var errs []error
	for _, cl := range clusters {
		if len(cl.Value.CapacityProviders) == 0 {
			continue
		}
		if err := s.provision(ctx, cl.Value.Name); err != nil {
			errs = append(errs, fmt.Errorf("cluster %s: place waiting tasks: %w", cl.Value.Name, err))
		}
		// What the cluster holds once the waiting tasks that fit are
		// placed, read once for all its providers.
		load, err := s.loadOf(ctx, cl.Value.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("cluster %s: %w", cl.Value.Name, err))
			continue
		}
		for _, name := range cl.Value.CapacityProviders {
			if slices.Contains(reservedProviders, name) {
				continue // Fargate capacity is the Fargate controller's
			}
			if err := s.scaleProvider(ctx, st, cl.Value.Name, name, load); err != nil {
				errs = append(errs, fmt.Errorf("cluster %s: capacity provider %s: %w", cl.Value.Name, name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// provision places the cluster's PROVISIONING tasks that now fit on
// their provider's instances, oldest first, and stops those that waited
// longer than ProvisioningTimeout.
func (s *Service) provision(ctx context.Context, cluster string) error {
	all, err := store.List[taskRecord](ctx, s.store, s.keys.tasks(cluster))
	if err != nil {
		return err
	}
	var waiting []store.Item[taskRecord]
	for _, it := range all {
		if it.Value.Task.LastStatus == "PROVISIONING" && it.Value.InstanceID == "" {
			waiting = append(waiting, it)
		}
	}
	if len(waiting) == 0 {
		return nil
	}
	sort.Slice(waiting, func(i, j int) bool {
		return waiting[i].Value.Task.CreatedAt.Before(waiting[j].Value.Task.CreatedAt.Time)
	})
	p := s.placer(cluster)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := s.cache.start(ctx); err != nil {
		return err
	}
	if err := s.cache.catchUp(ctx, cluster); err != nil {
		return err
	}
	items, connected := s.cache.snapshot(cluster)
	var candidates []*cachedInstance
	var views []placement.Instance
	for i, it := range items {
		if it.rec.Instance.Status != "INACTIVE" {
			candidates = append(candidates, it)
			v := it.view
			v.Connected = connected[i]
			views = append(views, v)
		}
	}
	txn := store.NewTxn()
	touched := map[int]*instanceRecord{}
	rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	var placedTasks []taskRecord
	made := s.deleteUnless(ctx) // interfaces made for tasks this pass places
	defer made.release()
	spot := &spotPass{tasks: all, interrupted: map[string]bool{}}
	for _, it := range waiting {
		rec := it.Value
		if time.Since(rec.Task.CreatedAt.Time) > ProvisioningTimeout {
			reason := fmt.Sprintf("Capacity is unavailable at this time: capacity provider %s did not make room for the task within %v.", rec.Task.CapacityProviderName, ProvisioningTimeout)
			if err := s.markStopped(ctx, it.Key, "TaskFailedToStart", reason); err != nil {
				return err
			}
			continue
		}
		req, network, err := s.provisioningRequest(ctx, &rec)
		if err != nil {
			s.log.Warn("a waiting task cannot be placed", "task", rec.Task.TaskArn, "err", err)
			continue
		}
		var idx []int
		want := rec.Task.CapacityProviderName
		if rec.Fargate {
			want = fargateHostProvider
		}
		for i := range candidates {
			if candidates[i].rec.Instance.CapacityProviderName == want {
				idx = append(idx, i)
			}
		}
		sub := make([]placement.Instance, len(idx))
		for k, i := range idx {
			sub[k] = views[i]
			if rec.Fargate && sub[k].Status == fargateHostStatus {
				sub[k].Status = "ACTIVE"
			}
		}
		res := placement.Place(sub, req, 1, rng)
		for k, i := range idx {
			views[i] = sub[k]
		}
		if len(res.Placed) == 0 {
			if rec.Fargate && rec.Task.CapacityProviderName != fargateSpotProvider && len(idx) > 0 {
				// Room on the Fargate host, taken back from Spot tasks.
				if err := spot.makeRoom(ctx, s, candidates[idx[0]].rec.ID, views[idx[0]], req); err != nil {
					return err
				}
			}
			continue
		}
		i := idx[res.Placed[0]]
		inst := writable(touched, candidates, i, txn)
		if network != nil {
			if err := s.attachInterface(ctx, network, inst, &rec, rec.Fargate); err != nil {
				return err
			}
			made.add(rec.Interface.ID)
			txn.Put(s.keys.taskInterface(cluster, rec.ID), rec.Interface.ID)
		}
		inst.Usage.add(rec.Reservation)
		rec.InstanceID, rec.Provisioning = inst.ID, nil
		if !rec.Fargate {
			rec.Task.ContainerInstanceArn = inst.Instance.ContainerInstanceArn
			rec.Task.AvailabilityZone = attributeValue(inst.Instance.Attributes, "ecs.availability-zone")
		}
		rec.Task.LastStatus = "PENDING"
		rec.Task.Version++
		txn.IfRev(it.Key, it.Rev).Put(it.Key, rec).
			Put(s.keys.assignment(inst.ID, rec.ID), assignment{TaskID: rec.ID, Cluster: cluster, DesiredStatus: "RUNNING"})
		placedTasks = append(placedTasks, rec)
	}
	if len(placedTasks) == 0 {
		return nil
	}
	keys := make([]string, 0, len(touched))
	for idx, inst := range touched {
		putInstance(txn, candidates[idx], inst)
		keys = append(keys, candidates[idx].key)
	}
	if _, err := s.commitPlacement(ctx, txn, keys, touched, candidates); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil // the next pass tries again on fresh data
		}
		return err
	}
	made.keep()
	for _, t := range placedTasks {
		s.log.Info("waiting task placed", "cluster", cluster, "task", t.Task.TaskArn, "containerInstance", t.Task.ContainerInstanceArn, "capacityProvider", t.Task.CapacityProviderName)
	}
	return nil
}

// provisioningRequest is what a waiting task needs of an instance, as
// RunTask computed it.
func (s *Service) provisioningRequest(ctx context.Context, rec *taskRecord) (placement.Request, *ec2.TaskNetwork, error) {
	tdItem, found, err := s.lookupTaskDef(ctx, rec.Task.TaskDefinitionArn)
	if err != nil {
		return placement.Request{}, nil, err
	}
	if !found {
		return placement.Request{}, nil, fmt.Errorf("task definition %s is gone", rec.Task.TaskDefinitionArn)
	}
	td := tdItem.Value.TaskDefinition
	overrides := rec.Task.Overrides
	req, _ := requirements(&td, &overrides)
	var cons []PlacementConstraint
	var strats []PlacementStrategy
	if rec.Provisioning != nil {
		cons, strats = rec.Provisioning.Constraints, rec.Provisioning.Strategies
	}
	if req.Constraints, req.Strategies, err = compilePlacement(td.PlacementConstraints, cons, strats); err != nil {
		return placement.Request{}, nil, err
	}
	var nc *NetworkConfiguration
	if rec.Provisioning != nil {
		nc = rec.Provisioning.Network
	}
	network, err := s.resolveNetwork(ctx, &td, nc, rec.Fargate)
	if err != nil {
		return placement.Request{}, nil, err
	}
	if network != nil && !rec.Fargate {
		c, err := networkConstraint(network)
		if err != nil {
			return placement.Request{}, nil, err
		}
		req.Constraints = append(req.Constraints, c)
	}
	req.RequiredAttributes = attributeNames(td.RequiresAttributes)
	req.Group = rec.Task.Group
	return req, network, nil
}

// scaleProvider computes one provider's CapacityProviderReservation and
// moves its group's desired capacity toward the provider's target.
//
// N is the group's instances (launched or launching). With tasks waiting,
// M is N plus the instances those tasks need beyond the ones still
// joining, packed by memory and CPU onto the group's instance type, and
// at least minimumScalingStepSize and at most maximumScalingStepSize more;
// with none waiting, M is the instances that run a task other than a
// daemon's, are still warming up or have not joined yet. The group is
// then set to M × 100 / targetCapacity instances (rounded up): at once
// when that is more, after ScaleInAfter when less. With managed
// termination protection, the instances that run tasks are protected
// from scale-in, and the others not, so that the group removes only empty
// ones.
// clusterLoad is what managed scaling reads of a cluster: its container
// instances by EC2 id, the tasks waiting for each provider, and which
// instances run a task other than a daemon's.
type clusterLoad struct {
	byEC2   map[string]*instanceRecord
	waiting map[string][]reservation // by capacity provider
	busy    map[string]bool          // by container instance id
}

func (s *Service) loadOf(ctx context.Context, cluster string) (clusterLoad, error) {
	l := clusterLoad{byEC2: map[string]*instanceRecord{}, waiting: map[string][]reservation{}, busy: map[string]bool{}}
	insts, err := store.List[instanceRecord](ctx, s.store, s.keys.instances(cluster))
	if err != nil {
		return l, err
	}
	for i := range insts {
		r := &insts[i].Value
		if r.Instance.Ec2InstanceId != "" && r.Instance.Status != "INACTIVE" {
			l.byEC2[r.Instance.Ec2InstanceId] = r
		}
	}
	daemons, err := s.daemonGroups(ctx, cluster)
	if err != nil {
		return l, err
	}
	tasks, err := store.List[taskRecord](ctx, s.store, s.keys.tasks(cluster))
	if err != nil {
		return l, err
	}
	for _, t := range tasks {
		switch {
		case t.Value.Task.LastStatus == "STOPPED":
		case t.Value.InstanceID == "" && t.Value.Task.DesiredStatus == "RUNNING":
			p := t.Value.Task.CapacityProviderName
			l.waiting[p] = append(l.waiting[p], t.Value.Reservation)
		case t.Value.InstanceID != "" && !daemons[t.Value.Task.Group]:
			l.busy[t.Value.InstanceID] = true
		}
	}
	return l, nil
}

func (s *Service) scaleProvider(ctx context.Context, st *scalingState, cluster, name string, load clusterLoad) error {
	cpIt, err := store.Get[CapacityProvider](ctx, s.store, s.keys.capacityProvider(name))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	cp := cpIt.Value
	scaler, ok := s.cfg.AutoScaling.(GroupScaler)
	if cp.Status != "ACTIVE" || !managed(cp) || !ok {
		return nil
	}
	ms := cp.AutoScalingGroupProvider.ManagedScaling
	target, minStep, maxStep, warmup := deref(ms.TargetCapacity), deref(ms.MinimumScalingStepSize), deref(ms.MaximumScalingStepSize), deref(ms.InstanceWarmupPeriod)
	group, ok, err := scaler.Capacity(ctx, cp.AutoScalingGroupProvider.AutoScalingGroupArn)
	if err != nil || !ok {
		return err
	}
	it, ok := instancetype.Lookup(group.InstanceType)
	if !ok {
		return fmt.Errorf("group %s launches unknown instance type %s", group.Name, group.InstanceType)
	}
	byEC2, waiting, busy := load.byEC2, load.waiting[name], load.busy
	now := time.Now()
	n, m, joining := 0, 0, 0
	var protect, unprotect []string
	for _, gi := range group.Instances {
		if gi.State != "Pending" && gi.State != "InService" {
			continue
		}
		n++
		ci := byEC2[gi.ID]
		switch {
		case gi.ID == "" || ci == nil:
			joining++
			m++
		case busy[ci.ID]:
			m++
			if !gi.Protected {
				protect = append(protect, gi.ID)
			}
		case now.Sub(gi.Launched) < time.Duration(warmup)*time.Second:
			m++
		default:
			if gi.Protected {
				unprotect = append(unprotect, gi.ID)
			}
		}
	}
	if len(waiting) > 0 {
		need := binsFor(waiting, it.VCPU*1024, it.MemoryMiB) - joining
		if need > 0 {
			need = min(max(need, minStep), maxStep)
		}
		m = n + max(need, 0)
	}
	reservationPct := 100.0
	switch {
	case n > 0:
		reservationPct = float64(m) * 100 / float64(n)
	case m > 0:
		reservationPct = 200 // AWS's value for a group of none that needs some
	}
	capacityReservation.WithLabelValues(cluster, name).Set(reservationPct)
	// Until Berth has CloudWatch metrics, DescribeCapacityProviders shows
	// the metric as the provider's status reason; written when it moves.
	if reason := fmt.Sprintf("CapacityProviderReservation %.0f (target %d)", reservationPct, target); cp.UpdateStatusReason != reason {
		if _, err := store.Update(ctx, s.store, cpIt.Key, func(r *CapacityProvider) error {
			r.UpdateStatusReason = reason
			return nil
		}); err != nil {
			return err
		}
	}
	desired := (m*100 + target - 1) / target
	desired = max(group.Min, min(desired, group.Max))
	if cp.AutoScalingGroupProvider.ManagedTerminationProtection == "ENABLED" {
		if len(protect) > 0 {
			if err := scaler.SetProtection(ctx, group.Name, protect, true); err != nil {
				return err
			}
		}
		if len(unprotect) > 0 && desired < group.Desired {
			if err := scaler.SetProtection(ctx, group.Name, unprotect, false); err != nil {
				return err
			}
		}
	}
	why := fmt.Sprintf("ECS managed scaling of capacity provider %s (CapacityProviderReservation %.0f, target %d)", name, reservationPct, target)
	switch {
	case desired > group.Desired:
		delete(st.lowSince, name)
		s.log.Info("managed scaling out", "capacityProvider", name, "group", group.Name, "from", group.Desired, "to", desired, "reservation", reservationPct)
		return scaler.SetDesired(ctx, group.Name, desired, why)
	case desired < group.Desired:
		since, ok := st.lowSince[name]
		if !ok {
			st.lowSince[name] = now
			return nil
		}
		if now.Sub(since) < ScaleInAfter {
			return nil
		}
		delete(st.lowSince, name)
		s.log.Info("managed scaling in", "capacityProvider", name, "group", group.Name, "from", group.Desired, "to", desired, "reservation", reservationPct)
		return scaler.SetDesired(ctx, group.Name, desired, why)
	default:
		delete(st.lowSince, name)
	}
	return nil
}

// daemonGroups are the task groups of the cluster's daemon services,
// whose tasks do not keep an instance from scaling in.
func (s *Service) daemonGroups(ctx context.Context, cluster string) (map[string]bool, error) {
	svcs, err := store.List[serviceRecord](ctx, s.store, s.keys.services(cluster))
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, sv := range svcs {
		if sv.Value.Service.SchedulingStrategy == "DAEMON" {
			out["service:"+sv.Value.Name] = true
		}
	}
	return out, nil
}

// binsFor is how many instances of cpu units and memory MiB the tasks
// need, packed first-fit by decreasing memory: an estimate, as AWS's is.
// A task larger than an instance needs none: no number of them would run
// it, and it waits until it times out.
func binsFor(tasks []reservation, cpu, memory int) int {
	sorted := slices.DeleteFunc(slices.Clone(tasks), func(t reservation) bool { return t.CPU > cpu || t.Memory > memory })
	slices.SortFunc(sorted, func(a, b reservation) int { return b.Memory - a.Memory })
	type bin struct{ cpu, mem int }
	var bins []bin
	for _, t := range sorted {
		placed := false
		for i := range bins {
			if bins[i].cpu >= t.CPU && bins[i].mem >= t.Memory {
				bins[i].cpu -= t.CPU
				bins[i].mem -= t.Memory
				placed = true
				break
			}
		}
		if !placed {
			bins = append(bins, bin{cpu - t.CPU, memory - t.Memory})
		}
	}
	return len(bins)
}
