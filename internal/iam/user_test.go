package iam

import (
	"context"
	"testing"
)

// TestUsersAndAccessKeys walks a user through its life: creation, keys up
// to the limit, deactivation, and deletion once nothing depends on it.
func TestUsersAndAccessKeys(t *testing.T) {
	s := newTestService(t)
	ctx := as(root)
	created := must(s.CreateUser(ctx, &CreateUserInput{UserName: "alice", Tags: []Tag{{"team", "infra"}}}))
	if created.User.Arn != "arn:aws:iam::123456789012:user/alice" || created.User.UserId[:4] != "AIDA" || created.User.Path != "/" {
		t.Fatalf("CreateUser = %+v", created.User)
	}
	for _, tt := range []struct {
		name string
		in   CreateUserInput
		code string
	}{
		{"duplicate", CreateUserInput{UserName: "alice"}, "EntityAlreadyExists"},
		{"duplicate in another case", CreateUserInput{UserName: "ALICE"}, "EntityAlreadyExists"},
		{"bad name", CreateUserInput{UserName: "a/b"}, "ValidationError"},
		{"empty name", CreateUserInput{}, "ValidationError"},
		{"bad path", CreateUserInput{UserName: "bob", Path: "team"}, "ValidationError"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateUser(ctx, &tt.in)
			wantCode(t, err, tt.code)
		})
	}
	must(s.CreateUser(ctx, &CreateUserInput{UserName: "bob", Path: "/team/"}))
	list := must(s.ListUsers(ctx, &ListUsersInput{}))
	if len(list.Users) != 2 || list.Users[0].UserName != "alice" || list.Users[1].Arn != "arn:aws:iam::123456789012:user/team/bob" {
		t.Fatalf("ListUsers = %+v", list.Users)
	}
	max := int32(1)
	page1 := must(s.ListUsers(ctx, &ListUsersInput{MaxItems: &max}))
	page2 := must(s.ListUsers(ctx, &ListUsersInput{MaxItems: &max, Marker: page1.Marker}))
	if !page1.IsTruncated || page2.IsTruncated || page2.Users[0].UserName != "bob" {
		t.Fatalf("paging: %+v / %+v", page1, page2)
	}

	k1 := must(s.CreateAccessKey(ctx, &UserNameInput{UserName: "alice"}))
	must(s.CreateAccessKey(ctx, &UserNameInput{UserName: "alice"}))
	_, err := s.CreateAccessKey(ctx, &UserNameInput{UserName: "alice"})
	wantCode(t, err, "LimitExceeded")
	_, err = s.CreateAccessKey(ctx, &UserNameInput{UserName: "nobody"})
	wantCode(t, err, "NoSuchEntity")
	id := k1.AccessKey.AccessKeyId
	if id[:4] != "AKIA" || len(id) != 20 || len(k1.AccessKey.SecretAccessKey) != 40 || k1.AccessKey.Status != "Active" {
		t.Fatalf("CreateAccessKey = %+v", k1.AccessKey)
	}
	key, ok, err := s.ResolveKey(context.Background(), id)
	if err != nil || !ok || key.Inactive || key.Principal.ARN != created.User.Arn || key.Principal.UserID != created.User.UserId || key.Principal.Root {
		t.Fatalf("ResolveKey = %+v %v %v", key, ok, err)
	}

	wantCode(t, second(s.UpdateAccessKey(ctx, &UpdateAccessKeyInput{UserName: "alice", AccessKeyId: id, Status: "Inactive"})), "")
	if key, _, _ := s.ResolveKey(context.Background(), id); !key.Inactive {
		t.Fatal("key still active after UpdateAccessKey Inactive")
	}
	wantCode(t, second(s.UpdateAccessKey(ctx, &UpdateAccessKeyInput{UserName: "alice", AccessKeyId: id, Status: "Paused"})), "ValidationError")
	wantCode(t, second(s.UpdateAccessKey(ctx, &UpdateAccessKeyInput{UserName: "bob", AccessKeyId: id, Status: "Active"})), "NoSuchEntity")
	keys := must(s.ListAccessKeys(ctx, &ListAccessKeysInput{UserName: "alice"}))
	if len(keys.AccessKeyMetadata) != 2 || keys.AccessKeyMetadata[0].Status != "Inactive" {
		t.Fatalf("ListAccessKeys = %+v", keys)
	}

	wantCode(t, second(s.DeleteUser(ctx, &DeleteUserInput{UserName: "alice"})), "DeleteConflict")
	for _, k := range keys.AccessKeyMetadata {
		wantCode(t, second(s.DeleteAccessKey(ctx, &DeleteAccessKeyInput{UserName: "alice", AccessKeyId: k.AccessKeyId})), "")
	}
	if _, ok, _ := s.ResolveKey(context.Background(), id); ok {
		t.Fatal("deleted key still resolves")
	}
	wantCode(t, second(s.DeleteUser(ctx, &DeleteUserInput{UserName: "alice"})), "")
	wantCode(t, second(s.GetUser(ctx, &GetUserInput{UserName: "alice"})), "NoSuchEntity")
}

// TestGetUserWithoutName answers for the caller.
func TestGetUserWithoutName(t *testing.T) {
	s := newTestService(t)
	must(s.CreateUser(as(root), &CreateUserInput{UserName: "carol"}))
	must(s.PutUserPolicy(as(root), "carol", "self", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}`))
	p := s.userPrincipal(t, "carol")
	out := must(s.GetUser(as(p), &GetUserInput{}))
	if out.User.UserName != "carol" {
		t.Fatalf("GetUser() as carol = %+v", out.User)
	}
	out = must(s.GetUser(as(root), &GetUserInput{}))
	if out.User.Arn != root.ARN {
		t.Fatalf("GetUser() as root = %+v", out.User)
	}
}

func second[T any](_ T, err error) error { return err }

// TestAuthorizeOnPaths: IAM actions are authorized against the entity's
// ARN with its path, so path-scoped policies work.
func TestAuthorizeOnPaths(t *testing.T) {
	s := newTestService(t)
	ctx := as(root)
	must(s.CreateUser(ctx, &CreateUserInput{UserName: "lead"}))
	must(s.CreateUser(ctx, &CreateUserInput{UserName: "member", Path: "/team/"}))
	must(s.CreateUser(ctx, &CreateUserInput{UserName: "outsider"}))
	must(s.PutUserPolicy(ctx, "lead", "team", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::123456789012:user/team/*"}]}`))
	lead := as(s.userPrincipal(t, "lead"))
	wantCode(t, second(s.GetUser(lead, &GetUserInput{UserName: "member"})), "")
	wantCode(t, second(s.CreateAccessKey(lead, &UserNameInput{UserName: "member"})), "")
	wantCode(t, second(s.GetUser(lead, &GetUserInput{UserName: "outsider"})), "AccessDeniedException")
}
