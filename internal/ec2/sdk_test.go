package ec2

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"golang.org/x/crypto/ssh"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/auth"
	iamsvc "github.com/berth-dev/berth/internal/iam"
	"github.com/berth-dev/berth/internal/store"
	"github.com/berth-dev/berth/internal/testutil"
)

const testRegion = "us-east-1"

var testAccount = auth.Account{ID: "123456789012", RootAccessKeyID: "AKIAROOTROOTROOTROOT", RootSecretAccessKey: "rootsecret"}

type env struct {
	svc  *Service
	st   *store.Store
	url  string
	root *ec2.Client
	iam  *iam.Client
}

// newEnv serves EC2 and IAM over HTTP with SigV4, authorized by IAM, as
// berth server does, with the account's defaults created.
func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ids := iamsvc.New(testAccount.ID, st, log)
	authn := auth.NewAuthenticator(testAccount, testRegion)
	authn.UseKeys(ids)
	svc := New(Config{Region: testRegion, Account: testAccount.ID, Profiles: ids}, st, ids, log)
	if err := svc.EnsureDefaults(context.Background()); err != nil {
		t.Fatal(err)
	}
	router := api.NewRouter(authn, log)
	router.AddQuery(svc.QueryService())
	router.AddQuery(ids.QueryService())
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	e := &env{svc: svc, st: st, url: srv.URL}
	e.root = e.client(testAccount.RootAccessKeyID, testAccount.RootSecretAccessKey)
	e.iam = iam.NewFromConfig(e.config(testAccount.RootAccessKeyID, testAccount.RootSecretAccessKey), func(o *iam.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	return e
}

func (e *env) config(id, secret string) aws.Config {
	return aws.Config{Region: testRegion, Credentials: credentials.NewStaticCredentialsProvider(id, secret, ""), RetryMaxAttempts: 1}
}

func (e *env) client(id, secret string) *ec2.Client {
	return ec2.NewFromConfig(e.config(id, secret), func(o *ec2.Options) { o.BaseEndpoint = aws.String(e.url) })
}

var code = testutil.ErrorCode

func must[T any](t *testing.T) func(T, error) T { return testutil.Must[T](t) }

func wantCode(t *testing.T, err error, want string) {
	t.Helper()
	if got := code(err); got != want {
		t.Fatalf("error %q (%v), want %s", got, err, want)
	}
}

// TestDefaultNetwork: an account starts with a default VPC of
// 172.31.0.0/16, a default /20 subnet in each of three zones and a default
// security group, as AWS accounts do; a second start creates nothing more.
func TestDefaultNetwork(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.svc.EnsureDefaults(ctx); err != nil {
		t.Fatal(err)
	}
	vpcs := must[*ec2.DescribeVpcsOutput](t)(e.root.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}))
	if len(vpcs.Vpcs) != 1 || !aws.ToBool(vpcs.Vpcs[0].IsDefault) || aws.ToString(vpcs.Vpcs[0].CidrBlock) != "172.31.0.0/16" || vpcs.Vpcs[0].State != types.VpcStateAvailable {
		t.Fatalf("vpcs = %+v", vpcs.Vpcs)
	}
	vpcID := aws.ToString(vpcs.Vpcs[0].VpcId)
	subnets := must[*ec2.DescribeSubnetsOutput](t)(e.root.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{
		Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpcID}}, {Name: aws.String("default-for-az"), Values: []string{"true"}}}}))
	var zones, cidrs []string
	for _, s := range subnets.Subnets {
		zones = append(zones, aws.ToString(s.AvailabilityZone))
		cidrs = append(cidrs, aws.ToString(s.CidrBlock))
		if aws.ToInt32(s.AvailableIpAddressCount) != 4091 || !aws.ToBool(s.MapPublicIpOnLaunch) {
			t.Fatalf("subnet %+v", s)
		}
	}
	slices.Sort(zones)
	slices.Sort(cidrs)
	if !slices.Equal(zones, []string{"us-east-1a", "us-east-1b", "us-east-1c"}) || !slices.Equal(cidrs, []string{"172.31.0.0/20", "172.31.16.0/20", "172.31.32.0/20"}) {
		t.Fatalf("default subnets in %v with %v", zones, cidrs)
	}
	azs := must[*ec2.DescribeAvailabilityZonesOutput](t)(e.root.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{}))
	if len(azs.AvailabilityZones) != 3 || aws.ToString(azs.AvailabilityZones[0].ZoneId) != "use1-az1" || azs.AvailabilityZones[0].State != types.AvailabilityZoneStateAvailable {
		t.Fatalf("zones = %+v", azs.AvailabilityZones)
	}
	attrs := must[*ec2.DescribeAccountAttributesOutput](t)(e.root.DescribeAccountAttributes(ctx, &ec2.DescribeAccountAttributesInput{
		AttributeNames: []types.AccountAttributeName{types.AccountAttributeNameDefaultVpc}}))
	if len(attrs.AccountAttributes) != 1 || aws.ToString(attrs.AccountAttributes[0].AttributeValues[0].AttributeValue) != vpcID {
		t.Fatalf("account attributes = %+v", attrs.AccountAttributes)
	}
	groups := must[*ec2.DescribeSecurityGroupsOutput](t)(e.root.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"default"}}))
	if len(groups.SecurityGroups) != 1 || aws.ToString(groups.SecurityGroups[0].VpcId) != vpcID {
		t.Fatalf("default group = %+v", groups.SecurityGroups)
	}
	g := groups.SecurityGroups[0]
	if len(g.IpPermissions) != 1 || aws.ToString(g.IpPermissions[0].IpProtocol) != "-1" || aws.ToString(g.IpPermissions[0].UserIdGroupPairs[0].GroupId) != aws.ToString(g.GroupId) ||
		len(g.IpPermissionsEgress) != 1 || aws.ToString(g.IpPermissionsEgress[0].IpRanges[0].CidrIp) != "0.0.0.0/0" {
		t.Fatalf("default group rules = %+v / %+v", g.IpPermissions, g.IpPermissionsEgress)
	}
	regions := must[*ec2.DescribeRegionsOutput](t)(e.root.DescribeRegions(ctx, &ec2.DescribeRegionsInput{}))
	if len(regions.Regions) != 1 || aws.ToString(regions.Regions[0].RegionName) != testRegion {
		t.Fatalf("regions = %+v", regions.Regions)
	}
}

