package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/berth-dev/berth/internal/agent/dockerrt"
	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/ec2"
	"github.com/berth-dev/berth/internal/ec2host"
	"github.com/berth-dev/berth/internal/server"
	"github.com/berth-dev/berth/internal/vpc"
)

// localHost is this machine running the EC2 instances given to it.
type localHost struct {
	id     string
	runner *ec2host.ProcessRunner
	cancel context.CancelFunc
	done   chan struct{}
	docker *dockerrt.Runtime
}

func (h *localHost) stop() {
	h.cancel()
	<-h.done
	// The agents stop; their containers run on and are adopted again at
	// the next start.
	h.runner.StopAll()
	if h.docker != nil {
		h.docker.Close()
	}
}

// upTag marks the instances berth up launched itself.
const upTag = "berth:up"

// startHost makes this machine an EC2 host: instances given to it get an
// address on the VPC bridge, their security groups enforced, a control
// group of their type's size and a `berth agent` process. Without root
// (no bridge, iptables or control groups) instances still run, sharing
// the host's ports.
// hostFlags say where this machine's instances' network lives.
type hostFlags struct{ bridge, chainPrefix string }

func startHost(ctx context.Context, srv *server.Server, f serverFlags, hf hostFlags, self string, stderr io.Writer) (*localHost, error) {
	id, err := hostID(f.dataDir)
	if err != nil {
		return nil, err
	}
	log := newLogger(f.logLevel)
	h := &localHost{id: id, done: make(chan struct{})}
	cfg := ec2host.Config{ID: id, EC2: srv.EC2, Store: srv.Store(), Log: log, Terminated: srv.ECS.InstanceTerminated}
	if rt, err := dockerrt.New(ctx); err == nil {
		h.docker = rt
		if info, err := rt.Info(ctx); err == nil && info.CgroupDriver == "cgroupfs" && os.Geteuid() == 0 {
			cfg.CgroupRoot = "/berth"
		}
	}
	if os.Geteuid() == 0 {
		if v, err := vpc.NewHost(hf.bridge, vpc.WithChainPrefix(hf.chainPrefix)); err == nil {
			cfg.VPC = v
		} else {
			log.Warn("instances will share this host's ports and no security group is enforced", "err", err)
		}
	} else {
		log.Warn("not root: instances share this host's ports, security groups are not enforced and instance types do not limit tasks")
	}
	h.runner = &ec2host.ProcessRunner{Docker: h.docker, Stderr: stderr,
		Command: func(spec ec2host.AgentSpec) (*exec.Cmd, error) { return instanceAgent(self, srv, f, spec, stderr) }}
	cfg.Agents = h.runner
	runCtx, cancel := context.WithCancel(ctx)
	h.cancel = cancel
	go func() {
		defer close(h.done)
		ec2host.New(cfg).Run(runCtx)
	}()
	return h, nil
}

// hostID is this data dir's host id, made at its first start.
func hostID(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "host-id")
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) && err != nil {
		return "", err
	}
	var b [8]byte
	rand.Read(b[:])
	id := "h-" + hex.EncodeToString(b[:])
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", err
	}
	return id, nil
}

