package acs

import "github.com/berth-dev/berth/internal/api"

// Messages of the ECS Telemetry Service (TCS) websocket, shaped as in the
// model the open-source ECS agent ships (ecs-agent/tcs/model/api/api-2.json).
// Frames use the same {"type":...,"message":{...}} envelope as ACS; the
// agent dials <telemetryEndpoint>/ws?cluster=...&containerInstance=....

// Health states of a container health check.
const (
	HealthHealthy   = "HEALTHY"
	HealthUnhealthy = "UNHEALTHY"
	HealthUnknown   = "UNKNOWN"
)

// PublishHealthRequest reports the health of the containers with health
// checks of up to ten tasks; a report spanning several requests sets Fin on
// the last one.
type PublishHealthRequest struct {
	Metadata  *HealthMetadata `json:"metadata,omitempty"`
	Tasks     []TaskHealth    `json:"tasks,omitempty"`
	Timestamp *api.Timestamp  `json:"timestamp,omitempty"`
}

// HealthMetadata names the reporting instance.
type HealthMetadata struct {
	Cluster           string `json:"cluster,omitempty"`
	ContainerInstance string `json:"containerInstance,omitempty"`
	Fin               bool   `json:"fin,omitempty"`
	MessageId         string `json:"messageId,omitempty"`
}

// TaskHealth is one task's container health.
type TaskHealth struct {
	TaskArn               string            `json:"taskArn,omitempty"`
	ClusterArn            string            `json:"clusterArn,omitempty"`
	TaskDefinitionFamily  string            `json:"taskDefinitionFamily,omitempty"`
	TaskDefinitionVersion string            `json:"taskDefinitionVersion,omitempty"`
	Containers            []ContainerHealth `json:"containers,omitempty"`
}

// ContainerHealth is one container's health-check state. StatusSince is
// when it entered that state (the agent sends epoch seconds).
type ContainerHealth struct {
	ContainerName string         `json:"containerName,omitempty"`
	HealthStatus  string         `json:"healthStatus,omitempty"`
	StatusSince   *api.Timestamp `json:"statusSince,omitempty"`
	StatusMessage string         `json:"statusMessage,omitempty"`
}

// AckPublishHealth acknowledges a PublishHealthRequest.
type AckPublishHealth struct {
	Message string `json:"message,omitempty"`
}

// TCS frame type names.
const (
	TypePublishMetrics        = "PublishMetricsRequest"
	TypePublishHealth         = "PublishHealthRequest"
	TypePublishInstanceStatus = "PublishInstanceStatusRequest"
	TypeAckPublishMetric      = "AckPublishMetric"
	TypeAckPublishHealth      = "AckPublishHealth"
	TypeAckInstanceStatus     = "AckPublishInstanceStatus"
)
