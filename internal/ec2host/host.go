// Package ec2host runs on a machine the EC2 instances given to it: for
// each it holds the instance's private address (on the VPC bridge, where
// the instance's published ports listen), enforces its security groups,
// gives it a parent control group of its type's size, and runs its agent
// — started, stopped and terminated as the instance's record says. It is
// the local instance provider; every `berth up` is one host.
package ec2host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/cgroup"
	"github.com/berth-dev/berth/internal/ec2"
	"github.com/berth-dev/berth/internal/instancetype"
	"github.com/berth-dev/berth/internal/store"
	"github.com/berth-dev/berth/internal/vpc"
)

// AgentSpec is what an instance's agent is started with.
type AgentSpec struct {
	InstanceID   string
	Cluster      string
	InstanceType string
	Zone         string
	PrivateIP    string
	ImageID      string
	SubnetID     string
	VpcID        string
	// Profile is the instance profile's name ("" for none).
	Profile string
	// CgroupParent is the instance's parent control group ("" for none).
	CgroupParent string
	// Settings are the ECS_* settings its user data writes.
	Settings map[string]string
	// IdentityDocument and IdentitySignature are the instance's signed
	// identity document, which its agent registers with.
	IdentityDocument, IdentitySignature string
	// TaskENI says the host can give awsvpc tasks their interfaces (it
	// runs the VPC data plane).
	TaskENI bool
}

// Runner starts and stops instances' agents on this machine.
type Runner interface {
	// Start starts the instance's agent, unless it runs, and keeps it
	// running.
	Start(spec AgentSpec) error
	// Stop stops the instance's agent and waits for it to exit.
	Stop(ctx context.Context, instanceID string) error
	// RemoveContainers removes the containers the instance's agent ran.
	RemoveContainers(ctx context.Context, instanceID string) error
}

// Config configures a host.
type Config struct {
	// ID names the host in the instance records.
	ID  string
	EC2 *ec2.Service
	// Store is watched for changes to instances and security groups.
	Store *store.Store
	// VPC is the network data plane; nil runs instances without
	// addresses of their own or security groups (their ports are then
	// published on all of the host's addresses).
	VPC    *vpc.Host
	Agents Runner
	// Terminated is told of each instance terminated here once its
	// agent is gone (ECS deregisters its container instance).
	Terminated func(ctx context.Context, ec2InstanceID string) (int, error)
	// CgroupRoot is where instances' parent groups go; "" gives none.
	CgroupRoot string
	// Resync is how often the host checks everything even when nothing
	// changed; 10s when zero.
	Resync time.Duration
	Log    *slog.Logger
}

// Host is a running host.
type Host struct {
	cfg  Config
	mu   sync.Mutex
	seen map[string]string // instance or interface id → the rules applied
	// interfaces are the addresses of the task interfaces whose groups
	// this host enforces, by interface id.
	interfaces map[string]netip.Addr
	// balancers are the addresses of load balancers' interfaces this host
	// holds on its bridge, by interface id.
	balancers map[string]netip.Addr
	// identities are the instances' signed identity documents, made once
	// per instance: what they sign never changes.
	identities map[string][2]string
	// setSeen are the members last written to each address set;
	// setsKept the sets the last prune kept.
	setSeen  map[string]string
	setsKept map[string]bool
}

