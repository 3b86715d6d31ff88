package ecs

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/placement"
	"github.com/berth-dev/berth/internal/store"
)

// maxStrategyItems is how many capacity providers one strategy may name.
const maxStrategyItems = 20

// checkStrategyShape checks a strategy's items on their own: names given
// and distinct, weights and bases in the model's ranges, at most one base.
func checkStrategyShape(strategy []CapacityProviderStrategyItem) error {
	if len(strategy) > maxStrategyItems {
		return api.InvalidParameter("A capacity provider strategy can contain a maximum of %d capacity providers.", maxStrategyItems)
	}
	seen := map[string]bool{}
	bases := 0
	for _, it := range strategy {
		if it.CapacityProvider == "" {
			return api.InvalidParameter("capacityProviderStrategy.capacityProvider is required.")
		}
		if seen[it.CapacityProvider] {
			return api.InvalidParameter("The capacity provider %s is specified more than once in the capacity provider strategy.", it.CapacityProvider)
		}
		seen[it.CapacityProvider] = true
		if it.Weight < 0 || it.Weight > 1000 {
			return api.InvalidParameter("The capacity provider strategy weight for %s must be between 0 and 1000.", it.CapacityProvider)
		}
		if it.Base < 0 || it.Base > 100000 {
			return api.InvalidParameter("The capacity provider strategy base for %s must be between 0 and 100000.", it.CapacityProvider)
		}
		if it.Base > 0 {
			bases++
		}
	}
	if bases > 1 {
		return api.InvalidParameter("Only one capacity provider in a capacity provider strategy can have a base defined.")
	}
	return nil
}

// checkStrategyFor checks a strategy tasks are to be placed with on
// cluster: its providers must be associated with the cluster, and with
// several providers at least one must have a weight.
func checkStrategyFor(cluster *clusterRecord, strategy []CapacityProviderStrategyItem) error {
	if err := checkStrategyShape(strategy); err != nil {
		return err
	}
	for _, it := range strategy {
		if !slices.Contains(cluster.CapacityProviders, it.CapacityProvider) {
			return api.InvalidParameter("The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.")
		}
	}
	if len(strategy) > 1 && !slices.ContainsFunc(strategy, func(it CapacityProviderStrategyItem) bool { return it.Weight > 0 }) {
		return api.InvalidParameter("The capacity provider strategy must have at least one capacity provider with a weight greater than zero.")
	}
	return nil
}

// effectiveStrategy is the strategy tasks of a request are placed with:
// the one given, else (with no launch type either) the cluster's default.
// Empty means the EC2 launch type on any of the cluster's instances.
func effectiveStrategy(cluster *clusterRecord, launchType string, given []CapacityProviderStrategyItem) []CapacityProviderStrategyItem {
	if len(given) > 0 || launchType != "" {
		return given
	}
	return cluster.DefaultCapacityProviderStrategy
}

// nextProvider decides the capacity provider of the next task given how
// many tasks each provider already has: the provider with a base first,
// until it has base tasks, then the providers by weight, each the one
// furthest below its share of the weighted tasks. It is the single place
// that decides, so that managed scaling can ask it which group needs
// capacity.
func nextProvider(strategy []CapacityProviderStrategyItem, counts map[string]int) string {
	if len(strategy) == 0 {
		return ""
	}
	for _, it := range strategy {
		if it.Base > 0 && counts[it.CapacityProvider] < it.Base {
			return it.CapacityProvider
		}
	}
	// Tasks beyond the base count toward the weights.
	total, weights := 0, 0
	for _, it := range strategy {
		total += counts[it.CapacityProvider]
		weights += it.Weight
	}
	if weights == 0 {
		return strategy[0].CapacityProvider // a single provider of weight 0
	}
	for _, it := range strategy {
		if it.Base > 0 {
			total -= it.Base
		}
	}
	best, bestDeficit := "", 0.0
	for _, it := range strategy {
		if it.Weight == 0 {
			continue
		}
		have := counts[it.CapacityProvider] - it.Base
		// deficit: how far the provider is below its weighted share once
		// one more task is placed.
		deficit := float64(total+1)*float64(it.Weight)/float64(weights) - float64(have)
		if best == "" || deficit > bestDeficit {
			best, bestDeficit = it.CapacityProvider, deficit
		}
	}
	return best
}

