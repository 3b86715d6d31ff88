// Package elb is the Classic Elastic Load Balancing API (version
// 2012-06-01): load balancers whose listeners forward to registered EC2
// instances, with one health check each. It shares ELBv2's signing name
// (the router tells them apart by Version), its listener ports and its
// data plane (internal/lb), which this package's controller feeds as a
// second source on every server.
package elb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/ec2"
	"github.com/berth-dev/berth/internal/elbv2"
	"github.com/berth-dev/berth/internal/lb"
	"github.com/berth-dev/berth/internal/store"
)

// Version is the API version of the Classic API.
const Version = "2012-06-01"

// Namespace is the xmlns of its responses.
const Namespace = "http://elasticloadbalancing.amazonaws.com/doc/2012-06-01/"

// Ports is the machine's one namespace of listener ports, which ELBv2
// keeps (elbv2.Service implements it).
type Ports interface {
	// PortKey is the store key that claims a port; it holds the ARN of
	// the load balancer that has it.
	PortKey(port int) string
	// ProbePort refuses a port no load balancer holds and the machine
	// cannot bind.
	ProbePort(ctx context.Context, port int) error
}

// Config names where the service lives and what it shares with ELBv2.
type Config struct {
	Region, Account string
	// Plane is the server's data plane, shared with ELBv2.
	Plane *lb.Plane
	Ports Ports
	// Certificates are the certificates of HTTPS and SSL listeners
	// (Certificate Manager's); nil: none exists.
	Certificates elbv2.Certificates
}

// Service is the Classic API and the controller of its part of the data
// plane.
type Service struct {
	cfg   Config
	store *store.Store
	ec2   *ec2.Service
	authz api.Authorizer
	log   *slog.Logger
	now   func() time.Time
	// prefix is where the records live in the store.
	prefix string
	// lastApplyErr is the data plane's last error, said once.
	lastApplyErr string
}

// New returns the Classic API on st.
func New(cfg Config, st *store.Store, ec2Svc *ec2.Service, authz api.Authorizer, log *slog.Logger) *Service {
	return &Service{cfg: cfg, store: st, ec2: ec2Svc, authz: authz, log: log, now: time.Now, prefix: "/berth/" + cfg.Region + "/elb/lb/"}
}

// Register serves the Classic API on router.
func (s *Service) Register(router *api.Router) { router.AddQuery(s.QueryService()) }

// QueryService exposes the actions over the Query protocol, for requests
// of version 2012-06-01 signed for elasticloadbalancing.
func (s *Service) QueryService() *api.QueryService {
	q := api.NewQueryService("elasticloadbalancing", Namespace)
	q.Version = Version
	q.FaultCode = "InternalFailure"
	q.Handle("CreateLoadBalancer", op(s.CreateLoadBalancer))
	q.Handle("DescribeLoadBalancers", op(s.DescribeLoadBalancers))
	q.Handle("DeleteLoadBalancer", op(s.DeleteLoadBalancer))
	q.Handle("CreateLoadBalancerListeners", op(s.CreateLoadBalancerListeners))
	q.Handle("DeleteLoadBalancerListeners", op(s.DeleteLoadBalancerListeners))
	q.Handle("RegisterInstancesWithLoadBalancer", op(s.RegisterInstancesWithLoadBalancer))
	q.Handle("DeregisterInstancesFromLoadBalancer", op(s.DeregisterInstancesFromLoadBalancer))
	q.Handle("ConfigureHealthCheck", op(s.ConfigureHealthCheck))
	q.Handle("DescribeInstanceHealth", op(s.DescribeInstanceHealth))
	q.Handle("DescribeLoadBalancerAttributes", op(s.DescribeLoadBalancerAttributes))
	q.Handle("ModifyLoadBalancerAttributes", op(s.ModifyLoadBalancerAttributes))
	q.Handle("AddTags", op(s.AddTags))
	q.Handle("RemoveTags", op(s.RemoveTags))
	q.Handle("DescribeTags", op(s.DescribeTags))
	q.Handle("ApplySecurityGroupsToLoadBalancer", op(s.ApplySecurityGroupsToLoadBalancer))
	q.Handle("AttachLoadBalancerToSubnets", op(s.AttachLoadBalancerToSubnets))
	q.Handle("DetachLoadBalancerFromSubnets", op(s.DetachLoadBalancerFromSubnets))
	q.Handle("EnableAvailabilityZonesForLoadBalancer", op(s.EnableAvailabilityZonesForLoadBalancer))
	q.Handle("DisableAvailabilityZonesForLoadBalancer", op(s.DisableAvailabilityZonesForLoadBalancer))
	q.Handle("DescribeAccountLimits", op(s.DescribeAccountLimits))
	q.Handle("SetLoadBalancerListenerSSLCertificate", op(s.SetLoadBalancerListenerSSLCertificate))
	q.Handle("CreateLBCookieStickinessPolicy", op(s.CreateLBCookieStickinessPolicy))
	q.Handle("CreateAppCookieStickinessPolicy", op(s.CreateAppCookieStickinessPolicy))
	q.Handle("CreateLoadBalancerPolicy", op(s.CreateLoadBalancerPolicy))
	q.Handle("DeleteLoadBalancerPolicy", op(s.DeleteLoadBalancerPolicy))
	q.Handle("DescribeLoadBalancerPolicies", op(s.DescribeLoadBalancerPolicies))
	q.Handle("DescribeLoadBalancerPolicyTypes", op(s.DescribeLoadBalancerPolicyTypes))
	q.Handle("SetLoadBalancerPoliciesOfListener", op(s.SetLoadBalancerPoliciesOfListener))
	q.Handle("SetLoadBalancerPoliciesForBackendServer", op(s.SetLoadBalancerPoliciesForBackendServer))
	return q
}

