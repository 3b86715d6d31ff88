package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/bench"
)

func benchPlacementCmd() *cobra.Command {
	var (
		sizes string
		runs  int
		cfg   bench.PlacementConfig
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
printed gives that rate (delivered placements/s) and, beside it, the rate
counted when the last call returned. With --runs above 1 it also prints
the median run.

With --verify it then reads every instance and task of the cluster back
from etcd and fails unless no instance is over-committed in CPU, memory or
ports and every reservation matches a live task. --cpuprofile FILE writes a
CPU profile of each size's timed phase (control plane, clients and agents,
not the setup) to FILE.<instances>, for 'go tool pprof'. The placement
engine alone is measured by 'go test -bench BenchmarkPlace10
./internal/placement'.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ns []int
			for _, f := range strings.Split(sizes, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(f))
				if err != nil {
					return fmt.Errorf("--instances: %w", err)
				}
				ns = append(ns, n)
			}
			return bench.Placements(cmd.Context(), cmd.OutOrStdout(), ns, runs, cfg)
		},
	}
	cmd.Flags().StringVar(&sizes, "instances", "100,1000", "comma-separated cluster sizes")
	cmd.Flags().IntVar(&cfg.Calls, "calls", 0, "RunTask calls (10 tasks each) per run; 0 offers 5 tasks per instance")
	cmd.Flags().IntVar(&cfg.Concurrency, "concurrency", 32, "concurrent API clients")
	cmd.Flags().IntVar(&runs, "runs", 1, "runs per cluster size")
	cmd.Flags().BoolVar(&cfg.Verify, "verify", false, "audit every instance and task in etcd afterwards for over-commitment")
	cmd.Flags().StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of each size's timed phase to this path + .<instances>")
	return cmd
}
