package main

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/bench"
)

func benchPlacementCmd() *cobra.Command {
	var (
		sizes                    string
		calls, concurrency, runs int
		verify                   bool
		cpuProfile               string
	)
	cmd := &cobra.Command{
		Use:   "placement",
		Short: "Placements/s of RunTask delivered to simulated agents over ACS, at several cluster sizes",
		Long: `bench placement starts a real control plane in this process (embedded etcd
in a temporary directory, the HTTP API with SigV4) and, for each cluster
size, that many simulated agents: each registers a container instance
(1024 CPU units, 2048 MiB) and holds a real ACS websocket, but runs nothing
(a no-op agent that only counts the tasks it receives). The agents'
websockets run over in-memory connections, so that 10,000 of them need no
file descriptors; the RunTask clients use TCP.

After one untimed RunTask, which loads the control plane's instance cache,
--concurrency clients make --calls RunTask calls of 10 tasks each, with
strategies spread(attribute:ecs.availability-zone) then binpack(memory) and
a memberOf(attribute:ecs.instance-type =~ t3.*) constraint. Three calls in
four run a 512 MiB task (four fill an instance), the fourth a 128 MiB task
holding host port 8080 (one per instance). By default the calls offer five
tasks per instance, more than fit, so the cluster fills and the surplus
fails with RESOURCE:MEMORY or RESOURCE:PORTS. The clock stops when the
agents have received, over ACS, every task the calls placed; the line
printed gives that rate (delivered placements/s) and when the last call
returned. With --runs above 1 it also prints the median run.

With --verify it then reads every instance and task of the cluster back
from etcd and fails unless no instance is over-committed in CPU, memory or
ports and every reservation matches a live task. --cpuprofile FILE writes a
CPU profile of each size's timed phase (control plane, clients and agents,
not the setup) to FILE.<instances>, for 'go tool pprof'. The placement
engine alone is measured by 'go test -bench BenchmarkPlace10
./internal/placement'.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			for _, f := range strings.Split(sizes, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(f))
				if err != nil {
					return fmt.Errorf("--instances: %w", err)
				}
				var results []bench.PlacementResult
				for run := 0; run < max(runs, 1); run++ {
					cfg := bench.PlacementConfig{Instances: n, Calls: calls, Concurrency: concurrency, Verify: verify}
					if cpuProfile != "" {
						cfg.CPUProfile = fmt.Sprintf("%s.%d", cpuProfile, n)
					}
					r, err := bench.Placement(cmd.Context(), cfg)
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
					slices.SortFunc(results, func(a, b bench.PlacementResult) int { return cmp.Compare(a.Rate(), b.Rate()) })
					fmt.Fprintf(w, "median of %d: %s\n", len(results), results[len(results)/2])
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&sizes, "instances", "100,1000", "comma-separated cluster sizes")
	cmd.Flags().IntVar(&calls, "calls", 0, "RunTask calls (10 tasks each) per run; 0 offers 5 tasks per instance")
	cmd.Flags().IntVar(&concurrency, "concurrency", 32, "concurrent API clients")
	cmd.Flags().IntVar(&runs, "runs", 1, "runs per cluster size")
	cmd.Flags().BoolVar(&verify, "verify", false, "audit every instance and task in etcd afterwards for over-commitment")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of each size's timed phase to this path + .<instances>")
	return cmd
}
