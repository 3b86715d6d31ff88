package agent

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/internal/acs"
)

// A task's last payload is kept in the data dir while the task is on this
// instance, as the ECS agent keeps its task state, so that a restarted
// agent knows the definitions of the tasks it adopts even when the server
// has released them meanwhile (their containers stopped while the agent
// was down, and no payload will come). Credentials are not kept: only
// their ids, which the agent exchanges at the credentials endpoint.

func (a *Agent) taskDefPath(arn string) string {
	return filepath.Join(a.cfg.DataDir, "tasks", lastSegment(arn)+".json")
}

// saveTaskDef records a task's payload without its credentials' secrets.
func (a *Agent) saveTaskDef(def *acs.Task) error {
	kept := *def
	kept.RoleCredentials = credentialsRef(def.RoleCredentials)
	kept.ExecutionRoleCredentials = credentialsRef(def.ExecutionRoleCredentials)
	b, err := json.Marshal(&kept)
	if err != nil {
		return err
	}
	path := a.taskDefPath(def.Arn)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// loadTaskDef returns a task's recorded payload, or nil.
func (a *Agent) loadTaskDef(arn string) *acs.Task {
	b, err := os.ReadFile(a.taskDefPath(arn))
	if err != nil {
		return nil
	}
	var def acs.Task
	if json.Unmarshal(b, &def) != nil || def.Arn != arn {
		return nil
	}
	return &def
}

// credentialsRef is rc without its keys.
func credentialsRef(rc *acs.IAMRoleCredentials) *acs.IAMRoleCredentials {
	if rc == nil {
		return nil
	}
	return &acs.IAMRoleCredentials{CredentialsId: rc.CredentialsId, RoleArn: rc.RoleArn}
}
