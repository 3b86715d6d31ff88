package ecs

import (
	"context"
	"slices"
	"strings"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// The task set operations: each checks its service and authorizes, then
// changes the task set on the service's record; the scheduler
// (task_set_scheduler.go) makes it so.

type CreateTaskSetInput struct {
	Service                  string                         `json:"service"`
	Cluster                  string                         `json:"cluster"`
	ExternalId               string                         `json:"externalId"`
	TaskDefinition           string                         `json:"taskDefinition"`
	NetworkConfiguration     *NetworkConfiguration          `json:"networkConfiguration"`
	LoadBalancers            []LoadBalancer                 `json:"loadBalancers"`
	ServiceRegistries        []ServiceRegistry              `json:"serviceRegistries"`
	LaunchType               string                         `json:"launchType"`
	CapacityProviderStrategy []CapacityProviderStrategyItem `json:"capacityProviderStrategy"`
	PlatformVersion          string                         `json:"platformVersion"`
	Scale                    *Scale                         `json:"scale"`
	ClientToken              string                         `json:"clientToken"`
	Tags                     []Tag                          `json:"tags"`
}

type TaskSetOutput struct {
	TaskSet *TaskSet `json:"taskSet"`
}

// taskSetService resolves the service a task set operation names,
// authorizes op on resource (the service's ARN when resource is ""), and
// checks that the service takes task set operations: they are for
// services of the EXTERNAL deployment controller, as the API reference
// says of each of them. The wording of the refusal is Berth's; AWS
// documents the rule, not the message.
func (s *Service) taskSetService(ctx context.Context, op, cluster, service string) (store.Item[serviceRecord], *clusterRecord, error) {
	if cluster == "" {
		return store.Item[serviceRecord]{}, nil, api.InvalidParameter("cluster is required.")
	}
	if service == "" {
		return store.Item[serviceRecord]{}, nil, api.InvalidParameter("service is required.")
	}
	cl, err := s.activeCluster(ctx, cluster)
	if err != nil {
		return store.Item[serviceRecord]{}, nil, err
	}
	it, err := s.findService(ctx, cl.Value.Name, service)
	if err != nil {
		return it, nil, err
	}
	if it.Value.Service.Status != "ACTIVE" {
		return it, nil, api.Errorf("ServiceNotActiveException", "Service was not ACTIVE.")
	}
	if op != "DescribeTaskSets" && it.Value.Service.controller() != controllerExternal {
		return it, nil, api.InvalidParameter("Task sets can be managed only on services that use the EXTERNAL deployment controller; service %s uses %s.",
			it.Value.Name, it.Value.Service.controller())
	}
	if op == "DescribeTaskSets" && !it.Value.Service.hasTaskSets() {
		return it, nil, api.InvalidParameter("Service %s uses the ECS deployment controller, which has deployments, not task sets.", it.Value.Name)
	}
	return it, &cl.Value, nil
}

// CreateTaskSet adds an ACTIVE task set to an EXTERNAL service; the
// scheduler starts its tasks. A retry with the same clientToken gets the
// task set it created back.
func (s *Service) CreateTaskSet(ctx context.Context, in *CreateTaskSetInput) (*TaskSetOutput, error) {
	if in.TaskDefinition == "" {
		return nil, api.InvalidParameter("taskDefinition is required.")
	}
	if len(in.ClientToken) > 32 {
		return nil, api.InvalidParameter("clientToken can have up to 32 ASCII characters.")
	}
	it, cl, err := s.taskSetService(ctx, "CreateTaskSet", in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "CreateTaskSet", it.Value.Service.ServiceArn); err != nil {
		return nil, err
	}
	if err := refuseNotYet(map[string]bool{"serviceRegistries": len(in.ServiceRegistries) > 0}); err != nil {
		return nil, err
	}
	if in.ClientToken != "" {
		if id, ok := it.Value.TaskSetTokens[in.ClientToken]; ok {
			if i := taskSetIndex(&it.Value.Service, id); i >= 0 {
				ts := it.Value.Service.TaskSets[i]
				return &TaskSetOutput{TaskSet: &ts}, nil
			}
		}
	}
	ts, err := s.newTaskSet(ctx, cl, &it.Value, taskSetSpec{ExternalId: in.ExternalId, TaskDefinition: in.TaskDefinition,
		NetworkConfiguration: in.NetworkConfiguration, LoadBalancers: in.LoadBalancers, LaunchType: in.LaunchType,
		CapacityProviderStrategy: in.CapacityProviderStrategy, PlatformVersion: in.PlatformVersion, Scale: in.Scale, Tags: in.Tags}, "ACTIVE", "")
	if err != nil {
		return nil, err
	}
	var replay *TaskSet
	_, err = store.Update(ctx, s.store, it.Key, func(r *serviceRecord) error {
		replay = nil
		if r.Service.Status != "ACTIVE" {
			return api.Errorf("ServiceNotActiveException", "Service was not ACTIVE.")
		}
		if in.ClientToken != "" {
			if i := taskSetIndex(&r.Service, r.TaskSetTokens[in.ClientToken]); i >= 0 {
				replay = &r.Service.TaskSets[i]
				return errReadOnly
			}
			if r.TaskSetTokens == nil {
				r.TaskSetTokens = map[string]string{}
			}
			r.TaskSetTokens[in.ClientToken] = ts.Id
		}
		ts.ComputedDesiredCount = computedCount(r.Service.DesiredCount, ts.Scale)
		r.Service.TaskSets = append(r.Service.TaskSets, ts)
		r.Steady = false
		return nil
	})
	if replay != nil {
		return &TaskSetOutput{TaskSet: replay}, nil
	}
	if err != nil {
		return nil, err
	}
	s.log.Info("task set created", "taskSet", ts.TaskSetArn, "taskDefinition", ts.TaskDefinition, "scale", ts.Scale.Value)
	s.kickScheduler()
	return &TaskSetOutput{TaskSet: &ts}, nil
}

type DescribeTaskSetsInput struct {
	Cluster  string   `json:"cluster"`
	Service  string   `json:"service"`
	TaskSets []string `json:"taskSets"`
	Include  []string `json:"include"`
}

type DescribeTaskSetsOutput struct {
	TaskSets []TaskSet `json:"taskSets"`
	Failures []Failure `json:"failures"`
}

// DescribeTaskSets describes the named task sets of a service, or all of
// them; unknown ones are MISSING failures. Tags come with include TAGS.
func (s *Service) DescribeTaskSets(ctx context.Context, in *DescribeTaskSetsInput) (*DescribeTaskSetsOutput, error) {
	for _, f := range in.Include {
		if f != "TAGS" {
			return nil, api.InvalidParameter("Invalid include %q: the only valid value is TAGS.", f)
		}
	}
	it, _, err := s.taskSetService(ctx, "DescribeTaskSets", in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "DescribeTaskSets", it.Value.Service.ServiceArn); err != nil {
		return nil, err
	}
	out := &DescribeTaskSetsOutput{TaskSets: []TaskSet{}, Failures: []Failure{}}
	tags := slices.Contains(in.Include, "TAGS")
	add := func(ts TaskSet) {
		if !tags {
			ts.Tags = nil
		}
		out.TaskSets = append(out.TaskSets, ts)
	}
	if len(in.TaskSets) == 0 {
		for _, ts := range it.Value.Service.TaskSets {
			add(ts)
		}
		return out, nil
	}
	for _, ref := range in.TaskSets {
		if i := taskSetIndex(&it.Value.Service, ref); i >= 0 {
			add(it.Value.Service.TaskSets[i])
			continue
		}
		arn := ref
		if !strings.HasPrefix(ref, "arn:") {
			arn = s.arn("task-set/" + it.Value.Cluster + "/" + it.Value.Name + "/" + ref)
		}
		out.Failures = append(out.Failures, Failure{Arn: arn, Reason: "MISSING"})
	}
	return out, nil
}

type UpdateTaskSetInput struct {
	Cluster string `json:"cluster"`
	Service string `json:"service"`
	TaskSet string `json:"taskSet"`
	Scale   *Scale `json:"scale"`
}

// UpdateTaskSet changes a task set's scale; the scheduler starts or stops
// its tasks to match.
func (s *Service) UpdateTaskSet(ctx context.Context, in *UpdateTaskSetInput) (*TaskSetOutput, error) {
	if in.Scale == nil {
		return nil, api.InvalidParameter("scale is required.")
	}
	sc, err := checkScale(in.Scale)
	if err != nil {
		return nil, err
	}
	return s.changeTaskSet(ctx, "UpdateTaskSet", in.Cluster, in.Service, in.TaskSet, func(svc *ECSService, i int) error {
		ts := &svc.TaskSets[i]
		ts.Scale, ts.UpdatedAt = sc, api.Now()
		ts.ComputedDesiredCount = computedCount(svc.DesiredCount, sc)
		return nil
	})
}

type DeleteTaskSetInput struct {
	Cluster string `json:"cluster"`
	Service string `json:"service"`
	TaskSet string `json:"taskSet"`
	Force   *bool  `json:"force"`
}

// DeleteTaskSet turns a task set DRAINING: the scheduler stops its tasks
// (their targets deregister and drain first) and then forgets it. A task
// set still scaled above zero, or the PRIMARY one, is deleted only with
// force; the wording of those refusals is Berth's (AWS documents force,
// not its message).
func (s *Service) DeleteTaskSet(ctx context.Context, in *DeleteTaskSetInput) (*TaskSetOutput, error) {
	force := in.Force != nil && *in.Force
	return s.changeTaskSet(ctx, "DeleteTaskSet", in.Cluster, in.Service, in.TaskSet, func(svc *ECSService, i int) error {
		ts := &svc.TaskSets[i]
		switch {
		case ts.Status == "DRAINING":
			return api.Errorf("TaskSetNotFoundException", "The specified task set is already being deleted.")
		case !force && ts.Status == "PRIMARY":
			return api.InvalidParameter("Task set %s is the service's PRIMARY task set; set force to delete it.", ts.Id)
		case !force && ts.ComputedDesiredCount > 0:
			return api.InvalidParameter("Task set %s cannot be deleted while it is scaled above 0; scale it to 0 first or set force.", ts.Id)
		}
		ts.Status, ts.ComputedDesiredCount, ts.UpdatedAt = "DRAINING", 0, api.Now()
		return nil
	})
}

type UpdateServicePrimaryTaskSetInput struct {
	Cluster        string `json:"cluster"`
	Service        string `json:"service"`
	PrimaryTaskSet string `json:"primaryTaskSet"`
}

// UpdateServicePrimaryTaskSet makes a task set PRIMARY; the former
// primary turns ACTIVE.
func (s *Service) UpdateServicePrimaryTaskSet(ctx context.Context, in *UpdateServicePrimaryTaskSetInput) (*TaskSetOutput, error) {
	return s.changeTaskSet(ctx, "UpdateServicePrimaryTaskSet", in.Cluster, in.Service, in.PrimaryTaskSet, func(svc *ECSService, i int) error {
		if svc.TaskSets[i].Status == "DRAINING" {
			return api.InvalidParameter("Task set %s is being deleted and cannot become the primary task set.", svc.TaskSets[i].Id)
		}
		promote(svc, i)
		return nil
	})
}

// changeTaskSet applies change to one task set of a service. Task set
// operations are authorized on the task set's ARN, except
// UpdateServicePrimaryTaskSet, whose resource is the service.
func (s *Service) changeTaskSet(ctx context.Context, op, cluster, service, ref string, change func(*ECSService, int) error) (*TaskSetOutput, error) {
	if ref == "" {
		return nil, api.InvalidParameter("taskSet is required.")
	}
	it, _, err := s.taskSetService(ctx, op, cluster, service)
	if err != nil {
		return nil, err
	}
	i := taskSetIndex(&it.Value.Service, ref)
	if i < 0 {
		return nil, api.Errorf("TaskSetNotFoundException", "The specified task set wasn't found.")
	}
	resource := it.Value.Service.TaskSets[i].TaskSetArn
	if op == "UpdateServicePrimaryTaskSet" {
		resource = it.Value.Service.ServiceArn
	}
	if err := s.authorize(ctx, op, resource); err != nil {
		return nil, err
	}
	var out TaskSet
	_, err = store.Update(ctx, s.store, it.Key, func(r *serviceRecord) error {
		if r.Service.Status != "ACTIVE" {
			return api.Errorf("ServiceNotActiveException", "Service was not ACTIVE.")
		}
		i := taskSetIndex(&r.Service, ref)
		if i < 0 {
			return api.Errorf("TaskSetNotFoundException", "The specified task set wasn't found.")
		}
		if err := change(&r.Service, i); err != nil {
			return err
		}
		r.Steady = false
		out = r.Service.TaskSets[i]
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("task set changed", "operation", op, "taskSet", out.TaskSetArn, "status", out.Status, "scale", out.Scale.Value)
	s.kickScheduler()
	out.Tags = nil
	return &TaskSetOutput{TaskSet: &out}, nil
}