// TestVpcsAndSubnets: CIDR rules, zones, dependencies, tags and filters,
// with EC2's error codes, and nothing created by a failed call.
func TestVpcsAndSubnets(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.root.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/8")})
	wantCode(t, err, "InvalidVpc.Range")
	_, err = e.root.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.1/16")})
	wantCode(t, err, "InvalidParameterValue")
	_, err = e.root.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16"), DryRun: aws.Bool(true)})
	wantCode(t, err, "DryRunOperation")
	vpc := must[*ec2.CreateVpcOutput](t)(e.root.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeVpc, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("demo")}}}}})).Vpc
	vpcID := aws.ToString(vpc.VpcId)
	if !strings.HasPrefix(vpcID, "vpc-") || len(vpcID) != 21 || aws.ToBool(vpc.IsDefault) || len(vpc.Tags) != 1 {
		t.Fatalf("vpc = %+v", vpc)
	}
	for _, tc := range []struct{ cidr, zone, code string }{
		{"10.1.0.0/24", "", "InvalidSubnet.Range"},
		{"10.0.0.0/29", "", "InvalidSubnet.Range"},
		{"10.0.0.0/24", "us-east-1z", "InvalidParameterValue"},
	} {
		_, err := e.root.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpcID), CidrBlock: aws.String(tc.cidr), AvailabilityZone: aws.String(tc.zone)})
		if tc.zone == "" {
			_, err = e.root.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpcID), CidrBlock: aws.String(tc.cidr)})
		}
		wantCode(t, err, tc.code)
	}
	_, err = e.root.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String("vpc-00000000000000000"), CidrBlock: aws.String("10.0.0.0/24")})
	wantCode(t, err, "InvalidVpcID.NotFound")
	var subnetIDs []string
	for i, cidr := range []string{"10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"} {
		s := must[*ec2.CreateSubnetOutput](t)(e.root.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpcID), CidrBlock: aws.String(cidr)})).Subnet
		// Without a zone named, each goes to the zone with fewest.
		if want := string(rune('a' + i)); aws.ToString(s.AvailabilityZone) != "us-east-1"+want || aws.ToInt32(s.AvailableIpAddressCount) != 251 {
			t.Fatalf("subnet %d: %+v", i, s)
		}
		subnetIDs = append(subnetIDs, aws.ToString(s.SubnetId))
	}
	_, err = e.root.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpcID), CidrBlock: aws.String("10.0.1.128/25")})
	wantCode(t, err, "InvalidSubnet.Conflict")
	mine := must[*ec2.DescribeSubnetsOutput](t)(e.root.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpcID}}}}))
	if len(mine.Subnets) != 3 {
		t.Fatalf("subnets of the vpc: %d", len(mine.Subnets))
	}
	_, err = e.root.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(vpcID)})
	wantCode(t, err, "DependencyViolation")
	// Tags and filters, with wildcards.
	must[*ec2.CreateTagsOutput](t)(e.root.CreateTags(ctx, &ec2.CreateTagsInput{Resources: subnetIDs[:2], Tags: []types.Tag{{Key: aws.String("tier"), Value: aws.String("web-1")}}}))
	tagged := must[*ec2.DescribeSubnetsOutput](t)(e.root.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{{Name: aws.String("tag:tier"), Values: []string{"web-*"}}}}))
	if len(tagged.Subnets) != 2 {
		t.Fatalf("tag filter found %d subnets", len(tagged.Subnets))
	}
	tags := must[*ec2.DescribeTagsOutput](t)(e.root.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []types.Filter{{Name: aws.String("resource-type"), Values: []string{"subnet"}}}}))
	if len(tags.Tags) != 2 || aws.ToString(tags.Tags[0].Value) != "web-1" {
		t.Fatalf("tags = %+v", tags.Tags)
	}
	must[*ec2.DeleteTagsOutput](t)(e.root.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: subnetIDs[:1], Tags: []types.Tag{{Key: aws.String("tier"), Value: aws.String("other")}}}))
	must[*ec2.DeleteTagsOutput](t)(e.root.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: subnetIDs[1:2], Tags: []types.Tag{{Key: aws.String("tier")}}}))
	tags = must[*ec2.DescribeTagsOutput](t)(e.root.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []types.Filter{{Name: aws.String("key"), Values: []string{"tier"}}}}))
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].ResourceId) != subnetIDs[0] {
		t.Fatalf("after deletes, tags = %+v", tags.Tags)
	}
	_, err = e.root.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{subnetIDs[0], "subnet-00000000000000000"}, Tags: []types.Tag{{Key: aws.String("x"), Value: aws.String("y")}}})
	wantCode(t, err, "InvalidSubnetID.NotFound")
	if got := must[*ec2.DescribeTagsOutput](t)(e.root.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []types.Filter{{Name: aws.String("key"), Values: []string{"x"}}}})); len(got.Tags) != 0 {
		t.Fatalf("a failed CreateTags tagged %+v", got.Tags)
	}
	_, err = e.root.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{{Name: aws.String("colour"), Values: []string{"x"}}}})
	wantCode(t, err, "InvalidParameterValue")
	// Pages of two cover every VPC once.
	must[*ec2.CreateVpcOutput](t)(e.root.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/16")}))
	var seen []string
	for p := ec2.NewDescribeVpcsPaginator(e.root, &ec2.DescribeVpcsInput{MaxResults: aws.Int32(5)}); p.HasMorePages(); {
		for _, v := range must[*ec2.DescribeVpcsOutput](t)(p.NextPage(ctx)).Vpcs {
			seen = append(seen, aws.ToString(v.VpcId))
		}
	}
	if len(seen) != 3 || len(slices.Compact(slices.Sorted(slices.Values(seen)))) != 3 {
		t.Fatalf("paged vpcs %v", seen)
	}
	for _, id := range subnetIDs {
		must[*ec2.DeleteSubnetOutput](t)(e.root.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(id)}))
	}
	must[*ec2.DeleteVpcOutput](t)(e.root.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(vpcID)}))
	_, err = e.root.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{vpcID}})
	wantCode(t, err, "InvalidVpcID.NotFound")
	// Its default security group went with it.
	left := must[*ec2.DescribeSecurityGroupsOutput](t)(e.root.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpcID}}}}))
	if len(left.SecurityGroups) != 0 {
		t.Fatalf("groups left: %+v", left.SecurityGroups)
	}
}

