package agent_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth-dev/berth/internal/agent/dockerrt"
	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/logs"
)

// streamMessages reads a log stream as the account's root user.
func (e *env) streamMessages(group, stream string) []string {
	ctx := api.WithPrincipal(context.Background(), api.Principal{Account: e.srv.Account.ID, Root: true})
	out, err := e.srv.Logs.GetLogEvents(ctx, &logs.GetLogEventsInput{LogGroupName: group, LogStreamName: stream, StartFromHead: true})
	if err != nil {
		return nil
	}
	var msgs []string
	for _, ev := range out.Events {
		msgs = append(msgs, ev.Message)
	}
	return msgs
}

// TestAWSLogsAcrossRestart: the agent ships an awslogs container's output
// with its own credentials (the task has no execution role), creating the
// group; output written while the agent is down is shipped once it is
// back, even when the server released the task meanwhile, and nothing
// twice.
func TestAWSLogsAcrossRestart(t *testing.T) {
	e := newEnv(t)
	group := "/berth/" + e.cluster
	td := e.register("logs", ecstypes.ContainerDefinition{Name: aws.String("app"), Command: []string{"print", "first line"},
		LogConfiguration: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: map[string]string{
			"awslogs-group": group, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "test", "awslogs-create-group": "true",
		}}})
	arn := e.run(td)
	running := e.waitStatus(arn, "RUNNING", 60*time.Second)
	stream := "test/app/" + arn[strings.LastIndex(arn, "/")+1:]
	var got []string
	e.eventually(30*time.Second, "the output in "+stream, func() bool {
		got = e.streamMessages(group, stream)
		return len(got) == 2
	})
	if got[0] != "first line" || !strings.HasPrefix(got[1], "testapp: listening") {
		t.Fatalf("shipped %q", got)
	}

	e.stopAgent()
	rt, err := dockerrt.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	// The container writes its last line while no agent is running.
	if err := rt.Stop(context.Background(), aws.ToString(running.Containers[0].RuntimeId), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// The server learns the task stopped before the agent is back, so no
	// payload will tell the agent the task's definition again: it ships
	// with what it recorded.
	if _, err := e.client.SubmitTaskStateChange(context.Background(), &ecs.SubmitTaskStateChangeInput{
		Cluster: aws.String(e.cluster), Task: aws.String(arn), Status: aws.String("STOPPED"), Reason: aws.String("stopped while the agent was down"),
	}); err != nil {
		t.Fatal(err)
	}
	e.waitStatus(arn, "STOPPED", 30*time.Second)
	e.startAgent()
	e.eventually(30*time.Second, "the line written while the agent was down", func() bool {
		got = e.streamMessages(group, stream)
		return len(got) >= 3
	})
	time.Sleep(2 * time.Second) // room for a duplicate to show up
	got = e.streamMessages(group, stream)
	if len(got) != 3 || !strings.Contains(got[2], "exiting") || slices.Index(got, "first line") != 0 {
		t.Fatalf("after the restart the stream holds %q, want the first two lines once and the exit line", got)
	}
}
