package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/spf13/cobra"
	"google.golang.org/grpc/test/bufconn"

	"github.com/berth-dev/berth/internal/server"
	"github.com/berth-dev/berth/internal/simagent"
)

func benchPlacementCmd() *cobra.Command {
	var (
		sizes              string
		calls, concurrency int
		verify             bool
		cpuProfile         string
	)
	cmd := &cobra.Command{
		Use:   "placement",
		Short: "Placements/s of RunTask (10 tasks, spread+binpack, memberOf) delivered to agents, at several cluster sizes",
		Long: `bench placement starts a real control plane in this process (embedded etcd
in a temporary directory, the HTTP API with SigV4) and, for each cluster
size, that many simulated agents: each registers a container instance and
holds a real ACS websocket, but runs nothing (a no-op runtime, used only
here). The agents' websockets run over in-memory connections, so that
10,000 of them need no file descriptors; the RunTask clients use TCP.
After one untimed RunTask, which loads the control plane's instance
cache, it makes --calls RunTask calls of 10 tasks each from
--concurrency clients, with strategies spread(attribute:ecs.availability-zone)
then binpack(memory) and a memberOf(attribute:ecs.instance-type =~ t3.*)
constraint. The clock stops when every placed task has reached its agent
(the agents count the tasks their ACS payloads bring), and it prints
delivered placements per second and the failures by reason. The workload
fills the cluster: its tasks ask for all of the cluster's
memory, and every tenth call runs tasks that hold host port 8080, so
placements end up refused for RESOURCE:MEMORY and RESOURCE:PORTS and an
over-commit would show in --verify. The engine alone, without the store,
is measured by 'go test -bench BenchmarkPlace10 ./internal/placement'.

With --verify it then reads every instance and task of the cluster back
from etcd and fails unless no instance is over-committed in CPU, memory or
ports and every reservation matches a live task. --cpuprofile FILE writes a
CPU profile of each size's timed RunTask phase (control plane and clients,
not the setup) to FILE.<instances>, for 'go tool pprof'.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, f := range strings.Split(sizes, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(f))
				if err != nil {
					return fmt.Errorf("--instances: %w", err)
				}
				if err := benchPlacement(cmd.Context(), cmd.OutOrStdout(), n, calls, concurrency, verify, cpuProfile); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&sizes, "instances", "100,1000", "comma-separated cluster sizes")
	cmd.Flags().IntVar(&calls, "calls", 200, "RunTask calls (10 tasks each) per cluster size")
	cmd.Flags().IntVar(&concurrency, "concurrency", 8, "concurrent API clients")
	cmd.Flags().BoolVar(&verify, "verify", false, "audit every instance and task in etcd afterwards for over-commitment")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of each size's timed phase to this path + .<instances>")
	return cmd
}

func benchPlacement(ctx context.Context, w io.Writer, instances, calls, concurrency int, verify bool, cpuProfile string) error {
	dir, err := os.MkdirTemp("", "berth-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := server.Start(ctx, server.Config{DataDir: dir, Listen: "127.0.0.1:0", Region: "us-east-1", AccountID: "123456789012",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	defer srv.Close()
	creds := aws.Credentials{AccessKeyID: srv.Account.RootAccessKeyID, SecretAccessKey: srv.Account.RootSecretAccessKey}
	client := ecs.New(ecs.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, "")})
	cluster := "bench"
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: &cluster}); err != nil {
		return err
	}
	// The workload fills the cluster, so that placements end up
	// refused and an over-commit would show in --verify: the tasks ask
	// for all of the cluster's memory, and every tenth call runs a
	// task that holds host port 8080, which each instance has once.
	taskMemory := int32(min(max((int64(instances)*instanceMemory)/(int64(calls)*10), 4), instanceMemory))
	for _, td := range []struct {
		family string
		ports  []ecstypes.PortMapping
	}{{"bench", nil}, {"bench-port", []ecstypes.PortMapping{{ContainerPort: aws.Int32(80), HostPort: aws.Int32(8080)}}}} {
		if _, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(td.family),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("app"), Cpu: 1,
				Memory: aws.Int32(taskMemory), PortMappings: td.ports}}}); err != nil {
			return err
		}
	}
	strategy := []ecstypes.PlacementStrategy{{Type: ecstypes.PlacementStrategyTypeSpread, Field: aws.String("attribute:ecs.availability-zone")},
		{Type: ecstypes.PlacementStrategyTypeBinpack, Field: aws.String("memory")}}
	constraint := []ecstypes.PlacementConstraint{{Type: ecstypes.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecs.instance-type =~ t3.*")}}
	// The simulated agents' ACS websockets go through memory: a socket
	// pair each would need more open files than a machine allows at
	// 10,000 instances. The RunTask clients use TCP.
	agents := bufconn.Listen(8 << 10)
	srv.Serve(agents)
	start := time.Now()
	var delivered atomic.Int64
	if err := startSimAgents(ctx, client, creds, cluster, instances, &delivered, func(ctx context.Context, _, _ string) (net.Conn, error) { return agents.DialContext(ctx) }); err != nil {
		return err
	}
	// One untimed call loads the control plane's cache of the cluster's
	// instances, which the first placement after a start reads in full.
	warm, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: &cluster, TaskDefinition: aws.String("bench"), Count: aws.Int32(1),
		PlacementStrategy: strategy, PlacementConstraints: constraint})
	if err != nil {
		return err
	}
	setup := time.Since(start)
	var placed, failed atomic.Int64
	var reasons sync.Map // failure reason -> *atomic.Int64
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, concurrency)
	if cpuProfile != "" {
		f, err := os.Create(fmt.Sprintf("%s.%d", cpuProfile, instances))
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	cpu0 := cpuTime()
	start = time.Now()
	for c := 0; c < concurrency; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := next.Add(1); n <= int64(calls); n = next.Add(1) {
				family := "bench"
				if n%10 == 0 {
					family = "bench-port"
				}
				out, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: &cluster, TaskDefinition: aws.String(family), Count: aws.Int32(10),
					PlacementStrategy: strategy, PlacementConstraints: constraint})
				if err != nil {
					errs <- err
					return
				}
				placed.Add(int64(len(out.Tasks)))
				failed.Add(int64(len(out.Failures)))
				for _, f := range out.Failures {
					c, _ := reasons.LoadOrStore(aws.ToString(f.Reason), new(atomic.Int64))
					c.(*atomic.Int64).Add(1)
				}
			}
		}()
	}
	wg.Wait()
	returned := time.Since(start)
	// The clock stops when every placed task has reached its agent.
	want := placed.Load() + int64(len(warm.Tasks))
	for deadline := time.Now().Add(time.Minute); delivered.Load() < want; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d placed tasks reached their agents within a minute of the last RunTask", delivered.Load(), want)
		}
	}
	took := time.Since(start)
	cpu := cpuTime() - cpu0
	if cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	select {
	case err := <-errs:
		return err
	default:
	}
	fmt.Fprintf(w, "instances=%-6d setup=%-8s RunTask calls=%d placed=%d failures=%d delivered in %s (last RunTask returned at %s): %.0f delivered placements/s, %.1f ms per call, %.0f µs CPU per placement\n",
		instances, setup.Round(time.Millisecond), calls, placed.Load(), failed.Load(), took.Round(time.Millisecond), returned.Round(time.Millisecond),
		float64(placed.Load())/took.Seconds(), float64(returned.Milliseconds())*float64(concurrency)/float64(calls),
		float64(cpu.Microseconds())/float64(max(placed.Load(), 1)))
	reasons.Range(func(k, v any) bool {
		fmt.Fprintf(w, "  failures %s: %d\n", k, v.(*atomic.Int64).Load())
		return true
	})
	if verify {
		return verifyPlacements(ctx, w, srv, cluster, placed.Load()+int64(len(warm.Tasks)))
	}
	return nil
}

// verifyPlacements audits the cluster in the store after the run: placed
// tasks must all be there, each reserved once, none over-committing.
func verifyPlacements(ctx context.Context, w io.Writer, srv *server.Server, cluster string, placed int64) error {
	start := time.Now()
	audit, err := srv.ECS.VerifyPlacements(ctx, cluster)
	if err != nil {
		return err
	}
	for i, p := range audit.Problems {
		if i == 20 {
			fmt.Fprintf(w, "  ... %d more\n", len(audit.Problems)-i)
			break
		}
		fmt.Fprintln(w, "  "+p)
	}
	fmt.Fprintf(w, "verify: %d instances, %d tasks, %d reservations read back in %s: %d problems\n",
		audit.Instances, audit.Tasks, audit.Reservations, time.Since(start).Round(time.Millisecond), len(audit.Problems))
	if len(audit.Problems) > 0 {
		return fmt.Errorf("verify: %d placement problems", len(audit.Problems))
	}
	if int64(audit.Tasks) != placed || int64(audit.Reservations) != placed {
		return fmt.Errorf("verify: RunTask placed %d tasks but the store holds %d tasks and %d reservations", placed, audit.Tasks, audit.Reservations)
	}
	return nil
}

// instanceMemory is each simulated instance's memory in MiB.
const instanceMemory = 16384

// startSimAgents registers n simulated instances over three AZs; each
// counts the tasks it receives in delivered.
func startSimAgents(ctx context.Context, client *ecs.Client, creds aws.Credentials, cluster string, n int, delivered *atomic.Int64, dial func(context.Context, string, string) (net.Conn, error)) error {
	var wg sync.WaitGroup
	var next atomic.Int64
	errs := make(chan error, 32)
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				_, err := simagent.Start(ctx, client, simagent.Options{Cluster: cluster, CPU: 4096, Memory: instanceMemory, Region: "us-east-1",
					Credentials: creds, Silent: true, Delivered: delivered, Dial: dial, Attributes: map[string]string{
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
