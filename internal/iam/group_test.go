package iam

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/api"
)

// groupFixture creates users and groups, and puts each user in the named groups.
func groupFixture(t *testing.T, s *Service, members map[string][]string) {
	t.Helper()
	ctx := as(root)
	groups := map[string]bool{}
	for user, gs := range members {
		must(s.CreateUser(ctx, &CreateUserInput{UserName: user}))
		for _, g := range gs {
			if !groups[g] {
				groups[g] = true
				must(s.CreateGroup(ctx, &CreateGroupInput{GroupName: g}))
			}
			must(s.AddUserToGroup(ctx, &GroupMemberInput{GroupName: g, UserName: user}))
		}
	}
}

// TestGroups walks groups through their life: creation, membership on
// both sides, paging, and deletion only once nothing depends on them.
func TestGroups(t *testing.T) {
	s := newTestService(t)
	ctx := as(root)
	created := must(s.CreateGroup(ctx, &CreateGroupInput{GroupName: "devs", Path: "/eng/"}))
	if created.Group.Arn != "arn:aws:iam::123456789012:group/eng/devs" || created.Group.GroupId[:4] != "AGPA" || created.Group.Path != "/eng/" {
		t.Fatalf("CreateGroup = %+v", created.Group)
	}
	must(s.CreateGroup(ctx, &CreateGroupInput{GroupName: "ops"}))
	for _, u := range []string{"carol", "alice", "bob"} {
		must(s.CreateUser(ctx, &CreateUserInput{UserName: u}))
	}

	for _, tt := range []struct {
		name string
		err  error
		code string
	}{
		{"duplicate group", second(s.CreateGroup(ctx, &CreateGroupInput{GroupName: "DEVS"})), "EntityAlreadyExists"},
		{"bad group name", second(s.CreateGroup(ctx, &CreateGroupInput{GroupName: "a b"})), "ValidationError"},
		{"bad path", second(s.CreateGroup(ctx, &CreateGroupInput{GroupName: "x", Path: "eng"})), "ValidationError"},
		{"add to missing group", second(s.AddUserToGroup(ctx, &GroupMemberInput{GroupName: "none", UserName: "alice"})), "NoSuchEntity"},
		{"add missing user", second(s.AddUserToGroup(ctx, &GroupMemberInput{GroupName: "devs", UserName: "none"})), "NoSuchEntity"},
		{"remove non-member", second(s.RemoveUserFromGroup(ctx, &GroupMemberInput{GroupName: "devs", UserName: "alice"})), "NoSuchEntity"},
		{"get missing group", second(s.GetGroup(ctx, &GetGroupInput{GroupName: "none"})), "NoSuchEntity"},
	} {
		t.Run(tt.name, func(t *testing.T) { wantCode(t, tt.err, tt.code) })
	}

	for _, u := range []string{"carol", "alice", "bob"} {
		must(s.AddUserToGroup(ctx, &GroupMemberInput{GroupName: "devs", UserName: u}))
	}
	must(s.AddUserToGroup(ctx, &GroupMemberInput{GroupName: "devs", UserName: "alice"})) // twice changes nothing
	must(s.AddUserToGroup(ctx, &GroupMemberInput{GroupName: "ops", UserName: "alice"}))

	two := int32(2)
	p1 := must(s.GetGroup(ctx, &GetGroupInput{GroupName: "devs", MaxItems: &two}))
	p2 := must(s.GetGroup(ctx, &GetGroupInput{GroupName: "devs", MaxItems: &two, Marker: p1.Marker}))
	if got := userNames(p1.Users) + "|" + userNames(p2.Users); got != "alice,bob|carol" || !p1.IsTruncated || p2.IsTruncated {
		t.Fatalf("GetGroup pages = %s (truncated %v, %v)", got, p1.IsTruncated, p2.IsTruncated)
	}
	forAlice := must(s.ListGroupsForUser(ctx, &ListGroupsForUserInput{UserName: "alice"}))
	if len(forAlice.Groups) != 2 || forAlice.Groups[0].GroupName != "devs" || forAlice.Groups[1].GroupName != "ops" {
		t.Fatalf("ListGroupsForUser = %+v", forAlice.Groups)
	}
	if eng := must(s.ListGroups(ctx, &ListGroupsInput{PathPrefix: "/eng/"})); len(eng.Groups) != 1 || eng.Groups[0].GroupName != "devs" {
		t.Fatalf("ListGroups /eng/ = %+v", eng.Groups)
	}
	if all := must(s.ListGroups(ctx, &ListGroupsInput{})); len(all.Groups) != 2 {
		t.Fatalf("ListGroups = %+v", all.Groups)
	}

	// Neither side can be deleted while the membership lasts.
	members := "Cannot delete entity, must remove users from group first."
	wantMessage(t, second(s.DeleteUser(ctx, &DeleteUserInput{UserName: "alice"})), "DeleteConflict", members)
	wantMessage(t, second(s.DeleteGroup(ctx, &GroupNameInput{GroupName: "ops"})), "DeleteConflict", members)
	must(s.RemoveUserFromGroup(ctx, &GroupMemberInput{GroupName: "ops", UserName: "alice"}))
	if forAlice := must(s.ListGroupsForUser(ctx, &ListGroupsForUserInput{UserName: "alice"})); len(forAlice.Groups) != 1 {
		t.Fatalf("after removal, ListGroupsForUser = %+v", forAlice.Groups)
	}

	// Nor while it has policies.
	must(s.PutGroupPolicy(ctx, "ops", "read", allowECSRead))
	wantMessage(t, second(s.DeleteGroup(ctx, &GroupNameInput{GroupName: "ops"})), "DeleteConflict", "Cannot delete entity, must delete policies first.")
	got := must(s.getInline(ctx, kindGroup, "GetGroupPolicy", &inlineInput{GroupName: "ops", PolicyName: "read"}))
	if got.GroupName != "ops" || got.PolicyDocument != encodeDocument(allowECSRead) {
		t.Fatalf("GetGroupPolicy = %+v", got)
	}
	if names := must(s.listInline(ctx, kindGroup, "ListGroupPolicies", &inlineInput{GroupName: "ops"})); len(names.PolicyNames) != 1 {
		t.Fatalf("ListGroupPolicies = %+v", names)
	}
	wantCode(t, s.deleteInline(ctx, kindGroup, "DeleteGroupPolicy", &inlineInput{GroupName: "ops", PolicyName: "read"}), "")
	wantCode(t, s.attach(ctx, kindGroup, "AttachGroupPolicy", &attachInput{GroupName: "ops", PolicyArn: ecrReadOnly}, true), "")
	wantMessage(t, second(s.DeleteGroup(ctx, &GroupNameInput{GroupName: "ops"})), "DeleteConflict", "Cannot delete entity, must detach all policies first.")
	if att := must(s.listAttached(ctx, kindGroup, "ListAttachedGroupPolicies", &attachInput{GroupName: "ops"})); len(att.AttachedPolicies) != 1 {
		t.Fatalf("ListAttachedGroupPolicies = %+v", att)
	}
	wantCode(t, s.attach(ctx, kindGroup, "DetachGroupPolicy", &attachInput{GroupName: "ops", PolicyArn: ecrReadOnly}, false), "")
	wantCode(t, second(s.DeleteGroup(ctx, &GroupNameInput{GroupName: "ops"})), "")
	wantCode(t, second(s.GetGroup(ctx, &GetGroupInput{GroupName: "ops"})), "NoSuchEntity")
}

