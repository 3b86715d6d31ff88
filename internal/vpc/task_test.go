package vpc

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-iptables/iptables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/testutil"
)

// namespace starts the test image with no network of its own (as a
// task's pause container is) and returns its process id.
func namespace(t *testing.T, image, name string) int {
	t.Helper()
	exec.Command("docker", "rm", "-f", name).Run()
	out, err := exec.Command("docker", "run", "-d", "--name", name, "--network", "none", image).CombinedOutput()
	if err != nil {
		t.Fatalf("docker run: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	out, err = exec.Command("docker", "inspect", "-f", "{{.State.Pid}}", name).Output()
	if err != nil {
		t.Fatalf("docker inspect: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || pid == 0 {
		t.Fatalf("pid of %s: %q", name, out)
	}
	return pid
}

// allowForwarding lets the host forward between the given host ends,
// which Docker's FORWARD policy (DROP) refuses otherwise; in Berth the
// security groups' chains decide.
func allowForwarding(t *testing.T, links ...string) {
	t.Helper()
	ipt, err := iptables.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range links {
		for _, out := range links {
			if in == out {
				continue
			}
			rule := []string{"-i", in, "-o", out, "-j", "ACCEPT"}
			if err := ipt.Insert("filter", "FORWARD", 1, rule...); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ipt.DeleteIfExists("filter", "FORWARD", rule...) })
		}
	}
}

// fetchFrom asks the testapp at from to GET url and reports whether it
// answered 200.
func fetchFrom(from netip.Addr, target string) bool {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://%s:8080/fetch?url=%s", from, url.QueryEscape(target)))
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var out struct{ Status int }
	return json.NewDecoder(resp.Body).Decode(&out) == nil && out.Status == http.StatusOK
}

// eventually polls cond for up to 10 s.
func eventually(cond func() bool) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return false
}

