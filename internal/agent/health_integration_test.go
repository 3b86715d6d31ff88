package agent_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// healthCheck probes url inside the container every 5 s (the ECS minimum).
func healthCheck(url string) *ecstypes.HealthCheck {
	return &ecstypes.HealthCheck{Command: []string{"CMD", "/testapp", "healthcheck", url},
		Interval: aws.Int32(5), Timeout: aws.Int32(2), Retries: aws.Int32(1)}
}

// TestContainerHealthReachesECS runs a task whose essential container passes
// its Docker health check and whose non-essential one fails it: the agent
// publishes both over TCS and DescribeTasks shows them, with the task
// HEALTHY because only essential containers count.
func TestContainerHealthReachesECS(t *testing.T) {
	e := newEnv(t)
	td := e.register("health",
		ecstypes.ContainerDefinition{Name: aws.String("web"), HealthCheck: healthCheck("http://localhost:8080/")},
		ecstypes.ContainerDefinition{Name: aws.String("sick"), Essential: aws.Bool(false), HealthCheck: healthCheck("http://localhost:8080/nosuch")},
		ecstypes.ContainerDefinition{Name: aws.String("plain"), Essential: aws.Bool(false)},
	)
	arn := e.run(td)
	e.waitStatus(arn, "RUNNING", 60*time.Second)
	want := "task HEALTHY, containers map[plain: sick:UNHEALTHY web:HEALTHY]"
	var last string
	for deadline := time.Now().Add(45 * time.Second); last != want; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("DescribeTasks shows %q, want %q", last, want)
		}
		task := e.describe(arn)
		h := map[string]ecstypes.HealthStatus{}
		for _, c := range task.Containers {
			h[aws.ToString(c.Name)] = c.HealthStatus
		}
		last = fmt.Sprintf("task %s, containers %v", task.HealthStatus, h)
	}
}
