package bench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"golang.org/x/sync/errgroup"

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
	// Fargate runs the tasks with the FARGATE launch type (awsvpc, 256
	// CPU units, 512 MiB) in Subnets with SecurityGroups.
	Fargate                 bool
	Subnets, SecurityGroups []string
	// Burst, when positive, then starts that many tasks at once and
	// times them until all are RUNNING.
	Burst int
}

// RunTaskResult holds the times measured, one per run.
type RunTaskResult struct {
	// Berth are the times from RunTask until the task was RUNNING, Docker
	// those to create and start the same image through the Docker API.
	Berth, Docker []time.Duration
	// Burst is how many tasks were started at once, and BurstTook how
	// long until all of them were RUNNING.
	Burst     int
	BurstTook time.Duration
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
	client := cfg.ecs()
	td, err := registerBenchTask(ctx, client, cfg)
	if err != nil {
		return r, err
	}
	run := &ecs.RunTaskInput{Cluster: &cfg.Cluster, TaskDefinition: td}
	if cfg.Fargate {
		run.LaunchType = ecstypes.LaunchTypeFargate
		run.NetworkConfiguration = &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: cfg.Subnets, SecurityGroups: cfg.SecurityGroups}}
	}
	if r.Berth, err = timeRunTasks(ctx, client, run, cfg.Runs); err != nil {
		return r, err
	}
	if cfg.Burst > 0 {
		r.Burst = cfg.Burst
		if r.BurstTook, err = timeBurst(ctx, client, run, cfg.Burst); err != nil {
			return r, err
		}
	}
	r.Docker, err = timeDockerRuns(ctx, cfg.Image, cfg.Runs)
	return r, err
}

// registerBenchTask registers the benchmark's task definition: one
// container of the image, on a dynamic host port, or for Fargate the
// smallest Fargate task.
func registerBenchTask(ctx context.Context, client *ecs.Client, cfg RunTaskConfig) (*string, error) {
	in := &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("berth-bench"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String(cfg.Image), Memory: aws.Int32(32),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080), HostPort: aws.Int32(0)}},
		}},
	}
	if cfg.Fargate {
		in.Family, in.NetworkMode, in.Cpu, in.Memory = aws.String("berth-bench-fargate"), ecstypes.NetworkModeAwsvpc, aws.String("256"), aws.String("512")
		in.RequiresCompatibilities = []ecstypes.Compatibility{ecstypes.CompatibilityFargate}
		in.ContainerDefinitions[0].PortMappings[0].HostPort = nil
	}
	td, err := client.RegisterTaskDefinition(ctx, in)
	if err != nil {
		return nil, err
	}
	return td.TaskDefinition.TaskDefinitionArn, nil
}

// timeBurst starts n tasks at once (RunTask calls of up to 10 in
// parallel) and returns the time until all are RUNNING; it stops them
// after.
func timeBurst(ctx context.Context, client *ecs.Client, run *ecs.RunTaskInput, n int) (time.Duration, error) {
	start := time.Now()
	var mu sync.Mutex
	var arns []string
	var g errgroup.Group
	for left := n; left > 0; left -= 10 {
		in := *run // each call with a client token of its own
		in.Count = aws.Int32(int32(min(left, 10)))
		g.Go(func() error {
			out, err := client.RunTask(ctx, &in)
			if err != nil {
				return err
			}
			if len(out.Failures) > 0 {
				return fmt.Errorf("tasks not placed: %+v", out.Failures)
			}
			mu.Lock()
			for _, t := range out.Tasks {
				arns = append(arns, aws.ToString(t.TaskArn))
			}
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return 0, err
	}
	defer func() {
		for _, arn := range arns {
			client.StopTask(ctx, &ecs.StopTaskInput{Cluster: run.Cluster, Task: aws.String(arn)})
		}
	}()
	pending := slices.Clone(arns)
	for deadline := time.Now().Add(10 * time.Minute); len(pending) > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%d of %d tasks not RUNNING after 10 minutes", len(pending), n)
		}
		var still []string
		for chunk := range slices.Chunk(pending, 100) {
			d, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: run.Cluster, Tasks: chunk})
			if err != nil {
				return 0, err
			}
			for _, t := range d.Tasks {
				switch aws.ToString(t.LastStatus) {
				case "RUNNING":
				case "STOPPED":
					return 0, fmt.Errorf("task stopped: %s", aws.ToString(t.StoppedReason))
				default:
					still = append(still, aws.ToString(t.TaskArn))
				}
			}
		}
		pending = still
	}
	return time.Since(start), nil
}

// Report writes both distributions and the ratio of their medians.
func (r RunTaskResult) Report(w io.Writer) {
	report(w, "RunTask→RUNNING", r.Berth)
	report(w, "docker create+start", r.Docker)
	fmt.Fprintf(w, "ratio of medians: %.2f\n", float64(median(r.Berth))/float64(median(r.Docker)))
	if r.Burst > 0 {
		fmt.Fprintf(w, "%d tasks at once: all RUNNING in %s (%.1f tasks/s)\n", r.Burst, r.BurstTook.Round(time.Millisecond), float64(r.Burst)/r.BurstTook.Seconds())
	}
}

func timeRunTasks(ctx context.Context, client *ecs.Client, run *ecs.RunTaskInput, runs int) ([]time.Duration, error) {
	cluster := aws.ToString(run.Cluster)
	var out []time.Duration
	for i := 0; i < runs; i++ {
		start := time.Now()
		in := *run // the SDK fills in a client token, which must not be reused
		rt, err := client.RunTask(ctx, &in)
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
