package elb

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// lbRecord is a Classic load balancer as stored, with its listeners,
// instances, health check and attributes: every change is one write of
// it (with the ports its listeners claim or free).
type lbRecord struct {
	Name           string        `json:"name"`
	DNSName        string        `json:"dnsName"`
	Scheme         string        `json:"scheme"`
	VpcID          string        `json:"vpcId"`
	Created        time.Time     `json:"created"`
	Subnets        []subnetRef   `json:"subnets"`
	SecurityGroups []string      `json:"securityGroups"`
	Listeners      []Listener    `json:"listeners,omitempty"`
	Instances      []instanceRef `json:"instances,omitempty"`
	HealthCheck    HealthCheck   `json:"healthCheck"`
	Attributes     attributes    `json:"attributes"`
	Tags           []Tag         `json:"tags,omitempty"`
	// Interfaces are the load balancer's interfaces, one in each subnet,
	// in its security groups: its connections to instances come from
	// their addresses, so the instances' groups judge them.
	Interfaces []lbInterface `json:"interfaces,omitempty"`
	// Policies are the load balancer's policies; ListenerPolicies those
	// of each listener (by its port), BackendPolicies those of each
	// instance port.
	Policies         []policyRecord   `json:"policies,omitempty"`
	ListenerPolicies map[int][]string `json:"listenerPolicies,omitempty"`
	BackendPolicies  map[int][]string `json:"backendPolicies,omitempty"`
}

type subnetRef struct {
	ID   string `json:"id"`
	Zone string `json:"zone"`
}

type lbInterface struct {
	ID     string `json:"id"`
	IP     string `json:"ip"`
	Subnet string `json:"subnet"`
	Zone   string `json:"zone"`
}

// instanceRef is a registered instance; Draining, when set, is when its
// connection draining ends: it takes no new connections meanwhile.
type instanceRef struct {
	ID       string     `json:"id"`
	Draining *time.Time `json:"draining,omitempty"`
}

// The hosted zone of Classic load balancers' DNS names in us-east-1,
// which the CLI and SDKs only display.
const hostedZone = "Z35SXDOTRQ7X7K"

type Tag struct {
	Key   string
	Value string `xml:",omitempty"`
}

type CreateLoadBalancerInput struct {
	LoadBalancerName  string
	Listeners         []Listener
	AvailabilityZones []string
	Subnets           []string
	SecurityGroups    []string
	Scheme            string
	Tags              []Tag
}

type CreateLoadBalancerOutput struct {
	DNSName string
}

// CreateLoadBalancer creates a load balancer with its listeners in the
// subnets (or the default VPC's subnets of the zones) and security groups
// (the VPC's default group when none). Creating one again with the same
// settings answers its DNS name, as AWS does.
func (s *Service) CreateLoadBalancer(ctx context.Context, in *CreateLoadBalancerInput) (*CreateLoadBalancerOutput, error) {
	if err := checkName(in.LoadBalancerName); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "CreateLoadBalancer", s.arn(in.LoadBalancerName)); err != nil {
		return nil, err
	}
	if len(in.Listeners) == 0 {
		return nil, check.Null("listeners")
	}
	listeners, err := checkListeners(in.Listeners)
	if err != nil {
		return nil, err
	}
	if err := checkInstancePorts(listeners); err != nil {
		return nil, err
	}
	if err := s.checkCertificates(ctx, listeners); err != nil {
		return nil, err
	}
	rec := lbRecord{Name: in.LoadBalancerName, Scheme: cmpOr(in.Scheme, "internet-facing"),
		Created: s.now().UTC().Truncate(time.Millisecond), Attributes: defaultAttributes()}
	for _, l := range listeners {
		addListener(&rec, l)
	}
	if rec.Scheme != "internet-facing" && rec.Scheme != "internal" {
		return nil, api.Errorf(codeInvalidScheme, "Scheme '%s' is not valid: it is internet-facing or internal", rec.Scheme)
	}
	rec.HealthCheck = HealthCheck{Target: fmt.Sprintf("TCP:%d", listeners[0].InstancePort), Interval: 30, Timeout: 5, UnhealthyThreshold: 2, HealthyThreshold: 10}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	rec.Tags = in.Tags
	subnets, err := s.subnetsOf(ctx, in.Subnets, in.AvailabilityZones)
	if err != nil {
		return nil, err
	}
	if err := s.placeSubnets(ctx, &rec, subnets); err != nil {
		return nil, err
	}
	if rec.SecurityGroups, err = s.checkGroups(ctx, rec.VpcID, in.SecurityGroups); err != nil {
		return nil, err
	}
	for _, l := range listeners {
		if err := s.cfg.Ports.ProbePort(ctx, l.LoadBalancerPort); err != nil {
			return nil, err
		}
	}
	rec.DNSName = dnsName(rec, s.cfg.Region)
	if rec.Interfaces, err = s.makeInterfaces(ctx, rec, rec.Subnets); err != nil {
		return nil, err
	}
	made, reused := rec.Interfaces, false
	defer func() {
		if err != nil || reused {
			s.dropInterfaces(ctx, made)
		}
	}()
	err = store.Retry(ctx, func() error {
		cur, err := store.Get[lbRecord](ctx, s.store, s.key(rec.Name))
		if err == nil {
			if sameSettings(cur.Value, rec) {
				rec, reused = cur.Value, true
				return nil
			}
			return api.Errorf(codeDuplicateName, "Load Balancer named '%s' already exists and it is configured with different parameters.", rec.Name)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		n, err := s.store.Count(ctx, s.prefix)
		if err != nil {
			return err
		}
		if n >= maxBalancers {
			return api.Errorf(codeTooManyLBs, "Exceeded quota of account %s: at most %d load balancers", s.cfg.Account, maxBalancers)
		}
		txn := store.NewTxn().IfAbsent(s.key(rec.Name)).Put(s.key(rec.Name), rec)
		if err := s.claimPorts(ctx, txn, lbRecord{}, rec); err != nil {
			return err
		}
		return s.store.Commit(ctx, txn)
	})
	if err != nil {
		return nil, err
	}
	return &CreateLoadBalancerOutput{DNSName: rec.DNSName}, nil
}

