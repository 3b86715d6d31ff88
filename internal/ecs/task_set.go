package ecs

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"math/big"
	"slices"

	"github.com/berth-dev/berth/internal/api"
)

// Task sets: a service whose deployment controller is EXTERNAL or
// CODE_DEPLOY runs its tasks in task sets instead of deployments. Each
// task set keeps ceil(desiredCount × scale%) tasks of its own task
// definition running (task_set_scheduler.go); the deployment controller
// moves traffic between them by their load balancers and by which one is
// PRIMARY. Task sets are stored on their service's record, so that one
// transaction changes a service and its task sets together.

// Deployment controller types (DeploymentControllerType).
const (
	controllerECS        = "ECS"
	controllerCodeDeploy = "CODE_DEPLOY"
	controllerExternal   = "EXTERNAL"
)

// TaskSet is ECS's TaskSet shape.
type TaskSet struct {
	Id                       string                         `json:"id"`
	TaskSetArn               string                         `json:"taskSetArn"`
	ServiceArn               string                         `json:"serviceArn"`
	ClusterArn               string                         `json:"clusterArn"`
	StartedBy                string                         `json:"startedBy,omitempty"`
	ExternalId               string                         `json:"externalId,omitempty"`
	Status                   string                         `json:"status"`
	TaskDefinition           string                         `json:"taskDefinition"`
	ComputedDesiredCount     int                            `json:"computedDesiredCount"`
	PendingCount             int                            `json:"pendingCount"`
	RunningCount             int                            `json:"runningCount"`
	CreatedAt                *api.Timestamp                 `json:"createdAt"`
	UpdatedAt                *api.Timestamp                 `json:"updatedAt"`
	LaunchType               string                         `json:"launchType,omitempty"`
	CapacityProviderStrategy []CapacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	PlatformVersion          string                         `json:"platformVersion,omitempty"`
	NetworkConfiguration     *NetworkConfiguration          `json:"networkConfiguration,omitempty"`
	LoadBalancers            []LoadBalancer                 `json:"loadBalancers"`
	ServiceRegistries        []ServiceRegistry              `json:"serviceRegistries"`
	Scale                    Scale                          `json:"scale"`
	StabilityStatus          string                         `json:"stabilityStatus"`
	StabilityStatusAt        *api.Timestamp                 `json:"stabilityStatusAt"`
	Tags                     []Tag                          `json:"tags,omitempty"`
}

// Scale is a task set's share of its service's desired count.
type Scale struct {
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// computedCount is ceil(desired × scale%), as the TaskSet shape documents.
func computedCount(desired int, sc Scale) int {
	return int(math.Ceil(float64(desired) * sc.Value / 100))
}

// checkScale accepts a scale of 0 to 100 PERCENT (the Scale shape's
// documented bounds); a scale left out is 100 PERCENT.
func checkScale(sc *Scale) (Scale, error) {
	if sc == nil {
		return Scale{Value: 100, Unit: "PERCENT"}, nil
	}
	out := Scale{Value: sc.Value, Unit: cmp.Or(sc.Unit, "PERCENT")}
	if out.Unit != "PERCENT" {
		return out, api.InvalidParameter("Invalid scale unit %q: the only valid value is PERCENT.", sc.Unit)
	}
	if math.IsNaN(out.Value) || out.Value < 0 || out.Value > 100 {
		return out, api.InvalidParameter("Invalid scale value %v: accepted values are numbers between 0 and 100.", sc.Value)
	}
	return out, nil
}

// controller returns a service's deployment controller type.
func (svc *ECSService) controller() string {
	if svc.DeploymentController == nil || svc.DeploymentController.Type == "" {
		return controllerECS
	}
	return svc.DeploymentController.Type
}

// hasTaskSets reports whether the service runs task sets rather than
// deployments.
func (svc *ECSService) hasTaskSets() bool { return svc.controller() != controllerECS }

// newDeploymentID returns an id as ECS gives deployments and task sets.
func newDeploymentID() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(9e18))
	return fmt.Sprintf("ecs-svc/%019d", n)
}

// taskSetIndex finds a task set by id or ARN.
func taskSetIndex(svc *ECSService, ref string) int {
	return slices.IndexFunc(svc.TaskSets, func(ts TaskSet) bool { return ts.Id == ref || ts.TaskSetArn == ref })
}

// taskSetSpec is what a task set runs, checked against its service.
type taskSetSpec struct {
	ExternalId               string
	TaskDefinition           string
	NetworkConfiguration     *NetworkConfiguration
	LoadBalancers            []LoadBalancer
	LaunchType               string
	CapacityProviderStrategy []CapacityProviderStrategyItem
	PlatformVersion          string
	Scale                    *Scale
	Tags                     []Tag
}

