package e2e

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

type taskSet struct {
	ID                   string `json:"id"`
	TaskSetArn           string `json:"taskSetArn"`
	Status               string `json:"status"`
	ExternalID           string `json:"externalId"`
	TaskDefinition       string `json:"taskDefinition"`
	ComputedDesiredCount int    `json:"computedDesiredCount"`
	RunningCount         int    `json:"runningCount"`
	PendingCount         int    `json:"pendingCount"`
	StabilityStatus      string `json:"stabilityStatus"`
	Scale                struct {
		Value float64 `json:"value"`
		Unit  string  `json:"unit"`
	} `json:"scale"`
	Tags []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"tags"`
}

// TestTaskSetsCLI: an EXTERNAL service with two task sets (blue and green)
// through the aws CLI; each task set runs its share of the desired count
// as real containers, update-task-set rescales them, and delete-task-set
// stops its containers.
func TestTaskSetsCLI(t *testing.T) {
	b := shared(t)
	cli := requireCLIv2(t)
	image := testutil.BuildTestImage(t, "")
	waitForInstances(t, b, cli, defaultCluster, 2)
	family := uniqueName("e2e-taskset")
	blue := registerTestApp(t, b, cli, family, image, map[string]string{"VERSION": "blue"})
	green := registerTestApp(t, b, cli, family, image, map[string]string{"VERSION": "green"})
	name := uniqueName("ext")

	var created struct {
		Service struct {
			DeploymentController struct {
				Type string `json:"type"`
			} `json:"deploymentController"`
			Deployments []deployment `json:"deployments"`
		} `json:"service"`
	}
	b.Run(t, cli, "ecs", "create-service", "--cluster", defaultCluster, "--service-name", name, "--desired-count", "4",
		"--deployment-controller", "type=EXTERNAL").MustSucceed(t).JSON(t, &created)
	if created.Service.DeploymentController.Type != "EXTERNAL" || len(created.Service.Deployments) != 0 {
		t.Fatalf("create-service: %s", pretty(created))
	}
	t.Cleanup(func() {
		b.Run(t, cli, "ecs", "delete-service", "--cluster", defaultCluster, "--service", name, "--force")
	})
	b.Run(t, cli, "ecs", "create-service", "--cluster", defaultCluster, "--service-name", uniqueName("bad"), "--desired-count", "1",
		"--deployment-controller", "type=EXTERNAL", "--task-definition", family).MustFail(t, cli.ServiceErrorExit, "InvalidParameterException")

	create := func(td, external, scale string) taskSet {
		t.Helper()
		var out struct {
			TaskSet taskSet `json:"taskSet"`
		}
		b.Run(t, cli, "ecs", "create-task-set", "--cluster", defaultCluster, "--service", name, "--task-definition", td,
			"--external-id", external, "--scale", "value="+scale+",unit=PERCENT", "--tags", "key=color,value="+external).MustSucceed(t).JSON(t, &out)
		if out.TaskSet.Status != "ACTIVE" || out.TaskSet.ExternalID != external || !strings.HasPrefix(out.TaskSet.ID, "ecs-svc/") {
			t.Fatalf("create-task-set: %s", pretty(out))
		}
		return out.TaskSet
	}
	a := create(blue.TaskDefinitionArn, "blue", "50")
	g := create(green.TaskDefinitionArn, "green", "25")

	describe := func() map[string]taskSet {
		var out struct {
			TaskSets []taskSet `json:"taskSets"`
		}
		b.Run(t, cli, "ecs", "describe-task-sets", "--cluster", defaultCluster, "--service", name, "--include", "TAGS").MustSucceed(t).JSON(t, &out)
		m := map[string]taskSet{}
		for _, ts := range out.TaskSets {
			m[ts.ID] = ts
		}
		return m
	}
	// steady waits until each task set runs want tasks as RUNNING
	// containers of its task definition.
	steady := func(what string, want map[string]int) {
		t.Helper()
		eventually(t, 120*time.Second, time.Second, what, func() (bool, string) {
			sets := describe()
			for id, n := range want {
				ts := sets[id]
				if ts.ComputedDesiredCount != n || ts.RunningCount != n || ts.PendingCount != 0 || ts.StabilityStatus != "STEADY_STATE" {
					return false, pretty(sets)
				}
			}
			if len(sets) != len(want) {
				return false, pretty(sets)
			}
			tasks := serviceTasks(t, b, cli, defaultCluster, name)
			bySet := map[string]int{}
			for _, tk := range tasks {
				if tk.LastStatus != "RUNNING" {
					return false, pretty(tasks)
				}
				bySet[tk.TaskDefinitionArn]++
			}
			return bySet[blue.TaskDefinitionArn] == want[a.ID] && bySet[green.TaskDefinitionArn] == want[g.ID], pretty(tasks)
		})
	}
	steady("blue 2 and green 1 tasks", map[string]int{a.ID: 2, g.ID: 1})
	if tags := describe()[a.ID].Tags; len(tags) != 1 || tags[0].Value != "blue" {
		t.Fatalf("describe-task-sets --include TAGS: %s", pretty(tags))
	}
	// The tasks are real containers.
	for _, tk := range serviceTasks(t, b, cli, defaultCluster, name) {
		out, err := exec.Command("docker", "inspect", "-f", "{{.State.Running}}", tk.Containers[0].RuntimeID).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "true" {
			t.Fatalf("container of task %s: %v %s", tk.TaskArn, err, out)
		}
	}

	b.Run(t, cli, "ecs", "update-task-set", "--cluster", defaultCluster, "--service", name, "--task-set", g.TaskSetArn,
		"--scale", "value=100,unit=PERCENT").MustSucceed(t)
	b.Run(t, cli, "ecs", "update-service-primary-task-set", "--cluster", defaultCluster, "--service", name, "--primary-task-set", g.ID).MustSucceed(t)
	steady("green scaled to 100%", map[string]int{a.ID: 2, g.ID: 4})
	if sets := describe(); sets[g.ID].Status != "PRIMARY" || sets[a.ID].Status != "ACTIVE" {
		t.Fatalf("after update-service-primary-task-set: %s", pretty(sets))
	}
	blueTasks := serviceTasks(t, b, cli, defaultCluster, name)

	b.Run(t, cli, "ecs", "delete-task-set", "--cluster", defaultCluster, "--service", name, "--task-set", a.ID).MustFail(t, cli.ServiceErrorExit, "InvalidParameterException")
	b.Run(t, cli, "ecs", "delete-task-set", "--cluster", defaultCluster, "--service", name, "--task-set", a.ID, "--force").MustSucceed(t)
	steady("blue deleted", map[string]int{g.ID: 4})
	for _, tk := range blueTasks {
		if tk.TaskDefinitionArn != blue.TaskDefinitionArn {
			continue
		}
		eventually(t, 30*time.Second, 500*time.Millisecond, "blue container "+tk.Containers[0].RuntimeID+" stopped", func() (bool, string) {
			out, _ := exec.Command("docker", "inspect", "-f", "{{.State.Running}}", tk.Containers[0].RuntimeID).CombinedOutput()
			return strings.TrimSpace(string(out)) != "true", string(out)
		})
	}
}
