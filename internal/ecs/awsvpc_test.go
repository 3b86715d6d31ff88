package ecs

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/ec2"
	"github.com/berth-dev/berth/internal/store"
)

// awsvpcEnv is an ECS with EC2's default network, a cluster "vpc" with
// one task-eni instance in each of zones a and b, and an awsvpc task
// definition "web".
type awsvpcEnv struct {
	*env
	ec2     *ec2.Service
	vpc     string
	subnets map[string]ec2.Subnet // by zone
	group   string                // a group of the default VPC
	td      *TaskDefinition
	insts   map[string]ContainerInstance // by zone
}

func newAwsvpcEnv(t *testing.T) *awsvpcEnv {
	e := &awsvpcEnv{env: newEnv(t), subnets: map[string]ec2.Subnet{}, insts: map[string]ContainerInstance{}}
	e.ec2 = ec2.New(ec2.Config{Region: testRegion, Account: testAccount}, e.st, api.RootOnly{}, quietLogger())
	if err := e.ec2.EnsureDefaults(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.svc.cfg.Networks = e.ec2
	subs, err := e.ec2.DescribeSubnets(e.ctx, &ec2.DescribeSubnetsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range subs.Subnets {
		e.subnets[s.AvailabilityZone], e.vpc = s, s.VpcID
	}
	sg, err := e.ec2.CreateSecurityGroup(e.ctx, &ec2.CreateSecurityGroupInput{GroupName: "web", Description: "web tasks"})
	if err != nil {
		t.Fatal(err)
	}
	e.group = sg.GroupID
	e.cluster("vpc")
	for _, zone := range []string{"us-east-1a", "us-east-1b"} {
		e.insts[zone] = e.instance("vpc", 4096, 4096, instanceOpts{attrs: []Attribute{
			{Name: "ecs.availability-zone", Value: ptr(zone)}, {Name: "ecs.vpc-id", Value: ptr(e.vpc)}, {Name: capTaskENI},
		}})
	}
	e.td = e.register(&RegisterTaskDefinitionInput{Family: "web", NetworkMode: "awsvpc", ContainerDefinitions: []ContainerDefinition{
		{Name: "app", Image: "app:1", Memory: ptr(64), PortMappings: []PortMapping{{ContainerPort: ptr(8080)}}},
		{Name: "sidecar", Image: "side:1", Memory: ptr(64), Essential: ptr(false)},
	}})
	return e
}

// joinFargateHost registers the Fargate host's container instance with
// cpu units and memory MiB, as its agent does, and connects it.
func (e *awsvpcEnv) joinFargateHost(host, cluster string, cpu, memory int) ContainerInstance {
	e.t.Helper()
	rec, err := e.ec2.Instance(e.ctx, host)
	if err != nil {
		e.t.Fatal(err)
	}
	doc, sig, err := e.ec2.InstanceIdentity(e.ctx, rec)
	if err != nil {
		e.t.Fatal(err)
	}
	joined, err := e.svc.RegisterContainerInstance(e.ctx, &RegisterContainerInstanceInput{Cluster: cluster, InstanceIdentityDocument: doc, InstanceIdentityDocumentSignature: sig,
		TotalResources: []Resource{{Name: "CPU", Type: "INTEGER", IntegerValue: cpu}, {Name: "MEMORY", Type: "INTEGER", IntegerValue: memory}},
		Attributes:     []Attribute{{Name: capTaskENI}}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.connect(lastSegment(joined.ContainerInstance.ContainerInstanceArn))
	return joined.ContainerInstance
}

func (e *awsvpcEnv) register(in *RegisterTaskDefinitionInput) *TaskDefinition {
	e.t.Helper()
	out, err := e.svc.RegisterTaskDefinition(e.ctx, in)
	if err != nil {
		e.t.Fatal(err)
	}
	return out.TaskDefinition
}

func (e *awsvpcEnv) interfaces() []ec2.NetworkInterface {
	e.t.Helper()
	out, err := e.ec2.DescribeNetworkInterfaces(e.ctx, &ec2.DescribeNetworkInterfacesInput{})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.NetworkInterfaces
}

func awsvpc(subnets []string, groups ...string) *NetworkConfiguration {
	return &NetworkConfiguration{AwsvpcConfiguration: &AwsVpcConfiguration{Subnets: subnets, SecurityGroups: groups}}
}

// TestAwsvpcNetworkConfigurationErrors: a launch whose network
// configuration does not fit its task definition or names what does not
// exist is refused with ECS's messages, and nothing is made.
func TestAwsvpcNetworkConfigurationErrors(t *testing.T) {
	e := newAwsvpcEnv(t)
	bridge := e.taskDef("bridge", container("app", 64, 64))
	other, err := e.ec2.CreateVpc(e.ctx, &ec2.CreateVpcInput{CidrBlock: "10.77.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	otherSub, err := e.ec2.CreateSubnet(e.ctx, &ec2.CreateSubnetInput{VpcId: other.Vpc.VpcID, CidrBlock: "10.77.1.0/24", AvailabilityZone: "us-east-1a"})
	if err != nil {
		t.Fatal(err)
	}
	a := e.subnets["us-east-1a"].SubnetID
	for _, tc := range []struct {
		name string
		td   string
		nc   *NetworkConfiguration
		msg  string
	}{
		{"awsvpc without configuration", e.td.TaskDefinitionArn, nil, "Network Configuration must be provided when networkMode 'awsvpc' is specified."},
		{"bridge with configuration", bridge.TaskDefinitionArn, awsvpc([]string{a}), "Network Configuration is not valid for the given networkMode of this task definition."},
		{"no subnets", e.td.TaskDefinitionArn, awsvpc([]string{}), "subnets can not be empty."},
		{"unknown subnet", e.td.TaskDefinitionArn, awsvpc([]string{"subnet-0123456789abcdef0"}),
			"Error retrieving subnet information for [subnet-0123456789abcdef0]: The subnet ID 'subnet-0123456789abcdef0' does not exist"},
		{"unknown group", e.td.TaskDefinitionArn, awsvpc([]string{a}, "sg-0123456789abcdef0"),
			"Error retrieving security group information for [sg-0123456789abcdef0]: The security group 'sg-0123456789abcdef0' does not exist"},
		{"subnets of two VPCs", e.td.TaskDefinitionArn, awsvpc([]string{a, otherSub.Subnet.SubnetID}), "The subnets and security groups are not all in one VPC"},
		{"group of another VPC", e.td.TaskDefinitionArn, awsvpc([]string{otherSub.Subnet.SubnetID}, e.group), "The subnets and security groups are not all in one VPC"},
		{"public address", e.td.TaskDefinitionArn, &NetworkConfiguration{AwsvpcConfiguration: &AwsVpcConfiguration{Subnets: []string{a}, AssignPublicIp: "ENABLED"}},
			"Assign public IP is not supported for this launch type."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.snapshot()
			_, err := e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: "vpc", TaskDefinition: tc.td, NetworkConfiguration: tc.nc})
			wantCode(t, err, "InvalidParameterException")
			if !strings.HasPrefix(api.AsError(err).Message, tc.msg) {
				t.Fatalf("message %q, want it to start with %q", api.AsError(err).Message, tc.msg)
			}
			e.with(t).unchanged(before)
			_, err = e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: "vpc", ServiceName: "s", TaskDefinition: tc.td, DesiredCount: ptr(1), NetworkConfiguration: tc.nc})
			if !strings.HasPrefix(api.AsError(err).Message, tc.msg) {
				t.Fatalf("CreateService: %v, want %q", err, tc.msg)
			}
		})
	}
	if enis := e.interfaces(); len(enis) != 0 {
		t.Fatalf("interfaces made: %+v", enis)
	}
}

// TestAwsvpcTaskInterface: an awsvpc task is placed in its subnet's zone
// and gets an interface there, shown on the task, in EC2 and in the
// payload; the interface is deleted once the task has stopped.
func TestAwsvpcTaskInterface(t *testing.T) {
	e := newAwsvpcEnv(t)
	sub := e.subnets["us-east-1b"]
	out, err := e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: "vpc", TaskDefinition: e.td.TaskDefinitionArn, NetworkConfiguration: awsvpc([]string{sub.SubnetID}, e.group)})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("run: %+v %v", out, err)
	}
	task := out.Tasks[0]
	if task.ContainerInstanceArn != e.insts["us-east-1b"].ContainerInstanceArn || task.AvailabilityZone != "us-east-1b" {
		t.Fatalf("placed on %s in %s, want the us-east-1b instance", task.ContainerInstanceArn, task.AvailabilityZone)
	}
	if len(task.Attachments) != 1 || task.Attachments[0].Type != "ElasticNetworkInterface" || task.Attachments[0].Status != "ATTACHED" {
		t.Fatalf("attachments %+v", task.Attachments)
	}
	details := map[string]string{}
	for _, d := range task.Attachments[0].Details {
		details[d.Name] = d.Value
	}
	ip, err := netip.ParseAddr(details["privateIPv4Address"])
	if err != nil || !netip.MustParsePrefix(sub.CidrBlock).Contains(ip) || details["subnetId"] != sub.SubnetID ||
		!strings.HasPrefix(details["networkInterfaceId"], "eni-") || details["macAddress"] == "" || !strings.HasPrefix(details["privateDnsName"], "ip-") {
		t.Fatalf("attachment details %v (subnet %s %s)", details, sub.SubnetID, sub.CidrBlock)
	}
	for _, c := range task.Containers {
		if len(c.NetworkInterfaces) != 1 || c.NetworkInterfaces[0].PrivateIpv4Address != ip.String() || c.NetworkInterfaces[0].AttachmentID != task.Attachments[0].ID {
			t.Fatalf("container %s interfaces %+v", c.Name, c.NetworkInterfaces)
		}
	}
	enis := e.interfaces()
	if len(enis) != 1 {
		t.Fatalf("interfaces %+v", enis)
	}
	eni := enis[0]
	if eni.NetworkInterfaceID != details["networkInterfaceId"] || eni.PrivateIPAddress != ip.String() || eni.Status != "in-use" ||
		eni.RequesterID != "ecs" || !eni.RequesterManaged || eni.InterfaceType != "interface" || len(eni.Groups) != 1 || eni.Groups[0].GroupID != e.group ||
		eni.Attachment == nil || eni.Attachment.InstanceID != e.insts["us-east-1b"].Ec2InstanceId || eni.MacAddress != details["macAddress"] {
		t.Fatalf("interface %+v", eni)
	}
	it, err := store.Get[taskRecord](e.ctx, e.st, e.svc.keys.task("vpc", lastSegment(task.TaskArn)))
	if err != nil {
		t.Fatal(err)
	}
	rec, td := it.Value, *e.td
	payload := e.svc.acsTask(&rec, &td)
	gw := netip.MustParsePrefix(sub.CidrBlock)
	wantGW := netip.PrefixFrom(gw.Addr().Next(), gw.Bits()).String()
	if len(payload.ElasticNetworkInterfaces) != 1 || payload.ElasticNetworkInterfaces[0].Ec2Id != eni.NetworkInterfaceID ||
		payload.ElasticNetworkInterfaces[0].SubnetGatewayIpv4Address != wantGW || payload.ElasticNetworkInterfaces[0].IPV4Addresses[0].PrivateAddress != ip.String() {
		t.Fatalf("payload interfaces %+v, want gateway %s", payload.ElasticNetworkInterfaces, wantGW)
	}

	// Still running: nothing is released.
	if err := e.svc.releaseInterfacesPass(e.ctx); err != nil {
		t.Fatal(err)
	}
	if len(e.interfaces()) != 1 {
		t.Fatal("the interface of a running task was released")
	}
	// The interface keeps its group and subnet from being deleted.
	if _, err := e.ec2.DeleteSecurityGroup(e.ctx, &ec2.DeleteSecurityGroupInput{GroupId: e.group}); api.AsError(err).Code != "DependencyViolation" {
		t.Fatalf("delete the task's group: %v, want DependencyViolation", err)
	}
	if _, err := e.ec2.DeleteSubnet(e.ctx, &ec2.DeleteSubnetInput{SubnetId: sub.SubnetID}); api.AsError(err).Code != "DependencyViolation" {
		t.Fatalf("delete the task's subnet: %v, want DependencyViolation", err)
	}
	if _, err := e.svc.SubmitTaskStateChange(e.ctx, &SubmitTaskStateChangeInput{Cluster: "vpc", Task: task.TaskArn, Status: "STOPPED", Reason: "done"}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.releaseInterfacesPass(e.ctx); err != nil {
		t.Fatal(err)
	}
	if enis := e.interfaces(); len(enis) != 0 {
		t.Fatalf("interfaces after the task stopped: %+v", enis)
	}
	if got := e.describeTask("vpc", task.TaskArn); got.Attachments[0].Status != "DELETED" {
		t.Fatalf("attachment after release: %+v", got.Attachments)
	}
	if n, _ := e.st.Keys(e.ctx, e.svc.keys.interfaces()); len(n) != 0 {
		t.Fatalf("index left: %v", n)
	}
	if _, err := e.ec2.DeleteSecurityGroup(e.ctx, &ec2.DeleteSecurityGroupInput{GroupId: e.group}); err != nil {
		t.Fatalf("delete the group once the interface is gone: %v", err)
	}

	// A subnet whose zone has no instance: the task cannot be placed, and
	// no interface is made.
	out, err = e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: "vpc", TaskDefinition: e.td.TaskDefinitionArn,
		NetworkConfiguration: awsvpc([]string{e.subnets["us-east-1c"].SubnetID})})
	if err != nil || len(out.Tasks) != 0 || len(out.Failures) == 0 {
		t.Fatalf("run in zone c: %+v %v", out, err)
	}
	if enis := e.interfaces(); len(enis) != 0 {
		t.Fatalf("interfaces after a failed placement: %+v", enis)
	}
}

