// Package vpc is the data plane of Berth's VPCs on one host: the private
// addresses of the instances it runs, held on a bridge Berth creates, and
// their security groups' ingress rules, enforced in iptables.
//
// An instance's address is where its published host ports listen (Docker
// binds them to it), so instances of one host each have their own port
// space, as EC2 instances do. Every new connection whose original
// destination (before Docker's DNAT) is an instance address passes the
// instance's chain: a rule of one of its groups that allows the protocol,
// port and source returns it to the normal path; anything else is
// dropped. The chains hook INPUT, FORWARD and OUTPUT, so a connection from
// the host, from a container or from another instance is judged alike.
package vpc

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/coreos/go-iptables/iptables"
	"github.com/vishvananda/netlink"
)

// DefaultBridge is the bridge instance addresses live on.
const DefaultBridge = "berth-vpc0"

// ingressChain is the chain every new connection to an instance address
// passes; it jumps to the instance's own chain.
const ingressChain = "BERTH-INGRESS"

// Host is the VPC data plane of this machine.
type Host struct {
	bridge string
	chain  string // the dispatch chain; ingressChain unless a test names another
	ipt    *iptables.IPTables
	mu     sync.Mutex

	setsOnce sync.Once
	sets     bool // the kernel has address sets
}

// Option changes how a Host is set up.
type Option func(*Host)

// WithChainPrefix names the host's chains with prefix instead of "BERTH",
// so that tests can run their own beside a running Berth.
func WithChainPrefix(prefix string) Option {
	return func(h *Host) { h.chain = prefix + "-INGRESS" }
}

// NewHost returns the data plane on bridge, creating the bridge and the
// dispatch chain when missing. It needs root (CAP_NET_ADMIN).
func NewHost(bridge string, opts ...Option) (*Host, error) {
	ipt, err := iptables.New()
	if err != nil {
		return nil, fmt.Errorf("iptables: %w", err)
	}
	h := &Host{bridge: bridge, chain: ingressChain, ipt: ipt}
	for _, o := range opts {
		o(h)
	}
	if len(bridge) == 0 || len(bridge) > 15 {
		return nil, fmt.Errorf("bridge name %q: 1 to 15 characters", bridge)
	}
	if prefix := len(h.chain) - len("-INGRESS"); prefix < 1 || prefix > 13 {
		return nil, fmt.Errorf("chain prefix of %q: 1 to 13 characters", h.chain)
	}
	if err := h.ensureBridge(); err != nil {
		return nil, err
	}
	if err := h.ensureDispatch(); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *Host) ensureBridge() error {
	link, err := netlink.LinkByName(h.bridge)
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: h.bridge}}
		if err := netlink.LinkAdd(br); err != nil && !errors.Is(err, syscall.EEXIST) {
			return fmt.Errorf("create bridge %s: %w", h.bridge, err)
		}
		link, err = netlink.LinkByName(h.bridge)
	}
	if err != nil {
		return fmt.Errorf("bridge %s: %w", h.bridge, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("bring %s up: %w", h.bridge, err)
	}
	return nil
}

// hooks are where the dispatch chain is jumped to from: connections to
// the host's own addresses (docker-proxy), forwarded to containers, and
// made by the host itself.
var hooks = []string{"INPUT", "FORWARD", "OUTPUT"}

func (h *Host) dispatchRule() []string {
	return []string{"-m", "conntrack", "--ctstate", "NEW", "-j", h.chain}
}

func (h *Host) ensureDispatch() error {
	if err := h.ensureChain(h.chain); err != nil {
		return err
	}
	for _, hook := range hooks {
		exists, err := h.ipt.Exists("filter", hook, h.dispatchRule()...)
		if err != nil {
			return fmt.Errorf("iptables: %w", err)
		}
		if !exists {
			if err := h.ipt.Insert("filter", hook, 1, h.dispatchRule()...); err != nil {
				return fmt.Errorf("iptables -I %s: %w", hook, err)
			}
		}
	}
	return h.ensureTaskForwarding()
}

// taskForwardRules accept what awsvpc tasks' interfaces send and receive
// once the dispatch has judged a new connection (Docker's FORWARD policy
// drops anything else): they come right after the dispatch rule.
func (h *Host) taskForwardRules() [][]string {
	links := TaskLinkPrefix + "+"
	tag := []string{"-m", "comment", "--comment", h.chain + " tasks"}
	return [][]string{append([]string{"-i", links}, append(tag, "-j", "ACCEPT")...), append([]string{"-o", links}, append(tag, "-j", "ACCEPT")...)}
}

