// Package elbv2 is Elastic Load Balancing (version 2015-12-01): application
// and network load balancers, their listeners and rules, target groups and
// their targets. The API writes intent to the store; the data plane
// (internal/lb), fed by this package's controller on every server, makes
// it so on the machine.
package elbv2

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/ec2"
	"github.com/berth-dev/berth/internal/lb"
	"github.com/berth-dev/berth/internal/store"
)

// Namespace is the xmlns of ELBv2 responses (API version 2015-12-01).
const Namespace = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"

// Config names where the service lives.
type Config struct {
	Region, Account string
	// Listen are addresses every listener binds on its port besides
	// 127.0.0.1 (a wildcard address, 0.0.0.0, covers it).
	Listen []string
	// CheckInterval, when set, replaces every target group's health check
	// interval in the data plane (tests use a short one).
	CheckInterval time.Duration
	// Certificates are the certificates of HTTPS and TLS listeners (ACM);
	// without them such listeners cannot be made.
	Certificates Certificates
}

// Service is the ELBv2 API and the controller of its data plane.
type Service struct {
	cfg   Config
	store *store.Store
	ec2   *ec2.Service
	authz api.Authorizer
	log   *slog.Logger
	keys  keys
	now   func() time.Time
	// plane is this server's data plane: its listeners and health checks.
	plane *lb.Plane
	// applied is the store revision the data plane last applied.
	applied atomic.Int64
	// lastApplyErr is the data plane's last error, said once; only the
	// data plane controller touches it.
	lastApplyErr string
}

// New returns ELBv2 on st; its data plane opens listeners once the
// controller runs (Controllers).
func New(cfg Config, st *store.Store, ec2Svc *ec2.Service, authz api.Authorizer, log *slog.Logger) *Service {
	cfg.Listen = listenAddresses(cfg.Listen)
	return &Service{cfg: cfg, store: st, ec2: ec2Svc, authz: authz, log: log,
		keys: keys{"/berth/" + cfg.Region + "/elbv2/"}, now: time.Now,
		plane: lb.New(lb.Options{Addresses: cfg.Listen, CheckInterval: cfg.CheckInterval, Log: log})}
}

