package ecs

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// AutoScaling is what ECS asks of EC2 Auto Scaling.
type AutoScaling interface {
	// GroupARN returns the ARN of the Auto Scaling group named by nameOrARN, or ok false when there is none.
	GroupARN(ctx context.Context, nameOrARN string) (arn string, ok bool, err error)
	// GroupOfInstance returns the ARN of the group the EC2 instance belongs to, "" when none.
	GroupOfInstance(ctx context.Context, ec2InstanceID string) (string, error)
}

// CapacityProvider is the ECS CapacityProvider shape.
type CapacityProvider struct {
	CapacityProviderArn      string                    `json:"capacityProviderArn"`
	Name                     string                    `json:"name"`
	Status                   string                    `json:"status"`
	AutoScalingGroupProvider *AutoScalingGroupProvider `json:"autoScalingGroupProvider,omitempty"`
	UpdateStatus             string                    `json:"updateStatus,omitempty"`
	UpdateStatusReason       string                    `json:"updateStatusReason,omitempty"`
	Tags                     []Tag                     `json:"tags,omitempty"`
}

// AutoScalingGroupProvider ties a capacity provider to its Auto Scaling group.
type AutoScalingGroupProvider struct {
	AutoScalingGroupArn          string          `json:"autoScalingGroupArn,omitempty"`
	ManagedScaling               *ManagedScaling `json:"managedScaling,omitempty"`
	ManagedTerminationProtection string          `json:"managedTerminationProtection,omitempty"`
	ManagedDraining              string          `json:"managedDraining,omitempty"`
}

// ManagedScaling is how ECS scales a provider's group (recorded; the
// scaling itself is the Auto Scaling controller's).
type ManagedScaling struct {
	Status                 string `json:"status,omitempty"`
	TargetCapacity         *int   `json:"targetCapacity,omitempty"`
	MinimumScalingStepSize *int   `json:"minimumScalingStepSize,omitempty"`
	MaximumScalingStepSize *int   `json:"maximumScalingStepSize,omitempty"`
	InstanceWarmupPeriod   *int   `json:"instanceWarmupPeriod,omitempty"`
}

type CreateCapacityProviderInput struct {
	Name                     string                    `json:"name"`
	AutoScalingGroupProvider *AutoScalingGroupProvider `json:"autoScalingGroupProvider"`
	Tags                     []Tag                     `json:"tags"`
}

type UpdateCapacityProviderInput struct {
	Name                     string                    `json:"name"`
	AutoScalingGroupProvider *AutoScalingGroupProvider `json:"autoScalingGroupProvider"`
}

type DeleteCapacityProviderInput struct {
	CapacityProvider string `json:"capacityProvider"`
}

type CapacityProviderOutput struct {
	CapacityProvider *CapacityProvider `json:"capacityProvider"`
}

func (k keys) capacityProvider(name string) string { return k.prefix + "capacity-provider/" + name }
func (k keys) capacityProviders() string           { return k.prefix + "capacity-provider/" }

// providerCluster indexes the cluster a capacity provider is associated with.
func (k keys) providerCluster(name string) string {
	return k.prefix + "capacity-provider-cluster/" + name
}

// groupProvider indexes the active capacity provider of an Auto Scaling
// group, so that two providers cannot claim one group.
func (k keys) groupProvider(groupARN string) string {
	return k.prefix + "capacity-provider-group/" + groupARN
}

// reservedProviders are AWS's own capacity providers, Fargate's, which
// every account has and any cluster may take.
var reservedProviders = []string{"FARGATE", "FARGATE_SPOT"}

// reservedProvider is how DescribeCapacityProviders shows one of them.
func (s *Service) reservedProvider(name string) CapacityProvider {
	return CapacityProvider{CapacityProviderArn: s.arn("capacity-provider/" + name), Name: name, Status: "ACTIVE"}
}

// fargateStrategy reports whether a strategy names Fargate's providers,
// and refuses one that mixes them with Auto Scaling group providers, as
// ECS does.
func fargateStrategy(strategy []CapacityProviderStrategyItem) (bool, error) {
	n := 0
	for _, it := range strategy {
		if slices.Contains(reservedProviders, it.CapacityProvider) {
			n++
		}
	}
	if n > 0 && n < len(strategy) {
		return false, api.InvalidParameter("The specified capacity provider strategy cannot contain a mix of capacity providers using Auto Scaling groups and Fargate providers. Specify one or the other and try again.")
	}
	return n > 0, nil
}