// newTaskSet checks spec against the cluster and returns the task set it
// describes, with status.
func (s *Service) newTaskSet(ctx context.Context, cl *clusterRecord, rec *serviceRecord, spec taskSetSpec, status, startedBy string) (TaskSet, error) {
	if err := checkLaunchType(spec.LaunchType, spec.CapacityProviderStrategy); err != nil {
		return TaskSet{}, err
	}
	sc, err := checkScale(spec.Scale)
	if err != nil {
		return TaskSet{}, err
	}
	cps := effectiveStrategy(cl, spec.LaunchType, spec.CapacityProviderStrategy)
	fargate, err := fargateStrategy(cps)
	if err != nil {
		return TaskSet{}, err
	}
	fargate = fargate || spec.LaunchType == string(launchFargate)
	if _, err := platformVersion(spec.PlatformVersion, fargate); err != nil {
		return TaskSet{}, err
	}
	if len(cps) > 0 {
		if err := checkStrategyFor(cl, cps); err != nil {
			return TaskSet{}, err
		}
	}
	if len(spec.ExternalId) > 255 {
		return TaskSet{}, api.InvalidParameter("externalId can be at most 255 characters.")
	}
	if err := checkServiceMisc(nil, "", spec.LoadBalancers); err != nil {
		return TaskSet{}, err
	}
	if err := validateTags(spec.Tags); err != nil {
		return TaskSet{}, err
	}
	td, err := s.activeTaskDef(ctx, spec.TaskDefinition)
	if err != nil {
		return TaskSet{}, err
	}
	if _, err := s.resolveNetwork(ctx, &td, spec.NetworkConfiguration, fargate); err != nil {
		return TaskSet{}, err
	}
	platform := ""
	if fargate {
		check := &RunTaskInput{PlacementConstraints: rec.Service.PlacementConstraints, PlacementStrategy: rec.Service.PlacementStrategy, PlatformVersion: spec.PlatformVersion}
		if platform, err = s.checkFargate(check, &td); err != nil {
			return TaskSet{}, err
		}
	} else if !launchEC2.runs(&td) {
		return TaskSet{}, api.InvalidParameter("Task definition does not support launch_type EC2.")
	}
	if err := s.checkLoadBalancers(ctx, spec.LoadBalancers, &td); err != nil {
		return TaskSet{}, err
	}
	network := spec.NetworkConfiguration
	if !network.given() {
		network = nil
	}
	id, now := newDeploymentID(), api.Now()
	ts := TaskSet{
		Id: id, TaskSetArn: s.arn("task-set/" + rec.Cluster + "/" + rec.Name + "/" + id), ServiceArn: rec.Service.ServiceArn,
		ClusterArn: rec.Service.ClusterArn, StartedBy: startedBy, ExternalId: spec.ExternalId, Status: status,
		TaskDefinition: td.TaskDefinitionArn, ComputedDesiredCount: computedCount(rec.Service.DesiredCount, sc),
		CreatedAt: now, UpdatedAt: now, LaunchType: cmp.Or(spec.LaunchType, "EC2"), PlatformVersion: platform,
		NetworkConfiguration: network, LoadBalancers: orEmpty(spec.LoadBalancers), ServiceRegistries: []ServiceRegistry{},
		Scale: sc, StabilityStatus: "STABILIZING", StabilityStatusAt: now, Tags: spec.Tags,
	}
	if len(cps) > 0 {
		ts.LaunchType, ts.CapacityProviderStrategy = "", cps
	}
	return ts, nil
}

// promote makes the task set at i the service's PRIMARY one: the service
// then reports the task set's definition, compute, network and load
// balancers as its own, as the external deployment type documents.
func promote(svc *ECSService, i int) {
	now := api.Now()
	for j := range svc.TaskSets {
		if j != i && svc.TaskSets[j].Status == "PRIMARY" {
			svc.TaskSets[j].Status, svc.TaskSets[j].UpdatedAt = "ACTIVE", now
		}
	}
	ts := &svc.TaskSets[i]
	ts.Status, ts.UpdatedAt = "PRIMARY", now
	svc.TaskDefinition, svc.LaunchType, svc.CapacityProviderStrategy = ts.TaskDefinition, ts.LaunchType, ts.CapacityProviderStrategy
	svc.PlatformVersion, svc.NetworkConfiguration, svc.LoadBalancers = ts.PlatformVersion, ts.NetworkConfiguration, ts.LoadBalancers
}
