package ecr

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// The registry's scanning configuration. Berth has no image scanner, so
// the only configurations it keeps are those that scan nothing: BASIC
// with no rules, or with rules whose frequency is MANUAL (which on ECR
// only name the repositories a manual scan may be asked for). A rule that
// would scan (SCAN_ON_PUSH, CONTINUOUS_SCAN) and ENHANCED scanning are
// refused by name, and nothing is stored.

// ScanningRepositoryFilter selects repositories by a wildcard pattern.
type ScanningRepositoryFilter struct {
	Filter     string `json:"filter"`
	FilterType string `json:"filterType"`
}

// RegistryScanningRule is a scan frequency for the repositories its
// filters match.
type RegistryScanningRule struct {
	ScanFrequency     string                     `json:"scanFrequency"`
	RepositoryFilters []ScanningRepositoryFilter `json:"repositoryFilters"`
}

// RegistryScanningConfiguration is the registry's scan type and rules.
type RegistryScanningConfiguration struct {
	ScanType string                 `json:"scanType"`
	Rules    []RegistryScanningRule `json:"rules"`
}

// scanFilterRE is ScanningRepositoryFilterValue's pattern in the model.
var scanFilterRE = regexp.MustCompile(`^[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*$`)

func (s *Service) scanningKey() string { return s.prefix + "registry-scanning" }

// checkScanning validates c against the model, then refuses what would
// scan.
func checkScanning(c *RegistryScanningConfiguration) error {
	switch c.ScanType {
	case "BASIC", "ENHANCED":
	default:
		return api.InvalidParameter("Invalid parameter at 'scanType' failed to satisfy constraint: 'Member must satisfy enum value set: [BASIC, ENHANCED]'")
	}
	if len(c.Rules) > 2 {
		return api.InvalidParameter("Invalid parameter at 'rules' failed to satisfy constraint: 'Member must have length less than or equal to 2'")
	}
	for _, r := range c.Rules {
		switch r.ScanFrequency {
		case "SCAN_ON_PUSH", "CONTINUOUS_SCAN", "MANUAL":
		default:
			return api.InvalidParameter("Invalid parameter at 'rules.scanFrequency' failed to satisfy constraint: 'Member must satisfy enum value set: [SCAN_ON_PUSH, CONTINUOUS_SCAN, MANUAL]'")
		}
		if r.RepositoryFilters == nil {
			return api.InvalidParameter("Invalid parameter at 'rules.repositoryFilters': repositoryFilters is required.")
		}
		if len(r.RepositoryFilters) > 100 {
			return api.InvalidParameter("Invalid parameter at 'rules.repositoryFilters' failed to satisfy constraint: 'Member must have length less than or equal to 100'")
		}
		for _, f := range r.RepositoryFilters {
			if len(f.Filter) < 1 || len(f.Filter) > 255 || !scanFilterRE.MatchString(f.Filter) {
				return api.InvalidParameter("Invalid parameter at 'rules.repositoryFilters.filter' failed to satisfy constraint: 'Member must have length between 1 and 255 and satisfy regular expression pattern: ^[a-z0-9*](?:[._\\-/a-z0-9*]?[a-z0-9*]+)*$'")
			}
			if f.FilterType != "WILDCARD" {
				return api.InvalidParameter("Invalid parameter at 'rules.repositoryFilters.filterType' failed to satisfy constraint: 'Member must satisfy enum value set: [WILDCARD]'")
			}
		}
	}
	if c.ScanType == "ENHANCED" {
		return api.InvalidParameter("Invalid parameter at 'scanType': ENHANCED is not supported: Berth has no image scanner (nor Amazon Inspector); use BASIC.")
	}
	for _, r := range c.Rules {
		if r.ScanFrequency != "MANUAL" {
			return api.InvalidParameter("Invalid parameter at 'rules.scanFrequency': %s is not supported: Berth has no image scanner; only MANUAL rules (which scan nothing by themselves) are accepted.", r.ScanFrequency)
		}
	}
	return nil
}

type PutRegistryScanningConfigurationInput struct {
	ScanType string                 `json:"scanType"`
	Rules    []RegistryScanningRule `json:"rules"`
}

type PutRegistryScanningConfigurationOutput struct {
	RegistryScanningConfiguration RegistryScanningConfiguration `json:"registryScanningConfiguration"`
}

// PutRegistryScanningConfiguration replaces the registry's scanning
// configuration with one that scans nothing; any other is refused.
func (s *Service) PutRegistryScanningConfiguration(ctx context.Context, in *PutRegistryScanningConfigurationInput) (*PutRegistryScanningConfigurationOutput, error) {
	if err := s.authorize(ctx, "PutRegistryScanningConfiguration", s.registryARN()); err != nil {
		return nil, err
	}
	c := RegistryScanningConfiguration{ScanType: in.ScanType, Rules: in.Rules}
	if c.ScanType == "" {
		c.ScanType = "BASIC"
	}
	if c.Rules == nil {
		c.Rules = []RegistryScanningRule{}
	}
	if err := checkScanning(&c); err != nil {
		return nil, err
	}
	if err := store.Put(ctx, s.store, s.scanningKey(), c); err != nil {
		return nil, err
	}
	return &PutRegistryScanningConfigurationOutput{RegistryScanningConfiguration: c}, nil
}

