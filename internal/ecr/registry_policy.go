package ecr

import (
	"context"
	"errors"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// The registry's own settings: its policy (which, on AWS, governs
// replication and cross-account pull through cache; Berth evaluates it for
// neither, so it is validated, stored and returned) and what
// DescribeRegistry reports.

func (s *Service) registryPolicyKey() string { return s.prefix + "registry-policy" }

// registryARN is the resource the registry-wide actions are authorized on.
func (s *Service) registryARN() string {
	return "arn:aws:ecr:" + s.cfg.Region + ":" + s.cfg.Account + ":registry/" + s.cfg.Account
}

type RegistryPolicyInput struct {
	PolicyText string `json:"policyText"`
}

type RegistryPolicyOutput struct {
	RegistryId string `json:"registryId"`
	PolicyText string `json:"policyText"`
}

func (s *Service) noRegistryPolicy() error {
	return api.Errorf("RegistryPolicyNotFoundException", "Registry policy does not exist in the registry with id '%s'", s.cfg.Account)
}

// PutRegistryPolicy sets the registry's policy.
func (s *Service) PutRegistryPolicy(ctx context.Context, in *RegistryPolicyInput) (*RegistryPolicyOutput, error) {
	if err := s.authorize(ctx, "PutRegistryPolicy", s.registryARN()); err != nil {
		return nil, err
	}
	if err := validatePolicy(in.PolicyText); err != nil {
		return nil, err
	}
	if err := store.Put(ctx, s.store, s.registryPolicyKey(), in.PolicyText); err != nil {
		return nil, err
	}
	return &RegistryPolicyOutput{RegistryId: s.cfg.Account, PolicyText: in.PolicyText}, nil
}

// GetRegistryPolicy returns the registry's policy.
func (s *Service) GetRegistryPolicy(ctx context.Context, _ *struct{}) (*RegistryPolicyOutput, error) {
	it, err := s.registryPolicy(ctx, "GetRegistryPolicy")
	if err != nil {
		return nil, err
	}
	return &RegistryPolicyOutput{RegistryId: s.cfg.Account, PolicyText: it.Value}, nil
}

// DeleteRegistryPolicy removes the registry's policy and returns it.
func (s *Service) DeleteRegistryPolicy(ctx context.Context, _ *struct{}) (*RegistryPolicyOutput, error) {
	it, err := s.registryPolicy(ctx, "DeleteRegistryPolicy")
	if err != nil {
		return nil, err
	}
	if err := s.store.Commit(ctx, store.NewTxn().IfRev(it.Key, it.Rev).Delete(it.Key)); err != nil {
		return nil, err
	}
	return &RegistryPolicyOutput{RegistryId: s.cfg.Account, PolicyText: it.Value}, nil
}

// registryPolicy authorizes action on the registry and loads its policy,
// or answers RegistryPolicyNotFoundException.
func (s *Service) registryPolicy(ctx context.Context, action string) (store.Item[string], error) {
	if err := s.authorize(ctx, action, s.registryARN()); err != nil {
		return store.Item[string]{}, err
	}
	it, err := store.Get[string](ctx, s.store, s.registryPolicyKey())
	if errors.Is(err, store.ErrNotFound) {
		return it, s.noRegistryPolicy()
	}
	return it, err
}
