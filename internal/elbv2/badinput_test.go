package elbv2

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// TestBadInputIsRefused: each bad request gets ELBv2's error code (a 4xx)
// and leaves nothing behind.
func TestBadInputIsRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	vpc, subnets := e.subnets(t)
	otherVPC, otherSubnets := e.loopbackVPC(t)
	lb := must[*sdk.CreateLoadBalancerOutput](t)(e.elb.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{Name: aws.String("web"), Subnets: subnets})).LoadBalancers[0]
	nlb := must[*sdk.CreateLoadBalancerOutput](t)(e.elb.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{Name: aws.String("net"), Subnets: subnets[:1], Type: types.LoadBalancerTypeEnumNetwork})).LoadBalancers[0]
	tg := must[*sdk.CreateTargetGroupOutput](t)(e.elb.CreateTargetGroup(ctx, &sdk.CreateTargetGroupInput{Name: aws.String("web"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: &vpc})).TargetGroups[0]
	ipTG := must[*sdk.CreateTargetGroupOutput](t)(e.elb.CreateTargetGroup(ctx, &sdk.CreateTargetGroupInput{Name: aws.String("ip"), TargetType: types.TargetTypeEnumIp, Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: &vpc})).TargetGroups[0]
	otherTG := must[*sdk.CreateTargetGroupOutput](t)(e.elb.CreateTargetGroup(ctx, &sdk.CreateTargetGroupInput{Name: aws.String("other"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: &otherVPC})).TargetGroups[0]
	tcpTG := must[*sdk.CreateTargetGroupOutput](t)(e.elb.CreateTargetGroup(ctx, &sdk.CreateTargetGroupInput{Name: aws.String("tcp"), Protocol: types.ProtocolEnumTcp, Port: aws.Int32(80), VpcId: &vpc})).TargetGroups[0]
	port := int32(freePort(t))
	l := must[*sdk.CreateListenerOutput](t)(e.elb.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Port: &port,
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: tg.TargetGroupArn}}})).Listeners[0]
	must[*sdk.CreateRuleOutput](t)(e.elb.CreateRule(ctx, &sdk.CreateRuleInput{ListenerArn: l.ListenerArn, Priority: aws.Int32(1),
		Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/a"}}}, Actions: []types.Action{fixedAction("200", "a")}}))
	// A port another program of the machine holds.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := int32(busy.Addr().(*net.TCPAddr).Port)

	createLB := func(mod func(*sdk.CreateLoadBalancerInput)) error {
		in := &sdk.CreateLoadBalancerInput{Name: aws.String("new"), Subnets: subnets}
		mod(in)
		_, err := e.elb.CreateLoadBalancer(ctx, in)
		return err
	}
	createTG := func(mod func(*sdk.CreateTargetGroupInput)) error {
		in := &sdk.CreateTargetGroupInput{Name: aws.String("new"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: &vpc}
		mod(in)
		_, err := e.elb.CreateTargetGroup(ctx, in)
		return err
	}
	listen := func(lbARN *string, p int32, acts ...types.Action) error {
		_, err := e.elb.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: lbARN, Port: &p, DefaultActions: acts})
		return err
	}
	forward := func(arn *string) types.Action {
		return types.Action{Type: types.ActionTypeEnumForward, TargetGroupArn: arn}
	}
	rule := func(prio int32, conds []types.RuleCondition, acts ...types.Action) error {
		_, err := e.elb.CreateRule(ctx, &sdk.CreateRuleInput{ListenerArn: l.ListenerArn, Priority: &prio, Conditions: conds, Actions: acts})
		return err
	}
	path := []types.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/b"}}}
	register := func(arn *string, ids ...string) error {
		var ts []types.TargetDescription
		for _, id := range ids {
			ts = append(ts, types.TargetDescription{Id: aws.String(id)})
		}
		_, err := e.elb.RegisterTargets(ctx, &sdk.RegisterTargetsInput{TargetGroupArn: arn, Targets: ts})
		return err
	}
	for _, tc := range []struct {
		name string
		err  error
		code string
	}{
		{"one zone for an application load balancer", createLB(func(in *sdk.CreateLoadBalancerInput) { in.Subnets = subnets[:1] }), "ValidationError"},
		{"unknown subnet", createLB(func(in *sdk.CreateLoadBalancerInput) { in.Subnets = []string{subnets[0], "subnet-00000000000000000"} }), "SubnetNotFound"},
		{"subnets of two VPCs", createLB(func(in *sdk.CreateLoadBalancerInput) { in.Subnets = []string{subnets[0], otherSubnets[1]} }), "InvalidSubnet"},
		{"unknown security group", createLB(func(in *sdk.CreateLoadBalancerInput) { in.SecurityGroups = []string{"sg-00000000000000000"} }), "InvalidSecurityGroup"},
		{"bad name", createLB(func(in *sdk.CreateLoadBalancerInput) { in.Name = aws.String("-web") }), "ValidationError"},
		{"internal- name", createLB(func(in *sdk.CreateLoadBalancerInput) { in.Name = aws.String("internal-web") }), "ValidationError"},
		{"bad scheme", createLB(func(in *sdk.CreateLoadBalancerInput) { in.Scheme = "public" }), "ValidationError"},
		{"gateway type", createLB(func(in *sdk.CreateLoadBalancerInput) { in.Type = types.LoadBalancerTypeEnumGateway }), "ValidationError"},
		{"a parameter Berth does not act on", createLB(func(in *sdk.CreateLoadBalancerInput) { in.CustomerOwnedIpv4Pool = aws.String("x") }), "ValidationError"},
		{"reserved tag", createLB(func(in *sdk.CreateLoadBalancerInput) {
			in.Tags = []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("1")}}
		}), "ValidationError"},
		{"duplicate tag keys", createLB(func(in *sdk.CreateLoadBalancerInput) {
			in.Tags = []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("a"), Value: aws.String("2")}}
		}), "DuplicateTagKeys"},
		{"target group without port", createTG(func(in *sdk.CreateTargetGroupInput) { in.Port = nil }), "ValidationError"},
		{"target group in an unknown VPC", createTG(func(in *sdk.CreateTargetGroupInput) { in.VpcId = aws.String("vpc-00000000000000000") }), "ValidationError"},
		{"lambda targets", createTG(func(in *sdk.CreateTargetGroupInput) { in.TargetType = types.TargetTypeEnumLambda }), "ValidationError"},
		{"interval out of range", createTG(func(in *sdk.CreateTargetGroupInput) { in.HealthCheckIntervalSeconds = aws.Int32(4) }), "ValidationError"},
		{"timeout not below interval", createTG(func(in *sdk.CreateTargetGroupInput) {
			in.HealthCheckIntervalSeconds, in.HealthCheckTimeoutSeconds = aws.Int32(5), aws.Int32(5)
		}), "ValidationError"},
		{"threshold out of range", createTG(func(in *sdk.CreateTargetGroupInput) { in.HealthyThresholdCount = aws.Int32(11) }), "ValidationError"},
		{"matcher out of range", createTG(func(in *sdk.CreateTargetGroupInput) { in.Matcher = &types.Matcher{HttpCode: aws.String("200-599")} }), "ValidationError"},
		{"path without slash", createTG(func(in *sdk.CreateTargetGroupInput) { in.HealthCheckPath = aws.String("health") }), "ValidationError"},
		{"same name, other settings", createTG(func(in *sdk.CreateTargetGroupInput) { in.Name, in.Port = aws.String("web"), aws.Int32(81) }), "DuplicateTargetGroupName"},
		{"listener port in use by another listener", listen(nlb.LoadBalancerArn, port, forward(tcpTG.TargetGroupArn)), "DuplicateListener"},
		{"listener port in use by another program", listen(lb.LoadBalancerArn, busyPort, forward(tg.TargetGroupArn)), "InvalidConfigurationRequest"},
		{"TCP on an application load balancer", second(e.elb.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: types.ProtocolEnumTcp,
			Port: aws.Int32(port + 1), DefaultActions: []types.Action{forward(tg.TargetGroupArn)}})), "UnsupportedProtocol"},
		{"HTTPS listener without a certificate", second(e.elb.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: types.ProtocolEnumHttps,
			Port: aws.Int32(port + 1), DefaultActions: []types.Action{forward(tg.TargetGroupArn)}})), "ValidationError"},
		{"TLS on an application load balancer", second(e.elb.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: types.ProtocolEnumTls,
			Port: aws.Int32(port + 1), DefaultActions: []types.Action{forward(tg.TargetGroupArn)}})), "UnsupportedProtocol"},
		{"UDP listener to a TCP group", second(e.elb.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: nlb.LoadBalancerArn, Protocol: types.ProtocolEnumUdp,
			Port: aws.Int32(port + 1), DefaultActions: []types.Action{forward(tcpTG.TargetGroupArn)}})), "IncompatibleProtocols"},
		{"GENEVE listener", second(e.elb.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: nlb.LoadBalancerArn, Protocol: types.ProtocolEnumGeneve,
			Port: aws.Int32(port + 1), DefaultActions: []types.Action{forward(tcpTG.TargetGroupArn)}})), "UnsupportedProtocol"},
		{"target group of another VPC", listen(lb.LoadBalancerArn, port+1, forward(otherTG.TargetGroupArn)), "ValidationError"},
		{"TCP group behind an application load balancer", listen(lb.LoadBalancerArn, port+1, forward(tcpTG.TargetGroupArn)), "IncompatibleProtocols"},
		{"unknown target group", listen(lb.LoadBalancerArn, port+1, forward(aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/nope/0123456789abcdef"))), "TargetGroupNotFound"},
		{"fixed response on a network load balancer", listen(nlb.LoadBalancerArn, port+1, fixedAction("200", "x")), "InvalidLoadBalancerAction"},
		{"bad fixed status", listen(lb.LoadBalancerArn, port+1, fixedAction("302", "x")), "ValidationError"},
		{"redirect loop", listen(lb.LoadBalancerArn, port+1, types.Action{Type: types.ActionTypeEnumRedirect,
			RedirectConfig: &types.RedirectActionConfig{StatusCode: types.RedirectActionStatusCodeEnumHttp302}}), "InvalidLoadBalancerAction"},
		{"unknown load balancer", listen(aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/nope/0123456789abcdef"), port+1, forward(tg.TargetGroupArn)), "LoadBalancerNotFound"},
		{"priority in use", rule(1, path, fixedAction("200", "b")), "PriorityInUse"},
		{"priority out of range", rule(50001, path, fixedAction("200", "b")), "ValidationError"},
		{"unknown condition field", rule(2, []types.RuleCondition{{Field: aws.String("cookie"), Values: []string{"x"}}}, fixedAction("200", "b")), "ValidationError"},
		{"bad source CIDR", rule(2, []types.RuleCondition{{Field: aws.String("source-ip"), SourceIpConfig: &types.SourceIpConditionConfig{Values: []string{"10.0.0.1"}}}}, fixedAction("200", "b")), "ValidationError"},
		{"too many condition values", rule(2, []types.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/1", "/2", "/3", "/4", "/5", "/6"}}}, fixedAction("200", "b")), "ValidationError"},
		{"delete a target group in use", second(e.elb.DeleteTargetGroup(ctx, &sdk.DeleteTargetGroupInput{TargetGroupArn: tg.TargetGroupArn})), "ResourceInUse"},
		{"instance that does not exist", register(tg.TargetGroupArn, "i-0123456789abcdef0"), "InvalidTarget"},
		{"ip outside the VPC", register(ipTG.TargetGroupArn, "127.0.0.1"), "InvalidTarget"},
		{"not an ip", register(ipTG.TargetGroupArn, "web"), "InvalidTarget"},
		{"deregister a target not registered", second(e.elb.DeregisterTargets(ctx, &sdk.DeregisterTargetsInput{TargetGroupArn: ipTG.TargetGroupArn,
			Targets: []types.TargetDescription{{Id: aws.String("172.31.0.9")}}})), "InvalidTarget"},
		{"unknown attribute", second(e.elb.ModifyTargetGroupAttributes(ctx, &sdk.ModifyTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn,
			Attributes: []types.TargetGroupAttribute{{Key: aws.String("nope"), Value: aws.String("1")}}})), "ValidationError"},
		{"delay out of range", second(e.elb.ModifyTargetGroupAttributes(ctx, &sdk.ModifyTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn,
			Attributes: []types.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("3601")}}})), "ValidationError"},
		{"idle timeout not a number", second(e.elb.ModifyLoadBalancerAttributes(ctx, &sdk.ModifyLoadBalancerAttributesInput{LoadBalancerArn: lb.LoadBalancerArn,
			Attributes: []types.LoadBalancerAttribute{{Key: aws.String("idle_timeout.timeout_seconds"), Value: aws.String("soon")}}})), "ValidationError"},
		{"cross-zone off on an application load balancer", second(e.elb.ModifyLoadBalancerAttributes(ctx, &sdk.ModifyLoadBalancerAttributesInput{LoadBalancerArn: lb.LoadBalancerArn,
			Attributes: []types.LoadBalancerAttribute{{Key: aws.String("load_balancing.cross_zone.enabled"), Value: aws.String("false")}}})), "InvalidConfigurationRequest"},
		{"describe listeners of nothing", second(e.elb.DescribeListeners(ctx, &sdk.DescribeListenersInput{})), "ValidationError"},
		{"bad marker", second(e.elb.DescribeLoadBalancers(ctx, &sdk.DescribeLoadBalancersInput{Marker: aws.String("!!")})), "ValidationError"},
		{"unknown rule", second(e.elb.DeleteRule(ctx, &sdk.DeleteRuleInput{RuleArn: aws.String(strings.Replace(aws.ToString(l.ListenerArn), ":listener/", ":listener-rule/", 1) + "/0123456789abcdef")})), "RuleNotFound"},
		{"tags of an unknown listener", second(e.elb.DescribeTags(ctx, &sdk.DescribeTagsInput{ResourceArns: []string{aws.ToString(l.ListenerArn) + "0"}})), "ListenerNotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, tc.err, tc.code) })
	}
	// Nothing half-made: the two load balancers, their one listener and
	// rule, the four target groups, and only the listener's port.
	out := must[*sdk.DescribeLoadBalancersOutput](t)(e.elb.DescribeLoadBalancers(ctx, &sdk.DescribeLoadBalancersInput{}))
	tgs := must[*sdk.DescribeTargetGroupsOutput](t)(e.elb.DescribeTargetGroups(ctx, &sdk.DescribeTargetGroupsInput{}))
	ls := must[*sdk.DescribeListenersOutput](t)(e.elb.DescribeListeners(ctx, &sdk.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn}))
	rs := must[*sdk.DescribeRulesOutput](t)(e.elb.DescribeRules(ctx, &sdk.DescribeRulesInput{ListenerArn: l.ListenerArn}))
	ports, _ := e.st.Keys(ctx, e.svc.keys.prefix+"port/")
	if len(out.LoadBalancers) != 2 || len(tgs.TargetGroups) != 4 || len(ls.Listeners) != 1 || len(rs.Rules) != 2 || len(ports) != 1 {
		t.Fatalf("after refused calls: %d load balancers, %d target groups, %d listeners, %d rules, ports %v",
			len(out.LoadBalancers), len(tgs.TargetGroups), len(ls.Listeners), len(rs.Rules), ports)
	}
}

func second[T any](_ T, err error) error { return err }

// TestMalformedRequestsAre4xx sends every action raw, with no parameters,
// with an unknown one and with values that do not parse: each answer is a
// 4xx, never a 5xx.
func TestMalformedRequestsAre4xx(t *testing.T) {
	e := newEnv(t)
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: testAccount.RootAccessKeyID, SecretAccessKey: testAccount.RootSecretAccessKey}
	c := &http.Client{Timeout: 10 * time.Second}
	send := func(form url.Values) (int, string) {
		body := form.Encode()
		req, _ := http.NewRequest(http.MethodPost, e.url+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		sum := sha256.Sum256([]byte(body))
		if err := signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "elasticloadbalancing", testRegion, time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, action := range e.svc.QueryService().Actions() {
		for i, extra := range []url.Values{
			{},
			{"Bogus": {"1"}},
			{"Port": {"x"}, "PageSize": {"0"}, "Priority": {"-1"}, "Targets.member.1.Port": {"nine"}},
			{"LoadBalancerArn": {"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x"}, "TargetGroupArn": {"x"}, "ListenerArn": {"x"}, "RuleArn": {"x"}},
		} {
			form := url.Values{"Action": {action}, "Version": {"2015-12-01"}}
			for k, v := range extra {
				form[k] = v
			}
			status, body := send(form)
			if status < 400 || status >= 500 {
				if status < 400 && i == 0 && strings.HasPrefix(action, "Describe") && action != "DescribeTags" && action != "DescribeTargetHealth" &&
					action != "DescribeListeners" && action != "DescribeRules" && !strings.HasSuffix(action, "Attributes") {
					continue // listing everything needs no parameter
				}
				t.Errorf("%s %d: %d %s", action, i, status, body)
			}
			if i == 1 && !strings.Contains(body, "Bogus") {
				t.Errorf("%s with an unknown parameter: %s", action, body)
			}
		}
	}
}
