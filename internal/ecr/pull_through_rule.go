package ecr

import (
	"context"
	"errors"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// Pull through cache rules: a repository whose name starts with a rule's
// prefix is filled from the rule's upstream registry on a pull that misses
// (see pull_through.go). The rules themselves are registry settings.

// validateTimeout bounds ValidatePullThroughCacheRule's call upstream.
const validateTimeout = 30 * time.Second

// maxCacheRules is ECR's quota of pull through cache rules per registry.
const maxCacheRules = 50

// PullThroughCacheRule is the ECR shape, and the record Berth stores.
type PullThroughCacheRule struct {
	EcrRepositoryPrefix      string         `json:"ecrRepositoryPrefix"`
	UpstreamRegistryUrl      string         `json:"upstreamRegistryUrl"`
	CreatedAt                *api.Timestamp `json:"createdAt,omitempty"`
	UpdatedAt                *api.Timestamp `json:"updatedAt,omitempty"`
	RegistryId               string         `json:"registryId"`
	CredentialArn            string         `json:"credentialArn,omitempty"`
	CustomRoleArn            string         `json:"customRoleArn,omitempty"`
	UpstreamRepositoryPrefix string         `json:"upstreamRepositoryPrefix,omitempty"`
	UpstreamRegistry         string         `json:"upstreamRegistry,omitempty"`
}

// cachePrefixRE is the model's pattern of an ecrRepositoryPrefix.
var cachePrefixRE = regexp.MustCompile(`^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*/?|ROOT)$`)

// credentialArnRE is the model's pattern of a credentialArn: a Secrets
// Manager secret whose name starts with ecr-pullthroughcache/.
var credentialArnRE = regexp.MustCompile(`^arn:aws(-\w+)*:secretsmanager:[a-zA-Z0-9-:]+:secret:ecr\-pullthroughcache/[a-zA-Z0-9/_+=.@-]+$`)

// upstreamRegistries are the upstream registries ECR supports: the kind
// (the upstreamRegistry enum), how its URL looks, and whether ECR requires
// a credentialArn (or, for ECR itself, a customRoleArn) for it.
var upstreamRegistries = []struct {
	kind        string
	host        *regexp.Regexp
	credentials bool
}{
	{"ecr", regexp.MustCompile(`^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com$`), false},
	{"ecr-public", regexp.MustCompile(`^public\.ecr\.aws$`), false},
	{"docker-hub", regexp.MustCompile(`^registry-1\.docker\.io$`), true},
	{"github-container-registry", regexp.MustCompile(`^ghcr\.io$`), true},
	{"gitlab-container-registry", regexp.MustCompile(`^registry\.gitlab\.com$`), true},
	{"k8s", regexp.MustCompile(`^registry\.k8s\.io$`), false},
	{"azure-container-registry", regexp.MustCompile(`^[a-z0-9]+\.azurecr\.io$`), true},
	{"quay", regexp.MustCompile(`^quay\.io$`), false},
	{"chainguard", regexp.MustCompile(`^cgr\.dev$`), false},
}

// upstream is where a rule's images come from.
type upstream struct {
	// kind is the upstreamRegistry enum value; empty for a loopback registry.
	kind string
	// base is the registry's URL without path: https:// for the registries
	// AWS lists, http:// (or https:// when written so) on loopback.
	base string
	// credentials says whether ECR requires a credentialArn for it.
	credentials bool
}

// parseUpstream classifies an upstreamRegistryUrl: one of the registries
// ECR supports, written as ECR documents them (a bare host name), or,
// Berth's extension, a registry on a loopback address
// (127.0.0.0/8, ::1 or localhost), with an optional http:// or https://.
func parseUpstream(raw string) (upstream, error) {
	for _, u := range upstreamRegistries {
		if u.host.MatchString(raw) {
			return upstream{kind: u.kind, base: "https://" + raw, credentials: u.credentials}, nil
		}
	}
	scheme, hostport := "http", raw
	if s, rest, ok := strings.Cut(raw, "://"); ok {
		scheme, hostport = s, rest
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	ip := net.ParseIP(host)
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	if (scheme == "http" || scheme == "https") && loopback && !strings.ContainsAny(hostport, "/?#@") {
		if _, err := url.Parse(scheme + "://" + hostport); err == nil {
			return upstream{base: scheme + "://" + hostport}, nil
		}
	}
	return upstream{}, api.Errorf("UnsupportedUpstreamRegistryException",
		"The specified upstream registry %s isn't supported. Supported: public.ecr.aws, registry-1.docker.io, ghcr.io, registry.gitlab.com, registry.k8s.io, <custom>.azurecr.io, quay.io, cgr.dev, <accountId>.dkr.ecr.<region>.amazonaws.com; and, as Berth's extension, registries on loopback addresses (127.0.0.0/8, [::1], localhost, optionally with http:// or https://)", raw)
}

func (s *Service) cacheRuleKey(prefix string) string { return s.prefix + "ptc/" + prefix }

// normalPrefix is the prefix as ECR stores it: without the assumed
// trailing slash.
func normalPrefix(p string) string {
	if p == "ROOT" {
		return p
	}
	return strings.TrimSuffix(p, "/")
}

func checkCachePrefix(field, p string) error {
	if len(p) < 2 || len(p) > 30 || !cachePrefixRE.MatchString(p) {
		return api.InvalidParameter("Invalid parameter at '%s' failed to satisfy constraint: 'Member must have length between 2 and 30 and satisfy regular expression pattern: (?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*/?|ROOT'", field)
	}
	return nil
}

func checkCredentialArn(arn string) error {
	if arn != "" && (len(arn) < 50 || len(arn) > 612 || !credentialArnRE.MatchString(arn)) {
		return api.InvalidParameter("Invalid parameter at 'credentialArn' failed to satisfy constraint: 'Member must have length between 50 and 612 and satisfy regular expression pattern: ^arn:aws(-\\w+)*:secretsmanager:[a-zA-Z0-9-:]+:secret:ecr\\-pullthroughcache\\/[a-zA-Z0-9\\/_+=.@-]+$'")
	}
	return nil
}

func (s *Service) noCacheRule(prefix string) error {
	return api.Errorf("PullThroughCacheRuleNotFoundException", "The pull through cache rule with prefix '%s' does not exist in the registry with id '%s'", prefix, s.cfg.Account)
}

type CreatePullThroughCacheRuleInput struct {
	RegistryId               string `json:"registryId"`
	EcrRepositoryPrefix      string `json:"ecrRepositoryPrefix"`
	UpstreamRegistryUrl      string `json:"upstreamRegistryUrl"`
	UpstreamRegistry         string `json:"upstreamRegistry"`
	CredentialArn            string `json:"credentialArn"`
	CustomRoleArn            string `json:"customRoleArn"`
	UpstreamRepositoryPrefix string `json:"upstreamRepositoryPrefix"`
}

// CreatePullThroughCacheRule creates a rule. The credential's secret is
// stored, not read: Berth has no Secrets Manager, so upstreams are pulled
// anonymously (or with the anonymous bearer token a registry hands out).
func (s *Service) CreatePullThroughCacheRule(ctx context.Context, in *CreatePullThroughCacheRuleInput) (*PullThroughCacheRule, error) {
	if err := s.checkRegistry(in.RegistryId); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "CreatePullThroughCacheRule", s.registryARN()); err != nil {
		return nil, err
	}
	if err := checkCachePrefix("ecrRepositoryPrefix", in.EcrRepositoryPrefix); err != nil {
		return nil, err
	}
	if in.UpstreamRepositoryPrefix != "" {
		if err := checkCachePrefix("upstreamRepositoryPrefix", in.UpstreamRepositoryPrefix); err != nil {
			return nil, err
		}
	}
	if in.UpstreamRegistryUrl == "" {
		return nil, api.InvalidParameter("Invalid parameter at 'upstreamRegistryUrl' failed to satisfy constraint: 'Member must not be null'")
	}
	if err := checkCredentialArn(in.CredentialArn); err != nil {
		return nil, err
	}
	if len(in.CustomRoleArn) > 2048 {
		return nil, api.InvalidParameter("Invalid parameter at 'customRoleArn' failed to satisfy constraint: 'Member must have length less than or equal to 2048'")
	}
	up, err := parseUpstream(in.UpstreamRegistryUrl)
	if err != nil {
		return nil, err
	}
	if in.UpstreamRegistry != "" && up.kind != "" && in.UpstreamRegistry != up.kind {
		return nil, api.Errorf("UnsupportedUpstreamRegistryException", "The upstream registry URL %s is not one of upstream registry %s", in.UpstreamRegistryUrl, in.UpstreamRegistry)
	}
	prefix := normalPrefix(in.EcrRepositoryPrefix)
	switch {
	case up.credentials && in.CredentialArn == "":
		return nil, api.InvalidParameter("A credentialArn is required for upstream registry %s", in.UpstreamRegistryUrl)
	case up.kind == "ecr" && in.CustomRoleArn == "":
		return nil, api.InvalidParameter("A customRoleArn is required for an Amazon ECR upstream registry")
	case up.kind != "ecr" && in.CustomRoleArn != "":
		return nil, api.InvalidParameter("A customRoleArn is only supported for an Amazon ECR upstream registry")
	case up.kind != "ecr" && (prefix == "ROOT" || in.UpstreamRepositoryPrefix != ""):
		return nil, api.InvalidParameter("The ROOT ecrRepositoryPrefix and the upstreamRepositoryPrefix are only supported for an Amazon ECR upstream registry")
	}
	rules, err := store.List[PullThroughCacheRule](ctx, s.store, s.prefix+"ptc/")
	if err != nil {
		return nil, err
	}
	if len(rules) >= maxCacheRules {
		return nil, api.Errorf("LimitExceededException", "The maximum number of pull through cache rules (%d) for the registry with id '%s' has been reached", maxCacheRules, s.cfg.Account)
	}
	rule := PullThroughCacheRule{
		EcrRepositoryPrefix: prefix, UpstreamRegistryUrl: in.UpstreamRegistryUrl, CreatedAt: api.Now(),
		RegistryId: s.cfg.Account, CredentialArn: in.CredentialArn, CustomRoleArn: in.CustomRoleArn,
		UpstreamRegistry: up.kind,
	}
	if up.kind == "ecr" {
		rule.UpstreamRepositoryPrefix = normalPrefix(in.UpstreamRepositoryPrefix)
		if rule.UpstreamRepositoryPrefix == "" {
			rule.UpstreamRepositoryPrefix = "ROOT"
		}
	}
	rule.UpdatedAt = rule.CreatedAt
	key := s.cacheRuleKey(prefix)
	err = s.store.Commit(ctx, store.NewTxn().IfAbsent(key).Put(key, rule))
	if errors.Is(err, store.ErrConflict) {
		return nil, api.Errorf("PullThroughCacheRuleAlreadyExistsException", "A pull through cache rule with prefix '%s' already exists in the registry with id '%s'", prefix, s.cfg.Account)
	}
	if err != nil {
		return nil, err
	}
	out := rule
	out.UpdatedAt = nil // not in CreatePullThroughCacheRule's response
	return &out, nil
}

type DescribePullThroughCacheRulesInput struct {
	RegistryId            string   `json:"registryId"`
	EcrRepositoryPrefixes []string `json:"ecrRepositoryPrefixes"`
	NextToken             *string  `json:"nextToken"`
	MaxResults            *int     `json:"maxResults"`
}

type DescribePullThroughCacheRulesOutput struct {
	PullThroughCacheRules []PullThroughCacheRule `json:"pullThroughCacheRules"`
	NextToken             *string                `json:"nextToken,omitempty"`
}

// DescribePullThroughCacheRules describes the named rules, or all of them
// in prefix order, 100 a page unless maxResults says otherwise.
func (s *Service) DescribePullThroughCacheRules(ctx context.Context, in *DescribePullThroughCacheRulesInput) (*DescribePullThroughCacheRulesOutput, error) {
	if err := s.checkRegistry(in.RegistryId); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "DescribePullThroughCacheRules", s.registryARN()); err != nil {
		return nil, err
	}
	if in.EcrRepositoryPrefixes != nil && (len(in.EcrRepositoryPrefixes) < 1 || len(in.EcrRepositoryPrefixes) > 100) {
		return nil, api.InvalidParameter("Invalid parameter at 'ecrRepositoryPrefixes' failed to satisfy constraint: 'Member must have length between 1 and 100'")
	}
	for _, p := range in.EcrRepositoryPrefixes {
		if err := checkCachePrefix("ecrRepositoryPrefixes", p); err != nil {
			return nil, err
		}
	}
	if in.MaxResults != nil && (*in.MaxResults < 1 || *in.MaxResults > 1000) {
		return nil, api.InvalidParameter("Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value between 1 and 1000'")
	}
	byPrefix, err := s.cacheRules(ctx)
	if err != nil {
		return nil, err
	}
	var prefixes []string
	if len(in.EcrRepositoryPrefixes) > 0 {
		for _, p := range in.EcrRepositoryPrefixes {
			p = normalPrefix(p)
			if _, ok := byPrefix[p]; !ok {
				return nil, s.noCacheRule(p)
			}
			prefixes = append(prefixes, p)
		}
	} else {
		for p := range byPrefix {
			prefixes = append(prefixes, p)
		}
		sort.Strings(prefixes)
	}
	maxResults := in.MaxResults
	if maxResults == nil {
		hundred := 100
		maxResults = &hundred
	}
	page, next, err := api.Paginate(prefixes, in.NextToken, maxResults, 1000)
	if err != nil {
		return nil, err
	}
	out := &DescribePullThroughCacheRulesOutput{PullThroughCacheRules: []PullThroughCacheRule{}, NextToken: next}
	for _, p := range page {
		out.PullThroughCacheRules = append(out.PullThroughCacheRules, byPrefix[p])
	}
	return out, nil
}

