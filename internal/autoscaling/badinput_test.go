package autoscaling

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/ec2"
)

// TestBadInputIsRefused: each bad request gets Auto Scaling's error code
// and leaves nothing behind.
func TestBadInputIsRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, b := fixture(t, e)
	lt := &types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("demo-lt")}
	ami := e.ec2.Images()[0].ID
	must[*sdk.CreateLaunchConfigurationOutput](t)(e.as.CreateLaunchConfiguration(ctx, &sdk.CreateLaunchConfigurationInput{LaunchConfigurationName: aws.String("lc"),
		ImageId: aws.String(ami), InstanceType: aws.String("t3.micro")}))
	must[*sdk.CreateAutoScalingGroupOutput](t)(e.as.CreateAutoScalingGroup(ctx, &sdk.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("taken"),
		LaunchConfigurationName: aws.String("lc"), MinSize: aws.Int32(1), MaxSize: aws.Int32(1), AvailabilityZones: []string{testRegion + "a"}}))
	e.pass(t)
	group := func(mod func(*sdk.CreateAutoScalingGroupInput)) error {
		in := &sdk.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("new"), LaunchTemplate: lt,
			MinSize: aws.Int32(1), MaxSize: aws.Int32(2), VPCZoneIdentifier: aws.String(a + "," + b)}
		mod(in)
		_, err := e.as.CreateAutoScalingGroup(ctx, in)
		return err
	}
	for _, tc := range []struct {
		name string
		err  error
		code string
	}{
		{"min above max", group(func(in *sdk.CreateAutoScalingGroupInput) { in.MinSize = aws.Int32(3) }), "ValidationError"},
		{"desired above max", group(func(in *sdk.CreateAutoScalingGroupInput) { in.DesiredCapacity = aws.Int32(5) }), "ValidationError"},
		{"desired below min", group(func(in *sdk.CreateAutoScalingGroupInput) { in.DesiredCapacity = aws.Int32(0) }), "ValidationError"},
		{"negative min", group(func(in *sdk.CreateAutoScalingGroupInput) { in.MinSize = aws.Int32(-1) }), "ValidationError"},
		{"unknown template", group(func(in *sdk.CreateAutoScalingGroupInput) {
			in.LaunchTemplate = &types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("nope")}
		}), "ValidationError"},
		{"unknown template version", group(func(in *sdk.CreateAutoScalingGroupInput) {
			in.LaunchTemplate = &types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("demo-lt"), Version: aws.String("9")}
		}), "ValidationError"},
		{"unknown configuration", group(func(in *sdk.CreateAutoScalingGroupInput) {
			in.LaunchTemplate, in.LaunchConfigurationName = nil, aws.String("nope")
		}), "ValidationError"},
		{"template and configuration", group(func(in *sdk.CreateAutoScalingGroupInput) { in.LaunchConfigurationName = aws.String("lc") }), "ValidationError"},
		{"neither", group(func(in *sdk.CreateAutoScalingGroupInput) { in.LaunchTemplate = nil }), "ValidationError"},
		{"unknown subnet", group(func(in *sdk.CreateAutoScalingGroupInput) {
			in.VPCZoneIdentifier = aws.String(a + ",subnet-00000000000000000")
		}), "ValidationError"},
		{"no subnet or zone", group(func(in *sdk.CreateAutoScalingGroupInput) { in.VPCZoneIdentifier = nil }), "ValidationError"},
		{"unknown zone", group(func(in *sdk.CreateAutoScalingGroupInput) {
			in.VPCZoneIdentifier, in.AvailabilityZones = nil, []string{"mars-1a"}
		}), "ValidationError"},
		{"ELB health checks", group(func(in *sdk.CreateAutoScalingGroupInput) { in.HealthCheckType = aws.String("ELB") }), "ValidationError"},
		{"unknown termination policy", group(func(in *sdk.CreateAutoScalingGroupInput) { in.TerminationPolicies = []string{"Whimsy"} }), "ValidationError"},
		{"reserved tag", group(func(in *sdk.CreateAutoScalingGroupInput) {
			in.Tags = []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("1")}}
		}), "ValidationError"},
		{"a parameter Berth does not act on", group(func(in *sdk.CreateAutoScalingGroupInput) {
			in.TargetGroupARNs = []string{"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/t/0123456789abcdef"}
		}), "ValidationError"},
		{"name taken", group(func(in *sdk.CreateAutoScalingGroupInput) { in.AutoScalingGroupName = aws.String("taken") }), "AlreadyExists"},
		{"configuration taken", second(e.as.CreateLaunchConfiguration(ctx, &sdk.CreateLaunchConfigurationInput{LaunchConfigurationName: aws.String("lc"),
			ImageId: aws.String(ami), InstanceType: aws.String("t3.micro")})), "AlreadyExists"},
		{"configuration of an unknown type", second(e.as.CreateLaunchConfiguration(ctx, &sdk.CreateLaunchConfigurationInput{LaunchConfigurationName: aws.String("lc2"),
			ImageId: aws.String(ami), InstanceType: aws.String("x9.huge")})), "ValidationError"},
		{"configuration in use", second(e.as.DeleteLaunchConfiguration(ctx, &sdk.DeleteLaunchConfigurationInput{LaunchConfigurationName: aws.String("lc")})), "ResourceInUse"},
		{"delete a group with instances", second(e.as.DeleteAutoScalingGroup(ctx, &sdk.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("taken")})), "ResourceInUse"},
		{"desired above max", second(e.as.SetDesiredCapacity(ctx, &sdk.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("taken"), DesiredCapacity: aws.Int32(2)})), "ValidationError"},
		{"update min above max", second(e.as.UpdateAutoScalingGroup(ctx, &sdk.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("taken"), MinSize: aws.Int32(5)})), "ValidationError"},
		{"unknown group", second(e.as.SetDesiredCapacity(ctx, &sdk.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("nope"), DesiredCapacity: aws.Int32(1)})), "ValidationError"},
		{"protect a stranger", second(e.as.SetInstanceProtection(ctx, &sdk.SetInstanceProtectionInput{AutoScalingGroupName: aws.String("taken"),
			InstanceIds: []string{"i-00000000000000000"}, ProtectedFromScaleIn: aws.Bool(true)})), "ValidationError"},
		{"terminate a stranger", second(e.as.TerminateInstanceInAutoScalingGroup(ctx, &sdk.TerminateInstanceInAutoScalingGroupInput{InstanceId: aws.String("i-00000000000000000"),
			ShouldDecrementDesiredCapacity: aws.Bool(false)})), "ValidationError"},
		{"suspend an unknown process", second(e.as.SuspendProcesses(ctx, &sdk.SuspendProcessesInput{AutoScalingGroupName: aws.String("taken"), ScalingProcesses: []string{"Nap"}})), "ValidationError"},
		{"bad page size", second(e.as.DescribeAutoScalingGroups(ctx, &sdk.DescribeAutoScalingGroupsInput{MaxRecords: aws.Int32(500)})), "ValidationError"},
		{"bad token", second(e.as.DescribeAutoScalingGroups(ctx, &sdk.DescribeAutoScalingGroupsInput{NextToken: aws.String("%%%")})), "InvalidNextToken"},
		{"target tracking", second(e.as.PutScalingPolicy(ctx, &sdk.PutScalingPolicyInput{AutoScalingGroupName: aws.String("taken"), PolicyName: aws.String("p"),
			PolicyType: aws.String("TargetTrackingScaling"), TargetTrackingConfiguration: &types.TargetTrackingConfiguration{TargetValue: aws.Float64(50),
				PredefinedMetricSpecification: &types.PredefinedMetricSpecification{PredefinedMetricType: types.MetricTypeASGAverageCPUUtilization}}})), "ValidationError"},
		{"overlapping steps", second(e.as.PutScalingPolicy(ctx, &sdk.PutScalingPolicyInput{AutoScalingGroupName: aws.String("taken"), PolicyName: aws.String("p"),
			PolicyType: aws.String("StepScaling"), AdjustmentType: aws.String("ChangeInCapacity"), StepAdjustments: []types.StepAdjustment{
				{MetricIntervalLowerBound: aws.Float64(0), MetricIntervalUpperBound: aws.Float64(20), ScalingAdjustment: aws.Int32(1)},
				{MetricIntervalLowerBound: aws.Float64(10), ScalingAdjustment: aws.Int32(2)}}})), "ValidationError"},
	} {
		if got := code(tc.err); got != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, tc.err, tc.code)
		}
	}
	out := must[*sdk.DescribeAutoScalingGroupsOutput](t)(e.as.DescribeAutoScalingGroups(ctx, &sdk.DescribeAutoScalingGroupsInput{}))
	if len(out.AutoScalingGroups) != 1 || aws.ToInt32(out.AutoScalingGroups[0].DesiredCapacity) != 1 || aws.ToInt32(out.AutoScalingGroups[0].MinSize) != 1 {
		t.Errorf("bad input changed the groups: %+v", out.AutoScalingGroups)
	}
	if pols := must[*sdk.DescribePoliciesOutput](t)(e.as.DescribePolicies(ctx, &sdk.DescribePoliciesInput{})); len(pols.ScalingPolicies) != 0 {
		t.Errorf("refused policies were stored: %+v", pols.ScalingPolicies)
	}
}