// TestSecurityGroups: the article's "allow the port of the application",
// with duplicate and unknown rules, source groups and dependencies.
func TestSecurityGroups(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	web := aws.ToString(must[*ec2.CreateSecurityGroupOutput](t)(e.root.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("web"), Description: aws.String("ecs hosts")})).GroupId)
	_, err := e.root.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("again")})
	wantCode(t, err, "InvalidGroup.Duplicate")
	lb := aws.ToString(must[*ec2.CreateSecurityGroupOutput](t)(e.root.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("lb"), Description: aws.String("load balancer")})).GroupId)
	dynamic := types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(32768), ToPort: aws.Int32(65535),
		UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(lb)}}}
	ssh22 := types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []types.IpRange{{CidrIp: aws.String("203.0.113.0/24"), Description: aws.String("office")}}}
	out := must[*ec2.AuthorizeSecurityGroupIngressOutput](t)(e.root.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(web), IpPermissions: []types.IpPermission{dynamic, ssh22}}))
	if len(out.SecurityGroupRules) != 2 || !strings.HasPrefix(aws.ToString(out.SecurityGroupRules[0].SecurityGroupRuleId), "sgr-") {
		t.Fatalf("rules = %+v", out.SecurityGroupRules)
	}
	_, err = e.root.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(web), IpPermissions: []types.IpPermission{ssh22}})
	wantCode(t, err, "InvalidPermission.Duplicate")
	// The CLI's --protocol/--port/--cidr form.
	must[*ec2.AuthorizeSecurityGroupIngressOutput](t)(e.root.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupName: aws.String("web"), IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(80), CidrIp: aws.String("0.0.0.0/0")}))
	for _, bad := range []types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(90), ToPort: aws.Int32(80), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}},
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(70000), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}},
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(80), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/99")}}},
		{IpProtocol: aws.String("bogus"), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}},
	} {
		_, err = e.root.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(web), IpPermissions: []types.IpPermission{bad}})
		wantCode(t, err, "InvalidParameterValue")
	}
	g := must[*ec2.DescribeSecurityGroupsOutput](t)(e.root.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{web}})).SecurityGroups[0]
	if len(g.IpPermissions) != 3 || len(g.IpPermissionsEgress) != 1 {
		t.Fatalf("web rules: %+v", g.IpPermissions)
	}
	byPort := must[*ec2.DescribeSecurityGroupsOutput](t)(e.root.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{
		Filters: []types.Filter{{Name: aws.String("ip-permission.from-port"), Values: []string{"32768"}}}}))
	if len(byPort.SecurityGroups) != 1 || aws.ToString(byPort.SecurityGroups[0].GroupId) != web {
		t.Fatalf("by port: %+v", byPort.SecurityGroups)
	}
	_, err = e.root.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(lb)})
	wantCode(t, err, "DependencyViolation")
	def := must[*ec2.DescribeSecurityGroupsOutput](t)(e.root.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"default"}})).SecurityGroups[0]
	_, err = e.root.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: def.GroupId})
	wantCode(t, err, "CannotDelete")
	// Revoking a rule that is not there is refused; one that is, removed.
	_, err = e.root.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(web),
		IpPermissions: []types.IpPermission{{IpProtocol: aws.String("udp"), FromPort: aws.Int32(53), ToPort: aws.Int32(53), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}})
	wantCode(t, err, "InvalidPermission.NotFound")
	must[*ec2.RevokeSecurityGroupIngressOutput](t)(e.root.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(web), IpPermissions: []types.IpPermission{dynamic}}))
	must[*ec2.DeleteSecurityGroupOutput](t)(e.root.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(lb)}))
	g = must[*ec2.DescribeSecurityGroupsOutput](t)(e.root.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{web}})).SecurityGroups[0]
	if len(g.IpPermissions) != 2 {
		t.Fatalf("after revoke: %+v", g.IpPermissions)
	}
	_, err = e.root.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{lb}})
	wantCode(t, err, "InvalidGroup.NotFound")
}