// cacheRules loads every rule by prefix.
func (s *Service) cacheRules(ctx context.Context) (map[string]PullThroughCacheRule, error) {
	items, err := store.List[PullThroughCacheRule](ctx, s.store, s.prefix+"ptc/")
	if err != nil {
		return nil, err
	}
	rules := make(map[string]PullThroughCacheRule, len(items))
	for _, it := range items {
		rules[it.Value.EcrRepositoryPrefix] = it.Value
	}
	return rules, nil
}

type PullThroughCacheRuleInput struct {
	RegistryId          string `json:"registryId"`
	EcrRepositoryPrefix string `json:"ecrRepositoryPrefix"`
}

// cacheRule checks the registry id, authorizes action and loads the rule
// of a prefix.
func (s *Service) cacheRule(ctx context.Context, registryID, prefix, action string) (store.Item[PullThroughCacheRule], error) {
	if err := s.checkRegistry(registryID); err != nil {
		return store.Item[PullThroughCacheRule]{}, err
	}
	if err := s.authorize(ctx, action, s.registryARN()); err != nil {
		return store.Item[PullThroughCacheRule]{}, err
	}
	if err := checkCachePrefix("ecrRepositoryPrefix", prefix); err != nil {
		return store.Item[PullThroughCacheRule]{}, err
	}
	prefix = normalPrefix(prefix)
	it, err := store.Get[PullThroughCacheRule](ctx, s.store, s.cacheRuleKey(prefix))
	if errors.Is(err, store.ErrNotFound) {
		return it, s.noCacheRule(prefix)
	}
	return it, err
}

