package lb

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// getWithCookies GETs url with cookies and returns the body and the
// response.
func getWithCookies(t *testing.T, url string, cookies ...*http.Cookie) (string, *http.Response) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return string(b), resp
}

// namedTargets starts HTTP targets that answer their name and set the
// application's cookie SESSION when the path is /login.
func namedTargets(t *testing.T, names ...string) []string {
	var addrs []string
	for _, name := range names {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/login" {
				http.SetCookie(w, &http.Cookie{Name: "SESSION", Value: "s-" + name})
			}
			io.WriteString(w, name)
		}))
		t.Cleanup(srv.Close)
		addrs = append(addrs, srv.Listener.Addr().String())
	}
	return addrs
}

// TestStickySessions: an application listener's group with lb_cookie
// stickiness binds a client to the target that served it by AWSALB (and
// AWSALBCORS); with app_cookie, by AWSALBAPP-0 once the target set the
// application's cookie. A bound client stays on its target, an unbound
// one goes round robin, a forged cookie binds nobody, and a client whose
// target left the group goes to another and is bound to it.
func TestStickySessions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		st     Stickiness
		path   string // the first request's
		cookie string // the load balancer's cookie it binds with
		cors   bool
	}{
		{"lb_cookie", Stickiness{Type: "lb_cookie", Duration: time.Hour}, "/", "AWSALB", true},
		{"app_cookie", Stickiness{Type: "app_cookie", Duration: time.Hour, CookieName: "SESSION"}, "/login", "AWSALBAPP-0", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addrs := namedTargets(t, "a", "b")
			p := New(Options{CheckInterval: 20 * time.Millisecond, Log: quiet()})
			defer p.Close()
			port := freePort(t)
			st := tc.st
			g := TargetGroup{ARN: "tg", Protocol: "HTTP", Stickiness: &st,
				Health: HealthCheck{Enabled: true, Protocol: "HTTP", Path: "/", Timeout: time.Second, Healthy: 2, Unhealthy: 2, Matcher: "200"}}
			for i, a := range addrs {
				g.Targets = append(g.Targets, Target{Key: fmt.Sprint(i), Addr: a, HealthAddr: a})
			}
			cfg := Config{Groups: []TargetGroup{g}, Listeners: []Listener{{ARN: "l", Protocol: "HTTP", Port: port,
				Rules: []Rule{{Action: Action{Type: "forward", Forward: []Weighted{{Group: "tg", Weight: 1}}}}}}}}
			if err := p.Apply(cfg); err != nil {
				t.Fatal(err)
			}
			waitHealthy(t, p, "tg", "0", "1")
			url := fmt.Sprintf("http://127.0.0.1:%d", port)
			get := func(path string, cookies ...*http.Cookie) (string, *http.Response) {
				t.Helper()
				return getWithCookies(t, url+path, cookies...)
			}
			cookieOf := func(resp *http.Response, name string) *http.Cookie {
				for _, c := range resp.Cookies() {
					if c.Name == name {
						return c
					}
				}
				return nil
			}

			// Unbound: round robin over both.
			seen := map[string]bool{}
			for range 4 {
				name, _ := get("/")
				seen[name] = true
			}
			if !seen["a"] || !seen["b"] {
				t.Fatalf("unbound requests went to %v, want both targets", seen)
			}
			// The first request binds: its target, again and again.
			first, resp := get(tc.path)
			c := cookieOf(resp, tc.cookie)
			if c == nil || c.Value == "" || strings.Contains(c.Value, "127.0.0.1") {
				t.Fatalf("cookies %v: want an opaque %s", resp.Header["Set-Cookie"], tc.cookie)
			}
			if d := time.Until(c.Expires); d < 59*time.Minute || d > 61*time.Minute {
				t.Fatalf("%s expires in %v, want the group's hour", tc.cookie, d)
			}
			if cors := cookieOf(resp, "AWSALBCORS"); tc.cors && (cors == nil || cors.Value != c.Value || cors.SameSite != http.SameSiteNoneMode || !cors.Secure) {
				t.Fatalf("AWSALBCORS %+v beside %s", cors, tc.cookie)
			}
			for range 6 {
				if name, _ := get("/", c); name != first {
					t.Fatalf("a bound request went to %s, not %s", name, first)
				}
			}
			if tc.st.Type == "app_cookie" {
				if _, resp := get("/"); cookieOf(resp, tc.cookie) != nil {
					t.Fatal("AWSALBAPP-0 set on a response without the application's cookie")
				}
			}
			// A forged cookie binds nobody.
			forged := map[string]bool{}
			for range 4 {
				name, _ := get("/", &http.Cookie{Name: tc.cookie, Value: "MA"})
				forged[name] = true
			}
			if len(forged) != 2 {
				t.Fatalf("forged cookie: requests went to %v, want both targets", forged)
			}
			// The bound target leaves the group: the client goes to the
			// other and is bound to it.
			other := map[string]string{"a": "1", "b": "0"}[first]
			left := cfg
			left.Groups = []TargetGroup{g}
			left.Groups[0].Targets = []Target{g.Targets[map[string]int{"0": 0, "1": 1}[other]]}
			if err := p.Apply(left); err != nil {
				t.Fatal(err)
			}
			name, resp := get(tc.path, c)
			if name == first {
				t.Fatalf("a request bound to a target that left went to it")
			}
			if again := cookieOf(resp, tc.cookie); again == nil || again.Value == c.Value {
				t.Fatalf("no new binding after the target left: %v", resp.Header["Set-Cookie"])
			}
		})
	}
}

