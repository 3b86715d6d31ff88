package iam

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/auth"
	"github.com/berth-dev/berth/internal/store"
)

// session is the stored record of temporary credentials: an assumed-role
// session's, or (without a role) GetSessionToken's, which act as the user
// or root user who asked for them. It lives under an etcd lease that
// outlasts its expiry, so expired sessions are still recognised
// (ExpiredToken) for a while and then vanish by themselves. A session
// never changes once issued.
type session struct {
	ID          string `json:"id"`
	Secret      string `json:"secret"`
	Token       string `json:"token"`
	RoleName    string `json:"roleName,omitempty"`
	RoleID      string `json:"roleId,omitempty"`
	RoleARN     string `json:"roleArn,omitempty"`
	SessionName string `json:"sessionName,omitempty"`
	Policy      string `json:"policy,omitempty"`
	// PolicyDocs are the documents of the managed session policies
	// (PolicyArns) as they were when the session was issued.
	PolicyDocs        []string `json:"policyDocs,omitempty"`
	Tags              []Tag    `json:"tags,omitempty"`
	TransitiveTagKeys []string `json:"transitiveTagKeys,omitempty"`
	SourceIdentity    string   `json:"sourceIdentity,omitempty"`
	// Service is the service principal a ServiceSession was issued to
	// (ec2.amazonaws.com for an instance profile's, whose session name is
	// the instance id); empty for AssumeRole's.
	Service string `json:"service,omitempty"`
	// GetSessionToken sessions only.
	UserARN    string    `json:"userArn,omitempty"`
	UserID     string    `json:"userId,omitempty"`
	Root       bool      `json:"root,omitempty"`
	Expiration time.Time `json:"expiration"`
}

// sessionGrace is how long an expired session stays known.
const sessionGrace = time.Hour

func (ss session) arn(account string) string {
	return "arn:aws:sts::" + account + ":assumed-role/" + ss.RoleName + "/" + ss.SessionName
}

func (ss session) key(account string) auth.Key {
	if ss.RoleARN == "" {
		return auth.Key{SecretAccessKey: ss.Secret, SessionToken: ss.Token, Expires: ss.Expiration,
			Principal: api.Principal{Account: account, ARN: ss.UserARN, AccessKeyID: ss.ID, UserID: ss.UserID, Root: ss.Root}}
	}
	return auth.Key{
		SecretAccessKey: ss.Secret,
		SessionToken:    ss.Token,
		Expires:         ss.Expiration,
		Principal: api.Principal{Account: account, ARN: ss.arn(account), AccessKeyID: ss.ID,
			UserID: ss.RoleID + ":" + ss.SessionName, SessionPolicy: ss.Policy, SourceInstance: ss.sourceInstance()},
	}
}

// sourceInstance is the instance an instance profile's session was issued
// for. Only ServiceSession sets Service, so no AssumeRole caller can make
// a session that claims an instance by naming itself after it.
func (ss session) sourceInstance() string {
	if ss.Service != PrincipalEC2 {
		return ""
	}
	return ss.SessionName
}

// roleSession returns new keys of a session of role named name, lasting
// d from now; putSession stores it.
func (s *Service) roleSession(role entity, name string, d time.Duration) session {
	return session{ID: newID("ASIA", 16), Secret: newSecret(), Token: newToken(), RoleName: role.Name, RoleID: role.ID,
		RoleARN: role.ARN, SessionName: name, Expiration: s.nowUTC().Add(d)}
}

func (ss session) credentials() Credentials {
	return Credentials{AccessKeyId: ss.ID, SecretAccessKey: ss.Secret, SessionToken: ss.Token, Expiration: ss.Expiration}
}

// putSession stores a new session lasting d under a lease that outlives
// it by sessionGrace.
func (s *Service) putSession(ctx context.Context, ss session, d time.Duration) error {
	lease, err := s.store.Grant(ctx, d+sessionGrace)
	if err != nil {
		return fmt.Errorf("lease for session: %w", err)
	}
	key := sessionsPrefix + ss.ID
	return s.store.Commit(ctx, store.NewTxn().IfAbsent(key).PutLeased(key, ss, lease))
}

// newToken returns a session token: opaque, long and random like AWS's.
func newToken() string {
	b := make([]byte, 96)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// isSessionToken tells credentials from GetSessionToken: temporary keys
// that act as the user (or root) who asked for them.
func isSessionToken(p api.Principal) bool {
	return strings.HasPrefix(p.AccessKeyID, "ASIA") && !strings.Contains(p.ARN, ":assumed-role/")
}
