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

// An instance profile carries one role to an EC2 instance: the agent of an
// instance launched with it acts as that role (see InstanceCredentials).

const profilesPrefix = prefix + "instanceprofiles/"

// instanceProfile is the stored record; the role is kept by name and
// described from its own record, so a profile always shows the role as
// it is now.
type instanceProfile struct {
	Name       string    `json:"name"`
	ID         string    `json:"id"`
	ARN        string    `json:"arn"`
	Path       string    `json:"path"`
	CreateDate time.Time `json:"createDate"`
	Roles      []string  `json:"roles,omitempty"`
	Tags       []Tag     `json:"tags,omitempty"`
}

// InstanceProfile is the IAM InstanceProfile shape.
type InstanceProfile struct {
	Path                string
	InstanceProfileName string
	InstanceProfileId   string
	Arn                 string
	CreateDate          time.Time
	Roles               api.Members[Role]
	Tags                api.Members[Tag] `xml:",omitempty"`
}

func (s *Service) handleInstanceProfiles(q *api.QueryService) {
	q.Handle("CreateInstanceProfile", api.QueryOp(s.CreateInstanceProfile))
	q.Handle("GetInstanceProfile", api.QueryOp(s.GetInstanceProfile))
	q.Handle("ListInstanceProfiles", api.QueryOp(s.ListInstanceProfiles))
	q.Handle("DeleteInstanceProfile", api.QueryOp(s.DeleteInstanceProfile))
	q.Handle("AddRoleToInstanceProfile", api.QueryOp(s.AddRoleToInstanceProfile))
	q.Handle("RemoveRoleFromInstanceProfile", api.QueryOp(s.RemoveRoleFromInstanceProfile))
	q.Handle("ListInstanceProfilesForRole", api.QueryOp(s.ListInstanceProfilesForRole))
}

func profileKey(name string) string { return profilesPrefix + strings.ToLower(name) }

// describe renders a profile with its role as the role's record says now;
// a role deleted meanwhile is left out.
func (s *Service) describeProfile(ctx context.Context, p instanceProfile) (InstanceProfile, error) {
	out := InstanceProfile{Path: p.Path, InstanceProfileName: p.Name, InstanceProfileId: p.ID, Arn: p.ARN,
		CreateDate: p.CreateDate, Roles: api.Members[Role]{}, Tags: p.Tags}
	for _, name := range p.Roles {
		it, err := s.getEntity(ctx, kindRole, name)
		if isNoSuchEntity(err) {
			continue
		}
		if err != nil {
			return out, err
		}
		out.Roles = append(out.Roles, it.Value.role())
	}
	return out, nil
}

func isNoSuchEntity(err error) bool { return isCode(err, "NoSuchEntity") }

func (s *Service) getProfile(ctx context.Context, name string) (store.Item[instanceProfile], error) {
	it, err := store.Get[instanceProfile](ctx, s.store, profileKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return it, noSuchEntity("Instance Profile %s cannot be found.", name)
	}
	return it, err
}

// profileARN is the ARN an action on a profile is authorized against.
func (s *Service) profileARN(ctx context.Context, name string) string {
	if it, err := s.getProfile(ctx, name); err == nil {
		return it.Value.ARN
	}
	return "arn:aws:iam::" + s.account + ":instance-profile/" + name
}

type CreateInstanceProfileInput struct {
	InstanceProfileName string
	Path                string
	Tags                []Tag
}

type InstanceProfileOutput struct {
	InstanceProfile InstanceProfile
}

// CreateInstanceProfile creates an empty instance profile.
func (s *Service) CreateInstanceProfile(ctx context.Context, in *CreateInstanceProfileInput) (*InstanceProfileOutput, error) {
	if err := checkName("InstanceProfileName", in.InstanceProfileName, 128); err != nil {
		return nil, err
	}
	path, err := checkPath(in.Path)
	if err != nil {
		return nil, err
	}
	arn := "arn:aws:iam::" + s.account + ":instance-profile" + path + in.InstanceProfileName
	if err := s.authorize(ctx, "CreateInstanceProfile", arn); err != nil {
		return nil, err
	}
	p := instanceProfile{Name: in.InstanceProfileName, ID: newID("AIPA", 17), ARN: arn, Path: path,
		CreateDate: s.nowUTC(), Tags: in.Tags}
	key := profileKey(p.Name)
	err = s.store.Commit(ctx, store.NewTxn().IfAbsent(key).Put(key, p))
	if errors.Is(err, store.ErrConflict) {
		return nil, alreadyExists("Instance Profile %s already exists.", p.Name)
	}
	if err != nil {
		return nil, err
	}
	out, err := s.describeProfile(ctx, p)
	return &InstanceProfileOutput{InstanceProfile: out}, err
}

type InstanceProfileNameInput struct {
	InstanceProfileName string
}

