package ecr

import (
	"context"
	"errors"
	"regexp"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// Replication. Berth is one region of one account: there is no other
// registry to replicate to, and ECR itself refuses this registry as its
// own destination. So the only replication configuration Berth keeps is
// the empty one; any destination is refused by name, and nothing is
// stored.

// ReplicationDestination is a registry (region and account) to copy
// images to.
type ReplicationDestination struct {
	Region     string `json:"region"`
	RegistryId string `json:"registryId"`
}

// RepositoryFilter selects the repositories a replication rule applies to.
type RepositoryFilter struct {
	Filter     string `json:"filter"`
	FilterType string `json:"filterType"`
}

// ReplicationRule copies the filtered repositories' images to its
// destinations.
type ReplicationRule struct {
	Destinations      []ReplicationDestination `json:"destinations"`
	RepositoryFilters []RepositoryFilter       `json:"repositoryFilters,omitempty"`
}

// ReplicationConfiguration is the registry's replication rules.
type ReplicationConfiguration struct {
	Rules []ReplicationRule `json:"rules"`
}

var (
	regionRE            = regexp.MustCompile(`^[0-9a-z-]{2,25}$`)
	registryIDRE        = regexp.MustCompile(`^[0-9]{12}$`)
	replicationPrefixRE = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]*)*/)*[a-z0-9]*(?:[._-][a-z0-9]*)*$`)
)

func (s *Service) replicationKey() string { return s.prefix + "replication" }

// replicationInput keeps a missing rules list apart from an empty one.
type replicationInput struct {
	Rules *[]ReplicationRule `json:"rules"`
}

type PutReplicationConfigurationInput struct {
	ReplicationConfiguration *replicationInput `json:"replicationConfiguration"`
}

type PutReplicationConfigurationOutput struct {
	ReplicationConfiguration ReplicationConfiguration `json:"replicationConfiguration"`
}

// checkReplication validates rules against the model, then refuses any
// rule: each would replicate to a registry Berth does not have.
func (s *Service) checkReplication(rules []ReplicationRule) error {
	if len(rules) > 10 {
		return api.InvalidParameter("Invalid parameter at 'replicationConfiguration.rules' failed to satisfy constraint: 'Member must have length less than or equal to 10'")
	}
	for _, r := range rules {
		if r.Destinations == nil {
			return api.InvalidParameter("Invalid parameter at 'replicationConfiguration.rules.destinations': destinations is required.")
		}
		if len(r.Destinations) > 25 {
			return api.InvalidParameter("Invalid parameter at 'replicationConfiguration.rules.destinations' failed to satisfy constraint: 'Member must have length less than or equal to 25'")
		}
		for _, d := range r.Destinations {
			if !regionRE.MatchString(d.Region) {
				return api.InvalidParameter("Invalid parameter at 'replicationConfiguration.rules.destinations.region' failed to satisfy constraint: 'Member must have length between 2 and 25 and satisfy regular expression pattern: [0-9a-z-]{2,25}'")
			}
			if !registryIDRE.MatchString(d.RegistryId) {
				return api.InvalidParameter("Invalid parameter at 'replicationConfiguration.rules.destinations.registryId' failed to satisfy constraint: 'Member must satisfy regular expression pattern: [0-9]{12}'")
			}
		}
		if r.RepositoryFilters != nil && (len(r.RepositoryFilters) < 1 || len(r.RepositoryFilters) > 100) {
			return api.InvalidParameter("Invalid parameter at 'replicationConfiguration.rules.repositoryFilters' failed to satisfy constraint: 'Member must have length between 1 and 100'")
		}
		for _, f := range r.RepositoryFilters {
			if len(f.Filter) < 2 || len(f.Filter) > 256 || !replicationPrefixRE.MatchString(f.Filter) {
				return api.InvalidParameter("Invalid parameter at 'replicationConfiguration.rules.repositoryFilters.filter' failed to satisfy constraint: 'Member must have length between 2 and 256 and satisfy regular expression pattern: ^(?:[a-z0-9]+(?:[._-][a-z0-9]*)*/)*[a-z0-9]*(?:[._-][a-z0-9]*)*$'")
			}
			if f.FilterType != "PREFIX_MATCH" {
				return api.InvalidParameter("Invalid parameter at 'replicationConfiguration.rules.repositoryFilters.filterType' failed to satisfy constraint: 'Member must satisfy enum value set: [PREFIX_MATCH]'")
			}
		}
	}
	for _, r := range rules {
		for _, d := range r.Destinations {
			if d.Region == s.cfg.Region && d.RegistryId == s.cfg.Account {
				return api.InvalidParameter("Invalid parameter at 'replicationConfiguration.rules.destinations': the destination %s in %s is this registry; an image cannot be replicated to its own registry.", d.RegistryId, d.Region)
			}
		}
		if len(r.Destinations) > 0 {
			d := r.Destinations[0]
			return api.InvalidParameter("Invalid parameter at 'replicationConfiguration.rules.destinations': replication to %s in %s is not supported: Berth is a single region (%s) of a single account (%s), so there is no other registry to replicate to; use an empty rules list.",
				d.RegistryId, d.Region, s.cfg.Region, s.cfg.Account)
		}
		return api.InvalidParameter("Invalid parameter at 'replicationConfiguration.rules.destinations': a rule without destinations replicates nothing; Berth, a single region of a single account, accepts only an empty rules list.")
	}
	return nil
}

// PutReplicationConfiguration replaces the registry's replication
// configuration with the empty one; a rule is refused.
func (s *Service) PutReplicationConfiguration(ctx context.Context, in *PutReplicationConfigurationInput) (*PutReplicationConfigurationOutput, error) {
	if err := s.authorize(ctx, "PutReplicationConfiguration", s.registryARN()); err != nil {
		return nil, err
	}
	if in.ReplicationConfiguration == nil {
		return nil, api.InvalidParameter("replicationConfiguration is required.")
	}
	if in.ReplicationConfiguration.Rules == nil {
		return nil, api.InvalidParameter("Invalid parameter at 'replicationConfiguration': rules is required.")
	}
	rules := *in.ReplicationConfiguration.Rules
	if err := s.checkReplication(rules); err != nil {
		return nil, err
	}
	c := ReplicationConfiguration{Rules: []ReplicationRule{}}
	if err := store.Put(ctx, s.store, s.replicationKey(), c); err != nil {
		return nil, err
	}
	return &PutReplicationConfigurationOutput{ReplicationConfiguration: c}, nil
}

type DescribeRegistryOutput struct {
	RegistryId               string                   `json:"registryId"`
	ReplicationConfiguration ReplicationConfiguration `json:"replicationConfiguration"`
}

// DescribeRegistry reports the registry's id and its replication
// configuration: the stored one, or no rules.
func (s *Service) DescribeRegistry(ctx context.Context, _ *struct{}) (*DescribeRegistryOutput, error) {
	if err := s.authorize(ctx, "DescribeRegistry", s.registryARN()); err != nil {
		return nil, err
	}
	it, err := store.Get[ReplicationConfiguration](ctx, s.store, s.replicationKey())
	if errors.Is(err, store.ErrNotFound) {
		it.Value = ReplicationConfiguration{Rules: []ReplicationRule{}}
	} else if err != nil {
		return nil, err
	}
	if it.Value.Rules == nil {
		it.Value.Rules = []ReplicationRule{}
	}
	return &DescribeRegistryOutput{RegistryId: s.cfg.Account, ReplicationConfiguration: it.Value}, nil
}
