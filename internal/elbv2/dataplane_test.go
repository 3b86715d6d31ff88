package elbv2

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// backend is a plain HTTP server on 127.0.0.1 answering its name, and
// the load balancer's headers it saw.
func backend(t testing.TB, name string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-For", r.Header.Get("X-Forwarded-For"))
		w.Header().Set("X-Seen-Port", r.Header.Get("X-Forwarded-Port"))
		w.Header().Set("X-Seen-Proto", r.Header.Get("X-Forwarded-Proto"))
		w.Header().Set("X-Seen-Trace", r.Header.Get("X-Amzn-Trace-Id"))
		io.WriteString(w, name)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func hostPort(t testing.TB, srv *httptest.Server) (string, int32) {
	host, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(port)
	return host, int32(n)
}

// alb makes an application load balancer in a 127.0.0.0/16 VPC with an ip
// target group of the given servers, and a listener on a free port of
// 127.0.0.1 forwarding to it. It returns the listener's URL and ARN and
// the target group's ARN.
func (e *env) alb(t testing.TB, servers ...*httptest.Server) (url, listener, tg string) {
	t.Helper()
	ctx := context.Background()
	vpc, subnets := e.loopbackVPC(t)
	lb := must[*sdk.CreateLoadBalancerOutput](t)(e.elb.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{Name: aws.String("web"), Subnets: subnets})).LoadBalancers[0]
	g := must[*sdk.CreateTargetGroupOutput](t)(e.elb.CreateTargetGroup(ctx, &sdk.CreateTargetGroupInput{Name: aws.String("web"), TargetType: types.TargetTypeEnumIp,
		Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: &vpc, HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2)})).TargetGroups[0]
	tg = aws.ToString(g.TargetGroupArn)
	var targets []types.TargetDescription
	for _, s := range servers {
		host, port := hostPort(t, s)
		targets = append(targets, types.TargetDescription{Id: aws.String(host), Port: aws.Int32(port)})
	}
	must[*sdk.RegisterTargetsOutput](t)(e.elb.RegisterTargets(ctx, &sdk.RegisterTargetsInput{TargetGroupArn: &tg, Targets: targets}))
	port := int32(freePort(t))
	l := must[*sdk.CreateListenerOutput](t)(e.elb.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: types.ProtocolEnumHttp,
		Port: &port, DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: &tg}}})).Listeners[0]
	return fmt.Sprintf("http://127.0.0.1:%d", port), aws.ToString(l.ListenerArn), tg
}

// health is each target's state by its port.
func (e *env) health(t testing.TB, tg string) map[int32]string {
	out := must[*sdk.DescribeTargetHealthOutput](t)(e.elb.DescribeTargetHealth(context.Background(), &sdk.DescribeTargetHealthInput{TargetGroupArn: &tg}))
	m := map[int32]string{}
	for _, d := range out.TargetHealthDescriptions {
		if z := aws.ToString(d.Target.AvailabilityZone); z != testRegion+"a" {
			t.Fatalf("target %s:%d in zone %q, want its subnet's", aws.ToString(d.Target.Id), aws.ToInt32(d.Target.Port), z)
		}
		m[aws.ToInt32(d.Target.Port)] = string(d.TargetHealth.State) + "/" + string(d.TargetHealth.Reason)
	}
	return m
}

