package autoscaling

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	sdkec2 "github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/auth"
	"github.com/berth-dev/berth/internal/ec2"
	iamsvc "github.com/berth-dev/berth/internal/iam"
	"github.com/berth-dev/berth/internal/store"
	"github.com/berth-dev/berth/internal/testutil"
)

const testRegion = "us-east-1"

var testAccount = auth.Account{ID: "123456789012", RootAccessKeyID: "AKIAROOTROOTROOTROOT", RootSecretAccessKey: "rootsecret"}

// env serves Auto Scaling, EC2 and IAM over HTTP with SigV4 on a real
// embedded etcd, as berth server does; the group controller runs only
// when a test calls pass, so that each step is deterministic.
type env struct {
	svc  *Service
	ec2  *ec2.Service
	st   *store.Store
	as   *sdk.Client
	ec2c *sdkec2.Client
}

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
	ec2Svc := ec2.New(ec2.Config{Region: testRegion, Account: testAccount.ID, Profiles: ids}, st, ids, log)
	if err := ec2Svc.EnsureDefaults(context.Background()); err != nil {
		t.Fatal(err)
	}
	// One live host takes the instances.
	if err := ec2Svc.Heartbeat(context.Background(), ec2.HostRecord{ID: "host-a"}); err != nil {
		t.Fatal(err)
	}
	svc := New(Config{Region: testRegion, Account: testAccount.ID}, st, ec2Svc, ids, log)
	router := api.NewRouter(authn, log)
	router.AddQuery(svc.QueryService())
	router.AddQuery(ec2Svc.QueryService())
	router.AddQuery(ids.QueryService())
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: testRegion, Credentials: credentials.NewStaticCredentialsProvider(testAccount.RootAccessKeyID, testAccount.RootSecretAccessKey, ""), RetryMaxAttempts: 1}
	return &env{svc: svc, ec2: ec2Svc, st: st,
		as:   sdk.NewFromConfig(cfg, func(o *sdk.Options) { o.BaseEndpoint = aws.String(srv.URL) }),
		ec2c: sdkec2.NewFromConfig(cfg, func(o *sdkec2.Options) { o.BaseEndpoint = aws.String(srv.URL) })}
}

// pass runs the group controller once, as the leader would.
func (e *env) pass(t *testing.T) {
	t.Helper()
	if err := e.svc.reconcileAll(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// setState moves an instance to an EC2 state, as its host would.
func (e *env) setState(t *testing.T, id, state string) {
	t.Helper()
	if err := e.ec2.SetInstanceState(context.Background(), id, 0, state, ""); err != nil {
		t.Fatal(err)
	}
}

// group reads a group through the API.
func (e *env) group(t *testing.T, name string) groupView {
	t.Helper()
	out, err := e.as.DescribeAutoScalingGroups(context.Background(), &sdk.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.AutoScalingGroups) != 1 {
		t.Fatalf("DescribeAutoScalingGroups(%s) = %d groups", name, len(out.AutoScalingGroups))
	}
	g := out.AutoScalingGroups[0]
	v := groupView{desired: int(aws.ToInt32(g.DesiredCapacity)), byState: map[string][]string{}, zone: map[string]string{}}
	for _, in := range g.Instances {
		id := aws.ToString(in.InstanceId)
		v.byState[string(in.LifecycleState)] = append(v.byState[string(in.LifecycleState)], id)
		v.zone[id] = aws.ToString(in.AvailabilityZone)
		v.all = append(v.all, id)
	}
	return v
}

type groupView struct {
	desired int
	all     []string
	byState map[string][]string
	zone    map[string]string
}

// runAll marks every pending instance running, as the host would.
func (e *env) runAll(t *testing.T) {
	t.Helper()
	all, err := e.ec2.Instances(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range all {
		switch it.Value.State {
		case ec2.StatePending:
			e.setState(t, it.Value.ID, ec2.StateRunning)
		case ec2.StateShuttingDown:
			e.setState(t, it.Value.ID, ec2.StateTerminated)
		}
	}
}

func must[T any](t *testing.T) func(T, error) T { return testutil.Must[T](t) }

var code = testutil.ErrorCode

// createGroup makes a group from the fixture's launch template over
// subnets (a VPCZoneIdentifier).
func (e *env) createGroup(t *testing.T, name string, lo, hi, desired int32, subnets string) {
	t.Helper()
	if _, err := e.as.CreateAutoScalingGroup(context.Background(), &sdk.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String(name),
		LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("demo-lt")},
		MinSize:        aws.Int32(lo), MaxSize: aws.Int32(hi), DesiredCapacity: aws.Int32(desired), VPCZoneIdentifier: aws.String(subnets)}); err != nil {
		t.Fatal(err)
	}
}
