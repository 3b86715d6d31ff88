// Package ec2 implements the Amazon EC2 API subset an ECS cluster is built
// from: VPCs, subnets and availability zones, security groups, key pairs
// and tags, over EC2's Query protocol. Records live in etcd; every server
// of a region answers the same.
package ec2

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// Namespace is the xmlns of EC2 responses (API version 2016-11-15).
const Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"

// Config names where the service lives.
type Config struct {
	Region, Account string
	// DefaultVPCCIDR is the range of the default VPC; DefaultVPCCIDR
	// (AWS's 172.31.0.0/16) when empty.
	DefaultVPCCIDR string
	// Profiles resolves instance profiles for RunInstances (IAM).
	Profiles Profiles
}

// Service is the EC2 API.
type Service struct {
	cfg   Config
	store *store.Store
	authz api.Authorizer
	log   *slog.Logger
	keys  keys
	now   func() time.Time
	// profiles resolves instance profiles for RunInstances.
	profiles Profiles
}

// New returns the EC2 service on st, authorizing every call with authz.
func New(cfg Config, st *store.Store, authz api.Authorizer, log *slog.Logger) *Service {
	return &Service{cfg: cfg, store: st, authz: authz, log: log, keys: keys{"/berth/" + cfg.Region + "/ec2/"}, now: time.Now,
		profiles: cfg.Profiles}
}

// Register serves EC2 on router.
func (s *Service) Register(router *api.Router) { router.AddQuery(s.QueryService()) }

// QueryService exposes the actions over EC2's Query protocol.
func (s *Service) QueryService() *api.QueryService {
	q := api.NewEC2QueryService("ec2", Namespace)
	q.Handle("DescribeRegions", api.EC2Op(s.DescribeRegions))
	q.Handle("DescribeAvailabilityZones", api.EC2Op(s.DescribeAvailabilityZones))
	q.Handle("DescribeAccountAttributes", api.EC2Op(s.DescribeAccountAttributes))
	q.Handle("CreateVpc", api.EC2Op(s.CreateVpc))
	q.Handle("DescribeVpcs", api.EC2Op(s.DescribeVpcs))
	q.Handle("DeleteVpc", api.EC2Op(s.DeleteVpc))
	q.Handle("CreateSubnet", api.EC2Op(s.CreateSubnet))
	q.Handle("DescribeSubnets", api.EC2Op(s.DescribeSubnets))
	q.Handle("DescribeNetworkInterfaces", api.EC2Op(s.DescribeNetworkInterfaces))
	q.Handle("DeleteSubnet", api.EC2Op(s.DeleteSubnet))
	q.Handle("CreateSecurityGroup", api.EC2Op(s.CreateSecurityGroup))
	q.Handle("DescribeSecurityGroups", api.EC2Op(s.DescribeSecurityGroups))
	q.Handle("DeleteSecurityGroup", api.EC2Op(s.DeleteSecurityGroup))
	q.Handle("AuthorizeSecurityGroupIngress", api.EC2Op(s.AuthorizeSecurityGroupIngress))
	q.Handle("AuthorizeSecurityGroupEgress", api.EC2Op(s.AuthorizeSecurityGroupEgress))
	q.Handle("RevokeSecurityGroupIngress", api.EC2Op(s.RevokeSecurityGroupIngress))
	q.Handle("RevokeSecurityGroupEgress", api.EC2Op(s.RevokeSecurityGroupEgress))
	q.Handle("CreateKeyPair", api.EC2Op(s.CreateKeyPair))
	q.Handle("ImportKeyPair", api.EC2Op(s.ImportKeyPair))
	q.Handle("DescribeKeyPairs", api.EC2Op(s.DescribeKeyPairs))
	q.Handle("DeleteKeyPair", api.EC2Op(s.DeleteKeyPair))
	q.Handle("DescribeImages", api.EC2Op(s.DescribeImages))
	q.Handle("CreateLaunchTemplate", api.EC2Op(s.CreateLaunchTemplate))
	q.Handle("CreateLaunchTemplateVersion", api.EC2Op(s.CreateLaunchTemplateVersion))
	q.Handle("ModifyLaunchTemplate", api.EC2Op(s.ModifyLaunchTemplate))
	q.Handle("DeleteLaunchTemplate", api.EC2Op(s.DeleteLaunchTemplate))
	q.Handle("DescribeLaunchTemplates", api.EC2Op(s.DescribeLaunchTemplates))
	q.Handle("DescribeLaunchTemplateVersions", api.EC2Op(s.DescribeLaunchTemplateVersions))
	q.Handle("RunInstances", api.EC2Op(s.RunInstances))
	q.Handle("DescribeInstances", api.EC2Op(s.DescribeInstances))
	q.Handle("DescribeInstanceStatus", api.EC2Op(s.DescribeInstanceStatus))
	q.Handle("StopInstances", api.EC2Op(s.StopInstances))
	q.Handle("StartInstances", api.EC2Op(s.StartInstances))
	q.Handle("TerminateInstances", api.EC2Op(s.TerminateInstances))
	q.Handle("CreateTags", api.EC2Op(s.CreateTags))
	q.Handle("DeleteTags", api.EC2Op(s.DeleteTags))
	q.Handle("DescribeTags", api.EC2Op(s.DescribeTags))
	return q
}

