package iam

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

const testAccount = "123456789012"

var root = api.Principal{Account: testAccount, ARN: "arn:aws:iam::" + testAccount + ":root", Root: true, UserID: testAccount}

// newTestService returns an IAM service on a fresh embedded store.
func newTestService(t testing.TB) *Service {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return New(testAccount, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func as(p api.Principal) context.Context { return api.WithPrincipal(context.Background(), p) }

// wantCode fails unless err is an AWS error with the given code ("" = nil).
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	switch {
	case code == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case code != "" && (err == nil || api.AsError(err).Code != code):
		t.Fatalf("err = %v, want %s", err, code)
	}
}

// must returns v; an unexpected error aborts the test with a stack.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// userPrincipal is what the authenticator makes of a user's access key.
func (s *Service) userPrincipal(t *testing.T, name string) api.Principal {
	t.Helper()
	out := must(s.CreateAccessKey(as(root), &UserNameInput{UserName: name}))
	k, ok, err := s.ResolveKey(context.Background(), out.AccessKey.AccessKeyId)
	if err != nil || !ok {
		t.Fatalf("ResolveKey(%s) = %v %v", out.AccessKey.AccessKeyId, ok, err)
	}
	return k.Principal
}

const ecrReadOnly = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"

// PutUserPolicy is a test shorthand for the inline policy action.
func (s *Service) PutUserPolicy(ctx context.Context, user, name, doc string) (struct{}, error) {
	return struct{}{}, s.putInline(ctx, kindUser, "PutUserPolicy", &inlineInput{UserName: user, PolicyName: name, PolicyDocument: doc})
}
