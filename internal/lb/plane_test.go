package lb

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

func TestWildcard(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		fold, want bool
	}{
		{"/img/*", "/img/a/b.png", false, true},
		{"/img/*", "/IMG/a", false, false},
		{"*.example.com", "API.Example.com", true, true},
		{"/a?c", "/abc", false, true},
		{"/a?c", "/ac", false, false},
		{"*", "", false, true},
		{"/x*y*z", "/x-y-y-z", false, true},
		{"/x*y*z", "/x-y-y-", false, false},
	} {
		if got := wildcard(tc.pattern, tc.s, tc.fold); got != tc.want {
			t.Errorf("wildcard(%q, %q) = %v", tc.pattern, tc.s, got)
		}
	}
}

func TestMatchCode(t *testing.T) {
	for _, tc := range []struct {
		m    string
		code int
		want bool
	}{
		{"200", 200, true}, {"200", 204, false}, {"200,204", 204, true}, {"200-299", 250, true}, {"200-299", 301, false}, {"", 200, true},
	} {
		if got := matchCode(tc.m, tc.code); got != tc.want {
			t.Errorf("matchCode(%q, %d) = %v", tc.m, tc.code, got)
		}
	}
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestNetworkListener: a TCP listener passes a connection's bytes both
// ways to a healthy target, round robin per connection.
func TestNetworkListener(t *testing.T) {
	echoes := []string{testutil.LineEcho(t, "a"), testutil.LineEcho(t, "b")}
	p := New(Options{CheckInterval: 50 * time.Millisecond, Log: quiet()})
	defer p.Close()
	port := freePort(t)
	g := TargetGroup{ARN: "tg", Protocol: "TCP", Health: HealthCheck{Enabled: true, Protocol: "TCP", Timeout: time.Second, Healthy: 2, Unhealthy: 2}}
	for i, addr := range echoes {
		g.Targets = append(g.Targets, Target{Key: fmt.Sprint(i), Addr: addr, HealthAddr: addr})
	}
	err := p.Apply(Config{Groups: []TargetGroup{g}, Listeners: []Listener{{ARN: "l", Protocol: "TCP", Port: port,
		Rules: []Rule{{Action: Action{Type: "forward", Forward: []Weighted{{Group: "tg", Weight: 1}}}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		h, _ := p.Health("tg")
		if h["0"].State == StateHealthy && h["1"].State == StateHealthy {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health %v", h)
		}
		time.Sleep(20 * time.Millisecond)
	}
	seen := map[string]int{}
	for i := 0; i < 4; i++ {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "hello %d\n", i)
		b, _ := io.ReadAll(c)
		c.Close()
		name, rest, _ := strings.Cut(string(b), ":")
		if rest != fmt.Sprintf("hello %d\n", i) {
			t.Fatalf("echo %q", b)
		}
		seen[name]++
	}
	if seen["a"] != 2 || seen["b"] != 2 {
		t.Fatalf("connections %v", seen)
	}
	// Removed from the configuration, the listener closes.
	if err := p.Apply(Config{}); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
		t.Fatal("the listener still accepts")
	}
}

// TestUnhealthyReasons: a target failing its checks is unhealthy with
// AWS's reason and description for how it failed.
func TestUnhealthyReasons(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { time.Sleep(300 * time.Millisecond) }))
	defer slow.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer failing.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedAddr := closed.Listener.Addr().String()
	closed.Close()
	for _, tc := range []struct {
		name, addr string
		want       TargetHealth
	}{
		{"code mismatch", failing.Listener.Addr().String(), TargetHealth{State: StateUnhealthy, Reason: ReasonCodeMismatch, Description: "Health checks failed with these codes: [503]"}},
		{"timeout", slow.Listener.Addr().String(), TargetHealth{State: StateUnhealthy, Reason: ReasonTimeout, Description: "Request timed out"}},
		{"refused", closedAddr, TargetHealth{State: StateUnhealthy, Reason: ReasonFailedChecks, Description: "Health checks failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New(Options{CheckInterval: 50 * time.Millisecond, Log: quiet()})
			defer p.Close()
			if err := p.Apply(Config{Groups: []TargetGroup{{ARN: "tg", Protocol: "HTTP", Health: HealthCheck{Enabled: true, Protocol: "HTTP", Path: "/",
				Timeout: time.Second, Healthy: 2, Unhealthy: 2, Matcher: "200"}, Targets: []Target{{Key: "t", Addr: tc.addr, HealthAddr: tc.addr}}}}}); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				h, _ := p.Health("tg")
				if h["t"] == tc.want {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("health %v, want %v", h, tc.want)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// TestLeastOutstandingRequests: with least outstanding requests, a target
// busy with a request gets no more while another has none.
func TestLeastOutstandingRequests(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan string, 1)
	var addrs []string
	for _, name := range []string{"x", "y"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/block" {
				arrived <- name
				<-release
			}
			io.WriteString(w, name)
		}))
		defer srv.Close()
		addrs = append(addrs, srv.Listener.Addr().String())
	}
	defer close(release)
	p := New(Options{CheckInterval: 20 * time.Millisecond, Log: quiet()})
	defer p.Close()
	port := freePort(t)
	g := TargetGroup{ARN: "tg", Protocol: "HTTP", LeastOutstanding: true, Health: HealthCheck{Enabled: true, Protocol: "HTTP", Path: "/", Timeout: time.Second, Healthy: 2, Unhealthy: 2, Matcher: "200"}}
	for i, a := range addrs {
		g.Targets = append(g.Targets, Target{Key: fmt.Sprint(i), Addr: a, HealthAddr: a})
	}
	if err := p.Apply(Config{Groups: []TargetGroup{g}, Listeners: []Listener{{ARN: "l", Protocol: "HTTP", Port: port,
		Rules: []Rule{{Action: Action{Type: "forward", Forward: []Weighted{{Group: "tg", Weight: 1}}}}}}}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		h, _ := p.Health("tg")
		if h["0"].State == StateHealthy && h["1"].State == StateHealthy {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health %v", h)
		}
		time.Sleep(20 * time.Millisecond)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	go http.Get(url + "/block")
	busy := <-arrived
	for i := 0; i < 4; i++ {
		resp, err := http.Get(url + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) == busy {
			t.Fatalf("request %d went to %s, which has one in flight", i, busy)
		}
	}
}