// DeletePullThroughCacheRule deletes a rule and returns it. Repositories
// it created, and their images, stay.
func (s *Service) DeletePullThroughCacheRule(ctx context.Context, in *PullThroughCacheRuleInput) (*PullThroughCacheRule, error) {
	it, err := s.cacheRule(ctx, in.RegistryId, in.EcrRepositoryPrefix, "DeletePullThroughCacheRule")
	if err != nil {
		return nil, err
	}
	if err := s.store.Commit(ctx, store.NewTxn().IfRev(it.Key, it.Rev).Delete(it.Key)); errors.Is(err, store.ErrConflict) {
		return nil, s.noCacheRule(it.Value.EcrRepositoryPrefix)
	} else if err != nil {
		return nil, err
	}
	out := it.Value
	out.UpstreamRegistry, out.UpdatedAt = "", nil // not in the response
	return &out, nil
}

type UpdatePullThroughCacheRuleInput struct {
	RegistryId          string `json:"registryId"`
	EcrRepositoryPrefix string `json:"ecrRepositoryPrefix"`
	CredentialArn       string `json:"credentialArn"`
	CustomRoleArn       string `json:"customRoleArn"`
}

type UpdatePullThroughCacheRuleOutput struct {
	EcrRepositoryPrefix      string         `json:"ecrRepositoryPrefix"`
	RegistryId               string         `json:"registryId"`
	UpdatedAt                *api.Timestamp `json:"updatedAt"`
	CredentialArn            string         `json:"credentialArn,omitempty"`
	CustomRoleArn            string         `json:"customRoleArn,omitempty"`
	UpstreamRepositoryPrefix string         `json:"upstreamRepositoryPrefix,omitempty"`
}

