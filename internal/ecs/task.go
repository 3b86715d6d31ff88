package ecs

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/ec2"
	"github.com/berth-dev/berth/internal/placement"
	"github.com/berth-dev/berth/internal/store"
)

// taskRecord is a task as stored.
type taskRecord struct {
	ID          string      `json:"id"`
	Cluster     string      `json:"cluster"`
	InstanceID  string      `json:"instanceId"`
	Family      string      `json:"family"`
	Revision    int         `json:"revision"`
	Reservation reservation `json:"reservation"`
	Task        Task        `json:"task"`
	// Credentials are the task's roles and their credentials ids.
	Credentials *taskCredentials `json:"credentials,omitempty"`
	// Provisioning is set while the task waits in PROVISIONING for its
	// capacity provider's group to scale: what it is to be placed with.
	Provisioning *provisioning `json:"provisioning,omitempty"`
	// ProtectedUntil is when the task's scale-in protection ends.
	ProtectedUntil *time.Time `json:"protectedUntil,omitempty"`
	// Interface is an awsvpc task's elastic network interface.
	Interface *taskInterface `json:"interface,omitempty"`
	// Fargate marks a task of the FARGATE launch type; its instance is
	// its cluster's Fargate host.
	Fargate bool `json:"fargate,omitempty"`
	// Targets are the task's load balancer targets (lb_targets.go).
	Targets *taskTargets `json:"targets,omitempty"`
}

// assignment is the per-instance index entry an agent connection watches.
type assignment struct {
	TaskID        string `json:"taskId"`
	Cluster       string `json:"cluster"`
	DesiredStatus string `json:"desiredStatus"`
}

// statusOrder ranks task states so reported transitions only move forward.
var statusOrder = map[string]int{
	"PROVISIONING": 1, "PENDING": 2, "ACTIVATING": 3, "RUNNING": 4,
	"DEACTIVATING": 5, "STOPPING": 6, "DEPROVISIONING": 7, "STOPPED": 8,
}

type RunTaskInput struct {
	Cluster                  string                         `json:"cluster"`
	TaskDefinition           string                         `json:"taskDefinition"`
	Count                    *int                           `json:"count"`
	Group                    string                         `json:"group"`
	LaunchType               string                         `json:"launchType"`
	Overrides                *TaskOverride                  `json:"overrides"`
	PlacementConstraints     []PlacementConstraint          `json:"placementConstraints"`
	PlacementStrategy        []PlacementStrategy            `json:"placementStrategy"`
	StartedBy                string                         `json:"startedBy"`
	Tags                     []Tag                          `json:"tags"`
	ClientToken              string                         `json:"clientToken"`
	EnableECSManagedTags     bool                           `json:"enableECSManagedTags"`
	PropagateTags            string                         `json:"propagateTags"`
	CapacityProviderStrategy []CapacityProviderStrategyItem `json:"capacityProviderStrategy"`
	NetworkConfiguration     *NetworkConfiguration          `json:"networkConfiguration"`
	PlatformVersion          string                         `json:"platformVersion"`
	EnableExecuteCommand     bool                           `json:"enableExecuteCommand"`
	// ContainerInstances is StartTask's explicit target list.
	ContainerInstances []string `json:"containerInstances"`
	// providerCounts are the tasks each capacity provider already has in
	// the task group (a service's), from which its strategy's base and
	// weights go on; shares is how launch split the tasks by provider.
	providerCounts map[string]int
	shares         []providerShare
}

type RunTaskOutput struct {
	Tasks    []Task    `json:"tasks"`
	Failures []Failure `json:"failures"`
}

// tokenRecord remembers the tasks a clientToken created.
type tokenRecord struct {
	TaskDefinition string   `json:"taskDefinition"`
	TaskIDs        []string `json:"taskIds"`
	Cluster        string   `json:"cluster"`
}

// RunTask places count tasks of a definition on the cluster's instances.
func (s *Service) RunTask(ctx context.Context, in *RunTaskInput) (*RunTaskOutput, error) {
	count := 1
	if in.Count != nil {
		count = *in.Count
	}
	if count < 1 || count > 10 {
		return nil, api.InvalidParameter("Count must be between 1 and 10.")
	}
	if len(in.ContainerInstances) > 0 {
		return nil, api.InvalidParameter("containerInstances is not a RunTask parameter; use StartTask.")
	}
	return s.Launch(ctx, LaunchRequest{Caller: CallerRunTask, Input: in, Count: count})
}

// StartTask starts one task on each named container instance.
func (s *Service) StartTask(ctx context.Context, in *RunTaskInput) (*RunTaskOutput, error) {
	if len(in.ContainerInstances) == 0 || len(in.ContainerInstances) > 10 {
		return nil, api.InvalidParameter("containerInstances must name between 1 and 10 container instances.")
	}
	return s.Launch(ctx, LaunchRequest{Caller: CallerStartTask, Input: in, Count: len(in.ContainerInstances)})
}

// Caller is who asks for a launch: a caller of an API operation, which
// is authorized as the caller, or the service scheduler on a service's
// behalf, which is not.
type Caller int

const (
	CallerRunTask Caller = iota
	CallerStartTask
	CallerScheduler
)

