package policy

// ActionAssumeRole is the action a trust policy must allow.
const ActionAssumeRole = "sts:AssumeRole"

// Trusts reports whether the role trust document lets principal assume the
// role (the action defaults to sts:AssumeRole when req.Action is empty),
// looking only at the trust document. delegated is true when the trust
// names just the principal's account: the principal's identity policies
// must then allow the action too, which AssumeRole checks.
func Trusts(trust *Document, req Request) (ok, delegated bool) {
	if req.Action == "" {
		req.Action = ActionAssumeRole
	}
	c := newEvalContext(&req)
	deny, allow := scan(c, []*Document{trust}, true)
	if deny.ok || !allow.ok {
		return false, false
	}
	return true, allow.grant == grantAccount
}

// AssumeRole decides whether req.Principal may assume the role whose ARN
// is req.Resource under its trust document. The trust document must allow
// the principal: naming the user, session, role or service lets it assume
// the role without an identity policy; naming only its account requires
// an identity policy allowing the action as well. An explicit Deny in the
// trust or identity policies wins. req.Action defaults to sts:AssumeRole.
func AssumeRole(req Request, trust *Document, identity []*Document, opts ...Option) Decision {
	if req.Action == "" {
		req.Action = ActionAssumeRole
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	c := newEvalContext(&req)
	c.bounded = len(o.boundary) > 0
	_, allow := scan(c, []*Document{trust}, true)
	d := evaluate(c, identity, []*Document{trust}, &o)
	if d.Type == ResourcePolicy || (d.Result == ImplicitDeny && !allow.ok) {
		d.Type = TrustPolicy
	}
	if d.Allowed() && !allow.ok {
		// An identity policy alone cannot let anyone into a role.
		return Decision{Result: ImplicitDeny, Type: TrustPolicy, Policy: -1}
	}
	return d
}
