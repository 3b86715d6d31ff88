package iam

import (
	"cmp"
	"context"
	"errors"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/iam/policy"
	"github.com/berth-dev/berth/internal/store"
)

// Role is the IAM Role shape.
type Role struct {
	Path                     string
	RoleName                 string
	RoleId                   string
	Arn                      string
	CreateDate               time.Time
	AssumeRolePolicyDocument string `xml:",omitempty"`
	Description              string `xml:",omitempty"`
	MaxSessionDuration       int32
	Tags                     api.Members[Tag] `xml:",omitempty"`
}

func (e entity) role() Role {
	return Role{Path: e.Path, RoleName: e.Name, RoleId: e.ID, Arn: e.ARN, CreateDate: e.CreateDate,
		AssumeRolePolicyDocument: encodeDocument(e.TrustPolicy), Description: e.Description,
		MaxSessionDuration: e.MaxSessionDuration, Tags: e.Tags}
}

func (s *Service) handleRoles(q *api.QueryService) {
	q.Handle("CreateRole", api.QueryOp(s.CreateRole))
	q.Handle("GetRole", api.QueryOp(s.GetRole))
	q.Handle("ListRoles", api.QueryOp(s.ListRoles))
	q.Handle("DeleteRole", api.QueryOp(s.DeleteRole))
}

type CreateRoleInput struct {
	RoleName                 string
	Path                     string
	AssumeRolePolicyDocument string
	Description              string
	MaxSessionDuration       *int32
	Tags                     []Tag
}

type RoleOutput struct {
	Role Role
}

// CreateRole creates a role whose trust policy says who may assume it.
func (s *Service) CreateRole(ctx context.Context, in *CreateRoleInput) (*RoleOutput, error) {
	if err := checkName("RoleName", in.RoleName, 64); err != nil {
		return nil, err
	}
	path, err := checkPath(in.Path)
	if err != nil {
		return nil, err
	}
	maxSession := int32(3600)
	if in.MaxSessionDuration != nil {
		maxSession = *in.MaxSessionDuration
		if maxSession < 3600 || maxSession > 43200 {
			return nil, check.Range("maxSessionDuration", int(maxSession), 3600, 43200)
		}
	}
	if in.AssumeRolePolicyDocument == "" {
		return nil, check.Null("assumeRolePolicyDocument")
	}
	if err := checkTrustPolicy(in.AssumeRolePolicyDocument); err != nil {
		return nil, err
	}
	if policy.CharCount(in.AssumeRolePolicyDocument) > maxTrustPolicySize {
		return nil, limitExceeded("Cannot exceed quota for ACLSizePerRole: %d", maxTrustPolicySize)
	}
	arn := "arn:aws:iam::" + s.account + ":role" + path + in.RoleName
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if err := s.authorizeWith(ctx, "CreateRole", arn, requestTagKeys(in.Tags)); err != nil {
		return nil, err
	}
	if len(in.Tags) > 0 { // AWS asks for the tagging permission as well
		if err := s.authorizeWith(ctx, "TagRole", arn, requestTagKeys(in.Tags)); err != nil {
			return nil, err
		}
	}
	e := entity{Kind: kindRole, Name: in.RoleName, ID: newID("AROA", 17), ARN: arn, Path: path, CreateDate: s.nowUTC(), Tags: in.Tags,
		TrustPolicy: in.AssumeRolePolicyDocument, Description: in.Description, MaxSessionDuration: maxSession}
	key := entityKey(kindRole, in.RoleName)
	err = s.store.Commit(ctx, store.NewTxn().IfAbsent(key).Put(key, e))
	if errors.Is(err, store.ErrConflict) {
		return nil, alreadyExists("Role with name %s already exists.", in.RoleName)
	}
	if err != nil {
		return nil, err
	}
	return &RoleOutput{Role: e.role()}, nil
}

type RoleNameInput struct {
	RoleName string
}

// GetRole describes a role, its trust policy URL-encoded as IAM returns it.
func (s *Service) GetRole(ctx context.Context, in *RoleNameInput) (*RoleOutput, error) {
	if err := checkName("RoleName", in.RoleName, 64); err != nil {
		return nil, err
	}
	if err := s.authorizeOn(ctx, "GetRole", kindRole, in.RoleName, nil); err != nil {
		return nil, err
	}
	it, err := s.getEntity(ctx, kindRole, in.RoleName)
	if err != nil {
		return nil, err
	}
	return &RoleOutput{Role: it.Value.role()}, nil
}

type ListRolesInput struct {
	PathPrefix string
	Marker     string
	MaxItems   *int32
}

type ListRolesOutput struct {
	Roles       api.Members[Role]
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

// ListRoles lists the account's roles by name.
func (s *Service) ListRoles(ctx context.Context, in *ListRolesInput) (*ListRolesOutput, error) {
	if err := s.authorize(ctx, "ListRoles", "arn:aws:iam::"+s.account+":role/"); err != nil {
		return nil, err
	}
	all, err := s.listEntities(ctx, kindRole, orSlash(in.PathPrefix))
	if err != nil {
		return nil, err
	}
	items, truncated, marker, err := page(all, byName, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &ListRolesOutput{Roles: api.Members[Role]{}, IsTruncated: truncated, Marker: marker}
	for _, e := range items {
		out.Roles = append(out.Roles, e.role())
	}
	return out, nil
}

// DeleteRole deletes a role without policies. Sessions already issued
// stop working with it: their permissions come from the role.
func (s *Service) DeleteRole(ctx context.Context, in *RoleNameInput) (*struct{}, error) {
	if err := checkName("RoleName", in.RoleName, 64); err != nil {
		return nil, err
	}
	if err := s.authorizeOn(ctx, "DeleteRole", kindRole, in.RoleName, nil); err != nil {
		return nil, err
	}
	if used, err := s.roleInProfile(ctx, in.RoleName); err != nil || used {
		return nil, cmp.Or(err, deleteConflict("Cannot delete entity, must remove roles from instance profile first."))
	}
	return nil, s.deleteEntity(ctx, kindRole, in.RoleName)
}
