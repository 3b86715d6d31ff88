package ec2

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/instancetype"
	"github.com/berth-dev/berth/internal/store"
)

// Instance states, with EC2's codes.
const (
	StatePending      = "pending"
	StateRunning      = "running"
	StateShuttingDown = "shutting-down"
	StateTerminated   = "terminated"
	StateStopping     = "stopping"
	StateStopped      = "stopped"
)

var stateCodes = map[string]int{StatePending: 0, StateRunning: 16, StateShuttingDown: 32, StateTerminated: 48, StateStopping: 64, StateStopped: 80}

// InstanceRecord is an instance as stored: what it was launched with,
// where it runs and the state its host has brought it to.
type InstanceRecord struct {
	ID            string              `json:"id"`
	Reservation   string              `json:"reservation"`
	LaunchIndex   int                 `json:"launchIndex"`
	ImageID       string              `json:"imageId"`
	InstanceType  string              `json:"instanceType"`
	KeyName       string              `json:"keyName,omitempty"`
	SubnetID      string              `json:"subnetId"`
	VpcID         string              `json:"vpcId"`
	Zone          string              `json:"zone"`
	PrivateIP     string              `json:"privateIp"`
	Groups        []string            `json:"groups"`
	Profile       *InstanceProfileRef `json:"profile,omitempty"`
	ProfileID     string              `json:"profileId,omitempty"`
	UserData      string              `json:"userData,omitempty"`
	State         string              `json:"state"`
	Reason        string              `json:"reason,omitempty"`
	StateReason   string              `json:"stateReason,omitempty"`
	Launched      time.Time           `json:"launched"`
	Changed       time.Time           `json:"changed"`
	Host          string              `json:"host"`
	ClientToken   string              `json:"clientToken,omitempty"`
	NoTermination bool                `json:"noTermination,omitempty"`
	Shutdown      string              `json:"shutdownBehavior,omitempty"`
	Template      *TemplateRef        `json:"template,omitempty"`
	RequesterID   string              `json:"requesterId,omitempty"`
	Tags          []Tag               `json:"tags,omitempty"`
}

// TemplateRef is the launch template an instance was launched from.
type TemplateRef struct {
	ID      string `json:"id"`
	Version string `json:"version"`
}

func instanceNotFound(id string) error {
	return api.Errorf("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
}

func (k keys) address(subnet, ip string) string { return k.prefix + "address/" + subnet + "/" + ip }
func (k keys) addresses(subnet string) string   { return k.prefix + "address/" + subnet + "/" }
func (k keys) clientToken(token string) string  { return k.prefix + "client-token/" + token }
func (k keys) host(id string) string            { return k.prefix + "host/" + id }
func (k keys) hosts() string                    { return k.prefix + "host/" }

// HostRecord is a machine that runs instances (berth up): it beats its
// heart while it does.
type HostRecord struct {
	ID        string    `json:"id"`
	Heartbeat time.Time `json:"heartbeat"`
	// Capacity is how many instances it takes at most; 0 is no limit.
	Capacity int `json:"capacity,omitempty"`
}

// hostTTL is how long a host counts as live after its last heartbeat.
const hostTTL = 30 * time.Second

// Heartbeat records that host runs instances, now.
func (s *Service) Heartbeat(ctx context.Context, host HostRecord) error {
	host.Heartbeat = s.now().UTC()
	return store.Put(ctx, s.store, s.keys.host(host.ID), host)
}

// liveHosts lists the hosts whose heart beat within hostTTL.
func (s *Service) liveHosts(ctx context.Context) ([]HostRecord, error) {
	items, err := store.List[HostRecord](ctx, s.store, s.keys.hosts())
	if err != nil {
		return nil, err
	}
	var out []HostRecord
	for _, it := range items {
		if s.now().Sub(it.Value.Heartbeat) < hostTTL {
			out = append(out, it.Value)
		}
	}
	return out, nil
}

// LiveHosts returns the ids of the hosts whose heart beats: the
// instances of any other host are impaired.
func (s *Service) LiveHosts(ctx context.Context) (map[string]bool, error) {
	hosts, err := s.liveHosts(ctx)
	if err != nil {
		return nil, err
	}
	live := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		live[h.ID] = true
	}
	return live, nil
}

// SubnetZone returns the availability zone and VPC of a subnet, or EC2's
// InvalidSubnetID.NotFound.
func (s *Service) SubnetZone(ctx context.Context, id string) (zone, vpc string, err error) {
	sub, err := get[subnetRecord](ctx, s, "subnet", id, subnetNotFound(id))
	if err != nil {
		return "", "", err
	}
	return sub.Value.Zone, sub.Value.VpcID, nil
}

// Instance returns one instance record, or EC2's not-found error.
func (s *Service) Instance(ctx context.Context, id string) (InstanceRecord, error) {
	it, err := get[InstanceRecord](ctx, s, "instance", id, instanceNotFound(id))
	return it.Value, err
}

// Instances lists every instance record.
func (s *Service) Instances(ctx context.Context) ([]store.Item[InstanceRecord], error) {
	return store.List[InstanceRecord](ctx, s.store, s.keys.of("instance"))
}

// InstancesPrefix is the etcd prefix of instance records, for watchers.
func (s *Service) InstancesPrefix() string { return s.keys.of("instance") }

// GroupsPrefix is the etcd prefix of security group records, for watchers.
func (s *Service) GroupsPrefix() string { return s.keys.of("security-group") }

