package agent

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/agent/dockerrt"
)

// TestBridgeCannotReachHostLoopback builds what a bridge-mode container
// has — a network namespace whose veth is on a Linux bridge with
// route_localnet — on a bridge and addresses of the test's own, and plays
// a container that may change its routes (NET_ADMIN): it routes
// 127.0.0.0/8 to the bridge and sends a datagram to a socket on the host's
// 127.0.0.1. Before the endpoint's rules are installed it arrives (the
// exposure); after, it is dropped. Needs root, ip and
// iptables.
func TestBridgeCannotReachHostLoopback(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	for _, tool := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	id := strconv.Itoa(os.Getpid() % 100000)
	ns, br, hostEnd, nsEnd := "berthlo"+id, "bbrlo"+id, "bvh"+id, "bvn"+id
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	// Addresses the test assigns on the bridge it creates (TEST-NET-2).
	const gw, peer = "198.51.100.1", "198.51.100.2"
	run("ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	run("ip", "link", "add", br, "type", "bridge")
	t.Cleanup(func() { exec.Command("ip", "link", "del", br).Run() })
	run("ip", "addr", "add", gw+"/24", "dev", br)
	run("ip", "link", "set", br, "up")
	run("ip", "link", "add", hostEnd, "type", "veth", "peer", "name", nsEnd)
	run("ip", "link", "set", hostEnd, "master", br, "up")
	run("ip", "link", "set", nsEnd, "netns", ns)
	inNS := func(args ...string) { t.Helper(); run(append([]string{"ip", "netns", "exec", ns}, args...)...) }
	inNS("ip", "addr", "add", peer+"/24", "dev", nsEnd)
	inNS("ip", "link", "set", nsEnd, "up")
	inNS("ip", "link", "set", "lo", "up")
	// The "container" sends 127.0.0.1 to the bridge instead of its own
	// loopback, which route_localnet on its side lets out.
	inNS("sh", "-c", "echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet && echo 1 > /proc/sys/net/ipv4/conf/"+nsEnd+"/route_localnet")
	inNS("ip", "route", "del", "local", "127.0.0.1", "dev", "lo", "table", "local")
	inNS("ip", "route", "del", "local", "127.0.0.0/8", "dev", "lo", "table", "local")
	inNS("ip", "route", "add", "127.0.0.0/8", "via", gw, "dev", nsEnd)

	// The host's loopback service: a UDP socket on 127.0.0.1. (A TCP
	// connection cannot complete — the host's answer from 127.0.0.1 is not
	// routed out of a bridge — but its SYN arrives all the same; datagrams
	// arrive whole.)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	port := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
	seq := 0
	reach := func() bool {
		seq++
		msg := "probe-" + strconv.Itoa(seq)
		inNS("bash", "-c", "echo "+msg+" > /dev/udp/127.0.0.1/"+port)
		buf := make([]byte, 64)
		for {
			pc.SetReadDeadline(time.Now().Add(time.Second))
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return false
			}
			if strings.TrimSpace(string(buf[:n])) == msg {
				return true
			}
		}
	}

	// route_localnet on the bridge, as the endpoint set-up enables it.
	if err := os.WriteFile("/proc/sys/net/ipv4/conf/"+br+"/route_localnet", []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !reach() {
		t.Fatal("without the endpoint's rules the namespace could not reach the host's loopback: the test does not reproduce the exposure")
	}
	bridge := dockerrt.Bridge{Gateway: gw, Interface: br}
	t.Cleanup(func() {
		r := endpointRules(br)
		last := r[len(r)-1]
		exec.Command("iptables", append([]string{"-w", "-t", last[0], "-D", last[1]}, last[2:]...)...).Run()
	})
	for i := 0; i < 2; i++ { // idempotent
		if err := setupEndpointNetwork(bridge); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command("iptables", "-w", "-S", "INPUT").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables -S: %v: %s", err, out)
	}
	if n := strings.Count(string(out), "-i "+br+" "); n != 1 {
		t.Fatalf("INPUT holds %d rules for %s after two set-ups, want 1:\n%s", n, br, out)
	}
	if reach() {
		t.Fatalf("the namespace still reaches the host's 127.0.0.1:%s through %s", port, br)
	}
}
