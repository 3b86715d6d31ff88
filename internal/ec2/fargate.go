package ec2

import (
	"context"
	"encoding/base64"
	"slices"
)

// Berth runs a cluster's Fargate tasks on a hidden instance of its own,
// one per cluster, launched by ECS when the cluster's first Fargate task
// waits for capacity: an instance like any other to its host (an address,
// a control group, an agent that gives each task its interface), but no
// user sees it — DescribeInstances and DescribeInstanceStatus leave it
// out, asking for it by id is InvalidInstanceID.NotFound, and ECS leaves
// its container instance out of every list.

// FargateClusterTag marks a Fargate host with the cluster it serves. The
// "aws:" prefix is AWS's own, which no user may set.
const FargateClusterTag = "aws:ecs:fargate-cluster"

// FargateHostType is a Fargate host's size: the room a cluster's Fargate
// tasks share on one machine.
const FargateHostType = "m5.24xlarge"

// FargateCluster is the cluster a Fargate host serves; "" for an
// instance users launched.
func (r InstanceRecord) FargateCluster() string {
	i := slices.IndexFunc(r.Tags, func(t Tag) bool { return t.Key == FargateClusterTag })
	if i < 0 {
		return ""
	}
	return r.Tags[i].Value
}

// FargateHost returns the Fargate host of cluster that is not terminated
// or shutting down, or "".
func (s *Service) FargateHost(ctx context.Context, cluster string) (string, error) {
	all, err := s.Instances(ctx)
	if err != nil {
		return "", err
	}
	for _, it := range all {
		r := it.Value
		if r.FargateCluster() == cluster && (r.State == StatePending || r.State == StateRunning) {
			return r.ID, nil
		}
	}
	return "", nil
}

// FargateHosts are the Fargate hosts that are pending or running, with
// the cluster each serves, by instance id.
func (s *Service) FargateHosts(ctx context.Context) (map[string]string, error) {
	all, err := s.Instances(ctx)
	if err != nil {
		return nil, err
	}
	hosts := map[string]string{}
	for _, it := range all {
		r := it.Value
		if c := r.FargateCluster(); c != "" && (r.State == StatePending || r.State == StateRunning) {
			hosts[r.ID] = c
		}
	}
	return hosts, nil
}

// RetireFargateHost terminates a Fargate host whose cluster is gone;
// ctx's principal is ECS's. Its agent stops and its address is freed as
// any instance's.
func (s *Service) RetireFargateHost(ctx context.Context, id string) error {
	_, err := s.TerminateInstances(ctx, &InstanceIdsInput{InstanceIds: []string{id}})
	return err
}

// IsFargateHost reports whether id is a Fargate host.
func (s *Service) IsFargateHost(ctx context.Context, id string) (bool, error) {
	r, err := s.Instance(ctx, id)
	if isNotFound(err) {
		return false, nil
	}
	return r.FargateCluster() != "", err
}

// LaunchFargateHost launches the Fargate host of cluster in the first
// default subnet, its agent joining cluster; ctx's principal is ECS's.
func (s *Service) LaunchFargateHost(ctx context.Context, cluster string) (string, error) {
	subnets, err := s.DefaultSubnets(ctx)
	if err != nil {
		return "", err
	}
	in := &RunInstancesInput{ImageId: s.Images()[0].ID, InstanceType: FargateHostType, MinCount: 1, MaxCount: 1,
		UserData:     base64.StdEncoding.EncodeToString([]byte("#!/bin/bash\necho ECS_CLUSTER=" + cluster + " >> /etc/ecs/ecs.config\n")),
		ReservedTags: []Tag{{Key: FargateClusterTag, Value: cluster}}}
	if len(subnets) > 0 {
		in.SubnetId = subnets[0]
	}
	res, err := s.runInstances(ctx, in, "")
	if err != nil {
		return "", err
	}
	return res.Instances[0].InstanceID, nil
}

// visibleInstances leaves Fargate hosts out of what a user describes;
// one asked for by id is not found.
func visibleInstances(items []InstanceRecord, ids []string) ([]InstanceRecord, error) {
	out := items[:0:0]
	for _, r := range items {
		if r.FargateCluster() == "" {
			out = append(out, r)
		} else if len(ids) > 0 {
			return nil, instanceNotFound(r.ID)
		}
	}
	return out, nil
}
