package iam

import (
	"context"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/iam/policy"
)

var _ api.Authorizer = (*Service)(nil)

// ResourcePolicyFunc returns the resource policy of the resource with the
// given ARN ("" when it has none).
type ResourcePolicyFunc func(ctx context.Context, arn string) (string, error)

// UseResourcePolicies makes resources whose ARN starts with prefix
// (e.g. "arn:aws:ecr:") contribute their resource policy to authorization.
// Call it before serving.
func (s *Service) UseResourcePolicies(prefix string, fn ResourcePolicyFunc) {
	s.resources = append(s.resources, resourceSource{prefix, fn})
}

type resourceSource struct {
	prefix string
	fn     ResourcePolicyFunc
}

// Authorize implements api.Authorizer. The root user may do everything.
// Users and role sessions may do what their inline and attached policies
// (a user's groups' included), or a resource policy naming them, allow,
// unless any policy explicitly denies it; a session's session policies cap
// what its role allows.
func (s *Service) Authorize(ctx context.Context, p api.Principal, action, resource string) error {
	return s.authorizeKeys(ctx, p, action, resource, nil)
}

// authorizeKeys is Authorize with condition keys of the request itself,
// such as aws:RequestTag/* or aws:ResourceTag/*.
func (s *Service) authorizeKeys(ctx context.Context, p api.Principal, action, resource string, keys map[string][]string) error {
	if p.Root {
		return nil
	}
	c, err := s.callerPolicies(ctx, p)
	if err != nil {
		return err
	}
	req := c.request(action, resource, s.now())
	for k, v := range keys {
		req.Context[k] = v
	}
	resPolicies, err := s.resourcePolicies(ctx, resource)
	if err != nil {
		return err
	}
	d := policy.Evaluate(req, c.identity, resPolicies, c.options()...)
	if !d.Allowed() {
		return api.Errorf(api.CodeAccessDenied, "%s", d.Message(req))
	}
	return nil
}

func (s *Service) resourcePolicies(ctx context.Context, resource string) ([]*policy.Document, error) {
	for _, src := range s.resources {
		if !strings.HasPrefix(resource, src.prefix) {
			continue
		}
		text, err := src.fn(ctx, resource)
		if err != nil || text == "" {
			return nil, err
		}
		d, err := policy.Parse(text)
		if err != nil {
			// A stored policy was valid when set; if it no longer parses it
			// grants nothing rather than failing every call.
			s.log.Warn("resource policy does not parse", "resource", resource, "err", err)
			return nil, nil
		}
		return []*policy.Document{d}, nil
	}
	return nil, nil
}

// caller is a principal with its parsed policies.
type caller struct {
	p        api.Principal
	roleARN  string // the role behind an assumed-role session
	username string // a user's name
	identity []*policy.Document
	session  []*policy.Document
	tags     []Tag // principal tags: the user's, or the role's overridden by the session's
	// A role session's transitive tags and source identity, which a
	// session it assumes inherits.
	transitive     []Tag
	sourceIdentity string
}

func (c *caller) request(action, resource string, now time.Time) policy.Request {
	keys := map[string][]string{"aws:userid": {c.p.UserID}, "aws:PrincipalAccount": {c.p.Account}, "aws:PrincipalArn": {c.p.ARN}}
	if c.roleARN != "" {
		keys["aws:PrincipalArn"] = []string{c.roleARN}
	}
	if c.username != "" {
		keys["aws:username"] = []string{c.username}
	}
	for _, t := range c.tags {
		keys["aws:PrincipalTag/"+t.Key] = []string{t.Value}
	}
	return policy.Request{Action: action, Resource: resource, Time: now, Context: keys,
		Principal: policy.Principal{ARN: c.p.ARN, Account: c.p.Account, RoleARN: c.roleARN}}
}

func (c *caller) options() []policy.Option {
	if len(c.session) == 0 {
		return nil
	}
	return []policy.Option{policy.WithSessionPolicies(c.session...)}
}

// callerPolicies loads (or reuses) the identity policies of a user or of
// the role behind a session. A user or role that no longer exists has none.
func (s *Service) callerPolicies(ctx context.Context, p api.Principal) (*caller, error) {
	c := &caller{p: p}
	kind, name := kindUser, ""
	switch {
	case strings.Contains(p.ARN, ":user/"):
		name = lastSegment(p.ARN)
		c.username = name
	case strings.Contains(p.ARN, ":assumed-role/"):
		parts := strings.Split(p.ARN[strings.Index(p.ARN, ":assumed-role/")+len(":assumed-role/"):], "/")
		kind, name = kindRole, parts[0]
		if p.SessionPolicy != "" {
			d, err := policy.Parse(p.SessionPolicy)
			if err != nil {
				return nil, err
			}
			c.session = append(c.session, d)
		}
	default:
		return c, nil
	}
	pp, err := s.principalPolicies(ctx, kind, name)
	if err != nil || pp == nil {
		return c, err // a deleted user or role is allowed nothing
	}
	c.identity, c.tags = pp.docs, pp.tags
	if kind == kindRole {
		c.roleARN = pp.arn
		x, err := s.sessionExtras(ctx, p.AccessKeyID)
		if err != nil {
			return nil, err
		}
		if x != nil {
			c.session = append(c.session, x.docs...)
			c.tags = overrideTags(c.tags, x.tags)
			c.transitive, c.sourceIdentity = x.transitive, x.sourceIdentity
		}
	}
	return c, nil
}
