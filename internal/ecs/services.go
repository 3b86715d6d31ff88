package ecs

import (
	"cmp"
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// serviceRecord is an ECS service as stored, with the scheduler's
// bookkeeping beside the wire shape.
type serviceRecord struct {
	Cluster     string     `json:"cluster"`
	Name        string     `json:"name"`
	Service     ECSService `json:"service"`
	ClientToken string     `json:"clientToken,omitempty"`
	// Counted holds the ids of stopped tasks already counted as failures.
	Counted map[string]bool `json:"counted,omitempty"`
	// Failures counts quick task failures (see quickFailure) since the
	// service was last steady; launches back off once it grows.
	Failures      int            `json:"failures,omitempty"`
	LastFailureAt *api.Timestamp `json:"lastFailureAt,omitempty"`
	// Completed is the last deployment that reached COMPLETED: the
	// circuit breaker rolls back to it.
	Completed *Deployment `json:"completed,omitempty"`
	// Steady is set while the service is at its desired state, so "has
	// reached a steady state" is said once per arrival.
	Steady bool `json:"steady,omitempty"`
	// TaskSetTokens maps CreateTaskSet's client tokens to the task sets
	// they created.
	TaskSetTokens map[string]string `json:"taskSetTokens,omitempty"`
}

func (k keys) service(cluster, name string) string {
	return k.prefix + "service/" + cluster + "/" + name
}
func (k keys) services(cluster string) string { return k.prefix + "service/" + cluster + "/" }
func (k keys) allServices() string            { return k.prefix + "service/" }

var serviceNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

type CreateServiceInput struct {
	Cluster                       string                         `json:"cluster"`
	ServiceName                   string                         `json:"serviceName"`
	TaskDefinition                string                         `json:"taskDefinition"`
	LoadBalancers                 []LoadBalancer                 `json:"loadBalancers"`
	DesiredCount                  *int                           `json:"desiredCount"`
	ClientToken                   string                         `json:"clientToken"`
	LaunchType                    string                         `json:"launchType"`
	CapacityProviderStrategy      []CapacityProviderStrategyItem `json:"capacityProviderStrategy"`
	Role                          string                         `json:"role"`
	DeploymentConfiguration       *DeploymentConfiguration       `json:"deploymentConfiguration"`
	PlacementConstraints          []PlacementConstraint          `json:"placementConstraints"`
	PlacementStrategy             []PlacementStrategy            `json:"placementStrategy"`
	HealthCheckGracePeriodSeconds *int                           `json:"healthCheckGracePeriodSeconds"`
	SchedulingStrategy            string                         `json:"schedulingStrategy"`
	DeploymentController          *DeploymentController          `json:"deploymentController"`
	Tags                          []Tag                          `json:"tags"`
	EnableECSManagedTags          bool                           `json:"enableECSManagedTags"`
	PropagateTags                 string                         `json:"propagateTags"`
	EnableExecuteCommand          bool                           `json:"enableExecuteCommand"`
	NetworkConfiguration          *NetworkConfiguration          `json:"networkConfiguration"`
	PlatformVersion               string                         `json:"platformVersion"`
	ServiceRegistries             []ServiceRegistry              `json:"serviceRegistries"`
	ServiceConnectConfiguration   *ServiceConnectConfiguration   `json:"serviceConnectConfiguration"`
}

type ServiceOutput struct {
	Service *ECSService `json:"service"`
}

// CreateService creates a service and its first (PRIMARY) deployment; the
// scheduler starts its tasks.
func (s *Service) CreateService(ctx context.Context, in *CreateServiceInput) (*ServiceOutput, error) {
	if !serviceNameRE.MatchString(in.ServiceName) {
		return nil, api.InvalidParameter("Service names can have up to 255 characters: letters (uppercase and lowercase), numbers, hyphens and underscores.")
	}
	if in.ClientToken != "" && (len(in.ClientToken) > 36 || strings.ContainsFunc(in.ClientToken, func(r rune) bool { return r < 33 || r > 126 })) {
		return nil, api.InvalidParameter("clientToken can have up to 36 ASCII characters from 33 to 126.")
	}
	cl, err := s.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	cluster := cl.Value.Name
	arn := s.arn("service/" + cluster + "/" + in.ServiceName)
	if err := s.authorize(ctx, "CreateService", arn); err != nil {
		return nil, err
	}
	strategy := in.SchedulingStrategy
	if strategy == "" {
		strategy = "REPLICA"
	}
	desired := 0
	switch strategy {
	case "REPLICA":
		if in.DesiredCount == nil {
			return nil, api.InvalidParameter("desiredCount is required for a service with the REPLICA scheduling strategy.")
		}
		desired = *in.DesiredCount
	case "DAEMON":
		if in.DesiredCount != nil && *in.DesiredCount != 0 {
			return nil, api.InvalidParameter("The daemon scheduling strategy does not support a desired count for services.")
		}
	default:
		return nil, api.InvalidParameter("Invalid schedulingStrategy %q: valid values are REPLICA and DAEMON.", in.SchedulingStrategy)
	}
	if desired < 0 {
		return nil, api.InvalidParameter("Invalid desiredCount %d: the desired count must be zero or greater.", desired)
	}
	controller, err := checkController(in, strategy)
	if err != nil {
		return nil, err
	}
	if err := checkLaunchType(in.LaunchType, in.CapacityProviderStrategy); err != nil {
		return nil, err
	}
	fargate, err := fargateStrategy(effectiveStrategy(&cl.Value, in.LaunchType, in.CapacityProviderStrategy))
	if err != nil {
		return nil, err
	}
	fargate = fargate || in.LaunchType == string(launchFargate)
	if fargate && strategy == "DAEMON" {
		return nil, api.InvalidParameter("The daemon scheduling strategy is not supported with the FARGATE launch type.")
	}
	if _, err := platformVersion(in.PlatformVersion, fargate); err != nil {
		return nil, err
	}
	if err := refuseNotYet(map[string]bool{"serviceRegistries": len(in.ServiceRegistries) > 0,
		"serviceConnectConfiguration": in.ServiceConnectConfiguration != nil && in.ServiceConnectConfiguration.Enabled}); err != nil {
		return nil, err
	}
	// Without a launch type or strategy the service takes the cluster's
	// default strategy, which it then reports as its own.
	cps := effectiveStrategy(&cl.Value, in.LaunchType, in.CapacityProviderStrategy)
	if strategy == "DAEMON" {
		// A daemon runs on every instance, whatever its provider: it
		// takes no strategy, and the cluster's default does not apply.
		if len(in.CapacityProviderStrategy) > 0 {
			return nil, api.InvalidParameter("The daemon scheduling strategy does not support capacity providers. Specify a launch type and try again.")
		}
		cps = nil
	}
	if controller == controllerExternal {
		// The compute option is each task set's.
		cps, fargate = nil, false
	}
	if len(cps) > 0 {
		if err := checkStrategyFor(&cl.Value, cps); err != nil {
			return nil, err
		}
	}
	dc, err := deploymentConfig(strategy, in.DeploymentConfiguration, nil)
	if err != nil {
		return nil, err
	}
	if err := checkServicePlacement(strategy, in.PlacementConstraints, in.PlacementStrategy); err != nil {
		return nil, err
	}
	if err := checkServiceMisc(in.HealthCheckGracePeriodSeconds, in.PropagateTags, in.LoadBalancers); err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	// An EXTERNAL service runs no task definition of its own: its task
	// sets name theirs.
	var td TaskDefinition
	platform := ""
	if controller != controllerExternal {
		if td, err = s.activeTaskDef(ctx, in.TaskDefinition); err != nil {
			return nil, err
		}
		if _, err := s.resolveNetwork(ctx, &td, in.NetworkConfiguration, fargate); err != nil {
			return nil, err
		}
		if fargate {
			check := &RunTaskInput{PlacementConstraints: in.PlacementConstraints, PlacementStrategy: in.PlacementStrategy, PlatformVersion: in.PlatformVersion}
			if platform, err = s.checkFargate(check, &td); err != nil {
				return nil, err
			}
		}
		if err := s.checkLoadBalancers(ctx, in.LoadBalancers, &td); err != nil {
			return nil, err
		}
	}
	if !in.NetworkConfiguration.given() {
		in.NetworkConfiguration = nil
	}
	now := api.Now()
	dep := newDeployment(td.TaskDefinitionArn, desired)
	dep.NetworkConfiguration, dep.LaunchType, dep.PlatformVersion = in.NetworkConfiguration, cmp.Or(in.LaunchType, "EC2"), platform
	svc := ECSService{
		ServiceArn: arn, ServiceName: in.ServiceName, ClusterArn: s.arn("cluster/" + cluster),
		LoadBalancers: orEmpty(in.LoadBalancers), ServiceRegistries: []ServiceRegistry{}, Status: "ACTIVE",
		DesiredCount: desired, LaunchType: cmp.Or(in.LaunchType, "EC2"), TaskDefinition: td.TaskDefinitionArn, PlatformVersion: platform,
		DeploymentConfiguration: dc, Deployments: []Deployment{dep}, RoleArn: in.Role, Events: []ServiceEvent{},
		CreatedAt: now, PlacementConstraints: orEmpty(in.PlacementConstraints), PlacementStrategy: orEmpty(in.PlacementStrategy),
		HealthCheckGracePeriodSeconds: in.HealthCheckGracePeriodSeconds, SchedulingStrategy: strategy,
		DeploymentController: &DeploymentController{Type: controller}, Tags: orEmpty(in.Tags),
		CreatedBy: api.PrincipalFrom(ctx).ARN, EnableECSManagedTags: in.EnableECSManagedTags,
		PropagateTags: cmp.Or(in.PropagateTags, "NONE"), EnableExecuteCommand: in.EnableExecuteCommand,
		NetworkConfiguration: in.NetworkConfiguration,
	}
	if len(cps) > 0 {
		svc.LaunchType, svc.CapacityProviderStrategy = "", cps
		svc.Deployments[0].LaunchType, svc.Deployments[0].CapacityProviderStrategy = "", cps
	}
	if svc.HealthCheckGracePeriodSeconds == nil {
		svc.HealthCheckGracePeriodSeconds = new(int)
	}
	rec := serviceRecord{Cluster: cluster, Name: in.ServiceName, Service: svc, ClientToken: in.ClientToken}
	switch controller {
	case controllerExternal:
		rec.Service.Deployments, rec.Service.TaskSets = []Deployment{}, []TaskSet{}
		rec.Service.TaskDefinition, rec.Service.LaunchType = "", ""
	case controllerCodeDeploy:
		// ECS creates a CODE_DEPLOY service with its first task set, the
		// PRIMARY one at 100%, started by CODE_DEPLOY; later task sets
		// are CodeDeploy's to create, which Berth does not have.
		ts, err := s.newTaskSet(ctx, &cl.Value, &rec, taskSetSpec{TaskDefinition: td.TaskDefinitionArn, NetworkConfiguration: in.NetworkConfiguration,
			LoadBalancers: in.LoadBalancers, LaunchType: in.LaunchType, CapacityProviderStrategy: in.CapacityProviderStrategy, PlatformVersion: in.PlatformVersion},
			"ACTIVE", "CODE_DEPLOY")
		if err != nil {
			return nil, err
		}
		rec.Service.Deployments, rec.Service.TaskSets = []Deployment{}, []TaskSet{ts}
		promote(&rec.Service, 0)
		if len(cps) > 0 { // the cluster's default strategy, as the service reports it
			rec.Service.LaunchType, rec.Service.CapacityProviderStrategy = "", cps
		}
	}
	key := s.keys.service(cluster, in.ServiceName)
	old, err := store.Get[serviceRecord](ctx, s.store, key)
	txn := store.NewTxn()
	switch {
	case errors.Is(err, store.ErrNotFound):
		txn.IfAbsent(key)
	case err != nil:
		return nil, err
	case old.Value.Service.Status != "INACTIVE":
		// A retry of the same request (same token) gets the service back.
		if in.ClientToken != "" && old.Value.ClientToken == in.ClientToken {
			return &ServiceOutput{Service: &old.Value.Service}, nil
		}
		return nil, api.InvalidParameter("Creation of service was not idempotent.")
	default:
		txn.IfRev(key, old.Rev) // an INACTIVE service's name may be reused
	}
	if err := s.store.Commit(ctx, txn.Put(key, rec)); errors.Is(err, store.ErrConflict) {
		return nil, api.InvalidParameter("Creation of service was not idempotent.")
	} else if err != nil {
		return nil, err
	}
	s.log.Info("service created", "service", arn, "taskDefinition", td.TaskDefinitionArn, "desiredCount", desired, "deploymentController", controller)
	s.kickScheduler()
	return &ServiceOutput{Service: &rec.Service}, nil
}

// checkController reads a service's deployment controller (ECS unless
// given) and applies AWS's rules for it: neither EXTERNAL nor CODE_DEPLOY
// takes the DAEMON strategy; an EXTERNAL service's task definition,
// compute, network and load balancers are its task sets' (so CreateService
// takes none of them); a CODE_DEPLOY service must use a load balancer.
// AWS documents the rules; the refusals' wording is Berth's.
func checkController(in *CreateServiceInput, strategy string) (string, error) {
	c := controllerECS
	if in.DeploymentController != nil && in.DeploymentController.Type != "" {
		c = in.DeploymentController.Type
	}
	switch c {
	case controllerECS:
		return c, nil
	case controllerExternal, controllerCodeDeploy:
	default:
		return "", api.InvalidParameter("Invalid deploymentController type %q: valid values are ECS, CODE_DEPLOY and EXTERNAL.", c)
	}
	if strategy == "DAEMON" {
		return "", api.InvalidParameter("The %s deployment controller does not support the DAEMON scheduling strategy.", c)
	}
	if c == controllerCodeDeploy {
		if len(in.LoadBalancers) == 0 {
			return "", api.InvalidParameter("A service that uses the CODE_DEPLOY deployment controller must use an Application Load Balancer or a Network Load Balancer: loadBalancers is required.")
		}
		return c, nil
	}
	for _, f := range []struct {
		name  string
		given bool
	}{
		{"taskDefinition", in.TaskDefinition != ""}, {"launchType", in.LaunchType != ""},
		{"capacityProviderStrategy", len(in.CapacityProviderStrategy) > 0}, {"loadBalancers", len(in.LoadBalancers) > 0},
		{"networkConfiguration", in.NetworkConfiguration.given()}, {"platformVersion", in.PlatformVersion != ""},
		{"serviceRegistries", len(in.ServiceRegistries) > 0},
	} {
		if f.given {
			return "", api.InvalidParameter("%s cannot be specified for a service that uses the EXTERNAL deployment controller: it is set on each task set (CreateTaskSet).", f.name)
		}
	}
	return c, nil
}

// launchType is where ECS runs a task. Berth runs tasks on the cluster's
// instances (EC2); AWS's other launch types are known by name, so that
// asking for one is refused for what it is rather than as a typo.
type launchType string

const (
	launchEC2              launchType = "EC2"
	launchFargate          launchType = "FARGATE"
	launchExternal         launchType = "EXTERNAL"
	launchManagedInstances launchType = "MANAGED_INSTANCES"
)

// parseLaunchType reads a request's launchType; "" is EC2.
func parseLaunchType(s string) (launchType, error) {
	switch lt := launchType(s); lt {
	case "":
		return launchEC2, nil
	case launchEC2, launchFargate, launchExternal, launchManagedInstances:
		return lt, nil
	}
	return "", api.InvalidParameter("Invalid launchType %q: valid values are EC2, FARGATE, EXTERNAL and MANAGED_INSTANCES.", s)
}

// available says whether Berth can run tasks of the launch type.
func (lt launchType) available() error {
	if lt == launchEC2 || lt == launchFargate {
		return nil
	}
	return api.InvalidParameter("Launch type %s is not available in this Berth version; use EC2.", lt)
}

// runs reports whether tasks of td may run with the launch type.
func (lt launchType) runs(td *TaskDefinition) bool {
	return len(td.RequiresCompatibilities) == 0 || slices.Contains(td.Compatibilities, string(lt))
}

// checkLaunchType accepts a launch type Berth provides (EC2, the
// default), never together with a capacity provider strategy.
func checkLaunchType(lt string, cps []CapacityProviderStrategyItem) error {
	if lt != "" && len(cps) > 0 {
		return api.InvalidParameter("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.")
	}
	t, err := parseLaunchType(lt)
	if err != nil {
		return err
	}
	return t.available()
}

// deploymentConfig fills defaults (REPLICA: 100/200, DAEMON: 0/100) into
// the requested configuration, over the current one when updating, and
// checks the bounds.
func deploymentConfig(strategy string, req, cur *DeploymentConfiguration) (DeploymentConfiguration, error) {
	dc := DeploymentConfiguration{MinimumHealthyPercent: ptr(100), MaximumPercent: ptr(200)}
	if strategy == "DAEMON" {
		dc = DeploymentConfiguration{MinimumHealthyPercent: ptr(0), MaximumPercent: ptr(100)}
	}
	if cur != nil {
		dc = *cur
	}
	if req != nil {
		if req.MinimumHealthyPercent != nil {
			dc.MinimumHealthyPercent = req.MinimumHealthyPercent
		}
		if req.MaximumPercent != nil {
			dc.MaximumPercent = req.MaximumPercent
		}
		if req.DeploymentCircuitBreaker != nil {
			dc.DeploymentCircuitBreaker = req.DeploymentCircuitBreaker
		}
	}
	lo, hi := *dc.MinimumHealthyPercent, *dc.MaximumPercent
	switch {
	case lo < 0 || lo > 100:
		return dc, api.InvalidParameter("Invalid minimumHealthyPercent %d: the value must be between 0 and 100.", lo)
	case strategy == "DAEMON" && hi != 100:
		return dc, api.InvalidParameter("The maximumPercent of a service with the DAEMON scheduling strategy must be 100.")
	case hi < 100 || hi > 2000:
		return dc, api.InvalidParameter("Invalid maximumPercent %d: the value must be between 100 and 2000.", hi)
	case lo == 100 && hi == 100 && strategy == "REPLICA":
		return dc, api.InvalidParameter("minimumHealthyPercent and maximumPercent cannot both be 100: a deployment could neither start nor stop a task.")
	}
	return dc, nil
}

func checkServicePlacement(strategy string, cons []PlacementConstraint, strats []PlacementStrategy) error {
	if strategy == "DAEMON" && len(strats) > 0 {
		return api.InvalidParameter("Placement strategies are not supported with the DAEMON scheduling strategy.")
	}
	_, _, err := compilePlacement(nil, cons, strats)
	return err
}

func checkServiceMisc(grace *int, propagate string, lbs []LoadBalancer) error {
	if grace != nil && (*grace < 0 || *grace > 2147483647) {
		return api.InvalidParameter("healthCheckGracePeriodSeconds must be between 0 and 2147483647.")
	}
	if propagate != "" && !slices.Contains([]string{"TASK_DEFINITION", "SERVICE", "NONE"}, propagate) {
		return api.InvalidParameter("Invalid propagateTags %q: valid values are TASK_DEFINITION, SERVICE and NONE.", propagate)
	}
	if len(lbs) > maxServiceLoadBalancers {
		return api.InvalidParameter("loadBalancers can have at most %d items.", maxServiceLoadBalancers)
	}
	return nil
}

// activeTaskDef resolves a task definition reference that must be ACTIVE.
func (s *Service) activeTaskDef(ctx context.Context, ref string) (TaskDefinition, error) {
	if ref == "" {
		return TaskDefinition{}, api.InvalidParameter("taskDefinition is required.")
	}
	it, found, err := s.lookupTaskDef(ctx, ref)
	if err != nil {
		return TaskDefinition{}, err
	}
	if !found {
		return TaskDefinition{}, api.InvalidParameter("TaskDefinition not found.")
	}
	td := it.Value.TaskDefinition
	if td.Status != "ACTIVE" {
		return TaskDefinition{}, api.InvalidParameter("TaskDefinition is inactive.")
	}
	return td, s.checkPassRoles(ctx, td.TaskRoleArn, td.ExecutionRoleArn)
}

// newDeployment returns a PRIMARY deployment of td, as yet IN_PROGRESS.
func newDeployment(td string, desired int) Deployment {
	id := newDeploymentID()
	now := api.Now()
	return Deployment{
		Id: id, Status: "PRIMARY", TaskDefinition: td, DesiredCount: desired, CreatedAt: now, UpdatedAt: now,
		LaunchType: "EC2", RolloutState: "IN_PROGRESS", RolloutStateReason: "ECS deployment " + id + " in progress.",
	}
}

// findService loads a service by name or ARN.
func (s *Service) findService(ctx context.Context, cluster, ref string) (store.Item[serviceRecord], error) {
	it, err := store.Get[serviceRecord](ctx, s.store, s.keys.service(cluster, lastSegment(ref)))
	if errors.Is(err, store.ErrNotFound) {
		return it, api.Errorf("ServiceNotFoundException", "Service not found.")
	}
	return it, err
}
