package vpc

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
	"github.com/vishvananda/netlink"
)

// newTestHost builds a data plane on a bridge and chains of the test's
// own (TEST-NET addresses are not used: instance addresses come from a
// private /24 the test puts on its bridge), removed at the end.
func newTestHost(t *testing.T) *Host {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for bridges and iptables")
	}
	h, err := NewHost("berth-vtest0", WithChainPrefix("BTEST"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return h
}

// serve runs the test image publishing port 8080 of a container on
// addr:hostPort, as an instance's agent does, and waits until it answers.
func serve(t *testing.T, image string, addr netip.Addr, hostPort int) {
	t.Helper()
	name := fmt.Sprintf("berth-vtest-%s-%d", strings.ReplaceAll(addr.String(), ".", "-"), hostPort)
	exec.Command("docker", "rm", "-f", name).Run()
	out, err := exec.Command("docker", "run", "-d", "--name", name, "-p", fmt.Sprintf("%s:%d:8080", addr, hostPort), image).CombinedOutput()
	if err != nil {
		t.Fatalf("docker run: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if reachable(addr, hostPort) {
			return
		}
	}
	t.Fatalf("%s:%d never answered", addr, hostPort)
}

// reachable reports whether an HTTP GET from the host to addr:port
// answers within a second.
func reachable(addr netip.Addr, port int) bool {
	// A new connection each time: rules judge new connections only.
	c := http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(fmt.Sprintf("http://%s:%d/", addr, port))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// reachableFromContainer is reachable, from a container on Docker's
// default bridge: the path another instance's task takes.
func reachableFromContainer(t *testing.T, image string, addr netip.Addr, port int) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := exec.CommandContext(ctx, "docker", "run", "--rm", image, "healthcheck", fmt.Sprintf("http://%s:%d/", addr, port)).Run()
	return err == nil
}

// TestInstanceAddressesAndIngress: two instances of one host publish the
// same host port, each on its own address; an instance's ingress rules
// decide who reaches it, from the host and from containers, and a change
// applies to the next connection.
func TestInstanceAddressesAndIngress(t *testing.T) {
	image := testutil.BuildTestImage(t, "")
	h := newTestHost(t)
	a := netip.MustParseAddr("10.213.7.10")
	b := netip.MustParseAddr("10.213.7.11")
	for _, p := range []netip.Addr{a, b, a} {
		if err := h.AddAddress(p); err != nil {
			t.Fatal(err)
		}
	}
	serve(t, image, a, 8080)
	serve(t, image, b, 8080)

	anywhere := []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}
	for _, step := range []struct {
		name  string
		rules []Rule
		want  bool
	}{
		{"no rules: closed", nil, false},
		{"the port allowed", []Rule{{Protocol: "tcp", From: 8080, To: 8080, Sources: anywhere}}, true},
		{"another port allowed", []Rule{{Protocol: "tcp", From: 9000, To: 9100, Sources: anywhere}}, false},
		{"the ECS dynamic range", []Rule{{Protocol: "tcp", From: 32768, To: 65535, Sources: anywhere}, {Protocol: "tcp", From: 8000, To: 8090, Sources: anywhere}}, true},
		{"udp only", []Rule{{Protocol: "udp", From: 8080, To: 8080, Sources: anywhere}}, false},
		{"all traffic from elsewhere", []Rule{{Protocol: "-1", Sources: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}}, false},
		{"all traffic", []Rule{{Protocol: "-1", Sources: anywhere}}, true},
	} {
		if err := h.SetIngress("i-0a", a, step.rules); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got := reachable(a, 8080); got != step.want {
			t.Fatalf("%s: from the host, reachable = %v, want %v", step.name, got, step.want)
		}
		if !reachable(b, 8080) {
			t.Fatalf("%s: the other instance, with no rules of its own here, became unreachable", step.name)
		}
	}
	// From a container, as another instance's task connects.
	if err := h.SetIngress("i-0a", a, nil); err != nil {
		t.Fatal(err)
	}
	if reachableFromContainer(t, image, a, 8080) {
		t.Fatal("a container reached a closed instance")
	}
	if err := h.SetIngress("i-0a", a, []Rule{{Protocol: "tcp", From: 8080, To: 8080, Sources: anywhere}}); err != nil {
		t.Fatal(err)
	}
	if !reachableFromContainer(t, image, a, 8080) {
		t.Fatal("a container could not reach an instance whose rule allows it")
	}
	if err := h.RemoveIngress("i-0a", a); err != nil {
		t.Fatal(err)
	}
	if err := h.RemoveAddress(a); err != nil {
		t.Fatal(err)
	}
	if err := h.RemoveAddress(a); err != nil {
		t.Fatalf("removing an absent address: %v", err)
	}
	addrs, err := h.Addresses()
	if err != nil || len(addrs) != 1 || addrs[0] != b {
		t.Fatalf("addresses = %v %v", addrs, err)
	}
	chains, _ := h.ipt.ListChains("filter")
	for _, c := range chains {
		if strings.HasPrefix(c, "BTEST-I-") {
			t.Fatalf("chain %s left after RemoveIngress", c)
		}
	}
}

