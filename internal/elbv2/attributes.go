package elbv2

import (
	"context"
	"slices"
	"strconv"

	"github.com/berth-dev/berth/internal/api"
)

// An attribute's documented values: a boolean, an integer range, one of
// a set, or any string.
type attrSpec struct {
	def    string
	bool   bool
	lo, hi int
	enum   []string
	// fixed attributes cannot be changed from their default.
	fixed bool
}

func (a attrSpec) check(key, v string) error {
	bad := validation("The value of attribute '%s' must be %s", key, a.want())
	switch {
	case a.fixed && v != a.def:
		return invalidConfig("The attribute '%s' cannot be changed from '%s'", key, a.def)
	case a.bool:
		if v != "true" && v != "false" {
			return bad
		}
	case a.hi > 0:
		n, err := strconv.Atoi(v)
		if err != nil || n < a.lo || n > a.hi {
			return bad
		}
	case a.enum != nil:
		if !slices.Contains(a.enum, v) {
			return bad
		}
	}
	return nil
}

func (a attrSpec) want() string {
	switch {
	case a.bool:
		return "true or false"
	case a.hi > 0:
		return "an integer from " + strconv.Itoa(a.lo) + " to " + strconv.Itoa(a.hi)
	case a.enum != nil:
		return "one of " + fmtList(a.enum)
	}
	return "a string"
}

func fmtList(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ", "
		}
		out += v
	}
	return out
}

var boolFalse = attrSpec{def: "false", bool: true}

// lbAttributes are the documented attributes of a load balancer with
// their defaults.
func lbAttributes(r lbRecord) map[string]attrSpec {
	deny := "false"
	if r.Scheme == "internal" {
		deny = "true"
	}
	m := map[string]attrSpec{
		"deletion_protection.enabled": boolFalse,
		"access_logs.s3.enabled":      boolFalse,
		"access_logs.s3.bucket":       {},
		"access_logs.s3.prefix":       {},
		"ipv6.deny_all_igw_traffic":   {def: deny, bool: true},
	}
	if r.Type == typeNetwork {
		m["load_balancing.cross_zone.enabled"] = boolFalse
		return m
	}
	m["load_balancing.cross_zone.enabled"] = attrSpec{def: "true", bool: true, fixed: true}
	m["idle_timeout.timeout_seconds"] = attrSpec{def: "60", lo: 1, hi: 4000}
	m["routing.http.desync_mitigation_mode"] = attrSpec{def: "defensive", enum: []string{"monitor", "defensive", "strictest"}}
	m["routing.http.drop_invalid_header_fields.enabled"] = boolFalse
	m["routing.http.preserve_host_header.enabled"] = boolFalse
	m["routing.http.x_amzn_tls_version_and_cipher_suite.enabled"] = boolFalse
	m["routing.http.xff_client_port.enabled"] = boolFalse
	m["routing.http.xff_header_processing.mode"] = attrSpec{def: "append", enum: []string{"append", "preserve", "remove"}}
	m["routing.http2.enabled"] = attrSpec{def: "true", bool: true}
	m["waf.fail_open.enabled"] = boolFalse
	return m
}

// tgAttributes are the documented attributes of a target group.
func tgAttributes(r tgRecord) map[string]attrSpec {
	m := map[string]attrSpec{
		"deregistration_delay.timeout_seconds":                                           {def: "300", lo: 0, hi: 3600},
		"stickiness.enabled":                                                             boolFalse,
		"load_balancing.cross_zone.enabled":                                              {def: "use_load_balancer_configuration", enum: []string{"true", "false", "use_load_balancer_configuration"}},
		"target_group_health.dns_failover.minimum_healthy_targets.count":                 {def: "1"},
		"target_group_health.dns_failover.minimum_healthy_targets.percentage":            {def: "off"},
		"target_group_health.unhealthy_state_routing.minimum_healthy_targets.count":      {def: "1"},
		"target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": {def: "off"},
	}
	if network(r.Protocol) {
		preserve := "true"
		if r.TargetType == "ip" {
			preserve = "false"
		}
		m["stickiness.type"] = attrSpec{def: "source_ip", enum: []string{"source_ip"}}
		m["deregistration_delay.connection_termination.enabled"] = boolFalse
		m["preserve_client_ip.enabled"] = attrSpec{def: preserve, bool: true}
		m["proxy_protocol_v2.enabled"] = boolFalse
		return m
	}
	m["stickiness.type"] = attrSpec{def: "lb_cookie", enum: []string{"lb_cookie", "app_cookie"}}
	m["stickiness.lb_cookie.duration_seconds"] = attrSpec{def: "86400", lo: 1, hi: 604800}
	m["stickiness.app_cookie.cookie_name"] = attrSpec{}
	m["stickiness.app_cookie.duration_seconds"] = attrSpec{def: "86400", lo: 1, hi: 604800}
	m["load_balancing.algorithm.type"] = attrSpec{def: "round_robin", enum: []string{"round_robin", "least_outstanding_requests"}}
	m["slow_start.duration_seconds"] = attrSpec{def: "0", lo: 0, hi: 900}
	return m
}