func get(t testing.TB, c *http.Client, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// TestApplicationLoadBalancerServes: requests through the listener go to
// the two healthy targets in turn with the load balancer's headers; a
// target whose server stops turns unhealthy (Target.FailedHealthChecks)
// and gets no traffic; path rules answer fixed responses and redirects;
// a target group with no listener is unused; a deregistered target
// drains.
func TestApplicationLoadBalancerServes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, b := backend(t, "a"), backend(t, "b")
	_, portA := hostPort(t, a)
	_, portB := hostPort(t, b)
	url, listener, tg := e.alb(t, a, b)
	waitFor(t, func() bool {
		h := e.health(t, tg)
		return h[portA] == "healthy/" && h[portB] == "healthy/"
	})
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	seen := map[string]int{}
	var last string
	for i := 0; i < 10; i++ {
		status, body, h := get(t, c, url+"/")
		if status != 200 {
			t.Fatalf("GET = %d %s", status, body)
		}
		if body == last {
			t.Fatalf("request %d went to %s again: no round robin", i, body)
		}
		last = body
		seen[body]++
		if h.Get("X-Seen-For") != "127.0.0.1" || h.Get("X-Seen-Proto") != "http" || h.Get("X-Seen-Port") != url[len("http://127.0.0.1:"):] || len(h.Get("X-Seen-Trace")) != len("Root=1-00000000-000000000000000000000000") {
			t.Fatalf("headers at the target: %v", h)
		}
	}
	if seen["a"] != 5 || seen["b"] != 5 {
		t.Fatalf("spread %v", seen)
	}

	// Rules: a fixed response on /status/*, a redirect on host old.example.
	must[*sdk.CreateRuleOutput](t)(e.elb.CreateRule(ctx, &sdk.CreateRuleInput{ListenerArn: &listener, Priority: aws.Int32(1),
		Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/status/*"}}},
		Actions:    []types.Action{fixedAction("418", "teapot")}}))
	must[*sdk.CreateRuleOutput](t)(e.elb.CreateRule(ctx, &sdk.CreateRuleInput{ListenerArn: &listener, Priority: aws.Int32(2),
		Conditions: []types.RuleCondition{{Field: aws.String("http-request-method"), HttpRequestMethodConfig: &types.HttpRequestMethodConditionConfig{Values: []string{"GET"}}},
			{Field: aws.String("query-string"), QueryStringConfig: &types.QueryStringConditionConfig{Values: []types.QueryStringKeyValuePair{{Key: aws.String("go"), Value: aws.String("away")}}}}},
		Actions: []types.Action{{Type: types.ActionTypeEnumRedirect, RedirectConfig: &types.RedirectActionConfig{Host: aws.String("example.com"), StatusCode: types.RedirectActionStatusCodeEnumHttp301}}}}))
	waitFor(t, func() bool {
		s1, _, _ := get(t, c, url+"/status/x")
		s2, _, _ := get(t, c, url+"/p?go=away")
		return s1 == 418 && s2 == 301
	})
	if s, body, _ := get(t, c, url+"/status/x"); s != 418 || body != "teapot" {
		t.Fatalf("fixed response = %d %q", s, body)
	}
	if s, _, h := get(t, c, url+"/p?go=away"); s != 301 || h.Get("Location") != "http://example.com:"+url[len("http://127.0.0.1:"):]+"/p?go=away" {
		t.Fatalf("redirect = %d %q", s, h.Get("Location"))
	}
	if s, _, _ := get(t, c, url+"/statusx"); s != 200 {
		t.Fatalf("a path outside the rule = %d", s)
	}

	// b stops: it turns unhealthy and gets nothing.
	b.Close()
	waitFor(t, func() bool { return e.health(t, tg)[portB] == "unhealthy/Target.FailedHealthChecks" })
	for i := 0; i < 6; i++ {
		if s, body, _ := get(t, c, url+"/"); s != 200 || body != "a" {
			t.Fatalf("with b down: %d %q", s, body)
		}
	}

	// Deregistered, a drains for the group's delay, then is gone.
	must[*sdk.ModifyTargetGroupAttributesOutput](t)(e.elb.ModifyTargetGroupAttributes(ctx, &sdk.ModifyTargetGroupAttributesInput{TargetGroupArn: &tg,
		Attributes: []types.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("1")}}}))
	host, _ := hostPort(t, a)
	must[*sdk.DeregisterTargetsOutput](t)(e.elb.DeregisterTargets(ctx, &sdk.DeregisterTargetsInput{TargetGroupArn: &tg,
		Targets: []types.TargetDescription{{Id: aws.String(host), Port: aws.Int32(portA)}}}))
	if h := e.health(t, tg); h[portA] != "draining/Target.DeregistrationInProgress" {
		t.Fatalf("deregistered target: %v", h)
	}
	waitFor(t, func() bool { _, ok := e.health(t, tg)[portA]; return !ok })

	// Deleting the listener closes its port.
	must[*sdk.DeleteListenerOutput](t)(e.elb.DeleteListener(ctx, &sdk.DeleteListenerInput{ListenerArn: &listener}))
	waitFor(t, func() bool { _, err := http.Get(url + "/"); return err != nil })
	if h := e.health(t, tg); h[portB] != "unused/Target.NotInUse" {
		t.Fatalf("targets of a group no listener uses: %v", h)
	}
}

// TestListenersComeBack: a new data plane (a restarted server) opens the
// stored listeners again.
func TestListenersComeBack(t *testing.T) {
	e := newEnv(t)
	a := backend(t, "a")
	url, _, _ := e.alb(t, a)
	c := &http.Client{}
	waitFor(t, func() bool { return answers(c, url, "a") })
	e.svc.Close()
	if _, err := http.Get(url + "/"); err == nil {
		t.Fatal("the listener answers after its data plane closed")
	}
	restarted := New(Config{Region: testRegion, Account: testAccount.ID, CheckInterval: e.svc.cfg.CheckInterval}, e.st, e.ec2, e.svc.authz, e.svc.log)
	t.Cleanup(restarted.Close)
	if _, err := restarted.applyOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return answers(c, url, "a") })
}

// answers reports whether url answers 200 with body.
func answers(c *http.Client, url, body string) bool {
	resp, err := c.Get(url + "/")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == 200 && string(b) == body
}

// TestWeightedForwardAndMovedListener: a forward action's weights split
// the traffic between target groups (weight 0 takes none), and a listener
// moved to another port is served there and no longer on the old one.
func TestWeightedForwardAndMovedListener(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, b := backend(t, "a"), backend(t, "b")
	url, listener, tgA := e.alb(t, a)
	vpc := aws.ToString(must[*sdk.DescribeTargetGroupsOutput](t)(e.elb.DescribeTargetGroups(ctx, &sdk.DescribeTargetGroupsInput{TargetGroupArns: []string{tgA}})).TargetGroups[0].VpcId)
	tgB := aws.ToString(must[*sdk.CreateTargetGroupOutput](t)(e.elb.CreateTargetGroup(ctx, &sdk.CreateTargetGroupInput{Name: aws.String("web-b"), TargetType: types.TargetTypeEnumIp,
		Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: &vpc, HealthyThresholdCount: aws.Int32(2)})).TargetGroups[0].TargetGroupArn)
	host, port := hostPort(t, b)
	must[*sdk.RegisterTargetsOutput](t)(e.elb.RegisterTargets(ctx, &sdk.RegisterTargetsInput{TargetGroupArn: &tgB, Targets: []types.TargetDescription{{Id: &host, Port: &port}}}))
	weights := func(wa, wb int32) {
		must[*sdk.ModifyListenerOutput](t)(e.elb.ModifyListener(ctx, &sdk.ModifyListenerInput{ListenerArn: &listener, DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward,
			ForwardConfig: &types.ForwardActionConfig{TargetGroups: []types.TargetGroupTuple{{TargetGroupArn: &tgA, Weight: aws.Int32(wa)}, {TargetGroupArn: &tgB, Weight: aws.Int32(wb)}}}}}}))
	}
	c := &http.Client{}
	weights(0, 1)
	waitFor(t, func() bool { return answers(c, url, "b") && e.health(t, tgB)[port] == "healthy/" })
	for i := 0; i < 10; i++ {
		if !answers(c, url, "b") {
			t.Fatal("weight 0 took traffic")
		}
	}
	weights(1, 1)
	seen := map[string]int{}
	waitFor(t, func() bool {
		for _, name := range []string{"a", "b"} {
			if answers(c, url, name) {
				seen[name]++
			}
		}
		return seen["a"] > 0 && seen["b"] > 0
	})
	lbs := must[*sdk.DescribeTargetGroupsOutput](t)(e.elb.DescribeTargetGroups(ctx, &sdk.DescribeTargetGroupsInput{TargetGroupArns: []string{tgB}})).TargetGroups[0].LoadBalancerArns
	if len(lbs) != 1 {
		t.Fatalf("target group B's load balancers: %v", lbs)
	}

	moved := int32(freePort(t))
	must[*sdk.ModifyListenerOutput](t)(e.elb.ModifyListener(ctx, &sdk.ModifyListenerInput{ListenerArn: &listener, Port: &moved}))
	newURL := fmt.Sprintf("http://127.0.0.1:%d", moved)
	waitFor(t, func() bool { return answers(c, newURL, "a") || answers(c, newURL, "b") })
	waitFor(t, func() bool { _, err := c.Get(url + "/"); return err != nil })
}

// TestListenerSecurityGroups: a load balancer's security groups decide
// which clients its listeners take, as on AWS: with a group that admits
// nothing the listener refuses this machine's clients; a rule for the
// listener's port from 127.0.0.1/32 admits them at the next connection,
// one for another port does not, and revoking the rule refuses them
// again.
func TestListenerSecurityGroups(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	url, listener, _ := e.alb(t, backend(t, "a"))
	port, _ := strconv.Atoi(url[strings.LastIndexByte(url, ':')+1:])
	l := must[*sdk.DescribeListenersOutput](t)(e.elb.DescribeListeners(ctx, &sdk.DescribeListenersInput{ListenerArns: []string{listener}})).Listeners[0]
	lbArn := aws.ToString(l.LoadBalancerArn)
	balancer := must[*sdk.DescribeLoadBalancersOutput](t)(e.elb.DescribeLoadBalancers(ctx, &sdk.DescribeLoadBalancersInput{LoadBalancerArns: []string{lbArn}})).LoadBalancers[0]
	sg := must[*sdkec2.CreateSecurityGroupOutput](t)(e.ec2c.CreateSecurityGroup(ctx, &sdkec2.CreateSecurityGroupInput{GroupName: aws.String("lb"),
		Description: aws.String("load balancer"), VpcId: balancer.VpcId})).GroupId
	must[*sdk.SetSecurityGroupsOutput](t)(e.elb.SetSecurityGroups(ctx, &sdk.SetSecurityGroupsInput{LoadBalancerArn: &lbArn, SecurityGroups: []string{*sg}}))
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	answers := func() bool {
		resp, err := c.Get(url + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	perm := func(from, to int32) []ec2types.IpPermission {
		return []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(from), ToPort: aws.Int32(to),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("127.0.0.1/32")}}}}
	}
	waitFor(t, func() bool { return !answers() })
	must[*sdkec2.AuthorizeSecurityGroupIngressOutput](t)(e.ec2c.AuthorizeSecurityGroupIngress(ctx, &sdkec2.AuthorizeSecurityGroupIngressInput{GroupId: sg,
		IpPermissions: perm(int32(port)+1, int32(port)+1)}))
	time.Sleep(300 * time.Millisecond)
	if answers() {
		t.Fatal("a rule for another port admitted the client")
	}
	must[*sdkec2.AuthorizeSecurityGroupIngressOutput](t)(e.ec2c.AuthorizeSecurityGroupIngress(ctx, &sdkec2.AuthorizeSecurityGroupIngressInput{GroupId: sg,
		IpPermissions: perm(int32(port), int32(port))}))
	waitFor(t, answers)
	must[*sdkec2.RevokeSecurityGroupIngressOutput](t)(e.ec2c.RevokeSecurityGroupIngress(ctx, &sdkec2.RevokeSecurityGroupIngressInput{GroupId: sg,
		IpPermissions: perm(int32(port), int32(port))}))
	waitFor(t, func() bool { return !answers() })
}