// TestKeyPairs: created pairs return a private key that parses and
// matches the stored public key; imported ones keep only the public key.
func TestKeyPairs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rsaPair := must[*ec2.CreateKeyPairOutput](t)(e.root.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("ecs-demo")}))
	block, _ := pem.Decode([]byte(aws.ToString(rsaPair.KeyMaterial)))
	if block == nil || block.Type != "RSA PRIVATE KEY" {
		t.Fatalf("rsa material %q", aws.ToString(rsaPair.KeyMaterial))
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
		t.Fatal(err)
	}
	if len(strings.Split(aws.ToString(rsaPair.KeyFingerprint), ":")) != 20 {
		t.Fatalf("rsa fingerprint %q", aws.ToString(rsaPair.KeyFingerprint))
	}
	_, err := e.root.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("ecs-demo")})
	wantCode(t, err, "InvalidKeyPair.Duplicate")
	edPair := must[*ec2.CreateKeyPairOutput](t)(e.root.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("ed"), KeyType: types.KeyTypeEd25519}))
	priv, err := ssh.ParseRawPrivateKey([]byte(aws.ToString(edPair.KeyMaterial)))
	if err != nil {
		t.Fatal(err)
	}
	edKey, isEd := priv.(*ed25519.PrivateKey)
	if !isEd {
		t.Fatalf("ed25519 material parsed as %T", priv)
	}
	described := must[*ec2.DescribeKeyPairsOutput](t)(e.root.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{KeyNames: []string{"ed"}, IncludePublicKey: aws.Bool(true)}))
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(aws.ToString(described.KeyPairs[0].PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ssh.NewPublicKey(edKey.Public())
	if string(pub.Marshal()) != string(want.Marshal()) || described.KeyPairs[0].KeyType != types.KeyTypeEd25519 {
		t.Fatalf("stored public key does not match the private key returned")
	}
	// Import the same public key under another name.
	imported := must[*ec2.ImportKeyPairOutput](t)(e.root.ImportKeyPair(ctx, &ec2.ImportKeyPairInput{KeyName: aws.String("laptop"), PublicKeyMaterial: ssh.MarshalAuthorizedKey(want)}))
	if aws.ToString(imported.KeyFingerprint) != aws.ToString(edPair.KeyFingerprint) {
		t.Fatalf("fingerprints differ: %s vs %s", aws.ToString(imported.KeyFingerprint), aws.ToString(edPair.KeyFingerprint))
	}
	_, err = e.root.ImportKeyPair(ctx, &ec2.ImportKeyPairInput{KeyName: aws.String("junk"), PublicKeyMaterial: []byte("not a key")})
	wantCode(t, err, "InvalidKey.Format")
	all := must[*ec2.DescribeKeyPairsOutput](t)(e.root.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{}))
	if len(all.KeyPairs) != 3 || all.KeyPairs[0].PublicKey != nil {
		t.Fatalf("key pairs = %+v", all.KeyPairs)
	}
	_, err = e.root.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{KeyNames: []string{"nope"}})
	wantCode(t, err, "InvalidKeyPair.NotFound")
	must[*ec2.DeleteKeyPairOutput](t)(e.root.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: aws.String("ecs-demo")}))
	must[*ec2.DeleteKeyPairOutput](t)(e.root.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: aws.String("ecs-demo")}))
	// The name is free again.
	must[*ec2.CreateKeyPairOutput](t)(e.root.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("ecs-demo")}))
}

// TestEC2Authorization: a user needs ec2:<Action> on the resource; a
// refused call is UnauthorizedOperation and a dry run answers whether the
// caller may act.
func TestEC2Authorization(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("dev")}))
	key := must[*iam.CreateAccessKeyOutput](t)(e.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("dev")})).AccessKey
	dev := e.client(aws.ToString(key.AccessKeyId), aws.ToString(key.SecretAccessKey))
	_, err := dev.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	wantCode(t, err, "UnauthorizedOperation")
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("dev"), PolicyName: aws.String("read"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}`)}))
	must[*ec2.DescribeVpcsOutput](t)(dev.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}))
	_, err = dev.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16"), DryRun: aws.Bool(true)})
	wantCode(t, err, "UnauthorizedOperation")
	_, err = dev.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{DryRun: aws.Bool(true)})
	wantCode(t, err, "DryRunOperation")
	bad := e.client(testAccount.RootAccessKeyID, "wrong")
	_, err = bad.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	wantCode(t, err, "SignatureDoesNotMatch")
	unknown := e.client("AKIAUNKNOWNUNKNOWNXX", "x")
	_, err = unknown.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	wantCode(t, err, "AuthFailure")
}