// sameSettings reports whether a create asks for what already exists.
func sameSettings(a, b lbRecord) bool {
	return a.Scheme == b.Scheme && slices.Equal(a.Subnets, b.Subnets) && slices.Equal(a.SecurityGroups, b.SecurityGroups) &&
		slices.Equal(a.Listeners, b.Listeners)
}

// dnsName is a Classic load balancer's name in AWS's form:
// [internal-]<name>-<10 digits>.<region>.elb.amazonaws.com.
func dnsName(r lbRecord, region string) string {
	prefix := ""
	if r.Scheme == "internal" {
		prefix = "internal-"
	}
	n, _ := rand.Int(rand.Reader, big.NewInt(9_000_000_000))
	return fmt.Sprintf("%s%s-%d.%s.elb.amazonaws.com", prefix, r.Name, n.Int64()+1_000_000_000, region)
}

// LoadBalancerDescription is the Classic API's description of a load
// balancer.
type LoadBalancerDescription struct {
	LoadBalancerName          string
	DNSName                   string
	CanonicalHostedZoneName   string
	CanonicalHostedZoneNameID string
	ListenerDescriptions      api.Members[ListenerDescription]
	Policies                  struct {
		AppCookieStickinessPolicies api.Members[AppCookieStickinessPolicy]
		LBCookieStickinessPolicies  api.Members[LBCookieStickinessPolicy]
		OtherPolicies               api.Members[string]
	}
	BackendServerDescriptions api.Members[BackendServerDescription]
	AvailabilityZones         api.Members[string]
	Subnets                   api.Members[string]
	VPCId                     string
	Instances                 api.Members[Instance]
	HealthCheck               HealthCheck
	SecurityGroups            api.Members[string]
	CreatedTime               time.Time
	Scheme                    string
}

type ListenerDescription struct {
	Listener    Listener
	PolicyNames api.Members[string]
}

type Instance struct {
	InstanceId string
}

type DescribeLoadBalancersInput struct {
	LoadBalancerNames []string
	Marker            string
	PageSize          int
}

type DescribeLoadBalancersOutput struct {
	LoadBalancerDescriptions api.Members[LoadBalancerDescription]
	NextMarker               string `xml:",omitempty"`
}