// authorize checks ec2:action on resource, then answers DryRunOperation
// when dryRun is set: as EC2 does, a dry run says whether the caller may
// act, and nothing more.
func (s *Service) authorize(ctx context.Context, action, resource string, dryRun bool) error {
	if err := s.authz.Authorize(ctx, api.PrincipalFrom(ctx), "ec2:"+action, resource); err != nil {
		return err
	}
	if dryRun {
		return &api.Error{Code: "DryRunOperation", Message: "Request would have succeeded, but DryRun flag is set.", Status: 412}
	}
	return nil
}

// arn is the ARN of an EC2 resource, e.g. arn("vpc", "vpc-0a1b...").
func (s *Service) arn(kind, id string) string {
	return fmt.Sprintf("arn:aws:ec2:%s:%s:%s/%s", s.cfg.Region, s.cfg.Account, kind, id)
}

// keys lays out EC2 records in etcd: one key per resource under its kind.
type keys struct{ prefix string }

func (k keys) of(kind string) string      { return k.prefix + kind + "/" }
func (k keys) res(kind, id string) string { return k.prefix + kind + "/" + id }
func (k keys) defaults() string           { return k.prefix + "defaults" }

// newID returns a resource id of EC2's form: prefix, '-', 17 hex digits.
func newID(prefix string) string {
	var b [9]byte
	rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])[:17]
}

// notFound is EC2's error for a missing resource, e.g.
// InvalidVpcID.NotFound "The vpc ID 'vpc-1' does not exist".
func notFound(code, format string, args ...any) error {
	return api.Errorf(code, format, args...)
}

// get loads the record of kind with id, or the not-found error nf.
func get[T any](ctx context.Context, s *Service, kind, id string, nf error) (store.Item[T], error) {
	it, err := store.Get[T](ctx, s.store, s.keys.res(kind, id))
	if errors.Is(err, store.ErrNotFound) {
		return it, nf
	}
	return it, err
}

// retry runs fn until it commits without a conflict, with the store's
// bounded retry policy.
func retry(ctx context.Context, fn func() error) error { return store.Retry(ctx, fn) }

// Return is the result of the actions that answer <return>true</return>.
type Return struct {
	Return bool `xml:"return"`
}

var ok = &Return{Return: true}

func missing(name string) error {
	return api.Errorf("MissingParameter", "The request must contain the parameter %s", name)
}

func invalidValue(format string, args ...any) error {
	return api.Errorf("InvalidParameterValue", format, args...)
}
