package e2e

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

type deployment struct {
	ID                 string `json:"id"`
	Status             string `json:"status"`
	TaskDefinition     string `json:"taskDefinition"`
	DesiredCount       int    `json:"desiredCount"`
	RunningCount       int    `json:"runningCount"`
	FailedTasks        int    `json:"failedTasks"`
	RolloutState       string `json:"rolloutState"`
	RolloutStateReason string `json:"rolloutStateReason"`
}

type service struct {
	ServiceArn     string         `json:"serviceArn"`
	Status         string         `json:"status"`
	DesiredCount   int            `json:"desiredCount"`
	RunningCount   int            `json:"runningCount"`
	PendingCount   int            `json:"pendingCount"`
	TaskDefinition string         `json:"taskDefinition"`
	Deployments    []deployment   `json:"deployments"`
	Events         []serviceEvent `json:"events"`
}

type serviceEvent struct {
	Message string `json:"message"`
}

func (s service) said(substr string) bool {
	return slices.ContainsFunc(s.Events, func(e serviceEvent) bool { return strings.Contains(e.Message, substr) })
}

// settled reports whether the service runs its desired count on one
// completed deployment of taskDef.
func (s service) settled(taskDef string) bool {
	return s.Status == "ACTIVE" && len(s.Deployments) == 1 && s.Deployments[0].RolloutState == "COMPLETED" &&
		s.RunningCount == s.DesiredCount && s.PendingCount == 0 && s.TaskDefinition == taskDef
}

func describeService(t *testing.T, b *Berth, cli CLI, cluster, name string) service {
	t.Helper()
	var out struct {
		Services []service `json:"services"`
	}
	b.Run(t, cli, "ecs", "describe-services", "--cluster", cluster, "--services", name).MustSucceed(t).JSON(t, &out)
	if len(out.Services) != 1 {
		t.Fatalf("describe-services %s: %s", name, pretty(out))
	}
	return out.Services[0]
}

// waitService polls describe-services until ok holds and returns the service.
func waitService(t *testing.T, b *Berth, cli CLI, cluster, name, what string, timeout time.Duration, ok func(service) bool) service {
	t.Helper()
	var svc service
	eventually(t, timeout, 500*time.Millisecond, "service "+name+" "+what, func() (bool, string) {
		svc = describeService(t, b, cli, cluster, name)
		return ok(svc), pretty(svc)
	})
	return svc
}

// serviceTasks lists the service's tasks desired RUNNING, described.
func serviceTasks(t *testing.T, b *Berth, cli CLI, cluster, name string) []task {
	t.Helper()
	var list struct {
		TaskArns []string `json:"taskArns"`
	}
	b.Run(t, cli, "ecs", "list-tasks", "--cluster", cluster, "--service-name", name).MustSucceed(t).JSON(t, &list)
	if len(list.TaskArns) == 0 {
		return nil
	}
	var out tasksOutput
	b.Run(t, cli, append([]string{"ecs", "describe-tasks", "--cluster", cluster, "--tasks"}, list.TaskArns...)...).MustSucceed(t).JSON(t, &out)
	for _, tk := range out.Tasks {
		b.TrackTask(tk.TaskArn)
	}
	return out.Tasks
}

