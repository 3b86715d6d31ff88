// Package autoscaling is EC2 Auto Scaling: launch configurations, groups
// that keep a desired number of instances running across their zones,
// scaling policies, and the controller (on the leader) that launches and
// terminates the groups' instances through EC2.
package autoscaling

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/controller"
	"github.com/berth-dev/berth/internal/ec2"
	"github.com/berth-dev/berth/internal/store"
)

// Namespace is the xmlns of Auto Scaling responses (API version 2011-01-01).
const Namespace = "http://autoscaling.amazonaws.com/doc/2011-01-01/"

// ServiceRole is the service-linked role Auto Scaling acts through when
// it launches and terminates a group's instances.
const ServiceRole = "AWSServiceRoleForAutoScaling"

// DefaultInterval is how often the group controller looks at every group
// when nothing wakes it sooner.
const DefaultInterval = 2 * time.Second

// Config names where the service lives.
type Config struct {
	Region, Account string
	// Interval is how often the group controller reconciles every group;
	// DefaultInterval when zero. A change made through this server's API
	// wakes it at once.
	Interval time.Duration
}

// Service is the Auto Scaling API and its group controller.
type Service struct {
	cfg   Config
	store *store.Store
	ec2   *ec2.Service
	authz api.Authorizer
	log   *slog.Logger
	keys  keys
	now   func() time.Time
	// kick wakes the group controller after an API change.
	kick chan struct{}
	// drainer, when set, drains an instance before scale-in ends it.
	drainer Drainer
}

// Drainer is ECS's managed draining, asked before an instance chosen for
// scale-in is terminated.
type Drainer interface {
	// DrainBeforeTermination starts draining the EC2 instance and reports
	// whether it may be terminated now.
	DrainBeforeTermination(ctx context.Context, ec2InstanceID string) (bool, error)
}

// DrainTimeout is how long a scale-in waits for an instance to drain
// before it terminates it anyway.
var DrainTimeout = time.Hour

// UseDrainer makes scale-in wait, in Terminating:Wait, until d lets each
// instance go: ECS's managed draining. This one link is made once both
// services exist.
func (s *Service) UseDrainer(d Drainer) { s.drainer = d }

// New returns Auto Scaling on st, launching instances through ec2.
func New(cfg Config, st *store.Store, ec2Svc *ec2.Service, authz api.Authorizer, log *slog.Logger) *Service {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	return &Service{cfg: cfg, store: st, ec2: ec2Svc, authz: authz, log: log,
		keys: keys{"/berth/" + cfg.Region + "/autoscaling/"}, now: time.Now, kick: make(chan struct{}, 1)}
}

// Register serves Auto Scaling on router.
func (s *Service) Register(router *api.Router) { router.AddQuery(s.QueryService()) }

// Controllers is the group controller, on the leader.
func (s *Service) Controllers() []controller.Controller {
	return []controller.Controller{controller.Leader("autoscaling-groups", s.runGroups)}
}

// QueryService exposes the actions over the Query protocol.
func (s *Service) QueryService() *api.QueryService {
	q := api.NewQueryService("autoscaling", Namespace)
	q.FaultCode = "InternalFailure"
	q.Handle("CreateLaunchConfiguration", api.StrictQueryOp(s.CreateLaunchConfiguration))
	q.Handle("DescribeLaunchConfigurations", api.StrictQueryOp(s.DescribeLaunchConfigurations))
	q.Handle("DeleteLaunchConfiguration", api.StrictQueryOp(s.DeleteLaunchConfiguration))
	q.Handle("CreateAutoScalingGroup", api.StrictQueryOp(s.CreateAutoScalingGroup))
	q.Handle("UpdateAutoScalingGroup", api.StrictQueryOp(s.UpdateAutoScalingGroup))
	q.Handle("DeleteAutoScalingGroup", api.StrictQueryOp(s.DeleteAutoScalingGroup))
	q.Handle("DescribeAutoScalingGroups", api.StrictQueryOp(s.DescribeAutoScalingGroups))
	q.Handle("SetDesiredCapacity", api.StrictQueryOp(s.SetDesiredCapacity))
	q.Handle("SetInstanceProtection", api.StrictQueryOp(s.SetInstanceProtection))
	q.Handle("TerminateInstanceInAutoScalingGroup", api.StrictQueryOp(s.TerminateInstanceInAutoScalingGroup))
	q.Handle("DescribeAutoScalingInstances", api.StrictQueryOp(s.DescribeAutoScalingInstances))
	q.Handle("AttachInstances", api.StrictQueryOp(s.AttachInstances))
	q.Handle("DetachInstances", api.StrictQueryOp(s.DetachInstances))
	q.Handle("SuspendProcesses", api.StrictQueryOp(s.SuspendProcesses))
	q.Handle("ResumeProcesses", api.StrictQueryOp(s.ResumeProcesses))
	q.Handle("DescribeScalingProcessTypes", api.StrictQueryOp(s.DescribeScalingProcessTypes))
	q.Handle("DescribeScalingActivities", api.StrictQueryOp(s.DescribeScalingActivities))
	q.Handle("PutScalingPolicy", api.StrictQueryOp(s.PutScalingPolicy))
	q.Handle("DescribePolicies", api.StrictQueryOp(s.DescribePolicies))
	q.Handle("DeletePolicy", api.StrictQueryOp(s.DeletePolicy))
	q.Handle("ExecutePolicy", api.StrictQueryOp(s.ExecutePolicy))
	q.Handle("CreateOrUpdateTags", api.StrictQueryOp(s.CreateOrUpdateTags))
	q.Handle("DeleteTags", api.StrictQueryOp(s.DeleteTags))
	q.Handle("DescribeTags", api.StrictQueryOp(s.DescribeTags))
	q.Handle("DescribeAdjustmentTypes", api.StrictQueryOp(s.DescribeAdjustmentTypes))
	q.Handle("DescribeTerminationPolicyTypes", api.StrictQueryOp(s.DescribeTerminationPolicyTypes))
	q.Handle("DescribeAccountLimits", api.StrictQueryOp(s.DescribeAccountLimits))
	q.Handle("SetInstanceHealth", api.StrictQueryOp(s.SetInstanceHealth))
	q.Handle("EnterStandby", api.StrictQueryOp(s.EnterStandby))
	q.Handle("ExitStandby", api.StrictQueryOp(s.ExitStandby))
	return q
}

