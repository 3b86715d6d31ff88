package ecs

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// DefaultCluster is the cluster used when a request names none.
const DefaultCluster = "default"

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)

// clusterRecord is a cluster as stored.
type clusterRecord struct {
	Name                            string                         `json:"name"`
	Status                          string                         `json:"status"`
	Settings                        []ClusterSetting               `json:"settings"`
	Tags                            []Tag                          `json:"tags"`
	CapacityProviders               []string                       `json:"capacityProviders"`
	DefaultCapacityProviderStrategy []CapacityProviderStrategyItem `json:"defaultCapacityProviderStrategy"`
	Configuration                   *ClusterConfiguration          `json:"configuration,omitempty"`
	ServiceConnectDefaults          *ServiceConnectDefaults        `json:"serviceConnectDefaults,omitempty"`
}

type CreateClusterInput struct {
	ClusterName                     string                         `json:"clusterName"`
	Tags                            []Tag                          `json:"tags"`
	Settings                        []ClusterSetting               `json:"settings"`
	CapacityProviders               []string                       `json:"capacityProviders"`
	DefaultCapacityProviderStrategy []CapacityProviderStrategyItem `json:"defaultCapacityProviderStrategy"`
	Configuration                   *ClusterConfiguration          `json:"configuration"`
	ServiceConnectDefaults          *ServiceConnectDefaults        `json:"serviceConnectDefaults"`
}

// checkClusterConfiguration checks a cluster's configuration and Service
// Connect defaults as ECS does.
func checkClusterConfiguration(c *ClusterConfiguration, sc *ServiceConnectDefaults) error {
	if c != nil && c.ExecuteCommandConfiguration != nil {
		x := c.ExecuteCommandConfiguration
		switch x.Logging {
		case "", "NONE", "DEFAULT":
			if x.LogConfiguration != nil {
				return api.InvalidParameter("logConfiguration can be set only when logging is OVERRIDE.")
			}
		case "OVERRIDE":
			if x.LogConfiguration == nil {
				return api.InvalidParameter("logConfiguration is required when logging is OVERRIDE.")
			}
		default:
			return api.InvalidParameter("Invalid logging %q: valid values are NONE, DEFAULT and OVERRIDE.", x.Logging)
		}
	}
	if sc != nil && sc.Namespace == "" {
		return api.InvalidParameter("serviceConnectDefaults.namespace is required.")
	}
	return nil
}

type ClusterOutput struct {
	Cluster *Cluster `json:"cluster"`
}

// clusterName accepts a cluster name or ARN ("" means default).
func clusterName(ref string) string {
	if ref == "" {
		return DefaultCluster
	}
	if strings.HasPrefix(ref, "arn:") {
		if _, after, ok := strings.Cut(ref, ":cluster/"); ok {
			return after
		}
		return ""
	}
	return ref
}

func validateSettings(settings []ClusterSetting) error {
	for _, st := range settings {
		if st.Name != "containerInsights" {
			return api.InvalidParameter("Unsupported cluster setting name %q; valid names: containerInsights.", st.Name)
		}
		if !slices.Contains([]string{"enabled", "disabled", "enhanced"}, st.Value) {
			return api.InvalidParameter("Invalid value %q for cluster setting containerInsights: valid values are enabled, disabled and enhanced.", st.Value)
		}
	}
	return nil
}

// tagRules are ECS's: 50 per resource, the model's characters.
var tagRules = api.TagRules{Code: api.CodeInvalidParameterException, Field: "tags", Max: 50, Chars: true}

func validateTags(tags []Tag) error {
	return tagRules.Check(len(tags), func(i int) (string, string) { return tags[i].Key, tags[i].Value })
}

