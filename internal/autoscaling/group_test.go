package autoscaling

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	sdkec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/berth-dev/berth/internal/ec2"
	"github.com/berth-dev/berth/internal/store"
)

// fixture makes the article's launch template (ECS user data) and returns
// the default subnets of the first two zones.
func fixture(t *testing.T, e *env) (subnetA, subnetB string) {
	t.Helper()
	ctx := context.Background()
	must[*sdkec2.CreateLaunchTemplateOutput](t)(e.ec2c.CreateLaunchTemplate(ctx, &sdkec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("demo-lt"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(e.ec2.Images()[0].ID), InstanceType: ec2types.InstanceTypeT3Medium,
			UserData: aws.String("IyEvYmluL2Jhc2gKZWNobyBFQ1NfQ0xVU1RFUj1kZW1vID4+IC9ldGMvZWNzL2Vjcy5jb25maWcK")}}))
	subs := must[*sdkec2.DescribeSubnetsOutput](t)(e.ec2c.DescribeSubnets(ctx, &sdkec2.DescribeSubnetsInput{}))
	byZone := map[string]string{}
	for _, s := range subs.Subnets {
		byZone[aws.ToString(s.AvailabilityZone)] = aws.ToString(s.SubnetId)
	}
	return byZone[testRegion+"a"], byZone[testRegion+"b"]
}

