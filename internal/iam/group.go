package iam

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// maxGroupsPerUser is IAM's quota of groups a user can be in.
const maxGroupsPerUser = 10

// Group is the IAM Group shape.
type Group struct {
	Path       string
	GroupName  string
	GroupId    string
	Arn        string
	CreateDate time.Time
}

func (e entity) group() Group {
	return Group{Path: e.Path, GroupName: e.Name, GroupId: e.ID, Arn: e.ARN, CreateDate: e.CreateDate}
}

func (s *Service) handleGroups(q *api.QueryService) {
	q.Handle("CreateGroup", api.QueryOp(s.CreateGroup))
	q.Handle("GetGroup", api.QueryOp(s.GetGroup))
	q.Handle("ListGroups", api.QueryOp(s.ListGroups))
	q.Handle("DeleteGroup", api.QueryOp(s.DeleteGroup))
	q.Handle("AddUserToGroup", api.QueryOp(s.AddUserToGroup))
	q.Handle("RemoveUserFromGroup", api.QueryOp(s.RemoveUserFromGroup))
	q.Handle("ListGroupsForUser", api.QueryOp(s.ListGroupsForUser))
}

type CreateGroupInput struct {
	GroupName string
	Path      string
}

type GroupOutput struct {
	Group Group
}

// CreateGroup creates a group without members or policies.
func (s *Service) CreateGroup(ctx context.Context, in *CreateGroupInput) (*GroupOutput, error) {
	if err := checkName("GroupName", in.GroupName, kindGroup.maxName()); err != nil {
		return nil, err
	}
	path, err := checkPath(in.Path)
	if err != nil {
		return nil, err
	}
	arn := "arn:aws:iam::" + s.account + ":group" + path + in.GroupName
	if err := s.authorize(ctx, "CreateGroup", arn); err != nil {
		return nil, err
	}
	e := entity{Kind: kindGroup, Name: in.GroupName, ID: newID("AGPA", 17), ARN: arn, Path: path, CreateDate: s.nowUTC()}
	key := entityKey(kindGroup, in.GroupName)
	err = s.store.Commit(ctx, store.NewTxn().IfAbsent(key).Put(key, e))
	if errors.Is(err, store.ErrConflict) {
		return nil, alreadyExists("Group with name %s already exists.", in.GroupName)
	}
	if err != nil {
		return nil, err
	}
	return &GroupOutput{Group: e.group()}, nil
}

type GetGroupInput struct {
	GroupName string
	Marker    string
	MaxItems  *int32
}