// DescribeLoadBalancers lists load balancers, all or by name (an unknown
// one is LoadBalancerNotFound), a page at a time.
func (s *Service) DescribeLoadBalancers(ctx context.Context, in *DescribeLoadBalancersInput) (*DescribeLoadBalancersOutput, error) {
	if err := s.authorize(ctx, "DescribeLoadBalancers", "*"); err != nil {
		return nil, err
	}
	recs, err := s.named(ctx, in.LoadBalancerNames)
	if err != nil {
		return nil, err
	}
	recs, next, err := api.MarkerPage(recs, func(r lbRecord) string { return r.Name }, in.Marker, in.PageSize, 400)
	if err != nil {
		return nil, err
	}
	out := &DescribeLoadBalancersOutput{LoadBalancerDescriptions: api.Members[LoadBalancerDescription]{}, NextMarker: next}
	now := s.now()
	for _, r := range recs {
		out.LoadBalancerDescriptions = append(out.LoadBalancerDescriptions, describe(r, now))
	}
	return out, nil
}

// named reads the load balancers of names, in their order, or all in
// name order when names is empty.
func (s *Service) named(ctx context.Context, names []string) ([]lbRecord, error) {
	items, err := store.List[lbRecord](ctx, s.store, s.prefix)
	if err != nil {
		return nil, err
	}
	var out []lbRecord
	if len(names) == 0 {
		for _, it := range items {
			out = append(out, it.Value)
		}
		return out, nil
	}
	for _, n := range names {
		i := slices.IndexFunc(items, func(it store.Item[lbRecord]) bool { return it.Value.Name == n })
		if i < 0 {
			return nil, notFound(n)
		}
		out = append(out, items[i].Value)
	}
	return out, nil
}

func describe(r lbRecord, now time.Time) LoadBalancerDescription {
	d := LoadBalancerDescription{LoadBalancerName: r.Name, DNSName: r.DNSName, CanonicalHostedZoneName: r.DNSName,
		CanonicalHostedZoneNameID: hostedZone, ListenerDescriptions: api.Members[ListenerDescription]{},
		BackendServerDescriptions: api.Members[BackendServerDescription]{}, AvailabilityZones: api.Members[string]{}, Subnets: api.Members[string]{},
		VPCId: r.VpcID, HealthCheck: r.HealthCheck,
		SecurityGroups: api.Members[string](slices.Clone(r.SecurityGroups)), CreatedTime: r.Created, Scheme: r.Scheme}
	if r.Scheme == "internal" {
		d.CanonicalHostedZoneName = ""
	}
	d.Policies.AppCookieStickinessPolicies, d.Policies.LBCookieStickinessPolicies, d.Policies.OtherPolicies = describePolicies(r)
	for _, l := range r.Listeners {
		d.ListenerDescriptions = append(d.ListenerDescriptions, ListenerDescription{Listener: l,
			PolicyNames: append(api.Members[string]{}, r.ListenerPolicies[l.LoadBalancerPort]...)})
	}
	for _, port := range slices.Sorted(maps.Keys(r.BackendPolicies)) {
		d.BackendServerDescriptions = append(d.BackendServerDescriptions, BackendServerDescription{InstancePort: port,
			PolicyNames: append(api.Members[string]{}, r.BackendPolicies[port]...)})
	}
	for _, sn := range r.Subnets {
		d.AvailabilityZones = append(d.AvailabilityZones, sn.Zone)
		d.Subnets = append(d.Subnets, sn.ID)
	}
	d.Instances = r.serving(now)
	return d
}

type LoadBalancerNameInput struct {
	LoadBalancerName string
}

// DeleteLoadBalancer deletes a load balancer, frees its ports and its
// interfaces; the instances stay. Deleting one that does not exist
// succeeds, as AWS's does.
func (s *Service) DeleteLoadBalancer(ctx context.Context, in *LoadBalancerNameInput) (*struct{}, error) {
	if in.LoadBalancerName == "" {
		return nil, check.Null("loadBalancerName")
	}
	if err := s.authorize(ctx, "DeleteLoadBalancer", s.arn(in.LoadBalancerName)); err != nil {
		return nil, err
	}
	var gone []lbInterface
	err := store.Retry(ctx, func() error {
		it, err := store.Get[lbRecord](ctx, s.store, s.key(in.LoadBalancerName))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		txn := store.NewTxn().IfRev(it.Key, it.Rev).Delete(it.Key)
		if err := s.claimPorts(ctx, txn, it.Value, lbRecord{}); err != nil {
			return err
		}
		gone = it.Value.Interfaces
		return s.store.Commit(ctx, txn)
	})
	if err == nil {
		s.dropInterfaces(ctx, gone)
	}
	return nil, err
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (i instanceRef) draining(now time.Time) bool {
	return i.Draining != nil && now.Before(*i.Draining)
}
