package iam

import (
	"slices"
	"testing"
)

// TestListUsersPagesUnderWrites checks that a listing paged by Marker
// resumes after the last user returned, whatever was created or deleted
// between the pages: no user is repeated or skipped that existed
// throughout.
func TestListUsersPagesUnderWrites(t *testing.T) {
	s := newTestService(t)
	ctx := as(root)
	for _, n := range []string{"b", "d", "f", "h"} {
		must(s.CreateUser(ctx, &CreateUserInput{UserName: "user-" + n}))
	}
	two := int32(2)
	page1 := must(s.ListUsers(ctx, &ListUsersInput{MaxItems: &two}))
	// Before the marker two created, the user it names deleted, one
	// created after it: an index would now point two users back.
	must(s.CreateUser(ctx, &CreateUserInput{UserName: "user-a"}))
	must(s.CreateUser(ctx, &CreateUserInput{UserName: "user-c"}))
	must(s.DeleteUser(ctx, &DeleteUserInput{UserName: "user-d"}))
	must(s.CreateUser(ctx, &CreateUserInput{UserName: "user-e"}))
	page2 := must(s.ListUsers(ctx, &ListUsersInput{MaxItems: &two, Marker: page1.Marker}))
	page3 := must(s.ListUsers(ctx, &ListUsersInput{MaxItems: &two, Marker: page2.Marker}))
	var got []string
	for _, p := range []*ListUsersOutput{page1, page2, page3} {
		for _, u := range p.Users {
			got = append(got, u.UserName)
		}
	}
	want := []string{"user-b", "user-d", "user-e", "user-f", "user-h"}
	if !slices.Equal(got, want) || !page1.IsTruncated || !page2.IsTruncated || page3.IsTruncated {
		t.Fatalf("pages = %v (truncated %v %v %v), want %v", got, page1.IsTruncated, page2.IsTruncated, page3.IsTruncated, want)
	}
	wantCode(t, second(s.ListUsers(ctx, &ListUsersInput{Marker: "not a marker!"})), "ValidationError")
}