// TestSourceIPStickiness: a network listener's group with source_ip
// stickiness sends every connection of one client address to one target;
// without it, they go round robin.
func TestSourceIPStickiness(t *testing.T) {
	for _, sticky := range []bool{false, true} {
		t.Run(fmt.Sprint("sticky=", sticky), func(t *testing.T) {
			echoes := []string{testutil.LineEcho(t, "a"), testutil.LineEcho(t, "b")}
			p := New(Options{CheckInterval: 50 * time.Millisecond, Log: quiet()})
			defer p.Close()
			port := freePort(t)
			g := TargetGroup{ARN: "tg", Protocol: "TCP", Health: HealthCheck{Enabled: true, Protocol: "TCP", Timeout: time.Second, Healthy: 2, Unhealthy: 2}}
			if sticky {
				g.Stickiness = &Stickiness{Type: "source_ip"}
			}
			for i, addr := range echoes {
				g.Targets = append(g.Targets, Target{Key: fmt.Sprint(i), Addr: addr, HealthAddr: addr})
			}
			if err := p.Apply(Config{Groups: []TargetGroup{g}, Listeners: []Listener{{ARN: "l", Protocol: "TCP", Port: port,
				Rules: []Rule{{Action: Action{Type: "forward", Forward: []Weighted{{Group: "tg", Weight: 1}}}}}}}}); err != nil {
				t.Fatal(err)
			}
			waitHealthy(t, p, "tg", "0", "1")
			seen := map[string]int{}
			for i := range 6 {
				c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(c, "hello %d\n", i)
				b, _ := io.ReadAll(c)
				c.Close()
				name, _, _ := strings.Cut(string(b), ":")
				seen[name]++
			}
			if sticky && len(seen) != 1 || !sticky && len(seen) != 2 {
				t.Fatalf("connections by target %v (sticky %v)", seen, sticky)
			}
		})
	}
}

