package iam

import (
	"context"
	"net/url"
	"testing"

	"github.com/berth-dev/berth/internal/api"
)

const allowECRDescribe = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:Describe*","Resource":"*"}]}`

// TestPolicyVersions covers a managed policy's versions: creation up to
// the quota, the default switching, deletion rules, and AWS managed
// policies staying read-only.
func TestPolicyVersions(t *testing.T) {
	s := newTestService(t)
	ctx := as(root)
	arn := must(s.CreatePolicy(ctx, &CreatePolicyInput{PolicyName: "app", PolicyDocument: allowECSRead})).Policy.Arn

	v2 := must(s.CreatePolicyVersion(ctx, &CreatePolicyVersionInput{PolicyArn: arn, PolicyDocument: allowECRDescribe}))
	if v2.PolicyVersion.VersionId != "v2" || v2.PolicyVersion.IsDefaultVersion || v2.PolicyVersion.Document != "" {
		t.Fatalf("CreatePolicyVersion = %+v", v2.PolicyVersion)
	}
	if got := must(s.GetPolicy(ctx, &PolicyArnInput{PolicyArn: arn})).Policy.DefaultVersionId; got != "v1" {
		t.Fatalf("default after a non-default version = %s", got)
	}
	v3 := must(s.CreatePolicyVersion(ctx, &CreatePolicyVersionInput{PolicyArn: arn, PolicyDocument: allowECRDescribe, SetAsDefault: true}))
	if !v3.PolicyVersion.IsDefaultVersion || must(s.GetPolicy(ctx, &PolicyArnInput{PolicyArn: arn})).Policy.DefaultVersionId != "v3" {
		t.Fatalf("SetAsDefault did not take: %+v", v3.PolicyVersion)
	}
	got := must(s.GetPolicyVersion(ctx, &PolicyArnInput{PolicyArn: arn, VersionId: "v1"})).PolicyVersion
	if doc, _ := url.QueryUnescape(got.Document); doc != allowECSRead || got.IsDefaultVersion {
		t.Fatalf("GetPolicyVersion v1 = %+v", got)
	}
	must(s.CreatePolicyVersion(ctx, &CreatePolicyVersionInput{PolicyArn: arn, PolicyDocument: allowECSRead}))
	must(s.CreatePolicyVersion(ctx, &CreatePolicyVersionInput{PolicyArn: arn, PolicyDocument: allowECSRead}))
	wantMessage(t, second(s.CreatePolicyVersion(ctx, &CreatePolicyVersionInput{PolicyArn: arn, PolicyDocument: allowECSRead})), "LimitExceeded",
		"A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.")

	list := must(s.ListPolicyVersions(ctx, &ListPolicyVersionsInput{PolicyArn: arn}))
	if len(list.Versions) != 5 || list.Versions[0].VersionId != "v5" || list.Versions[4].VersionId != "v1" || !list.Versions[2].IsDefaultVersion {
		t.Fatalf("ListPolicyVersions = %+v", list.Versions)
	}

	for _, tt := range []struct {
		name string
		err  error
		code string
		msg  string
	}{
		{"delete the default", second(s.DeletePolicyVersion(ctx, &PolicyArnInput{PolicyArn: arn, VersionId: "v3"})), "DeleteConflict", "Cannot delete the default version of a policy."},
		{"delete a missing version", second(s.DeletePolicyVersion(ctx, &PolicyArnInput{PolicyArn: arn, VersionId: "v9"})), "NoSuchEntity", "Policy " + arn + " version v9 does not exist or is not attachable."},
		{"malformed version id", second(s.GetPolicyVersion(ctx, &PolicyArnInput{PolicyArn: arn, VersionId: "2"})), "ValidationError", ""},
		{"default to a missing version", second(s.SetDefaultPolicyVersion(ctx, &PolicyArnInput{PolicyArn: arn, VersionId: "v7"})), "NoSuchEntity", ""},
		{"malformed document", second(s.CreatePolicyVersion(ctx, &CreatePolicyVersionInput{PolicyArn: arn, PolicyDocument: "{"})), "MalformedPolicyDocument", ""},
		{"policy with versions", second(s.DeletePolicy(ctx, &PolicyArnInput{PolicyArn: arn})), "DeleteConflict",
			"This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy."},
		{"AWS managed: new version", second(s.CreatePolicyVersion(ctx, &CreatePolicyVersionInput{PolicyArn: ecrReadOnly, PolicyDocument: allowECSRead})), "AccessDenied", ""},
		{"AWS managed: set default", second(s.SetDefaultPolicyVersion(ctx, &PolicyArnInput{PolicyArn: ecrReadOnly, VersionId: "v1"})), "AccessDenied", ""},
		{"AWS managed: delete version", second(s.DeletePolicyVersion(ctx, &PolicyArnInput{PolicyArn: ecrReadOnly, VersionId: "v1"})), "AccessDenied", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.msg != "" {
				wantMessage(t, tt.err, tt.code, tt.msg)
			} else {
				wantCode(t, tt.err, tt.code)
			}
		})
	}
	if n := len(must(s.ListPolicyVersions(ctx, &ListPolicyVersionsInput{PolicyArn: arn})).Versions); n != 5 {
		t.Fatalf("refused requests changed the versions: %d left", n)
	}
	if v := must(s.ListPolicyVersions(ctx, &ListPolicyVersionsInput{PolicyArn: ecrReadOnly})).Versions; len(v) != 1 || !v[0].IsDefaultVersion {
		t.Fatalf("AWS managed versions = %+v", v)
	}

	// Version numbers are not reused after a deletion.
	for _, v := range []string{"v1", "v2", "v4", "v5"} {
		must(s.DeletePolicyVersion(ctx, &PolicyArnInput{PolicyArn: arn, VersionId: v}))
	}
	if v := must(s.CreatePolicyVersion(ctx, &CreatePolicyVersionInput{PolicyArn: arn, PolicyDocument: allowECSRead})); v.PolicyVersion.VersionId != "v6" {
		t.Fatalf("next version = %s, want v6", v.PolicyVersion.VersionId)
	}
	must(s.DeletePolicyVersion(ctx, &PolicyArnInput{PolicyArn: arn, VersionId: "v6"}))
	wantCode(t, second(s.DeletePolicy(ctx, &PolicyArnInput{PolicyArn: arn})), "")
}

