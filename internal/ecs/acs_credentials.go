package ecs

import (
	"context"
	"net/url"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/acs"
	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/iam"
)

// sessionCredentials delivers task role credentials over an ACS
// connection, as ACS does for the ECS agent, which keeps them and serves
// its containers itself: in the payload of a new task (and of every task
// when the agent connects with sendCredentials=true), then in an
// IAMRoleCredentialsMessage once they are half-way to expiry.
//
// Berth's own agent connects with taskCredentials=endpoint instead: the
// task endpoint of its host fetches credentials from the server when a
// container asks (see TaskCredentialsHandler), so no keys travel on its
// connection.
type sessionCredentials struct {
	sendAll bool // sendCredentials=true: keys for every task on connecting
	mu      sync.Mutex
	issued  map[string]*issuedCredentials // by credentials id
}

// issuedCredentials is a role of a task this connection delivers keys for.
type issuedCredentials struct {
	id, taskArn, taskID, role, roleType string
	// issuedAt and expires describe the keys last sent; zero when none were.
	issuedAt, expires time.Time
}

func newSessionCredentials(q url.Values) *sessionCredentials {
	if q.Get("taskCredentials") == "endpoint" {
		return nil
	}
	return &sessionCredentials{sendAll: q.Get("sendCredentials") == "true", issued: map[string]*issuedCredentials{}}
}

// payload puts the keys of a task's roles into its payload task when the
// connection has not delivered them yet. On connecting without
// sendCredentials the task's roles are only noted, and the refresh loop
// delivers them.
func (c *sessionCredentials) payload(ctx context.Context, s *Service, rec *taskRecord, t *acs.Task, initial bool) {
	tc := rec.Credentials
	if tc == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range []struct {
		id, role, roleType string
		dst                **acs.IAMRoleCredentials
	}{
		{tc.TaskRoleID, tc.TaskRole, roleTypeTask, &t.RoleCredentials},
		{tc.ExecutionRoleID, tc.ExecutionRole, roleTypeExecution, &t.ExecutionRoleCredentials},
	} {
		if r.id == "" {
			continue
		}
		if rec.Task.DesiredStatus == "STOPPED" {
			delete(c.issued, r.id)
			continue
		}
		is, known := c.issued[r.id]
		if known {
			continue
		}
		is = &issuedCredentials{id: r.id, taskArn: rec.Task.TaskArn, taskID: rec.ID, role: r.role, roleType: r.roleType}
		c.issued[r.id] = is
		if initial && !c.sendAll {
			continue
		}
		if keys, ok := s.issueACSCredentials(ctx, is); ok {
			*r.dst = &keys
		}
	}
}

// due returns the roles whose keys must be (re)sent now.
func (c *sessionCredentials) due(now time.Time) []*issuedCredentials {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*issuedCredentials
	for _, is := range c.issued {
		if is.expires.IsZero() || now.After(is.issuedAt.Add(is.expires.Sub(is.issuedAt)/2)) {
			out = append(out, is)
		}
	}
	return out
}

// issueACSCredentials issues keys of a task's role and notes when they
// expire; false (logged) when the role cannot be assumed any more.
func (s *Service) issueACSCredentials(ctx context.Context, is *issuedCredentials) (acs.IAMRoleCredentials, bool) {
	if s.roles == nil {
		return acs.IAMRoleCredentials{}, false
	}
	now := time.Now()
	rs, err := s.roles.ServiceSession(ctx, iam.PrincipalECSTasks, is.role, is.taskID)
	if err != nil {
		s.log.Warn("cannot issue task role credentials; trying again in 30s", "task", is.taskArn, "role", is.role, "err", err)
		is.issuedAt, is.expires = now, now.Add(time.Minute)
		return acs.IAMRoleCredentials{}, false
	}
	// A session handed out again keeps its issue time, so the next
	// refresh falls due exactly when IAM stops reusing it.
	is.issuedAt, is.expires = rs.Issued, rs.Expiration
	return acs.IAMRoleCredentials{CredentialsId: is.id, RoleArn: is.role, AccessKeyId: rs.AccessKeyId,
		SecretAccessKey: rs.SecretAccessKey, SessionToken: rs.SessionToken, Expiration: rs.Expiration.UTC().Format(time.RFC3339)}, true
}

// refreshCredentials sends IAMRoleCredentialsMessages for the roles whose
// keys are due, until the connection ends.
func (a *acsSession) refreshCredentials(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, is := range a.creds.due(now) {
				a.creds.mu.Lock()
				keys, ok := a.svc.issueACSCredentials(ctx, is)
				a.creds.mu.Unlock()
				if !ok {
					continue
				}
				msg := acs.IAMRoleCredentialsMessage{MessageId: api.NewRequestID(), TaskArn: is.taskArn, RoleType: is.roleType, RoleCredentials: keys}
				if err := a.send(acs.TypeIAMRoleCredentials, msg); err != nil {
					a.conn.Close()
					return
				}
			}
		}
	}
}