// operation is the API operation the caller is authorized for, "" for
// the scheduler.
func (c Caller) operation() string {
	switch c {
	case CallerRunTask:
		return "RunTask"
	case CallerStartTask:
		return "StartTask"
	}
	return ""
}

// LaunchRequest asks for Count tasks as Input describes them.
type LaunchRequest struct {
	Caller Caller
	Input  *RunTaskInput
	Count  int
}

// launchPlan is a launch validated and ready to place: the task
// definition and overrides resolved, what each task needs of an instance
// (req) and what it reserves there (res).
type launchPlan struct {
	cluster   string
	in        *RunTaskInput
	count     int
	td        *TaskDefinition
	overrides TaskOverride
	req       placement.Request
	res       reservation
	// network is an awsvpc task's subnets and groups; nil for others.
	network *ec2.TaskNetwork
	// platform is a Fargate task's platform version; "" for EC2 tasks.
	platform string
}

// Launch validates a request and places its tasks: the one way tasks are
// created, for RunTask, StartTask and the service scheduler.
func (s *Service) Launch(ctx context.Context, r LaunchRequest) (*RunTaskOutput, error) {
	in, count, op := r.Input, r.Count, r.Caller.operation()
	if in.TaskDefinition == "" {
		return nil, api.InvalidParameter("taskDefinition is required.")
	}
	cl, err := s.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	cluster := cl.Value.Name
	// The service scheduler launches on a service's behalf.
	if r.Caller != CallerScheduler {
		if err := s.authorize(ctx, op, s.arn("task-definition/"+strings.TrimPrefix(in.TaskDefinition, s.arn("task-definition/")))); err != nil {
			return nil, err
		}
	}
	if err := checkLaunchType(in.LaunchType, in.CapacityProviderStrategy); err != nil {
		return nil, err
	}
	fargate := in.LaunchType == string(launchFargate)
	if len(in.ContainerInstances) == 0 {
		fs, err := fargateStrategy(effectiveStrategy(&cl.Value, in.LaunchType, in.CapacityProviderStrategy))
		if err != nil {
			return nil, err
		}
		fargate = fargate || fs
	}
	if _, err := platformVersion(in.PlatformVersion, fargate); err != nil {
		return nil, err
	}
	if len(in.ContainerInstances) > 0 {
		if len(in.CapacityProviderStrategy) > 0 {
			return nil, api.InvalidParameter("capacityProviderStrategy is not a StartTask parameter: StartTask places on the container instances it names.")
		}
	} else if strategy := effectiveStrategy(&cl.Value, in.LaunchType, in.CapacityProviderStrategy); len(strategy) > 0 {
		if err := checkStrategyFor(&cl.Value, strategy); err != nil {
			return nil, err
		}
		in.shares = shareTasks(strategy, count, in.providerCounts)
	}
	if len(in.StartedBy) > 128 {
		return nil, api.InvalidParameter("startedBy can be at most 128 characters.")
	}
	if len(in.Group) > 255 {
		return nil, api.InvalidParameter("group can be at most 255 characters.")
	}
	if _, _, err := compilePlacement(nil, in.PlacementConstraints, in.PlacementStrategy); err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	if in.ClientToken != "" {
		if len(in.ClientToken) > 64 {
			return nil, api.InvalidParameter("clientToken can be at most 64 characters.")
		}
		if out, ok, err := s.replayToken(ctx, cluster, in); ok || err != nil {
			return out, err
		}
	}
	tdItem, found, err := s.lookupTaskDef(ctx, in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, api.InvalidParameter("TaskDefinition not found.")
	}
	td := tdItem.Value.TaskDefinition
	if td.Status != "ACTIVE" {
		return nil, api.ClientError("TaskDefinition is inactive.")
	}
	platform := ""
	if fargate {
		if platform, err = s.checkFargate(in, &td); err != nil {
			return nil, err
		}
	} else if !launchEC2.runs(&td) {
		return nil, api.InvalidParameter("Task definition does not support launch_type EC2.")
	}
	overrides := TaskOverride{ContainerOverrides: []ContainerOverride{}}
	if in.Overrides != nil {
		overrides = *in.Overrides
		overrides.ContainerOverrides = orEmpty(overrides.ContainerOverrides)
	}
	if err := validateOverrides(&td, &overrides); err != nil {
		return nil, err
	}
	if r.Caller != CallerScheduler {
		task, execution := runRoles(&td, &overrides)
		if err := s.checkPassRoles(ctx, task, execution); err != nil {
			return nil, err
		}
	}
	req, res := requirements(&td, &overrides)
	req.Constraints, req.Strategies, err = compilePlacement(td.PlacementConstraints, in.PlacementConstraints, in.PlacementStrategy)
	if err != nil {
		return nil, err
	}
	network, err := s.resolveNetwork(ctx, &td, in.NetworkConfiguration, fargate)
	if err != nil {
		return nil, err
	}
	if network != nil && !fargate { // a Fargate host serves every zone
		c, err := networkConstraint(network)
		if err != nil {
			return nil, err
		}
		req.Constraints = append(req.Constraints, c)
	}
	req.RequiredAttributes = attributeNames(td.RequiresAttributes)
	req.Group = in.Group
	if req.Group == "" {
		req.Group = "family:" + td.Family
	}
	res.Group = req.Group
	plan := &launchPlan{cluster: cluster, in: in, count: count, td: &td, overrides: overrides, req: req, res: res, network: network, platform: platform}
	// Racing placements retry for a while rather than a fixed number of
	// times, so a burst of calls does not end in a ServerException.
	deadline := time.Now().Add(15 * time.Second)
	for attempt := 0; ; attempt++ {
		out, err := s.tryLaunch(ctx, plan, r.Caller == CallerRunTask)
		if !errors.Is(err, store.ErrConflict) || time.Now().After(deadline) {
			return out, err
		}
		// The conflict may be a concurrent request with the same token
		// having committed first: answer with its tasks.
		if in.ClientToken != "" {
			if out, ok, err := s.replayToken(ctx, cluster, in); ok || err != nil {
				return out, err
			}
		}
		// Back off a random while so racing placements spread out instead
		// of colliding again.
		select {
		case <-time.After(time.Duration(rand.Int64N(int64(time.Millisecond) << min(attempt, 7)))):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// replayToken answers a retried request with the tasks its token created.
func (s *Service) replayToken(ctx context.Context, cluster string, in *RunTaskInput) (*RunTaskOutput, bool, error) {
	it, err := store.Get[tokenRecord](ctx, s.store, s.keys.token("runtask", in.ClientToken))
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if it.Value.TaskDefinition != in.TaskDefinition || it.Value.Cluster != cluster {
		return nil, true, api.Errorf("ConflictException", "The clientToken is already in use with a different RunTask request.")
	}
	out := &RunTaskOutput{Tasks: []Task{}, Failures: []Failure{}}
	for _, id := range it.Value.TaskIDs {
		t, err := store.Get[taskRecord](ctx, s.store, s.keys.task(cluster, id))
		if errors.Is(err, store.ErrNotFound) {
			continue // stopped long ago and collected
		}
		if err != nil {
			return nil, true, err
		}
		out.Tasks = append(out.Tasks, t.Value.Task)
	}
	return out, true, nil
}

func validateOverrides(td *TaskDefinition, o *TaskOverride) error {
	// Task-level overrides replace the reservation outright, so they must be
	// sane numbers: a negative one would hand resources back to the instance.
	for _, f := range []struct{ name, v string }{{"cpu", o.Cpu}, {"memory", o.Memory}} {
		if f.v == "" {
			continue
		}
		if n, err := strconv.Atoi(f.v); err != nil || n < 1 || n > math.MaxInt32 {
			return api.InvalidParameter("Invalid task %s override %q: expected a positive whole number.", f.name, f.v)
		}
	}
	for _, co := range o.ContainerOverrides {
		if !slices.ContainsFunc(td.ContainerDefinitions, func(c ContainerDefinition) bool { return c.Name == co.Name }) {
			return api.InvalidParameter("Override for container named %s is not a container in the TaskDefinition.", co.Name)
		}
		for _, v := range []*int{co.Cpu, co.Memory, co.MemoryReservation} {
			if v != nil && (*v < 0 || *v > math.MaxInt32) {
				return api.InvalidParameter("Container override values must be between 0 and %d.", math.MaxInt32)
			}
		}
	}
	return nil
}

// containerOverride returns the override for a container, if any.
func containerOverride(o *TaskOverride, name string) *ContainerOverride {
	for i := range o.ContainerOverrides {
		if o.ContainerOverrides[i].Name == name {
			return &o.ContainerOverrides[i]
		}
	}
	return nil
}

// requirements computes what one task needs from an instance: task-level
// cpu/memory when set, else the sum of its containers (memoryReservation
// counts when set, as ECS reserves the soft limit).
func requirements(td *TaskDefinition, o *TaskOverride) (placement.Request, reservation) {
	var req placement.Request
	taskCPU, taskMem := td.Cpu, td.Memory
	if o.Cpu != "" {
		taskCPU = o.Cpu
	}
	if o.Memory != "" {
		taskMem = o.Memory
	}
	for _, c := range td.ContainerDefinitions {
		cpu, mem, memRes := c.Cpu, c.Memory, c.MemoryReservation
		if co := containerOverride(o, c.Name); co != nil {
			if co.Cpu != nil {
				cpu = *co.Cpu
			}
			if co.Memory != nil {
				mem = co.Memory
			}
			if co.MemoryReservation != nil {
				memRes = co.MemoryReservation
			}
		}
		req.CPU += cpu
		req.GPU += containerGPUs(&c)
		switch {
		case memRes != nil:
			req.Memory += *memRes
		case mem != nil:
			req.Memory += *mem
		}
		for _, pm := range c.PortMappings {
			// An awsvpc task's ports are its interface's, not the instance's.
			if pm.HostPort == nil || *pm.HostPort == 0 || td.NetworkMode == "awsvpc" {
				continue
			}
			if pm.Protocol == "udp" {
				req.PortsUDP = append(req.PortsUDP, *pm.HostPort)
			} else {
				req.Ports = append(req.Ports, *pm.HostPort)
			}
		}
	}
	if v, err := strconv.Atoi(taskCPU); err == nil {
		req.CPU = v
	}
	if v, err := strconv.Atoi(taskMem); err == nil {
		req.Memory = v
	}
	return req, reservation{CPU: req.CPU, Memory: req.Memory, GPU: req.GPU, Ports: req.Ports, PortsUDP: req.PortsUDP}
}

// tryLaunch places the tasks on the cluster's instances and commits them
// together with the instances' new reservations, conditional on the
// revisions it read; a concurrent placement on the same instances makes it
// return ErrConflict. RunTask calls (batch) are grouped with concurrent
// ones into one transaction; StartTask and the service scheduler, whose
// commits are fenced by its leadership, commit on their own.
func (s *Service) tryLaunch(ctx context.Context, plan *launchPlan, batch bool) (*RunTaskOutput, error) {
	if err := s.cache.start(ctx); err != nil {
		return nil, err
	}
	// The batch shares one view of the cluster among requests; a request
	// limited to its capacity providers' instances places on its own.
	// So does an awsvpc launch, whose interfaces are made as it commits.
	if batch && len(plan.in.shares) == 0 && plan.network == nil {
		return s.launchBatched(plan.cluster, &placeRequest{ctx: ctx, launchPlan: plan, done: make(chan placeResult, 1)})
	}
	p := s.placer(plan.cluster)
	p.mu.Lock()
	defer p.mu.Unlock()
	out, err := s.placeAndCommit(ctx, plan, false)
	if err == nil && len(out.Failures) > 0 || errors.Is(err, errNoInstances) {
		return s.placeFinal(ctx, plan, true)
	}
	return out, err
}

// placeFinal answers a placement that failed on the cache from a fresh
// read of the store (made here with reload, else by the caller after the
// request arrived), so an instance that registered or connected a moment
// ago is never missed. The caller holds the cluster's placer lock.
func (s *Service) placeFinal(ctx context.Context, plan *launchPlan, reload bool) (*RunTaskOutput, error) {
	if reload {
		if err := s.cache.catchUp(ctx, plan.cluster); err != nil {
			return nil, err
		}
	}
	out, err := s.placeAndCommit(ctx, plan, true)
	if errors.Is(err, errNoInstances) {
		return nil, api.InvalidParameter("No Container Instances were found in your cluster.")
	}
	return out, err
}

// errNoInstances marks a cluster without instances to place on.
var errNoInstances = errors.New("no container instances")

// placeAndCommit places on the cached view of the cluster and commits.
// Unless final, it gives up early when anything fails to place, so the
// caller can retry on fresh data; nothing is written then.
func (s *Service) placeAndCommit(ctx context.Context, plan *launchPlan, final bool) (*RunTaskOutput, error) {
	cluster, in, count, req := plan.cluster, plan.in, plan.count, plan.req
	items, connected := s.cache.snapshot(cluster)
	out := &RunTaskOutput{Tasks: []Task{}, Failures: []Failure{}}
	scales := s.scalesFunc(ctx) // whether a provider's tasks may wait for capacity
	var candidates []*cachedInstance
	var candConnected []bool
	// targets holds, for StartTask, the candidate of each named instance in
	// order; an instance named twice is one candidate, so both placements
	// draw on (and write) the same reservation.
	var targets []int
	if len(in.ContainerInstances) > 0 {
		seen := map[string]int{}
		for _, ref := range in.ContainerInstances {
			if c, ok := seen[lastSegment(ref)]; ok {
				targets = append(targets, c)
				continue
			}
			i := slices.IndexFunc(items, func(it *cachedInstance) bool { return it.rec.ID == lastSegment(ref) })
			if i < 0 || items[i].rec.Instance.Status == "INACTIVE" {
				out.Failures = append(out.Failures, Failure{Arn: ref, Reason: "MISSING"})
				continue
			}
			seen[lastSegment(ref)] = len(candidates)
			targets = append(targets, len(candidates))
			candidates = append(candidates, items[i])
			candConnected = append(candConnected, connected[i])
		}
	} else {
		for i, it := range items {
			// Fargate tasks go to the cluster's Fargate host, and only they do.
			if it.rec.Instance.Status != "INACTIVE" && it.rec.fargateHost() == (plan.platform != "") {
				candidates = append(candidates, it)
				candConnected = append(candConnected, connected[i])
			}
		}
		if len(candidates) == 0 && plan.platform == "" && !slices.ContainsFunc(in.shares, func(sh providerShare) bool { return scales(sh.provider) }) {
			return nil, errNoInstances
		}
	}
	views := make([]placement.Instance, len(candidates))
	for i := range candidates {
		views[i] = candidates[i].view
		views[i].Connected = candConnected[i]
		if views[i].Status == fargateHostStatus && plan.platform != "" {
			views[i].Status = "ACTIVE"
		}
	}
	var placed []int
	var providers []string // with a strategy, the provider of each placed task
	var waiting []string   // the provider of each task to wait in PROVISIONING
	if len(in.ContainerInstances) > 0 {
		for _, i := range targets {
			if reason := placement.Explain(&views[i], req); reason != "" || views[i].Status != "ACTIVE" {
				if reason == "" {
					reason = "INACTIVE"
				}
				out.Failures = append(out.Failures, Failure{Arn: views[i].ARN, Reason: reason})
				continue
			}
			placement.Reserve(&views[i], req)
			placed = append(placed, i)
		}
	} else if plan.platform != "" {
		// A Fargate strategy names each task's provider; the tasks all go
		// to the cluster's Fargate host, and wait while the leader
		// launches it.
		names := make([]string, count)
		k := 0
		for _, sh := range in.shares {
			for range sh.count {
				if k < count {
					names[k] = sh.provider
					k++
				}
			}
		}
		if len(views) == 0 {
			waiting = names
		} else {
			result := placement.Place(views, req, count, rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())))
			placed, providers = result.Placed, names[:len(result.Placed)]
			rest := names[len(result.Placed):]
			wait, err := s.waitForSpotRoom(ctx, cluster, candidates, views, req, rest)
			if err != nil {
				return nil, err
			}
			if wait {
				// FARGATE tasks without room wait while Spot tasks are
				// interrupted (see fargate_spot.go).
				waiting = rest
			} else {
				for _, f := range result.Failures {
					out.Failures = append(out.Failures, Failure{Arn: f.ARN, Reason: f.Reason})
				}
			}
		}
	} else if len(in.shares) > 0 {
		var fs []Failure
		placed, providers, fs, waiting = placeShares(views, in.shares, req, func(i int) string { return candidates[i].rec.Instance.CapacityProviderName },
			func(p string) string { return s.arn("capacity-provider/" + p) }, scales, rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())))
		out.Failures = append(out.Failures, fs...)
	} else {
		result := placement.Place(views, req, count, rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())))
		placed = result.Placed
		for _, f := range result.Failures {
			out.Failures = append(out.Failures, Failure{Arn: f.ARN, Reason: f.Reason})
		}
	}
	if (len(out.Failures) > 0 || len(waiting) > 0) && !final {
		// A task that would wait is a failure on the cache: the fresh
		// read may find it room.
		out.Failures = append(out.Failures, Failure{Reason: "RESOURCE:PROVISIONING"})
		return out, nil
	}
	txn := store.NewTxn()
	touched := map[int]*instanceRecord{}
	var ids []string
	made := s.deleteUnless(ctx) // interfaces made for the tasks, deleted if the commit fails
	defer made.release()
	for n, idx := range placed {
		inst := writable(touched, candidates, idx, txn)
		rec := s.newTask(plan, inst)
		if plan.network != nil {
			if err := s.attachInterface(ctx, plan.network, inst, &rec, plan.platform != ""); err != nil {
				return nil, err
			}
			made.add(rec.Interface.ID)
			txn.Put(s.keys.taskInterface(cluster, rec.ID), rec.Interface.ID)
		}
		if providers != nil {
			rec.Task.CapacityProviderName = providers[n]
		}
		inst.Usage.add(plan.res)
		txn.Put(s.keys.task(cluster, rec.ID), rec)
		txn.Put(s.keys.assignment(inst.ID, rec.ID), assignment{TaskID: rec.ID, Cluster: cluster, DesiredStatus: "RUNNING"})
		out.Tasks = append(out.Tasks, rec.Task)
		ids = append(ids, rec.ID)
	}
	for _, provider := range waiting {
		rec := s.newTask(plan, nil)
		rec.Task.CapacityProviderName = provider
		rec.Provisioning = &provisioning{Constraints: in.PlacementConstraints, Strategies: in.PlacementStrategy}
		if plan.network != nil {
			rec.Provisioning.Network = in.NetworkConfiguration
		}
		if rec.Fargate {
			txn.Put(s.keys.fargateWait(cluster, rec.ID), rec.Task.TaskArn)
		}
		txn.Put(s.keys.task(cluster, rec.ID), rec)
		out.Tasks = append(out.Tasks, rec.Task)
		ids = append(ids, rec.ID)
	}
	keys := make([]string, 0, len(touched))
	for idx, inst := range touched {
		putInstance(txn, candidates[idx], inst)
		keys = append(keys, candidates[idx].key)
	}
	if in.ClientToken != "" && len(ids) > 0 {
		key := s.keys.token("runtask", in.ClientToken)
		txn.IfAbsent(key).Put(key, tokenRecord{TaskDefinition: in.TaskDefinition, TaskIDs: ids, Cluster: cluster})
	}
	if txn.Len() == 0 {
		return out, nil
	}
	if _, err := s.commitPlacement(ctx, txn, keys, touched, candidates); err != nil {
		return nil, err
	}
	made.keep() // the tasks hold them now
	for _, t := range out.Tasks {
		s.log.Info("task placed", "cluster", cluster, "task", t.TaskArn, "containerInstance", t.ContainerInstanceArn, "launchType", t.LaunchType)
	}
	if len(waiting) > 0 && plan.platform != "" {
		s.kickFargate()
	}
	return out, nil
}