func (h *Host) ensureTaskForwarding() error {
	for _, rule := range h.taskForwardRules() {
		exists, err := h.ipt.Exists("filter", "FORWARD", rule...)
		if err != nil {
			return fmt.Errorf("iptables: %w", err)
		}
		if exists {
			continue
		}
		rules, err := h.ipt.List("filter", "FORWARD") // rules[0] is the policy, rules[n] rule n
		if err != nil {
			return fmt.Errorf("iptables: %w", err)
		}
		pos := 0
		for i, r := range rules {
			if strings.Contains(r, "-j "+h.chain) && !strings.Contains(r, "--comment") {
				pos = i
				break
			}
		}
		if pos == 0 {
			return fmt.Errorf("the dispatch rule of %s is not in FORWARD", h.chain)
		}
		if err := h.ipt.Insert("filter", "FORWARD", pos+1, rule...); err != nil {
			return fmt.Errorf("iptables -I FORWARD: %w", err)
		}
	}
	return nil
}

func (h *Host) ensureChain(name string) error {
	ok, err := h.ipt.ChainExists("filter", name)
	if err != nil {
		return fmt.Errorf("iptables: %w", err)
	}
	if !ok {
		if err := h.ipt.NewChain("filter", name); err != nil {
			return fmt.Errorf("iptables -N %s: %w", name, err)
		}
	}
	return nil
}

// AddAddress puts an instance's address on the bridge; adding it twice
// is no error. It is added as a /32, so that no address is secondary to
// another of its subnet (removing a primary address takes its
// secondaries with it).
func (h *Host) AddAddress(addr netip.Addr) error {
	link, err := netlink.LinkByName(h.bridge)
	if err != nil {
		return err
	}
	a := &netlink.Addr{IPNet: ipNet(addr)}
	if err := netlink.AddrAdd(link, a); err != nil && !errors.Is(err, syscall.EEXIST) {
		return fmt.Errorf("add %s to %s: %w", addr, h.bridge, err)
	}
	return nil
}

// RemoveAddress takes addr off the bridge; removing an absent one is no
// error.
func (h *Host) RemoveAddress(addr netip.Addr) error {
	link, err := netlink.LinkByName(h.bridge)
	if err != nil {
		return err
	}
	if err := netlink.AddrDel(link, &netlink.Addr{IPNet: ipNet(addr)}); err != nil && !errors.Is(err, syscall.EADDRNOTAVAIL) {
		return fmt.Errorf("remove %s from %s: %w", addr, h.bridge, err)
	}
	return nil
}

// Addresses lists the addresses on the bridge.
func (h *Host) Addresses() ([]netip.Addr, error) {
	link, err := netlink.LinkByName(h.bridge)
	if err != nil {
		return nil, err
	}
	addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		ip, _ := netip.AddrFromSlice(a.IP.To4())
		out = append(out, ip)
	}
	return out, nil
}

func ipNet(a netip.Addr) *net.IPNet {
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(32, 32)}
}

// Rule is inbound traffic an instance's groups allow: Protocol ("tcp",
// "udp", "icmp", "-1" for all, or a protocol number) on ports From..To
// (ignored for "-1" and protocol numbers; for icmp, From is the type), from
// Sources, or from the members of the address set Set (see SyncSet).
type Rule struct {
	Protocol string
	From, To int
	Sources  []netip.Prefix
	Set      string `json:",omitempty"`
}

// instanceChain names an instance's chain: short and stable, within
// iptables' 28 characters.
func (h *Host) instanceChain(instanceID string) string {
	sum := sha256.Sum256([]byte(h.chain + "/" + instanceID))
	return h.chain[:len(h.chain)-len("-INGRESS")] + "-I-" + hex.EncodeToString(sum[:])[:12]
}

// SetIngress makes addr (an instance's or a task interface's address)
// accept only the new connections rules allow, replacing what was allowed
// before. Connections already established stay.
func (h *Host) SetIngress(id string, addr netip.Addr, rules []Rule) error {
	match := []string{"-m", "conntrack", "--ctorigdst", addr.String() + "/32"}
	return h.setChain(h.chain, h.instanceChain(id), match, rules, "-s")
}

