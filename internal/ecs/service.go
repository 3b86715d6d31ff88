// Package ecs implements the Amazon ECS API: clusters, task definitions,
// container instances, tasks and the agent's side of the protocol.
package ecs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// Config names where the service lives.
type Config struct {
	Region  string
	Account string
	// Endpoint is the URL agents reach this server at; DiscoverPollEndpoint returns it.
	Endpoint string
	// Roles is IAM, which issues the credentials of task and execution
	// roles; without it task definitions with roles cannot run.
	Roles RoleIssuer
	// Scheduler tunes the service scheduler.
	Scheduler SchedulerOptions
	// Identity verifies EC2 instance identity documents (EC2); without it
	// every document is taken at its word.
	Identity IdentityVerifier
	// AutoScaling is EC2 Auto Scaling, whose groups capacity providers
	// scale; without it there are no groups to create providers over.
	AutoScaling AutoScaling
	// Networks gives awsvpc tasks their interfaces (EC2); without it
	// RunTask refuses a network configuration.
	Networks TaskNetworks
	// Fargate launches the hidden hosts Fargate tasks run on (EC2);
	// without it the FARGATE launch type is refused.
	Fargate FargateCapacity
	// LoadBalancing registers services' tasks with target groups (ELB);
	// without it CreateService refuses loadBalancers.
	LoadBalancing LoadBalancing
}

// IdentityVerifier checks the identity documents instances register with.
type IdentityVerifier interface {
	// VerifyIdentity checks a document's signature and returns the
	// instance id it vouches for.
	VerifyIdentity(ctx context.Context, doc, signature string) (string, error)
	// IsInstance reports whether id names an EC2 instance of the account.
	IsInstance(ctx context.Context, id string) (bool, error)
}

// Service is the ECS API backed by the store.
type Service struct {
	cfg   Config
	store *store.Store
	authz api.Authorizer
	roles RoleIssuer
	log   *slog.Logger
	keys  keys
	hub   *acsHub
	cache *instanceCache
	// placing serializes this process's placements per cluster: they
	// would otherwise pick the same instances and conflict.
	placing sync.Map // cluster -> *clusterPlacer
	// taskDefs caches revisions for the ACS stream (see taskDefinitionOf).
	taskDefs     sync.Map // task definition key -> TaskDefinition
	taskDefCount atomic.Int64
	// kick asks the service scheduler for a pass.
	kick chan struct{}
	// fargateKick wakes the Fargate controller.
	fargateKick chan struct{}
	// fargateRetire asks it to look for hosts of deleted clusters.
	fargateRetire atomic.Bool
	// fargateSubnet turns the subnets Fargate tasks' interfaces go to.
	fargateSubnet atomic.Uint64
}

// New returns the ECS service.
func New(cfg Config, st *store.Store, authz api.Authorizer, log *slog.Logger) *Service {
	s := &Service{cfg: cfg, store: st, authz: authz, log: log, roles: cfg.Roles,
		keys: keys{prefix: "/berth/" + cfg.Region + "/ecs/"}, kick: make(chan struct{}, 1), fargateKick: make(chan struct{}, 1)}
	s.cache = newInstanceCache(s)
	return s
}

// Register serves the ECS API on router, and the agents' endpoints, which
// they sign for ecs as the ECS agent does.
func (s *Service) Register(router *api.Router) {
	router.AddJSON(s.JSONService())
	agents := router.AuthenticatorFor("ecs")
	router.Handle("GET /ws", s.ACSHandler(agents))
	router.Handle("GET /tcs/ws", s.TelemetryHandler(agents))
	router.Handle("GET /berth/task-credentials", s.TaskCredentialsHandler(agents))
}

// TargetPrefix is the X-Amz-Target prefix of ECS.
const TargetPrefix = "AmazonEC2ContainerServiceV20141113"

