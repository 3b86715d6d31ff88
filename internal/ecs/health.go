package ecs

import "github.com/berth-dev/berth/internal/acs"

// Container health reaches ECS from the agent's telemetry connection
// (TelemetryHandler); the task's health is derived here, and the service
// scheduler replaces RUNNING tasks whose health is UNHEALTHY once the
// service's health-check grace period is over.

// essentialContainers names the essential containers of a task definition
// (a container is essential unless it says otherwise).
func essentialContainers(td *TaskDefinition) map[string]bool {
	out := make(map[string]bool, len(td.ContainerDefinitions))
	for _, c := range td.ContainerDefinitions {
		out[c.Name] = c.Essential == nil || *c.Essential
	}
	return out
}

// applyHealth records reported container health on t and recomputes the
// task's health; it reports whether anything changed. Only containers with
// a health check (a non-empty healthStatus since the task was created)
// take a report, and only the three ECS states are accepted.
func applyHealth(t *Task, reports []acs.ContainerHealth, essential map[string]bool) bool {
	changed := false
	for _, r := range reports {
		switch r.HealthStatus {
		case acs.HealthHealthy, acs.HealthUnhealthy, acs.HealthUnknown:
		default:
			continue
		}
		for i := range t.Containers {
			c := &t.Containers[i]
			if c.Name == r.ContainerName && c.HealthStatus != "" && c.HealthStatus != r.HealthStatus {
				c.HealthStatus = r.HealthStatus
				changed = true
			}
		}
	}
	if h := taskHealth(t.Containers, essential); h != t.HealthStatus {
		t.HealthStatus = h
		changed = true
	}
	return changed
}

// taskHealth is a task's health as ECS derives it from its containers:
// UNHEALTHY if any essential container with a health check is UNHEALTHY,
// HEALTHY if all of them are HEALTHY, UNKNOWN otherwise (also when no
// essential container has a health check). Containers without a health
// check, and non-essential ones, do not count.
func taskHealth(containers []Container, essential map[string]bool) string {
	checked, healthy := 0, 0
	for _, c := range containers {
		if c.HealthStatus == "" || !essential[c.Name] {
			continue
		}
		checked++
		switch c.HealthStatus {
		case acs.HealthUnhealthy:
			return acs.HealthUnhealthy
		case acs.HealthHealthy:
			healthy++
		}
	}
	if checked > 0 && healthy == checked {
		return acs.HealthHealthy
	}
	return acs.HealthUnknown
}
