package iam

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/iam/policy"
)

const allowECSRead = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecs:Describe*","ecs:List*"],"Resource":"*"}]}`

// TestManagedAndInlinePolicies covers policy documents from creation to
// deletion, and the conflicts and errors on the way.
func TestManagedAndInlinePolicies(t *testing.T) {
	s := newTestService(t)
	ctx := as(root)
	must(s.CreateUser(ctx, &CreateUserInput{UserName: "dave"}))
	must(s.CreateRole(ctx, &CreateRoleInput{RoleName: "deployer", AssumeRolePolicyDocument: trustUser("dave")}))

	for _, tt := range []struct {
		name, doc, code string
	}{
		{"not JSON", `{"Version":`, "MalformedPolicyDocument"},
		{"principal in identity policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecs:*","Resource":"*"}]}`, "MalformedPolicyDocument"},
		{"no resource", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:*"}]}`, "MalformedPolicyDocument"},
		{"empty", ``, "ValidationError"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, second(s.CreatePolicy(ctx, &CreatePolicyInput{PolicyName: "bad", PolicyDocument: tt.doc})), tt.code)
			wantCode(t, second(s.PutUserPolicy(ctx, "dave", "bad", tt.doc)), tt.code)
		})
	}

	p := must(s.CreatePolicy(ctx, &CreatePolicyInput{PolicyName: "ecs-read", PolicyDocument: allowECSRead, Description: "read ECS"}))
	arn := p.Policy.Arn
	if arn != "arn:aws:iam::123456789012:policy/ecs-read" || p.Policy.DefaultVersionId != "v1" || !p.Policy.IsAttachable {
		t.Fatalf("CreatePolicy = %+v", p.Policy)
	}
	wantCode(t, second(s.CreatePolicy(ctx, &CreatePolicyInput{PolicyName: "ecs-read", PolicyDocument: allowECSRead})), "EntityAlreadyExists")
	v := must(s.GetPolicyVersion(ctx, &PolicyArnInput{PolicyArn: arn, VersionId: "v1"}))
	if doc, _ := url.QueryUnescape(v.PolicyVersion.Document); doc != allowECSRead || !v.PolicyVersion.IsDefaultVersion {
		t.Fatalf("GetPolicyVersion = %+v", v.PolicyVersion)
	}
	// AWS managed policies come with their current published version.
	shipped := must(s.GetPolicy(ctx, &PolicyArnInput{PolicyArn: ecrReadOnly})).Policy
	aws := must(s.GetPolicyVersion(ctx, &PolicyArnInput{PolicyArn: ecrReadOnly, VersionId: shipped.DefaultVersionId}))
	if doc, _ := url.QueryUnescape(aws.PolicyVersion.Document); !strings.Contains(doc, `"ecr:BatchGetImage"`) || !aws.PolicyVersion.IsDefaultVersion {
		t.Fatalf("AWS managed policy version %s = %+v", shipped.DefaultVersionId, aws.PolicyVersion)
	}
	for arn, p := range awsManaged() {
		if _, err := parsePolicy(p.Document, policy.KindIdentity); err != nil {
			t.Errorf("%s does not parse: %v", arn, err)
		}
	}
	wantCode(t, second(s.GetPolicy(ctx, &PolicyArnInput{PolicyArn: "arn:aws:iam::aws:policy/NoSuchPolicy"})), "NoSuchEntity")

	// Attach to a user and a role; the customer policy counts both.
	for _, in := range []*attachInput{{UserName: "dave", PolicyArn: arn}, {RoleName: "deployer", PolicyArn: arn}, {UserName: "dave", PolicyArn: ecrReadOnly}} {
		kind := kindUser
		if in.RoleName != "" {
			kind = kindRole
		}
		wantCode(t, s.attach(ctx, kind, "Attach", in, true), "")
	}
	wantCode(t, s.attach(ctx, kindUser, "Attach", &attachInput{UserName: "dave", PolicyArn: arn}, true), "") // idempotent
	wantCode(t, s.attach(ctx, kindUser, "Attach", &attachInput{UserName: "dave", PolicyArn: "arn:aws:iam::123456789012:policy/none"}, true), "NoSuchEntity")
	if got := must(s.GetPolicy(ctx, &PolicyArnInput{PolicyArn: arn})).Policy.AttachmentCount; got != 2 {
		t.Fatalf("AttachmentCount = %d, want 2", got)
	}
	attached := must(s.listAttached(ctx, kindUser, "List", &attachInput{UserName: "dave"}))
	if len(attached.AttachedPolicies) != 2 || attached.AttachedPolicies[1].PolicyName != "AmazonEC2ContainerRegistryReadOnly" {
		t.Fatalf("ListAttachedUserPolicies = %+v", attached)
	}
	local := must(s.ListPolicies(ctx, &ListPoliciesInput{Scope: "Local"}))
	if len(local.Policies) != 1 {
		t.Fatalf("ListPolicies Local = %+v", local)
	}
	if all := must(s.ListPolicies(ctx, &ListPoliciesInput{})); len(all.Policies) != len(awsManaged())+1 {
		t.Fatalf("ListPolicies = %d policies, want %d", len(all.Policies), len(awsManaged())+1)
	}

	wantCode(t, second(s.DeletePolicy(ctx, &PolicyArnInput{PolicyArn: arn})), "DeleteConflict")
	wantCode(t, second(s.DeletePolicy(ctx, &PolicyArnInput{PolicyArn: ecrReadOnly})), "AccessDenied")
	wantCode(t, second(s.DeleteRole(ctx, &RoleNameInput{RoleName: "deployer"})), "DeleteConflict")

	// Inline policies.
	wantCode(t, second(s.PutUserPolicy(ctx, "dave", "inline", allowECSRead)), "")
	got := must(s.getInline(ctx, kindUser, "Get", &inlineInput{UserName: "dave", PolicyName: "inline"}))
	if doc, _ := url.QueryUnescape(got.PolicyDocument); doc != allowECSRead || got.UserName != "dave" {
		t.Fatalf("GetUserPolicy = %+v", got)
	}
	names := must(s.listInline(ctx, kindUser, "List", &inlineInput{UserName: "dave"}))
	if len(names.PolicyNames) != 1 || names.PolicyNames[0] != "inline" {
		t.Fatalf("ListUserPolicies = %+v", names)
	}
	wantCode(t, second(s.getInline(ctx, kindUser, "Get", &inlineInput{UserName: "dave", PolicyName: "other"})), "NoSuchEntity")
	wantCode(t, s.deleteInline(ctx, kindUser, "Delete", &inlineInput{UserName: "dave", PolicyName: "inline"}), "")

	// Detach everything, then deletes succeed.
	wantCode(t, s.attach(ctx, kindUser, "Detach", &attachInput{UserName: "dave", PolicyArn: arn}, false), "")
	wantCode(t, s.attach(ctx, kindUser, "Detach", &attachInput{UserName: "dave", PolicyArn: arn}, false), "NoSuchEntity")
	wantCode(t, s.attach(ctx, kindRole, "Detach", &attachInput{RoleName: "deployer", PolicyArn: arn}, false), "")
	wantCode(t, second(s.DeletePolicy(ctx, &PolicyArnInput{PolicyArn: arn})), "")
	wantCode(t, second(s.DeleteRole(ctx, &RoleNameInput{RoleName: "deployer"})), "")
}

