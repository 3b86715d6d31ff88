package main

import (
	"context"
	"fmt"
	"io"
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

func benchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Built-in benchmarks that print figures",
	}
	cmd.AddCommand(benchRunTaskCmd(), benchPlacementCmd(), benchRegistryCmd(), benchServiceCmd())
	return cmd
}

func benchRunTaskCmd() *cobra.Command {
	var (
		endpoint, region, cluster, image string
		runs                             int
	)
	cmd := &cobra.Command{
		Use:   "runtask",
		Short: "RunTask→RUNNING latency against a running Berth, beside docker run of the same image",
		Long: `bench runtask measures, --runs times, the wall time from a RunTask call
until DescribeTasks reports the task RUNNING, for a one-container task of
--image (which must be present locally, so no pull is timed). It then times
creating and starting the same image directly through the Docker API, the
equivalent of 'docker run -d', and prints both medians and their ratio.

Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (source the
berth.env file 'berth up' writes).`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			client := ecs.New(ecs.Options{
				Region: region, BaseEndpoint: aws.String(endpoint),
				Credentials: credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), ""),
			})
			berth, err := timeRunTasks(ctx, client, cluster, image, runs)
			if err != nil {
				return err
			}
			docker, err := timeDockerRuns(ctx, image, runs)
			if err != nil {
				return err
			}
			report(cmd.OutOrStdout(), "RunTask→RUNNING", berth)
			report(cmd.OutOrStdout(), "docker create+start", docker)
			fmt.Fprintf(cmd.OutOrStdout(), "ratio of medians: %.2f\n", float64(median(berth))/float64(median(docker)))
			return nil
		},
	}
	cmd.Flags().StringVar(&endpoint, "endpoint", os.Getenv("AWS_ENDPOINT_URL"), "Berth endpoint")
	cmd.Flags().StringVar(&region, "region", "us-east-1", "region")
	cmd.Flags().StringVar(&cluster, "cluster", "default", "cluster with at least one connected instance")
	cmd.Flags().StringVar(&image, "image", "berth-testapp:test", "image present on the instances' Docker")
	cmd.Flags().IntVar(&runs, "runs", 20, "number of tasks to time")
	return cmd
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

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func report(w io.Writer, what string, d []time.Duration) {
	s := slices.Clone(d)
	slices.Sort(s)
	fmt.Fprintf(w, "%-22s n=%d min=%s median=%s p90=%s max=%s\n", what, len(s),
		s[0].Round(time.Microsecond), median(s).Round(time.Microsecond), s[len(s)*9/10].Round(time.Microsecond), s[len(s)-1].Round(time.Microsecond))
}
