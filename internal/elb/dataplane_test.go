package elb

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"

	"github.com/berth-dev/berth/internal/ec2"
	"github.com/berth-dev/berth/internal/store"
)

// backend is an instance's web server: it answers its name, and /health
// with the status health holds; it records the addresses connections
// came from.
type backend struct {
	name    string
	port    int
	health  atomic.Int32
	mu      sync.Mutex
	sources map[string]bool
}

func startBackend(t *testing.T, name, addr string) *backend {
	t.Helper()
	b := &backend{name: name, sources: map[string]bool{}}
	b.health.Store(200)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		b.mu.Lock()
		b.sources[host] = true
		b.mu.Unlock()
		if r.URL.Path == "/health" {
			w.WriteHeader(int(b.health.Load()))
			return
		}
		io.WriteString(w, name)
	})}
	b.port = ln.Addr().(*net.TCPAddr).Port
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return b
}

// TestTrafficAndHealth: a Classic listener forwards to its healthy
// instances' private addresses at the instance port, from the load
// balancer's interfaces; health follows the health check with AWS's
// states and descriptions; a deregistered instance drains; a TCP
// listener passes connections through.
func TestTrafficAndHealth(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	vpc, subnets := e.loopbackVPC(t)
	a := startBackend(t, "a", "127.0.0.1:0")
	b := startBackend(t, "b", "127.0.0.2:"+strconv.Itoa(a.port)) // both instances serve one port
	b.health.Store(500)
	e.instance(t, "i-0000000000000000a", vpc, subnets[0], "127.0.0.1")
	e.instance(t, "i-0000000000000000b", vpc, subnets[1], "127.0.0.2")
	port := freePort(t)
	must[*sdk.CreateLoadBalancerOutput](t)(e.elb.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{LoadBalancerName: aws.String("web"),
		Listeners: []types.Listener{httpListener(port, int32(a.port))}, Subnets: subnets}))
	must[*sdk.ConfigureHealthCheckOutput](t)(e.elb.ConfigureHealthCheck(ctx, &sdk.ConfigureHealthCheckInput{LoadBalancerName: aws.String("web"),
		HealthCheck: &types.HealthCheck{Target: aws.String(fmt.Sprintf("HTTP:%d/health", a.port)), Interval: aws.Int32(5), Timeout: aws.Int32(2),
			HealthyThreshold: aws.Int32(2), UnhealthyThreshold: aws.Int32(2)}}))
	must[*sdk.RegisterInstancesWithLoadBalancerOutput](t)(e.elb.RegisterInstancesWithLoadBalancer(ctx, &sdk.RegisterInstancesWithLoadBalancerInput{
		LoadBalancerName: aws.String("web"), Instances: []types.Instance{{InstanceId: aws.String("i-0000000000000000a")}, {InstanceId: aws.String("i-0000000000000000b")}}}))

	type state struct{ state, reason, desc string }
	health := func() map[string]state {
		out := must[*sdk.DescribeInstanceHealthOutput](t)(e.elb.DescribeInstanceHealth(ctx, &sdk.DescribeInstanceHealthInput{LoadBalancerName: aws.String("web")}))
		m := map[string]state{}
		for _, s := range out.InstanceStates {
			m[aws.ToString(s.InstanceId)] = state{aws.ToString(s.State), aws.ToString(s.ReasonCode), aws.ToString(s.Description)}
		}
		return m
	}
	waitHealth := func(want map[string]state) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := health()
			same := len(got) == len(want)
			for k, v := range want {
				same = same && got[k] == v
			}
			if same {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("health %v, want %v", got, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	get := func(p int32) string {
		t.Helper()
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", p))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, body)
	}
	inService := state{"InService", "N/A", "N/A"}
	failed := state{"OutOfService", "Instance", "Instance has failed at least the UnhealthyThreshold number of health checks consecutively."}
	waitHealth(map[string]state{"i-0000000000000000a": inService, "i-0000000000000000b": failed})
	for range 4 {
		if got := get(port); got != "200 a" {
			t.Fatalf("answer %q, want a's", got)
		}
	}

	// b passes its checks: both answer in turn.
	b.health.Store(200)
	waitHealth(map[string]state{"i-0000000000000000a": inService, "i-0000000000000000b": inService})
	seen := map[string]int{}
	for range 4 {
		seen[get(port)]++
	}
	if seen["200 a"] != 2 || seen["200 b"] != 2 {
		t.Fatalf("answers %v", seen)
	}
	// Connections come from the load balancer's interfaces.
	nis := must[*sdkec2.DescribeNetworkInterfacesOutput](t)(e.ec2c.DescribeNetworkInterfaces(ctx, &sdkec2.DescribeNetworkInterfacesInput{
		Filters: []ec2types.Filter{{Name: aws.String("description"), Values: []string{"ELB web"}}}}))
	ips := map[string]bool{}
	for _, ni := range nis.NetworkInterfaces {
		ips[aws.ToString(ni.PrivateIpAddress)] = true
	}
	for _, be := range []*backend{a, b} {
		be.mu.Lock()
		for src := range be.sources {
			if !ips[src] {
				t.Errorf("%s saw a connection from %s, not from the load balancer's interfaces %v", be.name, src, ips)
			}
		}
		be.mu.Unlock()
	}

	// A TCP listener to the same instances.
	tcpPort := freePort(t)
	must[*sdk.CreateLoadBalancerListenersOutput](t)(e.elb.CreateLoadBalancerListeners(ctx, &sdk.CreateLoadBalancerListenersInput{LoadBalancerName: aws.String("web"),
		Listeners: []types.Listener{{Protocol: aws.String("tcp"), LoadBalancerPort: tcpPort, InstancePort: aws.Int32(int32(a.port))}}}))
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", tcpPort))
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if s := string(body); s == "a" || s == "b" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the TCP listener does not pass through: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// With draining, a deregistered instance takes no new connections
	// and says so until its timeout.
	must[*sdk.ModifyLoadBalancerAttributesOutput](t)(e.elb.ModifyLoadBalancerAttributes(ctx, &sdk.ModifyLoadBalancerAttributesInput{LoadBalancerName: aws.String("web"),
		LoadBalancerAttributes: &types.LoadBalancerAttributes{ConnectionDraining: &types.ConnectionDraining{Enabled: true, Timeout: aws.Int32(300)}}}))
	left := must[*sdk.DeregisterInstancesFromLoadBalancerOutput](t)(e.elb.DeregisterInstancesFromLoadBalancer(ctx, &sdk.DeregisterInstancesFromLoadBalancerInput{
		LoadBalancerName: aws.String("web"), Instances: []types.Instance{{InstanceId: aws.String("i-0000000000000000a")}}}))
	if len(left.Instances) != 1 || aws.ToString(left.Instances[0].InstanceId) != "i-0000000000000000b" {
		t.Fatalf("instances left %+v", left.Instances)
	}
	waitHealth(map[string]state{"i-0000000000000000a": {"OutOfService", "ELB", "Instance deregistration currently in progress."}, "i-0000000000000000b": inService})
	// Once the data plane has the change, 8 requests in a row go to b.
	deadline = time.Now().Add(10 * time.Second)
	for run := 0; run < 8; {
		if get(port) == "200 b" {
			run++
		} else if run = 0; time.Now().After(deadline) {
			t.Fatal("a drained instance still takes requests")
		}
	}

	// An instance that stops is out of service for the instance's reason.
	inst := must[ec2.InstanceRecord](t)(e.ec2.Instance(ctx, "i-0000000000000000b"))
	inst.State = ec2.StateStopped
	if err := store.Put(ctx, e.st, e.ec2.InstancesPrefix()+inst.ID, inst); err != nil {
		t.Fatal(err)
	}
	got := health()["i-0000000000000000b"]
	if got != (state{"OutOfService", "Instance", "Instance is in stopped state."}) {
		t.Fatalf("stopped instance: %v", got)
	}
}
