package iam

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/iam/policy"
	"github.com/berth-dev/berth/internal/store"
)

// managedPolicy is a customer managed policy (stored) or an AWS managed
// one (shipped, with only v1). Document and VersionID are the default
// version's, which is what grants.
type managedPolicy struct {
	Name            string    `json:"name"`
	ID              string    `json:"id"`
	ARN             string    `json:"arn"`
	Path            string    `json:"path"`
	Description     string    `json:"description,omitempty"`
	Document        string    `json:"document"`
	VersionID       string    `json:"versionId"`
	AttachmentCount int32     `json:"attachmentCount"`
	CreateDate      time.Time `json:"createDate"`
	UpdateDate      time.Time `json:"updateDate"`
	Tags            []Tag     `json:"tags,omitempty"`
	// Versions are all versions, oldest first; records from before
	// versioning have none and mean v1 alone.
	Versions    []policyVersion `json:"versions,omitempty"`
	LastVersion int             `json:"lastVersion,omitempty"` // version numbers are never reused
}

// Policy is the IAM Policy shape.
type Policy struct {
	PolicyName                    string
	PolicyId                      string
	Arn                           string
	Path                          string
	DefaultVersionId              string
	AttachmentCount               int32
	PermissionsBoundaryUsageCount int32
	IsAttachable                  bool
	Description                   string `xml:",omitempty"`
	CreateDate                    time.Time
	UpdateDate                    time.Time
	Tags                          api.Members[Tag] `xml:",omitempty"`
}

func (p managedPolicy) policy() Policy {
	return Policy{PolicyName: p.Name, PolicyId: p.ID, Arn: p.ARN, Path: p.Path, DefaultVersionId: p.VersionID,
		AttachmentCount: p.AttachmentCount, IsAttachable: true, Description: p.Description,
		CreateDate: p.CreateDate, UpdateDate: p.UpdateDate, Tags: p.Tags}
}

func (s *Service) handlePolicies(q *api.QueryService) {
	q.Handle("CreatePolicy", api.QueryOp(s.CreatePolicy))
	q.Handle("GetPolicy", api.QueryOp(s.GetPolicy))
	q.Handle("GetPolicyVersion", api.QueryOp(s.GetPolicyVersion))
	q.Handle("CreatePolicyVersion", api.QueryOp(s.CreatePolicyVersion))
	q.Handle("ListPolicyVersions", api.QueryOp(s.ListPolicyVersions))
	q.Handle("SetDefaultPolicyVersion", api.QueryOp(s.SetDefaultPolicyVersion))
	q.Handle("DeletePolicyVersion", api.QueryOp(s.DeletePolicyVersion))
	q.Handle("ListPolicies", api.QueryOp(s.ListPolicies))
	q.Handle("DeletePolicy", api.QueryOp(s.DeletePolicy))
	s.handleInline(q)
	s.handleAttach(q)
}

type CreatePolicyInput struct {
	PolicyName     string
	Path           string
	PolicyDocument string
	Description    string
	Tags           []Tag
}

type PolicyOutput struct {
	Policy Policy
}

// CreatePolicy creates a customer managed policy at version v1.
func (s *Service) CreatePolicy(ctx context.Context, in *CreatePolicyInput) (*PolicyOutput, error) {
	if err := checkName("PolicyName", in.PolicyName, 128); err != nil {
		return nil, err
	}
	path, err := checkPath(in.Path)
	if err != nil {
		return nil, err
	}
	if err := checkIdentityPolicy(in.PolicyDocument); err != nil {
		return nil, err
	}
	if policy.CharCount(in.PolicyDocument) > maxManagedPolicySize {
		return nil, limitExceeded("Cannot exceed quota for PolicySize: %d", maxManagedPolicySize)
	}
	arn := "arn:aws:iam::" + s.account + ":policy" + path + in.PolicyName
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if err := s.authorizeWith(ctx, "CreatePolicy", arn, requestTagKeys(in.Tags)); err != nil {
		return nil, err
	}
	if len(in.Tags) > 0 { // AWS asks for the tagging permission as well
		if err := s.authorizeWith(ctx, "TagPolicy", arn, requestTagKeys(in.Tags)); err != nil {
			return nil, err
		}
	}
	now := s.nowUTC()
	p := managedPolicy{Name: in.PolicyName, ID: newID("ANPA", 17), ARN: arn, Path: path, Description: in.Description,
		Document: in.PolicyDocument, VersionID: "v1", CreateDate: now, UpdateDate: now, Tags: in.Tags,
		Versions: []policyVersion{{ID: "v1", Document: in.PolicyDocument, CreateDate: now}}, LastVersion: 1}
	key := policiesPrefix + strings.ToLower(in.PolicyName)
	err = s.store.Commit(ctx, store.NewTxn().IfAbsent(key).Put(key, p))
	if errors.Is(err, store.ErrConflict) {
		return nil, alreadyExists("A policy called %s already exists. Duplicate names are not allowed.", in.PolicyName)
	}
	if err != nil {
		return nil, err
	}
	return &PolicyOutput{Policy: p.policy()}, nil
}