// writable returns the copy of candidate idx that a placement changes,
// making it on first use and conditioning txn on the cached revision: the
// cached record is shared and must not change in place.
func writable(touched map[int]*instanceRecord, candidates []*cachedInstance, idx int, txn *store.Txn) *instanceRecord {
	if inst, ok := touched[idx]; ok {
		return inst
	}
	v := candidates[idx].rec
	v.Usage = v.Usage.clone()
	touched[idx] = &v
	txn.IfRev(candidates[idx].key, candidates[idx].rev)
	return &v
}

// placementView converts a stored instance to the placement package's view.
func placementView(r *instanceRecord, connected bool) placement.Instance {
	cpu, mem, ports, portsUDP := r.remaining()
	v := placement.Instance{
		ARN: r.Instance.ContainerInstanceArn, EC2InstanceID: r.Instance.Ec2InstanceId, Status: r.Instance.Status,
		Connected: connected, CPU: cpu, Memory: mem, GPU: r.remainingGPUs(), Ports: map[int]bool{}, PortsUDP: map[int]bool{},
		Attributes: map[string]string{}, AgentVersion: r.Instance.VersionInfo.AgentVersion,
		RunningTasks: r.Usage.tasks(), TaskGroups: make(map[string]int, len(r.Usage.Groups)),
	}
	if r.Instance.RegisteredAt != nil {
		v.RegisteredAt = r.Instance.RegisteredAt.Time
	}
	if r.fargateHost() && v.Status == "ACTIVE" {
		v.Status = fargateHostStatus // no EC2 placement takes it
	}
	maps.Copy(v.TaskGroups, r.Usage.Groups)
	for _, p := range ports {
		v.Ports[p] = true
	}
	for _, p := range portsUDP {
		v.PortsUDP[p] = true
	}
	for _, a := range r.Instance.Attributes {
		v.Attributes[a.Name] = ""
		if a.Value != nil {
			v.Attributes[a.Name] = *a.Value
		}
	}
	return v
}