// GetInstanceProfile describes a profile and its role.
func (s *Service) GetInstanceProfile(ctx context.Context, in *InstanceProfileNameInput) (*InstanceProfileOutput, error) {
	if err := checkName("InstanceProfileName", in.InstanceProfileName, 128); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "GetInstanceProfile", s.profileARN(ctx, in.InstanceProfileName)); err != nil {
		return nil, err
	}
	it, err := s.getProfile(ctx, in.InstanceProfileName)
	if err != nil {
		return nil, err
	}
	out, err := s.describeProfile(ctx, it.Value)
	return &InstanceProfileOutput{InstanceProfile: out}, err
}

type ListInstanceProfilesInput struct {
	PathPrefix string
	Marker     string
	MaxItems   *int32
}

type ListInstanceProfilesOutput struct {
	InstanceProfiles api.Members[InstanceProfile]
	IsTruncated      bool
	Marker           string `xml:",omitempty"`
}

// ListInstanceProfiles lists the account's profiles by name.
func (s *Service) ListInstanceProfiles(ctx context.Context, in *ListInstanceProfilesInput) (*ListInstanceProfilesOutput, error) {
	if err := s.authorize(ctx, "ListInstanceProfiles", "arn:aws:iam::"+s.account+":instance-profile/"); err != nil {
		return nil, err
	}
	all, err := s.listProfiles(ctx, func(p instanceProfile) bool { return strings.HasPrefix(p.Path, orSlash(in.PathPrefix)) })
	if err != nil {
		return nil, err
	}
	return s.profilePage(ctx, all, in.Marker, in.MaxItems)
}

type ListInstanceProfilesForRoleInput struct {
	RoleName string
	Marker   string
	MaxItems *int32
}

// ListInstanceProfilesForRole lists the profiles that carry a role.
func (s *Service) ListInstanceProfilesForRole(ctx context.Context, in *ListInstanceProfilesForRoleInput) (*ListInstanceProfilesOutput, error) {
	if err := checkName("RoleName", in.RoleName, 64); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "ListInstanceProfilesForRole", s.arnOf(ctx, kindRole, in.RoleName)); err != nil {
		return nil, err
	}
	if _, err := s.getEntity(ctx, kindRole, in.RoleName); err != nil {
		return nil, err
	}
	all, err := s.listProfiles(ctx, func(p instanceProfile) bool { return carries(p, in.RoleName) })
	if err != nil {
		return nil, err
	}
	return s.profilePage(ctx, all, in.Marker, in.MaxItems)
}

func carries(p instanceProfile, role string) bool {
	return slices.ContainsFunc(p.Roles, func(r string) bool { return strings.EqualFold(r, role) })
}

func (s *Service) listProfiles(ctx context.Context, keep func(instanceProfile) bool) ([]instanceProfile, error) {
	items, err := store.List[instanceProfile](ctx, s.store, profilesPrefix)
	if err != nil {
		return nil, err
	}
	var out []instanceProfile
	for _, it := range items {
		if keep(it.Value) {
			out = append(out, it.Value)
		}
	}
	slices.SortFunc(out, func(a, b instanceProfile) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return out, nil
}

func (s *Service) profilePage(ctx context.Context, all []instanceProfile, marker string, maxItems *int32) (*ListInstanceProfilesOutput, error) {
	items, truncated, next, err := page(all, func(p instanceProfile) string { return strings.ToLower(p.Name) }, marker, maxItems)
	if err != nil {
		return nil, err
	}
	out := &ListInstanceProfilesOutput{InstanceProfiles: api.Members[InstanceProfile]{}, IsTruncated: truncated, Marker: next}
	for _, p := range items {
		d, err := s.describeProfile(ctx, p)
		if err != nil {
			return nil, err
		}
		out.InstanceProfiles = append(out.InstanceProfiles, d)
	}
	return out, nil
}

// DeleteInstanceProfile deletes a profile that no longer carries a role.
func (s *Service) DeleteInstanceProfile(ctx context.Context, in *InstanceProfileNameInput) (*struct{}, error) {
	if err := checkName("InstanceProfileName", in.InstanceProfileName, 128); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "DeleteInstanceProfile", s.profileARN(ctx, in.InstanceProfileName)); err != nil {
		return nil, err
	}
	it, err := s.getProfile(ctx, in.InstanceProfileName)
	if err != nil {
		return nil, err
	}
	if len(it.Value.Roles) > 0 {
		return nil, deleteConflict("Cannot delete entity, must remove roles from instance profile first.")
	}
	err = s.store.Commit(ctx, store.NewTxn().IfRev(it.Key, it.Rev).Delete(it.Key))
	if errors.Is(err, store.ErrConflict) {
		return s.DeleteInstanceProfile(ctx, in) // a role was added meanwhile: decide again
	}
	return nil, err
}