// providerName accepts a capacity provider's name or ARN.
func providerName(ref string) string {
	if _, after, ok := strings.Cut(ref, ":capacity-provider/"); ok && strings.HasPrefix(ref, "arn:") {
		return after
	}
	return ref
}

func errProviderNotFound() error {
	return api.InvalidParameter("The specified capacity provider does not exist. Specify a valid name or ARN and try again.")
}

// CreateCapacityProvider creates a capacity provider over an existing Auto Scaling group.
func (s *Service) CreateCapacityProvider(ctx context.Context, in *CreateCapacityProviderInput) (*CapacityProviderOutput, error) {
	if err := s.authorize(ctx, "CreateCapacityProvider", s.arn("capacity-provider/"+in.Name)); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, api.InvalidParameter("name is required.")
	}
	if !nameRE.MatchString(in.Name) {
		return nil, api.InvalidParameter("The capacity provider name can have up to 255 characters: letters (uppercase and lowercase), numbers, underscores, and hyphens.")
	}
	lower := strings.ToLower(in.Name)
	if slices.Contains(reservedProviders, in.Name) || strings.HasPrefix(lower, "aws") || strings.HasPrefix(lower, "ecs") || strings.HasPrefix(lower, "fargate") {
		return nil, api.InvalidParameter("The specified capacity provider name is invalid. Capacity provider names can't be prefixed with \"aws\", \"ecs\", or \"fargate\". Specify a different name and try again.")
	}
	asg := in.AutoScalingGroupProvider
	if asg == nil || asg.AutoScalingGroupArn == "" {
		return nil, api.InvalidParameter("autoScalingGroupProvider.autoScalingGroupArn is required.")
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	ms, err := mergeManagedScaling(defaultManagedScaling(), asg.ManagedScaling)
	if err != nil {
		return nil, err
	}
	prov := AutoScalingGroupProvider{ManagedScaling: ms, ManagedTerminationProtection: "DISABLED", ManagedDraining: "ENABLED"}
	if err := setToggles(&prov, asg); err != nil {
		return nil, err
	}
	groupARN, err := s.groupARN(ctx, asg.AutoScalingGroupArn)
	if err != nil {
		return nil, err
	}
	prov.AutoScalingGroupArn = groupARN
	cp := CapacityProvider{
		CapacityProviderArn: s.arn("capacity-provider/" + in.Name), Name: in.Name, Status: "ACTIVE",
		AutoScalingGroupProvider: &prov, Tags: orEmpty(in.Tags),
	}
	key, gkey := s.keys.capacityProvider(in.Name), s.keys.groupProvider(groupARN)
	for attempt := 0; ; attempt++ {
		old, err := store.Get[CapacityProvider](ctx, s.store, key)
		switch {
		case err == nil && old.Value.Status == "ACTIVE":
			return nil, api.ClientError("The specified capacity provider already exists. To change the configuration of an existing capacity provider, update the capacity provider.")
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
		// gkey names the active provider of the group, while there is one.
		if _, err := store.Get[string](ctx, s.store, gkey); err == nil {
			return nil, api.ClientError("The specified Auto Scaling group ARN is already being used by another capacity provider. Specify a unique Auto Scaling group ARN and try again.")
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		// The name of a deleted provider may be reused.
		err = s.store.Commit(ctx, store.NewTxn().IfRev(key, old.Rev).IfAbsent(gkey).Put(key, cp).Put(gkey, in.Name))
		if errors.Is(err, store.ErrConflict) && attempt < 3 {
			continue // look again at what the other request did
		}
		if errors.Is(err, store.ErrConflict) {
			return nil, api.Errorf("UpdateInProgressException", "Another request is changing capacity providers; try again.")
		}
		if err != nil {
			return nil, err
		}
		break
	}
	s.log.Info("capacity provider created", "capacityProvider", cp.CapacityProviderArn, "autoScalingGroup", groupARN)
	return &CapacityProviderOutput{CapacityProvider: &cp}, nil
}

// groupARN resolves an Auto Scaling group through Config.AutoScaling.
func (s *Service) groupARN(ctx context.Context, ref string) (string, error) {
	notFound := api.ClientError("The specified Auto Scaling group %s could not be found. Specify a valid Auto Scaling group ARN and try again.", ref)
	if s.cfg.AutoScaling == nil {
		return "", notFound
	}
	arn, ok, err := s.cfg.AutoScaling.GroupARN(ctx, ref)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", notFound
	}
	return arn, nil
}

// defaultManagedScaling is what AWS reports for a provider created without managedScaling.
func defaultManagedScaling() *ManagedScaling {
	return &ManagedScaling{Status: "DISABLED", TargetCapacity: ptr(100), MinimumScalingStepSize: ptr(1),
		MaximumScalingStepSize: ptr(10000), InstanceWarmupPeriod: ptr(300)}
}

// mergeManagedScaling returns base with the fields set in change applied,
// checked against the model's ranges.
func mergeManagedScaling(base, change *ManagedScaling) (*ManagedScaling, error) {
	out := *base
	if change == nil {
		return &out, nil
	}
	if change.Status != "" {
		if change.Status != "ENABLED" && change.Status != "DISABLED" {
			return nil, api.InvalidParameter("Invalid managedScaling status %q: valid values are ENABLED and DISABLED.", change.Status)
		}
		out.Status = change.Status
	}
	for _, f := range []struct {
		name     string
		v        *int
		dst      **int
		min, max int
	}{
		{"targetCapacity", change.TargetCapacity, &out.TargetCapacity, 1, 100},
		{"minimumScalingStepSize", change.MinimumScalingStepSize, &out.MinimumScalingStepSize, 1, 10000},
		{"maximumScalingStepSize", change.MaximumScalingStepSize, &out.MaximumScalingStepSize, 1, 10000},
		{"instanceWarmupPeriod", change.InstanceWarmupPeriod, &out.InstanceWarmupPeriod, 0, 10000},
	} {
		if f.v == nil {
			continue
		}
		if *f.v < f.min || *f.v > f.max {
			return nil, api.InvalidParameter("The managed scaling %s value is invalid: it must be between %d and %d.", f.name, f.min, f.max)
		}
		*f.dst = ptr(*f.v)
	}
	if *out.MinimumScalingStepSize > *out.MaximumScalingStepSize {
		return nil, api.InvalidParameter("The managed scaling minimumScalingStepSize must be less than or equal to maximumScalingStepSize.")
	}
	return &out, nil
}

// setToggles applies the ENABLED/DISABLED settings given in change to p.
func setToggles(p *AutoScalingGroupProvider, change *AutoScalingGroupProvider) error {
	for _, f := range []struct {
		name string
		v    string
		dst  *string
	}{
		{"managedTerminationProtection", change.ManagedTerminationProtection, &p.ManagedTerminationProtection},
		{"managedDraining", change.ManagedDraining, &p.ManagedDraining},
	} {
		switch f.v {
		case "":
		case "ENABLED", "DISABLED":
			*f.dst = f.v
		default:
			return api.InvalidParameter("Invalid %s %q: valid values are ENABLED and DISABLED.", f.name, f.v)
		}
	}
	return nil
}

type DescribeCapacityProvidersInput struct {
	CapacityProviders []string `json:"capacityProviders"`
	Include           []string `json:"include"`
	MaxResults        *int     `json:"maxResults"`
	NextToken         *string  `json:"nextToken"`
}

type DescribeCapacityProvidersOutput struct {
	CapacityProviders []CapacityProvider `json:"capacityProviders"`
	Failures          []Failure          `json:"failures"`
	NextToken         *string            `json:"nextToken,omitempty"`
}

// DescribeCapacityProviders describes providers by name or ARN, or pages
// through the active ones. A deleted provider named explicitly is
// described as INACTIVE with updateStatus DELETE_COMPLETE, as AWS does for
// a while after the deletion; Berth keeps the record until the name is reused.
func (s *Service) DescribeCapacityProviders(ctx context.Context, in *DescribeCapacityProvidersInput) (*DescribeCapacityProvidersOutput, error) {
	if err := s.authorize(ctx, "DescribeCapacityProviders", "*"); err != nil {
		return nil, err
	}
	if len(in.CapacityProviders) > 100 {
		return nil, api.InvalidParameter("At most 100 capacity providers can be described at once.")
	}
	for _, f := range in.Include {
		if f != "TAGS" {
			return nil, api.InvalidParameter("Invalid include field %q: valid values are TAGS.", f)
		}
	}
	tags := slices.Contains(in.Include, "TAGS")
	out := &DescribeCapacityProvidersOutput{CapacityProviders: []CapacityProvider{}, Failures: []Failure{}}
	render := func(cp CapacityProvider) {
		if !tags {
			cp.Tags = nil
		} else {
			cp.Tags = orEmpty(cp.Tags)
		}
		out.CapacityProviders = append(out.CapacityProviders, cp)
	}
	if len(in.CapacityProviders) > 0 {
		for _, ref := range in.CapacityProviders {
			name := providerName(ref)
			if slices.Contains(reservedProviders, name) {
				render(s.reservedProvider(name))
				continue
			}
			it, err := store.Get[CapacityProvider](ctx, s.store, s.keys.capacityProvider(name))
			if errors.Is(err, store.ErrNotFound) || name == "" {
				out.Failures = append(out.Failures, Failure{Arn: ref, Reason: "MISSING"})
				continue
			}
			if err != nil {
				return nil, err
			}
			render(it.Value)
		}
		return out, nil
	}
	all, err := store.List[CapacityProvider](ctx, s.store, s.keys.capacityProviders())
	if err != nil {
		return nil, err
	}
	byName := map[string]CapacityProvider{}
	var names []string
	for _, name := range reservedProviders {
		byName[name] = s.reservedProvider(name)
		names = append(names, name)
	}
	for _, it := range all {
		if it.Value.Status == "ACTIVE" {
			byName[it.Value.Name] = it.Value
			names = append(names, it.Value.Name)
		}
	}
	sort.Strings(names)
	page, next, err := api.Paginate(names, in.NextToken, in.MaxResults, 10)
	if err != nil {
		return nil, err
	}
	for _, n := range page {
		render(byName[n])
	}
	out.NextToken = next
	return out, nil
}

// UpdateCapacityProvider changes a provider's managed scaling, termination
// protection and draining settings; fields left out keep their values.
func (s *Service) UpdateCapacityProvider(ctx context.Context, in *UpdateCapacityProviderInput) (*CapacityProviderOutput, error) {
	name := providerName(in.Name)
	if err := s.authorize(ctx, "UpdateCapacityProvider", s.arn("capacity-provider/"+name)); err != nil {
		return nil, err
	}
	if name == "" || in.AutoScalingGroupProvider == nil {
		return nil, api.InvalidParameter("name and autoScalingGroupProvider are required.")
	}
	if in.AutoScalingGroupProvider.AutoScalingGroupArn != "" {
		return nil, api.InvalidParameter("The Auto Scaling group of a capacity provider cannot be changed; create a new capacity provider instead.")
	}
	// Validate before touching the record, so bad input writes nothing.
	if _, err := mergeManagedScaling(defaultManagedScaling(), in.AutoScalingGroupProvider.ManagedScaling); err != nil {
		return nil, err
	}
	if err := setToggles(&AutoScalingGroupProvider{}, in.AutoScalingGroupProvider); err != nil {
		return nil, err
	}
	cp, err := store.Update(ctx, s.store, s.keys.capacityProvider(name), func(cp *CapacityProvider) error {
		if cp.Status != "ACTIVE" {
			return errProviderNotFound()
		}
		prov := *cp.AutoScalingGroupProvider
		ms, err := mergeManagedScaling(prov.ManagedScaling, in.AutoScalingGroupProvider.ManagedScaling)
		if err != nil {
			return err
		}
		prov.ManagedScaling = ms
		if err := setToggles(&prov, in.AutoScalingGroupProvider); err != nil {
			return err
		}
		cp.AutoScalingGroupProvider = &prov
		cp.UpdateStatus, cp.UpdateStatusReason = "UPDATE_COMPLETE", ""
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, errProviderNotFound()
	}
	if err != nil {
		return nil, err
	}
	cp.Tags = nil
	return &CapacityProviderOutput{CapacityProvider: &cp}, nil
}

// DeleteCapacityProvider deletes a provider no cluster and no service uses:
// it becomes INACTIVE with updateStatus DELETE_COMPLETE.
func (s *Service) DeleteCapacityProvider(ctx context.Context, in *DeleteCapacityProviderInput) (*CapacityProviderOutput, error) {
	name := providerName(in.CapacityProvider)
	if err := s.authorize(ctx, "DeleteCapacityProvider", s.arn("capacity-provider/"+name)); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, api.InvalidParameter("capacityProvider is required.")
	}
	if slices.Contains(reservedProviders, name) {
		return nil, api.InvalidParameter("The %s capacity provider is reserved and cannot be deleted.", name)
	}
	it, err := store.Get[CapacityProvider](ctx, s.store, s.keys.capacityProvider(name))
	if errors.Is(err, store.ErrNotFound) || err == nil && it.Value.Status != "ACTIVE" {
		return nil, errProviderNotFound()
	}
	if err != nil {
		return nil, err
	}
	// A service can use only a provider of its cluster, and a provider a
	// service uses cannot leave its cluster: a provider associated with no
	// cluster is used by no service.
	akey := s.keys.providerCluster(name)
	owner, err := store.Get[string](ctx, s.store, akey)
	if err == nil {
		svcs, err := store.List[serviceRecord](ctx, s.store, s.keys.services(owner.Value))
		if err != nil {
			return nil, err
		}
		for _, sv := range svcs {
			if sv.Value.Service.Status != "INACTIVE" && usesProvider(sv.Value.Service.CapacityProviderStrategy, name) {
				return nil, api.Errorf("ResourceInUseException", "The specified capacity provider is in use by service %s and cannot be deleted. Remove it from the service's capacity provider strategy and try again.", sv.Value.Service.ServiceArn)
			}
		}
		return nil, api.Errorf("ResourceInUseException", "The specified capacity provider is associated with cluster %s and cannot be deleted. Remove it from the cluster with PutClusterCapacityProviders and try again.", owner.Value)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	txn := store.NewTxn().IfAbsent(akey)
	cp := it.Value
	cp.Status, cp.UpdateStatus, cp.UpdateStatusReason = "INACTIVE", "DELETE_COMPLETE", ""
	txn.IfRev(it.Key, it.Rev).Put(it.Key, cp)
	if cp.AutoScalingGroupProvider != nil {
		txn.Delete(s.keys.groupProvider(cp.AutoScalingGroupProvider.AutoScalingGroupArn))
	}
	if err := s.store.Commit(ctx, txn); errors.Is(err, store.ErrConflict) {
		return nil, api.Errorf("UpdateInProgressException", "The capacity provider or a cluster is being changed by another request; try again.")
	} else if err != nil {
		return nil, err
	}
	s.log.Info("capacity provider deleted", "capacityProvider", cp.CapacityProviderArn)
	cp.Tags = nil
	return &CapacityProviderOutput{CapacityProvider: &cp}, nil
}

func usesProvider(strategy []CapacityProviderStrategyItem, name string) bool {
	return slices.ContainsFunc(strategy, func(it CapacityProviderStrategyItem) bool { return it.CapacityProvider == name })
}

// providerOfInstance names the capacity provider an EC2 instance
// registering with cluster belongs to: the ACTIVE provider associated with
// the cluster whose Auto Scaling group the instance is in; "" when none.
func (s *Service) providerOfInstance(ctx context.Context, cluster, ec2InstanceID string) (string, error) {
	if s.cfg.Fargate != nil && ec2InstanceID != "" {
		if ok, err := s.cfg.Fargate.IsFargateHost(ctx, ec2InstanceID); err != nil || ok {
			if ok {
				return fargateHostProvider, nil
			}
			return "", err
		}
	}
	if s.cfg.AutoScaling == nil || ec2InstanceID == "" {
		return "", nil
	}
	group, err := s.cfg.AutoScaling.GroupOfInstance(ctx, ec2InstanceID)
	if err != nil || group == "" {
		return "", err
	}
	cl, err := store.Get[clusterRecord](ctx, s.store, s.keys.cluster(cluster))
	if err != nil {
		return "", err
	}
	for _, name := range cl.Value.CapacityProviders {
		cp, err := store.Get[CapacityProvider](ctx, s.store, s.keys.capacityProvider(name))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", err
		}
		if cp.Value.Status == "ACTIVE" && cp.Value.AutoScalingGroupProvider != nil && cp.Value.AutoScalingGroupProvider.AutoScalingGroupArn == group {
			return name, nil
		}
	}
	return "", nil
}