// JSONService returns the operations table for the router.
func (s *Service) JSONService() *api.JSONService {
	js := api.NewJSONService("ecs", TargetPrefix)
	js.Handle("CreateCluster", api.Op(s.CreateCluster))
	js.Handle("DescribeClusters", api.Op(s.DescribeClusters))
	js.Handle("ListClusters", api.Op(s.ListClusters))
	js.Handle("DeleteCluster", api.Op(s.DeleteCluster))
	js.Handle("UpdateClusterSettings", api.Op(s.UpdateClusterSettings))
	js.Handle("UpdateCluster", api.Op(s.UpdateCluster))
	js.Handle("UpdateContainerAgent", api.Op(s.UpdateContainerAgent))
	js.Handle("RegisterTaskDefinition", api.Op(s.RegisterTaskDefinition))
	js.Handle("DescribeTaskDefinition", api.Op(s.DescribeTaskDefinition))
	js.Handle("ListTaskDefinitions", api.Op(s.ListTaskDefinitions))
	js.Handle("ListTaskDefinitionFamilies", api.Op(s.ListTaskDefinitionFamilies))
	js.Handle("DeregisterTaskDefinition", api.Op(s.DeregisterTaskDefinition))
	js.Handle("RegisterContainerInstance", api.Op(s.RegisterContainerInstance))
	js.Handle("DeregisterContainerInstance", api.Op(s.DeregisterContainerInstance))
	js.Handle("DescribeContainerInstances", api.Op(s.DescribeContainerInstances))
	js.Handle("ListContainerInstances", api.Op(s.ListContainerInstances))
	js.Handle("UpdateContainerInstancesState", api.Op(s.UpdateContainerInstancesState))
	js.Handle("DiscoverPollEndpoint", api.Op(s.DiscoverPollEndpoint))
	js.Handle("CreateService", api.Op(s.CreateService))
	js.Handle("UpdateService", api.Op(s.UpdateService))
	js.Handle("DeleteService", api.Op(s.DeleteService))
	js.Handle("DescribeServices", api.Op(s.DescribeServices))
	js.Handle("ListServices", api.Op(s.ListServices))
	js.Handle("RunTask", api.Op(s.RunTask))
	js.Handle("StartTask", api.Op(s.StartTask))
	js.Handle("StopTask", api.Op(s.StopTask))
	js.Handle("UpdateTaskProtection", api.Op(s.UpdateTaskProtection))
	js.Handle("PutAccountSetting", api.Op(s.PutAccountSetting))
	js.Handle("PutAccountSettingDefault", api.Op(s.PutAccountSettingDefault))
	js.Handle("DeleteAccountSetting", api.Op(s.DeleteAccountSetting))
	js.Handle("ListAccountSettings", api.Op(s.ListAccountSettings))
	js.Handle("GetTaskProtection", api.Op(s.GetTaskProtection))
	js.Handle("DescribeTasks", api.Op(s.DescribeTasks))
	js.Handle("ListTasks", api.Op(s.ListTasks))
	js.Handle("SubmitTaskStateChange", api.Op(s.SubmitTaskStateChange))
	js.Handle("SubmitContainerStateChange", api.Op(s.SubmitContainerStateChange))
	js.Handle("PutAttributes", api.Op(s.PutAttributes))
	js.Handle("ListAttributes", api.Op(s.ListAttributes))
	js.Handle("DeleteAttributes", api.Op(s.DeleteAttributes))
	js.Handle("CreateCapacityProvider", api.Op(s.CreateCapacityProvider))
	js.Handle("DescribeCapacityProviders", api.Op(s.DescribeCapacityProviders))
	js.Handle("UpdateCapacityProvider", api.Op(s.UpdateCapacityProvider))
	js.Handle("DeleteCapacityProvider", api.Op(s.DeleteCapacityProvider))
	js.Handle("PutClusterCapacityProviders", api.Op(s.PutClusterCapacityProviders))
	js.Handle("TagResource", api.Op(s.TagResource))
	js.Handle("UntagResource", api.Op(s.UntagResource))
	js.Handle("ListTagsForResource", api.Op(s.ListTagsForResource))
	js.Handle("CreateTaskSet", api.Op(s.CreateTaskSet))
	js.Handle("DescribeTaskSets", api.Op(s.DescribeTaskSets))
	js.Handle("UpdateTaskSet", api.Op(s.UpdateTaskSet))
	js.Handle("DeleteTaskSet", api.Op(s.DeleteTaskSet))
	js.Handle("UpdateServicePrimaryTaskSet", api.Op(s.UpdateServicePrimaryTaskSet))
	js.Handle("ListServicesByNamespace", api.Op(s.ListServicesByNamespace))
	js.Handle("ExecuteCommand", api.Op(s.ExecuteCommand))
	js.Handle("SubmitAttachmentStateChanges", api.Op(s.SubmitAttachmentStateChanges))
	return js
}

// authorize runs the authorization hook for action on resource.
func (s *Service) authorize(ctx context.Context, action, resource string) error {
	return s.authz.Authorize(ctx, api.PrincipalFrom(ctx), "ecs:"+action, resource)
}

// arn builds an ECS ARN of the given resource path.
func (s *Service) arn(resource string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:%s", s.cfg.Region, s.cfg.Account, resource)
}

// newID returns a 32-hex-digit id as ECS uses for tasks and container instances.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// keys lays out ECS records in etcd.
type keys struct{ prefix string }

func (k keys) cluster(name string) string { return k.prefix + "cluster/" + name }
func (k keys) clusters() string           { return k.prefix + "cluster/" }
func (k keys) family(name string) string  { return k.prefix + "family/" + name }
func (k keys) families() string           { return k.prefix + "family/" }
func (k keys) taskDef(family string, rev int) string {
	return fmt.Sprintf("%staskdef/%s/%010d", k.prefix, family, rev)
}
func (k keys) taskDefs(family string) string { return k.prefix + "taskdef/" + family + "/" }
func (k keys) allTaskDefs() string           { return k.prefix + "taskdef/" }
func (k keys) instance(cluster, id string) string {
	return k.prefix + "instance/" + cluster + "/" + id
}
func (k keys) instances(cluster string) string { return k.prefix + "instance/" + cluster + "/" }
func (k keys) task(cluster, id string) string  { return k.prefix + "task/" + cluster + "/" + id }
func (k keys) tasks(cluster string) string     { return k.prefix + "task/" + cluster + "/" }

// assignment indexes a task under the instance it runs on, so each agent
// connection watches only its own tasks.
func (k keys) assignment(instanceID, taskID string) string {
	return k.prefix + "assign/" + instanceID + "/" + taskID
}
func (k keys) assignments(instanceID string) string { return k.prefix + "assign/" + instanceID + "/" }

// connected marks an instance whose agent holds an ACS connection; the key
// lives on the serving process's lease so it vanishes if that process dies.
func (k keys) connected(instanceID string) string { return k.prefix + "connected/" + instanceID }
func (k keys) token(kind, token string) string    { return k.prefix + "token/" + kind + "/" + token }

// interface indexes the tasks holding an interface, with its id, until
// it is released.
func (k keys) taskInterface(cluster, id string) string {
	return k.prefix + "task-eni/" + cluster + "/" + id
}
func (k keys) interfaces() string { return k.prefix + "task-eni/" }

// lastSegment returns what follows the last "/" of an ARN or id.
func lastSegment(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}