type Attribute struct {
	Key   string
	Value string
}

type AttributesOutput struct {
	Attributes api.Members[Attribute]
}

// attributes lists every attribute, set or default, in key order.
func attributes(specs map[string]attrSpec, set map[string]string) *AttributesOutput {
	keys := make([]string, 0, len(specs))
	for k := range specs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := &AttributesOutput{Attributes: api.Members[Attribute]{}}
	for _, k := range keys {
		v, ok := set[k]
		if !ok {
			v = specs[k].def
		}
		out.Attributes = append(out.Attributes, Attribute{Key: k, Value: v})
	}
	return out
}

// setAttributes checks attrs against specs and writes them into set.
func setAttributes(specs map[string]attrSpec, set *map[string]string, attrs []Attribute) error {
	if len(attrs) == 0 {
		return check.Null("attributes")
	}
	if len(attrs) > 20 {
		return check.Items("attributes", len(attrs), 0, 20)
	}
	for _, a := range attrs {
		spec, ok := specs[a.Key]
		if !ok {
			return validation("Attribute key '%s' is not recognized", a.Key)
		}
		if err := spec.check(a.Key, a.Value); err != nil {
			return err
		}
	}
	if *set == nil {
		*set = map[string]string{}
	}
	for _, a := range attrs {
		(*set)[a.Key] = a.Value
	}
	return nil
}

// DescribeLoadBalancerAttributes lists a load balancer's attributes.
func (s *Service) DescribeLoadBalancerAttributes(ctx context.Context, in *LoadBalancerArnInput) (*AttributesOutput, error) {
	it, err := s.balancer(ctx, in.LoadBalancerArn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "DescribeLoadBalancerAttributes", it.Value.ARN); err != nil {
		return nil, err
	}
	return attributes(lbAttributes(it.Value), it.Value.Attributes), nil
}

type ModifyLoadBalancerAttributesInput struct {
	LoadBalancerArn string
	Attributes      []Attribute
}

// ModifyLoadBalancerAttributes sets attributes and returns them all.
func (s *Service) ModifyLoadBalancerAttributes(ctx context.Context, in *ModifyLoadBalancerAttributesInput) (*AttributesOutput, error) {
	it, err := s.balancer(ctx, in.LoadBalancerArn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "ModifyLoadBalancerAttributes", it.Value.ARN); err != nil {
		return nil, err
	}
	var out *AttributesOutput
	err = s.mutate(ctx, it.Value.ARN, func(r *lbRecord) error {
		if err := setAttributes(lbAttributes(*r), &r.Attributes, in.Attributes); err != nil {
			return err
		}
		out = attributes(lbAttributes(*r), r.Attributes)
		return nil
	})
	return out, err
}

// DescribeTargetGroupAttributes lists a target group's attributes.
func (s *Service) DescribeTargetGroupAttributes(ctx context.Context, in *TargetGroupArnInput) (*AttributesOutput, error) {
	it, err := s.targetGroup(ctx, in.TargetGroupArn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "DescribeTargetGroupAttributes", it.Value.ARN); err != nil {
		return nil, err
	}
	return attributes(tgAttributes(it.Value), it.Value.Attributes), nil
}

type ModifyTargetGroupAttributesInput struct {
	TargetGroupArn string
	Attributes     []Attribute
}

// ModifyTargetGroupAttributes sets attributes and returns them all.
func (s *Service) ModifyTargetGroupAttributes(ctx context.Context, in *ModifyTargetGroupAttributesInput) (*AttributesOutput, error) {
	var out *AttributesOutput
	err := s.updateGroup(ctx, "ModifyTargetGroupAttributes", in.TargetGroupArn, func(g *tgRecord) error {
		if err := setAttributes(tgAttributes(*g), &g.Attributes, in.Attributes); err != nil {
			return err
		}
		out = attributes(tgAttributes(*g), g.Attributes)
		return nil
	})
	return out, err
}

// attr is an attribute's value, set or default.
func attr(specs map[string]attrSpec, set map[string]string, key string) string {
	if v, ok := set[key]; ok {
		return v
	}
	return specs[key].def
}
