package bench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth-dev/berth/internal/agent/dockerrt"
)

// ServiceConfig sets up the service benchmark.
type ServiceConfig struct {
	Target
	// Cluster's instances must have room for twice Desired tasks of 32 MiB.
	Cluster string
	// Image must be present on the instances' Docker.
	Image string
	// Desired is the service's desired count; Kills and Rollouts are the
	// number of replacements and of rolling deployments to time.
	Desired, Kills, Rollouts int
}

// ServiceResult holds the times measured.
type ServiceResult struct {
	Desired int
	// Replaced are the times from killing a task's container until the
	// service again had Desired tasks RUNNING.
	Replaced []time.Duration
	// Converged are the times from UpdateService until every task ran the
	// new revision, Completed those until the deployment was COMPLETED.
	Converged, Completed []time.Duration
}

// Service creates a service of cfg.Desired tasks of cfg.Image, times
// cfg.Kills replacements of a task whose container it stops through the
// local Docker API, then cfg.Rollouts rolling deployments to a new task
// definition revision, and deletes the service.
func Service(ctx context.Context, cfg ServiceConfig) (ServiceResult, error) {
	res := ServiceResult{Desired: cfg.Desired}
	c := cfg.ecs()
	rt, err := dockerrt.New(ctx)
	if err != nil {
		return res, err
	}
	defer rt.Close()
	b := &serviceBench{c: c, cluster: cfg.Cluster, image: cfg.Image, desired: cfg.Desired, name: fmt.Sprintf("berth-bench-%d", time.Now().Unix())}
	td, err := b.register(ctx, 0)
	if err != nil {
		return res, err
	}
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: &b.cluster, ServiceName: &b.name, TaskDefinition: &td, DesiredCount: aws.Int32(int32(cfg.Desired))}); err != nil {
		return res, err
	}
	defer c.DeleteService(context.WithoutCancel(ctx), &ecs.DeleteServiceInput{Cluster: &b.cluster, Service: &b.name, Force: aws.Bool(true)})
	if _, err := b.waitCompleted(ctx, td); err != nil {
		return res, err
	}
	for range cfg.Kills {
		d, err := b.killOne(ctx, rt)
		if err != nil {
			return res, err
		}
		res.Replaced = append(res.Replaced, d)
		if _, err := b.waitCompleted(ctx, td); err != nil {
			return res, err
		}
	}
	for i := range cfg.Rollouts {
		if td, err = b.register(ctx, i+1); err != nil {
			return res, err
		}
		start := time.Now()
		if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: &b.cluster, Service: &b.name, TaskDefinition: &td}); err != nil {
			return res, err
		}
		swapped, err := b.waitCompleted(ctx, td)
		if err != nil {
			return res, err
		}
		res.Converged = append(res.Converged, swapped.Sub(start))
		res.Completed = append(res.Completed, time.Since(start))
	}
	return res, nil
}

// Report writes one line per measurement that was made.
func (r ServiceResult) Report(w io.Writer) {
	if len(r.Replaced) > 0 {
		report(w, "kill→replacement", r.Replaced)
	}
	if len(r.Converged) > 0 {
		report(w, fmt.Sprintf("rollout %d tasks", r.Desired), r.Converged)
		report(w, "rollout COMPLETED", r.Completed)
	}
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