// TestAwsvpcService: a service keeps its network configuration on itself
// and its deployments, and its tasks get interfaces; a new configuration
// starts a new deployment.
func TestAwsvpcService(t *testing.T) {
	e := newAwsvpcEnv(t)
	a, b := e.subnets["us-east-1a"].SubnetID, e.subnets["us-east-1b"].SubnetID
	out, err := e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: "vpc", ServiceName: "web", TaskDefinition: e.td.TaskDefinitionArn,
		DesiredCount: ptr(2), NetworkConfiguration: awsvpc([]string{a, b}, e.group)})
	if err != nil {
		t.Fatal(err)
	}
	svc := out.Service
	if svc.NetworkConfiguration == nil || len(svc.NetworkConfiguration.AwsvpcConfiguration.Subnets) != 2 ||
		svc.Deployments[0].NetworkConfiguration == nil || svc.Deployments[0].NetworkConfiguration.AwsvpcConfiguration.SecurityGroups[0] != e.group {
		t.Fatalf("service %+v deployments %+v", svc.NetworkConfiguration, svc.Deployments)
	}
	sc := newSched(e.env, "vpc")
	sc.pass()
	recs := sc.tasks()
	if len(recs) != 2 {
		t.Fatalf("tasks %d", len(recs))
	}
	zones := map[string]bool{}
	for _, rec := range recs {
		task := rec.Task
		zones[task.AvailabilityZone] = true
		if len(task.Attachments) != 1 || task.Attachments[0].Type != "ElasticNetworkInterface" {
			t.Fatalf("task %s attachments %+v", task.TaskArn, task.Attachments)
		}
	}
	if len(zones) != 2 || len(e.interfaces()) != 2 {
		t.Fatalf("zones %v interfaces %d", zones, len(e.interfaces()))
	}
	up, err := e.svc.UpdateService(e.ctx, &UpdateServiceInput{Cluster: "vpc", Service: "web", NetworkConfiguration: awsvpc([]string{a})})
	if err != nil {
		t.Fatal(err)
	}
	if len(up.Service.Deployments) != 2 || len(up.Service.Deployments[0].NetworkConfiguration.AwsvpcConfiguration.Subnets) != 1 {
		t.Fatalf("deployments after a new network configuration: %+v", up.Service.Deployments)
	}
	bridge := e.taskDef("bridge", container("app", 64, 64))
	_, err = e.svc.UpdateService(e.ctx, &UpdateServiceInput{Cluster: "vpc", Service: "web", TaskDefinition: bridge.TaskDefinitionArn})
	wantCode(t, err, "InvalidParameterException")
}