func TestServiceLifecycleCLI(t *testing.T) {
	b := shared(t)
	cli := requireCLIv2(t)
	image := testutil.BuildTestImage(t, "")
	waitForInstances(t, b, cli, defaultCluster, 2)
	family := uniqueName("e2e-svc")
	v1 := registerTestApp(t, b, cli, family, image, map[string]string{"VERSION": "1"})
	name := uniqueName("web")

	var created struct {
		Service service `json:"service"`
	}
	b.Run(t, cli, "ecs", "create-service", "--cluster", defaultCluster, "--service-name", name, "--task-definition", family,
		"--desired-count", "3", "--deployment-configuration", "minimumHealthyPercent=50,maximumPercent=200").MustSucceed(t).JSON(t, &created)
	if created.Service.DesiredCount != 3 || len(created.Service.Deployments) != 1 || created.Service.Deployments[0].RolloutState != "IN_PROGRESS" {
		t.Fatalf("create-service: %s", pretty(created))
	}
	svc := waitService(t, b, cli, defaultCluster, name, "to run 3 tasks", 90*time.Second, func(s service) bool { return s.settled(v1.TaskDefinitionArn) })
	if !svc.said("has reached a steady state.") || !svc.said("has started 3 tasks") {
		t.Errorf("events after create: %s", pretty(svc.Events))
	}

	t.Run("docker kill is replaced", func(t *testing.T) {
		tasks := serviceTasks(t, b, cli, defaultCluster, name)
		if len(tasks) != 3 {
			t.Fatalf("want 3 tasks, got %s", pretty(tasks))
		}
		victim := tasks[0]
		start := time.Now()
		if out, err := exec.Command("docker", "kill", victim.Containers[0].RuntimeID).CombinedOutput(); err != nil {
			t.Fatalf("docker kill: %v %s", err, out)
		}
		waitTask(t, b, cli, defaultCluster, victim.TaskArn, "STOPPED")
		eventually(t, 60*time.Second, 200*time.Millisecond, "a replacement RUNNING", func() (bool, string) {
			ts := serviceTasks(t, b, cli, defaultCluster, name)
			running := 0
			for _, tk := range ts {
				if tk.LastStatus == "RUNNING" && tk.TaskArn != victim.TaskArn {
					running++
				}
			}
			return running == 3, pretty(ts)
		})
		t.Logf("docker kill to replacement RUNNING: %v", time.Since(start).Round(time.Millisecond))
		svc := waitService(t, b, cli, defaultCluster, name, "to settle again", 30*time.Second, func(s service) bool { return s.settled(v1.TaskDefinitionArn) })
		if svc.Deployments[0].FailedTasks < 1 || !svc.said("has started 1 tasks") {
			t.Errorf("after the kill: %s", pretty(svc))
		}
	})

	t.Run("rolling update to revision 2", func(t *testing.T) {
		v2 := registerTestApp(t, b, cli, family, image, map[string]string{"VERSION": "2"})
		start := time.Now()
		b.Run(t, cli, "ecs", "update-service", "--cluster", defaultCluster, "--service", name, "--task-definition", fmt.Sprintf("%s:%d", family, v2.Revision)).MustSucceed(t)
		svc := waitService(t, b, cli, defaultCluster, name, "to roll to revision 2", 120*time.Second, func(s service) bool {
			if len(s.Deployments) > 0 && s.Deployments[0].RolloutState == "FAILED" {
				t.Fatalf("deployment failed: %s", pretty(s))
			}
			return s.settled(v2.TaskDefinitionArn)
		})
		t.Logf("3-task rolling deployment (min 50%%, max 200%%): %v", time.Since(start).Round(time.Millisecond))
		for _, tk := range serviceTasks(t, b, cli, defaultCluster, name) {
			if tk.TaskDefinitionArn != v2.TaskDefinitionArn {
				t.Errorf("task %s still runs %s", tk.TaskArn, tk.TaskDefinitionArn)
			}
		}
		if !svc.said("deployment completed.") {
			t.Errorf("no completion event: %s", pretty(svc.Events))
		}

		// A revision whose container exits at once: the circuit breaker
		// fails the deployment and rolls back to revision 2.
		td := exampleTaskDef(t)
		td["family"] = family
		c := firstContainer(t, td)
		c["image"], c["command"] = image, []string{"exit", "1"}
		var bad taskDefinitionOutput
		b.Run(t, cli, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "bad.json", td)).MustSucceed(t).JSON(t, &bad)
		b.Run(t, cli, "ecs", "update-service", "--cluster", defaultCluster, "--service", name,
			"--task-definition", bad.TaskDefinition.TaskDefinitionArn,
			"--deployment-configuration", "deploymentCircuitBreaker={enable=true,rollback=true}").MustSucceed(t)
		svc = waitService(t, b, cli, defaultCluster, name, "to fail and roll back", 180*time.Second, func(s service) bool {
			return s.settled(v2.TaskDefinitionArn) && s.said("deployment failed: tasks failed to start.")
		})
		if !svc.said("rolling back to deployment") {
			t.Errorf("no rollback event: %s", pretty(svc.Events))
		}
	})

	t.Run("delete", func(t *testing.T) {
		b.Run(t, cli, "ecs", "delete-service", "--cluster", defaultCluster, "--service", name).MustFail(t, 254, "InvalidParameterException")
		b.Run(t, cli, "ecs", "delete-service", "--cluster", defaultCluster, "--service", name, "--force").MustSucceed(t)
		waitService(t, b, cli, defaultCluster, name, "to become INACTIVE", 60*time.Second, func(s service) bool { return s.Status == "INACTIVE" })
		if ts := serviceTasks(t, b, cli, defaultCluster, name); len(ts) != 0 {
			t.Errorf("tasks left after delete: %s", pretty(ts))
		}
		b.Run(t, cli, "ecs", "update-service", "--cluster", defaultCluster, "--service", name, "--desired-count", "1").MustFail(t, 254, "ServiceNotActiveException")
	})
}
