package ecr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"regexp"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// maxPolicy is the RepositoryPolicyText length limit of the ECR model.
const maxPolicy = 10240

// actionRE is what an IAM action looks like: "*" or "service:Action" with wildcards.
var actionRE = regexp.MustCompile(`^(\*|[a-zA-Z0-9-]+:[a-zA-Z0-9*?]+)$`)

// policyDocument is the shape of an IAM policy document.
type policyDocument struct {
	Version   string          `json:"Version"`
	Id        string          `json:"Id"`
	Statement json.RawMessage `json:"Statement"`
}

type policyStatement struct {
	Sid          string          `json:"Sid"`
	Effect       string          `json:"Effect"`
	Principal    json.RawMessage `json:"Principal"`
	NotPrincipal json.RawMessage `json:"NotPrincipal"`
	Action       json.RawMessage `json:"Action"`
	NotAction    json.RawMessage `json:"NotAction"`
	Resource     json.RawMessage `json:"Resource"`
	NotResource  json.RawMessage `json:"NotResource"`
	Condition    json.RawMessage `json:"Condition"`
}

func invalidPolicy(reason string) error {
	return api.InvalidParameter("Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided: %s'", reason)
}

// validatePolicy checks that text is an IAM resource policy document:
// a known Version, and statements each with an Effect, a principal and
// actions. It does not evaluate it; that is the authorizer's job.
func validatePolicy(text string) error {
	if len(text) == 0 || len(text) > maxPolicy {
		return invalidPolicy("the policy must be 1-10240 characters")
	}
	var doc policyDocument
	if err := strictDecode([]byte(text), &doc); err != nil {
		return invalidPolicy("not a policy document: " + err.Error())
	}
	if doc.Version != "" && doc.Version != "2012-10-17" && doc.Version != "2008-10-17" {
		return invalidPolicy("Version must be 2012-10-17 or 2008-10-17")
	}
	var statements []policyStatement
	if err := strictDecode(doc.Statement, &statements); err != nil {
		var one policyStatement
		if err := strictDecode(doc.Statement, &one); err != nil {
			return invalidPolicy("Statement must be a statement or a list of them")
		}
		statements = []policyStatement{one}
	}
	if len(statements) == 0 {
		return invalidPolicy("the policy has no statement")
	}
	for _, st := range statements {
		if st.Effect != "Allow" && st.Effect != "Deny" {
			return invalidPolicy("Effect must be Allow or Deny")
		}
		if (st.Principal == nil) == (st.NotPrincipal == nil) {
			return invalidPolicy("each statement needs a Principal or a NotPrincipal")
		}
		actions := st.Action
		if (st.Action == nil) == (st.NotAction == nil) {
			return invalidPolicy("each statement needs an Action or a NotAction")
		} else if actions == nil {
			actions = st.NotAction
		}
		var list []string
		if err := json.Unmarshal(actions, &list); err != nil {
			var one string
			if err := json.Unmarshal(actions, &one); err != nil {
				return invalidPolicy("Action must be a string or a list of strings")
			}
			list = []string{one}
		}
		if len(list) == 0 {
			return invalidPolicy("Action must not be empty")
		}
		for _, a := range list {
			if !actionRE.MatchString(a) {
				return invalidPolicy("invalid action " + a)
			}
		}
	}
	return nil
}

// strictDecode decodes JSON, refusing fields the target does not know.
func strictDecode(b []byte, v any) error {
	if len(b) == 0 {
		return errors.New("missing")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the document")
	}
	return nil
}

type SetRepositoryPolicyInput struct {
	RegistryId     string `json:"registryId"`
	RepositoryName string `json:"repositoryName"`
	PolicyText     string `json:"policyText"`
	Force          bool   `json:"force"`
}

type RepositoryPolicyInput struct {
	RegistryId     string `json:"registryId"`
	RepositoryName string `json:"repositoryName"`
}

type RepositoryPolicyOutput struct {
	RegistryId     string `json:"registryId"`
	RepositoryName string `json:"repositoryName"`
	PolicyText     string `json:"policyText"`
}

// SetRepositoryPolicy stores a repository policy with the repository,
// replacing any earlier one.
func (s *Service) SetRepositoryPolicy(ctx context.Context, in *SetRepositoryPolicyInput) (*RepositoryPolicyOutput, error) {
	it, err := s.loadRepository(ctx, in.RegistryId, in.RepositoryName, "SetRepositoryPolicy")
	if err != nil {
		return nil, err
	}
	if err := validatePolicy(in.PolicyText); err != nil {
		return nil, err
	}
	if _, err := store.Update(ctx, s.store, it.Key, func(r *repoRecord) error {
		r.Policy = in.PolicyText
		return nil
	}); err != nil {
		return nil, err
	}
	return &RepositoryPolicyOutput{RegistryId: s.cfg.Account, RepositoryName: in.RepositoryName, PolicyText: in.PolicyText}, nil
}

// GetRepositoryPolicy returns a repository's policy.
func (s *Service) GetRepositoryPolicy(ctx context.Context, in *RepositoryPolicyInput) (*RepositoryPolicyOutput, error) {
	it, err := s.loadRepository(ctx, in.RegistryId, in.RepositoryName, "GetRepositoryPolicy")
	if err != nil {
		return nil, err
	}
	if it.Value.Policy == "" {
		return nil, s.noPolicy(in.RepositoryName)
	}
	return &RepositoryPolicyOutput{RegistryId: s.cfg.Account, RepositoryName: in.RepositoryName, PolicyText: it.Value.Policy}, nil
}

// DeleteRepositoryPolicy removes a repository's policy and returns it.
func (s *Service) DeleteRepositoryPolicy(ctx context.Context, in *RepositoryPolicyInput) (*RepositoryPolicyOutput, error) {
	it, err := s.loadRepository(ctx, in.RegistryId, in.RepositoryName, "DeleteRepositoryPolicy")
	if err != nil {
		return nil, err
	}
	var old string
	if _, err := store.Update(ctx, s.store, it.Key, func(r *repoRecord) error {
		if r.Policy == "" {
			return s.noPolicy(in.RepositoryName)
		}
		old, r.Policy = r.Policy, ""
		return nil
	}); err != nil {
		return nil, err
	}
	return &RepositoryPolicyOutput{RegistryId: s.cfg.Account, RepositoryName: in.RepositoryName, PolicyText: old}, nil
}

func (s *Service) noPolicy(name string) error {
	return api.Errorf("RepositoryPolicyNotFoundException", "Repository policy does not exist for the repository with name '%s' in the registry with id '%s'", name, s.cfg.Account)
}