// TestTargetGroupStickiness: a forward action to two groups with target
// group stickiness binds a client to the group that served it
// (AWSALBTG); unbound clients go to both by weight.
func TestTargetGroupStickiness(t *testing.T) {
	addrs := namedTargets(t, "a", "b")
	p := New(Options{CheckInterval: 20 * time.Millisecond, Log: quiet()})
	defer p.Close()
	port := freePort(t)
	var groups []TargetGroup
	for i, a := range addrs {
		groups = append(groups, TargetGroup{ARN: fmt.Sprint("tg", i), Protocol: "HTTP", Targets: []Target{{Key: "0", Addr: a, HealthAddr: a}},
			Health: HealthCheck{Enabled: true, Protocol: "HTTP", Path: "/", Timeout: time.Second, Healthy: 2, Unhealthy: 2, Matcher: "200"}})
	}
	if err := p.Apply(Config{Groups: groups, Listeners: []Listener{{ARN: "l", Protocol: "HTTP", Port: port,
		Rules: []Rule{{Action: Action{Type: "forward", Forward: []Weighted{{Group: "tg0", Weight: 1}, {Group: "tg1", Weight: 1}},
			GroupStickiness: time.Hour}}}}}}); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, p, "tg0", "0")
	waitHealthy(t, p, "tg1", "0")
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	get := func(cookies ...*http.Cookie) (string, *http.Response) {
		t.Helper()
		return getWithCookies(t, url, cookies...)
	}
	seen := map[string]bool{}
	for range 40 {
		name, _ := get()
		seen[name] = true
	}
	if !seen["a"] || !seen["b"] {
		t.Fatalf("unbound requests went to %v, want both groups", seen)
	}
	first, resp := get()
	var bound *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "AWSALBTG" {
			bound = c
		}
	}
	if bound == nil {
		t.Fatalf("no AWSALBTG in %v", resp.Header["Set-Cookie"])
	}
	for range 10 {
		if name, _ := get(bound); name != first {
			t.Fatalf("a request bound to %s's group went to %s", first, name)
		}
	}
}