// compilePlacement validates and combines the task definition's and the
// request's constraints (at most 10 together) and the request's strategies
// (at most 5).
func compilePlacement(tdCons, reqCons []PlacementConstraint, strategies []PlacementStrategy) ([]placement.Constraint, []placement.Strategy, error) {
	if len(tdCons)+len(reqCons) > placement.MaxConstraints {
		return nil, nil, api.InvalidParameter("Too many placement constraints: at most %d are allowed, counting the task definition's.", placement.MaxConstraints)
	}
	if len(strategies) > placement.MaxStrategies {
		return nil, nil, api.InvalidParameter("Too many placement strategies: at most %d are allowed.", placement.MaxStrategies)
	}
	var cons []placement.Constraint
	for _, c := range append(slices.Clone(tdCons), reqCons...) {
		pc, err := placement.ParseConstraint(c.Type, c.Expression)
		if err != nil {
			return nil, nil, api.InvalidParameter("%s", err)
		}
		cons = append(cons, pc)
	}
	var strats []placement.Strategy
	for _, st := range strategies {
		ps, err := placement.ParseStrategy(st.Type, st.Field)
		if err != nil {
			return nil, nil, api.InvalidParameter("%s", err)
		}
		strats = append(strats, ps)
	}
	return cons, strats, nil
}

