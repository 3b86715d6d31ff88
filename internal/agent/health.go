package agent

import (
	"sort"
	"time"

	"github.com/berth-dev/berth/internal/acs"
	"github.com/berth-dev/berth/internal/api"
)

// tasksPerHealthRequest is how many tasks one PublishHealthRequest carries,
// as the ECS agent splits its reports.
const tasksPerHealthRequest = 10

// kickHealth asks the health publisher to report soon.
func (a *Agent) kickHealth() {
	select {
	case a.healthKick <- struct{}{}:
	default:
	}
}

// ecsHealth maps a Docker health state to the ECS one; "" means the
// container has no health check (or Docker has not said yet).
func ecsHealth(docker string) string {
	switch docker {
	case "healthy":
		return acs.HealthHealthy
	case "unhealthy":
		return acs.HealthUnhealthy
	case "starting":
		return acs.HealthUnknown
	}
	return ""
}

// healthSince remembers when each container entered its current health
// state, keyed by task ARN and container name.
type healthSince map[[2]string]struct {
	status string
	at     time.Time
}

// since returns when the container entered status, starting the clock when
// the status is new.
func (h healthSince) since(taskArn, name, status string, now time.Time) time.Time {
	k := [2]string{taskArn, name}
	if e, ok := h[k]; ok && e.status == status {
		return e.at
	}
	h[k] = struct {
		status string
		at     time.Time
	}{status, now}
	return now
}

// healthReport renders the health of the containers with health checks of
// this instance's running tasks, ordered by task ARN.
func (a *Agent) healthReport(since healthSince) []acs.TaskHealth {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []acs.TaskHealth
	seen := map[[2]string]bool{}
	for _, t := range a.tasks {
		if t.status != statusRunning || t.desired == statusStopped {
			continue
		}
		th := acs.TaskHealth{TaskArn: t.arn, TaskDefinitionFamily: t.family, TaskDefinitionVersion: t.version}
		for _, c := range t.containers {
			h := ecsHealth(c.health)
			if h == "" || c.status != statusRunning {
				continue
			}
			seen[[2]string{t.arn, c.name}] = true
			at := api.Timestamp{Time: since.since(t.arn, c.name, h, now)}
			th.Containers = append(th.Containers, acs.ContainerHealth{ContainerName: c.name, HealthStatus: h, StatusSince: &at})
		}
		if len(th.Containers) > 0 {
			out = append(out, th)
		}
	}
	for k := range since {
		if !seen[k] {
			delete(since, k) // gone: forget it
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TaskArn < out[j].TaskArn })
	return out
}

// healthRequests splits a report into PublishHealthRequests of at most ten
// tasks; the last one has fin set.
func (a *Agent) healthRequests(tasks []acs.TaskHealth) []acs.PublishHealthRequest {
	var out []acs.PublishHealthRequest
	now := api.Timestamp{Time: time.Now()}
	for start := 0; start < len(tasks); start += tasksPerHealthRequest {
		end := min(start+tasksPerHealthRequest, len(tasks))
		out = append(out, acs.PublishHealthRequest{
			Metadata: &acs.HealthMetadata{Cluster: a.cfg.Cluster, ContainerInstance: a.instanceArn, MessageId: api.NewRequestID(), Fin: end == len(tasks)},
			Tasks:    tasks[start:end], Timestamp: &now,
		})
	}
	return out
}