// TestPolicyVersionTakesEffect: the authorizer's cache follows the managed
// policy's default version from the next request on, for users and for
// users' groups.
func TestPolicyVersionTakesEffect(t *testing.T) {
	s := newTestService(t)
	ctx := as(root)
	groupFixture(t, s, map[string][]string{"direct": nil, "member": {"team"}})
	arn := must(s.CreatePolicy(ctx, &CreatePolicyInput{PolicyName: "app", PolicyDocument: allowECSRead})).Policy.Arn
	wantCode(t, s.attach(ctx, kindUser, "AttachUserPolicy", &attachInput{UserName: "direct", PolicyArn: arn}, true), "")
	wantCode(t, s.attach(ctx, kindGroup, "AttachGroupPolicy", &attachInput{GroupName: "team", PolicyArn: arn}, true), "")
	for _, user := range []string{"direct", "member"} {
		t.Run(user, func(t *testing.T) {
			p := s.userPrincipal(t, user)
			allowed := func(action string) error { return s.Authorize(context.Background(), p, action, repoARN) }
			wantCode(t, allowed("ecs:ListClusters"), "")
			wantCode(t, allowed("ecr:DescribeRepositories"), api.CodeAccessDenied)

			v := must(s.CreatePolicyVersion(ctx, &CreatePolicyVersionInput{PolicyArn: arn, PolicyDocument: allowECRDescribe, SetAsDefault: true}))
			wantCode(t, allowed("ecr:DescribeRepositories"), "")
			wantCode(t, allowed("ecs:ListClusters"), api.CodeAccessDenied)

			must(s.SetDefaultPolicyVersion(ctx, &PolicyArnInput{PolicyArn: arn, VersionId: "v1"}))
			wantCode(t, allowed("ecs:ListClusters"), "")
			wantCode(t, allowed("ecr:DescribeRepositories"), api.CodeAccessDenied)
			must(s.DeletePolicyVersion(ctx, &PolicyArnInput{PolicyArn: arn, VersionId: v.PolicyVersion.VersionId}))
		})
	}
}