// loadPolicy finds a managed policy by ARN: AWS managed policies from the
// shipped set, the account's own from the store (Rev 0 for AWS ones).
func (s *Service) loadPolicy(ctx context.Context, arn string) (store.Item[managedPolicy], error) {
	if p, ok := awsManaged()[arn]; ok {
		return store.Item[managedPolicy]{Value: p}, nil
	}
	missing := noSuchEntity("Policy %s does not exist or is not attachable.", arn)
	head := "arn:aws:iam::" + s.account + ":policy/"
	if !strings.HasPrefix(arn, head) {
		return store.Item[managedPolicy]{}, missing
	}
	it, err := store.Get[managedPolicy](ctx, s.store, policiesPrefix+strings.ToLower(lastSegment(arn)))
	if errors.Is(err, store.ErrNotFound) || (err == nil && it.Value.ARN != arn) {
		return it, missing
	}
	return it, err
}

type PolicyArnInput struct {
	PolicyArn string
	VersionId string
}

// GetPolicy describes a managed policy (not its document).
func (s *Service) GetPolicy(ctx context.Context, in *PolicyArnInput) (*PolicyOutput, error) {
	if err := s.authorize(ctx, "GetPolicy", in.PolicyArn); err != nil {
		return nil, err
	}
	it, err := s.loadPolicy(ctx, in.PolicyArn)
	if err != nil {
		return nil, err
	}
	return &PolicyOutput{Policy: it.Value.policy()}, nil
}

type ListPoliciesInput struct {
	Scope        string
	OnlyAttached bool
	PathPrefix   string
	Marker       string
	MaxItems     *int32
}

type ListPoliciesOutput struct {
	Policies    api.Members[Policy]
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

// ListPolicies lists AWS managed (Scope AWS), customer (Local) or all
// managed policies by name.
func (s *Service) ListPolicies(ctx context.Context, in *ListPoliciesInput) (*ListPoliciesOutput, error) {
	if err := s.authorize(ctx, "ListPolicies", "arn:aws:iam::"+s.account+":policy/"); err != nil {
		return nil, err
	}
	var all []managedPolicy
	if in.Scope == "" || in.Scope == "All" || in.Scope == "AWS" {
		for _, p := range awsManaged() {
			all = append(all, p)
		}
	}
	if in.Scope == "" || in.Scope == "All" || in.Scope == "Local" {
		items, err := store.List[managedPolicy](ctx, s.store, policiesPrefix)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			all = append(all, it.Value)
		}
	}
	all = slices.DeleteFunc(all, func(p managedPolicy) bool {
		return !strings.HasPrefix(p.Path, orSlash(in.PathPrefix)) || (in.OnlyAttached && p.AttachmentCount == 0)
	})
	// By name, then ARN: an AWS managed policy and one of the account's
	// may share a name.
	key := func(p managedPolicy) string { return p.Name + "\x00" + p.ARN }
	slices.SortFunc(all, func(a, b managedPolicy) int { return strings.Compare(key(a), key(b)) })
	items, truncated, marker, err := page(all, key, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &ListPoliciesOutput{Policies: api.Members[Policy]{}, IsTruncated: truncated, Marker: marker}
	for _, p := range items {
		out.Policies = append(out.Policies, p.policy())
	}
	return out, nil
}

// DeletePolicy deletes a customer managed policy attached to nothing.
func (s *Service) DeletePolicy(ctx context.Context, in *PolicyArnInput) (*struct{}, error) {
	if err := s.authorize(ctx, "DeletePolicy", in.PolicyArn); err != nil {
		return nil, err
	}
	if _, ok := awsManaged()[in.PolicyArn]; ok {
		return nil, &api.Error{Code: "AccessDenied", Message: "AWS managed policies cannot be deleted.", Status: http.StatusForbidden}
	}
	it, err := s.loadPolicy(ctx, in.PolicyArn)
	if err != nil {
		return nil, err
	}
	if it.Value.AttachmentCount > 0 {
		return nil, deleteConflict("Cannot delete a policy attached to entities.")
	}
	if len(it.Value.versions()) > 1 {
		return nil, deleteConflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
	}
	err = s.store.Commit(ctx, store.NewTxn().IfRev(it.Key, it.Rev).Delete(it.Key))
	if errors.Is(err, store.ErrConflict) {
		return s.DeletePolicy(ctx, in)
	}
	return nil, err
}