// connectedInstances returns the ids of instances whose agent is connected,
// in one read however large the cluster.
func (s *Service) connectedInstances(ctx context.Context) (map[string]bool, error) {
	keys, err := s.store.Keys(ctx, s.keys.connected(""))
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(keys))
	for _, k := range keys {
		out[lastSegment(k)] = true
	}
	return out, nil
}

// newTask builds the record of a task placed on inst.
func (s *Service) newTask(plan *launchPlan, inst *instanceRecord) taskRecord {
	cluster, in, td, overrides, res := plan.cluster, plan.in, plan.td, plan.overrides, plan.res
	id := newID()
	taskArn := s.arn("task/" + cluster + "/" + id)
	group := in.Group
	if group == "" {
		group = "family:" + td.Family
	}
	now := api.Now()
	t := Task{
		Attachments: []Attachment{}, ClusterArn: s.arn("cluster/" + cluster), CreatedAt: now, DesiredStatus: "RUNNING", LastStatus: "PROVISIONING",
		LaunchType: "EC2", Group: group, Overrides: overrides, StartedBy: in.StartedBy, Tags: orEmpty(in.Tags), TaskArn: taskArn,
		TaskDefinitionArn: td.TaskDefinitionArn, Version: 1, Cpu: strconv.Itoa(res.CPU), Memory: strconv.Itoa(res.Memory),
		HealthStatus: "UNKNOWN", EnableExecuteCommand: in.EnableExecuteCommand,
	}
	instanceID := ""
	if inst != nil {
		// Placed: it goes to the instance's agent at once.
		instanceID, t.LastStatus = inst.ID, "PENDING"
		t.ContainerInstanceArn, t.AvailabilityZone = inst.Instance.ContainerInstanceArn, attributeValue(inst.Instance.Attributes, "ecs.availability-zone")
	}
	if plan.platform != "" {
		fargateTask(&t, td, plan.platform)
	}
	if td.Cpu != "" {
		t.Cpu = td.Cpu
	}
	if td.Memory != "" {
		t.Memory = td.Memory
	}
	if in.EnableECSManagedTags {
		t.Tags = append(t.Tags, Tag{Key: "aws:ecs:clusterName", Value: cluster})
		if svc, ok := strings.CutPrefix(group, "service:"); ok && strings.HasPrefix(in.StartedBy, "ecs-svc/") {
			t.Tags = append(t.Tags, Tag{Key: "aws:ecs:serviceName", Value: svc})
		}
	}
	for _, c := range td.ContainerDefinitions {
		ct := Container{
			ContainerArn: s.arn("container/" + cluster + "/" + id + "/" + newUUID()), TaskArn: taskArn, Name: c.Name, Image: c.Image,
			LastStatus: "PENDING", NetworkBindings: []NetworkBinding{}, NetworkInterfaces: []NetworkInterface{}, Cpu: strconv.Itoa(c.Cpu),
		}
		if c.HealthCheck != nil {
			ct.HealthStatus = "UNKNOWN"
		}
		if c.Memory != nil {
			ct.Memory = strconv.Itoa(*c.Memory)
		}
		if c.MemoryReservation != nil {
			ct.MemoryReservation = strconv.Itoa(*c.MemoryReservation)
		}
		t.Containers = append(t.Containers, ct)
	}
	return taskRecord{ID: id, Cluster: cluster, InstanceID: instanceID, Family: td.Family, Revision: td.Revision, Reservation: res, Task: t,
		Credentials: newTaskCredentials(td, &overrides), Fargate: plan.platform != ""}
}