// TestGroupQuotas: ten groups per user and ten managed policies per
// group; a refused request writes nothing.
func TestGroupQuotas(t *testing.T) {
	s := newTestService(t)
	ctx := as(root)
	var groups []string
	for i := range 11 {
		groups = append(groups, fmt.Sprintf("g%02d", i))
	}
	groupFixture(t, s, map[string][]string{"busy": groups[:10]})
	must(s.CreateGroup(ctx, &CreateGroupInput{GroupName: groups[10]}))
	wantMessage(t, second(s.AddUserToGroup(ctx, &GroupMemberInput{GroupName: groups[10], UserName: "busy"})), "LimitExceeded", "Cannot exceed quota for GroupsPerUser: 10")
	if g := must(s.GetGroup(ctx, &GetGroupInput{GroupName: groups[10]})); len(g.Users) != 0 {
		t.Fatalf("refused membership was written: %+v", g.Users)
	}

	for i := range maxAttached {
		arn := must(s.CreatePolicy(ctx, &CreatePolicyInput{PolicyName: fmt.Sprintf("p%d", i), PolicyDocument: allowECSRead})).Policy.Arn
		wantCode(t, s.attach(ctx, kindGroup, "AttachGroupPolicy", &attachInput{GroupName: "g00", PolicyArn: arn}, true), "")
	}
	err := s.attach(ctx, kindGroup, "AttachGroupPolicy", &attachInput{GroupName: "g00", PolicyArn: ecrReadOnly}, true)
	wantMessage(t, err, "LimitExceeded", "Cannot exceed quota for PoliciesPerGroup: 10")
}