// trustUser is a trust policy letting one user of the test account assume a role.
func trustUser(name string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/` + name + `"},"Action":"sts:AssumeRole"}]}`
}

// TestPolicyQuotas rejects documents past IAM's size quotas and trust
// policies that are not trust policies.
func TestPolicyQuotas(t *testing.T) {
	s := newTestService(t)
	ctx := as(root)
	must(s.CreateUser(ctx, &CreateUserInput{UserName: "big"}))
	// big returns an identity policy of about n non-whitespace characters.
	big := func(n int) string {
		var actions []string
		for i := 0; len(strings.Join(actions, `","`)) < n-80; i++ {
			actions = append(actions, fmt.Sprintf("ecs:Describe%04d", i))
		}
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["` + strings.Join(actions, `","`) + `"],"Resource":"*"}]}`
	}
	wantCode(t, second(s.PutUserPolicy(ctx, "big", "a", big(1500))), "")
	wantCode(t, second(s.PutUserPolicy(ctx, "big", "a", big(1900))), "") // replacing is measured without the old one
	wantCode(t, second(s.PutUserPolicy(ctx, "big", "b", big(600))), "LimitExceeded")
	wantCode(t, second(s.CreatePolicy(ctx, &CreatePolicyInput{PolicyName: "huge", PolicyDocument: big(7000)})), "LimitExceeded")
	wantCode(t, second(s.CreateRole(ctx, &CreateRoleInput{RoleName: "r", AssumeRolePolicyDocument: allowECSRead})), "MalformedPolicyDocument")
}
