package elbv2

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/ec2"
	"github.com/berth-dev/berth/internal/store"
)

// lbRecord is a load balancer as stored, with its listeners and rules.
type lbRecord struct {
	Name           string            `json:"name"`
	ARN            string            `json:"arn"`
	Type           string            `json:"type"`
	Scheme         string            `json:"scheme"`
	VpcID          string            `json:"vpcId"`
	DNSName        string            `json:"dnsName"`
	Subnets        []subnetRef       `json:"subnets"`
	SecurityGroups []string          `json:"securityGroups,omitempty"`
	Created        time.Time         `json:"created"`
	Attributes     map[string]string `json:"attributes,omitempty"`
	Tags           []Tag             `json:"tags,omitempty"`
	Listeners      []listenerRecord  `json:"listeners,omitempty"`
	// Interfaces are the load balancer's interfaces, one in each subnet,
	// in its security groups: its connections to targets come from their
	// addresses. (One created before Berth made them has none; its
	// connections come from the machine's own address.)
	Interfaces []lbInterface `json:"interfaces,omitempty"`
}

// lbInterface is one of a load balancer's interfaces.
type lbInterface struct {
	ID   string `json:"id"`
	IP   string `json:"ip"`
	Zone string `json:"zone"`
}

type subnetRef struct {
	ID   string `json:"id"`
	Zone string `json:"zone"`
}

// short is the type as ARNs write it: app or net.
func (r *lbRecord) short() string {
	if r.Type == typeNetwork {
		return "net"
	}
	return "app"
}

// listener returns the listener of arn, or nil.
func (r *lbRecord) listener(arn string) *listenerRecord {
	for i := range r.Listeners {
		if r.Listeners[i].ARN == arn {
			return &r.Listeners[i]
		}
	}
	return nil
}

const (
	typeApplication = "application"
	typeNetwork     = "network"
)

// The hosted zones of AWS's load balancers' DNS names in us-east-1,
// which the aws CLI and SDKs only display.
const (
	zoneApplication = "Z35SXDOTRQ7X7K"
	zoneNetwork     = "Z26RNL4JYFTOTI"
)

type Tag struct {
	Key   string
	Value string `xml:",omitempty"`
}

type SubnetMapping struct {
	SubnetId string
}

type CreateLoadBalancerInput struct {
	Name           string
	Subnets        []string
	SubnetMappings []SubnetMapping
	SecurityGroups []string
	Scheme         string
	Tags           []Tag
	Type           string
	IpAddressType  string
}

// LoadBalancer is ELBv2's LoadBalancer shape.
type LoadBalancer struct {
	LoadBalancerArn       string
	DNSName               string
	CanonicalHostedZoneId string
	CreatedTime           time.Time
	LoadBalancerName      string
	Scheme                string
	VpcId                 string
	State                 struct{ Code string }
	Type                  string
	AvailabilityZones     api.Members[AvailabilityZone]
	SecurityGroups        *api.Members[string] `xml:",omitempty"`
	IpAddressType         string
}

type AvailabilityZone struct {
	ZoneName              string
	SubnetId              string
	LoadBalancerAddresses api.Members[struct{}]
}

type LoadBalancersOutput struct {
	LoadBalancers api.Members[LoadBalancer]
	NextMarker    string `xml:",omitempty"`
}