// TestGroupPoliciesAuthorize: a user may do what its groups' inline and
// attached policies allow, and membership or group policy changes take
// effect on the next request despite the cache.
func TestGroupPoliciesAuthorize(t *testing.T) {
	s := newTestService(t)
	ctx := as(root)
	groupFixture(t, s, map[string][]string{"dev": {"readers", "deployers"}, "other": nil})
	wantCode(t, s.attach(ctx, kindGroup, "AttachGroupPolicy", &attachInput{GroupName: "readers", PolicyArn: ecrReadOnly}, true), "")
	must(s.PutGroupPolicy(ctx, "deployers", "deny-delete", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ecr:BatchGetImage","Resource":"`+repoARN+`"}]}`))
	dev, other := s.userPrincipal(t, "dev"), s.userPrincipal(t, "other")

	check := func(t *testing.T, p api.Principal, action, want string) {
		t.Helper()
		err := s.Authorize(context.Background(), p, action, repoARN)
		if want == "" {
			wantCode(t, err, "")
			return
		}
		wantCode(t, err, api.CodeAccessDenied)
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: %v, want %q", action, err, want)
		}
	}
	for _, tt := range []struct {
		name, action string
		p            api.Principal
		want         string
	}{
		{"group's managed policy allows", "ecr:DescribeRepositories", dev, ""},
		{"not granted by any group", "ecr:CreateRepository", dev, "because no identity-based policy allows"},
		{"another group's inline deny wins", "ecr:BatchGetImage", dev, "with an explicit deny in an identity-based policy"},
		{"not a member", "ecr:DescribeRepositories", other, "because no identity-based policy allows"},
	} {
		t.Run(tt.name, func(t *testing.T) { check(t, tt.p, tt.action, tt.want) })
	}

	// Each change is seen by the next call.
	must(s.RemoveUserFromGroup(ctx, &GroupMemberInput{GroupName: "deployers", UserName: "dev"}))
	check(t, dev, "ecr:BatchGetImage", "")
	wantCode(t, s.attach(ctx, kindGroup, "DetachGroupPolicy", &attachInput{GroupName: "readers", PolicyArn: ecrReadOnly}, false), "")
	check(t, dev, "ecr:DescribeRepositories", "because no identity-based policy allows")
	must(s.PutGroupPolicy(ctx, "readers", "describe", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:Describe*","Resource":"*"}]}`))
	check(t, dev, "ecr:DescribeRepositories", "")
	must(s.AddUserToGroup(ctx, &GroupMemberInput{GroupName: "readers", UserName: "other"}))
	check(t, other, "ecr:DescribeRepositories", "")

	// Leaving the group takes its permissions away at once.
	must(s.RemoveUserFromGroup(ctx, &GroupMemberInput{GroupName: "readers", UserName: "other"}))
	check(t, other, "ecr:DescribeRepositories", "because no identity-based policy allows")
}

// PutGroupPolicy is a test shorthand for the inline policy action.
func (s *Service) PutGroupPolicy(ctx context.Context, group, name, doc string) (struct{}, error) {
	return struct{}{}, s.putInline(ctx, kindGroup, "PutGroupPolicy", &inlineInput{GroupName: group, PolicyName: name, PolicyDocument: doc})
}

func userNames(us []User) string {
	var names []string
	for _, u := range us {
		names = append(names, u.UserName)
	}
	return strings.Join(names, ",")
}

// wantMessage is wantCode that also checks the error's message.
func wantMessage(t *testing.T, err error, code, msg string) {
	t.Helper()
	wantCode(t, err, code)
	if got := api.AsError(err).Message; got != msg {
		t.Fatalf("message = %q, want %q", got, msg)
	}
}