func second[T any](_ T, err error) error { return err }

// TestStrictDecoding: a parameter with no field is a ValidationError that
// names it, not silently dropped.
func TestStrictDecoding(t *testing.T) {
	var in CreateAutoScalingGroupInput
	err := api.DecodeStrictQuery(url.Values{"Action": {"CreateAutoScalingGroup"}, "AutoScalingGroupName": {"g"},
		"MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.LaunchTemplateName": {"x"}}, &in)
	if e := api.AsError(err); e == nil || e.Code != api.CodeValidation || in.AutoScalingGroupName != "g" {
		t.Fatalf("DecodeStrictQuery = %v (%+v)", err, in)
	}
}

// TestScalingPolicies: simple and step policies move the desired capacity
// as AWS computes it, within the group's bounds, and honour cooldowns.
func TestScalingPolicies(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	must[*sdk.CreateLaunchConfigurationOutput](t)(e.as.CreateLaunchConfiguration(ctx, &sdk.CreateLaunchConfigurationInput{LaunchConfigurationName: aws.String("lc"),
		ImageId: aws.String(e.ec2.Images()[0].ID), InstanceType: aws.String("t3.micro")}))
	must[*sdk.CreateAutoScalingGroupOutput](t)(e.as.CreateAutoScalingGroup(ctx, &sdk.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("g"),
		LaunchConfigurationName: aws.String("lc"), MinSize: aws.Int32(1), MaxSize: aws.Int32(10), DesiredCapacity: aws.Int32(4),
		AvailabilityZones: []string{testRegion + "a", testRegion + "b"}, DefaultCooldown: aws.Int32(0)}))
	put := func(in sdk.PutScalingPolicyInput) {
		in.AutoScalingGroupName = aws.String("g")
		if arn := must[*sdk.PutScalingPolicyOutput](t)(e.as.PutScalingPolicy(ctx, &in)).PolicyARN; aws.ToString(arn) == "" {
			t.Fatal("no policy ARN")
		}
	}
	put(sdk.PutScalingPolicyInput{PolicyName: aws.String("add2"), AdjustmentType: aws.String("ChangeInCapacity"), ScalingAdjustment: aws.Int32(2)})
	put(sdk.PutScalingPolicyInput{PolicyName: aws.String("half"), AdjustmentType: aws.String("PercentChangeInCapacity"), ScalingAdjustment: aws.Int32(-50)})
	put(sdk.PutScalingPolicyInput{PolicyName: aws.String("exact"), AdjustmentType: aws.String("ExactCapacity"), ScalingAdjustment: aws.Int32(20)})
	put(sdk.PutScalingPolicyInput{PolicyName: aws.String("slow"), AdjustmentType: aws.String("ChangeInCapacity"), ScalingAdjustment: aws.Int32(1), Cooldown: aws.Int32(3600)})
	put(sdk.PutScalingPolicyInput{PolicyName: aws.String("steps"), PolicyType: aws.String("StepScaling"), AdjustmentType: aws.String("ChangeInCapacity"),
		StepAdjustments: []types.StepAdjustment{
			{MetricIntervalLowerBound: aws.Float64(0), MetricIntervalUpperBound: aws.Float64(10), ScalingAdjustment: aws.Int32(1)},
			{MetricIntervalLowerBound: aws.Float64(10), ScalingAdjustment: aws.Int32(3)}}})
	for _, step := range []struct {
		policy        string
		metric        *float64
		honorCooldown bool
		want          int
		code          string
	}{
		{"add2", nil, false, 6, ""},
		{"half", nil, false, 3, ""},
		{"half", nil, false, 2, ""}, // 50% of 3 rounds toward zero, to 1
		{"steps", aws.Float64(55), false, 3, ""},
		{"steps", aws.Float64(75), false, 6, ""},
		{"steps", aws.Float64(40), false, 6, "ValidationError"}, // below every step
		{"exact", nil, false, 10, ""},                           // capped at the maximum
		{"half", nil, false, 5, ""},
		{"slow", nil, false, 6, ""},
		{"slow", nil, true, 6, "ScalingActivityInProgress"}, // within its cooldown
	} {
		in := &sdk.ExecutePolicyInput{AutoScalingGroupName: aws.String("g"), PolicyName: aws.String(step.policy), HonorCooldown: aws.Bool(step.honorCooldown)}
		if step.metric != nil {
			in.MetricValue, in.BreachThreshold = step.metric, aws.Float64(50)
		}
		_, err := e.as.ExecutePolicy(ctx, in)
		if code(err) != step.code {
			t.Fatalf("ExecutePolicy %s: %v, want %q", step.policy, err, step.code)
		}
		if got := e.group(t, "g").desired; got != step.want {
			t.Fatalf("after %s: desired %d, want %d", step.policy, got, step.want)
		}
	}
	pols := must[*sdk.DescribePoliciesOutput](t)(e.as.DescribePolicies(ctx, &sdk.DescribePoliciesInput{AutoScalingGroupName: aws.String("g"), PolicyTypes: []string{"StepScaling"}}))
	if len(pols.ScalingPolicies) != 1 || len(pols.ScalingPolicies[0].StepAdjustments) != 2 {
		t.Fatalf("DescribePolicies(StepScaling) = %+v", pols.ScalingPolicies)
	}
	must[*sdk.DeletePolicyOutput](t)(e.as.DeletePolicy(ctx, &sdk.DeletePolicyInput{AutoScalingGroupName: aws.String("g"), PolicyName: aws.String("steps")}))
	if _, err := e.as.ExecutePolicy(ctx, &sdk.ExecutePolicyInput{AutoScalingGroupName: aws.String("g"), PolicyName: aws.String("steps")}); code(err) != "ValidationError" {
		t.Fatalf("a deleted policy ran: %v", err)
	}
}

