package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"google.golang.org/grpc/test/bufconn"

	berthecs "github.com/berth-dev/berth/internal/ecs"
	"github.com/berth-dev/berth/internal/server"
	"github.com/berth-dev/berth/internal/simagent"
)

// The placement workload. Every instance registers InstanceCPU and
// InstanceMemory; three RunTask calls in four run AppFamily (memory-bound:
// four fill an instance), the fourth WebFamily, which holds host port
// WebHostPort (one per instance). Offered more tasks than fit, the cluster
// fills and the surplus fails with RESOURCE:MEMORY or RESOURCE:PORTS, so
// that an over-committing placement would show in the audit.
const (
	InstanceCPU    = 1024
	InstanceMemory = 2048
	AppFamily      = "bench-app"
	AppCPU         = 128
	AppMemory      = 512
	WebFamily      = "bench-web"
	WebCPU         = 64
	WebMemory      = 128
	WebHostPort    = 8080
	// TasksPerCall is the count of every timed RunTask call.
	TasksPerCall = 10
)

// PlacementConfig sizes one run of the placement benchmark.
type PlacementConfig struct {
	// Instances is the number of simulated container instances.
	Instances int
	// Calls is the number of timed RunTask calls; 0 offers five tasks per
	// instance, about a quarter more than fit.
	Calls int
	// Concurrency is the number of API clients making the calls.
	Concurrency int
	// DeliveryTimeout bounds the wait, after the last call returns, for
	// every placed task to reach its agent (0: two minutes).
	DeliveryTimeout time.Duration
	// Verify audits the store afterwards (see ecs.Service.VerifyPlacements).
	Verify bool
	// CPUProfile, when set, is the file the timed phase's CPU profile is
	// written to.
	CPUProfile string
}

// PlacementResult is what one run measured.
type PlacementResult struct {
	Instances, Calls, Concurrency int
	// Placed counts the tasks the timed calls placed, Unplaced those they
	// could not; Failures counts the calls' failures (one per instance
	// turned down, as in ECS) by reason.
	Placed, Unplaced int64
	Failures         map[string]int64
	// Setup is the time to start the agents and warm the instance cache.
	Setup time.Duration
	// Returned is when the last RunTask call returned; Delivered is when
	// the agents had received every placed task, which ends the clock.
	Returned, Delivered time.Duration
	// CPU is the process's CPU time (control plane, clients and agents)
	// over the timed phase.
	CPU time.Duration
	// Audit is the store audit, with Verify.
	Audit *berthecs.PlacementAudit
}

// Rate is delivered placements per second.
func (r PlacementResult) Rate() float64 {
	return float64(r.Placed) / r.Delivered.Seconds()
}

// ReturnedRate is placements per second counted when the last RunTask
// call returned, before every task had reached its agent: the figure this
// benchmark printed before it waited for delivery, kept for comparison.
func (r PlacementResult) ReturnedRate() float64 {
	return float64(r.Placed) / r.Returned.Seconds()
}

// String is the result on one line.
func (r PlacementResult) String() string {
	var reasons []string
	for _, k := range slices.Sorted(maps.Keys(r.Failures)) {
		reasons = append(reasons, fmt.Sprintf("%s=%d", k, r.Failures[k]))
	}
	return fmt.Sprintf("instances=%-6d setup=%-8s calls=%d placed=%d unplaced=%d (failures %s) returned in %s, delivered in %s: %.0f delivered placements/s (%.0f/s counted at RunTask's return), %.0f µs CPU per placement",
		r.Instances, r.Setup.Round(time.Millisecond), r.Calls, r.Placed, r.Unplaced, strings.Join(reasons, " "),
		r.Returned.Round(time.Millisecond), r.Delivered.Round(time.Millisecond), r.Rate(), r.ReturnedRate(),
		float64(r.CPU.Microseconds())/float64(max(r.Placed, 1)))
}

