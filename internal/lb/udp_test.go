package lb

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// exchange sends a datagram on c and returns the answer ("" on timeout).
func exchange(t *testing.T, c net.Conn, msg string) string {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

// TestUDPListener: a UDP listener keeps each client's datagrams on one
// target (a flow), spreads new clients' flows round robin over the
// healthy targets (checked over TCP), refuses flows beyond its bound,
// and ends a flow idle for the timeout, so that the client's next datagram starts a new one. A
// TCP_UDP listener serves TCP on the same port.
func TestUDPListener(t *testing.T) {
	addrs := []string{testutil.UDPEcho(t, "a"), testutil.UDPEcho(t, "b")}
	p := New(Options{CheckInterval: 50 * time.Millisecond, UDPIdleTimeout: time.Second, UDPMaxFlows: 2, Log: quiet()})
	defer p.Close()
	port := freePort(t)
	g := TargetGroup{ARN: "tg", Protocol: "TCP_UDP", Health: HealthCheck{Enabled: true, Protocol: "TCP", Timeout: time.Second, Healthy: 2, Unhealthy: 2}}
	for i, a := range addrs {
		g.Targets = append(g.Targets, Target{Key: fmt.Sprint(i), Addr: a, HealthAddr: a})
	}
	if err := p.Apply(Config{Groups: []TargetGroup{g}, Listeners: []Listener{{ARN: "l", Protocol: "TCP_UDP", Port: port,
		Rules: []Rule{{Action: Action{Type: "forward", Forward: []Weighted{{Group: "tg", Weight: 1}}}}}}}}); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, p, "tg", "0", "1")
	target := fmt.Sprintf("127.0.0.1:%d", port)
	dial := func() net.Conn {
		c, err := net.Dial("udp", target)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// answer is who answered a datagram, and from which flow's socket.
	answer := func(c net.Conn, msg string) (who, flow string) {
		t.Helper()
		parts := strings.Split(exchange(t, c, msg), "|")
		if len(parts) != 3 || parts[2] != msg {
			t.Fatalf("answer to %q: %q", msg, parts)
		}
		return parts[0], parts[1]
	}
	first, second := dial(), dial()
	who, flow := answer(first, "1")
	for _, msg := range []string{"2", "3"} {
		if w, f := answer(first, msg); w != who || f != flow {
			t.Fatalf("the first client's datagram %s went to %s over %s, its flow to %s over %s", msg, w, f, who, flow)
		}
	}
	if other, _ := answer(second, "x"); other == who {
		t.Fatalf("the second client's flow went to %q as the first's: want round robin", other)
	}
	// The flow table is full: a third client is not answered (its wait of
	// 2s also outlasts the idle timeout of the other flows).
	if a := exchange(t, dial(), "y"); a != "" {
		t.Fatalf("a third client was answered %q beyond the 2 flows allowed", a)
	}
	// Idle past the timeout, the first flow ends; the next datagram opens
	// a new flow, with a socket of its own.
	if _, f := answer(first, "4"); f == flow {
		t.Fatalf("the first client's flow outlived the idle timeout (%s)", flow)
	}
	// The TCP side of the TCP_UDP listener.
	c, err := net.DialTimeout("tcp", target, time.Second)
	if err != nil {
		t.Fatalf("TCP on a TCP_UDP listener: %v", err)
	}
	c.Close()
}