// CreateCluster creates a cluster, or returns the existing active one of that name.
func (s *Service) CreateCluster(ctx context.Context, in *CreateClusterInput) (*ClusterOutput, error) {
	name := in.ClusterName
	if name == "" {
		name = DefaultCluster
	}
	if err := s.authorize(ctx, "CreateCluster", s.arn("cluster/"+name)); err != nil {
		return nil, err
	}
	if !nameRE.MatchString(name) {
		return nil, api.InvalidParameter("Cluster name can have up to 255 characters: letters (uppercase and lowercase), numbers, underscores, and hyphens.")
	}
	if err := validateSettings(in.Settings); err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	for i, p := range in.CapacityProviders {
		in.CapacityProviders[i] = providerName(p)
	}
	if err := checkAssociation(in.CapacityProviders, in.DefaultCapacityProviderStrategy); err != nil {
		return nil, err
	}
	if err := checkClusterConfiguration(in.Configuration, in.ServiceConnectDefaults); err != nil {
		return nil, err
	}
	rec, err := s.ensureCluster(ctx, clusterRecord{
		Name: name, Status: "ACTIVE", Settings: in.Settings, Tags: in.Tags,
		CapacityProviders: in.CapacityProviders, DefaultCapacityProviderStrategy: in.DefaultCapacityProviderStrategy,
		Configuration: in.Configuration, ServiceConnectDefaults: in.ServiceConnectDefaults,
	})
	if err != nil {
		return nil, err
	}
	// Its Fargate host, if it had one, goes.
	s.fargateRetire.Store(true)
	s.kickFargate()
	c, err := s.clusterView(ctx, rec, nil)
	return &ClusterOutput{Cluster: c}, err
}

// ensureCluster creates rec unless an active cluster of that name exists,
// which it returns instead; an inactive one is reactivated.
func (s *Service) ensureCluster(ctx context.Context, rec clusterRecord) (clusterRecord, error) {
	key := s.keys.cluster(rec.Name)
	for {
		it, err := store.Get[clusterRecord](ctx, s.store, key)
		switch {
		case err == nil && it.Value.Status == "ACTIVE":
			return it.Value, nil
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return rec, err
		}
		if rec.Settings == nil {
			// A new cluster takes the containerInsights account setting
			// of the account (its root's), as ECS does.
			ci, _, err := s.effectiveSetting(ctx, s.rootARN(), "containerInsights", true)
			if err != nil {
				return rec, err
			}
			rec.Settings = []ClusterSetting{{Name: "containerInsights", Value: ci.Value}}
		}
		txn := store.NewTxn().IfRev(key, it.Rev)
		if err := s.associate(ctx, txn, rec.Name, nil, rec.CapacityProviders); err != nil {
			return rec, err
		}
		err = s.store.Commit(ctx, txn.Put(key, rec))
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return rec, err
	}
}

// activeCluster loads a cluster that must exist and be ACTIVE.
func (s *Service) activeCluster(ctx context.Context, ref string) (store.Item[clusterRecord], error) {
	name := clusterName(ref)
	it, err := store.Get[clusterRecord](ctx, s.store, s.keys.cluster(name))
	if errors.Is(err, store.ErrNotFound) || (err == nil && it.Value.Status != "ACTIVE") {
		return it, errClusterNotFound()
	}
	return it, err
}

func errClusterNotFound() error {
	return api.Errorf("ClusterNotFoundException", "Cluster not found.")
}

