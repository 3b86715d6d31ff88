package ecs

import (
	"testing"
)

// TestTaskCredentialsReused: a container reading its credentials in a
// loop gets the same session each time and makes no store write; the
// task role and the execution role each have their own; once the task has
// stopped, its credentials are refused although IAM would still hand the
// session out again.
func TestTaskCredentialsReused(t *testing.T) {
	e := newIdentityEnv(t)
	c := e.task.Credentials
	first, code := e.fetchCredentials(e.a, e.task.Task.TaskArn, c.TaskRoleID)
	if code != "" {
		t.Fatal(code)
	}
	exec, code := e.fetchCredentials(e.a, e.task.Task.TaskArn, c.ExecutionRoleID)
	if code != "" || exec.AccessKeyId == first.AccessKeyId || exec.RoleArn == first.RoleArn {
		t.Fatalf("execution role credentials: %s %+v (task role %+v)", code, exec, first)
	}
	rev := e.revision()
	for i := range 50 {
		for id, want := range map[string]TaskCredentials{c.TaskRoleID: first, c.ExecutionRoleID: exec} {
			got, code := e.fetchCredentials(e.a, e.task.Task.TaskArn, id)
			if code != "" || got != want {
				t.Fatalf("read %d: %s %+v, want %+v", i, code, got, want)
			}
		}
	}
	if got := e.revision(); got != rev {
		t.Fatalf("100 credentials reads wrote to the store %d times", got-rev)
	}

	if _, err := e.svc.SubmitTaskStateChange(e.a.ctx, &SubmitTaskStateChangeInput{Cluster: e.cluster, Task: e.task.Task.TaskArn, Status: "STOPPED"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{c.TaskRoleID, c.ExecutionRoleID} {
		if _, code := e.fetchCredentials(e.a, e.task.Task.TaskArn, id); code != "CredentialsNotFound" {
			t.Fatalf("credentials of a stopped task: %q, want CredentialsNotFound", code)
		}
	}
}

// BenchmarkTaskCredentials times the server's side of a container reading
// AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: the agent's request, authorized
// as the instance's role session, answered with the task role's session.
func BenchmarkTaskCredentials(b *testing.B) {
	e := newIdentityEnv(b)
	id := e.task.Credentials.TaskRoleID
	rev := e.revision()
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.svc.taskCredentials(e.a.ctx, e.task.Task.TaskArn, id); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(e.revision()-rev)/float64(b.N), "writes/op")
}
