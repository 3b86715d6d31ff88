package ec2

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// TestRunInstancesRecords: RunInstances on the control plane, before a
// host starts anything: capacity, addresses, templates, profiles, tokens
// and the state machine, with EC2's errors.
func TestRunInstancesRecords(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ami := e.svc.Images()[0].ID
	_, err := e.root.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ami), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	wantCode(t, err, "InsufficientInstanceCapacity")
	if err := e.svc.Heartbeat(ctx, HostRecord{ID: "host-a"}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Heartbeat(ctx, HostRecord{ID: "host-b"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   ec2.RunInstancesInput
		code string
	}{
		{"unknown image", ec2.RunInstancesInput{ImageId: aws.String("ami-00000000000000000")}, "InvalidAMIID.NotFound"},
		{"unknown type", ec2.RunInstancesInput{ImageId: aws.String(ami), InstanceType: "x9.huge"}, "InvalidParameterValue"},
		{"unknown subnet", ec2.RunInstancesInput{ImageId: aws.String(ami), SubnetId: aws.String("subnet-00000000000000000")}, "InvalidSubnetID.NotFound"},
		{"unknown group", ec2.RunInstancesInput{ImageId: aws.String(ami), SecurityGroupIds: []string{"sg-00000000000000000"}}, "InvalidGroup.NotFound"},
		{"unknown key", ec2.RunInstancesInput{ImageId: aws.String(ami), KeyName: aws.String("nope")}, "InvalidKeyPair.NotFound"},
		{"unknown profile", ec2.RunInstancesInput{ImageId: aws.String(ami), IamInstanceProfile: &types.IamInstanceProfileSpecification{Name: aws.String("nope")}}, "InvalidParameterValue"},
		{"too many", ec2.RunInstancesInput{ImageId: aws.String(ami), MaxCount: aws.Int32(21)}, "InstanceLimitExceeded"},
	} {
		in := tc.in
		if in.MinCount == nil {
			in.MinCount = aws.Int32(1)
		}
		if in.MaxCount == nil {
			in.MaxCount = aws.Int32(1)
		}
		_, err := e.root.RunInstances(ctx, &in)
		if code(err) != tc.code {
			t.Fatalf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	if n := len(must[*ec2.DescribeInstancesOutput](t)(e.root.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})).Reservations); n != 0 {
		t.Fatalf("failed launches left %d reservations", n)
	}

	// A group in another VPC is refused.
	vpc := must[*ec2.CreateVpcOutput](t)(e.root.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})).Vpc
	other := must[*ec2.CreateSecurityGroupOutput](t)(e.root.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("other"), Description: aws.String("d"), VpcId: vpc.VpcId})).GroupId
	_, err = e.root.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ami), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SecurityGroupIds: []string{aws.ToString(other)}})
	wantCode(t, err, "InvalidParameterValue")

	// The article's launch: a template with the profile, two instances.
	must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("ecsInstanceRole"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)}))
	prof := must[*iam.CreateInstanceProfileOutput](t)(e.iam.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("ecsInstanceRole")})).InstanceProfile
	must[*iam.AddRoleToInstanceProfileOutput](t)(e.iam.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("ecsInstanceRole"), RoleName: aws.String("ecsInstanceRole")}))
	must[*ec2.CreateLaunchTemplateOutput](t)(e.root.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("ecs"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(ami), InstanceType: types.InstanceTypeT3Small,
			IamInstanceProfile: &types.LaunchTemplateIamInstanceProfileSpecificationRequest{Name: aws.String("ecsInstanceRole")},
			UserData:           aws.String("IyEvYmluL2Jhc2gKZWNobyBFQ1NfQ0xVU1RFUj1kZW1vID4+IC9ldGMvZWNzL2Vjcy5jb25maWcK")}}))
	res := must[*ec2.RunInstancesOutput](t)(e.root.RunInstances(ctx, &ec2.RunInstancesInput{MinCount: aws.Int32(2), MaxCount: aws.Int32(2),
		LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("ecs")}, ClientToken: aws.String("tok-1"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("ecs-host")}}}}}))
	if len(res.Instances) != 2 {
		t.Fatalf("reservation %+v", res)
	}
	var ids, ips []string
	for i, in := range res.Instances {
		if in.State.Name != types.InstanceStateNamePending || in.InstanceType != types.InstanceTypeT3Small || aws.ToString(in.IamInstanceProfile.Arn) != aws.ToString(prof.Arn) ||
			aws.ToInt32(in.AmiLaunchIndex) != int32(i) || len(in.SecurityGroups) != 1 || in.SecurityGroups[0].GroupName == nil || aws.ToString(in.SecurityGroups[0].GroupName) != "default" {
			t.Fatalf("instance %d: %+v", i, in)
		}
		ids = append(ids, aws.ToString(in.InstanceId))
		ips = append(ips, aws.ToString(in.PrivateIpAddress))
	}
	// Spread over the default subnets, one zone each, with addresses of
	// their subnets past the four each subnet reserves.
	for i, want := range []string{"172.31.0.4", "172.31.16.4"} {
		if ips[i] != want || aws.ToString(res.Instances[i].Placement.AvailabilityZone) != "us-east-1"+string(rune('a'+i)) {
			t.Fatalf("instance %d at %s in %s, want %s", i, ips[i], aws.ToString(res.Instances[i].Placement.AvailabilityZone), want)
		}
	}
	// The same client token answers the same reservation.
	again := must[*ec2.RunInstancesOutput](t)(e.root.RunInstances(ctx, &ec2.RunInstancesInput{MinCount: aws.Int32(2), MaxCount: aws.Int32(2),
		LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("ecs")}, ClientToken: aws.String("tok-1")}))
	if aws.ToString(again.ReservationId) != aws.ToString(res.ReservationId) {
		t.Fatalf("client token not idempotent: %s vs %s", aws.ToString(again.ReservationId), aws.ToString(res.ReservationId))
	}
	// Spread over the live hosts, and their user data says the cluster.
	recs, err := e.svc.Instances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]bool{}
	for _, r := range recs {
		hosts[r.Value.Host] = true
		if ECSConfig(r.Value.UserData)["ECS_CLUSTER"] != "demo" {
			t.Fatalf("user data %q", r.Value.UserData)
		}
	}
	if len(hosts) != 2 {
		t.Fatalf("hosts used: %v", hosts)
	}
	// Filters.
	byTag := must[*ec2.DescribeInstancesOutput](t)(e.root.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{
		{Name: aws.String("tag:Name"), Values: []string{"ecs-host"}}, {Name: aws.String("instance-state-name"), Values: []string{"pending"}}}}))
	if len(byTag.Reservations) != 1 || len(byTag.Reservations[0].Instances) != 2 {
		t.Fatalf("by tag: %+v", byTag.Reservations)
	}
	// The state machine: a host brings them up; stop, start, terminate.
	for _, r := range recs {
		if err := e.svc.SetInstanceState(ctx, r.Value.ID, r.Rev, StateRunning, ""); err != nil {
			t.Fatal(err)
		}
	}
	stop := must[*ec2.StopInstancesOutput](t)(e.root.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: ids[:1]}))
	if stop.StoppingInstances[0].PreviousState.Name != types.InstanceStateNameRunning || stop.StoppingInstances[0].CurrentState.Name != types.InstanceStateNameStopping {
		t.Fatalf("stop: %+v", stop.StoppingInstances)
	}
	_, err = e.root.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: ids[:1]})
	wantCode(t, err, "IncorrectInstanceState")
	status := must[*ec2.DescribeInstanceStatusOutput](t)(e.root.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{}))
	if len(status.InstanceStatuses) != 1 || aws.ToString(status.InstanceStatuses[0].InstanceId) != ids[1] || status.InstanceStatuses[0].InstanceStatus.Status != types.SummaryStatusOk {
		t.Fatalf("status of running instances: %+v", status.InstanceStatuses)
	}
	term := must[*ec2.TerminateInstancesOutput](t)(e.root.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids}))
	for _, c := range term.TerminatingInstances {
		if c.CurrentState.Name != types.InstanceStateNameShuttingDown {
			t.Fatalf("terminate: %+v", term.TerminatingInstances)
		}
	}
	_, err = e.root.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-00000000000000000"}})
	wantCode(t, err, "InvalidInstanceID.NotFound")
	// A terminated instance gives its address back.
	recs, _ = e.svc.Instances(ctx)
	for _, r := range recs {
		if err := e.svc.SetInstanceState(ctx, r.Value.ID, r.Rev, StateTerminated, ""); err != nil {
			t.Fatal(err)
		}
	}
	next := must[*ec2.RunInstancesOutput](t)(e.root.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ami), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		DisableApiTermination: aws.Bool(true)}))
	if ip := aws.ToString(next.Instances[0].PrivateIpAddress); !slices.Contains(ips, ip) {
		t.Fatalf("new instance got %s, not a freed address of %v", ip, ips)
	}
	_, err = e.root.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{aws.ToString(next.Instances[0].InstanceId)}})
	wantCode(t, err, "OperationNotPermitted")
}
