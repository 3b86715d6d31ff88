package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestFargateRolesLogsAndECR: a Fargate task works with the rest of ECS
// as an EC2 one does: its image is pulled from Berth's ECR with its
// execution role, its output shipped to CloudWatch Logs with awslogs, and
// its containers call AWS as its task role.
func TestFargateRolesLogsAndECR(t *testing.T) {
	b := shared(t)
	cli := requireCLIv2(t)
	testutil.RequireDocker(t)
	image := testutil.BuildTestImage(t, "")

	// The image, in a repository of Berth's ECR only.
	cfg, host, _ := ecrLogin(t, b, cli)
	repo := uniqueName("e2e-fgapp")
	ref := host + "/" + repo + ":v1"
	b.Run(t, cli, "ecr", "create-repository", "--repository-name", repo).MustSucceed(t)
	t.Cleanup(func() { b.Run(t, cli, "ecr", "delete-repository", "--repository-name", repo, "--force") })
	for _, args := range [][]string{{"tag", image, ref}, {"push", ref}, {"rmi", ref}} {
		if out, err := docker(t, cfg, "", args...); err != nil {
			t.Fatalf("docker %s: %v\n%s", args[0], err, out)
		}
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", ref).Run() })

	execRole := uniqueName("e2e-fgexec")
	execARN := createTaskRole(t, b, cli, execRole)
	b.Run(t, cli, "iam", "attach-role-policy", "--role-name", execRole, "--policy-arn",
		"arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy").MustSucceed(t)
	b.Run(t, cli, "iam", "put-role-policy", "--role-name", execRole, "--policy-name", "create-group", "--policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:CreateLogGroup","Resource":"*"}]}`).MustSucceed(t)
	taskRole := uniqueName("e2e-fgtask")
	taskARN := createTaskRole(t, b, cli, taskRole)

	cluster := uniqueName("e2e-fgroles")
	b.Run(t, cli, "ecs", "create-cluster", "--cluster-name", cluster).MustSucceed(t)
	var subnets struct{ Subnets []struct{ SubnetId string } }
	b.Run(t, cli, "ec2", "describe-subnets", "--filters", "Name=default-for-az,Values=true").MustSucceed(t).JSON(t, &subnets)
	var sg struct{ GroupId string }
	b.Run(t, cli, "ec2", "create-security-group", "--group-name", uniqueName("e2e-fgroles"), "--description", "fargate roles").MustSucceed(t).JSON(t, &sg)
	b.Run(t, cli, "ec2", "authorize-security-group-ingress", "--group-id", sg.GroupId, "--protocol", "tcp", "--port", "8080", "--cidr", "0.0.0.0/0").MustSucceed(t)
	network := fmt.Sprintf("awsvpcConfiguration={subnets=[%s],securityGroups=[%s]}", subnets.Subnets[0].SubnetId, sg.GroupId)

	group := "/ecs/" + uniqueName("e2e-fglogs")
	family := uniqueName("e2e-fgroles")
	td := map[string]any{"family": family, "networkMode": "awsvpc", "requiresCompatibilities": []string{"FARGATE"}, "cpu": "256", "memory": "512",
		"executionRoleArn": execARN, "taskRoleArn": taskARN,
		"containerDefinitions": []any{map[string]any{"name": "web", "image": ref, "essential": true,
			"portMappings": []any{map[string]any{"containerPort": 8080}},
			"logConfiguration": map[string]any{"logDriver": "awslogs", "options": map[string]string{
				"awslogs-group": group, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "app", "awslogs-create-group": "true"}}}}}
	b.Run(t, cli, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "fargate-roles.json", td)).MustSucceed(t)
	var out tasksOutput
	b.Run(t, cli, "ecs", "run-task", "--cluster", cluster, "--launch-type", "FARGATE", "--task-definition", family,
		"--network-configuration", network).MustSucceed(t).JSON(t, &out)
	if len(out.Tasks) != 1 {
		t.Fatalf("run-task: %+v", out)
	}
	b.TrackTask(out.Tasks[0].TaskArn)
	tk := waitTask(t, b, cli, cluster, out.Tasks[0].TaskArn, "RUNNING")
	t.Cleanup(func() { b.Run(t, cli, "ecs", "stop-task", "--cluster", cluster, "--task", tk.TaskArn) })
	ip := tk.Attachments[0].detail("privateIPv4Address")

	// The task role.
	var who struct{ Arn, Error string }
	httpGetJSON(t, "http://"+ip+":8080/whoami", &who)
	if !strings.Contains(who.Arn, ":assumed-role/"+taskRole+"/") {
		t.Fatalf("the Fargate task's containers are %+v, want the task role %s", who, taskRole)
	}
	// Its output, shipped with the execution role.
	stream := "app/web/" + lastSegment(tk.TaskArn)
	eventually(t, 60*time.Second, time.Second, "the task's output in "+group+" "+stream, func() (bool, string) {
		r := b.Run(t, cli, "logs", "get-log-events", "--log-group-name", group, "--log-stream-name", stream, "--start-from-head")
		return r.ExitCode == 0 && strings.Contains(r.Stdout, "testapp: listening on :8080"), r.String()
	})
}
