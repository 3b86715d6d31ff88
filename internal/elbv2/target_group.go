package elbv2

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// tgRecord is a target group as stored, with its targets and the load
// balancers that forward to it.
type tgRecord struct {
	Name          string            `json:"name"`
	ARN           string            `json:"arn"`
	Protocol      string            `json:"protocol"`
	Port          int               `json:"port"`
	VpcID         string            `json:"vpcId"`
	TargetType    string            `json:"targetType"`
	HealthCheck   healthCheck       `json:"healthCheck"`
	Attributes    map[string]string `json:"attributes,omitempty"`
	Tags          []Tag             `json:"tags,omitempty"`
	Targets       []targetRecord    `json:"targets,omitempty"`
	LoadBalancers []string          `json:"loadBalancers,omitempty"`
	Created       time.Time         `json:"created"`
}

type CreateTargetGroupInput struct {
	Name            string
	Protocol        string
	ProtocolVersion string
	Port            *int
	VpcId           string
	TargetType      string
	Tags            []Tag
	IpAddressType   string
	HealthSettings
}

// TargetGroup is ELBv2's TargetGroup shape.
type TargetGroup struct {
	TargetGroupArn             string
	TargetGroupName            string
	Protocol                   string
	Port                       int
	VpcId                      string
	HealthCheckProtocol        string
	HealthCheckPort            string
	HealthCheckEnabled         bool
	HealthCheckIntervalSeconds int
	HealthCheckTimeoutSeconds  int
	HealthyThresholdCount      int
	UnhealthyThresholdCount    int
	HealthCheckPath            string   `xml:",omitempty"`
	Matcher                    *Matcher `xml:",omitempty"`
	LoadBalancerArns           api.Members[string]
	TargetType                 string
	ProtocolVersion            string `xml:",omitempty"`
	IpAddressType              string
}

type TargetGroupsOutput struct {
	TargetGroups api.Members[TargetGroup]
	NextMarker   string `xml:",omitempty"`
}