type GetGroupOutput struct {
	Group       Group
	Users       api.Members[User]
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

// GetGroup describes a group and pages through its users by name.
func (s *Service) GetGroup(ctx context.Context, in *GetGroupInput) (*GetGroupOutput, error) {
	if err := checkName("GroupName", in.GroupName, kindGroup.maxName()); err != nil {
		return nil, err
	}
	if err := s.authorizeOn(ctx, "GetGroup", kindGroup, in.GroupName, nil); err != nil {
		return nil, err
	}
	it, err := s.getEntity(ctx, kindGroup, in.GroupName)
	if err != nil {
		return nil, err
	}
	members := slices.SortedFunc(slices.Values(it.Value.Users), func(a, b string) int {
		return strings.Compare(strings.ToLower(a), strings.ToLower(b))
	})
	names, truncated, marker, err := page(members, strings.ToLower, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &GetGroupOutput{Group: it.Value.group(), Users: api.Members[User]{}, IsTruncated: truncated, Marker: marker}
	for _, name := range names {
		u, err := s.getEntity(ctx, kindUser, name)
		if err != nil {
			continue // deleted meanwhile
		}
		out.Users = append(out.Users, u.Value.user())
	}
	return out, nil
}

type ListGroupsInput struct {
	PathPrefix string
	Marker     string
	MaxItems   *int32
}

type ListGroupsOutput struct {
	Groups      api.Members[Group]
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

// ListGroups lists the account's groups by name.
func (s *Service) ListGroups(ctx context.Context, in *ListGroupsInput) (*ListGroupsOutput, error) {
	if err := s.authorize(ctx, "ListGroups", "arn:aws:iam::"+s.account+":group/"); err != nil {
		return nil, err
	}
	all, err := s.listEntities(ctx, kindGroup, orSlash(in.PathPrefix))
	if err != nil {
		return nil, err
	}
	return groupsPage(all, in.Marker, in.MaxItems)
}

func groupsPage(all []entity, marker string, maxItems *int32) (*ListGroupsOutput, error) {
	items, truncated, next, err := page(all, byName, marker, maxItems)
	if err != nil {
		return nil, err
	}
	out := &ListGroupsOutput{Groups: api.Members[Group]{}, IsTruncated: truncated, Marker: next}
	for _, e := range items {
		out.Groups = append(out.Groups, e.group())
	}
	return out, nil
}

type GroupNameInput struct {
	GroupName string
}

// DeleteGroup deletes a group without members and policies.
func (s *Service) DeleteGroup(ctx context.Context, in *GroupNameInput) (*struct{}, error) {
	if err := checkName("GroupName", in.GroupName, kindGroup.maxName()); err != nil {
		return nil, err
	}
	if err := s.authorizeOn(ctx, "DeleteGroup", kindGroup, in.GroupName, nil); err != nil {
		return nil, err
	}
	return nil, s.deleteEntity(ctx, kindGroup, in.GroupName)
}

type GroupMemberInput struct {
	GroupName string
	UserName  string
}

// AddUserToGroup makes a user a member of a group, at most ten groups
// per user. Adding a member twice changes nothing.
func (s *Service) AddUserToGroup(ctx context.Context, in *GroupMemberInput) (*struct{}, error) {
	return nil, s.membership(ctx, "AddUserToGroup", in, true)
}

// RemoveUserFromGroup ends a user's membership of a group.
func (s *Service) RemoveUserFromGroup(ctx context.Context, in *GroupMemberInput) (*struct{}, error) {
	return nil, s.membership(ctx, "RemoveUserFromGroup", in, false)
}

// membership adds (on) or removes a user to or from a group, writing the
// user's and the group's records in one conditional transaction so the
// two sides never disagree.
func (s *Service) membership(ctx context.Context, action string, in *GroupMemberInput, on bool) error {
	if err := checkName("GroupName", in.GroupName, kindGroup.maxName()); err != nil {
		return err
	}
	if err := checkName("UserName", in.UserName, kindUser.maxName()); err != nil {
		return err
	}
	if err := s.authorizeOn(ctx, action, kindGroup, in.GroupName, nil); err != nil {
		return err
	}
	return store.Retry(ctx, func() error {
		g, err := s.getEntity(ctx, kindGroup, in.GroupName)
		if err != nil {
			return err
		}
		u, err := s.getEntity(ctx, kindUser, in.UserName)
		if err != nil {
			return err
		}
		gi := slices.Index(g.Value.Users, u.Value.Name)
		ui := slices.Index(u.Value.Groups, g.Value.Name)
		switch {
		case on && gi >= 0:
			return nil
		case !on && gi < 0:
			return noSuchEntity("The user with name %s cannot be found.", in.UserName)
		case on && len(u.Value.Groups) >= maxGroupsPerUser:
			return limitExceeded("Cannot exceed quota for GroupsPerUser: %d", maxGroupsPerUser)
		case on:
			g.Value.Users = append(g.Value.Users, u.Value.Name)
			u.Value.Groups = append(u.Value.Groups, g.Value.Name)
		default:
			g.Value.Users = slices.Delete(g.Value.Users, gi, gi+1)
			if ui >= 0 {
				u.Value.Groups = slices.Delete(u.Value.Groups, ui, ui+1)
			}
		}
		txn := store.NewTxn().IfRev(g.Key, g.Rev).IfRev(u.Key, u.Rev).Put(g.Key, g.Value).Put(u.Key, u.Value)
		return s.store.Commit(ctx, txn)
	})
}

type ListGroupsForUserInput struct {
	UserName string
	Marker   string
	MaxItems *int32
}

// ListGroupsForUser lists the groups a user is in, by name.
func (s *Service) ListGroupsForUser(ctx context.Context, in *ListGroupsForUserInput) (*ListGroupsOutput, error) {
	if err := checkName("UserName", in.UserName, kindUser.maxName()); err != nil {
		return nil, err
	}
	if err := s.authorizeOn(ctx, "ListGroupsForUser", kindUser, in.UserName, nil); err != nil {
		return nil, err
	}
	u, err := s.getEntity(ctx, kindUser, in.UserName)
	if err != nil {
		return nil, err
	}
	var groups []entity
	for _, name := range u.Value.Groups {
		g, err := s.getEntity(ctx, kindGroup, name)
		if err != nil {
			continue // deleted meanwhile
		}
		groups = append(groups, g.Value)
	}
	slices.SortFunc(groups, func(a, b entity) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return groupsPage(groups, in.Marker, in.MaxItems)
}
