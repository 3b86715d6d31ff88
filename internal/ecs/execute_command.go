package ecs

import (
	"context"

	"github.com/berth-dev/berth/internal/api"
)

// ExecuteCommand opens an ECS Exec session, which in AWS is a Systems
// Manager Session Manager session the CLI hands to session-manager-plugin.
// Berth has no Session Manager: a request AWS would accept is refused with
// TargetNotConnectedException (the model's error for a session that cannot
// be opened) saying so, after the checks AWS makes.

type ExecuteCommandInput struct {
	Cluster     string `json:"cluster"`
	Container   string `json:"container"`
	Command     string `json:"command"`
	Interactive bool   `json:"interactive"`
	Task        string `json:"task"`
}

type ExecuteCommandOutput struct {
	ClusterArn    string   `json:"clusterArn"`
	ContainerArn  string   `json:"containerArn"`
	ContainerName string   `json:"containerName"`
	Interactive   bool     `json:"interactive"`
	Session       *Session `json:"session"`
	TaskArn       string   `json:"taskArn"`
}

// Session is ECS's Session shape.
type Session struct {
	SessionId  string `json:"sessionId"`
	StreamUrl  string `json:"streamUrl"`
	TokenValue string `json:"tokenValue"`
}

// execNotEnabled is ECS's answer for a task run without execute command,
// as observed from the ECS API (InvalidParameterException).
const execNotEnabled = "The execute command failed because execute command was not enabled when the task was run or the execute command agent isn’t running. Wait and try again or run a new task with execute command enabled and try again."

// ExecuteCommand checks the request as ECS does and then refuses to open
// the session (see above).
func (s *Service) ExecuteCommand(ctx context.Context, in *ExecuteCommandInput) (*ExecuteCommandOutput, error) {
	switch {
	case in.Command == "":
		return nil, api.InvalidParameter("command is required.")
	case in.Task == "":
		return nil, api.InvalidParameter("task is required.")
	}
	it, err := s.referencedTask(ctx, in.Cluster, in.Task)
	if err != nil {
		return nil, err
	}
	t := &it.Value.Task
	if err := s.authorize(ctx, "ExecuteCommand", t.TaskArn); err != nil {
		return nil, err
	}
	// The model says only that interactive is a flag; ECS runs commands
	// interactively only. The wording is Berth's.
	if !in.Interactive {
		return nil, api.InvalidParameter("Only interactive mode is supported: set interactive to true.")
	}
	var container *Container
	switch {
	case in.Container != "":
		for i := range t.Containers {
			if t.Containers[i].Name == in.Container {
				container = &t.Containers[i]
			}
		}
		if container == nil {
			return nil, api.InvalidParameter("The task has no container named %s.", in.Container)
		}
	case len(t.Containers) == 1:
		container = &t.Containers[0]
	default:
		// As the model's container field says: a name is needed for tasks
		// of several containers.
		return nil, api.InvalidParameter("container is required for a task with more than one container.")
	}
	if !t.EnableExecuteCommand || t.LastStatus != "RUNNING" || container.LastStatus != "RUNNING" {
		return nil, api.InvalidParameter(execNotEnabled)
	}
	return nil, api.Errorf("TargetNotConnectedException",
		"Berth cannot open Session Manager sessions: ExecuteCommand is not available. Use docker exec on the container instance that runs task %s.", lastSegment(t.TaskArn))
}