func attributeValue(attrs []Attribute, name string) string {
	for _, a := range attrs {
		if a.Name == name && a.Value != nil {
			return *a.Value
		}
	}
	return ""
}

// newUUID returns a random UUID, as ECS uses in container ARNs.
func newUUID() string { return api.NewRequestID() }

// referencedTask resolves a request's cluster and task; a task that does
// not exist is ECS's InvalidParameterException.
func (s *Service) referencedTask(ctx context.Context, cluster, ref string) (store.Item[taskRecord], error) {
	cl, err := s.activeCluster(ctx, cluster)
	if err != nil {
		return store.Item[taskRecord]{}, err
	}
	it, found, err := s.findTask(ctx, cl.Value.Name, ref)
	if err == nil && !found {
		err = api.InvalidParameter("The referenced task was not found.")
	}
	return it, err
}

// findTask resolves a task reference (ARN or id) within a cluster.
func (s *Service) findTask(ctx context.Context, cluster, ref string) (store.Item[taskRecord], bool, error) {
	id := lastSegment(ref)
	if id == "" || strings.ContainsAny(id, ":") {
		return store.Item[taskRecord]{}, false, nil
	}
	it, err := store.Get[taskRecord](ctx, s.store, s.keys.task(cluster, id))
	if errors.Is(err, store.ErrNotFound) {
		return it, false, nil
	}
	return it, err == nil, err
}