// TestTerminationOrder: the default policy balances zones first, then
// takes instances of an old launch template, then the oldest; protected
// instances are never chosen.
func TestTerminationOrder(t *testing.T) {
	now := time.Now()
	cur, old := &templateRef{ID: "lt-1", Version: "2"}, &templateRef{ID: "lt-1", Version: "1"}
	m := func(id, zone string, age int, tmpl *templateRef, protected bool) member {
		return member{ID: id, Zone: zone, State: stateInService, Template: tmpl, Protected: protected, Launched: now.Add(-time.Duration(age) * time.Hour)}
	}
	for _, tc := range []struct {
		name     string
		policies []string
		members  []member
		n        int
		want     []string
	}{
		{"the fuller zone first", []string{"Default"}, []member{m("i-a1", "a", 1, cur, false), m("i-a2", "a", 2, cur, false), m("i-b1", "b", 9, cur, false)}, 1, []string{"i-a2"}},
		{"old template before the oldest", []string{"Default"}, []member{m("i-a1", "a", 9, cur, false), m("i-a2", "a", 1, old, false)}, 1, []string{"i-a2"}},
		{"then the oldest", []string{"Default"}, []member{m("i-a1", "a", 1, cur, false), m("i-a2", "a", 5, cur, false)}, 1, []string{"i-a2"}},
		{"newest instance", []string{"NewestInstance"}, []member{m("i-a1", "a", 1, cur, false), m("i-a2", "a", 5, cur, false)}, 1, []string{"i-a1"}},
		{"protected stay", []string{"Default"}, []member{m("i-a1", "a", 1, cur, true), m("i-a2", "a", 5, cur, true), m("i-b1", "b", 1, cur, false)}, 2, []string{"i-b1"}},
		{"balance as it goes", []string{"OldestInstance"}, []member{m("i-a1", "a", 1, cur, false), m("i-a2", "a", 2, cur, false), m("i-a3", "a", 3, cur, false),
			m("i-b1", "b", 9, cur, false)}, 3, []string{"i-a3", "i-a2", "i-b1"}},
	} {
		g := &groupRecord{Template: cur, TerminationPolicies: tc.policies, Instances: tc.members}
		var got []string
		for _, v := range chooseVictims(g, tc.n) {
			got = append(got, v.ID)
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: chose %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: chose %v, want %v", tc.name, got, tc.want)
				break
			}
		}
	}
}