// providerShare is how many of a request's tasks go to one provider.
type providerShare struct {
	provider string
	count    int
}

// shareTasks splits count tasks across the strategy's providers, one
// nextProvider decision per task, starting from counts (not changed).
func shareTasks(strategy []CapacityProviderStrategyItem, count int, counts map[string]int) []providerShare {
	c := make(map[string]int, len(counts))
	for k, v := range counts {
		c[k] = v
	}
	var out []providerShare
	for range count {
		p := nextProvider(strategy, c)
		c[p]++
		i := slices.IndexFunc(out, func(s providerShare) bool { return s.provider == p })
		if i < 0 {
			out = append(out, providerShare{provider: p})
			i = len(out) - 1
		}
		out[i].count++
	}
	return out
}

type PutClusterCapacityProvidersInput struct {
	Cluster                         string                         `json:"cluster"`
	CapacityProviders               []string                       `json:"capacityProviders"`
	DefaultCapacityProviderStrategy []CapacityProviderStrategyItem `json:"defaultCapacityProviderStrategy"`
}

// checkAssociation checks, before reading the store, the providers a
// cluster is to have and its default strategy: no provider twice, a
// default strategy naming only the cluster's providers and not mixing
// Fargate's with groups'.
func checkAssociation(providers []string, strategy []CapacityProviderStrategyItem) error {
	if err := checkStrategyShape(strategy); err != nil {
		return err
	}
	if _, err := fargateStrategy(strategy); err != nil {
		return err
	}
	for i, name := range providers {
		if slices.Contains(providers[:i], name) {
			return api.InvalidParameter("The capacity provider %s is specified more than once.", name)
		}
	}
	for _, it := range strategy {
		if !slices.Contains(providers, it.CapacityProvider) {
			return api.InvalidParameter("The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.")
		}
	}
	return nil
}