// SetInstanceState moves an instance to state, as its host reports it,
// unless it changed meanwhile (rev); reason is EC2's state reason message.
func (s *Service) SetInstanceState(ctx context.Context, id string, rev int64, state, reason string) error {
	it, err := get[InstanceRecord](ctx, s, "instance", id, instanceNotFound(id))
	if err != nil {
		return err
	}
	if rev != 0 && it.Rev != rev {
		return store.ErrConflict
	}
	it.Value.State, it.Value.Changed = state, s.now().UTC()
	if reason != "" {
		it.Value.StateReason = reason
	}
	txn := store.NewTxn().IfRev(it.Key, it.Rev).Put(it.Key, it.Value)
	if state == StateTerminated {
		// Its address is free again.
		txn.Delete(s.keys.address(it.Value.SubnetID, it.Value.PrivateIP))
	}
	return s.store.Commit(ctx, txn)
}

// DeleteInstance forgets a terminated instance.
func (s *Service) DeleteInstance(ctx context.Context, id string, rev int64) error {
	return s.store.Commit(ctx, store.NewTxn().IfRev(s.keys.res("instance", id), rev).Delete(s.keys.res("instance", id)))
}

// GroupRules are a security group's rules, for the data planes that
// enforce them.
type GroupRules struct{ Ingress, Egress []Rule }

// AllGroupRules returns every security group's rules by id, in one read,
// for a data plane that enforces many instances' and interfaces' groups.
func (s *Service) AllGroupRules(ctx context.Context) (map[string]GroupRules, error) {
	groups, err := store.List[groupRecord](ctx, s.store, s.keys.of("security-group"))
	if err != nil {
		return nil, err
	}
	out := make(map[string]GroupRules, len(groups))
	for _, g := range groups {
		out[g.Value.ID] = GroupRules{Ingress: g.Value.Ingress, Egress: g.Value.Egress}
	}
	return out, nil
}

// Members maps every security group to the addresses in it: those of the
// instances that are not terminated, and of the interfaces.
func Members(instances []store.Item[InstanceRecord], interfaces []store.Item[NetworkInterfaceRecord]) map[string][]netip.Prefix {
	members := map[string][]netip.Prefix{}
	add := func(groups []string, ip string) {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return
		}
		for _, g := range groups {
			members[g] = append(members[g], netip.PrefixFrom(a, 32))
		}
	}
	for _, o := range instances {
		if o.Value.State != StateTerminated {
			add(o.Value.Groups, o.Value.PrivateIP)
		}
	}
	for _, o := range interfaces {
		add(o.Value.Groups, o.Value.PrivateIP)
	}
	return members
}

type RunInstancesInput struct {
	ImageId                           string
	InstanceType                      string
	KeyName                           string
	MinCount                          int
	MaxCount                          int
	SubnetId                          string
	SecurityGroupIds                  []string `query:"SecurityGroupId"`
	SecurityGroups                    []string `query:"SecurityGroup"`
	UserData                          string
	IamInstanceProfile                *InstanceProfileRef
	NetworkInterfaces                 []NetworkInterfaceSpec `query:"NetworkInterface"`
	Placement                         *TemplatePlacement
	PrivateIpAddress                  string
	TagSpecifications                 []TagSpecification `query:"TagSpecification"`
	LaunchTemplate                    *LaunchTemplateSpec
	ClientToken                       string
	DisableApiTermination             *bool
	InstanceInitiatedShutdownBehavior string
	Monitoring                        *struct{ Enabled bool }
	DryRun                            bool
	// ReservedTags are tags of AWS's own ("aws:autoscaling:groupName")
	// that a service launching the instances sets; no caller can.
	ReservedTags []Tag `query:"-"`
}

// LaunchTemplateSpec names a launch template and version to launch from.
type LaunchTemplateSpec struct {
	LaunchTemplateId   string
	LaunchTemplateName string
	Version            string
}

// Reservation is EC2's Reservation shape.
type Reservation struct {
	Groups        api.Items[GroupIdentifier] `xml:"groupSet"`
	Instances     api.Items[Instance]        `xml:"instancesSet"`
	OwnerID       string                     `xml:"ownerId"`
	RequesterID   string                     `xml:"requesterId,omitempty"`
	ReservationID string                     `xml:"reservationId"`
}

type GroupIdentifier struct {
	GroupID   string `xml:"groupId"`
	GroupName string `xml:"groupName"`
}

// InstanceState is EC2's InstanceState shape.
type InstanceState struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

// Instance is EC2's Instance shape.
type Instance struct {
	AmiLaunchIndex int    `xml:"amiLaunchIndex"`
	ImageID        string `xml:"imageId"`
	InstanceID     string `xml:"instanceId"`
	InstanceType   string `xml:"instanceType"`
	KeyName        string `xml:"keyName,omitempty"`
	LaunchTime     string `xml:"launchTime"`
	Monitoring     struct {
		State string `xml:"state"`
	} `xml:"monitoring"`
	Placement          InstancePlacement          `xml:"placement"`
	PrivateDNSName     string                     `xml:"privateDnsName"`
	PrivateIPAddress   string                     `xml:"privateIpAddress,omitempty"`
	PublicDNSName      string                     `xml:"dnsName"`
	State              InstanceState              `xml:"instanceState"`
	Reason             string                     `xml:"reason"`
	SubnetID           string                     `xml:"subnetId,omitempty"`
	VpcID              string                     `xml:"vpcId,omitempty"`
	Architecture       string                     `xml:"architecture"`
	ClientToken        string                     `xml:"clientToken,omitempty"`
	EbsOptimized       bool                       `xml:"ebsOptimized"`
	EnaSupport         bool                       `xml:"enaSupport"`
	Hypervisor         string                     `xml:"hypervisor"`
	IamInstanceProfile *IamInstanceProfile        `xml:"iamInstanceProfile,omitempty"`
	RootDeviceName     string                     `xml:"rootDeviceName"`
	RootDeviceType     string                     `xml:"rootDeviceType"`
	SecurityGroups     api.Items[GroupIdentifier] `xml:"groupSet"`
	SourceDestCheck    bool                       `xml:"sourceDestCheck"`
	StateReason        *StateReason               `xml:"stateReason,omitempty"`
	Tags               api.Items[Tag]             `xml:"tagSet,omitempty"`
	VirtualizationType string                     `xml:"virtualizationType"`
	CPUOptions         struct {
		CoreCount      int `xml:"coreCount"`
		ThreadsPerCore int `xml:"threadsPerCore"`
	} `xml:"cpuOptions"`
	BootMode        string `xml:"bootMode"`
	PlatformDetails string `xml:"platformDetails"`
	UsageOperation  string `xml:"usageOperation"`
}

