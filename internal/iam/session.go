package iam

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/auth"
	"github.com/berth-dev/berth/internal/iam/policy"
	"github.com/berth-dev/berth/internal/store"
)

// session is the stored record of an assumed-role session's temporary
// credentials. It lives under an etcd lease that outlasts its expiry, so
// expired sessions are still recognised (ExpiredToken) for a while and
// then vanish by themselves.
type session struct {
	ID          string    `json:"id"`
	Secret      string    `json:"secret"`
	Token       string    `json:"token"`
	RoleName    string    `json:"roleName"`
	RoleID      string    `json:"roleId"`
	RoleARN     string    `json:"roleArn"`
	SessionName string    `json:"sessionName"`
	Policy      string    `json:"policy,omitempty"`
	Expiration  time.Time `json:"expiration"`
}

// sessionGrace is how long an expired session stays known.
const sessionGrace = time.Hour

func (ss session) arn(account string) string {
	return "arn:aws:sts::" + account + ":assumed-role/" + ss.RoleName + "/" + ss.SessionName
}

func (ss session) key(account string) auth.Key {
	return auth.Key{
		SecretAccessKey: ss.Secret,
		SessionToken:    ss.Token,
		Expires:         ss.Expiration,
		Principal: api.Principal{Account: account, ARN: ss.arn(account), AccessKeyID: ss.ID,
			UserID: ss.RoleID + ":" + ss.SessionName, SessionPolicy: ss.Policy},
	}
}

type AssumeRoleInput struct {
	RoleArn         string
	RoleSessionName string
	DurationSeconds *int32
	Policy          string
}

// Credentials is the STS Credentials shape.
type Credentials struct {
	AccessKeyId     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

// AssumedRoleUser is the STS AssumedRoleUser shape.
type AssumedRoleUser struct {
	AssumedRoleId string
	Arn           string
}

type AssumeRoleOutput struct {
	Credentials      Credentials
	AssumedRoleUser  AssumedRoleUser
	PackedPolicySize *int32 `xml:",omitempty"`
}

// AssumeRole issues temporary credentials for a role whose trust policy
// lets the caller in. Role chaining (a session assuming a role) is capped
// at one hour, as in AWS.
func (s *Service) AssumeRole(ctx context.Context, in *AssumeRoleInput) (*AssumeRoleOutput, error) {
	p := api.PrincipalFrom(ctx)
	if err := checkSessionName(in.RoleSessionName); err != nil {
		return nil, err
	}
	if in.RoleArn == "" || len(in.RoleArn) < 20 {
		return nil, validationError("1 validation error detected: Value '%s' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20", in.RoleArn)
	}
	if in.Policy != "" {
		if err := checkIdentityPolicy(in.Policy); err != nil {
			return nil, err
		}
		if policy.CharCount(in.Policy) > maxSessionPolicySize {
			return nil, &api.Error{Code: "PackedPolicyTooLarge", Status: http.StatusBadRequest,
				Message: fmt.Sprintf("Packed policy consumes %d%% of allotted space, please use smaller policy.", policy.CharCount(in.Policy)*100/maxSessionPolicySize)}
		}
	}
	denied := func(why string) error {
		return &api.Error{Code: "AccessDenied", Status: http.StatusForbidden,
			Message: fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s%s", p.ARN, in.RoleArn, why)}
	}
	if p.Root {
		return nil, &api.Error{Code: "AccessDenied", Status: http.StatusForbidden, Message: "Roles may not be assumed by root accounts."}
	}
	head := "arn:aws:iam::" + s.account + ":role/"
	if !strings.HasPrefix(in.RoleArn, head) {
		return nil, denied("")
	}
	role, err := s.getEntity(ctx, kindRole, lastSegment(in.RoleArn))
	if err != nil || role.Value.ARN != in.RoleArn {
		return nil, denied("")
	}
	trust, err := parsePolicy(role.Value.TrustPolicy, policy.KindTrust)
	if err != nil {
		return nil, denied("")
	}
	caller, err := s.callerPolicies(ctx, p)
	if err != nil {
		return nil, err
	}
	req := caller.request("sts:AssumeRole", in.RoleArn, s.now())
	if d := policy.AssumeRole(req, trust, caller.identity, caller.options()...); !d.Allowed() {
		return nil, denied("")
	}
	duration := int32(3600)
	if in.DurationSeconds != nil {
		duration = *in.DurationSeconds
	}
	limit := role.Value.MaxSessionDuration
	if caller.roleARN != "" {
		limit = 3600 // role chaining
	}
	if duration < 900 {
		return nil, validationError("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900", duration)
	}
	if duration > limit {
		return nil, validationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	ss, err := s.issueSession(ctx, role.Value, in.RoleSessionName, in.Policy, time.Duration(duration)*time.Second)
	if err != nil {
		return nil, err
	}
	out := &AssumeRoleOutput{Credentials: ss.credentials(),
		AssumedRoleUser: AssumedRoleUser{AssumedRoleId: ss.RoleID + ":" + ss.SessionName, Arn: ss.arn(s.account)}}
	if in.Policy != "" {
		size := int32(policy.CharCount(in.Policy) * 100 / maxSessionPolicySize)
		out.PackedPolicySize = &size
	}
	return out, nil
}

// issueSession stores a new session of role and returns it. Its record
// lives under a lease that outlasts the expiry by sessionGrace.
func (s *Service) issueSession(ctx context.Context, role entity, name, sessionPolicy string, d time.Duration) (session, error) {
	ss := session{ID: newID("ASIA", 16), Secret: newSecret(), Token: newToken(), RoleName: role.Name, RoleID: role.ID,
		RoleARN: role.ARN, SessionName: name, Policy: sessionPolicy, Expiration: s.nowUTC().Add(d)}
	lease, err := s.store.Client().Grant(ctx, int64((d+sessionGrace)/time.Second))
	if err != nil {
		return ss, fmt.Errorf("lease for session: %w", err)
	}
	key := sessionsPrefix + ss.ID
	err = s.store.Commit(ctx, store.NewTxn().IfAbsent(key).Put(key, ss, clientv3.WithLease(lease.ID)))
	return ss, err
}

func (ss session) credentials() Credentials {
	return Credentials{AccessKeyId: ss.ID, SecretAccessKey: ss.Secret, SessionToken: ss.Token, Expiration: ss.Expiration}
}

func checkSessionName(name string) error {
	if len(name) < 2 || len(name) > 64 {
		return validationError("1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_+=,.@-", c)) {
			return validationError("1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", name)
		}
	}
	return nil
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
