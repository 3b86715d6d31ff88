package elb

import (
	"context"
	"slices"
	"strings"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/ec2"
)

// subnetsOf are the subnets asked for: the subnets, or the default VPC's
// subnets of the zones; exactly one of the two is given.
func (s *Service) subnetsOf(ctx context.Context, subnets, zones []string) ([]string, error) {
	switch {
	case len(subnets) > 0 && len(zones) > 0:
		return nil, validation("Only one of SubnetIds or AvailabilityZones may be specified")
	case len(subnets) > 0:
		return subnets, nil
	case len(zones) == 0:
		return nil, validation("Either AvailabilityZones or SubnetIds must be specified")
	}
	return s.zoneSubnets(ctx, zones)
}

// zoneSubnets are the default VPC's subnets of zones.
func (s *Service) zoneSubnets(ctx context.Context, zones []string) ([]string, error) {
	defaults, err := s.ec2.DefaultSubnets(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, z := range zones {
		found := false
		for _, id := range defaults {
			if zone, _, err := s.ec2.SubnetZone(ctx, id); err == nil && zone == z {
				out, found = append(out, id), true
			}
		}
		if !found {
			return nil, validation("Availability Zone '%s' is not valid: it has no default subnet", z)
		}
	}
	return out, nil
}

// placeSubnets checks subnets and adds them to the record (which sets the
// VPC when it has none): subnets of one VPC, one per zone.
func (s *Service) placeSubnets(ctx context.Context, rec *lbRecord, subnets []string) error {
	for _, id := range subnets {
		if slices.ContainsFunc(rec.Subnets, func(sn subnetRef) bool { return sn.ID == id }) {
			continue
		}
		zone, vpc, err := s.ec2.SubnetZone(ctx, id)
		if err != nil {
			return api.Errorf(codeSubnetNotFound, "One or more subnets were not found: '%s'", id)
		}
		if rec.VpcID != "" && vpc != rec.VpcID {
			return api.Errorf(codeInvalidSubnet, "Subnet '%s' is not in the load balancer's VPC '%s'", id, rec.VpcID)
		}
		if slices.ContainsFunc(rec.Subnets, func(sn subnetRef) bool { return sn.Zone == zone }) {
			return invalidConfig("ELB cannot be attached to multiple subnets in the same AZ.")
		}
		rec.VpcID = vpc
		rec.Subnets = append(rec.Subnets, subnetRef{ID: id, Zone: zone})
	}
	slices.SortFunc(rec.Subnets, func(a, b subnetRef) int { return strings.Compare(a.Zone, b.Zone) })
	return nil
}

// checkGroups checks security groups of vpc; none is the VPC's default
// group, as AWS gives.
func (s *Service) checkGroups(ctx context.Context, vpc string, groups []string) ([]string, error) {
	if len(groups) > 5 {
		return nil, check.Items("securityGroups", len(groups), 0, 5)
	}
	var out []string
	for _, id := range groups {
		v, err := s.ec2.GroupVpc(ctx, id)
		if err != nil || v != vpc {
			return nil, api.Errorf(codeInvalidSG, "One or more security groups are invalid: '%s' is not a security group of %s", id, vpc)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if len(out) == 0 {
		def, err := s.ec2.VpcDefaultGroup(ctx, vpc)
		if err != nil {
			return nil, err
		}
		out = []string{def}
	}
	return out, nil
}

// makeInterfaces makes the load balancer's interfaces in subnets, in its
// security groups; on an error none is left.
func (s *Service) makeInterfaces(ctx context.Context, rec lbRecord, subnets []subnetRef) ([]lbInterface, error) {
	var out []lbInterface
	for _, sn := range subnets {
		eni, err := s.ec2.CreateManagedInterface(ctx, ec2.InterfaceRequest{SubnetID: sn.ID, Groups: rec.SecurityGroups,
			Description: "ELB " + rec.Name, RequesterID: ec2.RequesterELB})
		if err != nil {
			s.dropInterfaces(ctx, out)
			return nil, err
		}
		out = append(out, lbInterface{ID: eni.ID, IP: eni.PrivateIP, Subnet: sn.ID, Zone: sn.Zone})
	}
	return out, nil
}

// dropInterfaces deletes interfaces no load balancer has (any more).
func (s *Service) dropInterfaces(ctx context.Context, ifs []lbInterface) {
	for _, i := range ifs {
		if err := s.ec2.DeleteManagedInterface(context.WithoutCancel(ctx), i.ID); err != nil {
			s.log.Warn("delete a Classic load balancer's interface", "interface", i.ID, "err", err)
		}
	}
}

// reshape changes a load balancer's subnets or groups with change, which
// sees a copy of the record: interfaces the new record needs are made
// first, then the record is written, then the interfaces it no longer has
// are deleted. Nothing changes on an error.
func (s *Service) reshape(ctx context.Context, name string, change func(context.Context, *lbRecord) error) (lbRecord, error) {
	cur, err := s.balancer(ctx, name)
	if err != nil {
		return lbRecord{}, err
	}
	want := clone(cur.Value)
	if err := change(ctx, &want); err != nil {
		return lbRecord{}, err
	}
	// Interfaces: those of subnets kept in the same groups stay; the
	// others are new.
	sameGroups := slices.Equal(want.SecurityGroups, cur.Value.SecurityGroups)
	var keep []lbInterface
	var need []subnetRef
	for _, sn := range want.Subnets {
		i := slices.IndexFunc(cur.Value.Interfaces, func(x lbInterface) bool { return x.Subnet == sn.ID })
		if i >= 0 && sameGroups {
			keep = append(keep, cur.Value.Interfaces[i])
		} else {
			need = append(need, sn)
		}
	}
	made, err := s.makeInterfaces(ctx, want, need)
	if err != nil {
		return lbRecord{}, err
	}
	out, err := s.mutate(ctx, name, func(r *lbRecord) error {
		if !slices.Equal(r.Interfaces, cur.Value.Interfaces) {
			return api.Errorf("Throttling", "Load balancer '%s' changed meanwhile; try again", name)
		}
		r.Subnets, r.SecurityGroups, r.Interfaces = want.Subnets, want.SecurityGroups, append(keep, made...)
		return nil
	})
	if err != nil {
		s.dropInterfaces(ctx, made)
		return lbRecord{}, err
	}
	var gone []lbInterface
	for _, i := range cur.Value.Interfaces {
		if !slices.Contains(keep, i) {
			gone = append(gone, i)
		}
	}
	s.dropInterfaces(ctx, gone)
	return out, nil
}

type SecurityGroupsInput struct {
	LoadBalancerName string
	SecurityGroups   []string
}

type SecurityGroupsOutput struct {
	SecurityGroups api.Members[string]
}

// ApplySecurityGroupsToLoadBalancer replaces the load balancer's security
// groups; its interfaces are made again in the new groups.
func (s *Service) ApplySecurityGroupsToLoadBalancer(ctx context.Context, in *SecurityGroupsInput) (*SecurityGroupsOutput, error) {
	if err := s.authorizeName(ctx, "ApplySecurityGroupsToLoadBalancer", in.LoadBalancerName); err != nil {
		return nil, err
	}
	if len(in.SecurityGroups) == 0 {
		return nil, check.Null("securityGroups")
	}
	r, err := s.reshape(ctx, in.LoadBalancerName, func(ctx context.Context, r *lbRecord) error {
		groups, err := s.checkGroups(ctx, r.VpcID, in.SecurityGroups)
		r.SecurityGroups = groups
		return err
	})
	if err != nil {
		return nil, err
	}
	return &SecurityGroupsOutput{SecurityGroups: api.Members[string](r.SecurityGroups)}, nil
}

type SubnetsInput struct {
	LoadBalancerName string
	Subnets          []string
}

type SubnetsOutput struct {
	Subnets api.Members[string]
}

// AttachLoadBalancerToSubnets adds subnets (of the load balancer's VPC,
// one per zone).
func (s *Service) AttachLoadBalancerToSubnets(ctx context.Context, in *SubnetsInput) (*SubnetsOutput, error) {
	return s.changeSubnets(ctx, "AttachLoadBalancerToSubnets", in.LoadBalancerName, in.Subnets, true)
}

// DetachLoadBalancerFromSubnets removes subnets; the last one cannot go.
func (s *Service) DetachLoadBalancerFromSubnets(ctx context.Context, in *SubnetsInput) (*SubnetsOutput, error) {
	return s.changeSubnets(ctx, "DetachLoadBalancerFromSubnets", in.LoadBalancerName, in.Subnets, false)
}

func (s *Service) changeSubnets(ctx context.Context, action, name string, subnets []string, attach bool) (*SubnetsOutput, error) {
	if err := s.authorizeName(ctx, action, name); err != nil {
		return nil, err
	}
	if len(subnets) == 0 {
		return nil, check.Null("subnets")
	}
	r, err := s.reshape(ctx, name, func(ctx context.Context, r *lbRecord) error {
		if attach {
			return s.placeSubnets(ctx, r, subnets)
		}
		r.Subnets = slices.DeleteFunc(r.Subnets, func(sn subnetRef) bool { return slices.Contains(subnets, sn.ID) })
		if len(r.Subnets) == 0 {
			return invalidConfig("Requested subnets are all the load balancer's subnets: a load balancer must remain attached to at least one subnet")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := &SubnetsOutput{Subnets: api.Members[string]{}}
	for _, sn := range r.Subnets {
		out.Subnets = append(out.Subnets, sn.ID)
	}
	return out, nil
}

type ZonesInput struct {
	LoadBalancerName  string
	AvailabilityZones []string
}

type ZonesOutput struct {
	AvailabilityZones api.Members[string]
}

// EnableAvailabilityZonesForLoadBalancer attaches the default VPC's
// subnets of zones to a load balancer of the default VPC.
func (s *Service) EnableAvailabilityZonesForLoadBalancer(ctx context.Context, in *ZonesInput) (*ZonesOutput, error) {
	return s.changeZones(ctx, "EnableAvailabilityZonesForLoadBalancer", in, true)
}

// DisableAvailabilityZonesForLoadBalancer detaches the subnets of zones.
func (s *Service) DisableAvailabilityZonesForLoadBalancer(ctx context.Context, in *ZonesInput) (*ZonesOutput, error) {
	return s.changeZones(ctx, "DisableAvailabilityZonesForLoadBalancer", in, false)
}

func (s *Service) changeZones(ctx context.Context, action string, in *ZonesInput, enable bool) (*ZonesOutput, error) {
	if err := s.authorizeName(ctx, action, in.LoadBalancerName); err != nil {
		return nil, err
	}
	if len(in.AvailabilityZones) == 0 {
		return nil, check.Null("availabilityZones")
	}
	r, err := s.reshape(ctx, in.LoadBalancerName, func(ctx context.Context, r *lbRecord) error {
		if !enable {
			r.Subnets = slices.DeleteFunc(r.Subnets, func(sn subnetRef) bool { return slices.Contains(in.AvailabilityZones, sn.Zone) })
			if len(r.Subnets) == 0 {
				return invalidConfig("Cannot disable all the Availability Zones of load balancer '%s'", r.Name)
			}
			return nil
		}
		subnets, err := s.zoneSubnets(ctx, in.AvailabilityZones)
		if err != nil {
			return err
		}
		if _, vpc, _ := s.ec2.SubnetZone(ctx, subnets[0]); vpc != r.VpcID {
			return invalidConfig("Load balancer '%s' is not in the default VPC: attach it to subnets instead (AttachLoadBalancerToSubnets)", r.Name)
		}
		return s.placeSubnets(ctx, r, subnets)
	})
	if err != nil {
		return nil, err
	}
	out := &ZonesOutput{AvailabilityZones: api.Members[string]{}}
	for _, sn := range r.Subnets {
		out.AvailabilityZones = append(out.AvailabilityZones, sn.Zone)
	}
	return out, nil
}