type InstancePlacement struct {
	AvailabilityZone string `xml:"availabilityZone"`
	GroupName        string `xml:"groupName"`
	Tenancy          string `xml:"tenancy"`
}

type IamInstanceProfile struct {
	Arn string `xml:"arn"`
	ID  string `xml:"id"`
}

type StateReason struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

// PrivateDNSName is an address's private DNS name, as EC2 names it:
// ip-172-31-0-10.ec2.internal in us-east-1, ...<region>.compute.internal
// elsewhere.
func (s *Service) PrivateDNSName(ip string) string {
	domain := s.cfg.Region + ".compute.internal"
	if s.cfg.Region == "us-east-1" {
		domain = "ec2.internal"
	}
	return "ip-" + strings.ReplaceAll(ip, ".", "-") + "." + domain
}

func (s *Service) instance(r InstanceRecord, groupNames map[string]string) Instance {
	img, _ := s.Image(r.ImageID)
	t, _ := instancetype.Lookup(r.InstanceType)
	out := Instance{AmiLaunchIndex: r.LaunchIndex, ImageID: r.ImageID, InstanceID: r.ID, InstanceType: r.InstanceType, KeyName: r.KeyName,
		LaunchTime: r.Launched.Format(ec2Time), Placement: InstancePlacement{AvailabilityZone: r.Zone, Tenancy: "default"},
		PrivateDNSName: s.PrivateDNSName(r.PrivateIP), State: InstanceState{stateCodes[r.State], r.State}, Reason: r.Reason,
		Architecture: cmpOr(img.Architecture, "x86_64"), ClientToken: r.ClientToken, EnaSupport: true, Hypervisor: "xen",
		RootDeviceName: "/dev/xvda", RootDeviceType: "ebs", SecurityGroups: api.Items[GroupIdentifier]{}, SourceDestCheck: true,
		Tags: r.Tags, VirtualizationType: "hvm", BootMode: "uefi", PlatformDetails: "Linux/UNIX", UsageOperation: "RunInstances"}
	out.Monitoring.State = "disabled"
	out.CPUOptions.CoreCount, out.CPUOptions.ThreadsPerCore = max(1, t.VCPU/2), min(2, max(1, t.VCPU))
	if r.State != StateTerminated {
		out.PrivateIPAddress, out.SubnetID, out.VpcID = r.PrivateIP, r.SubnetID, r.VpcID
		for _, g := range r.Groups {
			out.SecurityGroups = append(out.SecurityGroups, GroupIdentifier{GroupID: g, GroupName: groupNames[g]})
		}
	} else {
		out.PrivateDNSName = ""
	}
	if r.Profile != nil {
		out.IamInstanceProfile = &IamInstanceProfile{Arn: r.Profile.Arn, ID: r.ProfileID}
	}
	if r.StateReason != "" {
		code := "Client.UserInitiatedShutdown"
		if !strings.HasPrefix(r.StateReason, code) {
			code = "Server.InternalError"
		}
		msg := r.StateReason
		if !strings.Contains(msg, ":") {
			msg = code + ": " + msg
		}
		out.StateReason = &StateReason{Code: code, Message: msg}
	}
	return out
}

// Profiles resolves the instance profile of a launch.
type Profiles interface {
	// ProfileForLaunch returns the profile named (by name or ARN) with
	// its ARN and id, once the caller in ctx may pass its role.
	ProfileForLaunch(ctx context.Context, nameOrARN string) (name, arn, id string, err error)
}

// RunInstances launches MinCount to MaxCount instances (as many as fit
// the live hosts, at least MinCount or none), each with an address of its
// subnet, in state pending: the host they are given to starts them.
func (s *Service) RunInstances(ctx context.Context, in *RunInstancesInput) (*Reservation, error) {
	return s.runInstances(ctx, in, "")
}

// RunInstancesOn is RunInstances with every instance given to host, live
// or not yet: berth up launches its own instances on itself.
func (s *Service) RunInstancesOn(ctx context.Context, in *RunInstancesInput, host string) (*Reservation, error) {
	return s.runInstances(ctx, in, host)
}