// TestGroupKeepsDesiredCapacity is the first scenario and what
// follows it: a group of two over two subnets launches one instance in
// each zone, tagged with its name; an instance terminated outside the
// group is replaced; scaling out keeps the zones balanced; scaling in
// never terminates a protected instance; the activities say why, in AWS's
// words.
func TestGroupKeepsDesiredCapacity(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, b := fixture(t, e)
	must[*sdk.CreateAutoScalingGroupOutput](t)(e.as.CreateAutoScalingGroup(ctx, &sdk.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("demo-asg"),
		LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("demo-lt")},
		MinSize:        aws.Int32(2), MaxSize: aws.Int32(4), DesiredCapacity: aws.Int32(2), VPCZoneIdentifier: aws.String(a + "," + b),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("web"), PropagateAtLaunch: aws.Bool(true)},
			{Key: aws.String("cost"), Value: aws.String("x"), PropagateAtLaunch: aws.Bool(false)}}}))
	e.pass(t)
	g := e.group(t, "demo-asg")
	if len(g.byState["Pending"]) != 2 || g.zone[g.all[0]] == g.zone[g.all[1]] {
		t.Fatalf("after the first pass: %+v, want two Pending instances in two zones", g)
	}
	insts := must[*sdkec2.DescribeInstancesOutput](t)(e.ec2c.DescribeInstances(ctx, &sdkec2.DescribeInstancesInput{
		Filters: []ec2types.Filter{{Name: aws.String("tag:aws:autoscaling:groupName"), Values: []string{"demo-asg"}}}}))
	var launched []string
	for _, r := range insts.Reservations {
		for _, in := range r.Instances {
			launched = append(launched, aws.ToString(in.InstanceId))
			tags := map[string]string{}
			for _, tg := range in.Tags {
				tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
			}
			if tags["team"] != "web" || tags["cost"] != "" {
				t.Errorf("instance tags %v: want team=web propagated and cost not", tags)
			}
		}
	}
	slices.Sort(launched)
	if !slices.Equal(launched, slices.Sorted(slices.Values(g.all))) {
		t.Fatalf("EC2 instances tagged with the group %v, group has %v", launched, g.all)
	}
	e.runAll(t)
	e.pass(t)
	if g = e.group(t, "demo-asg"); len(g.byState["InService"]) != 2 {
		t.Fatalf("once running: %+v, want two InService", g)
	}
	acts := must[*sdk.DescribeScalingActivitiesOutput](t)(e.as.DescribeScalingActivities(ctx, &sdk.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("demo-asg")})).Activities
	if len(acts) != 2 {
		t.Fatalf("%d activities, want 2 launches", len(acts))
	}
	for _, act := range acts {
		if !strings.HasPrefix(aws.ToString(act.Description), "Launching a new EC2 instance: i-") || act.StatusCode != types.ScalingActivityStatusCodeSuccessful ||
			!strings.Contains(aws.ToString(act.Cause), "a user request created an AutoScalingGroup changing the desired capacity from 0 to 2.") ||
			!strings.Contains(aws.ToString(act.Cause), "an instance was started in response to a difference between desired and actual capacity, increasing the capacity from") {
			t.Errorf("launch activity %q / %q / %s", aws.ToString(act.Description), aws.ToString(act.Cause), act.StatusCode)
		}
	}

	// Terminated behind the group's back: replaced in the same zone.
	victim := g.all[0]
	must[*sdkec2.TerminateInstancesOutput](t)(e.ec2c.TerminateInstances(ctx, &sdkec2.TerminateInstancesInput{InstanceIds: []string{victim}}))
	e.runAll(t)
	e.pass(t)
	g = e.group(t, "demo-asg")
	if slices.Contains(g.all, victim) || len(g.all) != 2 {
		t.Fatalf("after terminating %s: %+v, want it replaced", victim, g)
	}
	acts = must[*sdk.DescribeScalingActivitiesOutput](t)(e.as.DescribeScalingActivities(ctx, &sdk.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("demo-asg")})).Activities
	if !slices.ContainsFunc(acts, func(a types.Activity) bool {
		return aws.ToString(a.Description) == "Terminating EC2 instance: "+victim &&
			strings.Contains(aws.ToString(a.Cause), "an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped.")
	}) {
		t.Errorf("no activity says why %s went: %+v", victim, acts)
	}
	zones := map[string]int{}
	for _, id := range g.all {
		zones[g.zone[id]]++
	}
	if len(zones) != 2 {
		t.Errorf("the replacement unbalanced the zones: %v", zones)
	}

	// Scale out to 4: two per zone.
	must[*sdk.SetDesiredCapacityOutput](t)(e.as.SetDesiredCapacity(ctx, &sdk.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("demo-asg"), DesiredCapacity: aws.Int32(4)}))
	e.pass(t)
	e.runAll(t)
	e.pass(t)
	g = e.group(t, "demo-asg")
	zones = map[string]int{}
	for _, id := range g.byState["InService"] {
		zones[g.zone[id]]++
	}
	if len(g.byState["InService"]) != 4 || zones[testRegion+"a"] != 2 || zones[testRegion+"b"] != 2 {
		t.Fatalf("after scaling out to 4: %+v (zones %v)", g, zones)
	}

	// Protect one instance, then scale in as far as the minimum allows
	// and further by terminating the rest: the protected one stays.
	protected := g.all[3]
	must[*sdk.SetInstanceProtectionOutput](t)(e.as.SetInstanceProtection(ctx, &sdk.SetInstanceProtectionInput{AutoScalingGroupName: aws.String("demo-asg"),
		InstanceIds: []string{protected}, ProtectedFromScaleIn: aws.Bool(true)}))
	must[*sdk.UpdateAutoScalingGroupOutput](t)(e.as.UpdateAutoScalingGroup(ctx, &sdk.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("demo-asg"),
		MinSize: aws.Int32(0), DesiredCapacity: aws.Int32(1)}))
	e.pass(t)
	g = e.group(t, "demo-asg")
	if len(g.byState["Terminating"]) != 3 || !slices.Contains(g.byState["InService"], protected) {
		t.Fatalf("after scaling in to 1: %+v, want the protected %s kept", g, protected)
	}
	e.runAll(t)
	e.pass(t)
	if g = e.group(t, "demo-asg"); !slices.Equal(g.all, []string{protected}) {
		t.Fatalf("after the terminations: %+v, want only %s", g, protected)
	}
	acts = must[*sdk.DescribeScalingActivitiesOutput](t)(e.as.DescribeScalingActivities(ctx, &sdk.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("demo-asg"), MaxRecords: aws.Int32(1)})).Activities
	if len(acts) != 1 || !strings.Contains(aws.ToString(acts[0].Cause), "a user request update of AutoScalingGroup constraints to min: 0, max: 4, desired: 1 changing the desired capacity from 4 to 1.") ||
		!strings.Contains(aws.ToString(acts[0].Cause), "shrinking the capacity from 4 to 1") {
		t.Errorf("newest activity %+v", acts)
	}

	// A protected instance still goes when the group is force-deleted.
	_, err := e.as.DeleteAutoScalingGroup(ctx, &sdk.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("demo-asg")})
	if code(err) != "ResourceInUse" {
		t.Fatalf("delete with instances: %v, want ResourceInUse", err)
	}
	must[*sdk.DeleteAutoScalingGroupOutput](t)(e.as.DeleteAutoScalingGroup(ctx, &sdk.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("demo-asg"), ForceDelete: aws.Bool(true)}))
	e.pass(t)
	e.runAll(t)
	e.pass(t)
	out := must[*sdk.DescribeAutoScalingGroupsOutput](t)(e.as.DescribeAutoScalingGroups(ctx, &sdk.DescribeAutoScalingGroupsInput{}))
	if len(out.AutoScalingGroups) != 0 {
		t.Fatalf("force-deleted group still there: %+v", out.AutoScalingGroups)
	}
	all := must[[]store.Item[ec2.InstanceRecord]](t)(e.ec2.Instances(ctx))
	for _, it := range all {
		if it.Value.State != ec2.StateTerminated {
			t.Errorf("instance %s is %s after its group was deleted", it.Value.ID, it.Value.State)
		}
	}
}