// TestFargateTasks: FARGATE tasks are checked as ECS checks them, wait
// for their cluster's hidden host the first time, then run there with
// their own interface in their subnets' zones; the host is in no list a
// user sees, and EC2 tasks never land on it.
func TestFargateTasks(t *testing.T) {
	e := newAwsvpcEnv(t)
	e.svc.cfg.Fargate, e.svc.cfg.Identity = e.ec2, e.ec2
	if err := e.ec2.Heartbeat(e.ctx, ec2.HostRecord{ID: "host-1"}); err != nil {
		t.Fatal(err)
	}
	fg := e.register(&RegisterTaskDefinitionInput{Family: "fg", NetworkMode: "awsvpc", RequiresCompatibilities: []string{"FARGATE"},
		Cpu: "256", Memory: "512", ContainerDefinitions: []ContainerDefinition{{Name: "app", Image: "app:1",
			PortMappings: []PortMapping{{ContainerPort: ptr(8080)}}}}}) // every task on the one host has its own port 8080
	bridge := e.taskDef("bridge", container("app", 64, 64))
	a, b := e.subnets["us-east-1a"].SubnetID, e.subnets["us-east-1b"].SubnetID
	nc := awsvpc([]string{a, b}, e.group)
	for _, tc := range []struct {
		name string
		in   RunTaskInput
		msg  string
	}{
		{"not a Fargate definition", RunTaskInput{TaskDefinition: bridge.TaskDefinitionArn}, "Task definition does not support launch_type FARGATE."},
		{"no network configuration", RunTaskInput{TaskDefinition: fg.TaskDefinitionArn}, "Network Configuration must be provided when networkMode 'awsvpc' is specified."},
		{"placement constraints", RunTaskInput{TaskDefinition: fg.TaskDefinitionArn, NetworkConfiguration: nc,
			PlacementConstraints: []PlacementConstraint{{Type: "distinctInstance"}}}, "Task placement constraints are not supported for the FARGATE launch type."},
		{"placement strategies", RunTaskInput{TaskDefinition: fg.TaskDefinitionArn, NetworkConfiguration: nc,
			PlacementStrategy: []PlacementStrategy{{Type: "random"}}}, "Task placement strategies are not supported for the FARGATE launch type."},
		{"unknown platform version", RunTaskInput{TaskDefinition: fg.TaskDefinitionArn, NetworkConfiguration: nc, PlatformVersion: "9.9.9"},
			"The specified platform version (9.9.9) does not exist."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.snapshot()
			in := tc.in
			in.Cluster, in.LaunchType = "vpc", "FARGATE"
			_, err := e.svc.RunTask(e.ctx, &in)
			wantCode(t, err, "InvalidParameterException")
			if !strings.HasPrefix(api.AsError(err).Message, tc.msg) {
				t.Fatalf("message %q, want %q", api.AsError(err).Message, tc.msg)
			}
			e.with(t).unchanged(before)
		})
	}

	run := func() Task {
		t.Helper()
		out, err := e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: "vpc", TaskDefinition: fg.TaskDefinitionArn, LaunchType: "FARGATE", NetworkConfiguration: nc})
		if err != nil || len(out.Tasks) != 1 || len(out.Failures) != 0 {
			t.Fatalf("run: %+v %v", out, err)
		}
		return out.Tasks[0]
	}
	first := run()
	if first.LastStatus != "PROVISIONING" || first.LaunchType != "FARGATE" || first.ContainerInstanceArn != "" || first.PlatformVersion != FargatePlatformVersion ||
		first.PlatformFamily != "Linux" || first.EphemeralStorage == nil || first.EphemeralStorage.SizeInGiB != 20 {
		t.Fatalf("the first Fargate task %+v", first)
	}
	if err := e.svc.fargatePass(e.ctx); err != nil {
		t.Fatal(err)
	}
	host, err := e.ec2.FargateHost(e.ctx, "vpc")
	if err != nil || host == "" {
		t.Fatalf("Fargate host %q %v", host, err)
	}
	if err := e.svc.fargatePass(e.ctx); err != nil {
		t.Fatal(err)
	}
	if again, _ := e.ec2.FargateHost(e.ctx, "vpc"); again != host {
		t.Fatalf("a second host %s launched beside %s", again, host)
	}
	if out, err := e.ec2.DescribeInstances(e.ctx, &ec2.DescribeInstancesInput{}); err != nil || len(out.Reservations) != 0 {
		t.Fatalf("describe-instances shows %+v (%v), want nothing", out, err)
	}
	if _, err := e.ec2.DescribeInstances(e.ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{host}}); api.AsError(err).Code != "InvalidInstanceID.NotFound" {
		t.Fatalf("describe-instances of the host: %v", err)
	}

	// The host's agent joins, as an instance does.
	joined := e.joinFargateHost(host, "vpc", 16384, 65536)
	list, err := e.svc.ListContainerInstances(e.ctx, &ListContainerInstancesInput{Cluster: "vpc"})
	if err != nil || len(list.ContainerInstanceArns) != 2 || slices.Contains(list.ContainerInstanceArns, joined.ContainerInstanceArn) {
		t.Fatalf("list-container-instances %v %v: the Fargate host is listed", list, err)
	}
	if err := e.svc.fargatePass(e.ctx); err != nil {
		t.Fatal(err)
	}
	placed := e.describeTask("vpc", first.TaskArn)
	if placed.LastStatus != "PENDING" || placed.ContainerInstanceArn != "" || len(placed.Attachments) != 1 || placed.AvailabilityZone == "" {
		t.Fatalf("the waiting task once the host joined: %+v", placed)
	}
	if keys, _ := e.st.Keys(e.ctx, e.svc.keys.fargateWaits()); len(keys) != 0 {
		t.Fatalf("wait index left: %v", keys)
	}
	// Later tasks are placed at once, in the subnets' zones in turn.
	second := run()
	if second.LastStatus != "PENDING" || second.AvailabilityZone == placed.AvailabilityZone {
		t.Fatalf("the second task %s in %s (the first in %s)", second.LastStatus, second.AvailabilityZone, placed.AvailabilityZone)
	}
	enis := e.interfaces()
	if len(enis) != 2 {
		t.Fatalf("interfaces %+v", enis)
	}
	for _, eni := range enis {
		if eni.Attachment == nil || eni.Attachment.InstanceID != "" || eni.Attachment.InstanceOwnerID != "amazon-aws" {
			t.Fatalf("a Fargate task's interface shows its host: %+v", eni.Attachment)
		}
	}
	// EC2 tasks never go to the Fargate host.
	for range 6 {
		out, err := e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: "vpc", TaskDefinition: bridge.TaskDefinitionArn})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("EC2 run: %+v %v", out, err)
		}
		if out.Tasks[0].ContainerInstanceArn == joined.ContainerInstanceArn {
			t.Fatal("an EC2 task was placed on the Fargate host")
		}
	}
	cl, err := e.svc.DescribeClusters(e.ctx, &DescribeClustersInput{Clusters: []string{"vpc"}, Include: []string{"STATISTICS"}})
	if err != nil || cl.Clusters[0].RegisteredContainerInstancesCount != 2 {
		t.Fatalf("describe-clusters %+v %v", cl, err)
	}
	for _, st := range cl.Clusters[0].Statistics {
		if st.Name == "pendingFargateTasksCount" && st.Value != "2" {
			t.Fatalf("pendingFargateTasksCount %s, want 2", st.Value)
		}
	}

	// Fargate's capacity providers: a cluster's default strategy of
	// FARGATE_SPOT runs a task without a launch type on Fargate, named so.
	if _, err := e.svc.PutClusterCapacityProviders(e.ctx, &PutClusterCapacityProvidersInput{Cluster: "vpc", CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: []CapacityProviderStrategyItem{{CapacityProvider: "FARGATE_SPOT", Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	out, err := e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: "vpc", TaskDefinition: fg.TaskDefinitionArn, NetworkConfiguration: nc})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("run with the default strategy: %+v %v", out, err)
	}
	if tk := out.Tasks[0]; tk.LaunchType != "FARGATE" || tk.CapacityProviderName != "FARGATE_SPOT" || tk.LastStatus != "PENDING" || tk.ContainerInstanceArn != "" {
		t.Fatalf("a FARGATE_SPOT task %+v", tk)
	}
	// A bridge definition cannot follow that strategy.
	_, err = e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: "vpc", TaskDefinition: bridge.TaskDefinitionArn})
	wantCode(t, err, "InvalidParameterException")
}