func (s *Service) runInstances(ctx context.Context, in *RunInstancesInput, pin string) (*Reservation, error) {
	if err := s.authorize(ctx, "RunInstances", s.arn("instance", "*"), in.DryRun); err != nil {
		return nil, err
	}
	if in.ClientToken != "" {
		if r, err := s.reservationByToken(ctx, in.ClientToken); err == nil || !errors.Is(err, store.ErrNotFound) {
			return r, err
		}
	}
	plan, err := s.planLaunch(ctx, in)
	if err != nil {
		return nil, err
	}
	hosts, err := s.liveHosts(ctx)
	if err != nil {
		return nil, err
	}
	if pin != "" {
		hosts = []HostRecord{{ID: pin}}
	}
	if len(hosts) == 0 {
		return nil, api.Errorf("InsufficientInstanceCapacity",
			"We currently do not have sufficient %s capacity in the Availability Zone you requested (%s). Instances run on hosts running berth up, and none is running.", plan.instanceType, plan.subnet.Zone)
	}
	var reservation *Reservation
	err = retry(ctx, func() error {
		all, err := s.Instances(ctx)
		if err != nil {
			return err
		}
		load := map[string]int{}
		for _, it := range all {
			if it.Value.State != StateTerminated && it.Value.State != StateStopped {
				load[it.Value.Host]++
			}
		}
		// Instance i goes to subnet i mod len(subnets), with the next
		// free address of that subnet.
		subnets, ips := plan.subnets(), make([]string, 0, in.MaxCount)
		free := map[string][]string{}
		for _, sub := range subnets {
			used, err := s.store.Keys(ctx, s.keys.addresses(sub.ID))
			if err != nil {
				return err
			}
			if free[sub.ID], err = freeAddresses(sub, used, in.PrivateIpAddress, in.MaxCount); err != nil {
				return err
			}
		}
		for i := 0; i < in.MaxCount; i++ {
			sub := subnets[i%len(subnets)]
			if len(free[sub.ID]) == 0 {
				break
			}
			ips = append(ips, free[sub.ID][0])
			free[sub.ID] = free[sub.ID][1:]
		}
		n := len(ips)
		if n < in.MinCount {
			return api.Errorf("InsufficientFreeAddressesInSubnet", "There are not enough free addresses in subnet '%s' to satisfy the requested number of instances.", plan.subnet.ID)
		}
		resID := newID("r")
		now := s.now().UTC()
		txn := store.NewTxn()
		if in.ClientToken != "" {
			txn.IfAbsent(s.keys.clientToken(in.ClientToken)).Put(s.keys.clientToken(in.ClientToken), resID)
		}
		var records []InstanceRecord
		for i := 0; i < n; i++ {
			host := leastLoaded(hosts, load)
			load[host]++
			sub := subnets[i%len(subnets)]
			r := InstanceRecord{ID: newID("i"), Reservation: resID, LaunchIndex: i, ImageID: plan.image, InstanceType: plan.instanceType,
				KeyName: plan.keyName, SubnetID: sub.ID, VpcID: sub.VpcID, Zone: sub.Zone, PrivateIP: ips[i],
				Groups: plan.groups, Profile: plan.profile, ProfileID: plan.profileID, UserData: plan.userData, State: StatePending,
				Launched: now, Changed: now, Host: host, ClientToken: in.ClientToken, NoTermination: plan.noTermination,
				Shutdown: plan.shutdown, Template: plan.template, RequesterID: api.PrincipalFrom(ctx).ARN, Tags: append(slices.Clone(plan.tags), in.ReservedTags...)}
			txn.IfAbsent(s.keys.address(r.SubnetID, r.PrivateIP)).Put(s.keys.address(r.SubnetID, r.PrivateIP), r.ID).
				Put(s.keys.res("instance", r.ID), r)
			records = append(records, r)
		}
		if err := s.store.Commit(ctx, txn); err != nil {
			return err
		}
		reservation, err = s.reservation(ctx, resID, records)
		return err
	})
	return reservation, err
}

func leastLoaded(hosts []HostRecord, load map[string]int) string {
	best := hosts[0].ID
	for _, h := range hosts[1:] {
		if load[h.ID] < load[best] || (load[h.ID] == load[best] && h.ID < best) {
			best = h.ID
		}
	}
	return best
}

// freeAddresses picks n free addresses of a subnet (skipping the first
// four and the last, which AWS reserves), or the one asked for.
func freeAddresses(sub subnetRecord, usedKeys []string, want string, n int) ([]string, error) {
	p := netip.MustParsePrefix(sub.CIDR)
	used := map[string]bool{}
	for _, k := range usedKeys {
		used[k[strings.LastIndexByte(k, '/')+1:]] = true
	}
	if want != "" {
		a, err := netip.ParseAddr(want)
		if err != nil || !a.Is4() {
			return nil, invalidValue("Value (%s) for parameter privateIpAddress is invalid.", want)
		}
		if !p.Contains(a) || !usable(p, a) {
			return nil, api.Errorf("InvalidParameterValue", "Address %s does not fall within the subnet's address range", want)
		}
		if used[want] {
			return nil, api.Errorf("InvalidIPAddress.InUse", "Address %s is in use.", want)
		}
		if n > 1 {
			return nil, invalidValue("A private IP address may only be given for a single instance.")
		}
		return []string{want}, nil
	}
	var out []string
	for a := p.Addr(); p.Contains(a) && len(out) < n; a = a.Next() {
		if usable(p, a) && !used[a.String()] {
			out = append(out, a.String())
		}
	}
	return out, nil
}

// usable reports whether a is not one of the five addresses AWS reserves
// in every subnet: the network address, the next three, and the last.
func usable(p netip.Prefix, a netip.Addr) bool {
	base := p.Masked().Addr().As4()
	off := (uint32(a.As4()[0])<<24 | uint32(a.As4()[1])<<16 | uint32(a.As4()[2])<<8 | uint32(a.As4()[3])) -
		(uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3]))
	return off >= 4 && off < uint32(subnetSize(p))-1
}

// subnets are where the plan's instances go, in turn.
func (p launchPlan) subnets() []subnetRecord {
	if len(p.spread) > 0 {
		return p.spread
	}
	return []subnetRecord{p.subnet}
}

// launchPlan is a RunInstances request resolved against its template and
// the account's resources.
type launchPlan struct {
	image, instanceType, keyName, userData, shutdown string
	subnet                                           subnetRecord
	// spread are the default VPC's default subnets, when the launch named
	// no subnet nor zone: its instances go to them in turn.
	spread        []subnetRecord
	groups        []string
	profile       *InstanceProfileRef
	profileID     string
	noTermination bool
	template      *TemplateRef
	tags          []Tag
}

