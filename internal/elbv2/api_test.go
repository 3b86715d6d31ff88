package elbv2

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/berth-dev/berth/internal/ec2"
)

// TestLoadBalancerLifecycle walks the article's set-up through the SDK: an
// application load balancer in two subnets, a target group with AWS's
// defaults, a listener forwarding to it, rules, attributes and tags; then
// what AWS refuses while things are in use, and the deletes.
func TestLoadBalancerLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	vpc, subnets := e.subnets(t)
	alb := must[*sdk.CreateLoadBalancerOutput](t)(e.elb.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{Name: aws.String("web"), Subnets: subnets,
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}}})).LoadBalancers[0]
	arn := aws.ToString(alb.LoadBalancerArn)
	if !strings.HasPrefix(arn, "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/") || len(arn) != len("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/")+16 {
		t.Fatalf("ARN %s", arn)
	}
	if dns := aws.ToString(alb.DNSName); !strings.HasPrefix(dns, "web-") || !strings.HasSuffix(dns, ".us-east-1.elb.amazonaws.com") {
		t.Fatalf("DNSName %s", dns)
	}
	if alb.Type != types.LoadBalancerTypeEnumApplication || alb.Scheme != types.LoadBalancerSchemeEnumInternetFacing || aws.ToString(alb.VpcId) != vpc ||
		len(alb.AvailabilityZones) != 2 || len(alb.SecurityGroups) != 1 || alb.State.Code != types.LoadBalancerStateEnumProvisioning {
		t.Fatalf("load balancer %+v", alb)
	}
	// The same create again returns it; different settings are refused.
	again := must[*sdk.CreateLoadBalancerOutput](t)(e.elb.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{Name: aws.String("web"), Subnets: subnets})).LoadBalancers[0]
	if aws.ToString(again.LoadBalancerArn) != arn {
		t.Fatalf("idempotent create gave %s", aws.ToString(again.LoadBalancerArn))
	}
	_, err := e.elb.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{Name: aws.String("web"), Subnets: subnets, Scheme: types.LoadBalancerSchemeEnumInternal})
	wantCode(t, err, "DuplicateLoadBalancerName")
	// The data plane takes it: active.
	waitFor(t, func() bool {
		out := must[*sdk.DescribeLoadBalancersOutput](t)(e.elb.DescribeLoadBalancers(ctx, &sdk.DescribeLoadBalancersInput{Names: []string{"web"}}))
		return out.LoadBalancers[0].State.Code == types.LoadBalancerStateEnumActive
	})
	// Paging over two.
	must[*sdk.CreateLoadBalancerOutput](t)(e.elb.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{Name: aws.String("nlb"), Subnets: subnets[:1], Type: types.LoadBalancerTypeEnumNetwork}))
	p1 := must[*sdk.DescribeLoadBalancersOutput](t)(e.elb.DescribeLoadBalancers(ctx, &sdk.DescribeLoadBalancersInput{PageSize: aws.Int32(1)}))
	p2 := must[*sdk.DescribeLoadBalancersOutput](t)(e.elb.DescribeLoadBalancers(ctx, &sdk.DescribeLoadBalancersInput{PageSize: aws.Int32(1), Marker: p1.NextMarker}))
	if len(p1.LoadBalancers) != 1 || len(p2.LoadBalancers) != 1 || p2.NextMarker != nil || aws.ToString(p1.LoadBalancers[0].LoadBalancerName) != "nlb" || aws.ToString(p2.LoadBalancers[0].LoadBalancerName) != "web" {
		t.Fatalf("pages %+v %+v", p1, p2)
	}
	// Attributes: documented defaults, and a change.
	attrs := must[*sdk.DescribeLoadBalancerAttributesOutput](t)(e.elb.DescribeLoadBalancerAttributes(ctx, &sdk.DescribeLoadBalancerAttributesInput{LoadBalancerArn: &arn}))
	want := map[string]string{"idle_timeout.timeout_seconds": "60", "deletion_protection.enabled": "false", "routing.http2.enabled": "true", "load_balancing.cross_zone.enabled": "true"}
	for _, a := range attrs.Attributes {
		if w, ok := want[aws.ToString(a.Key)]; ok && w != aws.ToString(a.Value) {
			t.Fatalf("attribute %s = %s, want %s", aws.ToString(a.Key), aws.ToString(a.Value), w)
		}
		delete(want, aws.ToString(a.Key))
	}
	if len(want) > 0 {
		t.Fatalf("missing attributes %v", want)
	}
	must[*sdk.ModifyLoadBalancerAttributesOutput](t)(e.elb.ModifyLoadBalancerAttributes(ctx, &sdk.ModifyLoadBalancerAttributesInput{LoadBalancerArn: &arn,
		Attributes: []types.LoadBalancerAttribute{{Key: aws.String("deletion_protection.enabled"), Value: aws.String("true")}}}))
	_, err = e.elb.DeleteLoadBalancer(ctx, &sdk.DeleteLoadBalancerInput{LoadBalancerArn: &arn})
	wantCode(t, err, "OperationNotPermitted")
	must[*sdk.ModifyLoadBalancerAttributesOutput](t)(e.elb.ModifyLoadBalancerAttributes(ctx, &sdk.ModifyLoadBalancerAttributesInput{LoadBalancerArn: &arn,
		Attributes: []types.LoadBalancerAttribute{{Key: aws.String("deletion_protection.enabled"), Value: aws.String("false")}}}))

	// A target group with AWS's defaults.
	tg := must[*sdk.CreateTargetGroupOutput](t)(e.elb.CreateTargetGroup(ctx, &sdk.CreateTargetGroupInput{Name: aws.String("web-tg"),
		Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: &vpc})).TargetGroups[0]
	tgARN := aws.ToString(tg.TargetGroupArn)
	if !strings.HasPrefix(tgARN, "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg/") || tg.TargetType != types.TargetTypeEnumInstance ||
		aws.ToInt32(tg.HealthCheckIntervalSeconds) != 30 || aws.ToInt32(tg.HealthyThresholdCount) != 5 || aws.ToInt32(tg.UnhealthyThresholdCount) != 2 ||
		aws.ToString(tg.HealthCheckPath) != "/" || aws.ToString(tg.Matcher.HttpCode) != "200" || aws.ToString(tg.HealthCheckPort) != "traffic-port" {
		t.Fatalf("target group %+v", tg)
	}
	tga := must[*sdk.DescribeTargetGroupAttributesOutput](t)(e.elb.DescribeTargetGroupAttributes(ctx, &sdk.DescribeTargetGroupAttributesInput{TargetGroupArn: &tgARN}))
	if v := attrOf(tga.Attributes, "deregistration_delay.timeout_seconds"); v != "300" {
		t.Fatalf("deregistration delay %q", v)
	}
	must[*sdk.ModifyTargetGroupAttributesOutput](t)(e.elb.ModifyTargetGroupAttributes(ctx, &sdk.ModifyTargetGroupAttributesInput{TargetGroupArn: &tgARN,
		Attributes: []types.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("0")}}}))
	mod := must[*sdk.ModifyTargetGroupOutput](t)(e.elb.ModifyTargetGroup(ctx, &sdk.ModifyTargetGroupInput{TargetGroupArn: &tgARN,
		HealthCheckPath: aws.String("/health"), HealthCheckIntervalSeconds: aws.Int32(10), Matcher: &types.Matcher{HttpCode: aws.String("200-299")}})).TargetGroups[0]
	if aws.ToString(mod.HealthCheckPath) != "/health" || aws.ToInt32(mod.HealthCheckIntervalSeconds) != 10 {
		t.Fatalf("modified %+v", mod)
	}

	// A listener forwarding to it, and rules.
	port := int32(freePort(t))
	l := must[*sdk.CreateListenerOutput](t)(e.elb.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: &arn, Protocol: types.ProtocolEnumHttp, Port: &port,
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: &tgARN}}})).Listeners[0]
	lARN := aws.ToString(l.ListenerArn)
	if !strings.Contains(lARN, ":listener/app/web/") || l.DefaultActions[0].ForwardConfig == nil || aws.ToInt32(l.DefaultActions[0].ForwardConfig.TargetGroups[0].Weight) != 1 {
		t.Fatalf("listener %+v", l)
	}
	tgs := must[*sdk.DescribeTargetGroupsOutput](t)(e.elb.DescribeTargetGroups(ctx, &sdk.DescribeTargetGroupsInput{LoadBalancerArn: &arn}))
	if len(tgs.TargetGroups) != 1 || len(tgs.TargetGroups[0].LoadBalancerArns) != 1 || tgs.TargetGroups[0].LoadBalancerArns[0] != arn {
		t.Fatalf("target groups of the load balancer %+v", tgs.TargetGroups)
	}
	_, err = e.elb.DeleteTargetGroup(ctx, &sdk.DeleteTargetGroupInput{TargetGroupArn: &tgARN})
	wantCode(t, err, "ResourceInUse")
	_, err = e.elb.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: &arn, Protocol: types.ProtocolEnumHttp, Port: &port,
		DefaultActions: []types.Action{fixedAction("404", "no")}})
	wantCode(t, err, "DuplicateListener")
	rule := func(prio int32, path string) (*sdk.CreateRuleOutput, error) {
		return e.elb.CreateRule(ctx, &sdk.CreateRuleInput{ListenerArn: &lARN, Priority: aws.Int32(prio),
			Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &types.PathPatternConditionConfig{Values: []string{path}}}},
			Actions:    []types.Action{fixedAction("200", path)}})
	}
	r10 := must[*sdk.CreateRuleOutput](t)(rule(10, "/a/*")).Rules[0]
	must[*sdk.CreateRuleOutput](t)(rule(5, "/b/*"))
	_, err = rule(5, "/c/*")
	wantCode(t, err, "PriorityInUse")
	rs := must[*sdk.DescribeRulesOutput](t)(e.elb.DescribeRules(ctx, &sdk.DescribeRulesInput{ListenerArn: &lARN})).Rules
	if len(rs) != 3 || aws.ToString(rs[0].Priority) != "5" || aws.ToString(rs[1].Priority) != "10" || aws.ToString(rs[2].Priority) != "default" || !aws.ToBool(rs[2].IsDefault) ||
		rs[1].Conditions[0].Values[0] != "/a/*" {
		t.Fatalf("rules %+v", rs)
	}
	_, err = e.elb.SetRulePriorities(ctx, &sdk.SetRulePrioritiesInput{RulePriorities: []types.RulePriorityPair{{RuleArn: r10.RuleArn, Priority: aws.Int32(5)}}})
	wantCode(t, err, "PriorityInUse")
	must[*sdk.SetRulePrioritiesOutput](t)(e.elb.SetRulePriorities(ctx, &sdk.SetRulePrioritiesInput{RulePriorities: []types.RulePriorityPair{{RuleArn: r10.RuleArn, Priority: aws.Int32(1)}}}))
	_, err = e.elb.DeleteRule(ctx, &sdk.DeleteRuleInput{RuleArn: rs[2].RuleArn})
	wantCode(t, err, "OperationNotPermitted")
	must[*sdk.DeleteRuleOutput](t)(e.elb.DeleteRule(ctx, &sdk.DeleteRuleInput{RuleArn: r10.RuleArn}))

	// Tags on every kind.
	for _, res := range []string{arn, tgARN, lARN, aws.ToString(rs[0].RuleArn)} {
		must[*sdk.AddTagsOutput](t)(e.elb.AddTags(ctx, &sdk.AddTagsInput{ResourceArns: []string{res}, Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}}}))
	}
	must[*sdk.RemoveTagsOutput](t)(e.elb.RemoveTags(ctx, &sdk.RemoveTagsInput{ResourceArns: []string{arn}, TagKeys: []string{"team"}}))
	td := must[*sdk.DescribeTagsOutput](t)(e.elb.DescribeTags(ctx, &sdk.DescribeTagsInput{ResourceArns: []string{arn, tgARN, lARN, aws.ToString(rs[0].RuleArn)}})).TagDescriptions
	for _, d := range td {
		if len(d.Tags) != 1 || aws.ToString(d.Tags[0].Key) != "env" {
			t.Fatalf("tags of %s: %+v", aws.ToString(d.ResourceArn), d.Tags)
		}
	}

	// Deleting the load balancer frees the target group and the port.
	must[*sdk.DeleteLoadBalancerOutput](t)(e.elb.DeleteLoadBalancer(ctx, &sdk.DeleteLoadBalancerInput{LoadBalancerArn: &arn}))
	must[*sdk.DeleteTargetGroupOutput](t)(e.elb.DeleteTargetGroup(ctx, &sdk.DeleteTargetGroupInput{TargetGroupArn: &tgARN}))
	_, err = e.elb.DescribeLoadBalancers(ctx, &sdk.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}})
	wantCode(t, err, "LoadBalancerNotFound")
	if ok, _ := e.st.Exists(ctx, e.svc.keys.port(int(port))); ok {
		t.Fatal("the port is still claimed")
	}
}