// TestDescribeAutoScalingInstances: every group's instances, with the
// group's name, health in capitals as AWS writes it there, paged.
func TestDescribeAutoScalingInstances(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, b := fixture(t, e)
	for _, name := range []string{"one", "two"} {
		must[*sdk.CreateAutoScalingGroupOutput](t)(e.as.CreateAutoScalingGroup(ctx, &sdk.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String(name),
			LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("demo-lt")},
			MinSize:        aws.Int32(2), MaxSize: aws.Int32(2), VPCZoneIdentifier: aws.String(a + "," + b)}))
	}
	e.pass(t)
	e.runAll(t)
	e.pass(t)
	seen := map[string]int{}
	var token *string
	for pages := 0; ; pages++ {
		out := must[*sdk.DescribeAutoScalingInstancesOutput](t)(e.as.DescribeAutoScalingInstances(ctx, &sdk.DescribeAutoScalingInstancesInput{MaxRecords: aws.Int32(3), NextToken: token}))
		for _, in := range out.AutoScalingInstances {
			seen[aws.ToString(in.AutoScalingGroupName)]++
			if aws.ToString(in.HealthStatus) != "HEALTHY" || aws.ToString(in.LifecycleState) != "InService" || aws.ToString(in.InstanceId) == "" {
				t.Errorf("instance %+v", in)
			}
		}
		if token = out.NextToken; token == nil {
			if pages != 1 {
				t.Errorf("%d pages of 3 for 4 instances", pages+1)
			}
			break
		}
	}
	if seen["one"] != 2 || seen["two"] != 2 {
		t.Fatalf("instances per group %v", seen)
	}
}

