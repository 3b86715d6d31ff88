package main

import (
	"os"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/bench"
)

func benchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Built-in benchmarks that print figures",
	}
	cmd.AddCommand(benchRunTaskCmd(), benchPlacementCmd(), benchRegistryCmd(), benchServiceCmd())
	return cmd
}

func benchRunTaskCmd() *cobra.Command {
	var cfg bench.RunTaskConfig
	cmd := &cobra.Command{
		Use:   "runtask",
		Short: "RunTask→RUNNING latency against a running Berth, beside docker run of the same image",
		Long: `bench runtask measures, --runs times, the wall time from a RunTask call
until DescribeTasks reports the task RUNNING, for a one-container task of
--image (which must be present locally, so no pull is timed). It then times
creating and starting the same image directly through the Docker API, the
equivalent of 'docker run -d', and prints both medians and their ratio.
With --fargate the tasks are FARGATE tasks (the cluster's Fargate host is
launched by the first one, which is not timed apart: warm it with a run
first); --burst N then starts N tasks at once and prints how long until all
were RUNNING, and the rate.

Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (source the
berth.env file 'berth up' writes).`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := bench.RunTask(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			r.Report(cmd.OutOrStdout())
			return nil
		},
	}
	targetFlags(cmd, &cfg.Target)
	cmd.Flags().StringVar(&cfg.Cluster, "cluster", "default", "cluster with at least one connected instance")
	cmd.Flags().StringVar(&cfg.Image, "image", "berth-testapp:test", "image present on the instances' Docker")
	cmd.Flags().IntVar(&cfg.Runs, "runs", 20, "number of tasks to time")
	cmd.Flags().BoolVar(&cfg.Fargate, "fargate", false, "run FARGATE tasks (awsvpc, 256 CPU units, 512 MiB) in --subnets with --security-groups")
	cmd.Flags().StringSliceVar(&cfg.Subnets, "subnets", nil, "subnets of the FARGATE tasks' interfaces")
	cmd.Flags().StringSliceVar(&cfg.SecurityGroups, "security-groups", nil, "security groups of the FARGATE tasks' interfaces (the VPC's default when none)")
	cmd.Flags().IntVar(&cfg.Burst, "burst", 0, "then start this many tasks at once and time them until all are RUNNING")
	return cmd
}

// targetFlags adds the --endpoint and --region of the running Berth that
// a benchmark drives; its credentials come from the environment.
func targetFlags(cmd *cobra.Command, t *bench.Target) {
	cmd.Flags().StringVar(&t.Endpoint, "endpoint", os.Getenv("AWS_ENDPOINT_URL"), "Berth endpoint")
	cmd.Flags().StringVar(&t.Region, "region", "us-east-1", "region")
	t.Credentials = credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), "")
}
