package elbv2

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// interfacesByZone are a VPC's ELB interfaces: zone -> id and groups.
func (e *env) interfacesByZone(t *testing.T, vpc string) map[string]ec2types.NetworkInterface {
	t.Helper()
	enis := must[*sdkec2.DescribeNetworkInterfacesOutput](t)(e.ec2c.DescribeNetworkInterfaces(context.Background(), &sdkec2.DescribeNetworkInterfacesInput{
		Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpc}}}})).NetworkInterfaces
	out := map[string]ec2types.NetworkInterface{}
	for _, n := range enis {
		out[aws.ToString(n.AvailabilityZone)] = n
	}
	return out
}

func groupIDs(n ec2types.NetworkInterface) []string {
	var out []string
	for _, g := range n.Groups {
		out = append(out, aws.ToString(g.GroupId))
	}
	return out
}

// TestSetSecurityGroupsAndSubnets: new security groups reach the load
// balancer's interfaces; new subnets get interfaces in its groups and the
// subnets left lose theirs; bad groups, subnets and address types are
// refused with nothing changed.
func TestSetSecurityGroupsAndSubnets(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	vpc, subnets := e.loopbackVPC(t)
	sg := func(name string) string {
		return aws.ToString(must[*sdkec2.CreateSecurityGroupOutput](t)(e.ec2c.CreateSecurityGroup(ctx, &sdkec2.CreateSecurityGroupInput{
			GroupName: aws.String(name), Description: aws.String(name), VpcId: &vpc})).GroupId)
	}
	sg1, sg2 := sg("one"), sg("two")
	lb := must[*sdk.CreateLoadBalancerOutput](t)(e.elb.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{Name: aws.String("web"),
		Subnets: subnets, SecurityGroups: []string{sg1}})).LoadBalancers[0]
	arn := lb.LoadBalancerArn
	before := e.interfacesByZone(t, vpc)

	out := must[*sdk.SetSecurityGroupsOutput](t)(e.elb.SetSecurityGroups(ctx, &sdk.SetSecurityGroupsInput{LoadBalancerArn: arn, SecurityGroups: []string{sg2}}))
	if !slices.Equal(out.SecurityGroupIds, []string{sg2}) {
		t.Fatalf("SecurityGroupIds = %v", out.SecurityGroupIds)
	}
	for zone, n := range e.interfacesByZone(t, vpc) {
		if !slices.Equal(groupIDs(n), []string{sg2}) {
			t.Fatalf("interface in %s has groups %v, want [%s]", zone, groupIDs(n), sg2)
		}
	}
	_, defSubnets := e.subnets(t)
	_, err := e.elb.SetSecurityGroups(ctx, &sdk.SetSecurityGroupsInput{LoadBalancerArn: arn, SecurityGroups: []string{"sg-0123456789abcdef0"}})
	wantCode(t, err, "InvalidSecurityGroup")

	third := aws.ToString(must[*sdkec2.CreateSubnetOutput](t)(e.ec2c.CreateSubnet(ctx, &sdkec2.CreateSubnetInput{VpcId: &vpc,
		CidrBlock: aws.String("127.0.2.0/24"), AvailabilityZone: aws.String(testRegion + "c")})).Subnet.SubnetId)
	for _, tc := range []struct {
		name    string
		subnets []string
		want    string
	}{
		{"one zone", []string{third}, "ValidationError"},
		{"another VPC's subnet", []string{defSubnets[0], defSubnets[1]}, "InvalidSubnet"},
		{"unknown subnet", []string{"subnet-0123456789abcdef0", third}, "SubnetNotFound"},
	} {
		_, err := e.elb.SetSubnets(ctx, &sdk.SetSubnetsInput{LoadBalancerArn: arn, Subnets: tc.subnets})
		if code(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
	set := must[*sdk.SetSubnetsOutput](t)(e.elb.SetSubnets(ctx, &sdk.SetSubnetsInput{LoadBalancerArn: arn, Subnets: []string{subnets[1], third}}))
	var zones []string
	for _, z := range set.AvailabilityZones {
		zones = append(zones, aws.ToString(z.ZoneName))
	}
	if !slices.Equal(zones, []string{testRegion + "b", testRegion + "c"}) {
		t.Fatalf("zones = %v", zones)
	}
	after := e.interfacesByZone(t, vpc)
	if len(after) != 2 || aws.ToString(after[testRegion+"b"].NetworkInterfaceId) != aws.ToString(before[testRegion+"b"].NetworkInterfaceId) {
		t.Fatalf("interfaces %v; zone b's should stay %s", after, aws.ToString(before[testRegion+"b"].NetworkInterfaceId))
	}
	if n, ok := after[testRegion+"c"]; !ok || !slices.Equal(groupIDs(n), []string{sg2}) || aws.ToString(n.SubnetId) != third {
		t.Fatalf("zone c interface = %+v", n)
	}

	_, err = e.elb.SetIpAddressType(ctx, &sdk.SetIpAddressTypeInput{LoadBalancerArn: arn, IpAddressType: types.IpAddressTypeDualstack})
	wantCode(t, err, "InvalidConfigurationRequest")
	ip := must[*sdk.SetIpAddressTypeOutput](t)(e.elb.SetIpAddressType(ctx, &sdk.SetIpAddressTypeInput{LoadBalancerArn: arn, IpAddressType: types.IpAddressTypeIpv4}))
	if ip.IpAddressType != types.IpAddressTypeIpv4 {
		t.Fatalf("ip address type = %s", ip.IpAddressType)
	}

	// A network load balancer made without groups gets none.
	nlb := must[*sdk.CreateLoadBalancerOutput](t)(e.elb.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{Name: aws.String("tcp"),
		Type: types.LoadBalancerTypeEnumNetwork, Subnets: subnets[:1]})).LoadBalancers[0]
	_, err = e.elb.SetSecurityGroups(ctx, &sdk.SetSecurityGroupsInput{LoadBalancerArn: nlb.LoadBalancerArn, SecurityGroups: []string{sg1}})
	wantCode(t, err, "InvalidConfigurationRequest")
}

// TestDescribeAccountLimits: AWS's limit names, with the values Berth
// enforces, a page at a time.
func TestDescribeAccountLimits(t *testing.T) {
	e := newEnv(t)
	var all []types.Limit
	var marker *string
	for range 10 {
		out := must[*sdk.DescribeAccountLimitsOutput](t)(e.elb.DescribeAccountLimits(context.Background(), &sdk.DescribeAccountLimitsInput{PageSize: aws.Int32(5), Marker: marker}))
		all = append(all, out.Limits...)
		if marker = out.NextMarker; marker == nil {
			break
		}
	}
	got := map[string]string{}
	for _, l := range all {
		got[aws.ToString(l.Name)] = aws.ToString(l.Max)
	}
	if len(all) != 18 || got["application-load-balancers"] != "50" || got["rules-per-application-load-balancer"] != "100" ||
		got["targets-per-application-load-balancer"] != "1000" || got["target-groups"] != "3000" {
		t.Fatalf("limits = %v", got)
	}
}
