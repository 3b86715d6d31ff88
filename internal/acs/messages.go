// Package acs is the message model of the ECS Agent Communication Service
// (ACS) websocket, shared by the server and the agent.
package acs

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Messages of the ECS Agent Communication Service (ACS) websocket, shaped as
// in the model the open-source ECS agent ships
// (ecs-agent/acs/model/api/api-2.json). Every frame is
// {"type":"<MessageName>","message":{...}}.

// Frame is one websocket frame.
type Frame struct {
	Type    string `json:"type"`
	Message any    `json:"message"`
}

// PayloadMessage carries tasks with their desired status to an agent.
type PayloadMessage struct {
	ContainerInstanceArn string `json:"containerInstanceArn"`
	ClusterArn           string `json:"clusterArn"`
	Tasks                []Task `json:"tasks"`
	GeneratedAt          int64  `json:"generatedAt"`
	MessageId            string `json:"messageId"`
	SeqNum               int    `json:"seqNum"`
}

// Task is a task as the agent receives it.
type Task struct {
	Arn                     string      `json:"arn"`
	TaskClusterArn          string      `json:"taskClusterArn,omitempty"`
	Containers              []Container `json:"containers"`
	DesiredStatus           string      `json:"desiredStatus"`
	Family                  string      `json:"family"`
	Version                 string      `json:"version"`
	TaskDefinitionAccountId string      `json:"taskDefinitionAccountId,omitempty"`
	Volumes                 []Volume    `json:"volumes"`
	Cpu                     float64     `json:"cpu,omitempty"`
	Memory                  int         `json:"memory,omitempty"`
	PidMode                 string      `json:"pidMode,omitempty"`
	IpcMode                 string      `json:"ipcMode,omitempty"`
	LaunchType              string      `json:"launchType,omitempty"`
	NetworkMode             string      `json:"networkMode,omitempty"`
	ServiceName             string      `json:"serviceName,omitempty"`
	Group                   string      `json:"group,omitempty"`
	// RoleCredentials and ExecutionRoleCredentials name the task's task
	// role and execution role. Berth sends only the credentials id and the
	// role; the keys come from the credentials endpoint when needed.
	RoleCredentials          *IAMRoleCredentials `json:"roleCredentials,omitempty"`
	ExecutionRoleCredentials *IAMRoleCredentials `json:"executionRoleCredentials,omitempty"`
	// ElasticNetworkInterfaces is the task's interface in awsvpc mode.
	ElasticNetworkInterfaces []ElasticNetworkInterface `json:"elasticNetworkInterfaces,omitempty"`
	// EphemeralStorageGiB is a Fargate task's ephemeral storage.
	EphemeralStorageGiB int `json:"ephemeralStorageGiB,omitempty"`
}

// ElasticNetworkInterface is an awsvpc task's network interface as the
// agent receives it: the agent gives the task a network namespace holding
// an interface with this MAC and primary address, in a subnet whose
// gateway (the VPC router's address, the subnet's first host) is
// SubnetGatewayIpv4Address in CIDR form ("172.31.0.1/20").
type ElasticNetworkInterface struct {
	AttachmentArn            string           `json:"attachmentArn"`
	Ec2Id                    string           `json:"ec2Id"`
	MacAddress               string           `json:"macAddress"`
	IPV4Addresses            []ENIIPV4Address `json:"ipv4Addresses"`
	SubnetGatewayIpv4Address string           `json:"subnetGatewayIpv4Address"`
	PrivateDNSName           string           `json:"privateDnsName,omitempty"`
	DomainNameServers        []string         `json:"domainNameServers,omitempty"`
}

// ENIIPV4Address is an address of an interface.
type ENIIPV4Address struct {
	Primary        bool   `json:"primary"`
	PrivateAddress string `json:"privateAddress"`
}

// IAMRoleCredentials are a task role's credentials in a payload.
type IAMRoleCredentials struct {
	CredentialsId   string `json:"credentialsId"`
	RoleArn         string `json:"roleArn,omitempty"`
	AccessKeyId     string `json:"accessKeyId,omitempty"`
	SecretAccessKey string `json:"secretAccessKey,omitempty"`
	SessionToken    string `json:"sessionToken,omitempty"`
	Expiration      string `json:"expiration,omitempty"`
}