type ProfileRoleInput struct {
	InstanceProfileName string
	RoleName            string
}

// AddRoleToInstanceProfile puts a role in a profile; a profile holds one.
func (s *Service) AddRoleToInstanceProfile(ctx context.Context, in *ProfileRoleInput) (*struct{}, error) {
	return nil, s.changeProfileRole(ctx, "AddRoleToInstanceProfile", in, func(p *instanceProfile, role string) error {
		if carries(*p, role) {
			return limitExceeded("Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")
		}
		if len(p.Roles) > 0 {
			return limitExceeded("Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")
		}
		p.Roles = append(p.Roles, role)
		return nil
	})
}

// RemoveRoleFromInstanceProfile takes a role out of a profile.
func (s *Service) RemoveRoleFromInstanceProfile(ctx context.Context, in *ProfileRoleInput) (*struct{}, error) {
	return nil, s.changeProfileRole(ctx, "RemoveRoleFromInstanceProfile", in, func(p *instanceProfile, role string) error {
		i := slices.IndexFunc(p.Roles, func(r string) bool { return strings.EqualFold(r, role) })
		if i < 0 {
			return noSuchEntity("The role with name %s cannot be found in instance profile %s.", role, p.Name)
		}
		p.Roles = slices.Delete(p.Roles, i, i+1)
		return nil
	})
}

// changeProfileRole applies fn to a profile, on the condition that the
// profile and the role are unchanged, so a role deleted meanwhile is not
// added. The action is authorized against the profile, and iam:PassRole
// against the role for additions, as AWS does.
func (s *Service) changeProfileRole(ctx context.Context, action string, in *ProfileRoleInput, fn func(*instanceProfile, string) error) error {
	if err := checkName("InstanceProfileName", in.InstanceProfileName, 128); err != nil {
		return err
	}
	if err := checkName("RoleName", in.RoleName, 64); err != nil {
		return err
	}
	if err := s.authorize(ctx, action, s.profileARN(ctx, in.InstanceProfileName)); err != nil {
		return err
	}
	return store.Retry(ctx, func() error {
		prof, err := s.getProfile(ctx, in.InstanceProfileName)
		if err != nil {
			return err
		}
		role, err := s.getEntity(ctx, kindRole, in.RoleName)
		if err != nil {
			return err
		}
		if action == "AddRoleToInstanceProfile" {
			if err := s.authorize(ctx, "PassRole", role.Value.ARN); err != nil {
				return err
			}
		}
		if err := fn(&prof.Value, role.Value.Name); err != nil {
			return err
		}
		txn := store.NewTxn().IfRev(prof.Key, prof.Rev).IfRev(role.Key, role.Rev).Put(prof.Key, prof.Value)
		return s.store.Commit(ctx, txn)
	})
}

// roleInProfile reports whether any instance profile carries the role;
// such a role cannot be deleted.
func (s *Service) roleInProfile(ctx context.Context, role string) (bool, error) {
	all, err := s.listProfiles(ctx, func(p instanceProfile) bool { return carries(p, role) })
	return len(all) > 0, err
}

// EnsureInstanceRole makes sure the account has a role of this name that
// trusts EC2 and carries AmazonEC2ContainerServiceforEC2Role, in an
// instance profile of the same name, as the ECS console's
// ecsInstanceRole; `berth up` starts its instances with it. Existing
// entities are left as they are.
func (s *Service) EnsureInstanceRole(ctx context.Context, name string) error {
	ctx = api.WithPrincipal(ctx, api.Principal{Account: s.account, ARN: "arn:aws:iam::" + s.account + ":root", Root: true})
	_, err := s.CreateRole(ctx, &CreateRoleInput{RoleName: name, AssumeRolePolicyDocument: serviceTrust(PrincipalEC2),
		Description: "Allows EC2 instances to call ECS and ECR on your behalf."})
	if err == nil {
		err = s.attach(ctx, kindRole, "AttachRolePolicy", &attachInput{RoleName: name, PolicyArn: "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"}, true)
	}
	if err != nil && !isCode(err, "EntityAlreadyExists") {
		return err
	}
	_, err = s.CreateInstanceProfile(ctx, &CreateInstanceProfileInput{InstanceProfileName: name})
	if err == nil {
		_, err = s.AddRoleToInstanceProfile(ctx, &ProfileRoleInput{InstanceProfileName: name, RoleName: name})
	}
	if err != nil && !isCode(err, "EntityAlreadyExists") {
		return err
	}
	return nil
}

// serviceTrust is a trust policy letting an AWS service assume a role.
func serviceTrust(service string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + service + `"},"Action":"sts:AssumeRole"}]}`
}

func isCode(err error, code string) bool {
	var ae *api.Error
	return errors.As(err, &ae) && ae.Code == code
}
