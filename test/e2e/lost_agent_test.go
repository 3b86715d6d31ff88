package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestLostAgentTasksReplaced kills one of two agents with SIGKILL (its
// containers keep running), checks that after --lost-agent-grace its
// service task is replaced on the other instance, then restarts the agent
// and checks that the stale task is stopped, not kept beside its
// replacement.
func TestLostAgentTasksReplaced(t *testing.T) {
	image := testutil.BuildTestImage(t, "")
	sa := newStandalone(t, "lost")
	_, url := sa.server("server", "--lost-agent-grace", "3s")
	c := sa.client(url)
	ctx := context.Background()
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("lost")}); err != nil {
		t.Fatal(err)
	}
	agents := map[string]*proc{}
	for _, name := range []string{"agent-a", "agent-b"} {
		agents[name] = sa.agent(name, url)
	}
	eventually(t, 60*time.Second, 500*time.Millisecond, "2 connected instances", func() (bool, string) {
		list, err := c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("lost")})
		if err != nil || len(list.ContainerInstanceArns) != 2 {
			return false, fmt.Sprint(list, err)
		}
		d, err := c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("lost"), ContainerInstances: list.ContainerInstanceArns})
		if err != nil {
			return false, err.Error()
		}
		for _, ci := range d.ContainerInstances {
			if !ci.AgentConnected {
				return false, pretty(d.ContainerInstances)
			}
		}
		return true, ""
	})
	td, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("lost-web"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String(image), Memory: aws.Int32(64)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("lost"), ServiceName: aws.String("web"),
		TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	running := func() []ecstypes.Task {
		list, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("lost"), ServiceName: aws.String("web")})
		if err != nil || len(list.TaskArns) == 0 {
			return nil
		}
		d, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("lost"), Tasks: list.TaskArns})
		if err != nil {
			return nil
		}
		var out []ecstypes.Task
		for _, tk := range d.Tasks {
			if aws.ToString(tk.LastStatus) == "RUNNING" {
				out = append(out, tk)
			}
		}
		return out
	}
	eventually(t, 60*time.Second, 500*time.Millisecond, "2 tasks RUNNING, one per instance", func() (bool, string) {
		ts := running()
		return len(ts) == 2 && aws.ToString(ts[0].ContainerInstanceArn) != aws.ToString(ts[1].ContainerInstanceArn), pretty(ts)
	})
	// ECS tells which instance lost its agent.
	agents["agent-b"].kill(t)
	var lostInstance, staleTask string
	eventually(t, 30*time.Second, 200*time.Millisecond, "agent-b's instance to be disconnected", func() (bool, string) {
		list, _ := c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("lost")})
		d, err := c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("lost"), ContainerInstances: list.ContainerInstanceArns})
		if err != nil {
			return false, err.Error()
		}
		for _, ci := range d.ContainerInstances {
			if !ci.AgentConnected {
				lostInstance = aws.ToString(ci.ContainerInstanceArn)
				return true, ""
			}
		}
		return false, pretty(d.ContainerInstances)
	})
	for _, tk := range running() {
		if aws.ToString(tk.ContainerInstanceArn) == lostInstance {
			staleTask = aws.ToString(tk.TaskArn)
		}
	}
	if staleTask == "" {
		t.Fatalf("no task on the disconnected instance %s", lostInstance)
	}
	if n := sa.containers()[staleTask]; n != 1 {
		t.Fatalf("the lost agent's container should keep running: %d containers", n)
	}
	// After the grace period the task is given up and replaced elsewhere.
	eventually(t, 60*time.Second, 500*time.Millisecond, "a replacement on the other instance", func() (bool, string) {
		ts := running()
		fresh := 0
		for _, tk := range ts {
			if aws.ToString(tk.ContainerInstanceArn) != lostInstance && aws.ToString(tk.DesiredStatus) == "RUNNING" {
				fresh++
			}
		}
		return fresh == 2, pretty(ts)
	})
	// The agent returns: it stops the stale task instead of keeping it.
	agents["agent-b"] = sa.agent("agent-b", url)
	eventually(t, 60*time.Second, 500*time.Millisecond, "the stale task to stop", func() (bool, string) {
		d, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("lost"), Tasks: []string{staleTask}})
		if err != nil || len(d.Tasks) != 1 {
			return false, fmt.Sprint(err)
		}
		return aws.ToString(d.Tasks[0].LastStatus) == "STOPPED" && sa.containers()[staleTask] == 0, pretty(d.Tasks[0])
	})
	containers := sa.containers()
	ts := running()
	if len(ts) != 2 || len(containers) != 2 {
		t.Fatalf("after the agent returned: %d tasks RUNNING, containers %v; want 2 and 2", len(ts), containers)
	}
	for _, tk := range ts {
		if containers[aws.ToString(tk.TaskArn)] != 1 {
			t.Errorf("task %s has %d containers", aws.ToString(tk.TaskArn), containers[aws.ToString(tk.TaskArn)])
		}
	}
}