// CreateLoadBalancer creates an application or network load balancer in
// the subnets' VPC (an application one in at least two zones). Creating
// one again with the same settings returns it, as AWS does.
func (s *Service) CreateLoadBalancer(ctx context.Context, in *CreateLoadBalancerInput) (*LoadBalancersOutput, error) {
	if err := checkName("load balancer", in.Name); err != nil {
		return nil, err
	}
	rec := lbRecord{Name: in.Name, Type: cmpOr(in.Type, typeApplication), Scheme: cmpOr(in.Scheme, "internet-facing"),
		Created: s.now().UTC().Truncate(time.Millisecond)}
	if err := check.Enum("type", rec.Type, typeApplication, typeNetwork); err != nil {
		return nil, err
	}
	if err := check.Enum("scheme", rec.Scheme, "internet-facing", "internal"); err != nil {
		return nil, err
	}
	if in.IpAddressType != "" && in.IpAddressType != "ipv4" {
		return nil, validation("IpAddressType '%s' is not supported by Berth: its load balancers have IPv4 addresses only.", in.IpAddressType)
	}
	id := newID()
	rec.ARN = s.arn(fmt.Sprintf("loadbalancer/%s/%s/%s", rec.short(), rec.Name, id))
	if err := s.authorize(ctx, "CreateLoadBalancer", rec.ARN); err != nil {
		return nil, err
	}
	tags, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	rec.Tags = tags
	subnets := slices.Clone(in.Subnets)
	for _, m := range in.SubnetMappings {
		subnets = append(subnets, m.SubnetId)
	}
	if err := s.placeSubnets(ctx, &rec, subnets); err != nil {
		return nil, err
	}
	if err := s.placeGroups(ctx, &rec, in.SecurityGroups); err != nil {
		return nil, err
	}
	rec.DNSName = dnsName(rec, s.cfg.Region)
	if err := s.makeInterfaces(ctx, &rec); err != nil {
		return nil, err
	}
	made, reused := rec.Interfaces, false
	defer func() {
		if err != nil || reused {
			s.dropInterfaces(ctx, made)
		}
	}()
	err = store.Retry(ctx, func() error {
		cur, err := store.Get[lbRecord](ctx, s.store, s.keys.balancer(rec.Name))
		if err == nil {
			if sameSettings(cur.Value, rec) {
				rec, reused = cur.Value, true
				return nil
			}
			return api.Errorf(codeDuplicateLBName, "A load balancer with the same name '%s' exists, but with different settings", rec.Name)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		n, err := s.store.Count(ctx, s.keys.balancers())
		if err != nil {
			return err
		}
		if n >= maxBalancers {
			return api.Errorf(codeTooManyLBs, "The maximum number of load balancers (%d) has been reached", maxBalancers)
		}
		return s.store.Commit(ctx, store.NewTxn().IfAbsent(s.keys.balancer(rec.Name)).Put(s.keys.balancer(rec.Name), rec))
	})
	if err != nil {
		return nil, err
	}
	return &LoadBalancersOutput{LoadBalancers: api.Members[LoadBalancer]{s.lbShape(rec, 0)}}, nil
}

// placeSubnets checks the subnets and sets the record's VPC and zones.
func (s *Service) placeSubnets(ctx context.Context, rec *lbRecord, subnets []string) error {
	if len(subnets) == 0 {
		return validation("At least one subnet must be specified")
	}
	zones := map[string]bool{}
	for _, id := range subnets {
		zone, vpc, err := s.ec2.SubnetZone(ctx, id)
		if err != nil {
			return api.Errorf(codeSubnetNotFound, "The subnet ID '%s' is not valid", id)
		}
		if rec.VpcID != "" && vpc != rec.VpcID {
			return api.Errorf(codeInvalidSubnet, "The subnets '%s' and '%s' are not in the same VPC", rec.Subnets[0].ID, id)
		}
		if zones[zone] {
			return invalidConfig("A load balancer cannot be attached to multiple subnets in the same Availability Zone")
		}
		zones[zone] = true
		rec.VpcID = vpc
		rec.Subnets = append(rec.Subnets, subnetRef{ID: id, Zone: zone})
	}
	if rec.Type == typeApplication && len(zones) < 2 {
		return validation("At least two subnets in two different Availability Zones must be specified")
	}
	slices.SortFunc(rec.Subnets, func(a, b subnetRef) int { return strings.Compare(a.Zone, b.Zone) })
	return nil
}

// placeGroups checks the security groups (an application load balancer
// without any gets its VPC's default group).
func (s *Service) placeGroups(ctx context.Context, rec *lbRecord, groups []string) error {
	if len(groups) > 5 {
		return check.Items("securityGroups", len(groups), 0, 5)
	}
	for _, id := range groups {
		vpc, err := s.ec2.GroupVpc(ctx, id)
		if err != nil || vpc != rec.VpcID {
			return api.Errorf(codeInvalidSG, "One or more security groups are invalid: '%s' is not a security group of %s", id, rec.VpcID)
		}
		if !slices.Contains(rec.SecurityGroups, id) {
			rec.SecurityGroups = append(rec.SecurityGroups, id)
		}
	}
	if len(rec.SecurityGroups) == 0 && rec.Type == typeApplication {
		def, err := s.ec2.VpcDefaultGroup(ctx, rec.VpcID)
		if err != nil {
			return err
		}
		rec.SecurityGroups = []string{def}
	}
	return nil
}

// sameSettings reports whether a create asks for what already exists.
func sameSettings(a, b lbRecord) bool {
	return a.Type == b.Type && a.Scheme == b.Scheme && slices.Equal(a.Subnets, b.Subnets) && slices.Equal(a.SecurityGroups, b.SecurityGroups)
}

// dnsName is a load balancer's name in AWS's form:
// [internal-]<name>-<10 digits>.<region>.elb.amazonaws.com for an
// application load balancer, <name>-<16 hex>.elb.<region>.amazonaws.com
// for a network one.
func dnsName(r lbRecord, region string) string {
	prefix := ""
	if r.Scheme == "internal" {
		prefix = "internal-"
	}
	if r.Type == typeNetwork {
		return fmt.Sprintf("%s%s-%s.elb.%s.amazonaws.com", prefix, r.Name, newID(), region)
	}
	n, _ := rand.Int(rand.Reader, big.NewInt(9_000_000_000))
	return fmt.Sprintf("%s%s-%d.%s.elb.amazonaws.com", prefix, r.Name, n.Int64()+1_000_000_000, region)
}

func (s *Service) lbShape(r lbRecord, rev int64) LoadBalancer {
	out := LoadBalancer{LoadBalancerArn: r.ARN, DNSName: r.DNSName, CanonicalHostedZoneId: zoneApplication, CreatedTime: r.Created,
		LoadBalancerName: r.Name, Scheme: r.Scheme, VpcId: r.VpcID, Type: r.Type, IpAddressType: "ipv4",
		AvailabilityZones: api.Members[AvailabilityZone]{}}
	if r.Type == typeNetwork {
		out.CanonicalHostedZoneId = zoneNetwork
	}
	out.State.Code = "provisioning"
	if rev != 0 && s.applied.Load() >= rev {
		out.State.Code = "active"
	}
	for _, sn := range r.Subnets {
		out.AvailabilityZones = append(out.AvailabilityZones, AvailabilityZone{ZoneName: sn.Zone, SubnetId: sn.ID, LoadBalancerAddresses: api.Members[struct{}]{}})
	}
	if len(r.SecurityGroups) > 0 {
		g := api.Members[string](r.SecurityGroups)
		out.SecurityGroups = &g
	}
	return out
}

type DescribeLoadBalancersInput struct {
	LoadBalancerArns []string
	Names            []string
	Marker           string
	PageSize         int
}

// DescribeLoadBalancers lists load balancers, all or by ARN or name (an
// unknown one is LoadBalancerNotFound). A load balancer is provisioning
// until this server's data plane has taken it, then active.
func (s *Service) DescribeLoadBalancers(ctx context.Context, in *DescribeLoadBalancersInput) (*LoadBalancersOutput, error) {
	if err := s.authorize(ctx, "DescribeLoadBalancers", "*"); err != nil {
		return nil, err
	}
	if len(in.LoadBalancerArns) > 0 && len(in.Names) > 0 {
		return nil, validation("Load balancer names and load balancer ARNs cannot be specified at the same time")
	}
	items, err := store.List[lbRecord](ctx, s.store, s.keys.balancers())
	if err != nil {
		return nil, err
	}
	var recs []store.Item[lbRecord]
	switch {
	case len(in.LoadBalancerArns) > 0:
		for _, arn := range in.LoadBalancerArns {
			i := slices.IndexFunc(items, func(it store.Item[lbRecord]) bool { return it.Value.ARN == arn })
			if i < 0 {
				return nil, api.Errorf(codeLBNotFound, "Load balancers '[%s]' not found", arn)
			}
			recs = append(recs, items[i])
		}
	case len(in.Names) > 0:
		for _, name := range in.Names {
			i := slices.IndexFunc(items, func(it store.Item[lbRecord]) bool { return it.Value.Name == name })
			if i < 0 {
				return nil, api.Errorf(codeLBNotFound, "Load balancers '[%s]' not found", name)
			}
			recs = append(recs, items[i])
		}
	default:
		recs = items
	}
	recs, next, err := page(recs, func(it store.Item[lbRecord]) string { return it.Value.Name }, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	out := &LoadBalancersOutput{LoadBalancers: api.Members[LoadBalancer]{}, NextMarker: next}
	for _, it := range recs {
		out.LoadBalancers = append(out.LoadBalancers, s.lbShape(it.Value, it.Rev))
	}
	return out, nil
}

type LoadBalancerArnInput struct {
	LoadBalancerArn string
}

// balancer reads the load balancer of an ARN, or LoadBalancerNotFound.
func (s *Service) balancer(ctx context.Context, arn string) (store.Item[lbRecord], error) {
	if arn == "" {
		return store.Item[lbRecord]{}, check.Null("loadBalancerArn")
	}
	parts, ok := s.arnParts(arn, "loadbalancer")
	if !ok || len(parts) != 3 {
		return store.Item[lbRecord]{}, validation("'%s' is not a valid load balancer ARN", arn)
	}
	it, err := store.Get[lbRecord](ctx, s.store, s.keys.balancer(parts[1]))
	if errors.Is(err, store.ErrNotFound) || (err == nil && it.Value.ARN != arn) {
		return it, api.Errorf(codeLBNotFound, "Load balancer '%s' not found", arn)
	}
	return it, err
}

// DeleteLoadBalancer deletes a load balancer with its listeners and rules
// (its target groups stay). Deleting one that is gone succeeds.
func (s *Service) DeleteLoadBalancer(ctx context.Context, in *LoadBalancerArnInput) (*struct{}, error) {
	it, err := s.balancer(ctx, in.LoadBalancerArn)
	if codeOf(err) == codeLBNotFound {
		if err := s.authorize(ctx, "DeleteLoadBalancer", in.LoadBalancerArn); err != nil {
			return nil, err
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "DeleteLoadBalancer", it.Value.ARN); err != nil {
		return nil, err
	}
	if it.Value.Attributes["deletion_protection.enabled"] == "true" {
		return nil, api.Errorf(codeNotPermitted, "Load balancer '%s' cannot be deleted because deletion protection is enabled", it.Value.ARN)
	}
	var gone []lbInterface
	err = s.mutate(ctx, it.Value.ARN, func(r *lbRecord) error {
		if r.Attributes["deletion_protection.enabled"] == "true" {
			return api.Errorf(codeNotPermitted, "Load balancer '%s' cannot be deleted because deletion protection is enabled", r.ARN)
		}
		r.Listeners = nil
		gone = r.Interfaces
		return errDelete
	})
	if err == nil {
		s.dropInterfaces(ctx, gone)
	}
	return nil, err
}

// makeInterfaces gives a load balancer an interface in each of its
// subnets, in its security groups.
func (s *Service) makeInterfaces(ctx context.Context, rec *lbRecord) error {
	for _, sub := range rec.Subnets {
		eni, err := s.ec2.CreateManagedInterface(ctx, ec2.InterfaceRequest{SubnetID: sub.ID, Groups: rec.SecurityGroups,
			Description: "ELB " + strings.TrimPrefix(rec.ARN, s.arn("loadbalancer/")), RequesterID: ec2.RequesterELB})
		if err != nil {
			s.dropInterfaces(ctx, rec.Interfaces)
			rec.Interfaces = nil
			return err
		}
		rec.Interfaces = append(rec.Interfaces, lbInterface{ID: eni.ID, IP: eni.PrivateIP, Zone: sub.Zone})
	}
	return nil
}

// dropInterfaces deletes interfaces of a load balancer that is gone (or
// was not made).
func (s *Service) dropInterfaces(ctx context.Context, ifs []lbInterface) {
	for _, i := range ifs {
		if err := s.ec2.DeleteManagedInterface(context.WithoutCancel(ctx), i.ID); err != nil {
			s.log.Warn("delete a load balancer's interface", "interface", i.ID, "err", err)
		}
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