// CreateTargetGroup creates an instance or ip target group of protocol
// HTTP (for application load balancers) or TCP (network ones) in a VPC,
// with AWS's health check defaults. Creating it again with the same
// settings returns it.
func (s *Service) CreateTargetGroup(ctx context.Context, in *CreateTargetGroupInput) (*TargetGroupsOutput, error) {
	if err := checkName("target group", in.Name); err != nil {
		return nil, err
	}
	rec := tgRecord{Name: in.Name, Protocol: in.Protocol, VpcID: in.VpcId, TargetType: cmpOr(in.TargetType, "instance"),
		Created: s.now().UTC().Truncate(time.Millisecond)}
	rec.ARN = s.arn(fmt.Sprintf("targetgroup/%s/%s", rec.Name, newID()))
	if err := s.authorize(ctx, "CreateTargetGroup", rec.ARN); err != nil {
		return nil, err
	}
	if err := check.Enum("targetType", rec.TargetType, "instance", "ip", "lambda", "alb"); err != nil {
		return nil, err
	}
	if rec.TargetType != "instance" && rec.TargetType != "ip" {
		return nil, validation("Target type '%s' is not supported by Berth: use instance or ip", rec.TargetType)
	}
	if in.IpAddressType != "" && in.IpAddressType != "ipv4" {
		return nil, validation("IP address type '%s' is not supported by Berth: targets are IPv4", in.IpAddressType)
	}
	if err := checkProtocol(rec.Protocol); err != nil {
		return nil, err
	}
	if in.ProtocolVersion != "" && (!webCheck(rec.Protocol) || in.ProtocolVersion != "HTTP1") {
		return nil, validation("Protocol version '%s' is not supported by Berth: HTTP and HTTPS target groups speak HTTP1", in.ProtocolVersion)
	}
	if in.Port == nil {
		return nil, validation("A port must be specified")
	}
	if err := check.Range("port", *in.Port, 1, 65535); err != nil {
		return nil, err
	}
	rec.Port = *in.Port
	if rec.VpcID == "" {
		return nil, validation("A VPC ID must be specified")
	}
	if _, err := s.ec2.VpcCIDR(ctx, rec.VpcID); err != nil {
		return nil, validation("The VPC ID '%s' is not found", rec.VpcID)
	}
	rec.HealthCheck = defaultHealth(rec.Protocol)
	if err := applyHealth(&rec.HealthCheck, rec.Protocol, in.HealthSettings); err != nil {
		return nil, err
	}
	tags, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	rec.Tags = tags
	err = store.Retry(ctx, func() error {
		cur, err := store.Get[tgRecord](ctx, s.store, s.keys.group(rec.Name))
		if err == nil {
			if cur.Value.Protocol == rec.Protocol && cur.Value.Port == rec.Port && cur.Value.VpcID == rec.VpcID &&
				cur.Value.TargetType == rec.TargetType && cur.Value.HealthCheck == rec.HealthCheck {
				rec = cur.Value
				return nil
			}
			return api.Errorf(codeDuplicateTGName, "A target group with the same name '%s' exists, but with different settings", rec.Name)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		n, err := s.store.Count(ctx, s.keys.groups())
		if err != nil {
			return err
		}
		if n >= maxTargetGroups {
			return api.Errorf(codeTooManyTGs, "The maximum number of target groups (%d) has been reached", maxTargetGroups)
		}
		return s.store.Commit(ctx, store.NewTxn().IfAbsent(s.keys.group(rec.Name)).Put(s.keys.group(rec.Name), rec))
	})
	if err != nil {
		return nil, err
	}
	return &TargetGroupsOutput{TargetGroups: api.Members[TargetGroup]{tgShape(rec)}}, nil
}

// checkProtocol refuses target group protocols Berth does not serve.
func checkProtocol(p string) error {
	switch p {
	case "":
		return validation("A protocol must be specified")
	case "HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP":
		return nil
	case "GENEVE":
		return validation("Protocol '%s' is not supported by Berth: target groups are HTTP, HTTPS, TCP, TLS, UDP or TCP_UDP", p)
	}
	return check.Enum("protocol", p, "HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP", "GENEVE")
}

func tgShape(r tgRecord) TargetGroup {
	out := TargetGroup{TargetGroupArn: r.ARN, TargetGroupName: r.Name, Protocol: r.Protocol, Port: r.Port, VpcId: r.VpcID,
		HealthCheckProtocol: r.HealthCheck.Protocol, HealthCheckPort: r.HealthCheck.Port, HealthCheckEnabled: r.HealthCheck.Enabled,
		HealthCheckIntervalSeconds: r.HealthCheck.Interval, HealthCheckTimeoutSeconds: r.HealthCheck.Timeout,
		HealthyThresholdCount: r.HealthCheck.Healthy, UnhealthyThresholdCount: r.HealthCheck.Unhealthy,
		HealthCheckPath: r.HealthCheck.Path, LoadBalancerArns: api.Members[string](orEmpty(r.LoadBalancers)),
		TargetType: r.TargetType, IpAddressType: "ipv4"}
	if r.HealthCheck.Matcher != "" {
		out.Matcher = &Matcher{HttpCode: r.HealthCheck.Matcher}
	}
	if webCheck(r.Protocol) {
		out.ProtocolVersion = "HTTP1"
	}
	return out
}

// targetGroup reads the target group of an ARN, or TargetGroupNotFound.
func (s *Service) targetGroup(ctx context.Context, arn string) (store.Item[tgRecord], error) {
	if arn == "" {
		return store.Item[tgRecord]{}, check.Null("targetGroupArn")
	}
	parts, ok := s.arnParts(arn, "targetgroup")
	if !ok || len(parts) != 2 {
		return store.Item[tgRecord]{}, validation("'%s' is not a valid target group ARN", arn)
	}
	it, err := store.Get[tgRecord](ctx, s.store, s.keys.group(parts[0]))
	if errors.Is(err, store.ErrNotFound) || (err == nil && it.Value.ARN != arn) {
		return it, api.Errorf(codeTGNotFound, "Target groups '%s' not found", arn)
	}
	return it, err
}

type DescribeTargetGroupsInput struct {
	LoadBalancerArn string
	TargetGroupArns []string
	Names           []string
	Marker          string
	PageSize        int
}

// DescribeTargetGroups lists target groups: all, by ARN or name, or those
// a load balancer forwards to.
func (s *Service) DescribeTargetGroups(ctx context.Context, in *DescribeTargetGroupsInput) (*TargetGroupsOutput, error) {
	if err := s.authorize(ctx, "DescribeTargetGroups", "*"); err != nil {
		return nil, err
	}
	given := 0
	for _, set := range []bool{in.LoadBalancerArn != "", len(in.TargetGroupArns) > 0, len(in.Names) > 0} {
		if set {
			given++
		}
	}
	if given > 1 {
		return nil, validation("Only one of LoadBalancerArn, TargetGroupArns and Names can be specified")
	}
	if in.LoadBalancerArn != "" {
		if _, err := s.balancer(ctx, in.LoadBalancerArn); err != nil {
			return nil, err
		}
	}
	items, err := store.List[tgRecord](ctx, s.store, s.keys.groups())
	if err != nil {
		return nil, err
	}
	var recs []tgRecord
	find := func(match func(tgRecord) bool, what string) error {
		i := slices.IndexFunc(items, func(it store.Item[tgRecord]) bool { return match(it.Value) })
		if i < 0 {
			return api.Errorf(codeTGNotFound, "One or more target groups not found: '%s'", what)
		}
		recs = append(recs, items[i].Value)
		return nil
	}
	switch {
	case len(in.TargetGroupArns) > 0:
		for _, arn := range in.TargetGroupArns {
			if err := find(func(r tgRecord) bool { return r.ARN == arn }, arn); err != nil {
				return nil, err
			}
		}
	case len(in.Names) > 0:
		for _, name := range in.Names {
			if err := find(func(r tgRecord) bool { return r.Name == name }, name); err != nil {
				return nil, err
			}
		}
	default:
		for _, it := range items {
			if in.LoadBalancerArn == "" || slices.Contains(it.Value.LoadBalancers, in.LoadBalancerArn) {
				recs = append(recs, it.Value)
			}
		}
	}
	recs, next, err := page(recs, func(r tgRecord) string { return r.Name }, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	out := &TargetGroupsOutput{TargetGroups: api.Members[TargetGroup]{}, NextMarker: next}
	for _, r := range recs {
		out.TargetGroups = append(out.TargetGroups, tgShape(r))
	}
	return out, nil
}

type ModifyTargetGroupInput struct {
	TargetGroupArn string
	HealthSettings
}

// ModifyTargetGroup changes a target group's health check.
func (s *Service) ModifyTargetGroup(ctx context.Context, in *ModifyTargetGroupInput) (*TargetGroupsOutput, error) {
	var out tgRecord
	err := s.updateGroup(ctx, "ModifyTargetGroup", in.TargetGroupArn, func(g *tgRecord) error {
		if err := applyHealth(&g.HealthCheck, g.Protocol, in.HealthSettings); err != nil {
			return err
		}
		out = *g
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &TargetGroupsOutput{TargetGroups: api.Members[TargetGroup]{tgShape(out)}}, nil
}

// updateGroup authorizes action on a target group and applies fn to it.
func (s *Service) updateGroup(ctx context.Context, action, arn string, fn func(*tgRecord) error) error {
	first := true
	return store.Retry(ctx, func() error {
		it, err := s.targetGroup(ctx, arn)
		if err != nil {
			return err
		}
		if first && action != "" {
			if err := s.authorize(ctx, action, it.Value.ARN); err != nil {
				return err
			}
			first = false
		}
		if err := fn(&it.Value); err != nil {
			return err
		}
		return s.store.Commit(ctx, store.NewTxn().IfRev(it.Key, it.Rev).Put(it.Key, it.Value))
	})
}

type TargetGroupArnInput struct {
	TargetGroupArn string
}

// DeleteTargetGroup deletes a target group no listener or rule forwards
// to; deleting one that is gone succeeds.
func (s *Service) DeleteTargetGroup(ctx context.Context, in *TargetGroupArnInput) (*struct{}, error) {
	it, err := s.targetGroup(ctx, in.TargetGroupArn)
	if codeOf(err) == codeTGNotFound {
		return nil, s.authorize(ctx, "DeleteTargetGroup", in.TargetGroupArn)
	}
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "DeleteTargetGroup", it.Value.ARN); err != nil {
		return nil, err
	}
	return nil, store.Retry(ctx, func() error {
		it, err := s.targetGroup(ctx, in.TargetGroupArn)
		if codeOf(err) == codeTGNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		if len(it.Value.LoadBalancers) > 0 {
			return api.Errorf(codeResourceInUse, "Target group '%s' is currently in use by a listener or a rule", it.Value.ARN)
		}
		return s.store.Commit(ctx, store.NewTxn().IfRev(it.Key, it.Rev).Delete(it.Key))
	})
}
