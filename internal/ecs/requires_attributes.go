package ecs

import (
	"regexp"
	"slices"
	"strings"
)

// Capability attribute names, as the ECS container agent registers them and
// as task definitions require them.
const (
	capDockerAPI         = "com.amazonaws.ecs.capability.docker-remote-api."
	capLoggingDriver     = "com.amazonaws.ecs.capability.logging-driver."
	capPrivileged        = "com.amazonaws.ecs.capability.privileged-container"
	capTaskIAMRole       = "com.amazonaws.ecs.capability.task-iam-role"
	capTaskIAMRoleHost   = "com.amazonaws.ecs.capability.task-iam-role-network-host"
	capECRAuth           = "com.amazonaws.ecs.capability.ecr-auth"
	capExecRoleECRPull   = "ecs.capability.execution-role-ecr-pull"
	capExecRoleAwslogs   = "ecs.capability.execution-role-awslogs"
	capHealthCheck       = "ecs.capability.container-health-check"
	capContainerOrdering = "ecs.capability.container-ordering"
	capDockerPlugin      = "ecs.capability.docker-plugin."
	capTaskENI           = "ecs.capability.task-eni"
	capSecretsASM        = "ecs.capability.secrets.asm.environment-variables"
	capSecretsSSM        = "ecs.capability.secrets.ssm.environment-variables"
	capEnvFilesS3        = "ecs.capability.env-files.s3"
	capPidIpcSharing     = "ecs.capability.pid-ipc-namespace-sharing"
)

// ecrImageRE matches images in an Amazon ECR registry, which the agent
// pulls with a token of its own.
var ecrImageRE = regexp.MustCompile(`^\d{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/`)

// requiresAttributes derives the container instance attributes a task
// definition needs, as ECS reports them in requiresAttributes: the Docker
// Remote API version the API reference names for a parameter ("requires
// version 1.18 of the Docker Remote API": dockerLabels, logConfiguration,
// ulimits), the log driver, and the agent capability behind each feature
// (health checks, container dependencies and timeouts, IAM roles, secrets,
// Docker volume plugins, awsvpc). Placement keeps only instances that
// carry every one of them. The result is sorted and free of duplicates.
func requiresAttributes(td *TaskDefinition) []Attribute {
	need := map[string]bool{}
	if td.TaskRoleArn != "" {
		need[capTaskIAMRole] = true
		if td.NetworkMode == "host" {
			need[capTaskIAMRoleHost] = true
		}
	}
	if td.NetworkMode == "awsvpc" {
		need[capTaskENI] = true
	}
	if td.PidMode != "" || td.IpcMode != "" {
		need[capPidIpcSharing] = true
	}
	for _, v := range td.Volumes {
		if dv := v.DockerVolumeConfiguration; dv != nil {
			driver := dv.Driver
			if driver == "" {
				driver = "local"
			}
			need[capDockerPlugin+driver] = true
		}
	}
	for i := range td.ContainerDefinitions {
		containerRequires(&td.ContainerDefinitions[i], td.ExecutionRoleArn != "", need)
	}
	names := make([]string, 0, len(need))
	for n := range need {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]Attribute, len(names))
	for i, n := range names {
		out[i] = Attribute{Name: n}
	}
	return out
}

// containerRequires adds what one container definition needs to need.
func containerRequires(c *ContainerDefinition, execRole bool, need map[string]bool) {
	if len(c.DockerLabels) > 0 || len(c.Ulimits) > 0 {
		need[capDockerAPI+"1.18"] = true
	}
	if lc := c.LogConfiguration; lc != nil {
		need[capDockerAPI+"1.18"] = true
		need[capLoggingDriver+lc.LogDriver] = true
		if lc.LogDriver == "awslogs" && execRole {
			need[capExecRoleAwslogs] = true
		}
	}
	if c.HealthCheck != nil {
		need[capHealthCheck] = true
	}
	if len(c.DependsOn) > 0 || c.StartTimeout != nil || c.StopTimeout != nil {
		need[capContainerOrdering] = true
	}
	if c.Privileged != nil && *c.Privileged {
		need[capPrivileged] = true
	}
	if ecrImageRE.MatchString(c.Image) {
		need[capECRAuth] = true
		if execRole {
			need[capExecRoleECRPull] = true
		}
	}
	for _, s := range c.Secrets {
		if strings.Contains(s.ValueFrom, ":secretsmanager:") {
			need[capSecretsASM] = true
		} else {
			need[capSecretsSSM] = true
		}
	}
	if len(c.EnvironmentFiles) > 0 {
		need[capEnvFilesS3] = true
	}
}

// attributeNames lists the names of attrs, for a placement request.
func attributeNames(attrs []Attribute) []string {
	out := make([]string, len(attrs))
	for i, a := range attrs {
		out[i] = a.Name
	}
	return out
}