func (s *Service) planLaunch(ctx context.Context, in *RunInstancesInput) (launchPlan, error) {
	var p launchPlan
	d := LaunchTemplateData{ImageId: in.ImageId, InstanceType: in.InstanceType, KeyName: in.KeyName, UserData: in.UserData,
		IamInstanceProfile: in.IamInstanceProfile, SecurityGroupIds: in.SecurityGroupIds, SecurityGroups: in.SecurityGroups,
		NetworkInterfaces: in.NetworkInterfaces, Placement: in.Placement, TagSpecifications: in.TagSpecifications,
		InstanceInitiatedShutdownBehavior: in.InstanceInitiatedShutdownBehavior, DisableApiTermination: in.DisableApiTermination}
	if lt := in.LaunchTemplate; lt != nil {
		t, err := s.template(ctx, lt.LaunchTemplateId, lt.LaunchTemplateName)
		if err != nil {
			return p, err
		}
		base, err := s.ResolveLaunchTemplate(ctx, t.Value.ID, "", lt.Version)
		if err != nil {
			return p, err
		}
		d = mergeTemplateData(base, d)
		p.template = &TemplateRef{ID: t.Value.ID, Version: cmpOr(lt.Version, "$Default")}
	}
	if in.MinCount < 1 || in.MaxCount < in.MinCount {
		return p, invalidValue("MinCount must be at least 1 and MaxCount at least MinCount (got %d and %d).", in.MinCount, in.MaxCount)
	}
	if in.MaxCount > 20 {
		return p, api.Errorf("InstanceLimitExceeded", "You have requested more instances (%d) than your current instance limit of 20 allows for the specified instance type.", in.MaxCount)
	}
	if d.ImageId == "" {
		return p, missing("ImageId")
	}
	if _, err := s.Image(d.ImageId); err != nil {
		return p, err
	}
	p.image = d.ImageId
	p.instanceType = cmpOr(d.InstanceType, "t3.micro")
	if _, ok := instancetype.Lookup(p.instanceType); !ok {
		return p, invalidValue("The instance type '%s' does not exist or is not offered by Berth; use one of: %s.", p.instanceType, strings.Join(instancetype.Names(), ", "))
	}
	if d.KeyName != "" {
		if _, err := store.Get[string](ctx, s.store, s.keys.keyName(d.KeyName)); errors.Is(err, store.ErrNotFound) {
			return p, keyPairNotFound(d.KeyName)
		} else if err != nil {
			return p, err
		}
		p.keyName = d.KeyName
	}
	if len(d.UserData) > base64Len(16<<10) {
		return p, invalidValue("User data is limited to 16384 bytes")
	}
	p.userData = d.UserData
	// The subnet: named, or the network interface's, or the default
	// subnet of the zone asked for (the first zone's otherwise).
	subnetID := d.SubnetIdOrInterface(in.SubnetId)
	groups := append(slices.Clone(d.SecurityGroupIds), d.InterfaceGroups()...)
	if subnetID == "" {
		zone := ""
		if d.Placement != nil {
			zone = d.Placement.AvailabilityZone
		}
		sub, err := s.defaultSubnet(ctx, zone)
		if err != nil {
			return p, err
		}
		subnetID = sub.ID
		if zone == "" && in.MaxCount > 1 && in.PrivateIpAddress == "" {
			// Unlike EC2, which puts a reservation in one zone, Berth
			// spreads the instances of a launch that names no subnet
			// over the default subnets, one zone after the other, as a
			// cluster wants them.
			for _, z := range s.Zones() {
				if ds, err := s.defaultSubnet(ctx, z.Name); err == nil {
					p.spread = append(p.spread, ds)
				}
			}
		}
	}
	sub, err := get[subnetRecord](ctx, s, "subnet", subnetID, subnetNotFound(subnetID))
	if err != nil {
		return p, err
	}
	p.subnet = sub.Value
	if d.Placement != nil && d.Placement.AvailabilityZone != "" && d.Placement.AvailabilityZone != sub.Value.Zone {
		return p, invalidValue("The subnet %s is in %s, not %s.", sub.Value.ID, sub.Value.Zone, d.Placement.AvailabilityZone)
	}
	vpc, err := get[vpcRecord](ctx, s, "vpc", sub.Value.VpcID, vpcNotFound(sub.Value.VpcID))
	if err != nil {
		return p, err
	}
	for _, name := range d.SecurityGroups {
		id := vpc.Value.Groups[name]
		if id == "" {
			return p, api.Errorf("InvalidGroup.NotFound", "The security group '%s' does not exist in VPC '%s'", name, vpc.Value.ID)
		}
		groups = append(groups, id)
	}
	for _, g := range groups {
		rec, err := get[groupRecord](ctx, s, "security-group", g, groupNotFound(g))
		if err != nil {
			return p, err
		}
		if rec.Value.VpcID != vpc.Value.ID {
			return p, invalidValue("Security group %s and subnet %s belong to different networks.", g, sub.Value.ID)
		}
	}
	if len(groups) == 0 {
		groups = []string{vpc.Value.Groups["default"]}
	}
	p.groups = slices.Compact(slices.Sorted(slices.Values(groups)))
	if prof := d.IamInstanceProfile; prof != nil && (prof.Name != "" || prof.Arn != "") {
		if s.profiles == nil {
			return p, invalidValue("Instance profiles are not available on this server.")
		}
		name, arn, id, err := s.profiles.ProfileForLaunch(ctx, cmpOr(prof.Arn, prof.Name))
		if err != nil {
			return p, err
		}
		p.profile, p.profileID = &InstanceProfileRef{Arn: arn, Name: name}, id
	}
	for _, sp := range d.TagSpecifications {
		switch sp.ResourceType {
		case "instance":
			tags, err := mergeTags(p.tags, sp.Tags)
			if err != nil {
				return p, err
			}
			p.tags = tags
		case "volume", "network-interface":
			// Berth's instances have neither EBS volumes nor interfaces
			// of their own to tag; the tags are checked and not kept.
			if err := checkTags(sp.Tags); err != nil {
				return p, err
			}
		default:
			return p, invalidValue("'%s' is not a valid taggable resource type for this operation.", sp.ResourceType)
		}
	}
	switch d.InstanceInitiatedShutdownBehavior {
	case "", "stop", "terminate":
		p.shutdown = cmpOr(d.InstanceInitiatedShutdownBehavior, "stop")
	default:
		return p, invalidValue("Value (%s) for parameter instanceInitiatedShutdownBehavior is invalid.", d.InstanceInitiatedShutdownBehavior)
	}
	p.noTermination = d.DisableApiTermination != nil && *d.DisableApiTermination
	return p, nil
}

