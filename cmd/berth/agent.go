package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/agent"
	"github.com/berth-dev/berth/internal/instancetype"
)

func agentCmd() *cobra.Command {
	var (
		cfg        agent.Config
		attrs      []string
		configFile string
		logLevel   string
		// identityFiles are the identity document's and signature's files.
		identityFiles [2]string
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
  AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, AWS_DEFAULT_REGION,
  ECS_INSTANCE_PROFILE.

With --instance-profile the agent acts as the role in that IAM instance
profile, as an EC2 instance launched with it does: the AWS_* credentials
only obtain the role's temporary credentials (they need iam:PassRole on the
role, whose trust policy must allow ec2.amazonaws.com), and every ECS and
ECR call runs as arn:aws:sts::<account>:assumed-role/<role>/<instance id>.
The role needs the permissions of AmazonEC2ContainerServiceforEC2Role;
without them the agent cannot register and exits saying so:

  aws iam create-role --role-name ecsInstanceRole \
    --assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
  aws iam attach-role-policy --role-name ecsInstanceRole \
    --policy-arn arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role
  aws iam create-instance-profile --instance-profile-name ecsInstanceRole
  aws iam add-role-to-instance-profile --instance-profile-name ecsInstanceRole --role-name ecsInstanceRole
  berth agent --instance-profile ecsInstanceRole ...

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
				if _, ok := instancetype.Lookup(cfg.InstanceType); !ok {
					return fmt.Errorf("unknown --instance-type %q; known: %s", cfg.InstanceType, strings.Join(instancetype.Names(), ", "))
				}
			}
			if err := cfg.ApplyECSEnv(file); err != nil {
				return err
			}
			for i, dst := range []*string{&cfg.EC2.IdentityDocument, &cfg.EC2.IdentitySignature} {
				if identityFiles[i] == "" {
					continue
				}
				b, err := os.ReadFile(identityFiles[i])
				if err != nil {
					return fmt.Errorf("read the instance identity: %w", err)
				}
				*dst = strings.TrimSpace(string(b))
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
	f.StringVar(&cfg.InstanceProfile, "instance-profile", "", "act as the role of this IAM instance profile (ECS_INSTANCE_PROFILE)")
	f.StringVar(&cfg.AvailabilityZone, "availability-zone", "", "reported as attribute ecs.availability-zone")
	f.StringVar(&cfg.EC2.ID, "instance-id", "", "the EC2 instance id to register as (an instance launched by RunInstances)")
	f.StringVar(&cfg.EC2.PrivateIP, "private-ip", "", "the instance's private address: published host ports bind to it")
	f.StringVar(&cfg.EC2.ImageID, "ami-id", "", "reported as attribute ecs.ami-id")
	f.StringVar(&cfg.EC2.SubnetID, "subnet-id", "", "reported as attribute ecs.subnet-id")
	f.StringVar(&cfg.EC2.VpcID, "vpc-id", "", "reported as attribute ecs.vpc-id")
	f.StringVar(&cfg.EC2.CgroupParent, "cgroup-parent", "", "parent control group of every container (the instance's size)")
	f.StringVar(&identityFiles[0], "identity-document", "", "file holding the instance's identity document, to register with")
	f.StringVar(&identityFiles[1], "identity-signature", "", "file holding the identity document's signature")
	f.StringArrayVar(&attrs, "attribute", nil, "custom attribute name=value (repeatable; also ECS_INSTANCE_ATTRIBUTES)")
	f.StringVar(&configFile, "config-file", "/etc/ecs/ecs.config", "ECS agent config file of KEY=VALUE lines")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}