type StopTaskInput struct {
	Cluster string `json:"cluster"`
	Task    string `json:"task"`
	Reason  string `json:"reason"`
}

type StopTaskOutput struct {
	Task Task `json:"task"`
}

// StopTask asks the task's agent to stop it: SIGTERM, then SIGKILL after
// the containers' stopTimeout.
func (s *Service) StopTask(ctx context.Context, in *StopTaskInput) (*StopTaskOutput, error) {
	if in.Task == "" {
		return nil, api.InvalidParameter("task is required.")
	}
	if len(in.Reason) > 255 {
		return nil, api.InvalidParameter("reason can be at most 255 characters.")
	}
	it, err := s.referencedTask(ctx, in.Cluster, in.Task)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "StopTask", it.Value.Task.TaskArn); err != nil {
		return nil, err
	}
	reason := in.Reason
	if reason == "" {
		reason = "Task stopped by user"
	}
	rec, err := s.requestStop(ctx, it.Key, "UserInitiated", reason)
	if err != nil {
		return nil, err
	}
	return &StopTaskOutput{Task: rec.Task}, nil
}

// requestStop sets a task's desired status to STOPPED and tells its agent.
func (s *Service) requestStop(ctx context.Context, key, code, reason string) (taskRecord, error) {
	for {
		it, err := store.Get[taskRecord](ctx, s.store, key)
		if err != nil {
			return taskRecord{}, err
		}
		rec := it.Value
		if rec.Task.DesiredStatus == "STOPPED" {
			return rec, nil
		}
		if rec.InstanceID == "" {
			// Waiting in PROVISIONING: no agent to tell, it stops here.
			if err := s.markStopped(ctx, key, code, reason); err != nil {
				return rec, err
			}
			continue
		}
		rec.Task.DesiredStatus = "STOPPED"
		rec.Task.StopCode = code
		rec.Task.StoppedReason = reason
		rec.Task.StoppingAt = api.Now()
		rec.Task.Version++
		txn := store.NewTxn().IfRev(key, it.Rev).Put(key, rec).
			Put(s.keys.assignment(rec.InstanceID, rec.ID), assignment{TaskID: rec.ID, Cluster: rec.Cluster, DesiredStatus: "STOPPED"})
		if err := s.store.Commit(ctx, txn); errors.Is(err, store.ErrConflict) {
			continue
		} else if err != nil {
			return rec, err
		}
		s.log.Info("task stop requested", "task", rec.Task.TaskArn, "stopCode", code, "reason", reason)
		return rec, nil
	}
}

type DescribeTasksInput struct {
	Cluster string   `json:"cluster"`
	Tasks   []string `json:"tasks"`
	Include []string `json:"include"`
}

type DescribeTasksOutput struct {
	Tasks    []Task    `json:"tasks"`
	Failures []Failure `json:"failures"`
}

