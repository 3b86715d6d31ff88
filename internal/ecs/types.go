package ecs

import (
	"github.com/berth-dev/berth/internal/acs"
	"github.com/berth-dev/berth/internal/api"
)

// Wire shapes of the ECS API, named and shaped as in the AWS service model
// (botocore ecs/2014-11-13/service-2.json). Only fields Berth acts on or
// echoes are present; unknown request fields are ignored as AWS does.

// Tag is a resource tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// KeyValuePair is a name/value pair (environment variables, statistics).
type KeyValuePair struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Failure reports one item a batch call could not act on.
type Failure struct {
	Arn    string `json:"arn,omitempty"`
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// ClusterSetting is a cluster setting such as containerInsights.
type ClusterSetting struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// CapacityProviderStrategyItem is one entry of a capacity provider strategy.
type CapacityProviderStrategyItem struct {
	CapacityProvider string `json:"capacityProvider"`
	Weight           int    `json:"weight,omitempty"`
	Base             int    `json:"base,omitempty"`
}

// Cluster is the ECS Cluster shape.
type Cluster struct {
	ClusterArn                        string                         `json:"clusterArn"`
	ClusterName                       string                         `json:"clusterName"`
	Status                            string                         `json:"status"`
	RegisteredContainerInstancesCount int                            `json:"registeredContainerInstancesCount"`
	RunningTasksCount                 int                            `json:"runningTasksCount"`
	PendingTasksCount                 int                            `json:"pendingTasksCount"`
	ActiveServicesCount               int                            `json:"activeServicesCount"`
	Statistics                        []KeyValuePair                 `json:"statistics"`
	Tags                              []Tag                          `json:"tags"`
	Settings                          []ClusterSetting               `json:"settings,omitempty"`
	CapacityProviders                 []string                       `json:"capacityProviders"`
	DefaultCapacityProviderStrategy   []CapacityProviderStrategyItem `json:"defaultCapacityProviderStrategy"`
	Configuration                     *ClusterConfiguration          `json:"configuration,omitempty"`
	ServiceConnectDefaults            *ServiceConnectDefaults        `json:"serviceConnectDefaults,omitempty"`
}

// ClusterConfiguration is a cluster's execute command configuration,
// stored and returned (Berth has no ECS Exec yet).
type ClusterConfiguration struct {
	ExecuteCommandConfiguration *ExecuteCommandConfiguration `json:"executeCommandConfiguration,omitempty"`
}

type ExecuteCommandConfiguration struct {
	KmsKeyId         string                          `json:"kmsKeyId,omitempty"`
	Logging          string                          `json:"logging,omitempty"`
	LogConfiguration *ExecuteCommandLogConfiguration `json:"logConfiguration,omitempty"`
}

type ExecuteCommandLogConfiguration struct {
	CloudWatchLogGroupName      string `json:"cloudWatchLogGroupName,omitempty"`
	CloudWatchEncryptionEnabled bool   `json:"cloudWatchEncryptionEnabled,omitempty"`
	S3BucketName                string `json:"s3BucketName,omitempty"`
	S3EncryptionEnabled         bool   `json:"s3EncryptionEnabled,omitempty"`
	S3KeyPrefix                 string `json:"s3KeyPrefix,omitempty"`
}

// ServiceConnectDefaults names the cluster's default Service Connect
// namespace, stored and returned (Berth has no Cloud Map yet).
type ServiceConnectDefaults struct {
	Namespace string `json:"namespace"`
}

// PortMapping maps a container port to a host port.
type PortMapping struct {
	ContainerPort *int   `json:"containerPort,omitempty"`
	HostPort      *int   `json:"hostPort,omitempty"`
	Protocol      string `json:"protocol,omitempty"`
	Name          string `json:"name,omitempty"`
	AppProtocol   string `json:"appProtocol,omitempty"`
}

// HealthCheck is a container health check.
type HealthCheck struct {
	Command     []string `json:"command"`
	Interval    *int     `json:"interval,omitempty"`
	Timeout     *int     `json:"timeout,omitempty"`
	Retries     *int     `json:"retries,omitempty"`
	StartPeriod *int     `json:"startPeriod,omitempty"`
}

// Ulimit is a resource limit for a container.
type Ulimit struct {
	Name      string `json:"name"`
	SoftLimit int64  `json:"softLimit"`
	HardLimit int64  `json:"hardLimit"`
}

// MountPoint has the same shape in the ECS API and in ACS payloads.
type MountPoint = acs.MountPoint

// VolumeFrom has the same shape in the ECS API and in ACS payloads.
type VolumeFrom = acs.VolumeFrom

// LogConfiguration selects a container's log driver.
type LogConfiguration struct {
	LogDriver string            `json:"logDriver"`
	Options   map[string]string `json:"options,omitempty"`
}

// ContainerDependency has the same shape in the ECS API and in ACS payloads.
type ContainerDependency = acs.ContainerDependency

// EnvironmentFile names a file of environment variables.
type EnvironmentFile struct {
	Value string `json:"value"`
	Type  string `json:"type"`
}

// Secret is a secret exposed to a container.
type Secret struct {
	Name      string `json:"name"`
	ValueFrom string `json:"valueFrom"`
}

// HostEntry is an /etc/hosts entry.
type HostEntry struct {
	Hostname  string `json:"hostname"`
	IPAddress string `json:"ipAddress"`
}

// ContainerDefinition is one container of a task definition.
type ContainerDefinition struct {
	Name                   string                  `json:"name,omitempty"`
	Image                  string                  `json:"image,omitempty"`
	Cpu                    int                     `json:"cpu"`
	Memory                 *int                    `json:"memory,omitempty"`
	MemoryReservation      *int                    `json:"memoryReservation,omitempty"`
	Links                  []string                `json:"links,omitempty"`
	PortMappings           []PortMapping           `json:"portMappings"`
	Essential              *bool                   `json:"essential,omitempty"`
	EntryPoint             []string                `json:"entryPoint,omitempty"`
	Command                []string                `json:"command,omitempty"`
	Environment            []KeyValuePair          `json:"environment"`
	EnvironmentFiles       []EnvironmentFile       `json:"environmentFiles,omitempty"`
	MountPoints            []MountPoint            `json:"mountPoints"`
	VolumesFrom            []VolumeFrom            `json:"volumesFrom"`
	Secrets                []Secret                `json:"secrets,omitempty"`
	DependsOn              []ContainerDependency   `json:"dependsOn,omitempty"`
	StartTimeout           *int                    `json:"startTimeout,omitempty"`
	StopTimeout            *int                    `json:"stopTimeout,omitempty"`
	Hostname               string                  `json:"hostname,omitempty"`
	User                   string                  `json:"user,omitempty"`
	WorkingDirectory       string                  `json:"workingDirectory,omitempty"`
	DisableNetworking      *bool                   `json:"disableNetworking,omitempty"`
	Privileged             *bool                   `json:"privileged,omitempty"`
	ReadonlyRootFilesystem *bool                   `json:"readonlyRootFilesystem,omitempty"`
	DNSServers             []string                `json:"dnsServers,omitempty"`
	ExtraHosts             []HostEntry             `json:"extraHosts,omitempty"`
	DockerLabels           map[string]string       `json:"dockerLabels,omitempty"`
	Ulimits                []Ulimit                `json:"ulimits,omitempty"`
	LogConfiguration       *LogConfiguration       `json:"logConfiguration,omitempty"`
	HealthCheck            *HealthCheck            `json:"healthCheck,omitempty"`
	SystemControls         []SystemControl         `json:"systemControls"`
	DNSSearchDomains       []string                `json:"dnsSearchDomains,omitempty"`
	DockerSecurityOptions  []string                `json:"dockerSecurityOptions,omitempty"`
	Interactive            *bool                   `json:"interactive,omitempty"`
	PseudoTerminal         *bool                   `json:"pseudoTerminal,omitempty"`
	LinuxParameters        *LinuxParameters        `json:"linuxParameters,omitempty"`
	ResourceRequirements   []ResourceRequirement   `json:"resourceRequirements,omitempty"`
	RestartPolicy          *ContainerRestartPolicy `json:"restartPolicy,omitempty"`
	RepositoryCredentials  *RepositoryCredentials  `json:"repositoryCredentials,omitempty"`
}

// SystemControl is a namespaced kernel parameter (sysctl) set in the
// container, e.g. {namespace: net.core.somaxconn, value: 1024}.
type SystemControl struct {
	Namespace string `json:"namespace,omitempty"`
	Value     string `json:"value,omitempty"`
}

// LinuxParameters are the Linux-specific settings of a container.
type LinuxParameters struct {
	Capabilities       *KernelCapabilities `json:"capabilities,omitempty"`
	Devices            []Device            `json:"devices,omitempty"`
	InitProcessEnabled *bool               `json:"initProcessEnabled,omitempty"`
	SharedMemorySize   *int                `json:"sharedMemorySize,omitempty"`
	Tmpfs              []Tmpfs             `json:"tmpfs,omitempty"`
	MaxSwap            *int                `json:"maxSwap,omitempty"`
	Swappiness         *int                `json:"swappiness,omitempty"`
}

// KernelCapabilities are Linux capabilities added to or dropped from
// Docker's default set.
type KernelCapabilities struct {
	Add  []string `json:"add,omitempty"`
	Drop []string `json:"drop,omitempty"`
}

// Device is a host device exposed to a container.
type Device struct {
	HostPath      string   `json:"hostPath"`
	ContainerPath string   `json:"containerPath,omitempty"`
	Permissions   []string `json:"permissions,omitempty"`
}

// Tmpfs is a tmpfs mount; Size is in MiB.
type Tmpfs struct {
	ContainerPath string   `json:"containerPath"`
	Size          int      `json:"size"`
	MountOptions  []string `json:"mountOptions,omitempty"`
}

// ResourceRequirement asks for GPUs (Value is a count) or an inference
// accelerator.
type ResourceRequirement struct {
	Value string `json:"value"`
	Type  string `json:"type"`
}

// ContainerRestartPolicy restarts a container in place when it exits.
type ContainerRestartPolicy struct {
	Enabled              *bool `json:"enabled"`
	IgnoredExitCodes     []int `json:"ignoredExitCodes,omitempty"`
	RestartAttemptPeriod *int  `json:"restartAttemptPeriod,omitempty"`
}

// RepositoryCredentials names the secret holding a private registry login.
type RepositoryCredentials struct {
	CredentialsParameter string `json:"credentialsParameter"`
}

// InferenceAccelerator is an Elastic Inference accelerator of a task.
type InferenceAccelerator struct {
	DeviceName string `json:"deviceName"`
	DeviceType string `json:"deviceType"`
}

// HostVolumeProperties has the same shape in the ECS API and in ACS payloads.
type HostVolumeProperties = acs.HostVolumeProperties

// DockerVolumeConfiguration has the same shape in the ECS API and in ACS payloads.
type DockerVolumeConfiguration = acs.DockerVolumeConfiguration

// Volume is a task definition volume.
type Volume struct {
	Name                      string                     `json:"name,omitempty"`
	Host                      *HostVolumeProperties      `json:"host,omitempty"`
	DockerVolumeConfiguration *DockerVolumeConfiguration `json:"dockerVolumeConfiguration,omitempty"`
}

// PlacementConstraint is a task placement constraint.
type PlacementConstraint struct {
	Type       string `json:"type,omitempty"`
	Expression string `json:"expression,omitempty"`
}

// PlacementStrategy is a task placement strategy.
type PlacementStrategy struct {
	Type  string `json:"type,omitempty"`
	Field string `json:"field,omitempty"`
}

// Attribute is a container instance attribute.
type Attribute struct {
	Name       string  `json:"name"`
	Value      *string `json:"value,omitempty"`
	TargetType string  `json:"targetType,omitempty"`
	TargetId   string  `json:"targetId,omitempty"`
}

// EphemeralStorage is the task's ephemeral storage size.
type EphemeralStorage struct {
	SizeInGiB int `json:"sizeInGiB"`
}

// RuntimePlatform names the OS and CPU architecture a task needs.
type RuntimePlatform struct {
	CpuArchitecture       string `json:"cpuArchitecture,omitempty"`
	OperatingSystemFamily string `json:"operatingSystemFamily,omitempty"`
}

// TaskDefinition is a registered task definition revision.
type TaskDefinition struct {
	TaskDefinitionArn       string                `json:"taskDefinitionArn"`
	ContainerDefinitions    []ContainerDefinition `json:"containerDefinitions"`
	Family                  string                `json:"family"`
	TaskRoleArn             string                `json:"taskRoleArn,omitempty"`
	ExecutionRoleArn        string                `json:"executionRoleArn,omitempty"`
	NetworkMode             string                `json:"networkMode,omitempty"`
	Revision                int                   `json:"revision"`
	Volumes                 []Volume              `json:"volumes"`
	Status                  string                `json:"status"`
	RequiresAttributes      []Attribute           `json:"requiresAttributes,omitempty"`
	PlacementConstraints    []PlacementConstraint `json:"placementConstraints"`
	Compatibilities         []string              `json:"compatibilities"`
	RuntimePlatform         *RuntimePlatform      `json:"runtimePlatform,omitempty"`
	RequiresCompatibilities []string              `json:"requiresCompatibilities,omitempty"`
	Cpu                     string                `json:"cpu,omitempty"`
	Memory                  string                `json:"memory,omitempty"`
	PidMode                 string                `json:"pidMode,omitempty"`
	IpcMode                 string                `json:"ipcMode,omitempty"`
	RegisteredAt            *api.Timestamp        `json:"registeredAt,omitempty"`
	DeregisteredAt          *api.Timestamp        `json:"deregisteredAt,omitempty"`
	RegisteredBy            string                `json:"registeredBy,omitempty"`
	EphemeralStorage        *EphemeralStorage     `json:"ephemeralStorage,omitempty"`
}

// Resource is a container instance resource (CPU, MEMORY, PORTS, PORTS_UDP).
type Resource struct {
	Name           string   `json:"name"`
	Type           string   `json:"type"`
	DoubleValue    float64  `json:"doubleValue"`
	LongValue      int64    `json:"longValue"`
	IntegerValue   int      `json:"integerValue"`
	StringSetValue []string `json:"stringSetValue,omitempty"`
}

// VersionInfo describes the agent and Docker versions of an instance.
type VersionInfo struct {
	AgentVersion  string `json:"agentVersion,omitempty"`
	AgentHash     string `json:"agentHash,omitempty"`
	DockerVersion string `json:"dockerVersion,omitempty"`
}

// ContainerInstance is a registered container instance.
type ContainerInstance struct {
	ContainerInstanceArn string         `json:"containerInstanceArn"`
	Ec2InstanceId        string         `json:"ec2InstanceId"`
	CapacityProviderName string         `json:"capacityProviderName,omitempty"`
	Version              int64          `json:"version"`
	VersionInfo          VersionInfo    `json:"versionInfo"`
	RemainingResources   []Resource     `json:"remainingResources"`
	RegisteredResources  []Resource     `json:"registeredResources"`
	Status               string         `json:"status"`
	StatusReason         string         `json:"statusReason,omitempty"`
	AgentConnected       bool           `json:"agentConnected"`
	RunningTasksCount    int            `json:"runningTasksCount"`
	PendingTasksCount    int            `json:"pendingTasksCount"`
	Attributes           []Attribute    `json:"attributes"`
	RegisteredAt         *api.Timestamp `json:"registeredAt,omitempty"`
	Attachments          []Attachment   `json:"attachments"`
	Tags                 []Tag          `json:"tags"`
}

// NetworkBinding is a port a running container is reachable on.
type NetworkBinding struct {
	BindIP        string `json:"bindIP,omitempty"`
	ContainerPort *int   `json:"containerPort,omitempty"`
	HostPort      *int   `json:"hostPort,omitempty"`
	Protocol      string `json:"protocol,omitempty"`
}

// Container is a container of a task as DescribeTasks reports it.
type Container struct {
	ContainerArn      string             `json:"containerArn"`
	TaskArn           string             `json:"taskArn"`
	Name              string             `json:"name"`
	Image             string             `json:"image"`
	ImageDigest       string             `json:"imageDigest,omitempty"`
	RuntimeId         string             `json:"runtimeId,omitempty"`
	LastStatus        string             `json:"lastStatus"`
	ExitCode          *int               `json:"exitCode,omitempty"`
	Reason            string             `json:"reason,omitempty"`
	NetworkBindings   []NetworkBinding   `json:"networkBindings"`
	NetworkInterfaces []NetworkInterface `json:"networkInterfaces"`
	HealthStatus      string             `json:"healthStatus,omitempty"`
	Cpu               string             `json:"cpu,omitempty"`
	Memory            string             `json:"memory,omitempty"`
	MemoryReservation string             `json:"memoryReservation,omitempty"`
}

// ContainerOverride overrides parts of one container for one task.
type ContainerOverride struct {
	Name              string         `json:"name,omitempty"`
	Command           []string       `json:"command,omitempty"`
	Environment       []KeyValuePair `json:"environment,omitempty"`
	Cpu               *int           `json:"cpu,omitempty"`
	Memory            *int           `json:"memory,omitempty"`
	MemoryReservation *int           `json:"memoryReservation,omitempty"`
}

// TaskOverride overrides parts of a task definition for one task.
type TaskOverride struct {
	ContainerOverrides []ContainerOverride `json:"containerOverrides"`
	Cpu                string              `json:"cpu,omitempty"`
	Memory             string              `json:"memory,omitempty"`
	TaskRoleArn        string              `json:"taskRoleArn,omitempty"`
	ExecutionRoleArn   string              `json:"executionRoleArn,omitempty"`
	EphemeralStorage   *EphemeralStorage   `json:"ephemeralStorage,omitempty"`
}

// Task is a task as DescribeTasks reports it.
type Task struct {
	Attachments          []Attachment   `json:"attachments"`
	Attributes           []Attribute    `json:"attributes,omitempty"`
	AvailabilityZone     string         `json:"availabilityZone,omitempty"`
	CapacityProviderName string         `json:"capacityProviderName,omitempty"`
	ClusterArn           string         `json:"clusterArn"`
	Connectivity         string         `json:"connectivity,omitempty"`
	ConnectivityAt       *api.Timestamp `json:"connectivityAt,omitempty"`
	ContainerInstanceArn string         `json:"containerInstanceArn,omitempty"`
	Containers           []Container    `json:"containers"`
	Cpu                  string         `json:"cpu,omitempty"`
	CreatedAt            *api.Timestamp `json:"createdAt,omitempty"`
	DesiredStatus        string         `json:"desiredStatus"`
	EnableExecuteCommand bool           `json:"enableExecuteCommand"`
	ExecutionStoppedAt   *api.Timestamp `json:"executionStoppedAt,omitempty"`
	Group                string         `json:"group,omitempty"`
	HealthStatus         string         `json:"healthStatus,omitempty"`
	LastStatus           string         `json:"lastStatus"`
	LaunchType           string         `json:"launchType,omitempty"`
	Memory               string         `json:"memory,omitempty"`
	Overrides            TaskOverride   `json:"overrides"`
	PullStartedAt        *api.Timestamp `json:"pullStartedAt,omitempty"`
	PullStoppedAt        *api.Timestamp `json:"pullStoppedAt,omitempty"`
	StartedAt            *api.Timestamp `json:"startedAt,omitempty"`
	StartedBy            string         `json:"startedBy,omitempty"`
	StopCode             string         `json:"stopCode,omitempty"`
	StoppedAt            *api.Timestamp `json:"stoppedAt,omitempty"`
	StoppedReason        string         `json:"stoppedReason,omitempty"`
	StoppingAt           *api.Timestamp `json:"stoppingAt,omitempty"`
	Tags                 []Tag          `json:"tags,omitempty"`
	TaskArn              string         `json:"taskArn"`
	TaskDefinitionArn    string         `json:"taskDefinitionArn"`
	Version              int64          `json:"version"`
	// PlatformVersion, PlatformFamily and EphemeralStorage are a Fargate
	// task's.
	PlatformVersion  string            `json:"platformVersion,omitempty"`
	PlatformFamily   string            `json:"platformFamily,omitempty"`
	EphemeralStorage *EphemeralStorage `json:"ephemeralStorage,omitempty"`
}

// DeploymentCircuitBreaker fails (and optionally rolls back) a deployment
// whose tasks keep failing.
type DeploymentCircuitBreaker struct {
	Enable   bool `json:"enable"`
	Rollback bool `json:"rollback"`
}

// DeploymentConfiguration bounds a rolling deployment.
type DeploymentConfiguration struct {
	DeploymentCircuitBreaker *DeploymentCircuitBreaker `json:"deploymentCircuitBreaker,omitempty"`
	MaximumPercent           *int                      `json:"maximumPercent,omitempty"`
	MinimumHealthyPercent    *int                      `json:"minimumHealthyPercent,omitempty"`
}

// LoadBalancer attaches a service's container port to a target group.
type LoadBalancer struct {
	TargetGroupArn   string `json:"targetGroupArn,omitempty"`
	LoadBalancerName string `json:"loadBalancerName,omitempty"`
	ContainerName    string `json:"containerName,omitempty"`
	ContainerPort    *int   `json:"containerPort,omitempty"`
}

// DeploymentController names who deploys the service (ECS rolling update).
type DeploymentController struct {
	Type string `json:"type"`
}

// Deployment is one task definition revision a service is rolling to or from.
type Deployment struct {
	Id             string         `json:"id"`
	Status         string         `json:"status"`
	TaskDefinition string         `json:"taskDefinition"`
	DesiredCount   int            `json:"desiredCount"`
	PendingCount   int            `json:"pendingCount"`
	RunningCount   int            `json:"runningCount"`
	FailedTasks    int            `json:"failedTasks"`
	CreatedAt      *api.Timestamp `json:"createdAt,omitempty"`
	UpdatedAt      *api.Timestamp `json:"updatedAt,omitempty"`
	LaunchType     string         `json:"launchType,omitempty"`
	// CapacityProviderStrategy is the strategy the deployment's tasks are placed with.
	CapacityProviderStrategy []CapacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	// NetworkConfiguration is the awsvpc configuration the deployment's
	// tasks are launched with.
	NetworkConfiguration *NetworkConfiguration `json:"networkConfiguration,omitempty"`
	PlatformVersion      string                `json:"platformVersion,omitempty"`
	RolloutState         string                `json:"rolloutState,omitempty"`
	RolloutStateReason   string                `json:"rolloutStateReason,omitempty"`
}

// ServiceEvent is one line of a service's event log.
type ServiceEvent struct {
	Id        string         `json:"id"`
	CreatedAt *api.Timestamp `json:"createdAt"`
	Message   string         `json:"message"`
}

// ECSService is the ECS Service shape (named so to keep apart from the API
// type Service).
type ECSService struct {
	ServiceArn                    string                         `json:"serviceArn"`
	ServiceName                   string                         `json:"serviceName"`
	ClusterArn                    string                         `json:"clusterArn"`
	LoadBalancers                 []LoadBalancer                 `json:"loadBalancers"`
	NetworkConfiguration          *NetworkConfiguration          `json:"networkConfiguration,omitempty"`
	PlatformVersion               string                         `json:"platformVersion,omitempty"`
	ServiceRegistries             []ServiceRegistry              `json:"serviceRegistries"`
	Status                        string                         `json:"status"`
	DesiredCount                  int                            `json:"desiredCount"`
	RunningCount                  int                            `json:"runningCount"`
	PendingCount                  int                            `json:"pendingCount"`
	LaunchType                    string                         `json:"launchType,omitempty"`
	CapacityProviderStrategy      []CapacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	TaskDefinition                string                         `json:"taskDefinition,omitempty"`
	DeploymentConfiguration       DeploymentConfiguration        `json:"deploymentConfiguration"`
	Deployments                   []Deployment                   `json:"deployments"`
	TaskSets                      []TaskSet                      `json:"taskSets,omitempty"`
	RoleArn                       string                         `json:"roleArn,omitempty"`
	Events                        []ServiceEvent                 `json:"events"`
	CreatedAt                     *api.Timestamp                 `json:"createdAt"`
	PlacementConstraints          []PlacementConstraint          `json:"placementConstraints"`
	PlacementStrategy             []PlacementStrategy            `json:"placementStrategy"`
	HealthCheckGracePeriodSeconds *int                           `json:"healthCheckGracePeriodSeconds,omitempty"`
	SchedulingStrategy            string                         `json:"schedulingStrategy"`
	DeploymentController          *DeploymentController          `json:"deploymentController,omitempty"`
	Tags                          []Tag                          `json:"tags,omitempty"`
	CreatedBy                     string                         `json:"createdBy,omitempty"`
	EnableECSManagedTags          bool                           `json:"enableECSManagedTags"`
	PropagateTags                 string                         `json:"propagateTags,omitempty"`
	EnableExecuteCommand          bool                           `json:"enableExecuteCommand"`
}

// Attachment is ECS's Attachment shape: an elastic network interface (or
// another resource) attached to a task or container instance.
type Attachment struct {
	ID      string         `json:"id"`
	Type    string         `json:"type"`
	Status  string         `json:"status"`
	Details []KeyValuePair `json:"details"`
}

// NetworkInterface is a container's interface in awsvpc mode.
type NetworkInterface struct {
	AttachmentID       string `json:"attachmentId,omitempty"`
	PrivateIpv4Address string `json:"privateIpv4Address,omitempty"`
	Ipv6Address        string `json:"ipv6Address,omitempty"`
}