// TestAttachTask wires two task namespaces of one subnet (addresses of a
// private /24 the test picks) and checks: the host reaches each task at
// its address, one task reaches the other, attaching again changes
// nothing, and detaching removes the link and the route. The host has no
// route to the tasks' gateway.
func TestAttachTask(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	image := testutil.BuildTestImage(t, "")
	gw := netip.MustParseAddr("10.213.9.1")
	tasks := []TaskInterface{
		{ID: "eni-0test00000000000a", MAC: "0a:58:0a:d5:09:0a", Addr: netip.MustParsePrefix("10.213.9.10/24"), Gateway: gw},
		{ID: "eni-0test00000000000b", MAC: "0a:58:0a:d5:09:0b", Addr: netip.MustParsePrefix("10.213.9.11/24"), Gateway: gw},
	}
	// The host has no route to the gateway (a machine without a default
	// route): the tasks reach their gateway all the same, since it is
	// not proxy ARP that answers for it.
	noRoute := &netlink.Route{Dst: ipNet(gw), Type: unix.RTN_BLACKHOLE}
	netlink.RouteDel(noRoute) // left by an interrupted run
	if err := netlink.RouteAdd(noRoute); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netlink.RouteDel(noRoute) })
	pids := make([]int, len(tasks))
	var links []string
	for i, ti := range tasks {
		DetachTask(ti.ID) // left by an interrupted run
		t.Cleanup(func() { DetachTask(ti.ID) })
		pids[i] = namespace(t, image, fmt.Sprintf("berth-vtest-task-%d", i))
		if err := AttachTask(pids[i], ti); err != nil {
			t.Fatalf("attach %s: %v", ti.ID, err)
		}
		links = append(links, TaskLinkName(ti.ID))
	}
	allowForwarding(t, links...)
	a, b := tasks[0].Addr.Addr(), tasks[1].Addr.Addr()
	for _, addr := range []netip.Addr{a, b} {
		if !eventually(func() bool { return reachable(addr, 8080) }) {
			t.Fatalf("the host cannot reach the task at %s:8080", addr)
		}
	}
	if !fetchFrom(b, "http://"+a.String()+":8080/") {
		t.Fatal("a task cannot reach another task of its subnet")
	}

	// Attaching again (a restarted agent) keeps the same link.
	before, err := netlink.LinkByName(links[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := AttachTask(pids[0], tasks[0]); err != nil {
		t.Fatalf("attach again: %v", err)
	}
	after, err := netlink.LinkByName(links[0])
	if err != nil || after.Attrs().Index != before.Attrs().Index {
		t.Fatalf("attaching again replaced the link (%v)", err)
	}
	if !reachable(a, 8080) {
		t.Fatal("the task is unreachable after attaching again")
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv4/conf/" + links[0] + "/proxy_arp"); err != nil || strings.TrimSpace(string(b)) != "1" {
		t.Fatalf("proxy_arp of %s = %q (%v)", links[0], b, err)
	}

	if err := DetachTask(tasks[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName(links[0]); !isNotFound(err) {
		t.Fatalf("%s is still there after detach (%v)", links[0], err)
	}
	// No traffic to a detached address: it would leave by the default
	// route. Its route is gone.
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Dst: ipNet(a)}, netlink.RT_FILTER_DST)
	if err != nil || len(routes) != 0 {
		t.Fatalf("routes to %s after detach: %v (%v)", a, routes, err)
	}
	if !reachable(b, 8080) {
		t.Fatal("detaching one task cut the other")
	}
	if err := DetachTask(tasks[0].ID); err != nil {
		t.Fatalf("detaching twice: %v", err)
	}
}

func TestAttachTaskRefusesBadInterfaces(t *testing.T) {
	gw := netip.MustParseAddr("10.213.9.1")
	for _, ti := range []TaskInterface{
		{ID: "eni-bad-mac", MAC: "nope", Addr: netip.MustParsePrefix("10.213.9.10/24"), Gateway: gw},
		{ID: "eni-ipv6", MAC: "0a:58:0a:d5:09:0a", Addr: netip.MustParsePrefix("fd00::10/64"), Gateway: gw},
		{ID: "eni-no-addr", MAC: "0a:58:0a:d5:09:0a", Gateway: gw},
		{ID: "eni-gw-outside", MAC: "0a:58:0a:d5:09:0a", Addr: netip.MustParsePrefix("10.213.9.10/24"), Gateway: netip.MustParseAddr("10.213.10.1")},
	} {
		if err := AttachTask(os.Getpid(), ti); err == nil {
			DetachTask(ti.ID)
			t.Errorf("%s: attached", ti.ID)
		}
	}
}

// TestTaskEgress: a task interface opens only the connections its egress
// rules allow, by destination and port, and a change applies to the next
// connection; the interfaces' traffic is forwarded once judged.
func TestTaskEgress(t *testing.T) {
	h := newTestHost(t)
	image := testutil.BuildTestImage(t, "")
	gw := netip.MustParseAddr("10.213.11.1")
	a := TaskInterface{ID: "eni-0egress0000000000a", MAC: "0a:58:0a:d5:0b:0a", Addr: netip.MustParsePrefix("10.213.11.10/24"), Gateway: gw}
	b := TaskInterface{ID: "eni-0egress0000000000b", MAC: "0a:58:0a:d5:0b:0b", Addr: netip.MustParsePrefix("10.213.11.11/24"), Gateway: gw}
	all := []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}
	for i, ti := range []TaskInterface{a, b} {
		DetachTask(ti.ID)
		t.Cleanup(func() { DetachTask(ti.ID) })
		// Both take anything in, so only A's egress decides.
		if err := h.SetIngress(ti.ID, ti.Addr.Addr(), []Rule{{Protocol: "tcp", From: 8080, To: 8080, Sources: all}}); err != nil {
			t.Fatal(err)
		}
		if err := AttachTask(namespace(t, image, fmt.Sprintf("berth-vtest-egress-%d", i)), ti); err != nil {
			t.Fatal(err)
		}
	}
	target := "http://" + b.Addr.Addr().String() + ":8080/"
	if !eventually(func() bool { return fetchFrom(a.Addr.Addr(), target) }) {
		t.Fatal("A cannot reach B before any egress rule is set")
	}
	for _, tc := range []struct {
		name  string
		rules []Rule
		open  bool
	}{
		{"no egress rule", nil, false},
		{"another port", []Rule{{Protocol: "tcp", From: 9090, To: 9090, Sources: all}}, false},
		{"another destination", []Rule{{Protocol: "tcp", From: 8080, To: 8080, Sources: []netip.Prefix{netip.MustParsePrefix("10.213.11.99/32")}}}, false},
		{"B's port", []Rule{{Protocol: "tcp", From: 8080, To: 8080, Sources: []netip.Prefix{netip.PrefixFrom(b.Addr.Addr(), 32)}}}, true},
		{"everything", []Rule{{Protocol: "-1", Sources: all}}, true},
	} {
		if err := h.SetEgress(a.ID, a.Addr.Addr(), tc.rules); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := fetchFrom(a.Addr.Addr(), target); got != tc.open {
			t.Fatalf("%s: A reached B = %v, want %v", tc.name, got, tc.open)
		}
	}
	if err := h.RemoveEgress(a.ID, a.Addr.Addr()); err != nil {
		t.Fatal(err)
	}
	if !fetchFrom(a.Addr.Addr(), target) {
		t.Fatal("A cannot reach B once its egress rules are removed")
	}
}