// TestGroupOfInstance: ECS learns an instance's group from its membership,
// or, before the launch is recorded in the group, from its name tag.
func TestGroupOfInstance(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, _ := fixture(t, e)
	e.createGroup(t, "g", 1, 1, 1, a)
	arn, ok, err := e.svc.GroupARN(ctx, "g")
	if err != nil || !ok {
		t.Fatalf("GroupARN(g) = %v %v", ok, err)
	}
	if byARN, ok, _ := e.svc.GroupARN(ctx, arn); !ok || byARN != arn {
		t.Fatalf("GroupARN(%s) = %s %v", arn, byARN, ok)
	}
	// The launch ran but the group has not recorded it yet.
	var pending []member
	var g *groupRecord
	if err := e.svc.mutate(ctx, "g", func(r *groupRecord) error {
		pending, g = e.svc.plan(r, world{instances: map[string]ec2.InstanceRecord{}, live: map[string]bool{}}).launch, r
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	in, err := e.svc.runInput(ctx, g, pending[0])
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.ec2.RunInstances(e.svc.asService(ctx), in)
	if err != nil {
		t.Fatal(err)
	}
	id := res.Instances[0].InstanceID
	if got, _ := e.svc.GroupOfInstance(ctx, id); got != arn {
		t.Fatalf("GroupOfInstance(%s) before the group recorded it = %q, want %s", id, got, arn)
	}
	if got, _ := e.svc.GroupOfInstance(ctx, "i-00000000000000000"); got != "" {
		t.Fatalf("GroupOfInstance(stranger) = %q", got)
	}
}
