package policy

// Evaluate decides req the way AWS does for a request within one account:
//
//  1. An applicable Deny statement in any policy (identity, resource,
//     session, boundary) is an ExplicitDeny.
//  2. Otherwise an Allow in an identity policy allows, provided each
//     session policy and permissions boundary given also allows.
//  3. Otherwise an Allow in a resource policy whose Principal names the
//     caller allows: naming the exact user, session or service allows on
//     its own; naming the caller's role, or "*", is still capped by
//     session policies and boundaries; naming only the account delegates
//     to identity policies and allows nothing alone.
//  4. Otherwise the request is implicitly denied.
//
// The account root (Principal.ARN arn:aws:iam::<account>:root) is allowed
// by identity without policies but can still be denied explicitly.
// A Deny with NotPrincipal applies to any principal that has a
// permissions boundary, whatever it lists, as AWS documents.
// Principal and NotPrincipal are only looked at in resource policies; a
// statement with neither Resource nor NotResource (as in trust policies)
// covers every resource. An action touching several resources is
// evaluated once per resource.
func Evaluate(req Request, identity, resource []*Document, opts ...Option) Decision {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	c := newEvalContext(&req)
	c.bounded = len(o.boundary) > 0
	return evaluate(c, identity, resource, &o)
}

// found is the first allowing statement of one kind of policy.
type found struct {
	ok    bool
	index int
	doc   *Document
	stmt  *Statement
	grant grant
}

func (f found) decision(r Result, t PolicyType) Decision {
	return Decision{Result: r, Type: t, Policy: f.index, Document: f.doc, Statement: f.stmt}
}

// scan looks through docs for an applicable Deny (returned as deny) and
// for the allow granting the most (returned as allow).
func scan(c *evalContext, docs []*Document, resourcePolicy bool) (deny, allow found) {
	for i, d := range docs {
		if d == nil {
			continue
		}
		for _, s := range d.Statements {
			g := s.applies(c, resourcePolicy)
			if g == grantNone {
				continue
			}
			if s.Effect == EffectDeny {
				return found{true, i, d, s, g}, allow
			}
			if g > allow.grant {
				allow = found{true, i, d, s, g}
			}
		}
	}
	return deny, allow
}

func evaluate(c *evalContext, identity, resource []*Document, o *options) Decision {
	idDeny, idAllow := scan(c, identity, false)
	if idDeny.ok {
		return idDeny.decision(ExplicitDeny, IdentityPolicy)
	}
	resDeny, resAllow := scan(c, resource, true)
	if resDeny.ok {
		return resDeny.decision(ExplicitDeny, ResourcePolicy)
	}
	sessDeny, sessAllow := scan(c, o.session, false)
	if sessDeny.ok {
		return sessDeny.decision(ExplicitDeny, SessionPolicy)
	}
	bDeny, bAllow := scan(c, o.boundary, false)
	if bDeny.ok {
		return bDeny.decision(ExplicitDeny, PermissionsBoundary)
	}

	sessionOK := len(o.session) == 0 || sessAllow.ok
	boundaryOK := len(o.boundary) == 0 || bAllow.ok
	switch {
	case idAllow.ok && sessionOK && boundaryOK:
		return idAllow.decision(Allow, IdentityPolicy)
	case resAllow.grant == grantDirect, resAllow.grant == grantRole && sessionOK && boundaryOK:
		return resAllow.decision(Allow, ResourcePolicy)
	case c.principal.Account != "" && c.principal.ARN == rootARN(c.principal.Account):
		return Decision{Result: Allow, Type: IdentityPolicy, Policy: -1}
	}
	deny := Decision{Result: ImplicitDeny, Type: IdentityPolicy, Policy: -1}
	switch {
	case (idAllow.ok || resAllow.grant == grantRole) && !sessionOK:
		deny.Type = SessionPolicy
	case (idAllow.ok || resAllow.grant == grantRole) && !boundaryOK:
		deny.Type = PermissionsBoundary
	}
	return deny
}

// applies reports whether the statement covers the request and, for
// resource policies, how its Principal matched; grantNone means it does not
// apply. Outside resource policies an applicable statement grants directly.
func (s *Statement) applies(c *evalContext, resourcePolicy bool) grant {
	if s.matchesAction(c.action) == (s.NotAction != nil) {
		return grantNone
	}
	switch {
	case s.Resource != nil:
		if !matchResource(s.Resource, c.resource, s.variables, c) {
			return grantNone
		}
	case s.NotResource != nil:
		if matchResource(s.NotResource, c.resource, s.variables, c) {
			return grantNone
		}
	}
	g := grantDirect
	if resourcePolicy {
		switch {
		case s.Principal != nil:
			g = s.Principal.match(c.principal)
		case s.NotPrincipal != nil && (!s.NotPrincipal.excludes(c.principal) || c.bounded && s.Effect == EffectDeny):
			g = grantRole
		default:
			g = grantNone
		}
		if g == grantNone {
			return grantNone
		}
	}
	for i := range s.Condition {
		if !s.Condition[i].eval(c, s.variables) {
			return grantNone
		}
	}
	return g
}