// TestImpairedInstanceIsReplaced: an instance whose host stops beating
// fails EC2's status checks and is replaced once the grace period is over.
func TestImpairedInstanceIsReplaced(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, _ := fixture(t, e)
	must[*sdk.CreateAutoScalingGroupOutput](t)(e.as.CreateAutoScalingGroup(ctx, &sdk.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("g"),
		LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("demo-lt"), Version: aws.String("$Latest")},
		MinSize:        aws.Int32(1), MaxSize: aws.Int32(1), VPCZoneIdentifier: aws.String(a), HealthCheckGracePeriod: aws.Int32(60)}))
	e.pass(t)
	e.runAll(t)
	e.pass(t)
	first := e.group(t, "g").all[0]
	// The host dies; another one lives.
	if err := store.Put(ctx, e.st, "/berth/"+testRegion+"/ec2/host/host-a", ec2.HostRecord{ID: "host-a", Heartbeat: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := e.ec2.Heartbeat(ctx, ec2.HostRecord{ID: "host-b"}); err != nil {
		t.Fatal(err)
	}
	e.pass(t)
	if g := e.group(t, "g"); !slices.Equal(g.all, []string{first}) {
		t.Fatalf("within the grace period: %+v, want %s kept", g, first)
	}
	e.svc.now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	e.pass(t)
	g := e.group(t, "g")
	if !slices.Equal(g.byState["Terminating"], []string{first}) || len(g.byState["Pending"]) != 1 {
		t.Fatalf("after the grace period: %+v, want %s terminating and a replacement pending", g, first)
	}
}

// TestLaunchSurvivesACutPass: a launch recorded but not run (the leader
// died between the two) is run by the next pass with the same client
// token, and running it twice launches one instance.
func TestLaunchSurvivesACutPass(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, _ := fixture(t, e)
	e.createGroup(t, "g", 1, 1, 1, a)
	// Plan only, as a pass cut short after its first commit.
	var pending []member
	var g *groupRecord
	if err := e.svc.mutate(ctx, "g", func(r *groupRecord) error {
		fx := e.svc.plan(r, world{instances: map[string]ec2.InstanceRecord{}, live: map[string]bool{}})
		pending, g = fx.launch, r
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 {
		t.Fatalf("planned %d launches, want 1", len(pending))
	}
	// The cut pass had also run its launch.
	if err := e.svc.launch(ctx, g, pending); err != nil {
		t.Fatal(err)
	}
	e.pass(t)
	e.pass(t)
	all := must[[]store.Item[ec2.InstanceRecord]](t)(e.ec2.Instances(ctx))
	if len(all) != 1 {
		t.Fatalf("%d instances launched, want 1", len(all))
	}
	if got := e.group(t, "g").all; !slices.Equal(got, []string{all[0].Value.ID}) {
		t.Fatalf("group holds %v, EC2 has %s", got, all[0].Value.ID)
	}
}

// drainer is ECS's managed draining as a map: the instances it lets go.
type drainer struct {
	asked map[string]int
	done  map[string]bool
}

func (d *drainer) DrainBeforeTermination(_ context.Context, id string) (bool, error) {
	d.asked[id]++
	return d.done[id], nil
}

// TestScaleInWaitsForDrain: with managed draining, an instance chosen for
// scale-in waits in Terminating:Wait, still running, until ECS lets it go
// (or DrainTimeout passes), and only then is terminated.
func TestScaleInWaitsForDrain(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d := &drainer{asked: map[string]int{}, done: map[string]bool{}}
	e.svc.UseDrainer(d)
	a, b := fixture(t, e)
	e.createGroup(t, "g", 0, 3, 3, a+","+b)
	e.pass(t)
	e.runAll(t)
	e.pass(t)
	must[*sdk.SetDesiredCapacityOutput](t)(e.as.SetDesiredCapacity(ctx, &sdk.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("g"), DesiredCapacity: aws.Int32(1)}))
	e.pass(t)
	g := e.group(t, "g")
	waiting := g.byState["Terminating:Wait"]
	if len(waiting) != 2 || len(g.byState["InService"]) != 1 {
		t.Fatalf("after scaling in to 1: %+v, want 2 in Terminating:Wait", g)
	}
	e.pass(t)
	for _, id := range waiting {
		r := must[ec2.InstanceRecord](t)(e.ec2.Instance(ctx, id))
		if r.State != ec2.StateRunning || d.asked[id] < 2 {
			t.Fatalf("%s is %s after %d questions; want it running while ECS drains it", id, r.State, d.asked[id])
		}
	}
	d.done[waiting[0]] = true
	e.pass(t)
	if r := must[ec2.InstanceRecord](t)(e.ec2.Instance(ctx, waiting[0])); r.State != ec2.StateShuttingDown {
		t.Fatalf("drained %s is %s, want shutting-down", waiting[0], r.State)
	}
	if r := must[ec2.InstanceRecord](t)(e.ec2.Instance(ctx, waiting[1])); r.State != ec2.StateRunning {
		t.Fatalf("undrained %s is %s, want running", waiting[1], r.State)
	}
	defer func(d time.Duration) { DrainTimeout = d }(DrainTimeout)
	DrainTimeout = 0
	e.pass(t)
	e.runAll(t)
	e.pass(t)
	if g := e.group(t, "g"); len(g.all) != 1 {
		t.Fatalf("after the drain timeout: %+v, want 1 instance", g)
	}
}

// TestAttachDetachAndSuspend: an instance run outside the group joins it
// and raises its capacity, leaves it without being terminated, and a
// suspended Launch process launches nothing until resumed.
func TestAttachDetachAndSuspend(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, _ := fixture(t, e)
	e.createGroup(t, "g", 0, 2, 0, a)
	res := must[*sdkec2.RunInstancesOutput](t)(e.ec2c.RunInstances(ctx, &sdkec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		LaunchTemplate: &ec2types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("demo-lt")}, SubnetId: aws.String(a)}))
	id := aws.ToString(res.Instances[0].InstanceId)
	if _, err := e.as.AttachInstances(ctx, &sdk.AttachInstancesInput{AutoScalingGroupName: aws.String("g"), InstanceIds: []string{id}}); code(err) != "ValidationError" {
		t.Fatalf("attach a pending instance: %v, want ValidationError", err)
	}
	e.runAll(t)
	must[*sdk.AttachInstancesOutput](t)(e.as.AttachInstances(ctx, &sdk.AttachInstancesInput{AutoScalingGroupName: aws.String("g"), InstanceIds: []string{id}}))
	if g := e.group(t, "g"); g.desired != 1 || !slices.Equal(g.byState["InService"], []string{id}) {
		t.Fatalf("after attaching %s: %+v", id, g)
	}
	det := must[*sdk.DetachInstancesOutput](t)(e.as.DetachInstances(ctx, &sdk.DetachInstancesInput{AutoScalingGroupName: aws.String("g"), InstanceIds: []string{id},
		ShouldDecrementDesiredCapacity: aws.Bool(true)}))
	if len(det.Activities) != 1 || !strings.Contains(aws.ToString(det.Activities[0].Cause), "was detached in response to a user request, shrinking the capacity from 1 to 0") {
		t.Fatalf("detach activities %+v", det.Activities)
	}
	e.pass(t)
	if g := e.group(t, "g"); g.desired != 0 || len(g.all) != 0 {
		t.Fatalf("after detaching: %+v", g)
	}
	if r := must[ec2.InstanceRecord](t)(e.ec2.Instance(ctx, id)); r.State != ec2.StateRunning {
		t.Fatalf("detached instance is %s, want running", r.State)
	}

	must[*sdk.SuspendProcessesOutput](t)(e.as.SuspendProcesses(ctx, &sdk.SuspendProcessesInput{AutoScalingGroupName: aws.String("g"), ScalingProcesses: []string{"Launch"}}))
	must[*sdk.SetDesiredCapacityOutput](t)(e.as.SetDesiredCapacity(ctx, &sdk.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("g"), DesiredCapacity: aws.Int32(2)}))
	e.pass(t)
	if g := e.group(t, "g"); len(g.all) != 0 {
		t.Fatalf("launched with Launch suspended: %+v", g)
	}
	out := must[*sdk.DescribeAutoScalingGroupsOutput](t)(e.as.DescribeAutoScalingGroups(ctx, &sdk.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"g"}}))
	if sp := out.AutoScalingGroups[0].SuspendedProcesses; len(sp) != 1 || aws.ToString(sp[0].ProcessName) != "Launch" {
		t.Fatalf("suspended processes %+v", sp)
	}
	must[*sdk.ResumeProcessesOutput](t)(e.as.ResumeProcesses(ctx, &sdk.ResumeProcessesInput{AutoScalingGroupName: aws.String("g")}))
	e.pass(t)
	if g := e.group(t, "g"); len(g.all) != 2 {
		t.Fatalf("after resuming: %+v, want 2 launched", g)
	}
}

