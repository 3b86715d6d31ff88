package iam

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/iam/policy"
	"github.com/berth-dev/berth/internal/store"
)

// maxPolicyVersions is IAM's quota of versions per managed policy.
const maxPolicyVersions = 5

// policyVersion is one stored version of a customer managed policy.
type policyVersion struct {
	ID         string    `json:"id"`
	Document   string    `json:"document"`
	CreateDate time.Time `json:"createDate"`
}

// versions returns the policy's versions, oldest first.
func (p managedPolicy) versions() []policyVersion {
	if len(p.Versions) == 0 {
		return []policyVersion{{ID: p.VersionID, Document: p.Document, CreateDate: p.CreateDate}}
	}
	return p.Versions
}

// PolicyVersion is the IAM PolicyVersion shape.
type PolicyVersion struct {
	Document         string `xml:",omitempty"`
	VersionId        string
	IsDefaultVersion bool
	CreateDate       time.Time
}

func (p managedPolicy) version(v policyVersion, withDocument bool) PolicyVersion {
	out := PolicyVersion{VersionId: v.ID, IsDefaultVersion: v.ID == p.VersionID, CreateDate: v.CreateDate}
	if withDocument {
		out.Document = encodeDocument(v.Document)
	}
	return out
}

var versionIDPattern = regexp.MustCompile(`^v[1-9][0-9]*(\.[A-Za-z0-9-]*)?$`)

func checkVersionID(id string) error {
	if id == "" {
		return check.Null("versionId")
	}
	if !versionIDPattern.MatchString(id) {
		return check.Fail("versionId", id, "Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?")
	}
	return nil
}

func noSuchVersion(arn, id string) error {
	return noSuchEntity("Policy %s version %s does not exist or is not attachable.", arn, id)
}

type GetPolicyVersionOutput struct {
	PolicyVersion PolicyVersion
}

// GetPolicyVersion returns one version of a managed policy, its document
// URL-encoded.
func (s *Service) GetPolicyVersion(ctx context.Context, in *PolicyArnInput) (*GetPolicyVersionOutput, error) {
	if err := checkVersionID(in.VersionId); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "GetPolicyVersion", in.PolicyArn); err != nil {
		return nil, err
	}
	it, err := s.loadPolicy(ctx, in.PolicyArn)
	if err != nil {
		return nil, err
	}
	for _, v := range it.Value.versions() {
		if v.ID == in.VersionId {
			return &GetPolicyVersionOutput{PolicyVersion: it.Value.version(v, true)}, nil
		}
	}
	return nil, noSuchVersion(in.PolicyArn, in.VersionId)
}

type CreatePolicyVersionInput struct {
	PolicyArn      string
	PolicyDocument string
	SetAsDefault   bool
}

type PolicyVersionOutput struct {
	PolicyVersion PolicyVersion
}

