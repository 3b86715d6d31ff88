package main

import (
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/bench"
)

func benchServiceCmd() *cobra.Command {
	var cfg bench.ServiceConfig
	cmd := &cobra.Command{
		Use:   "service",
		Short: "Service self-healing and rolling-deployment times against a running Berth",
		Long: `bench service creates a service of --desired tasks of --image on a running
Berth and measures:
  - replacement: from killing one task's container through the Docker API
    until the service again has --desired tasks RUNNING (--kills times);
  - rollout: from UpdateService to a new task definition revision until
    every task of the service runs the new revision ("tasks replaced"), and
    until the deployment is COMPLETED, which ECS-like waits for the new
    tasks to stay up a few seconds (--rollouts times), with the default
    deployment configuration (minimumHealthyPercent 100, maximumPercent 200).
The instances must have room for twice --desired tasks of 32 MiB.
Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (source the
berth.env file 'berth up' writes).`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := bench.Service(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			r.Report(cmd.OutOrStdout())
			return nil
		},
	}
	targetFlags(cmd, &cfg.Target)
	cmd.Flags().StringVar(&cfg.Cluster, "cluster", "default", "cluster with connected instances")
	cmd.Flags().StringVar(&cfg.Image, "image", "berth-testapp:test", "image present on the instances' Docker")
	cmd.Flags().IntVar(&cfg.Desired, "desired", 10, "desired count of the service")
	cmd.Flags().IntVar(&cfg.Kills, "kills", 5, "number of container kills to time")
	cmd.Flags().IntVar(&cfg.Rollouts, "rollouts", 3, "number of rolling deployments to time")
	return cmd
}
