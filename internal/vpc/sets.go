package vpc

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
)

// A security group that a rule names as its source stands for its
// members' addresses. Written out address by address, every member that
// joins or leaves a group would rewrite the chain of every address whose
// groups name it: a group that names itself (every VPC's default group
// does) costs O(n²) iptables writes to fill with n tasks. Instead each
// such group is a kernel address set (ipset hash:net) of its members,
// which the chains match with -m set: a member joining is one element
// added, and no chain changes.

// GroupSet names the address set of a group: the host's prefix and a
// hash of the group, within ipset's 31 characters.
func (h *Host) GroupSet(group string) string {
	sum := sha256.Sum256([]byte(h.chain + "/set/" + group))
	return h.setPrefix() + hex.EncodeToString(sum[:])[:12]
}

func (h *Host) setPrefix() string { return h.prefix() + "-G-" }

// Sets reports whether the kernel has address sets (ipset); without
// them, groups are written out as their members' addresses.
func (h *Host) Sets() bool {
	h.setsOnce.Do(func() {
		_, _, err := netlink.IpsetProtocol()
		h.sets = err == nil
	})
	return h.sets
}

// SyncSet makes the address set name hold exactly members, creating it
// when missing. Elements are added before others are removed, one at a
// time: a connection is judged by the set as it is at that moment.
func (h *Host) SyncSet(name string, members []netip.Prefix) error {
	if !strings.HasPrefix(name, h.setPrefix()) {
		return fmt.Errorf("address set %q is not this host's", name)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	err := netlink.IpsetCreate(name, "hash:net", netlink.IpsetCreateOptions{})
	if err != nil && !errors.Is(err, syscall.EEXIST) {
		return fmt.Errorf("ipset create %s: %w", name, err)
	}
	have, err := netlink.IpsetList(name)
	if err != nil {
		return fmt.Errorf("ipset list %s: %w", name, err)
	}
	current := map[netip.Prefix]bool{}
	for _, e := range have.Entries {
		if a, ok := netip.AddrFromSlice(e.IP); ok {
			current[netip.PrefixFrom(a.Unmap(), int(e.CIDR))] = true
		}
	}
	want := map[netip.Prefix]bool{}
	for _, p := range members {
		p = p.Masked()
		want[p] = true
		if current[p] {
			continue
		}
		if err := netlink.IpsetAdd(name, setEntry(p)); err != nil && !isSetError(err, nl.IPSET_ERR_EXIST) {
			return fmt.Errorf("ipset add %s %s: %w", name, p, err)
		}
	}
	for p := range current {
		if want[p] {
			continue
		}
		if err := netlink.IpsetDel(name, setEntry(p)); err != nil && !isSetError(err, nl.IPSET_ERR_EXIST) {
			return fmt.Errorf("ipset del %s %s: %w", name, p, err)
		}
	}
	return nil
}

// isSetError reports whether err is ipset's error code (an element that
// is there, or not there, is IPSET_ERR_EXIST either way).
func isSetError(err error, code int) bool {
	var e nl.IPSetError
	return errors.As(err, &e) && int(e) == code
}

func setEntry(p netip.Prefix) *netlink.IPSetEntry {
	return &netlink.IPSetEntry{IP: net.IP(p.Addr().AsSlice()), CIDR: uint8(p.Bits())}
}

// PruneSets destroys this host's address sets other than keep. A set
// some chain still matches cannot be destroyed; it is left for the next
// prune.
func (h *Host) PruneSets(keep map[string]bool) error {
	if !h.Sets() {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.destroySets(keep)
}

func (h *Host) destroySets(keep map[string]bool) error {
	all, err := netlink.IpsetListAll()
	if err != nil {
		return fmt.Errorf("ipset list: %w", err)
	}
	var errs []error
	for _, s := range all {
		if !strings.HasPrefix(s.SetName, h.setPrefix()) || keep[s.SetName] {
			continue
		}
		if err := netlink.IpsetDestroy(s.SetName); err != nil && !isSetError(err, nl.IPSET_ERR_BUSY) && !errors.Is(err, syscall.EBUSY) {
			errs = append(errs, fmt.Errorf("ipset destroy %s: %w", s.SetName, err))
		}
	}
	return errors.Join(errs...)
}