// authorize checks autoscaling:action on resource for the caller.
func (s *Service) authorize(ctx context.Context, action, resource string) error {
	return s.authz.Authorize(ctx, api.PrincipalFrom(ctx), "autoscaling:"+action, resource)
}

// asService is ctx acting as Auto Scaling's service-linked role, for the
// EC2 calls the service makes on a group's behalf.
func (s *Service) asService(ctx context.Context) context.Context {
	return api.WithPrincipal(ctx, api.ServicePrincipal(s.cfg.Account, ServiceRole, "AutoScaling"))
}

// wake asks the group controller for a pass now.
func (s *Service) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// arn is the ARN of an Auto Scaling resource: kind and id, then the
// name path, e.g. autoScalingGroup:<uuid>:autoScalingGroupName/web.
func (s *Service) arn(kind, path string) string {
	return fmt.Sprintf("arn:aws:autoscaling:%s:%s:%s:%s:%s", s.cfg.Region, s.cfg.Account, kind, uuid.NewString(), path)
}

// keys lays out Auto Scaling records in etcd.
type keys struct{ prefix string }

func (k keys) groups() string                   { return k.prefix + "group/" }
func (k keys) group(name string) string         { return k.prefix + "group/" + name }
func (k keys) configs() string                  { return k.prefix + "launch-configuration/" }
func (k keys) config(name string) string        { return k.prefix + "launch-configuration/" + name }
func (k keys) policies(group string) string     { return k.prefix + "policy/" + group + "/" }
func (k keys) policy(group, name string) string { return k.prefix + "policy/" + group + "/" + name }
func (k keys) activities(group string) string   { return k.prefix + "activity/" + group + "/" }
func (k keys) activity(group, id string) string { return k.prefix + "activity/" + group + "/" + id }

// Auto Scaling's error codes.
const (
	codeAlreadyExists      = "AlreadyExists"
	codeResourceInUse      = "ResourceInUse"
	codeActivityInProgress = "ScalingActivityInProgress"
	codeLimitExceeded      = "LimitExceeded"
	codeInvalidNextToken   = "InvalidNextToken"
)

// check words the errors of values that break the model's constraints.
var check = api.QueryValidation

func validation(format string, args ...any) error {
	return api.Errorf(api.CodeValidation, format, args...)
}

// checkName refuses an empty or over-long name, or one with a colon (the
// ARN separator), as Auto Scaling does.
func checkName(param, name string) error {
	switch {
	case name == "":
		return check.Null(lowerFirst(param))
	case len(name) > 255:
		return check.Length(lowerFirst(param), name, 1, 255)
	case strings.ContainsRune(name, ':'):
		return validation("%s cannot contain ':'.", param)
	}
	return nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// stamp is a time as Auto Scaling's causes write it: 2026-12-05T17:40:01Z.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// page returns the items of one page after the cursor token, at most
// maxRecords (default 50, at most 100), and the next token.
func page[T any](items []T, key func(T) string, token string, maxRecords int) ([]T, string, error) {
	limit := 50
	if maxRecords != 0 {
		if err := check.Range("maxRecords", maxRecords, 1, 100); err != nil {
			return nil, "", err
		}
		limit = maxRecords
	}
	out, next, err := store.Page(items, key, token, limit)
	if errors.Is(err, store.ErrBadCursor) {
		return nil, "", api.Errorf(codeInvalidNextToken, "The token '%s' is invalid.", token)
	}
	return out, next, err
}
