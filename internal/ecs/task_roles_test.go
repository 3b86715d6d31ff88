package ecs

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/iam"
	"github.com/berth-dev/berth/internal/store"
)

// TestTaskRoles: starting a task with roles needs iam:PassRole and roles
// that trust ecs-tasks.amazonaws.com; the task gets a credentials id per
// role, its payload names them without secrets, and only an agent allowed
// on the task's instance exchanges a valid id for the role's credentials,
// until the task stops.
func TestTaskRoles(t *testing.T) {
	e := newEnv(t)
	idm := iam.New(testAccount, e.st, quietLogger())
	e.svc.authz = idm
	e.svc.roles = idm
	trust := func(service string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + service + `"},"Action":"sts:AssumeRole"}]}`
	}
	for name, service := range map[string]string{"app": iam.PrincipalECSTasks, "exec": iam.PrincipalECSTasks, "ec2only": iam.PrincipalEC2} {
		if _, err := idm.CreateRole(e.ctx, &iam.CreateRoleInput{RoleName: name, AssumeRolePolicyDocument: trust(service)}); err != nil {
			t.Fatal(err)
		}
	}
	roleARN := func(name string) string { return "arn:aws:iam::" + testAccount + ":role/" + name }
	// user returns a principal of a new user with an inline policy.
	user := func(name, doc string) context.Context {
		if _, err := idm.CreateUser(e.ctx, &iam.CreateUserInput{UserName: name}); err != nil {
			t.Fatal(err)
		}
		if doc != "" {
			put := url.Values{"UserName": {name}, "PolicyName": {"p"}, "PolicyDocument": {doc}}
			if _, err := idm.QueryService().Call(e.ctx, "PutUserPolicy", put); err != nil {
				t.Fatal(err)
			}
		}
		k, err := idm.CreateAccessKey(e.ctx, &iam.UserNameInput{UserName: name})
		if err != nil {
			t.Fatal(err)
		}
		key, _, err := idm.ResolveKey(e.ctx, k.AccessKey.AccessKeyId)
		if err != nil {
			t.Fatal(err)
		}
		return api.WithPrincipal(context.Background(), key.Principal)
	}
	ecsOnly := user("dev", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"}]}`)
	passer := user("deployer", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"},
		{"Effect":"Allow","Action":"iam:PassRole","Resource":["`+roleARN("app")+`","`+roleARN("exec")+`"]}]}`)
	nobody := user("nobody", "")

	cluster := e.cluster("roles")
	e.instance(cluster, 2048, 4096, instanceOpts{attrs: []Attribute{{Name: capTaskIAMRole}}})
	td := e.taskDef("withrole", container("app", 128, 128))
	reg, err := e.svc.RegisterTaskDefinition(e.ctx, &RegisterTaskDefinitionInput{Family: "withrole",
		TaskRoleArn: roleARN("app"), ExecutionRoleArn: roleARN("exec"), ContainerDefinitions: td.ContainerDefinitions})
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.TaskDefinition.TaskDefinitionArn
	for _, tt := range []struct {
		name string
		ctx  context.Context
		in   RunTaskInput
		code string
		msg  string
	}{
		{"caller may not pass the role", ecsOnly, RunTaskInput{Cluster: cluster, TaskDefinition: ref},
			"AccessDeniedException", "iam:PassRole on resource: " + roleARN("app")},
		{"role does not trust ECS tasks", e.ctx, RunTaskInput{Cluster: cluster, TaskDefinition: ref, Overrides: &TaskOverride{TaskRoleArn: roleARN("ec2only")}},
			"ClientException", "ECS was unable to assume the role '" + roleARN("ec2only") + "'"},
		{"role does not exist", e.ctx, RunTaskInput{Cluster: cluster, TaskDefinition: ref, Overrides: &TaskOverride{ExecutionRoleArn: roleARN("gone")}},
			"ClientException", "ECS was unable to assume the role"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := e.with(t)
			e.rejected(tt.code, func() error {
				_, err := e.svc.RunTask(tt.ctx, &tt.in)
				if err != nil && !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("message %q does not contain %q", err, tt.msg)
				}
				return err
			})
		})
	}
	_, err = e.svc.CreateService(ecsOnly, &CreateServiceInput{Cluster: cluster, ServiceName: "s", TaskDefinition: ref, DesiredCount: ptr(1)})
	wantCode(t, err, "AccessDeniedException")

	out, err := e.svc.RunTask(passer, &RunTaskInput{Cluster: cluster, TaskDefinition: ref, Count: ptr(2)})
	if err != nil || len(out.Tasks) != 2 {
		t.Fatalf("RunTask by a user allowed to pass the roles: %v %+v", err, out)
	}
	recs := map[string]taskRecord{}
	for _, task := range out.Tasks {
		_, id, _ := e.svc.parseTaskARN(task.TaskArn)
		it, err := store.Get[taskRecord](e.ctx, e.st, e.svc.keys.task(cluster, id))
		if err != nil {
			t.Fatal(err)
		}
		c := it.Value.Credentials
		if c == nil || c.TaskRole != roleARN("app") || c.ExecutionRole != roleARN("exec") || len(c.TaskRoleID) != 36 || c.TaskRoleID == c.ExecutionRoleID {
			t.Fatalf("task credentials = %+v", c)
		}
		recs[task.TaskArn] = it.Value
		def := reg.TaskDefinition
		payload := e.svc.acsTask(&it.Value, def)
		if payload.RoleCredentials == nil || payload.RoleCredentials.CredentialsId != c.TaskRoleID || payload.RoleCredentials.SecretAccessKey != "" ||
			payload.ExecutionRoleCredentials == nil || payload.ExecutionRoleCredentials.CredentialsId != c.ExecutionRoleID {
			t.Fatalf("payload credentials = %+v / %+v", payload.RoleCredentials, payload.ExecutionRoleCredentials)
		}
	}
	first, second := recs[out.Tasks[0].TaskArn], recs[out.Tasks[1].TaskArn]

	creds, err := e.svc.taskCredentials(e.ctx, first.Task.TaskArn, first.Credentials.TaskRoleID)
	if err != nil {
		t.Fatal(err)
	}
	key, ok, err := idm.ResolveKey(e.ctx, creds.AccessKeyId)
	if err != nil || !ok || key.SecretAccessKey != creds.SecretAccessKey || key.SessionToken != creds.Token {
		t.Fatalf("issued credentials do not authenticate: %v %v", ok, err)
	}
	if want := "arn:aws:sts::" + testAccount + ":assumed-role/app/" + first.ID; key.Principal.ARN != want || creds.RoleArn != roleARN("app") {
		t.Fatalf("task role session = %s (role %s), want %s", key.Principal.ARN, creds.RoleArn, want)
	}
	execCreds, err := e.svc.taskCredentials(e.ctx, first.Task.TaskArn, first.Credentials.ExecutionRoleID)
	if err != nil || execCreds.RoleArn != roleARN("exec") {
		t.Fatalf("execution role credentials: %v %+v", err, execCreds)
	}
	for _, tt := range []struct {
		name      string
		ctx       context.Context
		arn, id   string
		wantCode  string
		wantInMsg string
	}{
		{"another task's id", e.ctx, first.Task.TaskArn, second.Credentials.TaskRoleID, "CredentialsNotFound", ""},
		{"made-up id", e.ctx, first.Task.TaskArn, "00000000-0000-4000-8000-000000000000", "CredentialsNotFound", ""},
		{"empty id", e.ctx, first.Task.TaskArn, "", "CredentialsNotFound", ""},
		{"unknown task", e.ctx, arn("task/roles/0123456789abcdef"), first.Credentials.TaskRoleID, "CredentialsNotFound", ""},
		{"not a task ARN", e.ctx, "arn:aws:ecs:us-east-1:" + testAccount + ":cluster/roles", first.Credentials.TaskRoleID, "CredentialsNotFound", ""},
		{"caller not allowed ecs:Poll", nobody, first.Task.TaskArn, first.Credentials.TaskRoleID, "AccessDeniedException", "ecs:Poll"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.taskCredentials(tt.ctx, tt.arn, tt.id)
			wantCode(t, err, tt.wantCode)
			if err != nil && !strings.Contains(err.Error(), tt.wantInMsg) {
				t.Fatalf("message %q does not contain %q", err, tt.wantInMsg)
			}
		})
	}

	if _, err := e.svc.SubmitTaskStateChange(e.ctx, &SubmitTaskStateChangeInput{Cluster: cluster, Task: first.Task.TaskArn, Status: "STOPPED"}); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.taskCredentials(e.ctx, first.Task.TaskArn, first.Credentials.TaskRoleID)
	wantCode(t, err, "CredentialsNotFound")
}