// TestTagsLimitsAndHealth: tags change after creation and are listed by
// filter; the fixed lists and quotas answer; an instance set Unhealthy by
// hand is replaced, and the activity says it was a user health check.
func TestTagsLimitsAndHealth(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, _ := fixture(t, e)
	e.createGroup(t, "g", 1, 1, 1, a)
	must[*sdk.CreateOrUpdateTagsOutput](t)(e.as.CreateOrUpdateTags(ctx, &sdk.CreateOrUpdateTagsInput{Tags: []types.Tag{
		{ResourceId: aws.String("g"), ResourceType: aws.String("auto-scaling-group"), Key: aws.String("env"), Value: aws.String("dev"), PropagateAtLaunch: aws.Bool(true)},
		{ResourceId: aws.String("g"), ResourceType: aws.String("auto-scaling-group"), Key: aws.String("team"), Value: aws.String("web")}}}))
	must[*sdk.CreateOrUpdateTagsOutput](t)(e.as.CreateOrUpdateTags(ctx, &sdk.CreateOrUpdateTagsInput{Tags: []types.Tag{
		{ResourceId: aws.String("g"), ResourceType: aws.String("auto-scaling-group"), Key: aws.String("env"), Value: aws.String("prod"), PropagateAtLaunch: aws.Bool(true)}}}))
	tags := must[*sdk.DescribeTagsOutput](t)(e.as.DescribeTags(ctx, &sdk.DescribeTagsInput{Filters: []types.Filter{{Name: aws.String("propagate-at-launch"), Values: []string{"true"}}}})).Tags
	if len(tags) != 1 || aws.ToString(tags[0].Value) != "prod" || aws.ToString(tags[0].ResourceId) != "g" {
		t.Fatalf("DescribeTags(propagate-at-launch=true) = %+v", tags)
	}
	must[*sdk.DeleteTagsOutput](t)(e.as.DeleteTags(ctx, &sdk.DeleteTagsInput{Tags: []types.Tag{{ResourceId: aws.String("g"), ResourceType: aws.String("auto-scaling-group"), Key: aws.String("team")}}}))
	if all := must[*sdk.DescribeTagsOutput](t)(e.as.DescribeTags(ctx, &sdk.DescribeTagsInput{})).Tags; len(all) != 1 {
		t.Fatalf("after DeleteTags: %+v", all)
	}
	if _, err := e.as.CreateOrUpdateTags(ctx, &sdk.CreateOrUpdateTagsInput{Tags: []types.Tag{{ResourceId: aws.String("nope"), ResourceType: aws.String("auto-scaling-group"), Key: aws.String("k")}}}); code(err) != "ValidationError" {
		t.Fatalf("tagging a missing group: %v", err)
	}
	lim := must[*sdk.DescribeAccountLimitsOutput](t)(e.as.DescribeAccountLimits(ctx, &sdk.DescribeAccountLimitsInput{}))
	if aws.ToInt32(lim.NumberOfAutoScalingGroups) != 1 || aws.ToInt32(lim.MaxNumberOfAutoScalingGroups) != 500 {
		t.Fatalf("limits %+v", lim)
	}
	if ts := must[*sdk.DescribeTerminationPolicyTypesOutput](t)(e.as.DescribeTerminationPolicyTypes(ctx, &sdk.DescribeTerminationPolicyTypesInput{})).TerminationPolicyTypes; !slices.Contains(ts, "OldestInstance") {
		t.Fatalf("termination policy types %v", ts)
	}
	if at := must[*sdk.DescribeAdjustmentTypesOutput](t)(e.as.DescribeAdjustmentTypes(ctx, &sdk.DescribeAdjustmentTypesInput{})).AdjustmentTypes; len(at) != 3 {
		t.Fatalf("adjustment types %+v", at)
	}

	e.pass(t)
	e.runAll(t)
	e.pass(t)
	first := e.group(t, "g").all[0]
	must[*sdk.SetInstanceHealthOutput](t)(e.as.SetInstanceHealth(ctx, &sdk.SetInstanceHealthInput{InstanceId: aws.String(first), HealthStatus: aws.String("Unhealthy")}))
	e.pass(t)
	g := e.group(t, "g")
	if !slices.Equal(g.byState["Terminating"], []string{first}) || len(g.byState["Pending"]) != 1 {
		t.Fatalf("after SetInstanceHealth Unhealthy: %+v", g)
	}
	acts := must[*sdk.DescribeScalingActivitiesOutput](t)(e.as.DescribeScalingActivities(ctx, &sdk.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("g")})).Activities
	if !slices.ContainsFunc(acts, func(a types.Activity) bool {
		return strings.Contains(aws.ToString(a.Cause), "in response to a user health-check")
	}) {
		t.Fatalf("no activity names the user health check: %+v", acts)
	}
}