// Container is a container as the agent receives it. Docker settings
// without a field of their own travel in DockerConfig as Docker API JSON.
type Container struct {
	Name            string                `json:"name"`
	Image           string                `json:"image"`
	Command         []string              `json:"command,omitempty"`
	EntryPoint      []string              `json:"entryPoint,omitempty"`
	Cpu             int                   `json:"cpu"`
	Memory          int                   `json:"memory"`
	Environment     map[string]string     `json:"environment"`
	Essential       bool                  `json:"essential"`
	Links           []string              `json:"links,omitempty"`
	PortMappings    []PortMapping         `json:"portMappings"`
	MountPoints     []MountPoint          `json:"mountPoints"`
	VolumesFrom     []VolumeFrom          `json:"volumesFrom"`
	DockerConfig    DockerConfig          `json:"dockerConfig"`
	DependsOn       []ContainerDependency `json:"dependsOn,omitempty"`
	StartTimeout    int                   `json:"startTimeout,omitempty"`
	StopTimeout     int                   `json:"stopTimeout,omitempty"`
	HealthCheckType string                `json:"healthCheckType,omitempty"`
	Overrides       string                `json:"overrides"`
	ContainerArn    string                `json:"containerArn,omitempty"`
	RestartPolicy   *RestartPolicy        `json:"restartPolicy,omitempty"`
}

// RestartPolicy restarts a container in place when it exits, unless its
// exit code is ignored or it ran for less than RestartAttemptPeriod
// seconds since it last started.
type RestartPolicy struct {
	Enabled              bool  `json:"enabled"`
	IgnoredExitCodes     []int `json:"ignoredExitCodes,omitempty"`
	RestartAttemptPeriod int   `json:"restartAttemptPeriod,omitempty"`
}

// PortMapping is a port mapping in a payload.
type PortMapping struct {
	ContainerPort int    `json:"containerPort"`
	HostPort      int    `json:"hostPort"`
	Protocol      string `json:"protocol"`
}

// DockerConfig holds Docker API JSON (a container Config and HostConfig).
type DockerConfig struct {
	Config     string `json:"config,omitempty"`
	HostConfig string `json:"hostConfig,omitempty"`
	Version    string `json:"version,omitempty"`
}

// Volume is a task volume in a payload.
type Volume struct {
	Name                      string                     `json:"name"`
	Type                      string                     `json:"type"`
	Host                      *HostVolumeProperties      `json:"host,omitempty"`
	DockerVolumeConfiguration *DockerVolumeConfiguration `json:"dockerVolumeConfiguration,omitempty"`
}

// HeartbeatMessage tells the agent the connection is healthy.
type HeartbeatMessage struct {
	Healthy   bool   `json:"healthy"`
	MessageId string `json:"messageId"`
}

// AckRequest is the agent's acknowledgement of a payload.
type AckRequest struct {
	Cluster           string `json:"cluster"`
	ContainerInstance string `json:"containerInstance"`
	MessageId         string `json:"messageId"`
}

// CloseMessage asks the agent to reconnect.
type CloseMessage struct {
	Message string `json:"message"`
}

// ErrorMessage reports a server-side problem to the agent.
type ErrorMessage struct {
	Message string `json:"message"`
}

// MountPoint mounts a task volume into a container.
type MountPoint struct {
	SourceVolume  string `json:"sourceVolume,omitempty"`
	ContainerPath string `json:"containerPath,omitempty"`
	ReadOnly      *bool  `json:"readOnly,omitempty"`
}

// VolumeFrom mounts the volumes of another container of the task.
type VolumeFrom struct {
	SourceContainer string `json:"sourceContainer,omitempty"`
	ReadOnly        *bool  `json:"readOnly,omitempty"`
}

// ContainerDependency orders container start-up.
type ContainerDependency struct {
	ContainerName string `json:"containerName"`
	Condition     string `json:"condition"`
}

// HostVolumeProperties is a bind-mount source on the host.
type HostVolumeProperties struct {
	SourcePath string `json:"sourcePath,omitempty"`
}

