package iam

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/api"
)

// sessionPrincipal is what the authenticator makes of temporary credentials.
func (s *Service) sessionPrincipal(t *testing.T, c Credentials) api.Principal {
	t.Helper()
	k, ok, err := s.ResolveKey(context.Background(), c.AccessKeyId)
	if err != nil || !ok || k.SessionToken != c.SessionToken {
		t.Fatalf("ResolveKey(%s) = %+v %v %v", c.AccessKeyId, k, ok, err)
	}
	return k.Principal
}

// TestGetSessionToken: the credentials act as the user (or root) with the
// same permissions, but IAM refuses them as AWS does without MFA.
func TestGetSessionToken(t *testing.T) {
	s := newTestService(t)
	ctx := as(root)
	user := must(s.CreateUser(ctx, &CreateUserInput{UserName: "dev"})).User
	must(s.PutUserPolicy(ctx, "dev", "p", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecs:ListClusters","iam:GetUser"],"Resource":"*"}]}`))
	dev := s.userPrincipal(t, "dev")
	d := func(n int32) *int32 { return &n }

	for _, tt := range []struct {
		name   string
		caller api.Principal
		in     GetSessionTokenInput
		code   string
	}{
		{"too short", dev, GetSessionTokenInput{DurationSeconds: d(899)}, "ValidationError"},
		{"too long", dev, GetSessionTokenInput{DurationSeconds: d(129601)}, "ValidationError"},
		{"MFA device Berth does not know", dev, GetSessionTokenInput{SerialNumber: "arn:aws:iam::123456789012:mfa/dev", TokenCode: "123456"}, "AccessDenied"},
	} {
		t.Run(tt.name, func(t *testing.T) { wantCode(t, second(s.GetSessionToken(as(tt.caller), &tt.in)), tt.code) })
	}

	start := time.Now()
	out := must(s.GetSessionToken(as(dev), &GetSessionTokenInput{}))
	if exp := out.Credentials.Expiration.Sub(start); exp < 11*time.Hour || exp > 12*time.Hour+time.Minute || !strings.HasPrefix(out.Credentials.AccessKeyId, "ASIA") {
		t.Fatalf("GetSessionToken = %+v", out.Credentials)
	}
	sess := s.sessionPrincipal(t, out.Credentials)
	if id := must(s.GetCallerIdentity(as(sess), nil)); id.Arn != user.Arn || id.UserId != user.UserId {
		t.Fatalf("GetCallerIdentity = %+v", id)
	}
	wantCode(t, s.Authorize(context.Background(), sess, "ecs:ListClusters", "*"), "")
	wantCode(t, s.Authorize(context.Background(), sess, "ecs:RunTask", "*"), api.CodeAccessDenied)
	wantMessage(t, second(s.GetUser(as(sess), &GetUserInput{UserName: "dev"})), "InvalidClientTokenId", "The security token included in the request is invalid")
	wantMessage(t, second(s.GetSessionToken(as(sess), &GetSessionTokenInput{})), "AccessDenied", "Cannot call GetSessionToken with session credentials")

	// Root's session lasts at most an hour and cannot call IAM either.
	out = must(s.GetSessionToken(ctx, &GetSessionTokenInput{DurationSeconds: d(7200)}))
	if exp := out.Credentials.Expiration.Sub(start); exp > time.Hour+time.Minute {
		t.Fatalf("root session expires in %v", exp)
	}
	rootSess := s.sessionPrincipal(t, out.Credentials)
	if !rootSess.Root || rootSess.ARN != root.ARN {
		t.Fatalf("root session principal = %+v", rootSess)
	}
	wantCode(t, s.Authorize(context.Background(), rootSess, "ecs:RunTask", "*"), "")
	wantCode(t, second(s.CreateUser(as(rootSess), &CreateUserInput{UserName: "x"})), "InvalidClientTokenId")
	wantCode(t, second(s.GetUser(ctx, &GetUserInput{UserName: "x"})), "NoSuchEntity")
}

// TestAssumeRoleExtras: ExternalId, session tags and their trust
// permission, transitive tags, and managed session policies.
func TestAssumeRoleExtras(t *testing.T) {
	s := newTestService(t)
	ctx := as(root)
	must(s.CreateUser(ctx, &CreateUserInput{UserName: "dev"}))
	devARN := "arn:aws:iam::123456789012:user/dev"
	trust := func(actions, condition string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + devARN + `"},"Action":` + actions + condition + `}]}`
	}
	ext := must(s.CreateRole(ctx, &CreateRoleInput{RoleName: "ext", AssumeRolePolicyDocument: trust(`"sts:AssumeRole"`, `,"Condition":{"StringEquals":{"sts:ExternalId":"secret-1"}}`)})).Role.Arn
	plain := must(s.CreateRole(ctx, &CreateRoleInput{RoleName: "plain", AssumeRolePolicyDocument: trust(`"sts:AssumeRole"`, "")})).Role.Arn
	tagged := must(s.CreateRole(ctx, &CreateRoleInput{RoleName: "tagged", Tags: []Tag{{"team", "web"}},
		AssumeRolePolicyDocument: trust(`["sts:AssumeRole","sts:TagSession"]`, `,"Condition":{"StringEqualsIfExists":{"aws:RequestTag/team":["infra","web"]}}`)})).Role.Arn
	for _, r := range []string{"plain", "tagged"} {
		must(s.putInline(ctx, kindRole, "PutRolePolicy", &inlineInput{RoleName: r, PolicyName: "team", PolicyDocument: `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Action":"ecs:*","Resource":"*"},
			{"Effect":"Deny","Action":"ecs:ListClusters","Resource":"*","Condition":{"StringNotEquals":{"aws:PrincipalTag/team":"infra"}}}]}`}), nil)
	}
	ecsRead := must(s.CreatePolicy(ctx, &CreatePolicyInput{PolicyName: "ecs-read", PolicyDocument: allowECSRead})).Policy.Arn
	dev := as(s.userPrincipal(t, "dev"))

	for _, tt := range []struct {
		name string
		in   AssumeRoleInput
		code string
	}{
		{"external id missing", AssumeRoleInput{RoleArn: ext}, "AccessDenied"},
		{"external id wrong", AssumeRoleInput{RoleArn: ext, ExternalId: "secret-2"}, "AccessDenied"},
		{"external id right", AssumeRoleInput{RoleArn: ext, ExternalId: "secret-1"}, ""},
		{"external id malformed", AssumeRoleInput{RoleArn: ext, ExternalId: "s"}, "ValidationError"},
		{"tags without sts:TagSession", AssumeRoleInput{RoleArn: plain, Tags: []Tag{{"team", "infra"}}}, "AccessDenied"},
		{"tag value the trust refuses", AssumeRoleInput{RoleArn: tagged, Tags: []Tag{{"team", "ops"}}}, "AccessDenied"},
		{"transitive key not among the tags", AssumeRoleInput{RoleArn: tagged, Tags: []Tag{{"team", "infra"}}, TransitiveTagKeys: []string{"cost"}}, "InvalidParameterValue"},
		{"duplicate tag keys", AssumeRoleInput{RoleArn: tagged, Tags: []Tag{{"team", "infra"}, {"Team", "web"}}}, "InvalidInput"},
		{"unknown managed session policy", AssumeRoleInput{RoleArn: plain, PolicyArns: []PolicyDescriptor{{"arn:aws:iam::123456789012:policy/none"}}}, "InvalidParameterValue"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.RoleSessionName = "s1"
			wantCode(t, second(s.AssumeRole(dev, &tt.in)), tt.code)
		})
	}
	if msg := api.AsError(second(s.AssumeRole(dev, &AssumeRoleInput{RoleArn: plain, RoleSessionName: "s1", Tags: []Tag{{"team", "infra"}}}))).Message; !strings.Contains(msg, "sts:TagSession") {
		t.Fatalf("denial does not name sts:TagSession: %s", msg)
	}

	assume := func(t *testing.T, caller context.Context, in AssumeRoleInput) api.Principal {
		t.Helper()
		return s.sessionPrincipal(t, must(s.AssumeRole(caller, &in)).Credentials)
	}
	allowed := func(p api.Principal, action string) error { return s.Authorize(context.Background(), p, action, "*") }

	// Session tags are principal tags, overriding the role's own.
	untagged := assume(t, dev, AssumeRoleInput{RoleArn: tagged, RoleSessionName: "untagged"})
	wantCode(t, allowed(untagged, "ecs:ListClusters"), api.CodeAccessDenied) // the role's team=web
	infra := assume(t, dev, AssumeRoleInput{RoleArn: tagged, RoleSessionName: "infra", Tags: []Tag{{"team", "infra"}}, TransitiveTagKeys: []string{"team"}})
	wantCode(t, allowed(infra, "ecs:ListClusters"), "")

	// Transitive tags follow a chained session.
	must(s.CreateRole(ctx, &CreateRoleInput{RoleName: "next", AssumeRolePolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + tagged + `"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`}))
	must(s.putInline(ctx, kindRole, "PutRolePolicy", &inlineInput{RoleName: "next", PolicyName: "team", PolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:ListClusters","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"infra"}}}]}`}), nil)
	chained := assume(t, as(infra), AssumeRoleInput{RoleArn: "arn:aws:iam::123456789012:role/next", RoleSessionName: "chained"})
	wantCode(t, allowed(chained, "ecs:ListClusters"), "")

	// Managed session policies cap the role like an inline one.
	narrow := assume(t, dev, AssumeRoleInput{RoleArn: plain, RoleSessionName: "narrow", PolicyArns: []PolicyDescriptor{{ecsRead}}})
	wantCode(t, allowed(narrow, "ecs:DescribeClusters"), "")
	err := allowed(narrow, "ecs:RunTask")
	wantCode(t, err, api.CodeAccessDenied)
	if !strings.Contains(err.Error(), "session policy") {
		t.Fatalf("denial does not name the session policy: %v", err)
	}
	both := assume(t, dev, AssumeRoleInput{RoleArn: plain, RoleSessionName: "both", PolicyArns: []PolicyDescriptor{{ecsRead}},
		Policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:RunTask","Resource":"*"}]}`})
	wantCode(t, allowed(both, "ecs:RunTask"), "")
	wantCode(t, allowed(both, "ecs:DescribeClusters"), "")
	wantCode(t, allowed(both, "ecs:DeleteCluster"), api.CodeAccessDenied)
}
