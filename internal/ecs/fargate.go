package ecs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// Fargate tasks run on capacity Berth manages itself: one hidden instance
// per cluster (a Fargate host, see ec2.LaunchFargateHost), whose agent
// gives every task its own interface. The first Fargate task of a cluster
// waits in PROVISIONING while the leader launches the cluster's host;
// later ones are placed on it at once. The host's container instance
// (capacity provider name FARGATE, which no user provider may take) is in
// no list a user sees, and the tasks on it show no container instance.

// FargateCapacity launches and recognises Fargate hosts (EC2).
type FargateCapacity interface {
	// FargateHost is the cluster's host that is pending or running, or "".
	FargateHost(ctx context.Context, cluster string) (string, error)
	// LaunchFargateHost launches the cluster's host.
	LaunchFargateHost(ctx context.Context, cluster string) (string, error)
	// IsFargateHost reports whether an EC2 instance is a Fargate host.
	IsFargateHost(ctx context.Context, ec2InstanceID string) (bool, error)
	// FargateHosts are the pending and running hosts, with the cluster
	// each serves, by EC2 instance id.
	FargateHosts(ctx context.Context) (map[string]string, error)
	// RetireFargateHost terminates a host.
	RetireFargateHost(ctx context.Context, ec2InstanceID string) error
}

const (
	// fargateHostProvider is the capacity provider name of a Fargate
	// host's container instance.
	fargateHostProvider = "FARGATE"
	// FargatePlatformVersion is the platform version LATEST stands for.
	FargatePlatformVersion = "1.4.0"
	// fargateEphemeralStorage is a Fargate task's storage when its
	// definition names none, in GiB.
	fargateEphemeralStorage = 20
)

// fargate reports whether a service's tasks are Fargate's, by launch type
// or capacity provider strategy.
func (svc *ECSService) fargate() bool {
	fs, _ := fargateStrategy(svc.CapacityProviderStrategy)
	return fs || svc.LaunchType == string(launchFargate)
}

// fargateHostStatus is a Fargate host's status in the placement view,
// so that only Fargate placements, which set it ACTIVE, take it.
const fargateHostStatus = "FARGATE_HOST"

// fargateHost reports whether an instance record is a Fargate host's.
func (r *instanceRecord) fargateHost() bool {
	return r.Instance.CapacityProviderName == fargateHostProvider
}

// checkFargate checks a FARGATE launch as ECS does, before anything is
// placed, and returns its platform version.
func (s *Service) checkFargate(in *RunTaskInput, td *TaskDefinition) (string, error) {
	if s.cfg.Fargate == nil || s.cfg.Networks == nil {
		return "", api.InvalidParameter("Launch type FARGATE needs Berth's EC2, which this server does not run.")
	}
	if !launchFargate.runs(td) || !slices.Contains(td.Compatibilities, "FARGATE") {
		return "", api.InvalidParameter("Task definition does not support launch_type FARGATE.")
	}
	if len(in.PlacementConstraints) > 0 {
		return "", api.InvalidParameter("Task placement constraints are not supported for the FARGATE launch type.")
	}
	if len(in.PlacementStrategy) > 0 {
		return "", api.InvalidParameter("Task placement strategies are not supported for the FARGATE launch type.")
	}
	return platformVersion(in.PlatformVersion, true)
}

// platformVersion is the concrete platform version a launch asks for:
// LATEST (or none) is FargatePlatformVersion; an EC2 launch takes none.
func platformVersion(asked string, fargate bool) (string, error) {
	if !fargate {
		if asked != "" {
			return "", api.InvalidParameter("The platform version must be null when specifying an EC2 launch type.")
		}
		return "", nil
	}
	switch asked {
	case "", "LATEST", FargatePlatformVersion:
		return FargatePlatformVersion, nil
	}
	return "", api.InvalidParameter("The specified platform version (%s) does not exist. Valid versions are LATEST and %s.", asked, FargatePlatformVersion)
}

// fargateTask fills what DescribeTasks shows of a Fargate task.
func fargateTask(t *Task, td *TaskDefinition, platform string) {
	t.LaunchType, t.PlatformVersion, t.PlatformFamily, t.ContainerInstanceArn = "FARGATE", platform, "Linux", ""
	size := fargateEphemeralStorage
	if td.EphemeralStorage != nil && td.EphemeralStorage.SizeInGiB > 0 {
		size = td.EphemeralStorage.SizeInGiB
	}
	t.EphemeralStorage = &EphemeralStorage{SizeInGiB: size}
}

// fargateWait indexes a Fargate task waiting for its cluster's host.
func (k keys) fargateWait(cluster, id string) string {
	return k.prefix + "fargate-wait/" + cluster + "/" + id
}
func (k keys) fargateWaits() string { return k.prefix + "fargate-wait/" }

