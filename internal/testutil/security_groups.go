package testutil

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// AdmitLoopback lets this machine's clients (127.0.0.0/8) in through
// vpc's default security group, which load balancers made without groups
// take: tests' clients connect from loopback, and load balancers admit
// only whom their groups let in.
func AdmitLoopback(t testing.TB, c *sdkec2.Client, vpc string) {
	t.Helper()
	ctx := context.Background()
	out := Must[*sdkec2.DescribeSecurityGroupsOutput](t)(c.DescribeSecurityGroups(ctx, &sdkec2.DescribeSecurityGroupsInput{
		Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpc}}, {Name: aws.String("group-name"), Values: []string{"default"}}}}))
	if len(out.SecurityGroups) != 1 {
		t.Fatalf("default group of %s: %+v", vpc, out.SecurityGroups)
	}
	_, err := c.AuthorizeSecurityGroupIngress(ctx, &sdkec2.AuthorizeSecurityGroupIngressInput{GroupId: out.SecurityGroups[0].GroupId,
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("-1"), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("127.0.0.0/8")}}}}})
	if err != nil && ErrorCode(err) != "InvalidPermission.Duplicate" {
		t.Fatal(err)
	}
}