// TestSlowStart: a target that turns healthy beside a healthy one gets
// few requests at first and its full share once the group's slow start
// has passed; without slow start it gets its share at once.
func TestSlowStart(t *testing.T) {
	for _, slow := range []time.Duration{0, 3 * time.Second} {
		t.Run(fmt.Sprint("slow_start=", slow), func(t *testing.T) {
			addrs := namedTargets(t, "a", "b")
			p := New(Options{CheckInterval: 10 * time.Millisecond, Log: quiet()})
			defer p.Close()
			port := freePort(t)
			// Checks that cannot fail on a loaded machine: a target that
			// flapped would begin its slow start again.
			g := TargetGroup{ARN: "tg", Protocol: "HTTP", SlowStart: slow,
				Health:  HealthCheck{Enabled: true, Protocol: "HTTP", Path: "/", Timeout: 10 * time.Second, Healthy: 2, Unhealthy: 1000, Matcher: "200"},
				Targets: []Target{{Key: "a", Addr: addrs[0], HealthAddr: addrs[0]}}}
			cfg := Config{Groups: []TargetGroup{g}, Listeners: []Listener{{ARN: "l", Protocol: "HTTP", Port: port,
				Rules: []Rule{{Action: Action{Type: "forward", Forward: []Weighted{{Group: "tg", Weight: 1}}}}}}}}
			if err := p.Apply(cfg); err != nil {
				t.Fatal(err)
			}
			waitHealthy(t, p, "tg", "a")
			time.Sleep(slow) // a is past its own slow start
			cfg.Groups[0].Targets = append(cfg.Groups[0].Targets, Target{Key: "b", Addr: addrs[1], HealthAddr: addrs[1]})
			if err := p.Apply(cfg); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for h, _ := p.Health("tg"); h["b"].State != StateHealthy; h, _ = p.Health("tg") {
				if time.Now().After(deadline) {
					t.Fatalf("health %v", h)
				}
				time.Sleep(2 * time.Millisecond)
			}
			url := fmt.Sprintf("http://127.0.0.1:%d/", port)
			share := func() int {
				n := 0
				for range 100 {
					resp, err := http.Get(url)
					if err != nil {
						t.Fatal(err)
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if string(b) == "b" {
						n++
					}
				}
				return n
			}
			early := share()
			if slow == 0 && (early < 40 || early > 60) || slow > 0 && early > 30 {
				t.Fatalf("the new target took %d of 100 requests at first (slow start %v)", early, slow)
			}
			time.Sleep(slow)
			if late := share(); late < 40 || late > 60 {
				t.Fatalf("the new target took %d of 100 requests after slow start (%v)", late, slow)
			}
		})
	}
}

// TestActionStickiness: a forward action's own stickiness (a Classic
// listener's policy) binds clients by its cookie alone, AWSELB: without a
// duration, lb_cookie's is a session cookie and app_cookie's expires with
// the application's cookie; the group's own stickiness is not used.
func TestActionStickiness(t *testing.T) {
	for _, tc := range []struct {
		name    string
		st      Stickiness
		path    string
		expires bool // the cookie carries an expiry (or Max-Age)
	}{
		{"lb_cookie session", Stickiness{Type: "lb_cookie", Cookie: "AWSELB"}, "/", false},
		{"lb_cookie period", Stickiness{Type: "lb_cookie", Cookie: "AWSELB", Duration: time.Minute}, "/", true},
		{"app_cookie", Stickiness{Type: "app_cookie", Cookie: "AWSELB", CookieName: "SESSION"}, "/login", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addrs := namedTargets(t, "a", "b")
			p := New(Options{CheckInterval: 20 * time.Millisecond, Log: quiet()})
			defer p.Close()
			port := freePort(t)
			st := tc.st
			g := TargetGroup{ARN: "tg", Protocol: "HTTP", Stickiness: &Stickiness{Type: "lb_cookie", Duration: time.Hour},
				Health: HealthCheck{Enabled: true, Protocol: "HTTP", Path: "/", Timeout: time.Second, Healthy: 2, Unhealthy: 2, Matcher: "200"}}
			for i, a := range addrs {
				g.Targets = append(g.Targets, Target{Key: fmt.Sprint(i), Addr: a, HealthAddr: a})
			}
			if err := p.Apply(Config{Groups: []TargetGroup{g}, Listeners: []Listener{{ARN: "l", Protocol: "HTTP", Port: port,
				Rules: []Rule{{Action: Action{Type: "forward", Forward: []Weighted{{Group: "tg", Weight: 1}}, Stickiness: &st}}}}}}); err != nil {
				t.Fatal(err)
			}
			waitHealthy(t, p, "tg", "0", "1")
			get := func(path string, c *http.Cookie) (string, *http.Response) {
				t.Helper()
				url := fmt.Sprintf("http://127.0.0.1:%d%s", port, path)
				if c == nil {
					return getWithCookies(t, url)
				}
				return getWithCookies(t, url, c)
			}
			first, resp := get(tc.path, nil)
			var c *http.Cookie
			for _, k := range resp.Cookies() {
				switch k.Name {
				case "AWSELB":
					c = k
				case "AWSALB", "AWSALBCORS", "AWSALBAPP-0":
					t.Fatalf("cookie %s set beside AWSELB: %v", k.Name, resp.Header["Set-Cookie"])
				}
			}
			if c == nil || c.Value == "" {
				t.Fatalf("cookies %v: want AWSELB", resp.Header["Set-Cookie"])
			}
			raw := strings.Join(resp.Header["Set-Cookie"], "\n")
			if got := strings.Contains(raw, "Expires=") || strings.Contains(raw, "Max-Age="); got != tc.expires {
				t.Fatalf("Set-Cookie %q: expiry %v, want %v", raw, got, tc.expires)
			}
			for range 6 {
				if name, _ := get("/", c); name != first {
					t.Fatalf("a bound request went to %s, not %s", name, first)
				}
			}
		})
	}
}