// Placements runs the placement benchmark runs times (at least once) at
// each cluster size of sizes, writing each run's line, preceded by its
// audit's with cfg.Verify, and with more than one run the median run by
// rate. cfg.CPUProfile, when set, is the prefix of each size's profile
// file, which ends in .<instances>.
func Placements(ctx context.Context, w io.Writer, sizes []int, runs int, cfg PlacementConfig) error {
	profile := cfg.CPUProfile
	for _, n := range sizes {
		var results []PlacementResult
		for run := 0; run < max(runs, 1); run++ {
			cfg.Instances = n
			if profile != "" {
				cfg.CPUProfile = fmt.Sprintf("%s.%d", profile, n)
			}
			r, err := Placement(ctx, cfg)
			if r.Audit != nil {
				fmt.Fprintf(w, "verify: %d instances, %d tasks, %d reservations: %d problems\n",
					r.Audit.Instances, r.Audit.Tasks, r.Audit.Reservations, len(r.Audit.Problems))
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(w, r)
			results = append(results, r)
		}
		if len(results) > 1 {
			slices.SortFunc(results, func(a, b PlacementResult) int { return cmp.Compare(a.Rate(), b.Rate()) })
			fmt.Fprintf(w, "median of %d: %s\n", len(results), results[len(results)/2])
		}
	}
	return nil
}

// Placement starts a control plane with embedded etcd in a temporary
// directory and cfg.Instances simulated agents, each with a real ACS
// websocket over an in-memory connection (10,000 of them need no file
// descriptors), then times cfg.Calls RunTask calls from cfg.Concurrency
// clients over TCP, with strategies spread(attribute:ecs.availability-zone)
// then binpack(memory) and a memberOf(attribute:ecs.instance-type =~ t3.*)
// constraint. The clock stops when the agents have received, over ACS,
// every task the calls placed. Audit problems are returned as an error.
func Placement(ctx context.Context, cfg PlacementConfig) (PlacementResult, error) {
	res := PlacementResult{Instances: cfg.Instances, Calls: cfg.Calls, Concurrency: max(cfg.Concurrency, 1), Failures: map[string]int64{}}
	if res.Calls <= 0 {
		res.Calls = (5*cfg.Instances + TasksPerCall - 1) / TasksPerCall
	}
	timeout := cfg.DeliveryTimeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	dir, err := os.MkdirTemp("", "berth-bench-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	srv, err := server.Start(ctx, server.Config{DataDir: dir, Listen: "127.0.0.1:0", Region: "us-east-1", AccountID: "123456789012",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return res, err
	}
	defer srv.Close()
	creds := aws.Credentials{AccessKeyID: srv.Account.RootAccessKeyID, SecretAccessKey: srv.Account.RootSecretAccessKey}
	client := ecs.New(ecs.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, "")})
	cluster := "bench"
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: &cluster}); err != nil {
		return res, err
	}
	if err := registerWorkload(ctx, client); err != nil {
		return res, err
	}
	run := func(family string, count int32) (*ecs.RunTaskOutput, error) {
		return client.RunTask(ctx, &ecs.RunTaskInput{Cluster: &cluster, TaskDefinition: aws.String(family), Count: aws.Int32(count),
			PlacementStrategy: []ecstypes.PlacementStrategy{
				{Type: ecstypes.PlacementStrategyTypeSpread, Field: aws.String("attribute:ecs.availability-zone")},
				{Type: ecstypes.PlacementStrategyTypeBinpack, Field: aws.String("memory")}},
			PlacementConstraints: []ecstypes.PlacementConstraint{
				{Type: ecstypes.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecs.instance-type =~ t3.*")}}})
	}
	// The simulated agents' ACS websockets go through memory: a socket
	// pair each would need more open files than a machine allows at
	// 10,000 instances. The RunTask clients use TCP.
	agents := bufconn.Listen(8 << 10)
	srv.Serve(agents)
	var received atomic.Int64
	start := time.Now()
	if err := startAgents(ctx, client, creds, cluster, cfg.Instances, &received, func(ctx context.Context, _, _ string) (net.Conn, error) {
		return agents.DialContext(ctx)
	}); err != nil {
		return res, err
	}
	// One untimed call loads the control plane's cache of the cluster's
	// instances, which the first placement after a start reads in full.
	warm, err := run(AppFamily, 1)
	if err != nil {
		return res, err
	}
	sent := int64(len(warm.Tasks))
	if err := waitFor(ctx, &received, sent, timeout); err != nil {
		return res, fmt.Errorf("warm-up task: %w", err)
	}
	res.Setup = time.Since(start)

	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return res, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return res, err
		}
		defer pprof.StopCPUProfile()
	}
	var placed, unplaced atomic.Int64
	var next atomic.Int64
	var fmu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, res.Concurrency)
	cpu0 := cpuTime()
	start = time.Now()
	for range res.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(res.Calls); i = next.Add(1) {
				family := AppFamily
				if i%4 == 0 {
					family = WebFamily
				}
				out, err := run(family, TasksPerCall)
				if err != nil {
					errs <- err
					return
				}
				placed.Add(int64(len(out.Tasks)))
				unplaced.Add(TasksPerCall - int64(len(out.Tasks)))
				fmu.Lock()
				for _, f := range out.Failures {
					res.Failures[aws.ToString(f.Reason)]++
				}
				fmu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.Returned = time.Since(start)
	select {
	case err := <-errs:
		return res, err
	default:
	}
	res.Placed, res.Unplaced = placed.Load(), unplaced.Load()
	if err := waitFor(ctx, &received, sent+res.Placed, timeout); err != nil {
		return res, err
	}
	res.Delivered = time.Since(start)
	res.CPU = cpuTime() - cpu0
	if cfg.CPUProfile != "" {
		pprof.StopCPUProfile()
	}
	if cfg.Verify {
		audit, err := srv.ECS.VerifyPlacements(ctx, cluster)
		if err != nil {
			return res, err
		}
		res.Audit = &audit
		if len(audit.Problems) > 0 {
			return res, fmt.Errorf("verify: %d placement problems, first: %s", len(audit.Problems), audit.Problems[0])
		}
		if want := sent + res.Placed; int64(audit.Tasks) != want || int64(audit.Reservations) != want {
			return res, fmt.Errorf("verify: RunTask placed %d tasks but the store holds %d tasks and %d reservations", want, audit.Tasks, audit.Reservations)
		}
	}
	return res, nil
}

// registerWorkload registers the two task definitions of the workload.
func registerWorkload(ctx context.Context, client *ecs.Client) error {
	defs := []ecstypes.ContainerDefinition{
		{Name: aws.String("app"), Image: aws.String("app"), Cpu: AppCPU, Memory: aws.Int32(AppMemory)},
		{Name: aws.String("web"), Image: aws.String("web"), Cpu: WebCPU, Memory: aws.Int32(WebMemory),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(80), HostPort: aws.Int32(WebHostPort)}}},
	}
	for i, family := range []string{AppFamily, WebFamily} {
		if _, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(family),
			ContainerDefinitions: defs[i : i+1]}); err != nil {
			return err
		}
	}
	return nil
}

// waitFor waits until count reaches want, failing after timeout.
func waitFor(ctx context.Context, count *atomic.Int64, want int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for count.Load() < want {
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s the agents had received %d of the %d placed tasks", timeout, count.Load(), want)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	if n := count.Load(); n > want {
		return fmt.Errorf("the agents received %d tasks, but only %d were placed", n, want)
	}
	return nil
}

// startAgents registers n simulated instances over three AZs, 32 at a time.
func startAgents(ctx context.Context, client *ecs.Client, creds aws.Credentials, cluster string, n int, received *atomic.Int64, dial func(context.Context, string, string) (net.Conn, error)) error {
	var wg sync.WaitGroup
	var next atomic.Int64
	errs := make(chan error, 32)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				_, err := simagent.Start(ctx, client, simagent.Options{Cluster: cluster, CPU: InstanceCPU, Memory: InstanceMemory, Region: "us-east-1",
					Credentials: creds, Silent: true, Dial: dial, Received: received, Attributes: map[string]string{
						"ecs.availability-zone": "us-east-1" + string(rune('a'+i%3)), "ecs.instance-type": "t3.medium"}})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// cpuTime is the CPU time (user and system) this process has used: on a
// shared machine, CPU per placement is steadier than placements/s.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
