package main

import (
	"fmt"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/agent"
)

func agentCmd() *cobra.Command {
	var (
		cfg        agent.Config
		attrs      []string
		configFile string
		logLevel   string
	)
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the node agent: join a cluster and run its tasks with Docker",
		Long: `berth agent is the ECS agent of a container instance. It registers with
RegisterContainerInstance, opens the ACS websocket found through
DiscoverPollEndpoint, runs the tasks it is sent as Docker containers and
reports their state with SubmitTaskStateChange.

Settings come from flags, then ECS_* environment variables, then the
ecs.config file (KEY=VALUE lines), as with the ECS agent:
  ECS_CLUSTER, ECS_BACKEND_HOST, ECS_INSTANCE_ATTRIBUTES, ECS_RESERVED_MEMORY,
  ECS_RESERVED_PORTS, ECS_CONTAINER_STOP_TIMEOUT,
  ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION, ECS_DATADIR,
  AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, AWS_DEFAULT_REGION.

Restarting the agent keeps its registration (stored in --data-dir) and
adopts the containers it started before, by their Docker labels.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			file, err := agent.LoadConfigFile(configFile)
			if err != nil {
				return err
			}
			if len(attrs) > 0 {
				cfg.Attributes = map[string]string{}
			}
			for _, kv := range attrs {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("--attribute %q must be name=value", kv)
				}
				cfg.Attributes[k] = v
			}
			if cfg.InstanceType != "" {
				if _, ok := agent.InstanceTypes[cfg.InstanceType]; !ok {
					return fmt.Errorf("unknown --instance-type %q; known: %s", cfg.InstanceType, agent.InstanceTypeNames())
				}
			}
			if err := cfg.ApplyECSEnv(file); err != nil {
				return err
			}
			if cfg.DataDir == "" {
				cfg.DataDir = "/var/lib/ecs/data"
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return agent.New(cfg, newLogger(logLevel)).Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Endpoint, "endpoint", "", "Berth server URL (ECS_BACKEND_HOST)")
	f.StringVar(&cfg.Cluster, "cluster", "", "cluster to join (ECS_CLUSTER; default \"default\")")
	f.StringVar(&cfg.Region, "region", "", "region to sign requests for (AWS_DEFAULT_REGION; default us-east-1)")
	f.StringVar(&cfg.DataDir, "data-dir", "", "where the agent keeps its registration (ECS_DATADIR; default /var/lib/ecs/data)")
	f.StringVar(&cfg.InstanceType, "instance-type", "", "register this instance type's vCPUs and memory instead of the host's")
	f.StringVar(&cfg.AvailabilityZone, "availability-zone", "", "reported as attribute ecs.availability-zone")
	f.StringArrayVar(&attrs, "attribute", nil, "custom attribute name=value (repeatable; also ECS_INSTANCE_ATTRIBUTES)")
	f.StringVar(&configFile, "config-file", "/etc/ecs/ecs.config", "ECS agent config file of KEY=VALUE lines")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}