// associate adds to txn the change of cluster's providers from before to
// after: each provider added must be ACTIVE and associated with no other
// cluster (an Auto Scaling group provider serves one cluster), and txn is
// made conditional on what was read; each provider removed is released.
func (s *Service) associate(ctx context.Context, txn *store.Txn, cluster string, before, after []string) error {
	for _, name := range after {
		if slices.Contains(before, name) || slices.Contains(reservedProviders, name) {
			continue // FARGATE and FARGATE_SPOT serve every cluster
		}
		cp, err := store.Get[CapacityProvider](ctx, s.store, s.keys.capacityProvider(name))
		if errors.Is(err, store.ErrNotFound) || err == nil && cp.Value.Status != "ACTIVE" {
			return api.InvalidParameter("The specified capacity provider %s does not exist. Specify a valid capacity provider and try again.", name)
		}
		if err != nil {
			return err
		}
		key := s.keys.providerCluster(name)
		owner, err := store.Get[string](ctx, s.store, key)
		if err == nil && owner.Value != cluster {
			return api.Errorf("ResourceInUseException", "The specified capacity provider %s is already associated with cluster %s. An Auto Scaling group capacity provider can be associated with only one cluster.", name, owner.Value)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		txn.IfRev(cp.Key, cp.Rev).IfRev(key, owner.Rev).Put(key, cluster)
	}
	for _, name := range before {
		if !slices.Contains(after, name) && !slices.Contains(reservedProviders, name) {
			txn.Delete(s.keys.providerCluster(name))
		}
	}
	return nil
}

// PutClusterCapacityProviders replaces a cluster's capacity providers and
// its default strategy. A provider a service's strategy or a running task
// uses cannot be removed.
func (s *Service) PutClusterCapacityProviders(ctx context.Context, in *PutClusterCapacityProvidersInput) (*ClusterOutput, error) {
	if in.CapacityProviders == nil || in.DefaultCapacityProviderStrategy == nil {
		return nil, api.InvalidParameter("capacityProviders and defaultCapacityProviderStrategy are required; send [] for none.")
	}
	it, err := s.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	name := it.Value.Name
	if err := s.authorize(ctx, "PutClusterCapacityProviders", s.arn("cluster/"+name)); err != nil {
		return nil, err
	}
	providers := make([]string, len(in.CapacityProviders))
	for i, p := range in.CapacityProviders {
		providers[i] = providerName(p)
	}
	if err := checkAssociation(providers, in.DefaultCapacityProviderStrategy); err != nil {
		return nil, err
	}
	var removed []string
	for _, p := range it.Value.CapacityProviders {
		if !slices.Contains(providers, p) {
			removed = append(removed, p)
		}
	}
	if len(removed) > 0 {
		if err := s.checkUnused(ctx, name, removed); err != nil {
			return nil, err
		}
	}
	rec := it.Value
	rec.CapacityProviders, rec.DefaultCapacityProviderStrategy = providers, in.DefaultCapacityProviderStrategy
	txn := store.NewTxn().IfRev(it.Key, it.Rev)
	if err := s.associate(ctx, txn, name, it.Value.CapacityProviders, providers); err != nil {
		return nil, err
	}
	if err := s.store.Commit(ctx, txn.Put(it.Key, rec)); errors.Is(err, store.ErrConflict) {
		return nil, api.Errorf("UpdateInProgressException", "The cluster or one of its capacity providers is being changed by another request; try again.")
	} else if err != nil {
		return nil, err
	}
	s.log.Info("cluster capacity providers set", "cluster", name, "capacityProviders", providers)
	c, err := s.clusterView(ctx, rec, nil)
	return &ClusterOutput{Cluster: c}, err
}

// checkUnused fails when a service of the cluster has one of the providers
// in its strategy, or a task not yet stopped was placed by one.
func (s *Service) checkUnused(ctx context.Context, cluster string, providers []string) error {
	inUse := api.Errorf("ResourceInUseException", "The specified capacity provider is in use and cannot be removed.")
	svcs, err := store.List[serviceRecord](ctx, s.store, s.keys.services(cluster))
	if err != nil {
		return err
	}
	for _, sv := range svcs {
		if sv.Value.Service.Status == "INACTIVE" {
			continue
		}
		for _, p := range providers {
			if usesProvider(sv.Value.Service.CapacityProviderStrategy, p) {
				return inUse
			}
		}
	}
	tasks, err := store.List[taskRecord](ctx, s.store, s.keys.tasks(cluster))
	if err != nil {
		return err
	}
	for _, t := range tasks {
		if t.Value.Task.LastStatus != "STOPPED" && slices.Contains(providers, t.Value.Task.CapacityProviderName) {
			return inUse
		}
	}
	return nil
}

// placeShares places each share's tasks on the instances of its provider
// only (providerOf names an instance's provider), reserving on views as
// placement.Place does. It returns the placed instances, the provider of
// each, and the failures: placement's for a provider whose instances
// cannot take the task, and one naming the provider (arnOf) when it has
// no instances in the cluster. A provider whose group ECS scales
// (scales) fails no task: the tasks that fit nowhere are returned in
// waiting, one provider name per task, to wait in PROVISIONING.
func placeShares(views []placement.Instance, shares []providerShare, req placement.Request, providerOf func(int) string, arnOf func(string) string,
	scales func(string) bool, rng *rand.Rand) (placed []int, providers []string, failures []Failure, waiting []string) {
	for _, sh := range shares {
		var idx []int
		for i := range views {
			if providerOf(i) == sh.provider {
				idx = append(idx, i)
			}
		}
		sub := make([]placement.Instance, len(idx))
		for k, i := range idx {
			sub[k] = views[i]
		}
		var res placement.Result
		if len(idx) > 0 {
			res = placement.Place(sub, req, sh.count, rng)
		}
		for k, i := range idx {
			views[i] = sub[k]
		}
		for _, k := range res.Placed {
			placed = append(placed, idx[k])
			providers = append(providers, sh.provider)
		}
		if scales(sh.provider) {
			for range sh.count - len(res.Placed) {
				waiting = append(waiting, sh.provider)
			}
			continue
		}
		if len(idx) == 0 {
			failures = append(failures, Failure{Arn: arnOf(sh.provider), Reason: "No Container Instances were found in capacity provider " + sh.provider + "."})
			continue
		}
		for _, f := range res.Failures {
			failures = append(failures, Failure{Arn: f.ARN, Reason: f.Reason})
		}
	}
	return placed, providers, failures, waiting
}
