package e2e

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// registerAWSLogs registers the test app printing marker, with an
// execution role and the awslogs log driver.
func registerAWSLogs(t *testing.T, b *Berth, cli CLI, family, image, execRole, marker string, options map[string]string) {
	t.Helper()
	td := exampleTaskDef(t)
	td["family"] = family
	td["executionRoleArn"] = execRole
	c := firstContainer(t, td)
	c["image"] = image
	c["command"] = []string{"print", marker}
	c["logConfiguration"] = map[string]any{"logDriver": "awslogs", "options": options}
	b.Run(t, cli, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "taskdef.json", td)).MustSucceed(t)
}

// TestAWSLogs: a task whose definition sends its output to CloudWatch
// Logs with awslogs has it shipped by the agent, with the execution
// role's credentials, to the stream ECS names prefix/container/task-id,
// and still readable with docker logs; an execution role without the
// logs permissions ships nothing, and the agent's log says why.
func TestAWSLogs(t *testing.T) {
	cli := requireCLIv2(t)
	image := testutil.BuildTestImage(t, "")
	b := shared(t)

	t.Run("shipped", func(t *testing.T) {
		role := uniqueName("e2e-logsrole")
		roleARN := createTaskRole(t, b, cli, role)
		b.Run(t, cli, "iam", "attach-role-policy", "--role-name", role, "--policy-arn",
			"arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy").MustSucceed(t)
		// awslogs-create-group needs logs:CreateLogGroup, which the managed
		// policy does not grant (the ECS developer guide says to add it).
		b.Run(t, cli, "iam", "put-role-policy", "--role-name", role, "--policy-name", "create-group", "--policy-document",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:CreateLogGroup","Resource":"*"}]}`).MustSucceed(t)
		group := "/ecs/" + uniqueName("e2e-logs")
		family := uniqueName("e2e-logs")
		marker := "hello-" + uniqueName("logs")
		registerAWSLogs(t, b, cli, family, image, roleARN, marker, map[string]string{
			"awslogs-group": group, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "app", "awslogs-create-group": "true",
		})
		tk := runTask(t, b, cli, defaultCluster, family)
		running := waitTask(t, b, cli, defaultCluster, tk.TaskArn, "RUNNING")
		stream := "app/web/" + lastSegment(tk.TaskArn)
		eventually(t, 60*time.Second, time.Second, "the printed line in "+group+" "+stream, func() (bool, string) {
			r := b.Run(t, cli, "logs", "get-log-events", "--log-group-name", group, "--log-stream-name", stream, "--start-from-head")
			var out struct{ Events []struct{ Message string } }
			if r.ExitCode == 0 {
				r.JSON(t, &out)
			}
			for _, e := range out.Events {
				if e.Message == marker {
					return true, r.String()
				}
			}
			return false, r.String() + "\n" + b.LogTail(20)
		})
		// Docker's own log is kept.
		if out, err := exec.Command("docker", "logs", running.Containers[0].RuntimeID).CombinedOutput(); err != nil || !strings.Contains(string(out), marker) {
			t.Errorf("docker logs: %v\n%s", err, out)
		}
		r := b.Run(t, cli, "logs", "filter-log-events", "--log-group-name", group, "--filter-pattern", marker).MustSucceed(t)
		if !strings.Contains(r.Stdout, stream) {
			t.Errorf("filter-log-events %s:\n%v", marker, r)
		}
		b.Run(t, cli, "ecs", "stop-task", "--cluster", defaultCluster, "--task", tk.TaskArn).MustSucceed(t)
	})

	t.Run("denied", func(t *testing.T) {
		roleARN := createTaskRole(t, b, cli, uniqueName("e2e-nologs"))
		group := "/ecs/" + uniqueName("e2e-nologs")
		b.Run(t, cli, "logs", "create-log-group", "--log-group-name", group).MustSucceed(t)
		family := uniqueName("e2e-nologs")
		registerAWSLogs(t, b, cli, family, image, roleARN, "never shipped", map[string]string{
			"awslogs-group": group, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "app",
		})
		tk := runTask(t, b, cli, defaultCluster, family)
		waitTask(t, b, cli, defaultCluster, tk.TaskArn, "RUNNING")
		stream := "app/web/" + lastSegment(tk.TaskArn)
		var why string
		eventually(t, 30*time.Second, time.Second, "the agent to log why it cannot ship", func() (bool, string) {
			for _, line := range strings.Split(b.readLog(), "\n") {
				if strings.Contains(line, "awslogs: cannot deliver") && strings.Contains(line, stream) &&
					strings.Contains(line, "AccessDeniedException") && strings.Contains(line, "logs:CreateLogStream") {
					why = line
					return true, line
				}
			}
			return false, b.LogTail(20)
		})
		t.Logf("agent: %s", why)
		r := b.Run(t, cli, "logs", "describe-log-streams", "--log-group-name", group).MustSucceed(t)
		if strings.Contains(r.Stdout, "app/") {
			t.Errorf("a stream was created without permission:\n%v", r)
		}
		b.Run(t, cli, "ecs", "stop-task", "--cluster", defaultCluster, "--task", tk.TaskArn).MustSucceed(t)
	})
}