// SetEgress makes the task interface at addr open only the new
// connections rules allow (a rule's Sources are then destinations),
// besides the task endpoint, which every task reaches. A task interface's
// traffic is its own: its address is its source, as no instance's
// containers' is (their connections leave from Docker's bridge).
func (h *Host) SetEgress(id string, addr netip.Addr, rules []Rule) error {
	if err := h.ensureEgressDispatch(); err != nil {
		return err
	}
	match := []string{"-s", addr.String() + "/32"}
	always := [][]string{{"-m", "conntrack", "--ctorigdst", TaskEndpoint + "/32", "-j", "RETURN"}}
	return h.setChain(h.egressChain(), h.egressChainOf(id), match, rules, "--ctorigdst", always...)
}

// RemoveEgress drops a task interface's egress rules.
func (h *Host) RemoveEgress(id string, addr netip.Addr) error {
	return h.removeChain(h.egressChain(), h.egressChainOf(id), []string{"-s", addr.String() + "/32"})
}

// TaskEndpoint is the task endpoint's link-local address, which egress
// rules never close.
const TaskEndpoint = "169.254.170.2"

// setChain fills a fresh chain with rules (each source, or destination
// with peer "--ctorigdst", returning to the normal path), first the
// always-allowed lines, then DROP; points dispatch's match at it, and
// drops the old one: at no moment is the address open or the rules half
// written.
func (h *Host) setChain(dispatch, chain string, match []string, rules []Rule, peer string, always ...[]string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	body := append([][]string{}, always...)
	for _, r := range rules {
		spec, err := ruleSpec(r)
		if err != nil {
			return err
		}
		for _, p := range r.Sources {
			m := []string{"-s", p.String()}
			if peer == "--ctorigdst" {
				m = []string{"-m", "conntrack", "--ctorigdst", p.String()}
			}
			body = append(body, append(m, append(spec, "-j", "RETURN")...))
		}
		if r.Set != "" {
			// A set matches the packet's addresses: sources are never
			// rewritten before the filter table, destinations may be
			// (Docker's DNAT), so egress rules list their addresses.
			if peer == "--ctorigdst" {
				return fmt.Errorf("an address set (%s) cannot match original destinations", r.Set)
			}
			body = append(body, append([]string{"-m", "set", "--match-set", r.Set, "src"}, append(spec, "-j", "RETURN")...))
		}
	}
	body = append(body, []string{"-j", "DROP"})
	next := chain + "n"
	if ok, _ := h.ipt.ChainExists("filter", next); ok {
		h.ipt.ClearAndDeleteChain("filter", next)
	}
	if err := h.ensureChain(next); err != nil {
		return err
	}
	for _, spec := range body {
		if err := h.ipt.Append("filter", next, spec...); err != nil {
			return fmt.Errorf("iptables -A %s %v: %w", next, spec, err)
		}
	}
	if err := h.ipt.Insert("filter", dispatch, 1, append(slices.Clone(match), "-j", next)...); err != nil {
		return err
	}
	h.ipt.DeleteIfExists("filter", dispatch, append(slices.Clone(match), "-j", chain)...)
	if ok, _ := h.ipt.ChainExists("filter", chain); ok {
		h.ipt.ClearAndDeleteChain("filter", chain)
	}
	// Rename the new chain to the stable name for the next change.
	if err := h.ipt.RenameChain("filter", next, chain); err != nil {
		return fmt.Errorf("iptables -E %s %s: %w", next, chain, err)
	}
	return nil
}

// RemoveIngress drops an instance's rules (its address is then open, so
// remove the address first).
func (h *Host) RemoveIngress(id string, addr netip.Addr) error {
	return h.removeChain(h.chain, h.instanceChain(id), []string{"-m", "conntrack", "--ctorigdst", addr.String() + "/32"})
}

func (h *Host) removeChain(dispatch, chain string, match []string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range []string{chain, chain + "n"} {
		if ok, _ := h.ipt.ChainExists("filter", c); !ok {
			continue
		}
		if err := h.ipt.DeleteIfExists("filter", dispatch, append(slices.Clone(match), "-j", c)...); err != nil {
			return err
		}
		if err := h.ipt.ClearAndDeleteChain("filter", c); err != nil {
			return err
		}
	}
	return nil
}