// CreatePolicyVersion adds a version, at most five per policy; with
// SetAsDefault it is what the policy grants from the next request on.
func (s *Service) CreatePolicyVersion(ctx context.Context, in *CreatePolicyVersionInput) (*PolicyVersionOutput, error) {
	if err := checkIdentityPolicy(in.PolicyDocument); err != nil {
		return nil, err
	}
	if policy.CharCount(in.PolicyDocument) > maxManagedPolicySize {
		return nil, limitExceeded("Cannot exceed quota for PolicySize: %d", maxManagedPolicySize)
	}
	var out PolicyVersion
	err := s.updatePolicy(ctx, "CreatePolicyVersion", in.PolicyArn, nil, func(p *managedPolicy) error {
		versions := p.versions()
		if len(versions) >= maxPolicyVersions {
			return limitExceeded("A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", maxPolicyVersions)
		}
		p.LastVersion = max(p.LastVersion, len(versions)) + 1
		v := policyVersion{ID: "v" + strconv.Itoa(p.LastVersion), Document: in.PolicyDocument, CreateDate: s.nowUTC()}
		p.Versions = append(versions, v)
		p.UpdateDate = v.CreateDate
		if in.SetAsDefault {
			p.VersionID, p.Document = v.ID, v.Document
		}
		out = p.version(v, false)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &PolicyVersionOutput{PolicyVersion: out}, nil
}

type ListPolicyVersionsInput struct {
	PolicyArn string
	Marker    string
	MaxItems  *int32
}

type ListPolicyVersionsOutput struct {
	Versions    api.Members[PolicyVersion]
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

// ListPolicyVersions lists a policy's versions, newest first, without
// their documents.
func (s *Service) ListPolicyVersions(ctx context.Context, in *ListPolicyVersionsInput) (*ListPolicyVersionsOutput, error) {
	if err := s.authorize(ctx, "ListPolicyVersions", in.PolicyArn); err != nil {
		return nil, err
	}
	it, err := s.loadPolicy(ctx, in.PolicyArn)
	if err != nil {
		return nil, err
	}
	var all []PolicyVersion
	for _, v := range slices.Backward(it.Value.versions()) {
		all = append(all, it.Value.version(v, false))
	}
	items, truncated, marker, err := page(all, func(v PolicyVersion) string { return v.VersionId }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &ListPolicyVersionsOutput{Versions: append(api.Members[PolicyVersion]{}, items...), IsTruncated: truncated, Marker: marker}, nil
}

// SetDefaultPolicyVersion makes an existing version the one that grants.
func (s *Service) SetDefaultPolicyVersion(ctx context.Context, in *PolicyArnInput) (*struct{}, error) {
	if err := checkVersionID(in.VersionId); err != nil {
		return nil, err
	}
	return nil, s.updatePolicy(ctx, "SetDefaultPolicyVersion", in.PolicyArn, nil, func(p *managedPolicy) error {
		for _, v := range p.versions() {
			if v.ID == in.VersionId {
				p.VersionID, p.Document = v.ID, v.Document
				return nil
			}
		}
		return noSuchVersion(in.PolicyArn, in.VersionId)
	})
}

// DeletePolicyVersion deletes a version other than the default one.
func (s *Service) DeletePolicyVersion(ctx context.Context, in *PolicyArnInput) (*struct{}, error) {
	if err := checkVersionID(in.VersionId); err != nil {
		return nil, err
	}
	return nil, s.updatePolicy(ctx, "DeletePolicyVersion", in.PolicyArn, nil, func(p *managedPolicy) error {
		if in.VersionId == p.VersionID {
			return deleteConflict("Cannot delete the default version of a policy.")
		}
		versions := p.versions()
		i := slices.IndexFunc(versions, func(v policyVersion) bool { return v.ID == in.VersionId })
		if i < 0 {
			return noSuchVersion(in.PolicyArn, in.VersionId)
		}
		p.Versions = slices.Delete(slices.Clone(versions), i, i+1)
		return nil
	})
}

// updatePolicy authorizes action (with the request's condition keys) on a customer managed policy, applies fn
// and writes the policy back if it did not change meanwhile. AWS managed
// policies are read-only.
func (s *Service) updatePolicy(ctx context.Context, action, arn string, keys map[string][]string, fn func(*managedPolicy) error) error {
	if arn == "" {
		return check.Null("policyArn")
	}
	if err := s.authorizeWith(ctx, action, arn, keys); err != nil {
		return err
	}
	if _, ok := awsManaged()[arn]; ok {
		return &api.Error{Code: "AccessDenied", Message: "AWS managed policies cannot be modified.", Status: http.StatusForbidden}
	}
	return store.Retry(ctx, func() error {
		it, err := s.loadPolicy(ctx, arn)
		if err != nil {
			return err
		}
		if err := fn(&it.Value); err != nil {
			return err
		}
		return s.store.Commit(ctx, store.NewTxn().IfRev(it.Key, it.Rev).Put(it.Key, it.Value))
	})
}
