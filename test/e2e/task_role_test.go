package e2e

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testutil"
)

// registerWithRoles registers the test app with a task role and an
// execution role ("" for none).
func registerWithRoles(t *testing.T, b *Berth, cli CLI, family, image, taskRole, execRole string) {
	t.Helper()
	td := exampleTaskDef(t)
	td["family"] = family
	if taskRole != "" {
		td["taskRoleArn"] = taskRole
	}
	if execRole != "" {
		td["executionRoleArn"] = execRole
	}
	firstContainer(t, td)["image"] = image
	b.Run(t, cli, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "taskdef.json", td)).MustSucceed(t)
}

// createTaskRole creates a role that ECS tasks may assume.
func createTaskRole(t *testing.T, b *Berth, cli CLI, name string) string {
	t.Helper()
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	var out struct{ Role struct{ Arn string } }
	b.Run(t, cli, "iam", "create-role", "--role-name", name, "--assume-role-policy-document", trust).MustSucceed(t).JSON(t, &out)
	return out.Role.Arn
}

// fetched is the test app's /fetch answer.
type fetched struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
}

// appURL is the test app's URL through the task's dynamic host port.
func appURL(t *testing.T, tk task, path string) string {
	t.Helper()
	if len(tk.Containers) != 1 || len(tk.Containers[0].NetworkBindings) == 0 {
		t.Fatalf("task without a network binding: %s", pretty(tk))
	}
	nb := tk.Containers[0].NetworkBindings[0]
	return fmt.Sprintf("http://%s:%d%s", bindAddr(nb.BindIP), nb.HostPort, path)
}

// bindAddr is where a host port is reached from this machine: the
// instance's address it is bound to (all addresses: loopback).
func bindAddr(bindIP string) string {
	if bindIP == "" || bindIP == "0.0.0.0" {
		return "127.0.0.1"
	}
	return bindIP
}

// TestTaskRole: a container of a task with a task role calls STS through
// Berth with an unmodified AWS SDK and its default configuration, and is
// the task role's session; its task metadata endpoint describes it; and a
// container cannot read another task's credentials even knowing their URI.
func TestTaskRole(t *testing.T) {
	cli := requireCLIv2(t)
	image := testutil.BuildTestImage(t, "")
	b := shared(t)
	role := uniqueName("e2e-taskrole")
	roleARN := createTaskRole(t, b, cli, role)
	family := uniqueName("e2e-role")
	registerWithRoles(t, b, cli, family, image, roleARN, "")

	first := waitTask(t, b, cli, defaultCluster, runTask(t, b, cli, defaultCluster, family).TaskArn, "RUNNING")
	second := waitTask(t, b, cli, defaultCluster, runTask(t, b, cli, defaultCluster, family).TaskArn, "RUNNING")

	var who struct{ Arn, Account, Error string }
	httpGetJSON(t, appURL(t, first, "/whoami"), &who)
	if want := "arn:aws:sts::" + b.AccountID + ":assumed-role/" + role + "/" + lastSegment(first.TaskArn); who.Arn != want {
		t.Fatalf("sts get-caller-identity inside the task = %+v, want %s", who, want)
	}

	var app struct {
		Env map[string]string `json:"env"`
	}
	httpGetJSON(t, appURL(t, first, "/"), &app)
	relURI, metaURI := app.Env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"], app.Env["ECS_CONTAINER_METADATA_URI_V4"]
	if !strings.HasPrefix(relURI, "/v2/credentials/") || !strings.HasPrefix(metaURI, "http://169.254.170.2/v4/") ||
		app.Env["AWS_ENDPOINT_URL"] == "" || app.Env["AWS_REGION"] != b.Region {
		t.Fatalf("task environment: %v", app.Env)
	}

	// Another task's container, knowing the URI, is refused; its own works.
	var stolen, own fetched
	httpGetJSON(t, appURL(t, second, "/fetch?url=http://169.254.170.2"+relURI), &stolen)
	if stolen.Status != 400 || strings.Contains(stolen.Body, "SecretAccessKey") {
		t.Fatalf("another task read the credentials: %+v", stolen)
	}
	httpGetJSON(t, appURL(t, first, "/fetch?url=http://169.254.170.2"+relURI), &own)
	var creds struct{ RoleArn, AccessKeyId, SecretAccessKey, Token, Expiration string }
	if own.Status != 200 || json.Unmarshal([]byte(own.Body), &creds) != nil || creds.RoleArn != roleARN ||
		!strings.HasPrefix(creds.AccessKeyId, "ASIA") || creds.Token == "" || creds.Expiration == "" {
		t.Fatalf("own credentials: %+v", own)
	}
	// Read again, the endpoint answers the same session until half its
	// lifetime, as ECS's does.
	var again fetched
	httpGetJSON(t, appURL(t, first, "/fetch?url=http://169.254.170.2"+relURI), &again)
	if again.Status != 200 || !strings.Contains(again.Body, `"AccessKeyId":"`+creds.AccessKeyId+`"`) {
		t.Fatalf("a second read of the credentials: %+v, want keys %s again", again, creds.AccessKeyId)
	}

	// Task metadata endpoint v4.
	var meta fetched
	httpGetJSON(t, appURL(t, first, "/fetch?url="+metaURI), &meta)
	var container struct {
		DockerId, Name, DockerName, Image, KnownStatus, ContainerARN string
		Labels                                                       map[string]string
		Networks                                                     []struct{ NetworkMode string }
	}
	if meta.Status != 200 || json.Unmarshal([]byte(meta.Body), &container) != nil || container.Name != "web" ||
		container.KnownStatus != "RUNNING" || container.Image != image || container.ContainerARN == "" ||
		container.Labels["com.amazonaws.ecs.task-arn"] != first.TaskArn || len(container.Networks) != 1 || container.Networks[0].NetworkMode != "bridge" {
		t.Fatalf("container metadata: %+v", meta)
	}
	for k := range container.Labels {
		if strings.HasPrefix(k, "berth.") {
			t.Fatalf("container metadata shows internal label %s", k)
		}
	}
	httpGetJSON(t, appURL(t, first, "/fetch?url="+metaURI+"/task"), &meta)
	var taskMeta struct {
		Cluster, TaskARN, Family, Revision, KnownStatus, LaunchType, AvailabilityZone string
		Containers                                                                    []struct{ DockerId string }
	}
	if meta.Status != 200 || json.Unmarshal([]byte(meta.Body), &taskMeta) != nil || taskMeta.TaskARN != first.TaskArn ||
		taskMeta.Family != family || taskMeta.LaunchType != "EC2" || len(taskMeta.Containers) != 1 ||
		taskMeta.Containers[0].DockerId != container.DockerId || taskMeta.AvailabilityZone == "" {
		t.Fatalf("task metadata: %+v", meta)
	}
	httpGetJSON(t, appURL(t, first, "/fetch?url="+metaURI+"/stats"), &meta)
	if meta.Status != 200 || !strings.Contains(meta.Body, "memory_stats") {
		t.Fatalf("container stats: %+v", meta)
	}

	// A second Berth on the same host: its agents started after the shared
	// one's, so the host's endpoint is served by an agent of another Berth,
	// which hands the request to the agent that owns the task.
	other := startBerth(t)
	otherRole := createTaskRole(t, other, cli, role)
	registerWithRoles(t, other, cli, family, image, otherRole, "")
	elsewhere := waitTask(t, other, cli, defaultCluster, runTask(t, other, cli, defaultCluster, family).TaskArn, "RUNNING")
	httpGetJSON(t, appURL(t, elsewhere, "/whoami"), &who)
	if want := "arn:aws:sts::" + other.AccountID + ":assumed-role/" + role + "/" + lastSegment(elsewhere.TaskArn); who.Arn != want {
		t.Fatalf("inside a task of a second Berth on the host: %+v, want %s", who, want)
	}

	// Once the task has stopped, its credentials are no longer served.
	b.Run(t, cli, "ecs", "stop-task", "--cluster", defaultCluster, "--task", first.TaskArn).MustSucceed(t)
	waitTask(t, b, cli, defaultCluster, first.TaskArn, "STOPPED")
	httpGetJSON(t, appURL(t, second, "/fetch?url="+strings.Replace(metaURI, "/v4/", "/v4/x", 1)), &meta)
	if meta.Status != 404 {
		t.Fatalf("metadata of an unknown id: %+v", meta)
	}
}