// egressChain is the chain every new connection passes to find its
// task interface's egress chain.
func (h *Host) egressChain() string { return h.prefix() + "-EGRESS" }

// egressChainOf names a task interface's egress chain.
func (h *Host) egressChainOf(id string) string {
	sum := sha256.Sum256([]byte(h.chain + "/egress/" + id))
	return h.prefix() + "-E-" + hex.EncodeToString(sum[:])[:12]
}

func (h *Host) prefix() string { return h.chain[:len(h.chain)-len("-INGRESS")] }

// egressHooks are where new connections from task interfaces pass:
// forwarded (to other tasks, instances, containers) and to the host.
var egressHooks = []string{"INPUT", "FORWARD"}

func (h *Host) egressDispatchRule() []string {
	return []string{"-m", "conntrack", "--ctstate", "NEW", "-j", h.egressChain()}
}

// ensureEgressDispatch creates the egress dispatch chain and its hooks,
// right after the ingress dispatch.
func (h *Host) ensureEgressDispatch() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.ensureChain(h.egressChain()); err != nil {
		return err
	}
	for _, hook := range egressHooks {
		exists, err := h.ipt.Exists("filter", hook, h.egressDispatchRule()...)
		if err != nil {
			return fmt.Errorf("iptables: %w", err)
		}
		if !exists {
			if err := h.ipt.Insert("filter", hook, 1, h.egressDispatchRule()...); err != nil {
				return fmt.Errorf("iptables -I %s: %w", hook, err)
			}
		}
	}
	return nil
}

// ruleSpec is the iptables match of a rule's protocol and ports, on the
// connection's original destination port (before Docker's DNAT).
func ruleSpec(r Rule) ([]string, error) {
	switch r.Protocol {
	case "-1", "":
		return nil, nil
	case "tcp", "udp":
		ports := strconv.Itoa(r.From)
		if r.To != r.From {
			ports += ":" + strconv.Itoa(r.To)
		}
		return []string{"-p", r.Protocol, "-m", "conntrack", "--ctorigdstport", ports}, nil
	case "icmp":
		if r.From < 0 {
			return []string{"-p", "icmp"}, nil
		}
		t := strconv.Itoa(r.From)
		if r.To >= 0 {
			t += "/" + strconv.Itoa(r.To)
		}
		return []string{"-p", "icmp", "--icmp-type", t}, nil
	}
	if n, err := strconv.Atoi(r.Protocol); err == nil && n >= 0 && n <= 255 {
		return []string{"-p", r.Protocol}, nil
	}
	return nil, fmt.Errorf("unknown protocol %q", r.Protocol)
}

// Close removes the dispatch chain's hooks and every instance chain, and
// the bridge: for tests and for a host that stops running instances.
func (h *Host) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	for _, hook := range hooks {
		errs = append(errs, h.ipt.DeleteIfExists("filter", hook, h.dispatchRule()...))
	}
	for _, rule := range h.taskForwardRules() {
		errs = append(errs, h.ipt.DeleteIfExists("filter", "FORWARD", rule...))
	}
	// The egress dispatch exists once a task interface had rules; a rule
	// naming a missing chain cannot even be looked for.
	if ok, _ := h.ipt.ChainExists("filter", h.egressChain()); ok {
		for _, hook := range egressHooks {
			errs = append(errs, h.ipt.DeleteIfExists("filter", hook, h.egressDispatchRule()...))
		}
		errs = append(errs, h.ipt.ClearAndDeleteChain("filter", h.egressChain()))
	}
	chains, err := h.ipt.ListChains("filter")
	errs = append(errs, err)
	prefix := h.chain[:len(h.chain)-len("-INGRESS")] + "-I-"
	if ok, _ := h.ipt.ChainExists("filter", h.chain); ok {
		errs = append(errs, h.ipt.ClearAndDeleteChain("filter", h.chain))
	}
	for _, c := range chains {
		if strings.HasPrefix(c, prefix) || strings.HasPrefix(c, h.prefix()+"-E-") {
			errs = append(errs, h.ipt.ClearAndDeleteChain("filter", c))
		}
	}
	if h.Sets() {
		// After the chains that match them.
		errs = append(errs, h.destroySets(nil))
	}
	if link, err := netlink.LinkByName(h.bridge); err == nil {
		errs = append(errs, netlink.LinkDel(link))
	}
	return errors.Join(errs...)
}