// TestFargateHostLeavesWithItsCluster: deleting a cluster terminates its
// Fargate host, and only its.
func TestFargateHostLeavesWithItsCluster(t *testing.T) {
	e := newAwsvpcEnv(t)
	e.svc.cfg.Fargate, e.svc.cfg.Identity = e.ec2, e.ec2
	if err := e.ec2.Heartbeat(e.ctx, ec2.HostRecord{ID: "host-1"}); err != nil {
		t.Fatal(err)
	}
	fg := e.register(&RegisterTaskDefinitionInput{Family: "fg", NetworkMode: "awsvpc", RequiresCompatibilities: []string{"FARGATE"},
		Cpu: "256", Memory: "512", ContainerDefinitions: []ContainerDefinition{{Name: "app", Image: "app:1"}}})
	nc := awsvpc([]string{e.subnets["us-east-1a"].SubnetID}, e.group)
	e.cluster("gone")
	hosts := map[string]string{}
	tasks := map[string]string{}
	for _, cluster := range []string{"vpc", "gone"} {
		out, err := e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: cluster, TaskDefinition: fg.TaskDefinitionArn, LaunchType: "FARGATE", NetworkConfiguration: nc})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("run in %s: %+v %v", cluster, out, err)
		}
		tasks[cluster] = out.Tasks[0].TaskArn
		if err := e.svc.fargatePass(e.ctx); err != nil {
			t.Fatal(err)
		}
		host, err := e.ec2.FargateHost(e.ctx, cluster)
		if err != nil || host == "" {
			t.Fatalf("%s's Fargate host %q %v", cluster, host, err)
		}
		hosts[cluster] = host
	}
	// Nothing goes while the cluster is there.
	if err := e.svc.retireFargateHosts(e.ctx); err != nil {
		t.Fatal(err)
	}
	for cluster, host := range hosts {
		if now, _ := e.ec2.FargateHost(e.ctx, cluster); now != host {
			t.Fatalf("%s's host %s became %q while the cluster is active", cluster, host, now)
		}
	}
	if _, err := e.svc.StopTask(e.ctx, &StopTaskInput{Cluster: "gone", Task: tasks["gone"]}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.DeleteCluster(e.ctx, &ClusterRefInput{Cluster: "gone"}); err != nil {
		t.Fatal(err)
	}
	if !e.svc.fargateRetire.Load() {
		t.Fatal("DeleteCluster did not ask the Fargate controller to retire hosts")
	}
	if err := e.svc.retireFargateHosts(e.ctx); err != nil {
		t.Fatal(err)
	}
	rec, err := e.ec2.Instance(e.ctx, hosts["gone"])
	if err != nil || rec.State != ec2.StateShuttingDown {
		t.Fatalf("the deleted cluster's host is %q (%v), want shutting-down", rec.State, err)
	}
	if now, _ := e.ec2.FargateHost(e.ctx, "vpc"); now != hosts["vpc"] {
		t.Fatalf("the other cluster's host became %q", now)
	}
}

