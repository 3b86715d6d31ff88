package iam

import (
	"context"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/api"
)

const repoARN = "arn:aws:ecr:us-east-1:123456789012:repository/app"

// TestAuthorize checks decisions for users against their policies, the
// AWS denial message, and that policy changes take effect at once.
func TestAuthorize(t *testing.T) {
	s := newTestService(t)
	ctx := as(root)
	must(s.CreateUser(ctx, &CreateUserInput{UserName: "reader"}))
	must(s.CreateUser(ctx, &CreateUserInput{UserName: "nobody"}))
	wantCode(t, s.attach(ctx, kindUser, "Attach", &attachInput{UserName: "reader", PolicyArn: ecrReadOnly}, true), "")
	wantCode(t, second(s.PutUserPolicy(ctx, "reader", "no-ecr-delete", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ecr:BatchGetImage","Resource":"`+repoARN+`"}]}`)), "")
	repoPolicy := ""
	s.UseResourcePolicies("arn:aws:ecr:", func(context.Context, string) (string, error) { return repoPolicy, nil })
	reader, nobody := s.userPrincipal(t, "reader"), s.userPrincipal(t, "nobody")

	tests := []struct {
		name     string
		p        api.Principal
		action   string
		resource string
		wantMsg  string // "" = allowed
	}{
		{"root is allowed everything", root, "ecs:RunTask", "*", ""},
		{"managed policy allows", reader, "ecr:DescribeRepositories", repoARN, ""},
		{"action not granted", reader, "ecr:CreateRepository", repoARN,
			"User: arn:aws:iam::123456789012:user/reader is not authorized to perform: ecr:CreateRepository on resource: " + repoARN + " because no identity-based policy allows the ecr:CreateRepository action"},
		{"other service", reader, "ecs:RunTask", "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1", "because no identity-based policy allows the ecs:RunTask action"},
		{"explicit deny wins", reader, "ecr:BatchGetImage", repoARN, "with an explicit deny in an identity-based policy"},
		{"deny is scoped to its resource", reader, "ecr:BatchGetImage", "arn:aws:ecr:us-east-1:123456789012:repository/other", ""},
		{"user without policies", nobody, "ecr:DescribeRepositories", "*", "because no identity-based policy allows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Authorize(context.Background(), tt.p, tt.action, tt.resource)
			if tt.wantMsg == "" {
				wantCode(t, err, "")
				return
			}
			wantCode(t, err, api.CodeAccessDenied)
			if !strings.Contains(err.(*api.Error).Message, tt.wantMsg) {
				t.Fatalf("message %q does not contain %q", err.(*api.Error).Message, tt.wantMsg)
			}
		})
	}

	// A policy change is seen by the next call despite the cache.
	wantCode(t, s.Authorize(context.Background(), nobody, "ecs:ListClusters", "*"), api.CodeAccessDenied)
	wantCode(t, second(s.PutUserPolicy(ctx, "nobody", "ecs", allowECSRead)), "")
	wantCode(t, s.Authorize(context.Background(), nobody, "ecs:ListClusters", "*"), "")
	wantCode(t, s.deleteInline(ctx, kindUser, "Delete", &inlineInput{UserName: "nobody", PolicyName: "ecs"}), "")
	wantCode(t, s.Authorize(context.Background(), nobody, "ecs:ListClusters", "*"), api.CodeAccessDenied)

	// A repository policy naming the user grants on that repository only.
	repoPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/nobody"},"Action":"ecr:BatchGetImage","Resource":"*"}]}`
	wantCode(t, s.Authorize(context.Background(), nobody, "ecr:BatchGetImage", repoARN), "")
	wantCode(t, s.Authorize(context.Background(), nobody, "ecs:ListClusters", "*"), api.CodeAccessDenied)
}

// TestAssumeRole issues role sessions and authorizes with them.
func TestAssumeRole(t *testing.T) {
	s := newTestService(t)
	ctx := as(root)
	must(s.CreateUser(ctx, &CreateUserInput{UserName: "dev"}))
	must(s.CreateUser(ctx, &CreateUserInput{UserName: "stranger"}))
	role := must(s.CreateRole(ctx, &CreateRoleInput{RoleName: "deployer", AssumeRolePolicyDocument: trustUser("dev")})).Role
	wantCode(t, s.attach(ctx, kindRole, "Attach", &attachInput{RoleName: "deployer", PolicyArn: "arn:aws:iam::aws:policy/AmazonECS_FullAccess"}, true), "")
	dev, stranger := s.userPrincipal(t, "dev"), s.userPrincipal(t, "stranger")
	d := func(n int32) *int32 { return &n }

	for _, tt := range []struct {
		name   string
		caller api.Principal
		in     AssumeRoleInput
		code   string
	}{
		{"root may not assume roles", root, AssumeRoleInput{RoleArn: role.Arn, RoleSessionName: "s1"}, "AccessDenied"},
		{"trust does not name the caller", stranger, AssumeRoleInput{RoleArn: role.Arn, RoleSessionName: "s1"}, "AccessDenied"},
		{"no such role", dev, AssumeRoleInput{RoleArn: "arn:aws:iam::123456789012:role/none", RoleSessionName: "s1"}, "AccessDenied"},
		{"too long", dev, AssumeRoleInput{RoleArn: role.Arn, RoleSessionName: "s1", DurationSeconds: d(7200)}, "ValidationError"},
		{"too short", dev, AssumeRoleInput{RoleArn: role.Arn, RoleSessionName: "s1", DurationSeconds: d(60)}, "ValidationError"},
		{"bad session name", dev, AssumeRoleInput{RoleArn: role.Arn, RoleSessionName: "a b"}, "ValidationError"},
		{"malformed session policy", dev, AssumeRoleInput{RoleArn: role.Arn, RoleSessionName: "s1", Policy: "{"}, "MalformedPolicyDocument"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, second(s.AssumeRole(as(tt.caller), &tt.in)), tt.code)
		})
	}

	out := must(s.AssumeRole(as(dev), &AssumeRoleInput{RoleArn: role.Arn, RoleSessionName: "deploy-1", DurationSeconds: d(900)}))
	wantARN := "arn:aws:sts::123456789012:assumed-role/deployer/deploy-1"
	if out.AssumedRoleUser.Arn != wantARN || !strings.HasPrefix(out.Credentials.AccessKeyId, "ASIA") || out.Credentials.SessionToken == "" {
		t.Fatalf("AssumeRole = %+v", out)
	}
	key, ok, err := s.ResolveKey(context.Background(), out.Credentials.AccessKeyId)
	if err != nil || !ok || key.Principal.ARN != wantARN || key.SessionToken != out.Credentials.SessionToken || !key.Expires.Equal(out.Credentials.Expiration) {
		t.Fatalf("ResolveKey(session) = %+v %v %v", key, ok, err)
	}
	id := must(s.GetCallerIdentity(as(key.Principal), nil))
	if id.Arn != wantARN || id.UserId != role.RoleId+":deploy-1" || id.Account != testAccount {
		t.Fatalf("GetCallerIdentity = %+v", id)
	}
	wantCode(t, s.Authorize(context.Background(), key.Principal, "ecs:RunTask", "*"), "")
	wantCode(t, s.Authorize(context.Background(), key.Principal, "ecr:CreateRepository", "*"), api.CodeAccessDenied)

	// A session policy narrows the role's permissions.
	narrow := must(s.AssumeRole(as(dev), &AssumeRoleInput{RoleArn: role.Arn, RoleSessionName: "narrow", Policy: allowECSRead}))
	nk, _, _ := s.ResolveKey(context.Background(), narrow.Credentials.AccessKeyId)
	wantCode(t, s.Authorize(context.Background(), nk.Principal, "ecs:ListClusters", "*"), "")
	err = s.Authorize(context.Background(), nk.Principal, "ecs:RunTask", "*")
	wantCode(t, err, api.CodeAccessDenied)
	if !strings.Contains(err.Error(), "session policy") {
		t.Fatalf("denial does not name the session policy: %v", err)
	}

	// Role chaining is capped at an hour.
	must(s.CreateRole(ctx, &CreateRoleInput{RoleName: "next", MaxSessionDuration: d(7200),
		AssumeRolePolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + role.Arn + `"},"Action":"sts:AssumeRole"}]}`}))
	wantCode(t, second(s.AssumeRole(as(key.Principal), &AssumeRoleInput{RoleArn: "arn:aws:iam::123456789012:role/next", RoleSessionName: "chain", DurationSeconds: d(7200)})), "ValidationError")
	wantCode(t, second(s.AssumeRole(as(key.Principal), &AssumeRoleInput{RoleArn: "arn:aws:iam::123456789012:role/next", RoleSessionName: "chain"})), "")
}

// TestAssumeRoleAccountTrust: a trust policy naming only the account
// delegates to the caller's identity policies.
func TestAssumeRoleAccountTrust(t *testing.T) {
	s := newTestService(t)
	ctx := as(root)
	must(s.CreateUser(ctx, &CreateUserInput{UserName: "ops"}))
	role := must(s.CreateRole(ctx, &CreateRoleInput{RoleName: "admin",
		AssumeRolePolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`})).Role
	ops := as(s.userPrincipal(t, "ops"))
	in := &AssumeRoleInput{RoleArn: role.Arn, RoleSessionName: "ops"}
	wantCode(t, second(s.AssumeRole(ops, in)), "AccessDenied")
	must(s.PutUserPolicy(ctx, "ops", "assume", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"`+role.Arn+`"}]}`))
	wantCode(t, second(s.AssumeRole(ops, in)), "")
}