// DockerVolumeConfiguration is a Docker-managed volume.
type DockerVolumeConfiguration struct {
	Scope         string            `json:"scope,omitempty"`
	Autoprovision *bool             `json:"autoprovision,omitempty"`
	Driver        string            `json:"driver,omitempty"`
	DriverOpts    map[string]string `json:"driverOpts,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
}

// HeartbeatAckRequest answers a HeartbeatMessage.
type HeartbeatAckRequest struct {
	MessageId string `json:"messageId"`
}

// TaskIdentifier names a task in a TaskManifestMessage.
type TaskIdentifier struct {
	TaskArn        string `json:"taskArn"`
	TaskClusterArn string `json:"taskClusterArn,omitempty"`
	DesiredStatus  string `json:"desiredStatus"`
}

// TaskManifestMessage lists every task the instance should know about; the
// agent stops tasks it runs that are not listed.
type TaskManifestMessage struct {
	ContainerInstanceArn string           `json:"containerInstanceArn"`
	ClusterArn           string           `json:"clusterArn"`
	Tasks                []TaskIdentifier `json:"tasks"`
	GeneratedAt          int64            `json:"generatedAt"`
	MessageId            string           `json:"messageId"`
	Timeline             int64            `json:"timeline"`
}

// TaskStopVerificationMessage asks the server which of the agent's running
// tasks, missing from a manifest, may be stopped.
type TaskStopVerificationMessage struct {
	MessageId      string           `json:"messageId"`
	StopCandidates []TaskIdentifier `json:"stopCandidates"`
}

// TaskStopVerificationAck lists the candidates the agent may stop.
type TaskStopVerificationAck struct {
	GeneratedAt int64            `json:"generatedAt"`
	MessageId   string           `json:"messageId"`
	StopTasks   []TaskIdentifier `json:"stopTasks"`
}

// IAMRoleCredentialsMessage refreshes the credentials of a task's role.
type IAMRoleCredentialsMessage struct {
	MessageId       string             `json:"messageId"`
	TaskArn         string             `json:"taskArn"`
	RoleType        string             `json:"roleType"` // TaskApplication or TaskExecution
	RoleCredentials IAMRoleCredentials `json:"roleCredentials"`
}

// IAMRoleCredentialsAckRequest acknowledges an IAMRoleCredentialsMessage.
type IAMRoleCredentialsAckRequest struct {
	MessageId     string `json:"messageId"`
	Expiration    string `json:"expiration"`
	CredentialsId string `json:"credentialsId"`
}

// Frame type names.
const (
	TypePayload      = "PayloadMessage"
	TypeHeartbeat    = "HeartbeatMessage"
	TypeTaskManifest = "TaskManifestMessage"
	TypeClose        = "CloseMessage"
	TypeError        = "ErrorMessage"
	TypeAck          = "AckRequest"
	TypeHeartbeatAck = "HeartbeatAckRequest"

	TypeIAMRoleCredentials    = "IAMRoleCredentialsMessage"
	TypeIAMRoleCredentialsAck = "IAMRoleCredentialsAckRequest"

	TypeTaskStopVerification    = "TaskStopVerificationMessage"
	TypeTaskStopVerificationAck = "TaskStopVerificationAck"
)

// ReservedLabelPrefix starts the container labels through which an agent
// finds a container's task, credentials and agent. A task definition may
// not set them, or its container could pass for another task's.
const ReservedLabelPrefix = "berth."

// ReservedLabel reports whether a container label is reserved for the
// agent (compared without regard to case).
func ReservedLabel(label string) bool {
	return strings.HasPrefix(strings.ToLower(label), ReservedLabelPrefix)
}

// Incoming is a frame as read off the websocket: its type, and its
// message still encoded until the reader knows what the type carries.
type Incoming struct {
	Type    string          `json:"type"`
	Message json.RawMessage `json:"message"`
}

// Decode reads one websocket message as a frame. Both ends of ACS and TCS
// read their frames with it.
func Decode(data []byte) (Incoming, error) {
	var f Incoming
	if err := json.Unmarshal(data, &f); err != nil {
		return Incoming{}, fmt.Errorf("undecodable frame: %w", err)
	}
	if f.Type == "" {
		return Incoming{}, fmt.Errorf("frame without a type")
	}
	return f, nil
}

// Into decodes the frame's message into v (a pointer to the type's
// message struct).
func (f Incoming) Into(v any) error {
	if err := json.Unmarshal(f.Message, v); err != nil {
		return fmt.Errorf("undecodable %s: %w", f.Type, err)
	}
	return nil
}