// TestPlatformVersionByLaunchType: an EC2 launch takes no platform
// version, in ECS's words; a Fargate service's UpdateService takes one,
// deploying again only when it changes what the service runs.
func TestPlatformVersionByLaunchType(t *testing.T) {
	e := newAwsvpcEnv(t)
	e.svc.cfg.Fargate, e.svc.cfg.Identity = e.ec2, e.ec2
	fg := e.register(&RegisterTaskDefinitionInput{Family: "fg", NetworkMode: "awsvpc", RequiresCompatibilities: []string{"FARGATE"},
		Cpu: "256", Memory: "512", ContainerDefinitions: []ContainerDefinition{{Name: "app", Image: "app:1"}}})
	bridge := e.taskDef("bridge", container("app", 64, 64))
	nc := awsvpc([]string{e.subnets["us-east-1a"].SubnetID}, e.group)
	if _, err := e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: "vpc", ServiceName: "ec2", TaskDefinition: bridge.TaskDefinitionArn, DesiredCount: ptr(0)}); err != nil {
		t.Fatal(err)
	}
	created, err := e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: "vpc", ServiceName: "fg", TaskDefinition: fg.TaskDefinitionArn, DesiredCount: ptr(0),
		LaunchType: "FARGATE", NetworkConfiguration: nc, PlatformVersion: "LATEST"})
	if err != nil || created.Service.PlatformVersion != FargatePlatformVersion {
		t.Fatalf("create a Fargate service on LATEST: %+v %v", created, err)
	}
	const ec2Message = "The platform version must be null when specifying an EC2 launch type."
	for _, tc := range []struct {
		name string
		call func() error
		msg  string
	}{
		{"run an EC2 task", func() error {
			_, err := e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: "vpc", TaskDefinition: bridge.TaskDefinitionArn, PlatformVersion: "LATEST"})
			return err
		}, ec2Message},
		{"start an EC2 task", func() error {
			_, err := e.svc.StartTask(e.ctx, &RunTaskInput{Cluster: "vpc", TaskDefinition: bridge.TaskDefinitionArn,
				ContainerInstances: []string{e.insts["us-east-1a"].ContainerInstanceArn}, PlatformVersion: "1.4.0"})
			return err
		}, ec2Message},
		{"create an EC2 service", func() error {
			_, err := e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: "vpc", ServiceName: "other", TaskDefinition: bridge.TaskDefinitionArn, DesiredCount: ptr(1), PlatformVersion: "1.4.0"})
			return err
		}, ec2Message},
		{"update an EC2 service", func() error {
			_, err := e.svc.UpdateService(e.ctx, &UpdateServiceInput{Cluster: "vpc", Service: "ec2", PlatformVersion: "LATEST"})
			return err
		}, ec2Message},
		{"update a Fargate service to a version that does not exist", func() error {
			_, err := e.svc.UpdateService(e.ctx, &UpdateServiceInput{Cluster: "vpc", Service: "fg", PlatformVersion: "1.3.0"})
			return err
		}, "The specified platform version (1.3.0) does not exist."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.snapshot()
			err := tc.call()
			wantCode(t, err, "InvalidParameterException")
			if !strings.HasPrefix(api.AsError(err).Message, tc.msg) {
				t.Fatalf("message %q, want %q", api.AsError(err).Message, tc.msg)
			}
			e.with(t).unchanged(before)
		})
	}
	for _, v := range []string{"LATEST", FargatePlatformVersion} {
		out, err := e.svc.UpdateService(e.ctx, &UpdateServiceInput{Cluster: "vpc", Service: "fg", PlatformVersion: v})
		if err != nil || out.Service.PlatformVersion != FargatePlatformVersion || len(out.Service.Deployments) != 1 {
			t.Fatalf("update-service --platform-version %s: %+v %v; want the one deployment on %s", v, out, err, FargatePlatformVersion)
		}
	}
}