// FargateInterval is how often the leader looks for Fargate tasks that
// wait for their cluster's host.
const FargateInterval = time.Second

// kickFargate wakes the Fargate controller after a task started waiting.
func (s *Service) kickFargate() {
	select {
	case s.fargateKick <- struct{}{}:
	default:
	}
}

// retireEvery is how many passes go by between two looks for Fargate
// hosts whose cluster is gone, besides the look DeleteCluster asks for:
// a leader that stopped between the two finds them within this.
const retireEvery = 30

// runFargate runs fargatePass every FargateInterval, or at once when a
// task starts waiting, until ctx ends; and retireFargateHosts when a
// cluster was deleted, and every retireEvery passes.
func (s *Service) runFargate(ctx context.Context) error {
	tick := time.NewTicker(FargateInterval)
	defer tick.Stop()
	for pass := 0; ; pass++ {
		if err := s.fargatePass(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("fargate capacity", "err", err)
		}
		if s.fargateRetire.Swap(false) || pass%retireEvery == 0 {
			if err := s.retireFargateHosts(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("fargate capacity: retire hosts of deleted clusters", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-s.fargateKick:
		}
	}
}

// fargatePass launches the host of every cluster with Fargate tasks
// waiting and none being launched, and places the waiting tasks on the
// hosts that have joined.
func (s *Service) fargatePass(ctx context.Context) error {
	if s.cfg.Fargate == nil {
		return nil
	}
	waits, err := s.store.Keys(ctx, s.keys.fargateWaits())
	if err != nil || len(waits) == 0 {
		return err
	}
	clusters := map[string][]string{}
	for _, k := range waits {
		cluster, _, _ := strings.Cut(strings.TrimPrefix(k, s.keys.fargateWaits()), "/")
		clusters[cluster] = append(clusters[cluster], k)
	}
	var errs []error
	for cluster, keys := range clusters {
		if err := s.fargateCluster(ctx, cluster, keys); err != nil {
			errs = append(errs, fmt.Errorf("cluster %s: %w", cluster, err))
		}
	}
	return errors.Join(errs...)
}

// retireFargateHosts terminates the Fargate hosts of clusters that are
// deleted: nothing runs there any more (a cluster is deleted only when no
// task is active), and no task of theirs will.
func (s *Service) retireFargateHosts(ctx context.Context) error {
	if s.cfg.Fargate == nil {
		return nil
	}
	hosts, err := s.cfg.Fargate.FargateHosts(ctx)
	if err != nil || len(hosts) == 0 {
		return err
	}
	sctx := api.WithPrincipal(ctx, api.ServicePrincipal(s.cfg.Account, "AWSServiceRoleForECS", "ecs-fargate"))
	var errs []error
	for id, cluster := range hosts {
		c, err := store.Get[clusterRecord](ctx, s.store, s.keys.cluster(cluster))
		if err == nil && c.Value.Status == "ACTIVE" {
			continue
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, err)
			continue
		}
		if err := s.cfg.Fargate.RetireFargateHost(sctx, id); err != nil {
			errs = append(errs, fmt.Errorf("retire %s: %w", id, err))
			continue
		}
		s.log.Info("retired the Fargate host of a deleted cluster", "cluster", cluster, "instance", id)
	}
	return errors.Join(errs...)
}

func (s *Service) fargateCluster(ctx context.Context, cluster string, waits []string) error {
	host, err := s.cfg.Fargate.FargateHost(ctx, cluster)
	if err != nil {
		return err
	}
	if host == "" {
		sctx := api.WithPrincipal(ctx, api.ServicePrincipal(s.cfg.Account, "AWSServiceRoleForECS", "ecs-fargate"))
		if host, err = s.cfg.Fargate.LaunchFargateHost(sctx, cluster); err != nil {
			return err
		}
		s.log.Info("launched the cluster's Fargate host", "cluster", cluster, "instance", host)
	}
	if err := s.provision(ctx, cluster); err != nil {
		return err
	}
	// Forget the tasks that no longer wait (placed, stopped or gone).
	txn := store.NewTxn()
	for _, k := range waits {
		id := k[strings.LastIndexByte(k, '/')+1:]
		t, err := store.Get[taskRecord](ctx, s.store, s.keys.task(cluster, id))
		if err == nil && t.Value.Task.LastStatus == "PROVISIONING" && t.Value.InstanceID == "" {
			continue
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		txn.Delete(k)
	}
	if txn.Len() == 0 {
		return nil
	}
	return s.store.Commit(ctx, txn)
}
