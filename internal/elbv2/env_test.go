package elbv2

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdkacm "github.com/aws/aws-sdk-go-v2/service/acm"
	sdkec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/berth-dev/berth/internal/acm"
	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/auth"
	"github.com/berth-dev/berth/internal/ec2"
	iamsvc "github.com/berth-dev/berth/internal/iam"
	"github.com/berth-dev/berth/internal/store"
	"github.com/berth-dev/berth/internal/testutil"
)

const testRegion = "us-east-1"

var testAccount = auth.Account{ID: "123456789012", RootAccessKeyID: "AKIAROOTROOTROOTROOT", RootSecretAccessKey: "rootsecret"}

// env serves ELBv2, EC2 and IAM over HTTP with SigV4 on a real embedded
// etcd, as berth server does, with the data plane controller running
// (health checks every 100ms instead of the groups' intervals).
type env struct {
	svc  *Service
	ec2  *ec2.Service
	st   *store.Store
	url  string
	elb  *sdk.Client
	ec2c *sdkec2.Client
	iam  *iam.Client
	acm  *sdkacm.Client
}

func newEnv(t testing.TB) *env {
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
	ec2Svc := ec2.New(ec2.Config{Region: testRegion, Account: testAccount.ID, Profiles: ids}, st, ids, log)
	if err := ec2Svc.EnsureDefaults(context.Background()); err != nil {
		t.Fatal(err)
	}
	certs := acm.New(acm.Config{Region: testRegion, Account: testAccount.ID}, st, ids, log)
	svc := New(Config{Region: testRegion, Account: testAccount.ID, CheckInterval: 100 * time.Millisecond, Certificates: certs}, st, ec2Svc, ids, log)
	certs.UseUsers(svc.CertificateUsers)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if err := svc.runPlane(ctx); err != nil && ctx.Err() == nil {
				time.Sleep(100 * time.Millisecond)
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done; svc.Close() })
	router := api.NewRouter(authn, log)
	router.AddQuery(svc.QueryService())
	router.AddQuery(ec2Svc.QueryService())
	router.AddQuery(ids.QueryService())
	certs.Register(router)
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	e := &env{svc: svc, ec2: ec2Svc, st: st, url: srv.URL}
	e.elb = e.client(testAccount.RootAccessKeyID, testAccount.RootSecretAccessKey)
	cfg := e.config(testAccount.RootAccessKeyID, testAccount.RootSecretAccessKey)
	e.ec2c = sdkec2.NewFromConfig(cfg, func(o *sdkec2.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	e.iam = iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	e.acm = sdkacm.NewFromConfig(cfg, func(o *sdkacm.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	return e
}

func (e *env) config(key, secret string) aws.Config {
	return aws.Config{Region: testRegion, Credentials: credentials.NewStaticCredentialsProvider(key, secret, ""), RetryMaxAttempts: 1}
}

// client is an ELBv2 client signing with a key.
func (e *env) client(key, secret string) *sdk.Client {
	return sdk.NewFromConfig(e.config(key, secret), func(o *sdk.Options) { o.BaseEndpoint = aws.String(e.url) })
}

// subnets are the default VPC's subnets in two zones, and the VPC.
func (e *env) subnets(t testing.TB) (vpc string, subnets []string) {
	t.Helper()
	out := must[*sdkec2.DescribeSubnetsOutput](t)(e.ec2c.DescribeSubnets(context.Background(), &sdkec2.DescribeSubnetsInput{
		Filters: []ec2types.Filter{{Name: aws.String("default-for-az"), Values: []string{"true"}}}}))
	zones := map[string]bool{}
	for _, s := range out.Subnets {
		if !zones[aws.ToString(s.AvailabilityZone)] && len(subnets) < 2 {
			zones[aws.ToString(s.AvailabilityZone)] = true
			subnets = append(subnets, aws.ToString(s.SubnetId))
			vpc = aws.ToString(s.VpcId)
		}
	}
	testutil.AdmitLoopback(t, e.ec2c, vpc)
	return vpc, subnets
}

// loopbackVPC makes a VPC whose range is 127.0.0.0/16, with a subnet in
// each of two zones: its ip targets are test servers on 127.0.0.1.
func (e *env) loopbackVPC(t testing.TB) (vpc string, subnets []string) {
	t.Helper()
	ctx := context.Background()
	v := must[*sdkec2.CreateVpcOutput](t)(e.ec2c.CreateVpc(ctx, &sdkec2.CreateVpcInput{CidrBlock: aws.String("127.0.0.0/16")}))
	vpc = aws.ToString(v.Vpc.VpcId)
	for i, zone := range []string{testRegion + "a", testRegion + "b"} {
		s := must[*sdkec2.CreateSubnetOutput](t)(e.ec2c.CreateSubnet(ctx, &sdkec2.CreateSubnetInput{VpcId: aws.String(vpc),
			CidrBlock: aws.String([]string{"127.0.0.0/24", "127.0.1.0/24"}[i]), AvailabilityZone: aws.String(zone)}))
		subnets = append(subnets, aws.ToString(s.Subnet.SubnetId))
	}
	testutil.AdmitLoopback(t, e.ec2c, vpc)
	return vpc, subnets
}

// freePort is a port nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func must[T any](t testing.TB) func(T, error) T { return testutil.Must[T](t) }

var code = testutil.ErrorCode

func wantCode(t testing.TB, err error, want string) {
	t.Helper()
	if got := code(err); got != want {
		t.Fatalf("error = %v, want code %s", err, want)
	}
}
