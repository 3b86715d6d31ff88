package iam

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/api"
)

// TestTags covers tagging users, roles and policies: tags given at
// creation, merging regardless of key case, removal, the quota, and that
// a refused request writes nothing.
func TestTags(t *testing.T) {
	s := newTestService(t)
	ctx := as(root)
	must(s.CreateUser(ctx, &CreateUserInput{UserName: "u", Tags: []Tag{{"team", "infra"}}}))
	must(s.CreateRole(ctx, &CreateRoleInput{RoleName: "r", AssumeRolePolicyDocument: trustUser("u"), Tags: []Tag{{"env", "prod"}}}))
	arn := must(s.CreatePolicy(ctx, &CreatePolicyInput{PolicyName: "p", PolicyDocument: allowECSRead, Tags: []Tag{{"owner", "me"}}})).Policy.Arn

	type target struct {
		tag   func([]Tag) error
		untag func(...string) error
		list  func() []Tag
	}
	targets := map[string]target{
		"user": {
			tag:   func(tags []Tag) error { return s.tagEntity(ctx, kindUser, "u", tags) },
			untag: func(keys ...string) error { return s.untagEntity(ctx, kindUser, "u", keys) },
			list:  func() []Tag { return must(s.listEntityTags(ctx, kindUser, "u", &tagInput{})).Tags },
		},
		"role": {
			tag:   func(tags []Tag) error { return s.tagEntity(ctx, kindRole, "r", tags) },
			untag: func(keys ...string) error { return s.untagEntity(ctx, kindRole, "r", keys) },
			list:  func() []Tag { return must(s.listEntityTags(ctx, kindRole, "r", &tagInput{})).Tags },
		},
		"policy": {
			tag:   func(tags []Tag) error { return s.tagPolicy(ctx, &tagInput{PolicyArn: arn, Tags: tags}) },
			untag: func(keys ...string) error { return s.untagPolicy(ctx, &tagInput{PolicyArn: arn, TagKeys: keys}) },
			list:  func() []Tag { return must(s.listPolicyTags(ctx, &tagInput{PolicyArn: arn})).Tags },
		},
	}
	for name, tg := range targets {
		t.Run(name, func(t *testing.T) {
			if got := tg.list(); len(got) != 1 {
				t.Fatalf("tags from creation = %+v", got)
			}
			wantCode(t, tg.tag([]Tag{{"a", "1"}, {"b", ""}}), "")
			wantCode(t, tg.tag([]Tag{{"A", "2"}}), "") // same key, other case: replaces
			if got := fmt.Sprint(tg.list()[1:]); got != "[{a 2} {b }]" {
				t.Fatalf("after tagging = %s", got)
			}
			many := make([]Tag, 48)
			for i := range many {
				many[i] = Tag{fmt.Sprintf("k%02d", i), "v"}
			}
			for _, tt := range []struct {
				name string
				tags []Tag
				code string
			}{
				{"duplicate keys", []Tag{{"x", "1"}, {"X", "2"}}, "InvalidInput"},
				{"bad key", []Tag{{"x", "1"}, {"no*stars", "2"}}, "ValidationError"},
				{"empty key", []Tag{{"", "1"}}, "ValidationError"},
				{"long value", []Tag{{"x", strings.Repeat("v", 257)}}, "ValidationError"},
				{"past the quota", many, "LimitExceeded"},
				{"too many in one request", append(many, Tag{"y1", ""}, Tag{"y2", ""}, Tag{"y3", ""}), "ValidationError"},
			} {
				wantCode(t, tg.tag(tt.tags), tt.code)
				if n := len(tg.list()); n != 3 {
					t.Fatalf("%s: refused request left %d tags", tt.name, n)
				}
			}
			wantCode(t, tg.untag("A", "missing"), "")
			if got := fmt.Sprint(tg.list()[1:]); got != "[{b }]" {
				t.Fatalf("after untagging = %s", got)
			}
		})
	}
	wantCode(t, second(s.CreateUser(ctx, &CreateUserInput{UserName: "bad", Tags: []Tag{{"k", "1"}, {"K", "2"}}})), "InvalidInput")
	wantCode(t, second(s.GetUser(ctx, &GetUserInput{UserName: "bad"})), "NoSuchEntity")
	wantCode(t, s.tagPolicy(ctx, &tagInput{PolicyArn: ecrReadOnly, Tags: []Tag{{"k", "v"}}}), "AccessDenied")
	wantCode(t, s.tagEntity(ctx, kindUser, "nobody", []Tag{{"k", "v"}}), "NoSuchEntity")
}

