package lb

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestProxyProtocol: a network listener's group with ProxyProtocol opens
// each connection to a target with the PROXY v1 line naming the client
// and the listener's address; without it the target sees the client's
// bytes first.
func TestProxyProtocol(t *testing.T) {
	for _, proxy := range []bool{true, false} {
		t.Run(fmt.Sprint("proxy=", proxy), func(t *testing.T) {
			// The target answers the first line it reads, as "t:<line>".
			addr := testutil.LineEcho(t, "t")
			p := New(Options{CheckInterval: 20 * time.Millisecond, Log: quiet()})
			defer p.Close()
			port := freePort(t)
			g := TargetGroup{ARN: "tg", Protocol: "TCP", ProxyProtocol: proxy, Targets: []Target{{Key: "a", Addr: addr, HealthAddr: addr}},
				Health: HealthCheck{Enabled: true, Protocol: "TCP", Timeout: time.Second, Healthy: 2, Unhealthy: 2}}
			if err := p.Apply(Config{Groups: []TargetGroup{g}, Listeners: []Listener{{ARN: "l", Protocol: "TCP", Port: port,
				Rules: []Rule{{Action: Action{Type: "forward", Forward: []Weighted{{Group: "tg", Weight: 1}}}}}}}}); err != nil {
				t.Fatal(err)
			}
			waitHealthy(t, p, "tg", "a")
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, "hello\n")
			got, _ := bufio.NewReader(c).ReadString('\n')
			client := c.LocalAddr().(*net.TCPAddr)
			want := "t:hello\n"
			if proxy {
				want = fmt.Sprintf("t:PROXY TCP4 127.0.0.1 127.0.0.1 %d %d\r\n", client.Port, port)
			}
			if got != want {
				t.Fatalf("the target read %q first, want %q", strings.TrimSpace(got), strings.TrimSpace(want))
			}
		})
	}
}
