package iam

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// User is the IAM User shape.
type User struct {
	Path       string
	UserName   string
	UserId     string
	Arn        string
	CreateDate time.Time
	Tags       api.Members[Tag] `xml:",omitempty"`
}

func (e entity) user() User {
	return User{Path: e.Path, UserName: e.Name, UserId: e.ID, Arn: e.ARN, CreateDate: e.CreateDate, Tags: e.Tags}
}

type CreateUserInput struct {
	UserName string
	Path     string
	Tags     []Tag
}

type UserOutput struct {
	User User
}

// CreateUser creates a user without credentials or permissions.
func (s *Service) CreateUser(ctx context.Context, in *CreateUserInput) (*UserOutput, error) {
	if err := checkName("UserName", in.UserName, 64); err != nil {
		return nil, err
	}
	path, err := checkPath(in.Path)
	if err != nil {
		return nil, err
	}
	arn := "arn:aws:iam::" + s.account + ":user" + path + in.UserName
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if err := s.authorizeWith(ctx, "CreateUser", arn, requestTagKeys(in.Tags)); err != nil {
		return nil, err
	}
	if len(in.Tags) > 0 { // AWS asks for the tagging permission as well
		if err := s.authorizeWith(ctx, "TagUser", arn, requestTagKeys(in.Tags)); err != nil {
			return nil, err
		}
	}
	e := entity{Kind: kindUser, Name: in.UserName, ID: newID("AIDA", 17), ARN: arn, Path: path, CreateDate: s.nowUTC(), Tags: in.Tags}
	key := entityKey(kindUser, in.UserName)
	err = s.store.Commit(ctx, store.NewTxn().IfAbsent(key).Put(key, e))
	if errors.Is(err, store.ErrConflict) {
		return nil, alreadyExists("User with name %s already exists.", in.UserName)
	}
	if err != nil {
		return nil, err
	}
	return &UserOutput{User: e.user()}, nil
}

type GetUserInput struct {
	UserName string
}

// GetUser describes a user; without a name, the calling user.
func (s *Service) GetUser(ctx context.Context, in *GetUserInput) (*UserOutput, error) {
	p := api.PrincipalFrom(ctx)
	name := in.UserName
	if name == "" {
		if p.Root {
			return &UserOutput{User: User{Path: "/", UserId: p.Account, Arn: p.ARN}}, nil
		}
		if !strings.Contains(p.ARN, ":user/") {
			return nil, validationError("Must specify userName when calling with non-User credentials")
		}
		name = lastSegment(p.ARN)
	}
	if err := s.authorizeOn(ctx, "GetUser", kindUser, name, nil); err != nil {
		return nil, err
	}
	it, err := s.getEntity(ctx, kindUser, name)
	if err != nil {
		return nil, err
	}
	return &UserOutput{User: it.Value.user()}, nil
}

type ListUsersInput struct {
	PathPrefix string
	Marker     string
	MaxItems   *int32
}

type ListUsersOutput struct {
	Users       api.Members[User]
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

// ListUsers lists the account's users by name.
func (s *Service) ListUsers(ctx context.Context, in *ListUsersInput) (*ListUsersOutput, error) {
	if err := s.authorize(ctx, "ListUsers", "arn:aws:iam::"+s.account+":user/"); err != nil {
		return nil, err
	}
	all, err := s.listEntities(ctx, kindUser, orSlash(in.PathPrefix))
	if err != nil {
		return nil, err
	}
	items, truncated, marker, err := page(all, byName, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &ListUsersOutput{Users: api.Members[User]{}, IsTruncated: truncated, Marker: marker}
	for _, e := range items {
		out.Users = append(out.Users, e.user())
	}
	return out, nil
}

type DeleteUserInput struct {
	UserName string
}

// DeleteUser deletes a user that has no access keys and no policies left.
func (s *Service) DeleteUser(ctx context.Context, in *DeleteUserInput) (*struct{}, error) {
	if err := checkName("UserName", in.UserName, 64); err != nil {
		return nil, err
	}
	if err := s.authorizeOn(ctx, "DeleteUser", kindUser, in.UserName, nil); err != nil {
		return nil, err
	}
	return nil, s.deleteEntity(ctx, kindUser, in.UserName)
}

func orSlash(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// lastSegment returns the name at the end of an IAM ARN's resource path.
func lastSegment(arn string) string {
	return arn[strings.LastIndex(arn, "/")+1:]
}