// TestTagConditions: aws:PrincipalTag from the caller's tags,
// aws:ResourceTag from the IAM user or role acted on, and aws:RequestTag
// and aws:TagKeys on tagging and creation.
func TestTagConditions(t *testing.T) {
	s := newTestService(t)
	ctx := as(root)
	must(s.CreateUser(ctx, &CreateUserInput{UserName: "admin", Tags: []Tag{{"team", "infra"}}}))
	must(s.CreateUser(ctx, &CreateUserInput{UserName: "peer", Tags: []Tag{{"team", "infra"}}}))
	must(s.CreateUser(ctx, &CreateUserInput{UserName: "outsider", Tags: []Tag{{"team", "web"}}}))
	must(s.PutUserPolicy(ctx, "admin", "scoped", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"iam:GetUser","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}}},
		{"Effect":"Allow","Action":["iam:TagUser","iam:CreateUser"],"Resource":"*","Condition":{
			"StringEquals":{"aws:RequestTag/team":"${aws:PrincipalTag/team}"},
			"ForAllValues:StringEquals":{"aws:TagKeys":["team","cost"]}}},
		{"Effect":"Allow","Action":"ecs:ListClusters","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"infra"}}}]}`))
	admin := as(s.userPrincipal(t, "admin"))

	for _, tt := range []struct {
		name string
		err  error
		code string
	}{
		{"same team's user", second(s.GetUser(admin, &GetUserInput{UserName: "peer"})), ""},
		{"other team's user", second(s.GetUser(admin, &GetUserInput{UserName: "outsider"})), api.CodeAccessDenied},
		{"tag with the caller's team", s.tagEntity(admin, kindUser, "outsider", []Tag{{"team", "infra"}, {"cost", "1"}}), ""},
		{"tag with another team", s.tagEntity(admin, kindUser, "peer", []Tag{{"team", "web"}}), api.CodeAccessDenied},
		{"tag an unlisted key", s.tagEntity(admin, kindUser, "peer", []Tag{{"team", "infra"}, {"owner", "x"}}), api.CodeAccessDenied},
		{"create with the caller's team", second(s.CreateUser(admin, &CreateUserInput{UserName: "new", Tags: []Tag{{"team", "infra"}}})), ""},
		{"create with another team", second(s.CreateUser(admin, &CreateUserInput{UserName: "new2", Tags: []Tag{{"team", "web"}}})), api.CodeAccessDenied},
		{"create without tags", second(s.CreateUser(admin, &CreateUserInput{UserName: "new3"})), api.CodeAccessDenied},
	} {
		t.Run(tt.name, func(t *testing.T) { wantCode(t, tt.err, tt.code) })
	}
	// outsider was retagged into the team above; the next call sees it.
	wantCode(t, second(s.GetUser(admin, &GetUserInput{UserName: "outsider"})), "")
	wantCode(t, second(s.GetUser(ctx, &GetUserInput{UserName: "new2"})), "NoSuchEntity") // the refused create wrote nothing

	// A change to the caller's own tags is seen by the next request.
	p := s.userPrincipal(t, "admin")
	wantCode(t, s.Authorize(context.Background(), p, "ecs:ListClusters", "*"), "")
	wantCode(t, s.tagEntity(ctx, kindUser, "admin", []Tag{{"team", "web"}}), "")
	wantCode(t, s.Authorize(context.Background(), p, "ecs:ListClusters", "*"), api.CodeAccessDenied)
}