// DescribeTasks describes up to 100 tasks; unknown ones are MISSING failures.
func (s *Service) DescribeTasks(ctx context.Context, in *DescribeTasksInput) (*DescribeTasksOutput, error) {
	if len(in.Tasks) == 0 {
		return nil, api.InvalidParameter("Tasks cannot be empty.")
	}
	if len(in.Tasks) > 100 {
		return nil, api.InvalidParameter("At most 100 tasks can be described at once.")
	}
	cl, err := s.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	out := &DescribeTasksOutput{Tasks: []Task{}, Failures: []Failure{}}
	for _, ref := range in.Tasks {
		it, found, err := s.findTask(ctx, cl.Value.Name, ref)
		if err != nil {
			return nil, err
		}
		if !found {
			arn := ref
			if !strings.HasPrefix(ref, "arn:") {
				arn = s.arn("task/" + cl.Value.Name + "/" + ref)
			}
			out.Failures = append(out.Failures, Failure{Arn: arn, Reason: "MISSING"})
			continue
		}
		if err := s.authorize(ctx, "DescribeTasks", it.Value.Task.TaskArn); err != nil {
			return nil, err
		}
		t := it.Value.Task
		if !slices.Contains(in.Include, "TAGS") {
			t.Tags = nil
		}
		out.Tasks = append(out.Tasks, t)
	}
	return out, nil
}

type ListTasksInput struct {
	Cluster           string  `json:"cluster"`
	ContainerInstance string  `json:"containerInstance"`
	Family            string  `json:"family"`
	StartedBy         string  `json:"startedBy"`
	ServiceName       string  `json:"serviceName"`
	DesiredStatus     string  `json:"desiredStatus"`
	LaunchType        string  `json:"launchType"`
	NextToken         *string `json:"nextToken"`
	MaxResults        *int    `json:"maxResults"`
}

type ListTasksOutput struct {
	TaskArns  []string `json:"taskArns"`
	NextToken *string  `json:"nextToken,omitempty"`
}

// ListTasks lists task ARNs matching every given filter; desiredStatus defaults to RUNNING.
func (s *Service) ListTasks(ctx context.Context, in *ListTasksInput) (*ListTasksOutput, error) {
	cl, err := s.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "ListTasks", s.arn("container-instance/"+cl.Value.Name+"/*")); err != nil {
		return nil, err
	}
	desired := in.DesiredStatus
	if desired == "" {
		desired = "RUNNING"
	}
	if !slices.Contains([]string{"RUNNING", "PENDING", "STOPPED"}, desired) {
		return nil, api.InvalidParameter("Invalid desiredStatus %q: valid values are RUNNING, PENDING and STOPPED.", in.DesiredStatus)
	}
	if in.Family != "" && in.ServiceName != "" {
		return nil, api.InvalidParameter("family and serviceName cannot be specified together.")
	}
	items, err := store.List[taskRecord](ctx, s.store, s.keys.tasks(cl.Value.Name))
	if err != nil {
		return nil, err
	}
	var arns []string
	for _, it := range items {
		t := &it.Value
		switch {
		// desiredStatus is never PENDING, so filtering on it lists nothing, as in ECS.
		case t.Task.DesiredStatus != desired:
		case in.Family != "" && t.Family != in.Family:
		case in.StartedBy != "" && t.Task.StartedBy != in.StartedBy:
		case in.ServiceName != "" && t.Task.Group != "service:"+in.ServiceName:
		case in.LaunchType != "" && t.Task.LaunchType != in.LaunchType:
		case in.ContainerInstance != "" && t.InstanceID != lastSegment(in.ContainerInstance):
		default:
			arns = append(arns, t.Task.TaskArn)
		}
	}
	slices.Sort(arns)
	page, next, err := api.Paginate(arns, in.NextToken, in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	return &ListTasksOutput{TaskArns: orEmpty(page), NextToken: next}, nil
}

// taskDefinitionOf loads the definition a task was started from. What a
// task is started with never changes once a revision is registered (only
// its status does), so each revision is read from the store once.
func (s *Service) taskDefinitionOf(ctx context.Context, t *taskRecord) (TaskDefinition, error) {
	td, err := s.revision(ctx, t.Family, t.Revision)
	if err != nil {
		return TaskDefinition{}, fmt.Errorf("task definition of %s: %w", t.ID, err)
	}
	return td, nil
}

// revision returns one task definition revision, read from the store once.
func (s *Service) revision(ctx context.Context, family string, rev int) (TaskDefinition, error) {
	key := s.keys.taskDef(family, rev)
	if td, ok := s.taskDefs.Load(key); ok {
		return td.(TaskDefinition), nil
	}
	it, err := store.Get[taskDefRecord](ctx, s.store, key)
	if err != nil {
		return TaskDefinition{}, err
	}
	if s.taskDefCount.Add(1) > maxCachedTaskDefs {
		s.taskDefs.Clear()
		s.taskDefCount.Store(0)
	}
	s.taskDefs.Store(key, it.Value.TaskDefinition)
	return it.Value.TaskDefinition, nil
}

// maxCachedTaskDefs bounds the revisions taskDefinitionOf keeps.
const maxCachedTaskDefs = 4096