// UpdatePullThroughCacheRule replaces a rule's credentialArn (or, for an
// ECR upstream, its customRoleArn).
func (s *Service) UpdatePullThroughCacheRule(ctx context.Context, in *UpdatePullThroughCacheRuleInput) (*UpdatePullThroughCacheRuleOutput, error) {
	it, err := s.cacheRule(ctx, in.RegistryId, in.EcrRepositoryPrefix, "UpdatePullThroughCacheRule")
	if err != nil {
		return nil, err
	}
	if err := checkCredentialArn(in.CredentialArn); err != nil {
		return nil, err
	}
	if len(in.CustomRoleArn) > 2048 {
		return nil, api.InvalidParameter("Invalid parameter at 'customRoleArn' failed to satisfy constraint: 'Member must have length less than or equal to 2048'")
	}
	up, err := parseUpstream(it.Value.UpstreamRegistryUrl)
	if err != nil {
		return nil, err
	}
	switch {
	case in.CredentialArn == "" && in.CustomRoleArn == "":
		return nil, api.InvalidParameter("Either credentialArn or customRoleArn must be specified")
	case up.kind != "ecr" && in.CustomRoleArn != "":
		return nil, api.InvalidParameter("A customRoleArn is only supported for an Amazon ECR upstream registry")
	}
	updated, err := store.Update(ctx, s.store, it.Key, func(r *PullThroughCacheRule) error {
		if in.CredentialArn != "" {
			r.CredentialArn = in.CredentialArn
		}
		if in.CustomRoleArn != "" {
			r.CustomRoleArn = in.CustomRoleArn
		}
		r.UpdatedAt = api.Now()
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, s.noCacheRule(it.Value.EcrRepositoryPrefix)
	}
	if err != nil {
		return nil, err
	}
	r := updated
	return &UpdatePullThroughCacheRuleOutput{EcrRepositoryPrefix: r.EcrRepositoryPrefix, RegistryId: r.RegistryId, UpdatedAt: r.UpdatedAt,
		CredentialArn: r.CredentialArn, CustomRoleArn: r.CustomRoleArn, UpstreamRepositoryPrefix: r.UpstreamRepositoryPrefix}, nil
}

type ValidatePullThroughCacheRuleOutput struct {
	EcrRepositoryPrefix      string `json:"ecrRepositoryPrefix"`
	RegistryId               string `json:"registryId"`
	UpstreamRegistryUrl      string `json:"upstreamRegistryUrl"`
	CredentialArn            string `json:"credentialArn,omitempty"`
	CustomRoleArn            string `json:"customRoleArn,omitempty"`
	UpstreamRepositoryPrefix string `json:"upstreamRepositoryPrefix,omitempty"`
	IsValid                  bool   `json:"isValid"`
	Failure                  string `json:"failure,omitempty"`
}

// ValidatePullThroughCacheRule checks that the rule's upstream answers the
// registry API and lets Berth in: anonymously, or with the anonymous token
// of its bearer challenge. A credential secret cannot be read (there is no
// Secrets Manager), so an upstream that demands credentials fails.
func (s *Service) ValidatePullThroughCacheRule(ctx context.Context, in *PullThroughCacheRuleInput) (*ValidatePullThroughCacheRuleOutput, error) {
	it, err := s.cacheRule(ctx, in.RegistryId, in.EcrRepositoryPrefix, "ValidatePullThroughCacheRule")
	if err != nil {
		return nil, err
	}
	r := it.Value
	out := &ValidatePullThroughCacheRuleOutput{EcrRepositoryPrefix: r.EcrRepositoryPrefix, RegistryId: r.RegistryId, UpstreamRegistryUrl: r.UpstreamRegistryUrl,
		CredentialArn: r.CredentialArn, CustomRoleArn: r.CustomRoleArn, UpstreamRepositoryPrefix: r.UpstreamRepositoryPrefix, IsValid: true}
	ctx, cancel := context.WithTimeout(ctx, validateTimeout)
	defer cancel()
	if err := s.upstreamClient(r).ping(ctx); err != nil {
		out.IsValid, out.Failure = false, err.Error()
	}
	return out, nil
}
