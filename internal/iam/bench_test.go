package iam

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkAuthorize times one authorization of a user with a managed and
// an inline policy: one keys-only store read (the revisions the cached
// policies depend on) and a cached evaluation.
func BenchmarkAuthorize(b *testing.B) {
	s := newTestService(b)
	ctx := as(root)
	must(s.CreateUser(ctx, &CreateUserInput{UserName: "bench"}))
	must(s.PutUserPolicy(ctx, "bench", "ecs", allowECSRead))
	if err := s.attach(ctx, kindUser, "Attach", &attachInput{UserName: "bench", PolicyArn: ecrReadOnly}, true); err != nil {
		b.Fatal(err)
	}
	benchAuthorize(b, s, "bench")
}

// BenchmarkAuthorizeGroups times the same for a user in three groups, each
// with an inline policy and one with a customer managed policy: still one
// read, of five revisions (user, three groups, the managed policy).
func BenchmarkAuthorizeGroups(b *testing.B) {
	s := newTestService(b)
	ctx := as(root)
	must(s.CreateUser(ctx, &CreateUserInput{UserName: "bench"}))
	arn := must(s.CreatePolicy(ctx, &CreatePolicyInput{PolicyName: "ecr-read", PolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:Describe*","Resource":"*"}]}`})).Policy.Arn
	for i := range 3 {
		g := fmt.Sprintf("group%d", i)
		must(s.CreateGroup(ctx, &CreateGroupInput{GroupName: g}))
		must(s.AddUserToGroup(ctx, &GroupMemberInput{GroupName: g, UserName: "bench"}))
		must(s.PutGroupPolicy(ctx, g, "ecs", allowECSRead))
	}
	if err := s.attach(ctx, kindGroup, "Attach", &attachInput{GroupName: "group2", PolicyArn: arn}, true); err != nil {
		b.Fatal(err)
	}
	benchAuthorize(b, s, "bench")
}

// BenchmarkAuthorizeReadOnlyAccess times a user with AWS's
// ReadOnlyAccess attached: one statement of thousands of actions.
func BenchmarkAuthorizeReadOnlyAccess(b *testing.B) {
	s := newTestService(b)
	ctx := as(root)
	must(s.CreateUser(ctx, &CreateUserInput{UserName: "bench"}))
	if err := s.attach(ctx, kindUser, "Attach", &attachInput{UserName: "bench", PolicyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess"}, true); err != nil {
		b.Fatal(err)
	}
	benchAuthorize(b, s, "bench")
}

func benchAuthorize(b *testing.B, s *Service, user string) {
	key := must(s.CreateAccessKey(as(root), &UserNameInput{UserName: user})).AccessKey
	k, _, _ := s.ResolveKey(context.Background(), key.AccessKeyId)
	b.ResetTimer()
	for b.Loop() {
		if err := s.Authorize(context.Background(), k.Principal, "ecr:DescribeRepositories", repoARN); err != nil {
			b.Fatal(err)
		}
	}
}
