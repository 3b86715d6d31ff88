package api

import (
	"context"
	"net/http"
)

// Principal is the authenticated caller of an API request.
type Principal struct {
	// Account is the 12-digit account id the caller belongs to.
	Account string
	// ARN identifies the caller: the root user, an IAM user or an assumed role.
	ARN string
	// AccessKeyID is the key the request was signed with.
	AccessKeyID string
	// Root is true for the account's root credentials.
	Root bool
	// UserID is the caller's unique id as GetCallerIdentity reports it: the
	// account id for root, AIDA... for a user, AROA...:session for a role session.
	UserID string
	// SessionPolicy is the session policy an assumed-role session was
	// issued with, if any; it further limits the role's permissions.
	SessionPolicy string
	// SourceInstance is the EC2 instance id an instance-profile session
	// was issued for (its ec2:SourceInstanceARN); empty for every other
	// caller. Such a session may act only as that instance.
	SourceInstance string
}

type principalKey struct{}

// WithPrincipal stores p in ctx for handlers and the authorizer.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller stored by the router.
func PrincipalFrom(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}

// Authenticator verifies a request's signature and names its caller. body is
// the already-read request body. An Authenticator serves one service.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request, body []byte) (Principal, error)
}

// Verifier authenticates the requests of every service a Router serves, in
// two steps, so that a body is read only once its caller is known.
type Verifier interface {
	// Begin checks what of r's signature needs no body: its credential
	// scope against service (the signing name the route decided; "" when
	// only the body can tell), time, access key and token. finish checks
	// the signature over the body read afterwards and names the caller.
	Begin(ctx context.Context, r *http.Request, service string) (finish func(body []byte) (Principal, error), err error)
}

// ServiceAuthenticator authenticates requests signed for service with v,
// in one step: for plain HTTP endpoints that read their body themselves.
func ServiceAuthenticator(v Verifier, service string) Authenticator {
	return serviceAuth{v, service}
}

type serviceAuth struct {
	v       Verifier
	service string
}

func (a serviceAuth) Authenticate(ctx context.Context, r *http.Request, body []byte) (Principal, error) {
	finish, err := a.v.Begin(ctx, r, a.service)
	if err != nil {
		return Principal{}, err
	}
	return finish(body)
}

// Authorizer decides whether a principal may perform action (such as
// "ecs:RunTask") on resource (an ARN or "*"). Every API call goes through it.
type Authorizer interface {
	Authorize(ctx context.Context, p Principal, action, resource string) error
}

// RootOnly allows the account's root principal everything and denies the
// rest: for services tested without IAM (the server authorizes with IAM).
type RootOnly struct{}

// Authorize implements Authorizer.
func (RootOnly) Authorize(_ context.Context, p Principal, action, resource string) error {
	if p.Root {
		return nil
	}
	return Errorf(CodeAccessDenied, "User: %s is not authorized to perform: %s on resource: %s", p.ARN, action, resource)
}

// ServicePrincipal is an AWS service acting in-process through its
// service-linked role (Auto Scaling launching a group's instances, say):
// the session ARN names the role, as CloudTrail and requesterId would, and
// the services trust it with everything, as the role's AWS-managed policy
// grants the service what it needs.
func ServicePrincipal(account, role, session string) Principal {
	return Principal{Account: account, ARN: "arn:aws:sts::" + account + ":assumed-role/" + role + "/" + session, Root: true, UserID: account}
}
