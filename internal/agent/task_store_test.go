package agent

import (
	"os"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/acs"
)

// TestTaskDefKeepsNoSecrets: a recorded payload comes back with its
// credentials' ids and roles, and the file holds none of their keys.
func TestTaskDefKeepsNoSecrets(t *testing.T) {
	a := &Agent{cfg: Config{DataDir: t.TempDir()}}
	arn := "arn:aws:ecs:us-east-1:123456789012:task/c/0123456789abcdef0123456789abcdef"
	def := &acs.Task{Arn: arn, Family: "web", Version: "3", Containers: []acs.Container{{Name: "app", Essential: true}},
		RoleCredentials: &acs.IAMRoleCredentials{CredentialsId: "cred-1", RoleArn: "arn:aws:iam::123456789012:role/app",
			AccessKeyId: "ASIATASKROLE", SecretAccessKey: "task-secret", SessionToken: "task-token"},
		ExecutionRoleCredentials: &acs.IAMRoleCredentials{CredentialsId: "cred-2", RoleArn: "arn:aws:iam::123456789012:role/exec",
			AccessKeyId: "ASIAEXECROLE", SecretAccessKey: "exec-secret", SessionToken: "exec-token"}}
	if err := a.saveTaskDef(def); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(a.taskDefPath(arn))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"ASIATASKROLE", "task-secret", "task-token", "ASIAEXECROLE", "exec-secret", "exec-token"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the recorded payload holds %q", secret)
		}
	}
	if def.RoleCredentials.SecretAccessKey != "task-secret" {
		t.Error("recording the payload changed the caller's copy")
	}
	got := a.loadTaskDef(arn)
	if got == nil || got.Family != "web" || len(got.Containers) != 1 || got.Containers[0].Name != "app" ||
		got.RoleCredentials.CredentialsId != "cred-1" || got.ExecutionRoleCredentials.RoleArn != "arn:aws:iam::123456789012:role/exec" {
		t.Fatalf("loaded %+v", got)
	}
	if a.loadTaskDef(strings.Replace(arn, "0123", "9999", 1)) != nil {
		t.Error("another task's definition was found")
	}
}