// New returns a host.
func New(cfg Config) *Host {
	if cfg.Resync <= 0 {
		cfg.Resync = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Host{cfg: cfg, seen: map[string]string{}, identities: map[string][2]string{}, interfaces: map[string]netip.Addr{}, balancers: map[string]netip.Addr{},
		setSeen: map[string]string{}}
}

// Run beats the host's heart and brings its instances to their recorded
// states, at every change of an instance or a security group and every
// Resync, until ctx ends.
func (h *Host) Run(ctx context.Context) {
	kick := make(chan struct{}, 1)
	notify := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	for _, prefix := range []string{h.cfg.EC2.InstancesPrefix(), h.cfg.EC2.GroupsPrefix(), h.cfg.EC2.InterfacesPrefix()} {
		go h.watch(ctx, prefix, notify)
	}
	tick := time.NewTicker(h.cfg.Resync)
	defer tick.Stop()
	for {
		if err := h.cfg.EC2.Heartbeat(ctx, ec2.HostRecord{ID: h.cfg.ID}); err != nil && ctx.Err() == nil {
			h.cfg.Log.Warn("ec2 host heartbeat", "err", err)
		}
		if err := h.Reconcile(ctx); err != nil && ctx.Err() == nil {
			h.cfg.Log.Warn("ec2 host: bring instances to their states", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-kick:
		}
	}
}

// watch calls notify at every change under prefix, opening the watch
// again when it ends, until ctx ends.
func (h *Host) watch(ctx context.Context, prefix string, notify func()) {
	for ctx.Err() == nil {
		for c := range h.cfg.Store.Watch(ctx, prefix, 0) {
			if c.Err == nil {
				notify()
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// Reconcile brings every instance of this host to its recorded state
// once.
func (h *Host) Reconcile(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	all, err := h.cfg.EC2.Instances(ctx)
	if err != nil {
		return err
	}
	interfaces, err := h.cfg.EC2.Interfaces(ctx)
	if err != nil {
		return err
	}
	groups, err := h.cfg.EC2.AllGroupRules(ctx)
	if err != nil {
		return err
	}
	view := netView{GroupView: ec2.GroupView{Rules: groups, Members: ec2.Members(all, interfaces)}}
	var errs []error
	// Source groups' address sets first, so that every chain written
	// below finds the sets it matches.
	view.sets, err = h.syncSets(view)
	errs = append(errs, err)
	here := map[string]bool{}
	for _, it := range all {
		if it.Value.Host != h.cfg.ID {
			continue
		}
		here[it.Value.ID] = it.Value.State == ec2.StatePending || it.Value.State == ec2.StateRunning
		if err := h.apply(ctx, it, view); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", it.Value.ID, err))
		}
	}
	// Task interfaces attached to this host's running instances (awsvpc
	// tasks): their rules are in place as soon as ECS records them,
	// before the agent gives the task its namespace, so the address is
	// never open.
	errs = append(errs, h.guardInterfaces(ctx, view, interfaces, h.interfaces, false,
		func(r ec2.NetworkInterfaceRecord) bool { return here[r.InstanceID] }))
	// Load balancers' interfaces, held on this host's bridge as
	// instances' addresses are: the load balancer data plane of this
	// machine sends its connections to targets from them, so that the
	// targets' groups judge them by the load balancer's groups.
	errs = append(errs, h.guardInterfaces(ctx, view, interfaces, h.balancers, true,
		func(r ec2.NetworkInterfaceRecord) bool {
			return r.RequesterID == ec2.RequesterELB && r.InstanceID == ""
		}))
	errs = append(errs, h.pruneSets(view.sets))
	return errors.Join(errs...)
}

// syncSets gives every group that an ingress rule names as its source an
// address set of its members (see vpc.Host.SyncSet), when the kernel has
// sets, and returns the sets by group. A set that cannot be made is left
// out: its rules list the group's addresses instead.
func (h *Host) syncSets(view netView) (map[string]string, error) {
	if h.cfg.VPC == nil || !h.cfg.VPC.Sets() {
		return nil, nil
	}
	sets := map[string]string{}
	var errs []error
	for _, g := range view.Rules {
		for _, rule := range g.Ingress {
			if rule.Group == "" || sets[rule.Group] != "" {
				continue
			}
			name := h.cfg.VPC.GroupSet(rule.Group)
			members := fmt.Sprint(view.Members[rule.Group])
			if h.setSeen[name] != members {
				if err := h.cfg.VPC.SyncSet(name, view.Members[rule.Group]); err != nil {
					errs = append(errs, fmt.Errorf("group %s: %w", rule.Group, err))
					delete(h.setSeen, name)
					continue
				}
				h.setSeen[name] = members
			}
			sets[rule.Group] = name
		}
	}
	return sets, errors.Join(errs...)
}

// pruneSets destroys the sets no rule names any more, once the chains
// that matched them are rewritten; only when the sets in use changed.
func (h *Host) pruneSets(sets map[string]string) error {
	if h.cfg.VPC == nil || !h.cfg.VPC.Sets() {
		return nil
	}
	keep := map[string]bool{}
	for _, name := range sets {
		keep[name] = true
	}
	if maps.Equal(keep, h.setsKept) {
		return nil
	}
	if err := h.cfg.VPC.PruneSets(keep); err != nil {
		return err
	}
	h.setsKept = keep
	for name := range h.setSeen {
		if !keep[name] {
			delete(h.setSeen, name)
		}
	}
	return nil
}

// netView is what one reconcile reads of the VPC, every group's rules
// and members, with the address sets of source groups.
type netView struct {
	ec2.GroupView
	sets map[string]string // by group
}

// guardInterfaces enforces the groups, in and out, of the interfaces pick
// chooses, holding their addresses on the bridge with onBridge (after the
// rules, so an address is never open), and releases those held that are
// gone; held maps the interfaces guarded to their addresses.
func (h *Host) guardInterfaces(ctx context.Context, view netView, interfaces []store.Item[ec2.NetworkInterfaceRecord], held map[string]netip.Addr,
	onBridge bool, pick func(ec2.NetworkInterfaceRecord) bool) error {
	if h.cfg.VPC == nil {
		return nil
	}
	var errs []error
	live := map[string]bool{}
	for _, it := range interfaces {
		r := it.Value
		if !pick(r) {
			continue
		}
		addr, err := netip.ParseAddr(r.PrivateIP)
		if err != nil {
			continue
		}
		live[r.ID] = true
		err = errors.Join(h.ingress(r.ID, addr, r.Groups, view), h.egress(r.ID, addr, r.Groups, view))
		if err == nil && onBridge {
			err = h.cfg.VPC.AddAddress(addr)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.ID, err))
			continue
		}
		held[r.ID] = addr
	}
	for id, addr := range held {
		if live[id] {
			continue
		}
		var err error
		if onBridge {
			err = h.cfg.VPC.RemoveAddress(addr)
		}
		if err == nil {
			err = errors.Join(h.cfg.VPC.RemoveIngress(id, addr), h.cfg.VPC.RemoveEgress(id, addr))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", id, err))
			continue
		}
		delete(held, id)
		delete(h.seen, id)
		delete(h.seen, id+"/egress")
		h.cfg.Log.Debug("interface released", "interface", id)
	}
	return errors.Join(errs...)
}

// terminatedKept is how long a terminated instance stays visible.
const terminatedKept = time.Hour

func (h *Host) apply(ctx context.Context, it store.Item[ec2.InstanceRecord], view netView) error {
	r := it.Value
	switch r.State {
	case ec2.StatePending, ec2.StateRunning:
		if err := h.network(r, view); err != nil {
			return err
		}
		parent, err := h.cgroup(r)
		if err != nil {
			return err
		}
		spec, err := h.spec(ctx, r, parent)
		if err != nil {
			return err
		}
		if err := h.cfg.Agents.Start(spec); err != nil {
			return err
		}
		if r.State == ec2.StatePending {
			h.cfg.Log.Info("instance running", "instance", r.ID, "address", r.PrivateIP, "type", r.InstanceType, "zone", r.Zone)
			return h.cfg.EC2.SetInstanceState(ctx, r.ID, it.Rev, ec2.StateRunning, "")
		}
	case ec2.StateStopping:
		if err := h.cfg.Agents.Stop(ctx, r.ID); err != nil {
			return err
		}
		if err := h.cfg.Agents.RemoveContainers(ctx, r.ID); err != nil {
			return err
		}
		h.cfg.Log.Info("instance stopped", "instance", r.ID)
		return h.cfg.EC2.SetInstanceState(ctx, r.ID, it.Rev, ec2.StateStopped, "")
	case ec2.StateShuttingDown:
		if err := h.cfg.Agents.Stop(ctx, r.ID); err != nil {
			return err
		}
		if err := h.cfg.Agents.RemoveContainers(ctx, r.ID); err != nil {
			return err
		}
		if h.cfg.Terminated != nil {
			if _, err := h.cfg.Terminated(ctx, r.ID); err != nil {
				return err
			}
		}
		if err := h.release(r); err != nil {
			return err
		}
		h.cfg.Log.Info("instance terminated", "instance", r.ID)
		return h.cfg.EC2.SetInstanceState(ctx, r.ID, it.Rev, ec2.StateTerminated, "")
	case ec2.StateTerminated:
		if time.Since(r.Changed) > terminatedKept {
			return h.cfg.EC2.DeleteInstance(ctx, r.ID, it.Rev)
		}
	}
	return nil
}

// network holds the instance's address and enforces its groups' ingress.
func (h *Host) network(r ec2.InstanceRecord, view netView) error {
	if h.cfg.VPC == nil {
		return nil
	}
	addr, err := netip.ParseAddr(r.PrivateIP)
	if err != nil {
		return err
	}
	// Rules first, then the address: the address is never open.
	if err := h.ingress(r.ID, addr, r.Groups, view); err != nil {
		return err
	}
	return h.cfg.VPC.AddAddress(addr)
}

// ingress makes addr (of an instance or interface id) accept what its
// groups allow, a source group standing for its members' addresses.
func (h *Host) ingress(id string, addr netip.Addr, groups []string, view netView) error {
	return h.enforce(id, addr, view.rules(groups, false), h.cfg.VPC.SetIngress)
}

// egress makes an interface at addr open only what its groups' egress
// rules allow, a destination group standing for its members.
func (h *Host) egress(id string, addr netip.Addr, groups []string, view netView) error {
	return h.enforce(id+"/egress", addr, view.rules(groups, true), func(_ string, addr netip.Addr, rules []vpc.Rule) error {
		return h.cfg.VPC.SetEgress(id, addr, rules)
	})
}

// enforce applies rules with set unless they are what was applied last
// under key.
func (h *Host) enforce(key string, addr netip.Addr, rules []vpc.Rule, set func(string, netip.Addr, []vpc.Rule) error) error {
	b, _ := json.Marshal(rules)
	if h.seen[key] == string(b) {
		return nil
	}
	if err := set(key, addr, rules); err != nil {
		return err
	}
	h.seen[key] = string(b)
	h.cfg.Log.Debug("security group rules", "id", key, "address", addr, "rules", len(rules))
	return nil
}

// rules are the data plane's rules of groups, ingress or egress: a CIDR
// as it is, a source group as its address set, a group without a set as
// its members' addresses (a group without members allows nothing); a
// group that is gone allows nothing.
func (v netView) rules(groups []string, egress bool) []vpc.Rule {
	var out []vpc.Rule
	for _, g := range groups {
		rules := v.Rules[g].Ingress
		if egress {
			rules = v.Rules[g].Egress
		}
		for _, rule := range rules {
			r := vpc.Rule{Protocol: rule.Protocol, From: rule.From, To: rule.To}
			switch {
			case rule.CIDR != "":
				r.Sources = []netip.Prefix{netip.MustParsePrefix(rule.CIDR)}
			case !egress && v.sets[rule.Group] != "":
				r.Set = v.sets[rule.Group]
			default:
				r.Sources = v.Members[rule.Group]
			}
			if len(r.Sources) > 0 || r.Set != "" {
				out = append(out, r)
			}
		}
	}
	return out
}

func (h *Host) cgroup(r ec2.InstanceRecord) (string, error) {
	if h.cfg.CgroupRoot == "" {
		return "", nil
	}
	t, ok := instancetype.Lookup(r.InstanceType)
	if !ok {
		return "", fmt.Errorf("unknown instance type %s", r.InstanceType)
	}
	p, err := cgroup.Ensure(strings.TrimSuffix(h.cfg.CgroupRoot, "/")+"/"+r.ID, t.VCPU, t.MemoryMiB)
	return p.Path, err
}

// release gives up what the instance held on this machine.
func (h *Host) release(r ec2.InstanceRecord) error {
	var errs []error
	if h.cfg.VPC != nil {
		if addr, err := netip.ParseAddr(r.PrivateIP); err == nil {
			errs = append(errs, h.cfg.VPC.RemoveAddress(addr), h.cfg.VPC.RemoveIngress(r.ID, addr))
		}
		delete(h.seen, r.ID)
	}
	delete(h.identities, r.ID)
	if h.cfg.CgroupRoot != "" {
		errs = append(errs, cgroup.Remove(strings.TrimSuffix(h.cfg.CgroupRoot, "/")+"/"+r.ID))
	}
	return errors.Join(errs...)
}

func (h *Host) spec(ctx context.Context, r ec2.InstanceRecord, parent string) (AgentSpec, error) {
	id, ok := h.identities[r.ID]
	if !ok {
		doc, sig, err := h.cfg.EC2.InstanceIdentity(ctx, r)
		if err != nil {
			return AgentSpec{}, err
		}
		id = [2]string{doc, sig}
		h.identities[r.ID] = id
	}
	doc, sig := id[0], id[1]
	settings := ec2.ECSConfig(r.UserData)
	s := AgentSpec{InstanceID: r.ID, Cluster: settings["ECS_CLUSTER"], InstanceType: r.InstanceType, Zone: r.Zone, ImageID: r.ImageID,
		SubnetID: r.SubnetID, VpcID: r.VpcID, CgroupParent: parent, Settings: settings, IdentityDocument: doc, IdentitySignature: sig}
	if h.cfg.VPC != nil {
		s.PrivateIP, s.TaskENI = r.PrivateIP, true
	}
	if r.Profile != nil {
		s.Profile = r.Profile.Name
	}
	return s, nil
}
