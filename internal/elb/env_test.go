package elb

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdkacm "github.com/aws/aws-sdk-go-v2/service/acm"
	sdkec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	sdkv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/berth-dev/berth/internal/acm"
	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/auth"
	"github.com/berth-dev/berth/internal/ec2"
	"github.com/berth-dev/berth/internal/elbv2"
	iamsvc "github.com/berth-dev/berth/internal/iam"
	"github.com/berth-dev/berth/internal/store"
	"github.com/berth-dev/berth/internal/testutil"
)

const testRegion = "us-east-1"

var testAccount = auth.Account{ID: "123456789012", RootAccessKeyID: "AKIAROOTROOTROOTROOT", RootSecretAccessKey: "rootsecret"}

// env serves the Classic API beside ELBv2, EC2 and IAM over HTTP with
// SigV4 on a real embedded etcd, as berth server does, with both data
// plane controllers running on the one plane (health checks every 100ms).
type env struct {
	svc   *Service
	v2svc *elbv2.Service
	ec2   *ec2.Service
	st    *store.Store
	elb   *sdk.Client
	elbv2 *sdkv2.Client
	ec2c  *sdkec2.Client
	acm   *sdkacm.Client
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
	v2 := elbv2.New(elbv2.Config{Region: testRegion, Account: testAccount.ID, CheckInterval: 100 * time.Millisecond, Certificates: certs}, st, ec2Svc, ids, log)
	svc := New(Config{Region: testRegion, Account: testAccount.ID, Plane: v2.Plane(), Ports: v2, Certificates: certs}, st, ec2Svc, ids, log)
	certs.UseUsers(svc.CertificateUsers)
	ctx, cancel := context.WithCancel(context.Background())
	var done []chan struct{}
	for _, c := range append(v2.Controllers(), svc.Controllers()...) {
		d := make(chan struct{})
		done = append(done, d)
		go func() {
			defer close(d)
			for ctx.Err() == nil {
				if err := c.Run(ctx); err != nil && ctx.Err() == nil {
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}
	t.Cleanup(func() {
		cancel()
		for _, d := range done {
			<-d
		}
		v2.Close()
	})
	router := api.NewRouter(authn, log)
	router.AddQuery(svc.QueryService())
	router.AddQuery(v2.QueryService())
	router.AddQuery(ec2Svc.QueryService())
	router.AddQuery(ids.QueryService())
	certs.Register(router)
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: testRegion, Credentials: credentials.NewStaticCredentialsProvider(testAccount.RootAccessKeyID, testAccount.RootSecretAccessKey, ""), RetryMaxAttempts: 1}
	return &env{svc: svc, v2svc: v2, ec2: ec2Svc, st: st,
		elb:   sdk.NewFromConfig(cfg, func(o *sdk.Options) { o.BaseEndpoint = aws.String(srv.URL) }),
		elbv2: sdkv2.NewFromConfig(cfg, func(o *sdkv2.Options) { o.BaseEndpoint = aws.String(srv.URL) }),
		ec2c:  sdkec2.NewFromConfig(cfg, func(o *sdkec2.Options) { o.BaseEndpoint = aws.String(srv.URL) }),
		acm:   sdkacm.NewFromConfig(cfg, func(o *sdkacm.Options) { o.BaseEndpoint = aws.String(srv.URL) })}
}

// loopbackVPC makes a VPC whose range is 127.0.0.0/16, with a subnet in
// each of two zones: its instances can be test servers on 127.0.0.x.
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

// instance stores a running instance of vpc at ip, as EC2 records one
// its host has started (no host runs in these tests).
func (e *env) instance(t testing.TB, id, vpc, subnet, ip string) {
	t.Helper()
	zone, _, err := e.ec2.SubnetZone(context.Background(), subnet)
	if err != nil {
		t.Fatal(err)
	}
	rec := ec2.InstanceRecord{ID: id, VpcID: vpc, SubnetID: subnet, Zone: zone, PrivateIP: ip, State: ec2.StateRunning}
	if err := store.Put(context.Background(), e.st, e.ec2.InstancesPrefix()+id, rec); err != nil {
		t.Fatal(err)
	}
}

func must[T any](t testing.TB) func(T, error) T { return testutil.Must[T](t) }

var code = testutil.ErrorCode