// clusterView renders a cluster with its live counts.
func (s *Service) clusterView(ctx context.Context, rec clusterRecord, include []string) (*Cluster, error) {
	c := &Cluster{
		ClusterArn: s.arn("cluster/" + rec.Name), ClusterName: rec.Name, Status: rec.Status,
		Statistics: []KeyValuePair{}, Tags: []Tag{}, Settings: rec.Settings,
		CapacityProviders: orEmpty(rec.CapacityProviders), DefaultCapacityProviderStrategy: orEmpty(rec.DefaultCapacityProviderStrategy),
		Configuration: rec.Configuration, ServiceConnectDefaults: rec.ServiceConnectDefaults,
	}
	if slices.Contains(include, "TAGS") || include == nil {
		c.Tags = orEmpty(rec.Tags)
	}
	if rec.Status != "ACTIVE" {
		return c, nil
	}
	insts, err := store.List[instanceRecord](ctx, s.store, s.keys.instances(rec.Name))
	if err != nil {
		return nil, err
	}
	for _, it := range insts {
		if st := it.Value.Instance.Status; (st == "ACTIVE" || st == "DRAINING") && !it.Value.fargateHost() {
			c.RegisteredContainerInstancesCount++
		}
	}
	tasks, err := store.List[taskRecord](ctx, s.store, s.keys.tasks(rec.Name))
	if err != nil {
		return nil, err
	}
	services, err := store.List[serviceRecord](ctx, s.store, s.keys.services(rec.Name))
	if err != nil {
		return nil, err
	}
	var activeServices, drainingServices int
	for _, it := range services {
		switch it.Value.Service.Status {
		case "ACTIVE":
			activeServices++
		case "DRAINING":
			drainingServices++
		}
	}
	c.ActiveServicesCount = activeServices
	var running, pending [2]int // EC2, Fargate
	for _, it := range tasks {
		kind := 0
		if it.Value.Fargate {
			kind = 1
		}
		switch it.Value.Task.LastStatus {
		case "RUNNING":
			c.RunningTasksCount++
			running[kind]++
		case "PROVISIONING", "PENDING", "ACTIVATING":
			c.PendingTasksCount++
			pending[kind]++
		}
	}
	if slices.Contains(include, "STATISTICS") {
		c.Statistics = []KeyValuePair{
			{Name: "runningEC2TasksCount", Value: strconv.Itoa(running[0])},
			{Name: "runningFargateTasksCount", Value: strconv.Itoa(running[1])},
			{Name: "pendingEC2TasksCount", Value: strconv.Itoa(pending[0])},
			{Name: "pendingFargateTasksCount", Value: strconv.Itoa(pending[1])},
			{Name: "activeEC2ServiceCount", Value: strconv.Itoa(activeServices)},
			{Name: "activeFargateServiceCount", Value: "0"},
			{Name: "drainingEC2ServiceCount", Value: strconv.Itoa(drainingServices)},
			{Name: "drainingFargateServiceCount", Value: "0"},
		}
	}
	return c, nil
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

type DescribeClustersInput struct {
	Clusters []string `json:"clusters"`
	Include  []string `json:"include"`
}

type DescribeClustersOutput struct {
	Clusters []*Cluster `json:"clusters"`
	Failures []Failure  `json:"failures"`
}

// DescribeClusters describes clusters by name or ARN; unknown ones are failures with reason MISSING.
func (s *Service) DescribeClusters(ctx context.Context, in *DescribeClustersInput) (*DescribeClustersOutput, error) {
	refs := in.Clusters
	if len(refs) == 0 {
		refs = []string{DefaultCluster}
	}
	if len(refs) > 100 {
		return nil, api.InvalidParameter("At most 100 clusters can be described at once.")
	}
	for _, f := range in.Include {
		if !slices.Contains([]string{"ATTACHMENTS", "CONFIGURATIONS", "SETTINGS", "STATISTICS", "TAGS"}, f) {
			return nil, api.InvalidParameter("Invalid include field %q.", f)
		}
	}
	include := in.Include
	if include == nil {
		include = []string{}
	}
	out := &DescribeClustersOutput{Clusters: []*Cluster{}, Failures: []Failure{}}
	for _, ref := range refs {
		name := clusterName(ref)
		if err := s.authorize(ctx, "DescribeClusters", s.arn("cluster/"+name)); err != nil {
			return nil, err
		}
		it, err := store.Get[clusterRecord](ctx, s.store, s.keys.cluster(name))
		if errors.Is(err, store.ErrNotFound) || name == "" {
			out.Failures = append(out.Failures, Failure{Arn: s.arn("cluster/" + name), Reason: "MISSING"})
			continue
		}
		if err != nil {
			return nil, err
		}
		c, err := s.clusterView(ctx, it.Value, include)
		if err != nil {
			return nil, err
		}
		out.Clusters = append(out.Clusters, c)
	}
	return out, nil
}

type ListInput struct {
	NextToken  *string `json:"nextToken"`
	MaxResults *int    `json:"maxResults"`
}

type ListClustersOutput struct {
	ClusterArns []string `json:"clusterArns"`
	NextToken   *string  `json:"nextToken,omitempty"`
}

// ListClusters lists active clusters.
func (s *Service) ListClusters(ctx context.Context, in *ListInput) (*ListClustersOutput, error) {
	if err := s.authorize(ctx, "ListClusters", "*"); err != nil {
		return nil, err
	}
	items, err := store.List[clusterRecord](ctx, s.store, s.keys.clusters())
	if err != nil {
		return nil, err
	}
	var arns []string
	for _, it := range items {
		if it.Value.Status == "ACTIVE" {
			arns = append(arns, s.arn("cluster/"+it.Value.Name))
		}
	}
	sort.Strings(arns)
	page, next, err := api.Paginate(arns, in.NextToken, in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	return &ListClustersOutput{ClusterArns: orEmpty(page), NextToken: next}, nil
}

type ClusterRefInput struct {
	Cluster  string           `json:"cluster"`
	Settings []ClusterSetting `json:"settings"`
}

// DeleteCluster marks an empty cluster INACTIVE.
func (s *Service) DeleteCluster(ctx context.Context, in *ClusterRefInput) (*ClusterOutput, error) {
	if in.Cluster == "" {
		return nil, api.InvalidParameter("cluster is required.")
	}
	it, err := s.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "DeleteCluster", s.arn("cluster/"+it.Value.Name)); err != nil {
		return nil, err
	}
	view, err := s.clusterView(ctx, it.Value, nil)
	if err != nil {
		return nil, err
	}
	if view.RegisteredContainerInstancesCount > 0 {
		return nil, api.Errorf("ClusterContainsContainerInstancesException", "The Cluster cannot be deleted while Container Instances are active or draining.")
	}
	if view.ActiveServicesCount > 0 {
		return nil, api.Errorf("ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active.")
	}
	if view.RunningTasksCount+view.PendingTasksCount > 0 {
		return nil, api.Errorf("ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active.")
	}
	rec := it.Value
	rec.Status = "INACTIVE"
	txn := store.NewTxn().IfRev(it.Key, it.Rev).Put(it.Key, rec)
	// A deleted cluster's capacity providers are free for another.
	if err := s.associate(ctx, txn, rec.Name, rec.CapacityProviders, nil); err != nil {
		return nil, err
	}
	if err := s.store.Commit(ctx, txn); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, api.Errorf("UpdateInProgressException", "The cluster is being changed by another request; try again.")
		}
		return nil, err
	}
	// Its Fargate host, if it had one, goes.
	s.fargateRetire.Store(true)
	s.kickFargate()
	c, err := s.clusterView(ctx, rec, nil)
	return &ClusterOutput{Cluster: c}, err
}

