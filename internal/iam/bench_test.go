package iam

import (
	"context"
	"testing"
)

// BenchmarkAuthorize times one authorization of a user with a managed and
// an inline policy: one store read (the user record) and a cached
// evaluation.
func BenchmarkAuthorize(b *testing.B) {
	s := newTestService(b)
	ctx := as(root)
	must(s.CreateUser(ctx, &CreateUserInput{UserName: "bench"}))
	must(s.PutUserPolicy(ctx, "bench", "ecs", allowECSRead))
	if err := s.attach(ctx, kindUser, "Attach", &attachInput{UserName: "bench", PolicyArn: ecrReadOnly}, true); err != nil {
		b.Fatal(err)
	}
	key := must(s.CreateAccessKey(ctx, &UserNameInput{UserName: "bench"})).AccessKey
	k, _, _ := s.ResolveKey(context.Background(), key.AccessKeyId)
	b.ResetTimer()
	for b.Loop() {
		if err := s.Authorize(context.Background(), k.Principal, "ecr:DescribeRepositories", repoARN); err != nil {
			b.Fatal(err)
		}
	}
}