// listenAddresses are 127.0.0.1 and the extra addresses, once each; a
// wildcard address alone, since it covers the others.
func listenAddresses(extra []string) []string {
	out := []string{"127.0.0.1"}
	for _, a := range extra {
		if a == "0.0.0.0" || a == "::" {
			return []string{a}
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// Register serves ELBv2 on router.
func (s *Service) Register(router *api.Router) { router.AddQuery(s.QueryService()) }

// Close closes the data plane's listeners.
func (s *Service) Close() { s.plane.Close() }

// QueryService exposes the actions over the Query protocol.
func (s *Service) QueryService() *api.QueryService {
	q := api.NewQueryService("elasticloadbalancing", Namespace)
	q.FaultCode = "InternalFailure"
	q.Handle("CreateLoadBalancer", op(s.CreateLoadBalancer))
	q.Handle("DescribeLoadBalancers", op(s.DescribeLoadBalancers))
	q.Handle("DeleteLoadBalancer", op(s.DeleteLoadBalancer))
	q.Handle("DescribeLoadBalancerAttributes", op(s.DescribeLoadBalancerAttributes))
	q.Handle("ModifyLoadBalancerAttributes", op(s.ModifyLoadBalancerAttributes))
	q.Handle("CreateTargetGroup", op(s.CreateTargetGroup))
	q.Handle("DescribeTargetGroups", op(s.DescribeTargetGroups))
	q.Handle("ModifyTargetGroup", op(s.ModifyTargetGroup))
	q.Handle("DeleteTargetGroup", op(s.DeleteTargetGroup))
	q.Handle("DescribeTargetGroupAttributes", op(s.DescribeTargetGroupAttributes))
	q.Handle("ModifyTargetGroupAttributes", op(s.ModifyTargetGroupAttributes))
	q.Handle("RegisterTargets", op(s.RegisterTargets))
	q.Handle("DeregisterTargets", op(s.DeregisterTargets))
	q.Handle("DescribeTargetHealth", op(s.DescribeTargetHealth))
	q.Handle("CreateListener", op(s.CreateListener))
	q.Handle("DescribeListeners", op(s.DescribeListeners))
	q.Handle("ModifyListener", op(s.ModifyListener))
	q.Handle("DeleteListener", op(s.DeleteListener))
	q.Handle("CreateRule", op(s.CreateRule))
	q.Handle("DescribeRules", op(s.DescribeRules))
	q.Handle("ModifyRule", op(s.ModifyRule))
	q.Handle("DeleteRule", op(s.DeleteRule))
	q.Handle("SetRulePriorities", op(s.SetRulePriorities))
	q.Handle("AddTags", op(s.AddTags))
	q.Handle("RemoveTags", op(s.RemoveTags))
	q.Handle("DescribeTags", op(s.DescribeTags))
	q.Handle("AddListenerCertificates", op(s.AddListenerCertificates))
	q.Handle("RemoveListenerCertificates", op(s.RemoveListenerCertificates))
	q.Handle("DescribeListenerCertificates", op(s.DescribeListenerCertificates))
	q.Handle("DescribeSSLPolicies", op(s.DescribeSSLPolicies))
	q.Handle("SetSecurityGroups", op(s.SetSecurityGroups))
	q.Handle("SetSubnets", op(s.SetSubnets))
	q.Handle("SetIpAddressType", op(s.SetIpAddressType))
	q.Handle("DescribeAccountLimits", op(s.DescribeAccountLimits))
	return q
}

// authorize checks elasticloadbalancing:action on resource for the caller.
func (s *Service) authorize(ctx context.Context, action, resource string) error {
	return s.authz.Authorize(ctx, api.PrincipalFrom(ctx), "elasticloadbalancing:"+action, resource)
}

// arn is the ARN of an ELBv2 resource, e.g. loadbalancer/app/web/0123456789abcdef.
func (s *Service) arn(resource string) string {
	return fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:%s", s.cfg.Region, s.cfg.Account, resource)
}

// newID is a resource id as AWS writes them: 16 hex digits.
func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// keys lays out ELBv2 records in etcd. A load balancer's record holds its
// listeners and their rules, so that a listener or rule change is one
// write of one record (with the target groups and ports it touches).
type keys struct{ prefix string }

func (k keys) balancers() string           { return k.prefix + "lb/" }
func (k keys) balancer(name string) string { return k.prefix + "lb/" + name }
func (k keys) groups() string              { return k.prefix + "tg/" }
func (k keys) group(name string) string    { return k.prefix + "tg/" + name }
func (k keys) port(port int) string        { return fmt.Sprintf("%sport/%d", k.prefix, port) }

// ELBv2's error codes.
const (
	codeDuplicateLBName     = "DuplicateLoadBalancerName"
	codeDuplicateTGName     = "DuplicateTargetGroupName"
	codeDuplicateListener   = "DuplicateListener"
	codeDuplicateTagKeys    = "DuplicateTagKeys"
	codeLBNotFound          = "LoadBalancerNotFound"
	codeTGNotFound          = "TargetGroupNotFound"
	codeListenerNotFound    = "ListenerNotFound"
	codeRuleNotFound        = "RuleNotFound"
	codeInvalidConfig       = "InvalidConfigurationRequest"
	codeInvalidSubnet       = "InvalidSubnet"
	codeSubnetNotFound      = "SubnetNotFound"
	codeInvalidSG           = "InvalidSecurityGroup"
	codeInvalidTarget       = "InvalidTarget"
	codeInvalidAction       = "InvalidLoadBalancerAction"
	codeIncompatible        = "IncompatibleProtocols"
	codeUnsupportedProtocol = "UnsupportedProtocol"
	codePriorityInUse       = "PriorityInUse"
	codeResourceInUse       = "ResourceInUse"
	codeNotPermitted        = "OperationNotPermitted"
	codeTooManyTags         = "TooManyTags"
	codeTooManyListeners    = "TooManyListeners"
	codeTooManyRules        = "TooManyRules"
	codeTooManyLBs          = "TooManyLoadBalancers"
	codeTooManyTGs          = "TooManyTargetGroups"
	codeTooManyTargets      = "TooManyTargets"
	codeTooManyActions      = "TooManyActions"
	codeAssociationLimit    = "TargetGroupAssociationLimit"
)

// AWS's default quotas.
const (
	maxBalancers       = 50
	maxTargetGroups    = 3000
	maxListeners       = 50
	maxRules           = 100
	maxTargetsPerGroup = 1000
	maxTags            = 50
	maxConditionValues = 5
)

// check words the errors of values that break the model's constraints.
var check = api.QueryValidation

func validation(format string, args ...any) error {
	return api.Errorf(api.CodeValidation, format, args...)
}

func invalidConfig(format string, args ...any) error {
	return api.Errorf(codeInvalidConfig, format, args...)
}

// names of load balancers and target groups: at most 32 alphanumerics or
// hyphens, not starting or ending with a hyphen.
var nameChars = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$`)

// checkName refuses a name AWS refuses; kind is "load balancer" or "target group".
func checkName(kind, name string) error {
	switch {
	case name == "":
		return check.Null("name")
	case len(name) > 32:
		return validation("The %s name '%s' cannot be longer than '32' characters", kind, name)
	case !nameChars.MatchString(name):
		return validation("The %s name '%s' can only contain characters that are alphanumeric characters and hyphens(-), and must not begin or end with a hyphen", kind, name)
	case kind == "load balancer" && strings.HasPrefix(strings.ToLower(name), "internal-"):
		return validation("Load balancer name '%s' cannot begin with 'internal-'", name)
	}
	return nil
}

// arnParts splits an ELBv2 ARN of kind (loadbalancer, targetgroup,
// listener, listener-rule) into the path after the kind; ok is false for
// anything else, including ARNs of another region or account.
func (s *Service) arnParts(arn, kind string) ([]string, bool) {
	prefix := s.arn(kind + "/")
	if !strings.HasPrefix(arn, prefix) {
		return nil, false
	}
	return strings.Split(strings.TrimPrefix(arn, prefix), "/"), true
}

// page returns the items of one page after the marker, at most pageSize
// (default and maximum 400), and the next marker.
func page[T any](items []T, key func(T) string, marker string, pageSize int) ([]T, string, error) {
	return api.MarkerPage(items, key, marker, pageSize, 400)
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// op answers every success with its result element (api.ResultQueryOp).
func op[Req, Resp any](fn func(context.Context, *Req) (*Resp, error)) api.QueryHandler {
	return api.ResultQueryOp(fn)
}
