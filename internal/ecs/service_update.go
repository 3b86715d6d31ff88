package ecs

import (
	"context"
	"errors"
	"reflect"
	"slices"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

type UpdateServiceInput struct {
	Cluster                       string                         `json:"cluster"`
	Service                       string                         `json:"service"`
	DesiredCount                  *int                           `json:"desiredCount"`
	TaskDefinition                string                         `json:"taskDefinition"`
	CapacityProviderStrategy      []CapacityProviderStrategyItem `json:"capacityProviderStrategy"`
	DeploymentConfiguration       *DeploymentConfiguration       `json:"deploymentConfiguration"`
	PlacementConstraints          []PlacementConstraint          `json:"placementConstraints"`
	PlacementStrategy             []PlacementStrategy            `json:"placementStrategy"`
	ForceNewDeployment            bool                           `json:"forceNewDeployment"`
	HealthCheckGracePeriodSeconds *int                           `json:"healthCheckGracePeriodSeconds"`
	EnableExecuteCommand          *bool                          `json:"enableExecuteCommand"`
	EnableECSManagedTags          *bool                          `json:"enableECSManagedTags"`
	LoadBalancers                 []LoadBalancer                 `json:"loadBalancers"`
	PropagateTags                 string                         `json:"propagateTags"`
	NetworkConfiguration          *NetworkConfiguration          `json:"networkConfiguration"`
	PlatformVersion               string                         `json:"platformVersion"`
	ServiceRegistries             []ServiceRegistry              `json:"serviceRegistries"`
	ServiceConnectConfiguration   *ServiceConnectConfiguration   `json:"serviceConnectConfiguration"`
}

// UpdateService changes a service. A new task definition, new placement
// or forceNewDeployment starts a new PRIMARY deployment; the previous one
// becomes ACTIVE and its tasks are replaced within the deployment bounds.
func (s *Service) UpdateService(ctx context.Context, in *UpdateServiceInput) (*ServiceOutput, error) {
	it, err := s.serviceFor(ctx, "UpdateService", in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	if err := checkServiceMisc(in.HealthCheckGracePeriodSeconds, in.PropagateTags, in.LoadBalancers); err != nil {
		return nil, err
	}
	if err := checkControllerUpdate(in, &it.Value.Service); err != nil {
		return nil, err
	}
	platform, err := platformVersion(in.PlatformVersion, it.Value.Service.fargate())
	if err != nil {
		return nil, err
	}
	if err := refuseNotYet(map[string]bool{"serviceRegistries": len(in.ServiceRegistries) > 0,
		"serviceConnectConfiguration": in.ServiceConnectConfiguration != nil && in.ServiceConnectConfiguration.Enabled}); err != nil {
		return nil, err
	}
	if len(in.CapacityProviderStrategy) > 0 {
		if it.Value.Service.SchedulingStrategy == "DAEMON" {
			return nil, api.InvalidParameter("The daemon scheduling strategy does not support capacity providers.")
		}
		cl, err := s.activeCluster(ctx, it.Value.Cluster)
		if err != nil {
			return nil, err
		}
		if err := checkStrategyFor(&cl.Value, in.CapacityProviderStrategy); err != nil {
			return nil, err
		}
	}
	var td *TaskDefinition
	if in.TaskDefinition != "" {
		def, err := s.activeTaskDef(ctx, in.TaskDefinition)
		if err != nil {
			return nil, err
		}
		td = &def
	}
	for {
		rec := it.Value
		svc := &rec.Service
		if svc.Status != "ACTIVE" {
			return nil, api.Errorf("ServiceNotActiveException", "Service was not ACTIVE.")
		}
		if in.DesiredCount != nil {
			if svc.SchedulingStrategy == "DAEMON" {
				return nil, api.InvalidParameter("The daemon scheduling strategy does not support a desired count for services.")
			}
			if *in.DesiredCount < 0 {
				return nil, api.InvalidParameter("Invalid desiredCount %d: the desired count must be zero or greater.", *in.DesiredCount)
			}
		}
		dc, err := deploymentConfig(svc.SchedulingStrategy, in.DeploymentConfiguration, &svc.DeploymentConfiguration)
		if err != nil {
			return nil, err
		}
		cons, strats := svc.PlacementConstraints, svc.PlacementStrategy
		if in.PlacementConstraints != nil {
			cons = in.PlacementConstraints
		}
		if in.PlacementStrategy != nil {
			strats = in.PlacementStrategy
		}
		if err := checkServicePlacement(svc.SchedulingStrategy, cons, strats); err != nil {
			return nil, err
		}
		// A new strategy places the service's tasks anew; so does a new
		// network configuration, checked against the task definition the
		// service is to run.
		newStrategy := len(in.CapacityProviderStrategy) > 0 && !slices.Equal(in.CapacityProviderStrategy, svc.CapacityProviderStrategy)
		network := svc.NetworkConfiguration
		if in.NetworkConfiguration.given() {
			network = in.NetworkConfiguration
		}
		lbs := svc.LoadBalancers
		if in.LoadBalancers != nil {
			lbs = orEmpty(in.LoadBalancers)
		}
		newLBs := !reflect.DeepEqual(lbs, orEmpty(svc.LoadBalancers))
		if !svc.hasTaskSets() && (td != nil || in.NetworkConfiguration.given() || newLBs) {
			runs := td
			if runs == nil {
				def, err := s.activeTaskDef(ctx, svc.TaskDefinition)
				if err != nil {
					return nil, err
				}
				runs = &def
			}
			if _, err := s.resolveNetwork(ctx, runs, network, svc.fargate()); err != nil {
				return nil, err
			}
			if err := s.checkLoadBalancers(ctx, lbs, runs); err != nil {
				return nil, err
			}
		}
		newNetwork := !reflect.DeepEqual(network, svc.NetworkConfiguration)
		svc.NetworkConfiguration = network
		// A platform version asked for (LATEST included) deploys again
		// when it is not the one the service runs.
		newPlatform := in.PlatformVersion != "" && platform != svc.PlatformVersion
		if in.PlatformVersion != "" {
			svc.PlatformVersion = platform
		}
		redeploy := in.ForceNewDeployment || newStrategy || newNetwork || newLBs || newPlatform ||
			td != nil && td.TaskDefinitionArn != svc.TaskDefinition ||
			!slices.Equal(cons, svc.PlacementConstraints) || !slices.Equal(strats, svc.PlacementStrategy)
		svc.DeploymentConfiguration = dc
		svc.PlacementConstraints, svc.PlacementStrategy = orEmpty(cons), orEmpty(strats)
		if in.DesiredCount != nil && *in.DesiredCount != svc.DesiredCount {
			svc.DesiredCount = *in.DesiredCount
			rec.Steady = false
		}
		if in.HealthCheckGracePeriodSeconds != nil {
			svc.HealthCheckGracePeriodSeconds = in.HealthCheckGracePeriodSeconds
		}
		if in.EnableExecuteCommand != nil {
			svc.EnableExecuteCommand = *in.EnableExecuteCommand
		}
		if in.EnableECSManagedTags != nil {
			svc.EnableECSManagedTags = *in.EnableECSManagedTags
		}
		svc.LoadBalancers = lbs
		if in.PropagateTags != "" {
			svc.PropagateTags = in.PropagateTags
		}
		if len(in.CapacityProviderStrategy) > 0 {
			svc.LaunchType, svc.CapacityProviderStrategy = "", in.CapacityProviderStrategy
		}
		if td != nil {
			svc.TaskDefinition = td.TaskDefinitionArn
		}
		if svc.hasTaskSets() {
			for i := range svc.TaskSets {
				if svc.TaskSets[i].Status != "DRAINING" {
					svc.TaskSets[i].ComputedDesiredCount = computedCount(svc.DesiredCount, svc.TaskSets[i].Scale)
				}
			}
		} else if redeploy {
			startDeployment(&rec, svc.TaskDefinition)
		} else if len(svc.Deployments) > 0 {
			svc.Deployments[0].DesiredCount = svc.DesiredCount
			svc.Deployments[0].UpdatedAt = api.Now()
		}
		err = s.store.Commit(ctx, store.NewTxn().IfRev(it.Key, it.Rev).Put(it.Key, rec))
		if errors.Is(err, store.ErrConflict) {
			// The scheduler wrote counts or events meanwhile: apply the
			// update again on the fresh record.
			if it, err = s.findService(ctx, it.Value.Cluster, in.Service); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		s.log.Info("service updated", "service", svc.ServiceArn, "taskDefinition", svc.TaskDefinition, "desiredCount", svc.DesiredCount, "newDeployment", redeploy)
		s.kickScheduler()
		return &ServiceOutput{Service: svc}, nil
	}
}

// checkControllerUpdate refuses what UpdateService may not change on a
// service with task sets. For CODE_DEPLOY the API reference lists what
// may change: desired count, deployment configuration, health check grace
// period, placement, managed tags and tag propagation; for EXTERNAL the
// same without the deployment configuration. The task definition,
// compute, network, platform version and load balancers are each task
// set's. A field resent unchanged is accepted, as tools resend whole
// services; the refusal's wording is Berth's.
func checkControllerUpdate(in *UpdateServiceInput, svc *ECSService) error {
	c := svc.controller()
	if c == controllerECS {
		return nil
	}
	for _, f := range []struct {
		name    string
		changes bool
	}{
		{"taskDefinition", in.TaskDefinition != "" && in.TaskDefinition != svc.TaskDefinition},
		{"capacityProviderStrategy", len(in.CapacityProviderStrategy) > 0 && !slices.Equal(in.CapacityProviderStrategy, svc.CapacityProviderStrategy)},
		{"loadBalancers", in.LoadBalancers != nil && !reflect.DeepEqual(orEmpty(in.LoadBalancers), orEmpty(svc.LoadBalancers))},
		{"networkConfiguration", in.NetworkConfiguration.given() && !reflect.DeepEqual(in.NetworkConfiguration, svc.NetworkConfiguration)},
		{"platformVersion", in.PlatformVersion != "" && in.PlatformVersion != svc.PlatformVersion},
		{"forceNewDeployment", in.ForceNewDeployment},
		{"deploymentConfiguration", c == controllerExternal && in.DeploymentConfiguration != nil},
	} {
		if f.changes {
			how := "create a new task set"
			if c == controllerCodeDeploy {
				how = "create a new CodeDeploy deployment"
			}
			return api.InvalidParameter("%s cannot be updated on a service that uses the %s deployment controller: %s instead.", f.name, c, how)
		}
	}
	return nil
}

// serviceFor resolves the service an operation names and authorizes op on it.
func (s *Service) serviceFor(ctx context.Context, op, cluster, ref string) (store.Item[serviceRecord], error) {
	if ref == "" {
		return store.Item[serviceRecord]{}, api.InvalidParameter("service is required.")
	}
	cl, err := s.activeCluster(ctx, cluster)
	if err != nil {
		return store.Item[serviceRecord]{}, err
	}
	it, err := s.findService(ctx, cl.Value.Name, ref)
	if err != nil {
		return it, err
	}
	return it, s.authorize(ctx, op, it.Value.Service.ServiceArn)
}

// startDeployment makes a new PRIMARY deployment of td; the old primary
// becomes ACTIVE and is drained by the scheduler.
func startDeployment(rec *serviceRecord, td string) {
	svc := &rec.Service
	for i := range svc.Deployments {
		if svc.Deployments[i].Status == "PRIMARY" {
			svc.Deployments[i].Status = "ACTIVE"
			svc.Deployments[i].UpdatedAt = api.Now()
		}
	}
	dep := newDeployment(td, svc.DesiredCount)
	dep.NetworkConfiguration, dep.PlatformVersion = svc.NetworkConfiguration, svc.PlatformVersion
	if svc.LaunchType != "" {
		dep.LaunchType = svc.LaunchType
	}
	if len(svc.CapacityProviderStrategy) > 0 {
		dep.LaunchType, dep.CapacityProviderStrategy = "", svc.CapacityProviderStrategy
	}
	svc.Deployments = append([]Deployment{dep}, svc.Deployments...)
	rec.Steady, rec.Failures = false, 0
}

type DeleteServiceInput struct {
	Cluster string `json:"cluster"`
	Service string `json:"service"`
	Force   *bool  `json:"force"`
}

// DeleteService drains a service: it turns DRAINING, the scheduler stops
// its tasks, and it ends INACTIVE. A REPLICA service must be scaled to
// zero first unless force is set.
func (s *Service) DeleteService(ctx context.Context, in *DeleteServiceInput) (*ServiceOutput, error) {
	it, err := s.serviceFor(ctx, "DeleteService", in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	rec, err := store.Update(ctx, s.store, it.Key, func(r *serviceRecord) error {
		svc := &r.Service
		if svc.Status != "ACTIVE" {
			return api.Errorf("ServiceNotActiveException", "Service was not ACTIVE.")
		}
		if svc.SchedulingStrategy == "REPLICA" && svc.DesiredCount > 0 && (in.Force == nil || !*in.Force) {
			return api.InvalidParameter("The service cannot be stopped while it is scaled above 0.")
		}
		svc.Status, svc.DesiredCount = "DRAINING", 0
		for i := range svc.Deployments {
			svc.Deployments[i].DesiredCount = 0
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("service deleted", "service", rec.Service.ServiceArn)
	s.kickScheduler()
	return &ServiceOutput{Service: &rec.Service}, nil
}

type DescribeServicesInput struct {
	Cluster  string   `json:"cluster"`
	Services []string `json:"services"`
	Include  []string `json:"include"`
}

type DescribeServicesOutput struct {
	Services []ECSService `json:"services"`
	Failures []Failure    `json:"failures"`
}

// DescribeServices describes up to 10 services; unknown ones are MISSING.
func (s *Service) DescribeServices(ctx context.Context, in *DescribeServicesInput) (*DescribeServicesOutput, error) {
	if len(in.Services) == 0 || len(in.Services) > 10 {
		return nil, api.InvalidParameter("services must name between 1 and 10 services.")
	}
	cl, err := s.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	out := &DescribeServicesOutput{Services: []ECSService{}, Failures: []Failure{}}
	for _, ref := range in.Services {
		it, err := s.findService(ctx, cl.Value.Name, ref)
		if err != nil && api.AsError(err).Code == "ServiceNotFoundException" {
			out.Failures = append(out.Failures, Failure{Arn: s.arn("service/" + cl.Value.Name + "/" + lastSegment(ref)), Reason: "MISSING"})
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := s.authorize(ctx, "DescribeServices", it.Value.Service.ServiceArn); err != nil {
			return nil, err
		}
		svc := it.Value.Service
		if !slices.Contains(in.Include, "TAGS") {
			svc.Tags = nil
		}
		// Task sets' tags are DescribeTaskSets' to show.
		svc.TaskSets = slices.Clone(svc.TaskSets)
		for i := range svc.TaskSets {
			svc.TaskSets[i].Tags = nil
		}
		out.Services = append(out.Services, svc)
	}
	return out, nil
}

type ListServicesInput struct {
	Cluster            string  `json:"cluster"`
	LaunchType         string  `json:"launchType"`
	SchedulingStrategy string  `json:"schedulingStrategy"`
	NextToken          *string `json:"nextToken"`
	MaxResults         *int    `json:"maxResults"`
}

type ListServicesOutput struct {
	ServiceArns []string `json:"serviceArns"`
	NextToken   *string  `json:"nextToken,omitempty"`
}

// ListServices lists the ARNs of a cluster's services that are not INACTIVE.
func (s *Service) ListServices(ctx context.Context, in *ListServicesInput) (*ListServicesOutput, error) {
	cl, err := s.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "ListServices", "*"); err != nil {
		return nil, err
	}
	items, err := store.List[serviceRecord](ctx, s.store, s.keys.services(cl.Value.Name))
	if err != nil {
		return nil, err
	}
	var arns []string
	for _, it := range items {
		svc := &it.Value.Service
		switch {
		case svc.Status == "INACTIVE":
		case in.LaunchType != "" && svc.LaunchType != in.LaunchType:
		case in.SchedulingStrategy != "" && svc.SchedulingStrategy != in.SchedulingStrategy:
		default:
			arns = append(arns, svc.ServiceArn)
		}
	}
	page, next, err := api.Paginate(arns, in.NextToken, in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	return &ListServicesOutput{ServiceArns: orEmpty(page), NextToken: next}, nil
}