// authorize checks elasticloadbalancing:action on resource for the caller.
func (s *Service) authorize(ctx context.Context, action, resource string) error {
	return s.authz.Authorize(ctx, api.PrincipalFrom(ctx), "elasticloadbalancing:"+action, resource)
}

// arn is a Classic load balancer's ARN.
func (s *Service) arn(name string) string {
	return fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:loadbalancer/%s", s.cfg.Region, s.cfg.Account, name)
}

func (s *Service) key(name string) string { return s.prefix + name }

// The Classic API's error codes.
const (
	codeNotFound            = "LoadBalancerNotFound"
	codeDuplicateName       = "DuplicateLoadBalancerName"
	codeDuplicateListener   = "DuplicateListener"
	codeDuplicateTagKeys    = "DuplicateTagKeys"
	codeInvalidConfig       = "InvalidConfigurationRequest"
	codeInvalidInstance     = "InvalidInstance"
	codeInvalidScheme       = "InvalidScheme"
	codeInvalidSG           = "InvalidSecurityGroup"
	codeInvalidSubnet       = "InvalidSubnet"
	codeSubnetNotFound      = "SubnetNotFound"
	codeTooManyLBs          = "TooManyLoadBalancers"
	codeTooManyTags         = "TooManyTags"
	codeUnsupported         = "UnsupportedProtocol"
	codeAttrNotFound        = "LoadBalancerAttributeNotFound"
	codeListenerNotFound    = "ListenerNotFound"
	codePolicyNotFound      = "PolicyNotFound"
	codePolicyTypeNotFound  = "PolicyTypeNotFound"
	codeDuplicatePolicy     = "DuplicatePolicyName"
	codeTooManyPolicies     = "TooManyPolicies"
	codeCertificateNotFound = "CertificateNotFound"
)

// AWS's default quotas for Classic load balancers.
const (
	maxBalancers = 20
	maxTags      = 10
	maxListeners = 100
	maxInstances = 1000
)

var check = api.QueryValidation

func validation(format string, args ...any) error {
	return api.Errorf(api.CodeValidation, format, args...)
}

func invalidConfig(format string, args ...any) error {
	return api.Errorf(codeInvalidConfig, format, args...)
}

func notFound(name string) error {
	return api.Errorf(codeNotFound, "There is no ACTIVE Load Balancer named '%s'", name)
}

// nameChars: at most 32 alphanumerics or hyphens, not starting or ending
// with a hyphen.
var nameChars = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$`)

func checkName(name string) error {
	switch {
	case name == "":
		return check.Null("loadBalancerName")
	case len(name) > 32:
		return check.Length("loadBalancerName", name, 1, 32)
	case !nameChars.MatchString(name):
		return validation("LoadBalancerName '%s' must contain only alphanumeric characters or hyphens, and cannot begin or end with a hyphen", name)
	}
	return nil
}

// balancer reads a load balancer by name, or LoadBalancerNotFound.
func (s *Service) balancer(ctx context.Context, name string) (store.Item[lbRecord], error) {
	if name == "" {
		return store.Item[lbRecord]{}, check.Null("loadBalancerName")
	}
	it, err := store.Get[lbRecord](ctx, s.store, s.key(name))
	if errors.Is(err, store.ErrNotFound) {
		return it, notFound(name)
	}
	return it, err
}

// op answers every success with its result element (api.ResultQueryOp).
func op[Req, Resp any](fn func(context.Context, *Req) (*Resp, error)) api.QueryHandler {
	return api.ResultQueryOp(fn)
}

// authorizeName checks a name and elasticloadbalancing:action on its load
// balancer.
func (s *Service) authorizeName(ctx context.Context, action, name string) error {
	if name == "" {
		return check.Null("loadBalancerName")
	}
	return s.authorize(ctx, action, s.arn(name))
}

func itoa(n int) string { return strconv.Itoa(n) }
