package elbv2

import (
	"context"
	"slices"

	"github.com/berth-dev/berth/internal/api"
)

type SetSecurityGroupsInput struct {
	LoadBalancerArn string
	SecurityGroups  []string
	// EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic is accepted
	// (on or off) and has no effect: there is no PrivateLink here.
	EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic string
}

type SetSecurityGroupsOutput struct {
	SecurityGroupIds api.Members[string]
}

// SetSecurityGroups replaces a load balancer's security groups, on the
// load balancer and on its interfaces, whose groups the hosts enforce on
// its connections to targets. A network load balancer made without
// groups cannot get any, as AWS says.
func (s *Service) SetSecurityGroups(ctx context.Context, in *SetSecurityGroupsInput) (*SetSecurityGroupsOutput, error) {
	it, err := s.balancer(ctx, in.LoadBalancerArn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "SetSecurityGroups", it.Value.ARN); err != nil {
		return nil, err
	}
	if in.SecurityGroups == nil {
		return nil, check.Null("securityGroups")
	}
	if e := in.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic; e != "" {
		if err := check.Enum("enforceSecurityGroupInboundRulesOnPrivateLinkTraffic", e, "on", "off"); err != nil {
			return nil, err
		}
	}
	var groups []string
	var ifs []lbInterface
	err = s.mutate(ctx, it.Value.ARN, func(r *lbRecord) error {
		if r.Type == typeNetwork && len(r.SecurityGroups) == 0 && len(in.SecurityGroups) > 0 {
			return invalidConfig("You cannot set security groups on a Network Load Balancer which was created without any security groups.")
		}
		r.SecurityGroups = nil
		if err := s.placeGroups(ctx, r, in.SecurityGroups); err != nil {
			return err
		}
		groups, ifs = r.SecurityGroups, r.Interfaces
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, i := range ifs {
		if err := s.ec2.SetManagedInterfaceGroups(ctx, i.ID, groups); err != nil {
			return nil, err
		}
	}
	return &SetSecurityGroupsOutput{SecurityGroupIds: orEmpty(groups)}, nil
}

type SetSubnetsInput struct {
	LoadBalancerArn string
	Subnets         []string
	SubnetMappings  []SubnetMapping
	IpAddressType   string
}

type SetSubnetsOutput struct {
	AvailabilityZones api.Members[AvailabilityZone]
	IpAddressType     string
}

// SetSubnets replaces a load balancer's subnets (its zones): an interface
// is made in each new subnet, in its security groups, and those of the
// subnets left are deleted. A network load balancer keeps its subnets:
// it can gain more, not lose any, as AWS allows.
func (s *Service) SetSubnets(ctx context.Context, in *SetSubnetsInput) (*SetSubnetsOutput, error) {
	it, err := s.balancer(ctx, in.LoadBalancerArn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "SetSubnets", it.Value.ARN); err != nil {
		return nil, err
	}
	if err := checkIPv4(in.IpAddressType); err != nil {
		return nil, err
	}
	subnets := slices.Clone(in.Subnets)
	for _, m := range in.SubnetMappings {
		subnets = append(subnets, m.SubnetId)
	}
	// The new subnets are checked and their interfaces made before the
	// record changes, so that a failure leaves the load balancer as it was.
	want := it.Value
	want.Subnets, want.VpcID = nil, ""
	if err := s.placeSubnets(ctx, &want, subnets); err != nil {
		return nil, err
	}
	if want.VpcID != it.Value.VpcID {
		return nil, api.Errorf(codeInvalidSubnet, "The subnets must be in the load balancer's VPC '%s'", it.Value.VpcID)
	}
	if it.Value.Type == typeNetwork {
		for _, old := range it.Value.Subnets {
			if !slices.Contains(want.Subnets, old) {
				return nil, invalidConfig("Subnets cannot be removed from a Network Load Balancer: '%s' is missing", old.ID)
			}
		}
	}
	added := want
	added.Subnets, added.Interfaces = nil, nil
	for _, sub := range want.Subnets {
		if !slices.Contains(it.Value.Subnets, sub) {
			added.Subnets = append(added.Subnets, sub)
		}
	}
	if err := s.makeInterfaces(ctx, &added); err != nil {
		return nil, err
	}
	var gone []lbInterface
	var out lbRecord
	err = s.mutate(ctx, it.Value.ARN, func(r *lbRecord) error {
		if !slices.Equal(r.Subnets, it.Value.Subnets) {
			return api.Errorf(codeInvalidConfig, "The load balancer's subnets changed meanwhile; try again")
		}
		var keep []lbInterface
		gone = nil
		for _, i := range r.Interfaces {
			// An interface stays when its zone keeps its subnet.
			kept := slices.ContainsFunc(r.Subnets, func(s subnetRef) bool { return s.Zone == i.Zone && slices.Contains(want.Subnets, s) })
			if kept {
				keep = append(keep, i)
			} else {
				gone = append(gone, i)
			}
		}
		r.Subnets, r.Interfaces = want.Subnets, append(keep, added.Interfaces...)
		out = *r
		return nil
	})
	if err != nil {
		s.dropInterfaces(ctx, added.Interfaces)
		return nil, err
	}
	s.dropInterfaces(ctx, gone)
	return &SetSubnetsOutput{AvailabilityZones: s.lbShape(out, 0).AvailabilityZones, IpAddressType: "ipv4"}, nil
}

// checkIPv4 refuses address types other than ipv4.
func checkIPv4(t string) error {
	if t == "" || t == "ipv4" {
		return nil
	}
	if err := check.Enum("ipAddressType", t, "ipv4", "dualstack", "dualstack-without-public-ipv4"); err != nil {
		return err
	}
	return invalidConfig("IpAddressType '%s' is not supported by Berth: its load balancers have IPv4 addresses only.", t)
}

type SetIpAddressTypeInput struct {
	LoadBalancerArn string
	IpAddressType   string
}

type SetIpAddressTypeOutput struct {
	IpAddressType string
}

// SetIpAddressType accepts ipv4, the only address type of Berth's load
// balancers.
func (s *Service) SetIpAddressType(ctx context.Context, in *SetIpAddressTypeInput) (*SetIpAddressTypeOutput, error) {
	it, err := s.balancer(ctx, in.LoadBalancerArn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "SetIpAddressType", it.Value.ARN); err != nil {
		return nil, err
	}
	if in.IpAddressType == "" {
		return nil, check.Null("ipAddressType")
	}
	if err := checkIPv4(in.IpAddressType); err != nil {
		return nil, err
	}
	return &SetIpAddressTypeOutput{IpAddressType: "ipv4"}, nil
}

type DescribeAccountLimitsInput struct {
	Marker   string
	PageSize int
}

// Limit is ELBv2's Limit shape.
type Limit struct {
	Name string
	Max  string
}

type DescribeAccountLimitsOutput struct {
	Limits     api.Members[Limit]
	NextMarker string `xml:",omitempty"`
}

// accountLimits are the quotas by AWS's names: those Berth enforces at
// its values, the others at AWS's defaults.
var accountLimits = []Limit{
	{"application-load-balancers", itoa(maxBalancers)},
	{"condition-values-per-alb-rule", itoa(maxConditionValues)},
	{"condition-wildcards-per-alb-rule", "5"},
	{"gateway-load-balancers", "100"},
	{"gateway-load-balancers-per-vpc", "100"},
	{"geneve-target-groups", "100"},
	{"listeners-per-application-load-balancer", itoa(maxListeners)},
	{"listeners-per-network-load-balancer", itoa(maxListeners)},
	{"network-load-balancers", itoa(maxBalancers)},
	{"rules-per-application-load-balancer", itoa(maxRules)},
	{"target-groups", itoa(maxTargetGroups)},
	{"target-groups-per-action-on-application-load-balancer", "5"},
	{"target-groups-per-action-on-network-load-balancer", "1"},
	{"target-groups-per-application-load-balancer", "100"},
	{"targets-per-application-load-balancer", itoa(maxTargetsPerGroup)},
	{"targets-per-availability-zone-per-gateway-load-balancer", "300"},
	{"targets-per-availability-zone-per-network-load-balancer", "500"},
	{"targets-per-network-load-balancer", "3000"},
}

// DescribeAccountLimits lists the account's quotas.
func (s *Service) DescribeAccountLimits(ctx context.Context, in *DescribeAccountLimitsInput) (*DescribeAccountLimitsOutput, error) {
	if err := s.authorize(ctx, "DescribeAccountLimits", "*"); err != nil {
		return nil, err
	}
	recs, next, err := page(accountLimits, func(l Limit) string { return l.Name }, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	return &DescribeAccountLimitsOutput{Limits: api.Members[Limit](orEmpty(recs)), NextMarker: next}, nil
}
