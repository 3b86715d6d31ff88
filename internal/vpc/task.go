package vpc

// A task in awsvpc network mode has a network namespace of its own (its
// pause container's) holding one interface, eth0, with the address of its
// ENI. On this host the ENI is a veth pair: eth0 in the task's namespace,
// and its peer on the host, routed.
//
//	task namespace                    host
//	eth0 10.0.1.23/20  <─── veth ───>  be<hash>  (no address, proxy ARP)
//	default via 10.0.1.1 (on-link)     10.0.1.23/32 dev be<hash>
//
// The task sends everything to its subnet's gateway (and, for addresses of
// its own subnet, straight to them); the host end answers every ARP request
// with its own MAC (proxy ARP), so all of the task's traffic reaches the
// host, which routes it by the /32 routes of the task ends: task to task,
// task to instance, host to task. No bridge joins tasks, so nothing passes
// between them that the host's routing (and its firewall: the FORWARD
// chain, for traffic between tasks) does not see.

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// TaskInterface is a task's ENI as its host wires it.
type TaskInterface struct {
	// ID is the ENI's id (eni-...); it names the host end.
	ID string
	// MAC is the ENI's MAC address, given to the task's eth0.
	MAC string
	// Addr is the ENI's private address with its subnet's prefix length.
	Addr netip.Prefix
	// Gateway is the subnet's gateway, the task's default route.
	Gateway netip.Addr
}

// taskIfName is the interface's name inside the task's namespace.
const taskIfName = "eth0"

// TaskLinkName is the host end of an ENI's veth pair: TaskLinkPrefix and 11 hex
// digits of a hash of the ENI id, stable and within Linux's 15
// characters. Firewall rules match task traffic with it (-i/-o).
func TaskLinkName(eniID string) string {
	sum := sha256.Sum256([]byte(eniID))
	return TaskLinkPrefix + hex.EncodeToString(sum[:])[:11]
}

// TaskLinkPrefix begins the name of every task interface's host end, for
// rules that match them all ("beni+"); no bridge of Berth's or Docker's
// begins so.
const TaskLinkPrefix = "beni"

// AttachTask gives the network namespace of process pid (a task's pause
// container) the interface ti, and routes ti's address to it from the
// host. Attaching a task already attached changes nothing, so a restarted
// agent may call it again. It needs root (CAP_NET_ADMIN).
func AttachTask(pid int, ti TaskInterface) error {
	mac, err := net.ParseMAC(ti.MAC)
	if err != nil {
		return fmt.Errorf("interface %s: MAC address %q: %w", ti.ID, ti.MAC, err)
	}
	if !ti.Addr.IsValid() || !ti.Addr.Addr().Is4() || !ti.Gateway.Is4() {
		return fmt.Errorf("interface %s: address %s and gateway %s must be IPv4", ti.ID, ti.Addr, ti.Gateway)
	}
	if ti.Addr.Bits() == 32 || !ti.Addr.Contains(ti.Gateway) {
		// A /32 cannot reach its gateway on-link without a host route;
		// the payload always carries the subnet's prefix.
		return fmt.Errorf("interface %s: gateway %s is not in %s", ti.ID, ti.Gateway, ti.Addr)
	}
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return fmt.Errorf("network namespace of process %d: %w", pid, err)
	}
	defer ns.Close()
	in, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netlink in the namespace of process %d: %w", pid, err)
	}
	defer in.Close()

	host := TaskLinkName(ti.ID)
	if err := ensureVeth(in, pid, host, mac); err != nil {
		return fmt.Errorf("interface %s: %w", ti.ID, err)
	}
	hostLink, err := netlink.LinkByName(host)
	if err != nil {
		return fmt.Errorf("interface %s on the host: %w", ti.ID, err)
	}
	if err := configureTaskEnd(in, ti, mac, hostLink.Attrs().HardwareAddr); err != nil {
		return fmt.Errorf("interface %s in the task: %w", ti.ID, err)
	}
	if err := configureHostEnd(host, ti.Addr.Addr()); err != nil {
		return fmt.Errorf("interface %s on the host: %w", ti.ID, err)
	}
	return nil
}