// TestFargateSpotInterruption: Berth takes room back from FARGATE_SPOT
// tasks when a FARGATE task needs it. A FARGATE task that finds the
// cluster's Fargate host full of Spot tasks waits in PROVISIONING, and
// the leader interrupts as few Spot tasks as make room, the most recently
// started first, with AWS's stop code and reason; once they have stopped
// the waiting task is placed. A Spot task never interrupts another, and
// no Spot task is interrupted for a task they could not make room for.
func TestFargateSpotInterruption(t *testing.T) {
	e := newAwsvpcEnv(t)
	e.svc.cfg.Fargate, e.svc.cfg.Identity = e.ec2, e.ec2
	if err := e.ec2.Heartbeat(e.ctx, ec2.HostRecord{ID: "host-1"}); err != nil {
		t.Fatal(err)
	}
	def := func(family, cpu, memory string) *TaskDefinition {
		return e.register(&RegisterTaskDefinitionInput{Family: family, NetworkMode: "awsvpc", RequiresCompatibilities: []string{"FARGATE"},
			Cpu: cpu, Memory: memory, ContainerDefinitions: []ContainerDefinition{{Name: "app", Image: "app:1"}}})
	}
	quarter, whole := def("quarter", "4096", "8192"), def("whole", "16384", "32768")
	if _, err := e.svc.PutClusterCapacityProviders(e.ctx, &PutClusterCapacityProvidersInput{Cluster: "vpc", CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: []CapacityProviderStrategyItem{}}); err != nil {
		t.Fatal(err)
	}
	nc := awsvpc([]string{e.subnets["us-east-1a"].SubnetID}, e.group)
	run := func(td *TaskDefinition, spot bool) *RunTaskOutput {
		t.Helper()
		in := &RunTaskInput{Cluster: "vpc", TaskDefinition: td.TaskDefinitionArn, NetworkConfiguration: nc}
		if spot {
			in.CapacityProviderStrategy = []CapacityProviderStrategyItem{{CapacityProvider: "FARGATE_SPOT", Weight: 1}}
		} else {
			in.LaunchType = "FARGATE"
		}
		out, err := e.svc.RunTask(e.ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	pass := func() {
		t.Helper()
		if err := e.svc.fargatePass(e.ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Four Spot tasks fill the host (16384 units).
	var spots []string
	spots = append(spots, run(quarter, true).Tasks[0].TaskArn)
	pass()
	host, err := e.ec2.FargateHost(e.ctx, "vpc")
	if err != nil || host == "" {
		t.Fatalf("Fargate host %q %v", host, err)
	}
	e.joinFargateHost(host, "vpc", 16384, 65536)
	pass()
	for range 3 {
		time.Sleep(2 * time.Millisecond) // distinct start times
		out := run(quarter, true)
		if len(out.Tasks) != 1 || out.Tasks[0].LastStatus != "PENDING" {
			t.Fatalf("a Spot task on the host: %+v", out)
		}
		spots = append(spots, out.Tasks[0].TaskArn)
	}
	interrupted := func() []string {
		t.Helper()
		var arns []string
		for _, arn := range spots {
			tk := e.describeTask("vpc", arn)
			if tk.DesiredStatus == "STOPPED" {
				if tk.StopCode != "SpotInterruption" || tk.StoppedReason != "Your Spot Task was interrupted." {
					t.Fatalf("an interrupted Spot task: stop code %q, reason %q", tk.StopCode, tk.StoppedReason)
				}
				arns = append(arns, arn)
			}
		}
		return arns
	}

	// A Spot task finds no room: a failure, and no Spot task is touched.
	if out := run(quarter, true); len(out.Tasks) != 0 || len(out.Failures) == 0 {
		t.Fatalf("a Spot task on a full host: %+v", out)
	}
	// No FARGATE task waits: a pass interrupts nothing.
	pass()
	if got := interrupted(); len(got) != 0 {
		t.Fatalf("interrupted without a FARGATE task waiting: %v", got)
	}

	// A FARGATE task finds no room: it waits, and the newest Spot task
	// alone is interrupted.
	od := run(quarter, false)
	if len(od.Tasks) != 1 || len(od.Failures) != 0 || od.Tasks[0].LastStatus != "PROVISIONING" {
		t.Fatalf("a FARGATE task on a host full of Spot tasks: %+v", od)
	}
	pass()
	pass() // a second pass counts the stopping task's room: no second interruption
	if got := interrupted(); !slices.Equal(got, spots[3:]) {
		t.Fatalf("interrupted %v, want the newest Spot task %v", got, spots[3:])
	}
	if tk := e.describeTask("vpc", od.Tasks[0].TaskArn); tk.LastStatus != "PROVISIONING" {
		t.Fatalf("the FARGATE task before the Spot task stopped: %s", tk.LastStatus)
	}
	if _, err := e.svc.SubmitTaskStateChange(e.ctx, &SubmitTaskStateChangeInput{Cluster: "vpc", Task: spots[3], Status: "STOPPED", Reason: "SIGTERM"}); err != nil {
		t.Fatal(err)
	}
	pass()
	if tk := e.describeTask("vpc", od.Tasks[0].TaskArn); tk.LastStatus != "PENDING" || len(tk.Attachments) != 1 {
		t.Fatalf("the FARGATE task once the Spot task stopped: %+v", tk)
	}

	// A FARGATE task as large as the host: the three Spot tasks left
	// cannot make room for it beside the FARGATE one, so it fails at
	// once and no Spot task is interrupted.
	if out := run(whole, false); len(out.Tasks) != 0 || len(out.Failures) == 0 {
		t.Fatalf("a FARGATE task Spot tasks cannot make room for: %+v", out)
	}
	pass()
	if got := interrupted(); len(got) != 1 {
		t.Fatalf("interrupted %v for a task they could not make room for", got)
	}
}