// base64Len is the base64 length of n bytes.
func base64Len(n int) int { return (n + 2) / 3 * 4 }

// SubnetIdOrInterface is the subnet named directly or by the first
// network interface.
func (d LaunchTemplateData) SubnetIdOrInterface(direct string) string {
	if direct != "" {
		return direct
	}
	for _, ni := range d.NetworkInterfaces {
		if ni.SubnetId != "" {
			return ni.SubnetId
		}
	}
	return ""
}

// InterfaceGroups are the security groups of the network interfaces.
func (d LaunchTemplateData) InterfaceGroups() []string {
	var out []string
	for _, ni := range d.NetworkInterfaces {
		out = append(out, ni.Groups...)
	}
	return out
}

// defaultSubnet is the default VPC's subnet in zone ("" for the first).
func (s *Service) defaultSubnet(ctx context.Context, zone string) (subnetRecord, error) {
	vpc, err := s.defaultVpc(ctx)
	if isNotFound(err) {
		return subnetRecord{}, api.Errorf("VPCIdNotSpecified", "No default VPC for this user. GroupName is only supported for EC2-Classic and default VPC.")
	}
	if err != nil {
		return subnetRecord{}, err
	}
	ids := make([]string, 0, len(vpc.Subnets))
	for id := range vpc.Subnets {
		ids = append(ids, id)
	}
	subs, err := describe[subnetRecord](ctx, s, "subnet", ids, subnetNotFound)
	if err != nil {
		return subnetRecord{}, err
	}
	slices.SortFunc(subs, func(a, b subnetRecord) int { return strings.Compare(a.Zone, b.Zone) })
	for _, sub := range subs {
		if sub.DefaultForAz && (zone == "" || sub.Zone == zone) {
			return sub, nil
		}
	}
	return subnetRecord{}, api.Errorf("InvalidParameterValue", "No default subnet for availability zone: '%s'.", zone)
}

// DefaultSubnets are the default VPC's subnets, one per zone, in zone
// order: where berth up puts its instances, round robin.
func (s *Service) DefaultSubnets(ctx context.Context) ([]string, error) {
	var out []string
	for _, z := range s.Zones() {
		sub, err := s.defaultSubnet(ctx, z.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, sub.ID)
	}
	return out, nil
}

func (s *Service) reservationByToken(ctx context.Context, token string) (*Reservation, error) {
	ref, err := store.Get[string](ctx, s.store, s.keys.clientToken(token))
	if err != nil {
		return nil, err
	}
	all, err := s.Instances(ctx)
	if err != nil {
		return nil, err
	}
	var recs []InstanceRecord
	for _, it := range all {
		if it.Value.Reservation == ref.Value {
			recs = append(recs, it.Value)
		}
	}
	return s.reservation(ctx, ref.Value, recs)
}

func (s *Service) reservation(ctx context.Context, id string, recs []InstanceRecord) (*Reservation, error) {
	names, err := s.groupNames(ctx)
	if err != nil {
		return nil, err
	}
	r := &Reservation{Groups: api.Items[GroupIdentifier]{}, Instances: api.Items[Instance]{}, OwnerID: s.cfg.Account, ReservationID: id}
	slices.SortFunc(recs, func(a, b InstanceRecord) int { return a.LaunchIndex - b.LaunchIndex })
	for _, rec := range recs {
		r.Instances = append(r.Instances, s.instance(rec, names))
	}
	return r, nil
}

func (s *Service) groupNames(ctx context.Context) (map[string]string, error) {
	groups, err := store.List[groupRecord](ctx, s.store, s.keys.of("security-group"))
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(groups))
	for _, g := range groups {
		names[g.Value.ID] = g.Value.Name
	}
	return names, nil
}

type DescribeInstancesInput struct {
	DryRun      bool
	Filters     []Filter `query:"Filter"`
	InstanceIds []string `query:"InstanceId"`
	MaxResults  *int
	NextToken   *string
}

type DescribeInstancesOutput struct {
	Reservations api.Items[Reservation] `xml:"reservationSet"`
	NextToken    *string                `xml:"nextToken,omitempty"`
}

