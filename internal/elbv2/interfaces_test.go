package elbv2

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/berth-dev/berth/internal/ec2"
)

// TestLoadBalancerInterfaces: a load balancer has an interface in each of
// its subnets, in its security groups, requested by ELB; its requests and
// health checks reach a target from the interface of the target's zone;
// deleting the load balancer deletes them.
func TestLoadBalancerInterfaces(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var mu sync.Mutex
	sources := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		mu.Lock()
		sources[host]++
		mu.Unlock()
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	url, _, tg := e.alb(t, srv)
	lb := must[*sdk.DescribeLoadBalancersOutput](t)(e.elb.DescribeLoadBalancers(ctx, &sdk.DescribeLoadBalancersInput{Names: []string{"web"}})).LoadBalancers[0]
	enis := must[*sdkec2.DescribeNetworkInterfacesOutput](t)(e.ec2c.DescribeNetworkInterfaces(ctx, &sdkec2.DescribeNetworkInterfacesInput{
		Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{aws.ToString(lb.VpcId)}}}})).NetworkInterfaces
	if len(enis) != 2 {
		t.Fatalf("%d interfaces, want one per subnet", len(enis))
	}
	zoneA := ""
	for _, n := range enis {
		if aws.ToString(n.RequesterId) != ec2.RequesterELB || len(n.Groups) != 1 || aws.ToString(n.Groups[0].GroupId) != lb.SecurityGroups[0] {
			t.Fatalf("interface %+v, want ELB's in the load balancer's group %s", n, lb.SecurityGroups[0])
		}
		if aws.ToString(n.AvailabilityZone) == testRegion+"a" {
			zoneA = aws.ToString(n.PrivateIpAddress)
		}
	}
	waitFor(t, func() bool { return e.health(t, tg)[mustPort(t, srv)] == "healthy/" })
	for range 3 {
		if status, body, _ := get(t, http.DefaultClient, url+"/"); status != 200 {
			t.Fatalf("GET = %d %s", status, body)
		}
	}
	mu.Lock()
	got := sources
	mu.Unlock()
	if len(got) != 1 || got[zoneA] < 4 {
		t.Fatalf("the target saw connections from %v, want all from the zone's interface %s", got, zoneA)
	}
	must[*sdk.DeleteLoadBalancerOutput](t)(e.elb.DeleteLoadBalancer(ctx, &sdk.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn}))
	left, err := e.ec2.Interfaces(ctx)
	if err != nil || len(left) != 0 {
		t.Fatalf("interfaces left after the load balancer: %d %v", len(left), err)
	}
}

func mustPort(t testing.TB, srv *httptest.Server) int32 {
	_, p := hostPort(t, srv)
	return p
}