// ensureVeth makes sure the host end host exists with its peer as eth0 in
// the namespace in. The pair is created with its peer already in the
// namespace (IFLA_NET_NS_PID), so no half-moved pair is ever left behind.
// A host end whose peer is elsewhere (its old task's namespace outlived a
// failed start) is replaced.
func ensureVeth(in *netlink.Handle, pid int, host string, mac net.HardwareAddr) error {
	hostLink, err := netlink.LinkByName(host)
	if err != nil && !isNotFound(err) {
		return err
	}
	peer, perr := in.LinkByName(taskIfName)
	if perr != nil && !isNotFound(perr) {
		return perr
	}
	switch {
	case hostLink != nil && peer != nil:
		if peer.Type() != "veth" {
			return fmt.Errorf("the task's %s is a %s, not a veth", taskIfName, peer.Type())
		}
		return nil // attached before
	case peer != nil:
		return fmt.Errorf("the task's namespace already has an %s (%s) and the host no %s", taskIfName, peer.Type(), host)
	case hostLink != nil:
		if err := netlink.LinkDel(hostLink); err != nil && !isNotFound(err) {
			return fmt.Errorf("remove stale %s: %w", host, err)
		}
	}
	veth := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: host},
		PeerName:         taskIfName,
		PeerHardwareAddr: mac,
		PeerNamespace:    netlink.NsPid(pid),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth %s: %w", host, err)
	}
	return nil
}

// configureTaskEnd sets eth0's MAC, address and default route and brings
// it and lo up; each step is a no-op when already done. The gateway's
// neighbour entry is the host end's MAC, fixed: proxy ARP answers for an
// address only when the host has a route to it through another
// interface, and the gateway is an address the host need not route
// anywhere (a machine without a default route has none for it).
func configureTaskEnd(in *netlink.Handle, ti TaskInterface, mac, gatewayMAC net.HardwareAddr) error {
	link, err := in.LinkByName(taskIfName)
	if err != nil {
		return err
	}
	if link.Attrs().HardwareAddr.String() != mac.String() {
		if err := in.LinkSetHardwareAddr(link, mac); err != nil {
			return fmt.Errorf("set MAC: %w", err)
		}
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: ti.Addr.Addr().AsSlice(), Mask: net.CIDRMask(ti.Addr.Bits(), 32)}}
	if err := in.AddrReplace(link, addr); err != nil {
		return fmt.Errorf("add %s: %w", ti.Addr, err)
	}
	if err := in.LinkSetUp(link); err != nil {
		return fmt.Errorf("bring %s up: %w", taskIfName, err)
	}
	lo, err := in.LinkByName("lo")
	if err != nil {
		return err
	}
	if err := in.LinkSetUp(lo); err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	gw := &netlink.Neigh{LinkIndex: link.Attrs().Index, Family: netlink.FAMILY_V4, State: netlink.NUD_PERMANENT,
		IP: ti.Gateway.AsSlice(), HardwareAddr: gatewayMAC}
	if err := in.NeighSet(gw); err != nil {
		return fmt.Errorf("neighbour %s: %w", ti.Gateway, err)
	}
	def := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: ti.Gateway.AsSlice(), Flags: int(netlink.FLAG_ONLINK)}
	if err := in.RouteReplace(def); err != nil {
		return fmt.Errorf("default route via %s: %w", ti.Gateway, err)
	}
	return nil
}

// configureHostEnd brings the host end up, makes it answer ARP for every
// address (the task's gateway above all) at once, and routes the task's
// address to it.
func configureHostEnd(host string, addr netip.Addr) error {
	link, err := netlink.LinkByName(host)
	if err != nil {
		return err
	}
	for _, s := range []struct{ path, value string }{
		{filepath.Join("/proc/sys/net/ipv4/conf", host, "proxy_arp"), "1"},
		// Proxy ARP answers are otherwise held back up to 0.8 s.
		{filepath.Join("/proc/sys/net/ipv4/neigh", host, "proxy_delay"), "0"},
	} {
		if err := os.WriteFile(s.path, []byte(s.value), 0o644); err != nil {
			return err
		}
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("bring %s up: %w", host, err)
	}
	route := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: ipNet(addr), Scope: netlink.SCOPE_LINK}
	if err := netlink.RouteReplace(route); err != nil {
		return fmt.Errorf("route %s to %s: %w", addr, host, err)
	}
	return nil
}

// DetachTask removes the host end of ENI id, which takes its peer in the
// task's namespace and the route to the task's address with it. An ENI
// not attached here is no error.
func DetachTask(id string) error {
	host := TaskLinkName(id)
	link, err := netlink.LinkByName(host)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := netlink.LinkDel(link); err != nil && !isNotFound(err) {
		return fmt.Errorf("remove %s (interface %s): %w", host, id, err)
	}
	return nil
}

func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, syscall.ENODEV)
}
