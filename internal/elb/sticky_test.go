package elb

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"

	"github.com/berth-dev/berth/internal/testutil"
)

// sessionBackend answers its name, and sets the application's cookie
// SESSION (for an hour) on /login.
func sessionBackend(t *testing.T, name, addr string) int {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			http.SetCookie(w, &http.Cookie{Name: "SESSION", Value: name, MaxAge: 3600})
		}
		io.WriteString(w, name)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// TestStickinessPolicies: a listener's LB cookie policy binds a client to
// the instance that served it by AWSELB (a session cookie without an
// expiration period, else one that expires after it); an app cookie
// policy binds it once the instance set the application's cookie, for
// that cookie's life; without a policy requests go round robin.
func TestStickinessPolicies(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	vpc, subnets := e.loopbackVPC(t)
	p := sessionBackend(t, "a", "127.0.0.1:0")
	sessionBackend(t, "b", "127.0.0.2:"+strconv.Itoa(p))
	e.instance(t, "i-0000000000000000a", vpc, subnets[0], "127.0.0.1")
	e.instance(t, "i-0000000000000000b", vpc, subnets[1], "127.0.0.2")
	port := freePort(t)
	name := aws.String("sticky")
	must[*sdk.CreateLoadBalancerOutput](t)(e.elb.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{LoadBalancerName: name,
		Listeners: []types.Listener{httpListener(port, int32(p))}, Subnets: subnets}))
	must[*sdk.RegisterInstancesWithLoadBalancerOutput](t)(e.elb.RegisterInstancesWithLoadBalancer(ctx, &sdk.RegisterInstancesWithLoadBalancerInput{
		LoadBalancerName: name, Instances: []types.Instance{{InstanceId: aws.String("i-0000000000000000a")}, {InstanceId: aws.String("i-0000000000000000b")}}}))
	get := func(path string, c *http.Cookie) (string, *http.Cookie) {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", port, path), nil)
		if c != nil {
			req.AddCookie(c)
		}
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			return "", nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, k := range resp.Cookies() {
			if k.Name == "AWSELB" {
				return string(b), k
			}
		}
		return string(b), nil
	}
	eventually(t, "both instances are in service", func() bool {
		out := must[*sdk.DescribeInstanceHealthOutput](t)(e.elb.DescribeInstanceHealth(ctx, &sdk.DescribeInstanceHealthInput{LoadBalancerName: name}))
		n := 0
		for _, s := range out.InstanceStates {
			if aws.ToString(s.State) == "InService" {
				n++
			}
		}
		return n == 2
	})
	seen := map[string]bool{}
	for range 4 {
		body, c := get("/", nil)
		seen[body] = true
		if c != nil {
			t.Fatal("AWSELB set without a stickiness policy")
		}
	}
	if !seen["a"] || !seen["b"] {
		t.Fatalf("requests went to %v, want both instances", seen)
	}
	must[*sdk.CreateLBCookieStickinessPolicyOutput](t)(e.elb.CreateLBCookieStickinessPolicy(ctx, &sdk.CreateLBCookieStickinessPolicyInput{
		LoadBalancerName: name, PolicyName: aws.String("session")}))
	must[*sdk.CreateLBCookieStickinessPolicyOutput](t)(e.elb.CreateLBCookieStickinessPolicy(ctx, &sdk.CreateLBCookieStickinessPolicyInput{
		LoadBalancerName: name, PolicyName: aws.String("minute"), CookieExpirationPeriod: aws.Int64(60)}))
	must[*sdk.CreateAppCookieStickinessPolicyOutput](t)(e.elb.CreateAppCookieStickinessPolicy(ctx, &sdk.CreateAppCookieStickinessPolicyInput{
		LoadBalancerName: name, PolicyName: aws.String("app"), CookieName: aws.String("SESSION")}))
	for _, tc := range []struct {
		policy, path string
		maxAge       time.Duration // of AWSELB; 0: a session cookie
	}{
		{"session", "/", 0},
		{"minute", "/", time.Minute},
		{"app", "/login", time.Hour},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			must[*sdk.SetLoadBalancerPoliciesOfListenerOutput](t)(e.elb.SetLoadBalancerPoliciesOfListener(ctx, &sdk.SetLoadBalancerPoliciesOfListenerInput{
				LoadBalancerName: name, LoadBalancerPort: port, PolicyNames: []string{tc.policy}}))
			var first string
			var c *http.Cookie
			eventually(t, "AWSELB is set", func() bool {
				first, c = get(tc.path, nil)
				// The policy before this one may still be in force.
				if tc.policy == "app" {
					return c != nil && c.MaxAge > 0
				}
				return c != nil && (tc.maxAge == 0) == c.Expires.IsZero() && c.MaxAge == 0
			})
			switch {
			case tc.policy == "app" && c.MaxAge != 3600:
				t.Fatalf("AWSELB Max-Age %d, want the application cookie's 3600", c.MaxAge)
			case tc.policy == "minute":
				if d := time.Until(c.Expires); d < 50*time.Second || d > 70*time.Second {
					t.Fatalf("AWSELB expires in %v, want a minute", d)
				}
			}
			for range 8 {
				if body, _ := get("/", c); body != first {
					t.Fatalf("a request with AWSELB went to %s, not %s", body, first)
				}
			}
			if tc.policy == "app" {
				if _, c := get("/", nil); c != nil {
					t.Fatal("AWSELB set on a response without the application's cookie")
				}
			}
		})
	}
	// Without a policy, no cookie and round robin again.
	must[*sdk.SetLoadBalancerPoliciesOfListenerOutput](t)(e.elb.SetLoadBalancerPoliciesOfListener(ctx, &sdk.SetLoadBalancerPoliciesOfListenerInput{
		LoadBalancerName: name, LoadBalancerPort: port, PolicyNames: []string{}}))
	eventually(t, "no AWSELB once the policy is gone", func() bool {
		_, c := get("/", nil)
		return c == nil
	})
}

