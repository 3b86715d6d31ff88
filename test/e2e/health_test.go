package e2e

import (
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// registerHealthChecked registers the test app with a Docker health check
// that GETs url inside the container every 5 s.
func registerHealthChecked(t *testing.T, b *Berth, cli CLI, family, image, url string) taskDefinition {
	t.Helper()
	td := exampleTaskDef(t)
	td["family"] = family
	c := firstContainer(t, td)
	c["image"] = image
	c["healthCheck"] = map[string]any{"command": []string{"CMD", "/testapp", "healthcheck", url}, "interval": 5, "timeout": 2, "retries": 1}
	var out taskDefinitionOutput
	b.Run(t, cli, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, family+".json", td)).MustSucceed(t).JSON(t, &out)
	return out.TaskDefinition
}

// TestContainerHealth checks that Docker health checks reach ECS through
// the agent's telemetry connection: a passing check makes the task HEALTHY
// in describe-tasks, and a service task failing its check is stopped and
// replaced by the service scheduler.
func TestContainerHealth(t *testing.T) {
	b := shared(t)
	cli := requireCLIv2(t)
	image := testutil.BuildTestImage(t, "")
	waitForInstances(t, b, cli, defaultCluster, 2)

	t.Run("healthy task", func(t *testing.T) {
		td := registerHealthChecked(t, b, cli, uniqueName("e2e-healthy"), image, "http://localhost:8080/")
		tk := runTask(t, b, cli, defaultCluster, td.TaskDefinitionArn)
		waitTask(t, b, cli, defaultCluster, tk.TaskArn, "RUNNING")
		eventually(t, 45*time.Second, 500*time.Millisecond, "task HEALTHY", func() (bool, string) {
			var out tasksOutput
			r := b.Run(t, cli, "ecs", "describe-tasks", "--cluster", defaultCluster, "--tasks", tk.TaskArn).MustSucceed(t)
			r.JSON(t, &out)
			return len(out.Tasks) == 1 && out.Tasks[0].HealthStatus == "HEALTHY" && out.Tasks[0].Containers[0].HealthStatus == "HEALTHY", r.String()
		})
		b.Run(t, cli, "ecs", "stop-task", "--cluster", defaultCluster, "--task", tk.TaskArn).MustSucceed(t)
	})

	t.Run("unhealthy service task is replaced", func(t *testing.T) {
		td := registerHealthChecked(t, b, cli, uniqueName("e2e-unhealthy"), image, "http://localhost:8080/nosuch")
		name := uniqueName("sick")
		b.Run(t, cli, "ecs", "create-service", "--cluster", defaultCluster, "--service-name", name, "--task-definition", td.TaskDefinitionArn,
			"--desired-count", "1").MustSucceed(t)
		defer b.Run(t, cli, "ecs", "delete-service", "--cluster", defaultCluster, "--service", name, "--force")
		var victim task
		eventually(t, 60*time.Second, 500*time.Millisecond, "a service task", func() (bool, string) {
			ts := serviceTasks(t, b, cli, defaultCluster, name)
			if len(ts) > 0 {
				victim = ts[0]
			}
			return len(ts) > 0, pretty(ts)
		})
		stopped := waitTask(t, b, cli, defaultCluster, victim.TaskArn, "STOPPED")
		if stopped.StoppedReason != "Task failed container health checks" || stopped.StopCode != "ServiceSchedulerInitiated" || stopped.HealthStatus != "UNHEALTHY" {
			t.Errorf("stopped task: %s", pretty(stopped))
		}
		svc := waitService(t, b, cli, defaultCluster, name, "to replace the unhealthy task", 60*time.Second, func(s service) bool {
			return s.said("has stopped 1 running tasks") && s.said("has started 1 tasks")
		})
		eventually(t, 60*time.Second, 500*time.Millisecond, "a replacement task", func() (bool, string) {
			ts := serviceTasks(t, b, cli, defaultCluster, name)
			for _, tk := range ts {
				if tk.TaskArn != victim.TaskArn {
					return true, pretty(ts)
				}
			}
			return false, pretty(ts) + pretty(svc.Events)
		})
	})
}
