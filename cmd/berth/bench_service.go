package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/agent/dockerrt"
)

func benchServiceCmd() *cobra.Command {
	var (
		endpoint, region, cluster, image string
		desired, kills, rollouts         int
	)
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
			ctx := cmd.Context()
			c := ecs.New(ecs.Options{
				Region: region, BaseEndpoint: aws.String(endpoint),
				Credentials: credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), ""),
			})
			rt, err := dockerrt.New(ctx)
			if err != nil {
				return err
			}
			defer rt.Close()
			b := &serviceBench{c: c, cluster: cluster, image: image, desired: desired, name: fmt.Sprintf("berth-bench-%d", time.Now().Unix())}
			td, err := b.register(ctx, 0)
			if err != nil {
				return err
			}
			if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: &cluster, ServiceName: &b.name, TaskDefinition: &td, DesiredCount: aws.Int32(int32(desired))}); err != nil {
				return err
			}
			defer c.DeleteService(context.WithoutCancel(ctx), &ecs.DeleteServiceInput{Cluster: &cluster, Service: &b.name, Force: aws.Bool(true)})
			if _, err := b.waitCompleted(ctx, td); err != nil {
				return err
			}
			var replaced, converged, completed []time.Duration
			for range kills {
				d, err := b.killOne(ctx, rt)
				if err != nil {
					return err
				}
				replaced = append(replaced, d)
				if _, err := b.waitCompleted(ctx, td); err != nil {
					return err
				}
			}
			for i := range rollouts {
				if td, err = b.register(ctx, i+1); err != nil {
					return err
				}
				start := time.Now()
				if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: &cluster, Service: &b.name, TaskDefinition: &td}); err != nil {
					return err
				}
				swapped, err := b.waitCompleted(ctx, td)
				if err != nil {
					return err
				}
				converged = append(converged, swapped.Sub(start))
				completed = append(completed, time.Since(start))
			}
			w := cmd.OutOrStdout()
			if len(replaced) > 0 {
				report(w, "kill→replacement", replaced)
			}
			if len(converged) > 0 {
				report(w, fmt.Sprintf("rollout %d tasks", desired), converged)
				report(w, "rollout COMPLETED", completed)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&endpoint, "endpoint", os.Getenv("AWS_ENDPOINT_URL"), "Berth endpoint")
	cmd.Flags().StringVar(&region, "region", "us-east-1", "region")
	cmd.Flags().StringVar(&cluster, "cluster", "default", "cluster with connected instances")
	cmd.Flags().StringVar(&image, "image", "berth-testapp:test", "image present on the instances' Docker")
	cmd.Flags().IntVar(&desired, "desired", 10, "desired count of the service")
	cmd.Flags().IntVar(&kills, "kills", 5, "number of container kills to time")
	cmd.Flags().IntVar(&rollouts, "rollouts", 3, "number of rolling deployments to time")
	return cmd
}

type serviceBench struct {
	c                    *ecs.Client
	cluster, image, name string
	desired              int
}

func (b *serviceBench) register(ctx context.Context, version int) (string, error) {
	out, err := b.c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(b.name),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String(b.image), Memory: aws.Int32(32),
			Environment:  []ecstypes.KeyValuePair{{Name: aws.String("VERSION"), Value: aws.String(fmt.Sprint(version))}},
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080), HostPort: aws.Int32(0)}},
		}},
	})
	if err != nil {
		return "", err
	}
	return *out.TaskDefinition.TaskDefinitionArn, nil
}

// tasks returns the service's tasks desired RUNNING.
func (b *serviceBench) tasks(ctx context.Context) ([]ecstypes.Task, error) {
	list, err := b.c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: &b.cluster, ServiceName: &b.name})
	if err != nil || len(list.TaskArns) == 0 {
		return nil, err
	}
	var out []ecstypes.Task
	for chunk := range slices.Chunk(list.TaskArns, 100) {
		d, err := b.c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: &b.cluster, Tasks: chunk})
		if err != nil {
			return nil, err
		}
		out = append(out, d.Tasks...)
	}
	return out, nil
}

// waitCompleted waits until the service's deployment of td is COMPLETED;
// it returns when every task first ran td.
func (b *serviceBench) waitCompleted(ctx context.Context, td string) (time.Time, error) {
	deadline := time.Now().Add(5 * time.Minute)
	var swapped time.Time
	for time.Now().Before(deadline) {
		if swapped.IsZero() {
			ts, err := b.tasks(ctx)
			if err != nil {
				return swapped, err
			}
			n := 0
			for _, t := range ts {
				if aws.ToString(t.TaskDefinitionArn) == td && aws.ToString(t.LastStatus) == "RUNNING" {
					n++
				}
			}
			if n == b.desired && len(ts) == b.desired {
				swapped = time.Now()
			}
		}
		d, err := b.c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: &b.cluster, Services: []string{b.name}})
		if err != nil {
			return swapped, err
		}
		if s := d.Services[0]; !swapped.IsZero() && len(s.Deployments) == 1 && s.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted {
			return swapped, nil
		} else if len(s.Deployments) > 0 && s.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateFailed {
			return swapped, fmt.Errorf("deployment failed: %s", aws.ToString(s.Deployments[0].RolloutStateReason))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return swapped, fmt.Errorf("service %s did not complete its deployment in 5 minutes", b.name)
}

// killOne stops one task's container at once and times until the service
// has its desired count RUNNING again.
func (b *serviceBench) killOne(ctx context.Context, rt *dockerrt.Runtime) (time.Duration, error) {
	ts, err := b.tasks(ctx)
	if err != nil {
		return 0, err
	}
	if len(ts) == 0 {
		return 0, fmt.Errorf("the service has no task to kill")
	}
	// The longest-running task: its death is an accident, not a crash loop.
	oldest := slices.MinFunc(ts, func(a, b ecstypes.Task) int { return aws.ToTime(a.StartedAt).Compare(aws.ToTime(b.StartedAt)) })
	victim := aws.ToString(oldest.TaskArn)
	start := time.Now()
	if err := rt.Stop(ctx, aws.ToString(oldest.Containers[0].RuntimeId), 0); err != nil {
		return 0, err
	}
	for time.Since(start) < 2*time.Minute {
		ts, err := b.tasks(ctx)
		if err != nil {
			return 0, err
		}
		running := 0
		for _, t := range ts {
			if aws.ToString(t.TaskArn) != victim && aws.ToString(t.LastStatus) == "RUNNING" {
				running++
			}
		}
		if running == b.desired {
			return time.Since(start), nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, fmt.Errorf("no replacement for %s in 2 minutes", victim)
}
