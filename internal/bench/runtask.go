package bench

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth-dev/berth/internal/agent/dockerrt"
)

// RunTaskConfig sets up the RunTask latency benchmark.
type RunTaskConfig struct {
	Target
	// Cluster must have at least one connected instance.
	Cluster string
	// Image must be present on the instances' Docker, so no pull is timed.
	Image string
	// Runs is the number of tasks, and of docker runs, to time.
	Runs int
}

// RunTaskResult holds the times measured, one per run.
type RunTaskResult struct {
	// Berth are the times from RunTask until the task was RUNNING, Docker
	// those to create and start the same image through the Docker API.
	Berth, Docker []time.Duration
}

// RunTask times cfg.Runs tasks from RunTask until DescribeTasks reports
// them RUNNING, one at a time, then cfg.Runs creates and starts of the
// same image through the local Docker API.
func RunTask(ctx context.Context, cfg RunTaskConfig) (RunTaskResult, error) {
	var r RunTaskResult
	var err error
	if cfg.Runs < 1 {
		return r, fmt.Errorf("--runs must be at least 1, not %d", cfg.Runs)
	}
	if r.Berth, err = timeRunTasks(ctx, cfg.ecs(), cfg.Cluster, cfg.Image, cfg.Runs); err != nil {
		return r, err
	}
	r.Docker, err = timeDockerRuns(ctx, cfg.Image, cfg.Runs)
	return r, err
}

// Report writes both distributions and the ratio of their medians.
func (r RunTaskResult) Report(w io.Writer) {
	report(w, "RunTask→RUNNING", r.Berth)
	report(w, "docker create+start", r.Docker)
	fmt.Fprintf(w, "ratio of medians: %.2f\n", float64(median(r.Berth))/float64(median(r.Docker)))
}

func timeRunTasks(ctx context.Context, client *ecs.Client, cluster, image string, runs int) ([]time.Duration, error) {
	td, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("berth-bench"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String(image), Memory: aws.Int32(32),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080), HostPort: aws.Int32(0)}},
		}},
	})
	if err != nil {
		return nil, err
	}
	var out []time.Duration
	for i := 0; i < runs; i++ {
		start := time.Now()
		rt, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: &cluster, TaskDefinition: td.TaskDefinition.TaskDefinitionArn})
		if err != nil {
			return nil, err
		}
		if len(rt.Tasks) != 1 {
			return nil, fmt.Errorf("task not placed: %+v", rt.Failures)
		}
		arn := rt.Tasks[0].TaskArn
		for {
			d, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: &cluster, Tasks: []string{*arn}})
			if err != nil {
				return nil, err
			}
			if s := aws.ToString(d.Tasks[0].LastStatus); s == "RUNNING" {
				break
			} else if s == "STOPPED" {
				return nil, fmt.Errorf("task stopped: %s", aws.ToString(d.Tasks[0].StoppedReason))
			}
			time.Sleep(2 * time.Millisecond)
		}
		out = append(out, time.Since(start))
		// Stop and wait, so one run's teardown never overlaps the next start.
		if _, err := client.StopTask(ctx, &ecs.StopTaskInput{Cluster: &cluster, Task: arn}); err != nil {
			return nil, err
		}
		for {
			d, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: &cluster, Tasks: []string{*arn}})
			if err != nil {
				return nil, err
			}
			if aws.ToString(d.Tasks[0].LastStatus) == "STOPPED" {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return out, nil
}

func timeDockerRuns(ctx context.Context, image string, runs int) ([]time.Duration, error) {
	rt, err := dockerrt.New(ctx)
	if err != nil {
		return nil, err
	}
	defer rt.Close()
	var out []time.Duration
	for i := 0; i < runs; i++ {
		start := time.Now()
		id, err := rt.Create(ctx, dockerrt.ContainerSpec{Image: image, MemoryMiB: 32, Ports: []dockerrt.PortMapping{{ContainerPort: 8080}}})
		if err != nil {
			return nil, err
		}
		if err := rt.Start(ctx, id); err != nil {
			return nil, err
		}
		out = append(out, time.Since(start))
		rt.Remove(ctx, id)
	}
	return out, nil
}