// UpdateClusterSettings replaces the named settings of a cluster.
func (s *Service) UpdateClusterSettings(ctx context.Context, in *ClusterRefInput) (*ClusterOutput, error) {
	if in.Cluster == "" || len(in.Settings) == 0 {
		return nil, api.InvalidParameter("cluster and settings are required.")
	}
	return s.updateCluster(ctx, "UpdateClusterSettings", &UpdateClusterInput{Cluster: in.Cluster, Settings: in.Settings})
}

type UpdateClusterInput struct {
	Cluster                string                  `json:"cluster"`
	Settings               []ClusterSetting        `json:"settings"`
	Configuration          *ClusterConfiguration   `json:"configuration"`
	ServiceConnectDefaults *ServiceConnectDefaults `json:"serviceConnectDefaults"`
}

// UpdateCluster changes a cluster's settings, its execute command
// configuration and its Service Connect defaults.
func (s *Service) UpdateCluster(ctx context.Context, in *UpdateClusterInput) (*ClusterOutput, error) {
	if in.Cluster == "" {
		return nil, api.InvalidParameter("cluster is required.")
	}
	return s.updateCluster(ctx, "UpdateCluster", in)
}

func (s *Service) updateCluster(ctx context.Context, action string, in *UpdateClusterInput) (*ClusterOutput, error) {
	if err := validateSettings(in.Settings); err != nil {
		return nil, err
	}
	if err := checkClusterConfiguration(in.Configuration, in.ServiceConnectDefaults); err != nil {
		return nil, err
	}
	it, err := s.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, action, s.arn("cluster/"+it.Value.Name)); err != nil {
		return nil, err
	}
	rec, err := store.Update(ctx, s.store, it.Key, func(r *clusterRecord) error {
		if r.Status != "ACTIVE" {
			return errClusterNotFound()
		}
		if in.Configuration != nil {
			r.Configuration = in.Configuration
		}
		if in.ServiceConnectDefaults != nil {
			r.ServiceConnectDefaults = in.ServiceConnectDefaults
		}
		for _, st := range in.Settings {
			i := slices.IndexFunc(r.Settings, func(x ClusterSetting) bool { return x.Name == st.Name })
			if i >= 0 {
				r.Settings[i] = st
			} else {
				r.Settings = append(r.Settings, st)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c, err := s.clusterView(ctx, rec, []string{"SETTINGS", "TAGS"})
	return &ClusterOutput{Cluster: c}, err
}

// EnsureCluster creates the named cluster unless it is already active.
func (s *Service) EnsureCluster(ctx context.Context, name string) error {
	_, err := s.ensureCluster(ctx, clusterRecord{Name: name, Status: "ACTIVE"})
	return err
}