// TestGroupSets: a rule whose source is a group's address set lets in
// exactly the set's members; members change without the chain changing;
// a set no chain matches is pruned, one still matched is kept.
func TestGroupSets(t *testing.T) {
	image := testutil.BuildTestImage(t, "")
	h := newTestHost(t)
	if !h.Sets() {
		t.Skip("the kernel has no address sets (ipset)")
	}
	a := netip.MustParseAddr("10.213.8.10")
	if err := h.AddAddress(a); err != nil {
		t.Fatal(err)
	}
	serve(t, image, a, 8080)
	set := h.GroupSet("sg-0123456789abcdef0")
	if len(set) > 31 || set == h.GroupSet("sg-0123456789abcdef1") {
		t.Fatalf("set name %q", set)
	}
	if err := h.SyncSet(set, nil); err != nil {
		t.Fatal(err)
	}
	if err := h.SetIngress("i-0s", a, []Rule{{Protocol: "tcp", From: 8080, To: 8080, Set: set}}); err != nil {
		t.Fatal(err)
	}
	chain := func() string {
		rules, err := h.ipt.List("filter", h.instanceChain("i-0s"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(rules, "\n")
	}
	before := chain()
	// The host connects to a local address from that address.
	for _, step := range []struct {
		name    string
		members []netip.Prefix
		want    bool
	}{
		{"no members", nil, false},
		{"the caller a member", []netip.Prefix{netip.PrefixFrom(a, 32)}, true},
		{"another member only", []netip.Prefix{netip.MustParsePrefix("10.213.8.99/32")}, false},
		{"a network holding the caller", []netip.Prefix{netip.MustParsePrefix("10.213.8.0/24"), netip.MustParsePrefix("10.213.9.7/32")}, true},
		{"empty again", []netip.Prefix{}, false},
	} {
		if err := h.SyncSet(set, step.members); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got := reachable(a, 8080); got != step.want {
			t.Fatalf("%s: reachable = %v, want %v", step.name, got, step.want)
		}
		if chain() != before {
			t.Fatalf("%s: the chain changed:\n%s\nwas\n%s", step.name, chain(), before)
		}
	}
	if err := h.SyncSet("OTHER-G-0123", nil); err == nil {
		t.Fatal("SyncSet took a set of another prefix")
	}
	// Pruning keeps a set in use even when not asked to.
	if err := h.PruneSets(nil); err != nil {
		t.Fatal(err)
	}
	if err := h.SyncSet(set, []netip.Prefix{netip.PrefixFrom(a, 32)}); err != nil || !reachable(a, 8080) {
		t.Fatalf("the set in use was pruned: %v", err)
	}
	if err := h.RemoveIngress("i-0s", a); err != nil {
		t.Fatal(err)
	}
	if err := h.PruneSets(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.IpsetList(set); err == nil {
		t.Fatalf("set %s left after pruning", set)
	}
}