// TestStandby: an instance put in standby keeps running, out of the
// group's capacity (a replacement launches when the desired capacity
// stays), is not replaced when its host fails, and comes back in service
// raising the desired capacity; the bounds are kept.
func TestStandby(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, b := fixture(t, e)
	e.createGroup(t, "g", 1, 3, 2, a+","+b)
	e.pass(t)
	e.runAll(t)
	e.pass(t)
	ids := e.group(t, "g").all
	out := must[*sdk.EnterStandbyOutput](t)(e.as.EnterStandby(ctx, &sdk.EnterStandbyInput{AutoScalingGroupName: aws.String("g"), InstanceIds: ids[:1],
		ShouldDecrementDesiredCapacity: aws.Bool(false)}))
	if len(out.Activities) != 1 || !strings.HasPrefix(aws.ToString(out.Activities[0].Description), "Moving EC2 instance to Standby: ") {
		t.Fatalf("EnterStandby activities %+v", out.Activities)
	}
	e.pass(t)
	g := e.group(t, "g")
	if !slices.Equal(g.byState["Standby"], ids[:1]) || len(g.byState["Pending"]) != 1 || g.desired != 2 {
		t.Fatalf("after standby without decrement: %+v, want a replacement", g)
	}
	if r := must[ec2.InstanceRecord](t)(e.ec2.Instance(ctx, ids[0])); r.State != ec2.StateRunning {
		t.Fatalf("the standby instance is %s, want running", r.State)
	}
	if _, err := e.as.ExitStandby(ctx, &sdk.ExitStandbyInput{AutoScalingGroupName: aws.String("g"), InstanceIds: ids[1:2]}); code(err) != "ValidationError" {
		t.Fatalf("ExitStandby of an instance in service: %v", err)
	}
	must[*sdk.ExitStandbyOutput](t)(e.as.ExitStandby(ctx, &sdk.ExitStandbyInput{AutoScalingGroupName: aws.String("g"), InstanceIds: ids[:1]}))
	g = e.group(t, "g")
	if g.desired != 3 || len(g.byState["Standby"]) != 0 {
		t.Fatalf("after ExitStandby: %+v, want desired 3 and none in standby", g)
	}
	// At the maximum, a standby instance cannot come back.
	must[*sdk.EnterStandbyOutput](t)(e.as.EnterStandby(ctx, &sdk.EnterStandbyInput{AutoScalingGroupName: aws.String("g"), InstanceIds: ids[:1],
		ShouldDecrementDesiredCapacity: aws.Bool(false)}))
	if _, err := e.as.ExitStandby(ctx, &sdk.ExitStandbyInput{AutoScalingGroupName: aws.String("g"), InstanceIds: ids[:1]}); code(err) != "ValidationError" {
		t.Fatalf("ExitStandby above the maximum: %v", err)
	}
	// Force-deleting the group ends its standby instance too.
	must[*sdk.DeleteAutoScalingGroupOutput](t)(e.as.DeleteAutoScalingGroup(ctx, &sdk.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("g"), ForceDelete: aws.Bool(true)}))
	e.pass(t)
	e.runAll(t)
	e.pass(t)
	if groups := must[*sdk.DescribeAutoScalingGroupsOutput](t)(e.as.DescribeAutoScalingGroups(ctx, &sdk.DescribeAutoScalingGroupsInput{})).AutoScalingGroups; len(groups) != 0 {
		t.Fatalf("force-deleted group with a standby instance remains: %+v", groups)
	}
}
