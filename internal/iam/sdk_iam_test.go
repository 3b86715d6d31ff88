package iam

import (
	"context"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// iamClient returns an aws-sdk-go-v2 IAM client for the endpoint.
func iamClient(endpoint, id, secret, token string) *iam.Client {
	return iam.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(id, secret, token)},
		func(o *iam.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

// TestIAMWithSDK drives groups, policy versions, tags, GetSessionToken
// and AssumeRole's session tags and managed session policies through the
// Go SDK: request lists and structures as it encodes them, shapes and
// errors as it decodes them.
func TestIAMWithSDK(t *testing.T) {
	s := newTestService(t)
	acct, srv := sdkServer(t, s)
	ctx := context.Background()
	admin := iamClient(srv.URL, acct.RootAccessKeyID, acct.RootSecretAccessKey, "")

	must(admin.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("sdk"), Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("infra")}}}))
	must(admin.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("sdk-group")}))
	must(admin.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("sdk-group"), UserName: aws.String("sdk")}))
	must(admin.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: aws.String("sdk-group"), PolicyName: aws.String("assume"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:*","Resource":"*"}]}`)}))
	group := must(admin.GetGroup(ctx, &iam.GetGroupInput{GroupName: aws.String("sdk-group")}))
	if len(group.Users) != 1 || aws.ToString(group.Users[0].UserName) != "sdk" || aws.ToString(group.Group.Arn) != "arn:aws:iam::123456789012:group/sdk-group" {
		t.Fatalf("GetGroup: %+v", group)
	}
	_, err := admin.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: aws.String("sdk-group")})
	if errorCode(err) != "DeleteConflict" {
		t.Fatalf("DeleteGroup with a member: %v", err)
	}
	tags := must(admin.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: aws.String("sdk")}))
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "infra" {
		t.Fatalf("ListUserTags: %+v", tags.Tags)
	}

	policy := must(admin.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("sdk-ecs"), PolicyDocument: aws.String(allowECSRead)})).Policy
	must(admin.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: policy.Arn, PolicyDocument: aws.String(allowECRDescribe), SetAsDefault: true}))
	versions := must(admin.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: policy.Arn}))
	if len(versions.Versions) != 2 || aws.ToString(versions.Versions[0].VersionId) != "v2" || !versions.Versions[0].IsDefaultVersion {
		t.Fatalf("ListPolicyVersions: %+v", versions.Versions)
	}
	v1 := must(admin.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: policy.Arn, VersionId: aws.String("v1")}))
	if doc, _ := url.QueryUnescape(aws.ToString(v1.PolicyVersion.Document)); doc != allowECSRead {
		t.Fatalf("GetPolicyVersion v1: %s", doc)
	}
	for range 3 {
		must(admin.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: policy.Arn, PolicyDocument: aws.String(allowECSRead)}))
	}
	_, err = admin.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: policy.Arn, PolicyDocument: aws.String(allowECSRead)})
	if errorCode(err) != "LimitExceeded" {
		t.Fatalf("sixth version: %v", err)
	}

	// GetSessionToken credentials act as the user, and IAM refuses them.
	key := must(admin.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("sdk")})).AccessKey
	user := stsClient(srv.URL, aws.ToString(key.AccessKeyId), aws.ToString(key.SecretAccessKey), "")
	tok := must(user.GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(900)})).Credentials
	tokSTS := stsClient(srv.URL, aws.ToString(tok.AccessKeyId), aws.ToString(tok.SecretAccessKey), aws.ToString(tok.SessionToken))
	if id := must(tokSTS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})); aws.ToString(id.Arn) != "arn:aws:iam::123456789012:user/sdk" {
		t.Fatalf("session-token identity: %s", aws.ToString(id.Arn))
	}
	_, err = iamClient(srv.URL, aws.ToString(tok.AccessKeyId), aws.ToString(tok.SecretAccessKey), aws.ToString(tok.SessionToken)).
		ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: aws.String("sdk")})
	if errorCode(err) != "InvalidClientTokenId" {
		t.Fatalf("IAM with session-token credentials: %v", err)
	}

	// AssumeRole with session tags and a managed session policy, as the
	// SDK encodes them (Tags.member.N.Key, PolicyArns.member.N.arn).
	must(admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("sdk-tagged"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/sdk"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`)}))
	out := must(user.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/sdk-tagged"), RoleSessionName: aws.String("tagged"),
		Tags: []ststypes.Tag{{Key: aws.String("project"), Value: aws.String("berth")}}, TransitiveTagKeys: []string{"project"},
		PolicyArns: []ststypes.PolicyDescriptorType{{Arn: policy.Arn}}}))
	if out.PackedPolicySize == nil {
		t.Fatalf("AssumeRole with tags: no PackedPolicySize")
	}
	k, ok, _ := s.ResolveKey(ctx, aws.ToString(out.Credentials.AccessKeyId))
	x := must(s.sessionExtras(ctx, k.Principal.AccessKeyID))
	if !ok || len(x.tags) != 1 || x.tags[0].Key != "project" || len(x.transitive) != 1 || len(x.docs) != 1 {
		t.Fatalf("session from the SDK's AssumeRole: %+v", x)
	}
}