// TestProxyProtocolPolicy: an instance port with a ProxyProtocol policy
// gets, from a TCP listener, each connection's PROXY line first; without
// the policy, the client's bytes.
func TestProxyProtocolPolicy(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	vpc, subnets := e.loopbackVPC(t)
	// The instance answers the first line it reads, as "i:<line>".
	_, ipPort, _ := net.SplitHostPort(testutil.LineEcho(t, "i"))
	ip, _ := strconv.Atoi(ipPort)
	e.instance(t, "i-0000000000000000a", vpc, subnets[0], "127.0.0.1")
	port := freePort(t)
	name := aws.String("proxied")
	must[*sdk.CreateLoadBalancerOutput](t)(e.elb.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{LoadBalancerName: name, Subnets: subnets,
		Listeners: []types.Listener{{Protocol: aws.String("TCP"), LoadBalancerPort: port, InstancePort: aws.Int32(int32(ip))}}}))
	must[*sdk.RegisterInstancesWithLoadBalancerOutput](t)(e.elb.RegisterInstancesWithLoadBalancer(ctx, &sdk.RegisterInstancesWithLoadBalancerInput{
		LoadBalancerName: name, Instances: []types.Instance{{InstanceId: aws.String("i-0000000000000000a")}}}))
	first := func() string {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
		if err != nil {
			return ""
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "hello\n")
		line, _ := bufio.NewReader(c).ReadString('\n')
		return line
	}
	eventually(t, "the instance reads the client's bytes", func() bool { return first() == "i:hello\n" })
	must[*sdk.CreateLoadBalancerPolicyOutput](t)(e.elb.CreateLoadBalancerPolicy(ctx, &sdk.CreateLoadBalancerPolicyInput{LoadBalancerName: name,
		PolicyName: aws.String("pp"), PolicyTypeName: aws.String("ProxyProtocolPolicyType"), PolicyAttributes: attrs("ProxyProtocol", "true")}))
	must[*sdk.SetLoadBalancerPoliciesForBackendServerOutput](t)(e.elb.SetLoadBalancerPoliciesForBackendServer(ctx, &sdk.SetLoadBalancerPoliciesForBackendServerInput{
		LoadBalancerName: name, InstancePort: aws.Int32(int32(ip)), PolicyNames: []string{"pp"}}))
	eventually(t, "the instance reads a PROXY line first", func() bool {
		return strings.HasPrefix(first(), "i:PROXY TCP4 127.0.0.1 127.0.0.1 ")
	})
	if got := first(); !strings.HasSuffix(got, fmt.Sprintf(" %d\r\n", port)) {
		t.Fatalf("PROXY line %q does not name the listener's port %d", got, port)
	}
}
