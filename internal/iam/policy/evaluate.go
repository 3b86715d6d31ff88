package policy

// Result is the outcome of an evaluation.
type Result uint8

const (
	// ImplicitDeny: nothing allowed the request (the default).
	ImplicitDeny Result = iota
	// Allow: an applicable statement allowed the request and none denied it.
	Allow
	// ExplicitDeny: an applicable Deny statement matched.
	ExplicitDeny
)

// String returns "ImplicitDeny", "Allow" or "ExplicitDeny".
func (r Result) String() string {
	switch r {
	case Allow:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "ImplicitDeny"
}

// PolicyType says which kind of policy a decision refers to.
type PolicyType uint8

// Kinds of policy, named as AWS names them in access-denied messages.
const (
	IdentityPolicy PolicyType = iota
	ResourcePolicy
	SessionPolicy
	PermissionsBoundary
	TrustPolicy
)

// String returns the name AWS uses in messages, e.g. "identity-based policy".
func (t PolicyType) String() string {
	switch t {
	case ResourcePolicy:
		return "resource-based policy"
	case SessionPolicy:
		return "session policy"
	case PermissionsBoundary:
		return "permissions boundary"
	case TrustPolicy:
		return "trust policy"
	}
	return "identity-based policy"
}

// Decision is the outcome of Evaluate and what led to it.
type Decision struct {
	Result Result
	// Type is the kind of policy holding Statement for Allow and
	// ExplicitDeny; for ImplicitDeny, the kind of policy that failed to
	// allow the request.
	Type PolicyType
	// Policy is the index of Document in the list it was passed in, -1 if none.
	Policy int
	// Document and Statement are the deciding document and statement; nil
	// for an implicit deny and for the account root's implicit allow.
	Document  *Document
	Statement *Statement
}

// Allowed reports whether the request may proceed.
func (d Decision) Allowed() bool { return d.Result == Allow }

// Reason words the decision as AWS ends an access-denied message, e.g.
// "because no identity-based policy allows the ecs:RunTask action" or
// "with an explicit deny in a resource-based policy". It is empty for Allow.
func (d Decision) Reason(action string) string {
	switch d.Result {
	case ExplicitDeny:
		article := "a "
		if d.Type == IdentityPolicy {
			article = "an "
		}
		return "with an explicit deny in " + article + d.Type.String()
	case ImplicitDeny:
		return "because no " + d.Type.String() + " allows the " + action + " action"
	}
	return ""
}

// Message is the AccessDenied message AWS would return for req, e.g.
// "User: arn:aws:iam::123456789012:user/bob is not authorized to perform:
// ecs:RunTask on resource: arn:... because no identity-based policy allows
// the ecs:RunTask action". It is empty for Allow.
func (d Decision) Message(req Request) string {
	if d.Allowed() {
		return ""
	}
	who := req.Principal.ARN
	if who == "" {
		who = req.Principal.Service
	}
	return "User: " + who + " is not authorized to perform: " + req.Action +
		" on resource: " + req.Resource + " " + d.Reason(req.Action)
}

// Option adds policies to an evaluation.
type Option func(*options)

type options struct {
	session  []*Document
	boundary []*Document
}

// WithSessionPolicies adds the session policies passed to AssumeRole (or
// GetFederationToken). When present, what identity policies allow must
// also be allowed by a session policy.
func WithSessionPolicies(docs ...*Document) Option {
	return func(o *options) { o.session = append(o.session, docs...) }
}

// WithPermissionsBoundary adds the principal's permissions boundary, which
// caps identity policies the same way session policies do.
func WithPermissionsBoundary(docs ...*Document) Option {
	return func(o *options) { o.boundary = append(o.boundary, docs...) }
}