type GetRegistryScanningConfigurationOutput struct {
	RegistryId            string                        `json:"registryId"`
	ScanningConfiguration RegistryScanningConfiguration `json:"scanningConfiguration"`
}

// GetRegistryScanningConfiguration returns the stored configuration, or
// ECR's default, BASIC with no rules: nothing is scanned.
func (s *Service) GetRegistryScanningConfiguration(ctx context.Context, _ *struct{}) (*GetRegistryScanningConfigurationOutput, error) {
	if err := s.authorize(ctx, "GetRegistryScanningConfiguration", s.registryARN()); err != nil {
		return nil, err
	}
	c, err := s.scanningConfiguration(ctx)
	if err != nil {
		return nil, err
	}
	return &GetRegistryScanningConfigurationOutput{RegistryId: s.cfg.Account, ScanningConfiguration: c}, nil
}

func (s *Service) scanningConfiguration(ctx context.Context) (RegistryScanningConfiguration, error) {
	it, err := store.Get[RegistryScanningConfiguration](ctx, s.store, s.scanningKey())
	if errors.Is(err, store.ErrNotFound) {
		return RegistryScanningConfiguration{ScanType: "BASIC", Rules: []RegistryScanningRule{}}, nil
	}
	return it.Value, err
}

type BatchGetRepositoryScanningConfigurationInput struct {
	RepositoryNames []string `json:"repositoryNames"`
}

// RepositoryScanningConfiguration is how one repository is scanned.
type RepositoryScanningConfiguration struct {
	RepositoryArn      string                     `json:"repositoryArn"`
	RepositoryName     string                     `json:"repositoryName"`
	ScanOnPush         bool                       `json:"scanOnPush"`
	ScanFrequency      string                     `json:"scanFrequency"`
	AppliedScanFilters []ScanningRepositoryFilter `json:"appliedScanFilters"`
}

// RepositoryScanningConfigurationFailure says why a repository's
// configuration was not returned.
type RepositoryScanningConfigurationFailure struct {
	RepositoryName string `json:"repositoryName"`
	FailureCode    string `json:"failureCode"`
	FailureReason  string `json:"failureReason"`
}

type BatchGetRepositoryScanningConfigurationOutput struct {
	ScanningConfigurations []RepositoryScanningConfiguration        `json:"scanningConfigurations"`
	Failures               []RepositoryScanningConfigurationFailure `json:"failures"`
}

// BatchGetRepositoryScanningConfiguration reports, per repository, that
// it is scanned manually only (never on push), with the filters of the
// registry's MANUAL rules that match it; a missing repository is a
// failure, not an error.
func (s *Service) BatchGetRepositoryScanningConfiguration(ctx context.Context, in *BatchGetRepositoryScanningConfigurationInput) (*BatchGetRepositoryScanningConfigurationOutput, error) {
	if len(in.RepositoryNames) < 1 || len(in.RepositoryNames) > 25 {
		return nil, api.InvalidParameter("Invalid parameter at 'repositoryNames' failed to satisfy constraint: 'Member must have length between 1 and 25'")
	}
	for _, name := range in.RepositoryNames {
		if err := validName(name); err != nil {
			return nil, err
		}
	}
	for _, name := range in.RepositoryNames {
		if err := s.authorize(ctx, "BatchGetRepositoryScanningConfiguration", s.repoArn(name)); err != nil {
			return nil, err
		}
	}
	c, err := s.scanningConfiguration(ctx)
	if err != nil {
		return nil, err
	}
	out := &BatchGetRepositoryScanningConfigurationOutput{ScanningConfigurations: []RepositoryScanningConfiguration{}, Failures: []RepositoryScanningConfigurationFailure{}}
	for _, name := range in.RepositoryNames {
		var apiErr *api.Error
		if _, err := s.repository(ctx, name); errors.As(err, &apiErr) && apiErr.Code == "RepositoryNotFoundException" {
			out.Failures = append(out.Failures, RepositoryScanningConfigurationFailure{RepositoryName: name, FailureCode: "REPOSITORY_NOT_FOUND", FailureReason: apiErr.Message})
			continue
		} else if err != nil {
			return nil, err
		}
		applied := []ScanningRepositoryFilter{}
		for _, r := range c.Rules {
			for _, f := range r.RepositoryFilters {
				if r.ScanFrequency == "MANUAL" && wildcardMatch(f.Filter, name) {
					applied = append(applied, f)
				}
			}
		}
		out.ScanningConfigurations = append(out.ScanningConfigurations, RepositoryScanningConfiguration{
			RepositoryArn: s.repoArn(name), RepositoryName: name, ScanFrequency: "MANUAL", AppliedScanFilters: applied})
	}
	return out, nil
}

// wildcardMatch reports whether name matches pattern, in which '*' stands
// for any run of characters, '/' included.
func wildcardMatch(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(name, p)
		if i < 0 {
			return false
		}
		name = name[i+len(p):]
	}
	return len(name) >= len(last) && strings.HasSuffix(name, last)
}
