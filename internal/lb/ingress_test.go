package lb

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestListenerIngress: a listener admits only the clients its Ingress
// names, per transport, and a change applies to the next connection or
// datagram without reopening the listener.
func TestListenerIngress(t *testing.T) {
	p := New(Options{CheckInterval: 50 * time.Millisecond, Log: quiet()})
	defer p.Close()
	httpPort, udpPort := freePort(t), freePort(t)
	echo := testutil.UDPEcho(t, "u")
	group := TargetGroup{ARN: "tg", Protocol: "UDP", Health: HealthCheck{Enabled: false},
		Targets: []Target{{Key: "u", Addr: echo, HealthAddr: echo}}}
	fixed := []Rule{{Action: Action{Type: "fixed-response", Fixed: &FixedResponse{StatusCode: 200, Body: "ok"}}}}
	forward := []Rule{{Action: Action{Type: "forward", Forward: []Weighted{{Group: "tg", Weight: 1}}}}}
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	elsewhere := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	udp, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", udpPort))
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	for _, step := range []struct {
		name           string
		ingress        *Ingress
		wantTCP, wantU bool
	}{
		{"no groups: everyone", nil, true, true},
		{"groups admitting another network", &Ingress{TCP: elsewhere, UDP: elsewhere}, false, false},
		{"groups admitting loopback over TCP only", &Ingress{TCP: loopback}, true, false},
		{"groups admitting loopback over UDP only", &Ingress{UDP: loopback}, false, true},
		{"groups admitting nothing", &Ingress{}, false, false},
		{"groups admitting loopback", &Ingress{TCP: loopback, UDP: loopback}, true, true},
	} {
		cfg := Config{Groups: []TargetGroup{group}, Listeners: []Listener{
			{ARN: "http", Protocol: "HTTP", Port: httpPort, Rules: fixed, Ingress: step.ingress},
			{ARN: "udp", Protocol: "UDP", Port: udpPort, Rules: forward, Ingress: step.ingress}}}
		if err := p.Apply(cfg); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", httpPort))
		if err == nil {
			resp.Body.Close()
		}
		if got := err == nil && resp.StatusCode == 200; got != step.wantTCP {
			t.Fatalf("%s: HTTP answered = %v (%v), want %v", step.name, got, err, step.wantTCP)
		}
		if got := exchange(t, udp, step.name) != ""; got != step.wantU {
			t.Fatalf("%s: UDP answered = %v, want %v", step.name, got, step.wantU)
		}
	}
}