// TestExecutionRolePull: the agent pulls a task's image from Berth's ECR
// as the task's execution role: without ECR permissions the task stops
// with CannotPullContainerError; with AmazonECSTaskExecutionRolePolicy it
// runs.
func TestExecutionRolePull(t *testing.T) {
	cli := requireCLIv2(t)
	image := testutil.BuildTestImage(t, "")
	b := shared(t)
	cfg, host, _ := ecrLogin(t, b, cli)
	repo := uniqueName("e2e-exec")
	ref := host + "/" + repo + ":v1"
	b.Run(t, cli, "ecr", "create-repository", "--repository-name", repo).MustSucceed(t)
	for _, args := range [][]string{{"tag", image, ref}, {"push", ref}, {"rmi", ref}} {
		if out, err := docker(t, cfg, "", args...); err != nil {
			t.Fatalf("docker %v: %v\n%s", args, err, out)
		}
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", ref).Run() })

	role := uniqueName("e2e-execrole")
	roleARN := createTaskRole(t, b, cli, role)
	family := uniqueName("e2e-exec")
	registerWithRoles(t, b, cli, family, ref, "", roleARN)

	denied := runTask(t, b, cli, defaultCluster, family)
	stopped := waitTask(t, b, cli, defaultCluster, denied.TaskArn, "STOPPED")
	if !strings.Contains(stopped.StoppedReason+pretty(stopped.Containers), "CannotPullContainerError") {
		t.Fatalf("task whose execution role may not pull: %s", pretty(stopped))
	}

	b.Run(t, cli, "iam", "attach-role-policy", "--role-name", role, "--policy-arn",
		"arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy").MustSucceed(t)
	allowed := runTask(t, b, cli, defaultCluster, family)
	running := waitTask(t, b, cli, defaultCluster, allowed.TaskArn, "RUNNING")
	b.Run(t, cli, "ecs", "stop-task", "--cluster", defaultCluster, "--task", running.TaskArn).MustSucceed(t)
}