// DescribeInstances lists instances, by id and filters, grouped in their
// reservations.
func (s *Service) DescribeInstances(ctx context.Context, in *DescribeInstancesInput) (*DescribeInstancesOutput, error) {
	if err := s.authorize(ctx, "DescribeInstances", "*", in.DryRun); err != nil {
		return nil, err
	}
	items, err := describe[InstanceRecord](ctx, s, "instance", in.InstanceIds, instanceNotFound)
	if err == nil {
		items, err = visibleInstances(items, in.InstanceIds)
	}
	if err != nil {
		return nil, err
	}
	page, next, err := filtered(items, in.Filters, func(r InstanceRecord) (InstanceRecord, []Tag, fields) {
		return r, r.Tags, s.instanceFilter(r)
	}, func(r InstanceRecord) string { return r.ID }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &DescribeInstancesOutput{Reservations: api.Items[Reservation]{}, NextToken: next}
	byRes := map[string][]InstanceRecord{}
	var order []string
	for _, r := range page {
		if byRes[r.Reservation] == nil {
			order = append(order, r.Reservation)
		}
		byRes[r.Reservation] = append(byRes[r.Reservation], r)
	}
	for _, id := range order {
		res, err := s.reservation(ctx, id, byRes[id])
		if err != nil {
			return nil, err
		}
		out.Reservations = append(out.Reservations, *res)
	}
	return out, nil
}

func (s *Service) instanceFilter(r InstanceRecord) func(string) ([]string, bool) {
	return func(name string) ([]string, bool) {
		switch name {
		case "instance-id":
			return []string{r.ID}, true
		case "instance-state-name":
			return []string{r.State}, true
		case "instance-state-code":
			return []string{strconv.Itoa(stateCodes[r.State])}, true
		case "instance-type":
			return []string{r.InstanceType}, true
		case "image-id":
			return []string{r.ImageID}, true
		case "subnet-id":
			return []string{r.SubnetID}, true
		case "vpc-id":
			return []string{r.VpcID}, true
		case "availability-zone":
			return []string{r.Zone}, true
		case "private-ip-address", "network-interface.addresses.private-ip-address":
			return []string{r.PrivateIP}, true
		case "private-dns-name":
			return []string{s.PrivateDNSName(r.PrivateIP)}, true
		case "key-name":
			return []string{r.KeyName}, true
		case "reservation-id":
			return []string{r.Reservation}, true
		case "instance.group-id", "group-id":
			return r.Groups, true
		case "iam-instance-profile.arn":
			if r.Profile != nil {
				return []string{r.Profile.Arn}, true
			}
			return nil, true
		case "launch-index":
			return []string{strconv.Itoa(r.LaunchIndex)}, true
		case "client-token":
			return []string{r.ClientToken}, true
		}
		return nil, false
	}
}

type InstanceIdsInput struct {
	InstanceIds []string `query:"InstanceId"`
	DryRun      bool
	Force       bool
	Hibernate   bool
}

type InstanceStateChange struct {
	CurrentState  InstanceState `xml:"currentState"`
	InstanceID    string        `xml:"instanceId"`
	PreviousState InstanceState `xml:"previousState"`
}

type StateChangeOutput struct {
	Changes api.Items[InstanceStateChange] `xml:"instancesSet"`
}

// StopInstances asks the instances' hosts to stop them (their agents stop
// and their tasks with them, as on EC2).
func (s *Service) StopInstances(ctx context.Context, in *InstanceIdsInput) (*StateChangeOutput, error) {
	if in.Hibernate {
		return nil, api.Errorf("UnsupportedHibernationConfiguration", "Berth's instances cannot hibernate.")
	}
	return s.transition(ctx, "StopInstances", in, func(r *InstanceRecord) error {
		switch r.State {
		case StatePending, StateRunning:
			r.State, r.Reason = StateStopping, fmt.Sprintf("User initiated (%s)", s.now().UTC().Format("2006-01-02 15:04:05 MST"))
			r.StateReason = "Client.UserInitiatedShutdown: User initiated shutdown"
		case StateStopping, StateStopped:
		default:
			return api.Errorf("IncorrectInstanceState", "The instance '%s' is not in a state from which it can be stopped.", r.ID)
		}
		return nil
	})
}

// StartInstances starts stopped instances again.
func (s *Service) StartInstances(ctx context.Context, in *InstanceIdsInput) (*StateChangeOutput, error) {
	return s.transition(ctx, "StartInstances", in, func(r *InstanceRecord) error {
		switch r.State {
		case StateStopped:
			r.State, r.Reason, r.StateReason = StatePending, "", ""
		case StatePending, StateRunning:
		default:
			return api.Errorf("IncorrectInstanceState", "The instance '%s' is not in a state from which it can be started.", r.ID)
		}
		return nil
	})
}

// TerminateInstances terminates instances: their agents stop, their
// container instances are deregistered and their addresses freed; they
// stay visible, terminated, for an hour.
func (s *Service) TerminateInstances(ctx context.Context, in *InstanceIdsInput) (*StateChangeOutput, error) {
	return s.transition(ctx, "TerminateInstances", in, func(r *InstanceRecord) error {
		if r.NoTermination {
			return api.Errorf("OperationNotPermitted", "The instance '%s' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again.", r.ID)
		}
		switch r.State {
		case StateTerminated, StateShuttingDown:
		default:
			r.State, r.Reason = StateShuttingDown, fmt.Sprintf("User initiated (%s)", s.now().UTC().Format("2006-01-02 15:04:05 MST"))
			r.StateReason = "Client.UserInitiatedShutdown: User initiated shutdown"
		}
		return nil
	})
}

// transition applies change to every instance, all or none.
func (s *Service) transition(ctx context.Context, action string, in *InstanceIdsInput, change func(*InstanceRecord) error) (*StateChangeOutput, error) {
	if len(in.InstanceIds) == 0 {
		return nil, missing("InstanceId")
	}
	for _, id := range in.InstanceIds {
		if err := s.authorize(ctx, action, s.arn("instance", id), in.DryRun); err != nil {
			return nil, err
		}
	}
	out := &StateChangeOutput{}
	err := retry(ctx, func() error {
		out.Changes = api.Items[InstanceStateChange]{}
		txn := store.NewTxn()
		for _, id := range slices.Compact(slices.Sorted(slices.Values(in.InstanceIds))) {
			it, err := get[InstanceRecord](ctx, s, "instance", id, instanceNotFound(id))
			if err != nil {
				return err
			}
			prev := it.Value.State
			if err := change(&it.Value); err != nil {
				return err
			}
			if it.Value.State != prev {
				it.Value.Changed = s.now().UTC()
				txn.IfRev(it.Key, it.Rev).Put(it.Key, it.Value)
			}
			out.Changes = append(out.Changes, InstanceStateChange{InstanceID: id, PreviousState: InstanceState{stateCodes[prev], prev},
				CurrentState: InstanceState{stateCodes[it.Value.State], it.Value.State}})
		}
		return s.store.Commit(ctx, txn)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type DescribeInstanceStatusInput struct {
	DryRun              bool
	Filters             []Filter `query:"Filter"`
	InstanceIds         []string `query:"InstanceId"`
	IncludeAllInstances bool
	MaxResults          *int
	NextToken           *string
}

type StatusSummary struct {
	Details api.Items[StatusDetail] `xml:"details"`
	Status  string                  `xml:"status"`
}

type StatusDetail struct {
	Name   string `xml:"name"`
	Status string `xml:"status"`
}

type InstanceStatus struct {
	AvailabilityZone string         `xml:"availabilityZone"`
	Events           api.Items[any] `xml:"eventsSet"`
	InstanceID       string         `xml:"instanceId"`
	InstanceState    InstanceState  `xml:"instanceState"`
	InstanceStatus   StatusSummary  `xml:"instanceStatus"`
	SystemStatus     StatusSummary  `xml:"systemStatus"`
}

type DescribeInstanceStatusOutput struct {
	InstanceStatuses api.Items[InstanceStatus] `xml:"instanceStatusSet"`
	NextToken        *string                   `xml:"nextToken,omitempty"`
}

// DescribeInstanceStatus reports running instances' status checks (all
// instances with IncludeAllInstances): a running instance whose host
// beats its heart passes them.
func (s *Service) DescribeInstanceStatus(ctx context.Context, in *DescribeInstanceStatusInput) (*DescribeInstanceStatusOutput, error) {
	if err := s.authorize(ctx, "DescribeInstanceStatus", "*", in.DryRun); err != nil {
		return nil, err
	}
	items, err := describe[InstanceRecord](ctx, s, "instance", in.InstanceIds, instanceNotFound)
	if err == nil {
		items, err = visibleInstances(items, in.InstanceIds)
	}
	if err != nil {
		return nil, err
	}
	hosts, err := s.liveHosts(ctx)
	if err != nil {
		return nil, err
	}
	var out []InstanceStatus
	for _, r := range items {
		if r.State != StateRunning && !in.IncludeAllInstances {
			continue
		}
		check := "not-applicable"
		if r.State == StateRunning {
			check = "impaired"
			if slices.ContainsFunc(hosts, func(h HostRecord) bool { return h.ID == r.Host }) {
				check = "ok"
			}
		}
		summary := func(name string) StatusSummary {
			detail := "passed"
			if check == "impaired" {
				detail = "failed"
			} else if check != "ok" {
				detail = check
			}
			return StatusSummary{Status: check, Details: api.Items[StatusDetail]{{Name: name, Status: detail}}}
		}
		st := InstanceStatus{AvailabilityZone: r.Zone, Events: api.Items[any]{}, InstanceID: r.ID, InstanceState: InstanceState{stateCodes[r.State], r.State},
			InstanceStatus: summary("reachability"), SystemStatus: summary("reachability")}
		ok, err := matchFilters(in.Filters, func(name string) ([]string, bool) {
			switch name {
			case "availability-zone":
				return []string{r.Zone}, true
			case "instance-state-name":
				return []string{r.State}, true
			case "instance-state-code":
				return []string{strconv.Itoa(stateCodes[r.State])}, true
			case "instance-status.status", "system-status.status":
				return []string{check}, true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, st)
		}
	}
	page, next, err := paginate(out, func(st InstanceStatus) string { return st.InstanceID }, in.NextToken, in.MaxResults, 5, 1000)
	if err != nil {
		return nil, err
	}
	return &DescribeInstanceStatusOutput{InstanceStatuses: api.Items[InstanceStatus](page), NextToken: next}, nil
}

// GroupView is every security group's rules and members at one moment,
// for a data plane that judges traffic by groups.
type GroupView struct {
	Rules   map[string]GroupRules
	Members map[string][]netip.Prefix
}

// GroupViewAt is every group's rules and the addresses in each group,
// at revision rev of the store, for a data plane pass that has read
// insts, every instance, at rev: the groups and network interfaces are
// read at the same revision, so that the view is of one moment.
func (s *Service) GroupViewAt(ctx context.Context, rev int64, insts []store.Item[InstanceRecord]) (GroupView, error) {
	groups, _, err := store.ListAt[groupRecord](ctx, s.store, s.keys.of("security-group"), rev)
	if err != nil {
		return GroupView{}, err
	}
	rules := make(map[string]GroupRules, len(groups))
	for _, g := range groups {
		rules[g.Value.ID] = GroupRules{Ingress: g.Value.Ingress, Egress: g.Value.Egress}
	}
	ifs, _, err := store.ListAt[NetworkInterfaceRecord](ctx, s.store, s.keys.of("network-interface"), rev)
	if err != nil {
		return GroupView{}, err
	}
	return GroupView{Rules: rules, Members: Members(insts, ifs)}, nil
}

// Admitted are the sources that groups' ingress rules let in on port,
// over TCP and over UDP: a CIDR as it is, a source group as its members'
// addresses.
func (v GroupView) Admitted(groups []string, port int) (tcp, udp []netip.Prefix) {
	for _, g := range groups {
		for _, r := range v.Rules[g].Ingress {
			srcs := v.Members[r.Group]
			if r.CIDR != "" {
				p, err := netip.ParsePrefix(r.CIDR)
				if err != nil {
					continue
				}
				srcs = []netip.Prefix{p}
			}
			inRange := r.From <= port && port <= r.To
			if r.Protocol == "-1" || r.Protocol == "tcp" && inRange {
				tcp = append(tcp, srcs...)
			}
			if r.Protocol == "-1" || r.Protocol == "udp" && inRange {
				udp = append(udp, srcs...)
			}
		}
	}
	return tcp, udp
}
