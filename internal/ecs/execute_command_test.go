package ecs

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/api"
)

func TestExecuteCommand(t *testing.T) {
	e := newEnv(t)
	cluster := e.cluster("exec")
	e.instance(cluster, 4096, 4096)
	one := e.simpleTaskDef("exec-one", 64, 64)
	two := e.taskDef("exec-two", container("app", 64, 64), container("side", 64, 64))
	start := func(td string, enabled bool) string {
		t.Helper()
		out, err := e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: cluster, TaskDefinition: td, EnableExecuteCommand: enabled})
		if err != nil || len(out.Tasks) != 1 || out.Tasks[0].EnableExecuteCommand != enabled {
			t.Fatalf("run: %v %+v", err, out)
		}
		arn := out.Tasks[0].TaskArn
		var cs []ContainerStateChange
		for _, c := range out.Tasks[0].Containers {
			cs = append(cs, ContainerStateChange{ContainerName: c.Name, Status: "RUNNING"})
		}
		if _, err := e.svc.SubmitTaskStateChange(e.ctx, &SubmitTaskStateChangeInput{Cluster: cluster, Task: arn, Status: "RUNNING", Containers: cs}); err != nil {
			t.Fatal(err)
		}
		return arn
	}
	enabled, disabled, multi := start(one.TaskDefinitionArn, true), start(one.TaskDefinitionArn, false), start(two.TaskDefinitionArn, true)
	for _, c := range []struct {
		name string
		in   ExecuteCommandInput
		code string
		msg  string
	}{
		{"no command", ExecuteCommandInput{Cluster: cluster, Task: enabled, Interactive: true}, "InvalidParameterException", "command"},
		{"missing cluster", ExecuteCommandInput{Cluster: "nope", Task: enabled, Command: "sh", Interactive: true}, "ClusterNotFoundException", ""},
		{"missing task", ExecuteCommandInput{Cluster: cluster, Task: "0123456789abcdef0123456789abcdef", Command: "sh", Interactive: true}, "InvalidParameterException", "task was not found"},
		{"not interactive", ExecuteCommandInput{Cluster: cluster, Task: enabled, Command: "sh"}, "InvalidParameterException", "interactive"},
		{"not enabled", ExecuteCommandInput{Cluster: cluster, Task: disabled, Command: "sh", Interactive: true}, "InvalidParameterException", "execute command was not enabled when the task was run"},
		{"container needed", ExecuteCommandInput{Cluster: cluster, Task: multi, Command: "sh", Interactive: true}, "InvalidParameterException", "container"},
		{"unknown container", ExecuteCommandInput{Cluster: cluster, Task: multi, Container: "nope", Command: "sh", Interactive: true}, "InvalidParameterException", "nope"},
		{"enabled", ExecuteCommandInput{Cluster: cluster, Task: enabled, Command: "sh", Interactive: true}, "TargetNotConnectedException", "Berth cannot open Session Manager sessions"},
		{"enabled, named container", ExecuteCommandInput{Cluster: cluster, Task: multi, Container: "side", Command: "sh", Interactive: true}, "TargetNotConnectedException", "Session Manager"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := e.with(t)
			var err error
			e.rejected(c.code, func() error { _, err = e.svc.ExecuteCommand(e.ctx, &c.in); return err })
			if !strings.Contains(api.AsError(err).Message, c.msg) {
				t.Fatalf("message %q does not say %q", api.AsError(err).Message, c.msg)
			}
		})
	}
}

func TestListServicesByNamespace(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		name string
		in   ListServicesByNamespaceInput
		code string
	}{
		{"no namespace", ListServicesByNamespaceInput{}, "InvalidParameterException"},
		{"max results", ListServicesByNamespaceInput{Namespace: "ns", MaxResults: ptr(101)}, "InvalidParameterException"},
		{"by name", ListServicesByNamespaceInput{Namespace: "internal"}, "NamespaceNotFoundException"},
		{"by ARN", ListServicesByNamespaceInput{Namespace: "arn:aws:servicediscovery:us-east-1:123456789012:namespace/ns-abc"}, "NamespaceNotFoundException"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.with(t).rejected(c.code, func() error { _, err := e.svc.ListServicesByNamespace(e.ctx, &c.in); return err })
		})
	}
}
