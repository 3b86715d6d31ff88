package agent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/moby/moby/client"

	"github.com/berth-dev/berth/internal/agent/dockerrt"
)

// TestTaskVolumeRemovedAtCleanup runs a task that mounts a volume of its
// own and checks that Docker's volume ecs-<task id>-<volume> exists while
// the task runs and is gone once the agent has cleaned the task up.
func TestTaskVolumeRemovedAtCleanup(t *testing.T) {
	e := newEnv(t)
	e.stopAgent()
	e.cleanupWait = time.Second
	e.startAgent()
	e.waitConnected()

	out, err := e.client.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family:  aws.String("scratch"),
		Volumes: []ecstypes.Volume{{Name: aws.String("scratch")}},
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(e.image), Memory: aws.Int32(64),
			MountPoints: []ecstypes.MountPoint{{SourceVolume: aws.String("scratch"), ContainerPath: aws.String("/scratch")}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := e.run(aws.ToString(out.TaskDefinition.TaskDefinitionArn))
	volume := "ecs-" + arn[strings.LastIndex(arn, "/")+1:] + "-scratch"
	rt, err := dockerrt.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	t.Cleanup(func() { rt.RemoveVolume(context.Background(), volume) })
	exists := func() bool {
		_, err := rt.Client().VolumeInspect(context.Background(), volume, client.VolumeInspectOptions{})
		return !dockerrt.IsNotFound(err)
	}

	e.waitStatus(arn, "RUNNING", 60*time.Second)
	if !exists() {
		t.Fatalf("volume %s missing while the task runs", volume)
	}
	if _, err := e.client.StopTask(context.Background(), &ecs.StopTaskInput{Cluster: &e.cluster, Task: &arn}); err != nil {
		t.Fatal(err)
	}
	e.waitStatus(arn, "STOPPED", 30*time.Second)
	e.eventually(30*time.Second, "the task's volume to be removed", func() bool { return !exists() })
}
