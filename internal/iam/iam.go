// Package iam implements the IAM and STS APIs: users and their access keys,
// roles, groups, inline and versioned managed policies, tags, role sessions
// and session tokens, and the authorizer that evaluates a caller's policies
// for every API call.
package iam

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// Service serves IAM and STS for one account.
// The Service is also the account's api.Authorizer (see Authorize) and
// the auth.KeyResolver for IAM users' keys and role sessions.
type Service struct {
	account   string
	store     *store.Store
	log       *slog.Logger
	now       func() time.Time
	resources []resourceSource
	cache     policyCache
	// serviceSession is how long ServiceSession credentials last.
	serviceSession time.Duration
	// sessions holds what role sessions add to their roles, by access key
	// id, until they expire.
	sessions *expiringCache[*sessionExtras]
	// reused holds the service sessions handed out again until half their
	// lifetime (see ServiceSession).
	reused *expiringCache[RoleSession]
}

// Option changes a setting of the IAM service from its default.
type Option func(*Service)

// WithServiceSessionDuration sets how long ServiceSession credentials
// last; DefaultServiceSessionDuration when zero.
func WithServiceSessionDuration(d time.Duration) Option {
	return func(s *Service) { s.serviceSession = d }
}

// New returns the IAM service of account.
func New(account string, st *store.Store, log *slog.Logger, opts ...Option) *Service {
	s := &Service{account: account, store: st, log: log, now: time.Now,
		sessions: newExpiringCache[*sessionExtras](maxCachedSessions), reused: newExpiringCache[RoleSession](maxReusedSessions)}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Store keys. Names are keyed in lower case: IAM names are unique
// regardless of case.
const (
	prefix         = "/berth/iam/"
	usersPrefix    = prefix + "users/"
	rolesPrefix    = prefix + "roles/"
	groupsPrefix   = prefix + "groups/"
	policiesPrefix = prefix + "policies/"
	keysPrefix     = prefix + "accesskeys/"
	sessionsPrefix = prefix + "sessions/"
)

const (
	iamNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"
	stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// Register serves IAM and STS on router, and the instance credentials
// endpoint, which agents sign for iam with an instance's credentials (an
// EC2 instance profile's stand-in).
func (s *Service) Register(router *api.Router) {
	router.AddQuery(s.QueryService())
	router.AddQuery(s.STSQueryService())
	router.Handle("GET /berth/instance-credentials", s.InstanceCredentialsHandler(router.AuthenticatorFor("iam")))
}

// QueryService returns the IAM API.
func (s *Service) QueryService() *api.QueryService {
	q := api.NewQueryService("iam", iamNamespace)
	q.FaultCode = "ServiceFailure" // the model's ServiceFailureException
	q.Handle("CreateUser", api.QueryOp(s.CreateUser))
	q.Handle("GetUser", api.QueryOp(s.GetUser))
	q.Handle("ListUsers", api.QueryOp(s.ListUsers))
	q.Handle("DeleteUser", api.QueryOp(s.DeleteUser))
	q.Handle("CreateAccessKey", api.QueryOp(s.CreateAccessKey))
	q.Handle("ListAccessKeys", api.QueryOp(s.ListAccessKeys))
	q.Handle("UpdateAccessKey", api.QueryOp(s.UpdateAccessKey))
	q.Handle("DeleteAccessKey", api.QueryOp(s.DeleteAccessKey))
	s.handleRoles(q)
	s.handleGroups(q)
	s.handleTags(q)
	s.handlePolicies(q)
	s.handleInstanceProfiles(q)
	return q
}

// authorize checks the caller may perform the IAM action on resource.
func (s *Service) authorize(ctx context.Context, action, resource string) error {
	return s.authorizeWith(ctx, action, resource, nil)
}

// authorizeWith is authorize with request condition keys (e.g.
// aws:RequestTag/*). Credentials from GetSessionToken are refused: AWS
// takes them for IAM calls only with MFA, which Berth does not have.
func (s *Service) authorizeWith(ctx context.Context, action, resource string, keys map[string][]string) error {
	p := api.PrincipalFrom(ctx)
	if isSessionToken(p) {
		return &api.Error{Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid", Status: http.StatusForbidden}
	}
	return s.authorizeKeys(ctx, p, "iam:"+action, resource, keys)
}

// authorizeOn checks the caller may perform the IAM action on a user, role
// or group: against its stored ARN, path included, and its tags as
// aws:ResourceTag/*; for a name that does not exist, against the ARN it
// would have at path "/".
func (s *Service) authorizeOn(ctx context.Context, action string, kind entityKind, name string, keys map[string][]string) error {
	arn := "arn:aws:iam::" + s.account + ":" + string(kind) + "/" + name
	if it, err := s.getEntity(ctx, kind, name); err == nil { // as arnOf, with the tags
		arn = it.Value.ARN
		keys = withTagKeys(keys, "aws:ResourceTag/", it.Value.Tags)
	}
	return s.authorizeWith(ctx, action, arn, keys)
}

// Errors as IAM answers them.
func noSuchEntity(format string, args ...any) error {
	return &api.Error{Code: "NoSuchEntity", Message: fmt.Sprintf(format, args...), Status: http.StatusNotFound}
}

func alreadyExists(format string, args ...any) error {
	return &api.Error{Code: "EntityAlreadyExists", Message: fmt.Sprintf(format, args...), Status: http.StatusConflict}
}

func deleteConflict(format string, args ...any) error {
	return &api.Error{Code: "DeleteConflict", Message: fmt.Sprintf(format, args...), Status: http.StatusConflict}
}

func limitExceeded(format string, args ...any) error {
	return &api.Error{Code: "LimitExceeded", Message: fmt.Sprintf(format, args...), Status: http.StatusConflict}
}

func malformedPolicy(format string, args ...any) error {
	return &api.Error{Code: "MalformedPolicyDocument", Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

func validationError(format string, args ...any) error {
	return api.Errorf(api.CodeValidation, format, args...)
}

// checkName validates an IAM name ([\w+=,.@-]+ of 1..max characters).
func checkName(field, name string, max int) error {
	if name == "" {
		return check.Null(lowerFirst(field))
	}
	if len(name) > max {
		return check.Fail(lowerFirst(field), name, fmt.Sprintf("Member must have length less than or equal to %d", max))
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_+=,.@-", c)) {
			return check.Fail(lowerFirst(field), name, "Member must satisfy regular expression pattern: [\\w+=,.@-]+")
		}
	}
	return nil
}

// checkPath validates an IAM path: "/" or "/a/b/".
func checkPath(path string) (string, error) {
	if path == "" {
		return "/", nil
	}
	if !strings.HasPrefix(path, "/") || !strings.HasSuffix(path, "/") || len(path) > 512 {
		return "", validationError("The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.")
	}
	return path, nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// newID returns an IAM unique id: a 4-letter prefix naming the kind
// (AIDA user, AROA role, ANPA policy, AKIA key, ASIA session) and random
// upper-case base32 characters.
func newID(kind string, n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return kind + string(b)
}

// newSecret returns a 40-character secret access key.
func newSecret() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, 40)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// encodeDocument URL-encodes a policy document as IAM returns documents;
// the SDKs and the CLI decode them again.
func encodeDocument(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}

// nowUTC is the current time to the second, as IAM reports dates.
func (s *Service) nowUTC() time.Time { return s.now().UTC().Truncate(time.Second) }

// Tag is an IAM tag.
type Tag struct {
	Key   string
	Value string
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }

// check words the errors of values that break the model's constraints.
var check = api.QueryValidation