// TestAuthorization: a user needs elasticloadbalancing:<Action>.
func TestAuthorization(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, subnets := e.subnets(t)
	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("dev")}))
	key := must[*iam.CreateAccessKeyOutput](t)(e.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("dev")})).AccessKey
	dev := e.client(aws.ToString(key.AccessKeyId), aws.ToString(key.SecretAccessKey))
	_, err := dev.DescribeLoadBalancers(ctx, &sdk.DescribeLoadBalancersInput{})
	wantCode(t, err, "AccessDenied")
	_, err = dev.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{Name: aws.String("web"), Subnets: subnets})
	wantCode(t, err, "AccessDenied")
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("dev"), PolicyName: aws.String("read"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"elasticloadbalancing:Describe*","Resource":"*"}]}`)}))
	must[*sdk.DescribeLoadBalancersOutput](t)(dev.DescribeLoadBalancers(ctx, &sdk.DescribeLoadBalancersInput{}))
	_, err = dev.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{Name: aws.String("web"), Subnets: subnets})
	wantCode(t, err, "AccessDenied")
	if n, _ := e.st.Count(ctx, e.svc.keys.balancers()); n != 0 {
		t.Fatalf("%d load balancers after refused creates", n)
	}
}

func fixedAction(status, body string) types.Action {
	return types.Action{Type: types.ActionTypeEnumFixedResponse, FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String(status),
		ContentType: aws.String("text/plain"), MessageBody: aws.String(body)}}
}

func attrOf(attrs []types.TargetGroupAttribute, key string) string {
	for _, a := range attrs {
		if aws.ToString(a.Key) == key {
			return aws.ToString(a.Value)
		}
	}
	return ""
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestInstanceTargets: an instance target must be a running instance of
// the group's VPC; a registered one whose instance stops is unused with
// Target.InvalidState, and one of a group no listener uses is
// Target.NotInUse. (No listener forwards to them: their addresses are
// not on this machine's loopback.)
func TestInstanceTargets(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	vpc, subnets := e.subnets(t)
	_, otherSubnets := e.loopbackVPC(t)
	if err := e.ec2.Heartbeat(ctx, ec2.HostRecord{ID: "host-a"}); err != nil {
		t.Fatal(err)
	}
	run := func(subnet string) string {
		out := must[*sdkec2.RunInstancesOutput](t)(e.ec2c.RunInstances(ctx, &sdkec2.RunInstancesInput{ImageId: aws.String(e.ec2.Images()[0].ID),
			InstanceType: ec2types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: &subnet}))
		return aws.ToString(out.Instances[0].InstanceId)
	}
	inst, other := run(subnets[0]), run(otherSubnets[0])
	tg := aws.ToString(must[*sdk.CreateTargetGroupOutput](t)(e.elb.CreateTargetGroup(ctx, &sdk.CreateTargetGroupInput{Name: aws.String("web"),
		Protocol: types.ProtocolEnumHttp, Port: aws.Int32(8080), VpcId: &vpc})).TargetGroups[0].TargetGroupArn)
	register := func(id string) error {
		_, err := e.elb.RegisterTargets(ctx, &sdk.RegisterTargetsInput{TargetGroupArn: &tg, Targets: []types.TargetDescription{{Id: &id}}})
		return err
	}
	wantCode(t, register(inst), "InvalidTarget") // pending
	for _, id := range []string{inst, other} {
		if err := e.ec2.SetInstanceState(ctx, id, 0, ec2.StateRunning, ""); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, register(other), "InvalidTarget") // of another VPC
	must[*sdk.RegisterTargetsOutput](t)(e.elb.RegisterTargets(ctx, &sdk.RegisterTargetsInput{TargetGroupArn: &tg, Targets: []types.TargetDescription{{Id: &inst}}}))
	h := must[*sdk.DescribeTargetHealthOutput](t)(e.elb.DescribeTargetHealth(ctx, &sdk.DescribeTargetHealthInput{TargetGroupArn: &tg})).TargetHealthDescriptions
	if len(h) != 1 || aws.ToInt32(h[0].Target.Port) != 8080 || aws.ToString(h[0].HealthCheckPort) != "8080" || h[0].TargetHealth.State != types.TargetHealthStateEnumUnused ||
		h[0].TargetHealth.Reason != types.TargetHealthReasonEnumNotInUse || aws.ToString(h[0].Target.AvailabilityZone) == "" {
		t.Fatalf("health %+v", h)
	}
	// Used by a listener, a stopped instance is unused with its state.
	lb := must[*sdk.CreateLoadBalancerOutput](t)(e.elb.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{Name: aws.String("web"), Subnets: subnets})).LoadBalancers[0]
	must[*sdk.CreateListenerOutput](t)(e.elb.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Port: aws.Int32(int32(freePort(t))),
		DefaultActions: []types.Action{fixedAction("200", "ok")}}))
	if err := e.ec2.SetInstanceState(ctx, inst, 0, ec2.StateStopped, ""); err != nil {
		t.Fatal(err)
	}
	lARN := aws.ToString(must[*sdk.DescribeListenersOutput](t)(e.elb.DescribeListeners(ctx, &sdk.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})).Listeners[0].ListenerArn)
	must[*sdk.ModifyListenerOutput](t)(e.elb.ModifyListener(ctx, &sdk.ModifyListenerInput{ListenerArn: &lARN, DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: &tg}}}))
	h = must[*sdk.DescribeTargetHealthOutput](t)(e.elb.DescribeTargetHealth(ctx, &sdk.DescribeTargetHealthInput{TargetGroupArn: &tg,
		Targets: []types.TargetDescription{{Id: &inst}, {Id: &other}}})).TargetHealthDescriptions
	if len(h) != 2 || h[0].TargetHealth.Reason != types.TargetHealthReasonEnumInvalidState || aws.ToString(h[0].TargetHealth.Description) != "Target is in the stopped state" ||
		h[1].TargetHealth.Reason != types.TargetHealthReasonEnumNotRegistered {
		t.Fatalf("health %+v", h)
	}
}