// instanceAgent is the agent process of an instance: its launch keys and
// the ECS settings of its user data in a 0600 config file, the host's
// policy after them so that user data cannot lift it.
func instanceAgent(self string, srv *server.Server, f serverFlags, spec ec2host.AgentSpec, stderr io.Writer) (*exec.Cmd, error) {
	dir := filepath.Join(f.dataDir, "instances", spec.InstanceID)
	var settings []string
	for k, v := range spec.Settings {
		if userSetting(k) {
			settings = append(settings, k+"="+v)
		}
	}
	slices.Sort(settings)
	settings = append(settings, localInstancePolicy(f.dataDir)...)
	// awsvpc tasks get interfaces where the host runs the VPC data plane.
	settings = append(settings, fmt.Sprintf("ECS_ENABLE_TASK_ENI=%t", spec.TaskENI))
	keys, err := writeLaunchKeys(dir, srv.Account, settings...)
	if err != nil {
		return nil, err
	}
	// The signed identity document, where the instance's metadata would
	// serve it.
	docFile, sigFile := filepath.Join(dir, "identity-document.json"), filepath.Join(dir, "identity-signature")
	if err := os.WriteFile(docFile, []byte(spec.IdentityDocument), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(sigFile, []byte(spec.IdentitySignature), 0o600); err != nil {
		return nil, err
	}
	cluster := spec.Cluster
	if cluster == "" {
		cluster = "default"
	}
	args := []string{"agent", "--endpoint", srv.Endpoint, "--cluster", cluster, "--region", f.region,
		"--data-dir", dir, "--config-file", keys, "--instance-type", spec.InstanceType, "--availability-zone", spec.Zone,
		"--instance-id", spec.InstanceID, "--ami-id", spec.ImageID, "--subnet-id", spec.SubnetID, "--vpc-id", spec.VpcID,
		"--identity-document", docFile, "--identity-signature", sigFile, "--log-level", f.logLevel}
	if spec.PrivateIP != "" {
		args = append(args, "--private-ip", spec.PrivateIP)
	}
	if spec.CgroupParent != "" {
		args = append(args, "--cgroup-parent", spec.CgroupParent)
	}
	if spec.Profile != "" {
		args = append(args, "--instance-profile", spec.Profile)
	}
	return agentCommand(self, args, stderr), nil
}

// userSetting reports whether an instance's user data may set k: ECS_*
// settings, but not where the agent connects, keeps its state or takes
// its identity from, nor what the host's policy decides.
func userSetting(k string) bool {
	switch k {
	case "ECS_BACKEND_HOST", "ECS_DATADIR", "ECS_INSTANCE_PROFILE", "ECS_DISABLE_PRIVILEGED", "ECS_CLUSTER", "ECS_ENABLE_TASK_ENI":
		return false
	}
	return strings.HasPrefix(k, "ECS_")
}

// launchLocalInstances makes sure berth up's own instances number n on
// this host, launching the missing ones with RunInstances into the
// default VPC's subnets in turn (one per zone), as `--instances` asks.
func launchLocalInstances(ctx context.Context, srv *server.Server, host string, n int, instanceType, cluster, profile string) error {
	all, err := srv.EC2.Instances(ctx)
	if err != nil {
		return err
	}
	have := 0
	for _, it := range all {
		r := it.Value
		if r.Host == host && r.State != ec2.StateTerminated && r.State != ec2.StateShuttingDown && slices.ContainsFunc(r.Tags, func(t ec2.Tag) bool { return t.Key == upTag }) {
			have++
		}
	}
	subnets, err := srv.EC2.DefaultSubnets(ctx)
	if err != nil {
		return err
	}
	root := api.WithPrincipal(ctx, api.Principal{Account: srv.Account.ID, ARN: srv.Account.RootARN(), Root: true, UserID: srv.Account.ID})
	group, err := upGroup(root, srv.EC2)
	if err != nil {
		return err
	}
	userData := "#!/bin/bash\necho ECS_CLUSTER=" + cluster + " >> /etc/ecs/ecs.config\n"
	for i := have; i < n; i++ {
		in := &ec2.RunInstancesInput{ImageId: srv.EC2.Images()[0].ID, InstanceType: instanceType, MinCount: 1, MaxCount: 1,
			SubnetId: subnets[i%len(subnets)], UserData: userData, SecurityGroupIds: []string{group},
			TagSpecifications: []ec2.TagSpecification{{ResourceType: "instance", Tags: []ec2.Tag{{Key: upTag, Value: host}, {Key: "Name", Value: fmt.Sprintf("berth-up-%d", i)}}}}}
		if profile != "" {
			in.IamInstanceProfile = &ec2.InstanceProfileRef{Name: profile}
		}
		res, err := srv.EC2.RunInstancesOn(root, in, host)
		if err != nil {
			return fmt.Errorf("launch local instance %d: %w", i, err)
		}
		slog.Debug("launched local instance", "instance", res.Instances[0].InstanceID)
	}
	return nil
}

// upGroupName is the security group of berth up's own instances: they
// serve this machine's developer, so every port of theirs is open to it
// (instances launched with RunInstances follow their own groups).
const upGroupName = "berth-up"

// upGroup returns the id of berth up's security group in the default
// VPC, creating it at the first start.
func upGroup(ctx context.Context, svc *ec2.Service) (string, error) {
	found, err := svc.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2.Filter{{Name: "group-name", Values: []string{upGroupName}}}})
	if err != nil {
		return "", err
	}
	for _, g := range found.SecurityGroups {
		return g.GroupID, nil
	}
	created, err := svc.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: upGroupName,
		Description: "Instances of berth up: all inbound traffic allowed, from this machine and its containers"})
	if err != nil {
		return "", err
	}
	_, err = svc.AuthorizeSecurityGroupIngress(ctx, &ec2.SecurityGroupRuleRequest{GroupId: created.GroupID,
		IpPermissions: []ec2.IpPermission{{IpProtocol: "-1", IpRanges: []ec2.IpRange{{CidrIp: "0.0.0.0/0", Description: "everything"}}}}})
	return created.GroupID, err
}
