package ecs

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/acs"
	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/ec2"
	"github.com/berth-dev/berth/internal/placement"
	"github.com/berth-dev/berth/internal/store"
)

// An awsvpc task gets an elastic network interface of its own, as in ECS:
// RunTask (or the service scheduler) checks the request's subnets and
// security groups, places the task on an instance in one of the subnets'
// zones and VPC, and has EC2 make an interface in that zone's subnet,
// attached to the instance. The task's attachment and its containers'
// networkInterfaces name it, the payload hands it to the agent (which
// gives the task a network namespace holding the address), the instance's
// host enforces the interface's groups, and the interface is deleted once
// the task has stopped.

// TaskNetworks makes and deletes awsvpc tasks' interfaces (EC2).
type TaskNetworks interface {
	ResolveTaskNetwork(ctx context.Context, subnets, groups []string) (ec2.TaskNetwork, error)
	CreateManagedInterface(ctx context.Context, req ec2.InterfaceRequest) (ec2.NetworkInterfaceRecord, error)
	DeleteManagedInterface(ctx context.Context, id string) error
	PrivateDNSName(ip string) string
}

// taskInterface is a task's interface as its record keeps it.
type taskInterface struct {
	ID         string `json:"id"`
	Attachment string `json:"attachment"`
	SubnetID   string `json:"subnetId"`
	SubnetCIDR string `json:"subnetCidr"`
	IP         string `json:"ip"`
	MAC        string `json:"mac"`
	DNSName    string `json:"dnsName"`
	// Released is set once the interface is deleted.
	Released bool `json:"released,omitempty"`
}

// interfaceRequesterID is the requester EC2 shows on the interfaces ECS
// makes for tasks.
const interfaceRequesterID = "ecs"

// resolveNetwork checks a launch's network configuration against its task
// definition's network mode, with ECS's messages, and resolves the
// subnets and groups. It returns nil for a task that is not awsvpc.
func (s *Service) resolveNetwork(ctx context.Context, td *TaskDefinition, nc *NetworkConfiguration, fargate bool) (*ec2.TaskNetwork, error) {
	if td.NetworkMode != "awsvpc" {
		if nc.given() {
			return nil, api.InvalidParameter("Network Configuration is not valid for the given networkMode of this task definition.")
		}
		return nil, nil
	}
	if !nc.given() {
		return nil, api.InvalidParameter("Network Configuration must be provided when networkMode 'awsvpc' is specified.")
	}
	c := nc.AwsvpcConfiguration
	switch c.AssignPublicIp {
	case "", "DISABLED":
	case "ENABLED":
		if !fargate {
			return nil, api.InvalidParameter("Assign public IP is not supported for this launch type.")
		}
	default:
		return nil, api.InvalidParameter("Invalid value for assignPublicIp %q: valid values are ENABLED and DISABLED.", c.AssignPublicIp)
	}
	switch {
	case len(c.Subnets) == 0:
		return nil, api.InvalidParameter("subnets can not be empty.")
	case len(c.Subnets) > 16:
		return nil, api.InvalidParameter("subnets can have at most 16 items.")
	case len(c.SecurityGroups) > 5:
		return nil, api.InvalidParameter("securityGroups can have at most 5 items.")
	}
	if s.cfg.Networks == nil {
		return nil, api.InvalidParameter("awsvpc tasks need Berth's EC2, which this server does not run.")
	}
	n, err := s.cfg.Networks.ResolveTaskNetwork(ctx, c.Subnets, c.SecurityGroups)
	var ae *api.Error
	switch {
	case err == nil:
		return &n, nil
	case errors.Is(err, ec2.ErrVPCMismatch):
		return nil, api.InvalidParameter("%s.", strings.ToUpper(err.Error()[:1])+err.Error()[1:])
	case errors.As(err, &ae) && strings.HasPrefix(ae.Code, "InvalidSubnetID"):
		id := quoted(ae.Message)
		return nil, api.InvalidParameter("Error retrieving subnet information for [%s]: %s (ECS.AmazonEC2; Status Code: 400; Error Code: %s)", id, ae.Message, ae.Code)
	case errors.As(err, &ae) && strings.HasPrefix(ae.Code, "InvalidGroup"):
		id := quoted(ae.Message)
		return nil, api.InvalidParameter("Error retrieving security group information for [%s]: %s (ECS.AmazonEC2; Status Code: 400; Error Code: %s)", id, ae.Message, ae.Code)
	}
	return nil, err
}

// quoted is the first '…'-quoted word of s.
func quoted(s string) string {
	_, rest, _ := strings.Cut(s, "'")
	id, _, _ := strings.Cut(rest, "'")
	return id
}

// networkConstraint keeps placement to instances of the network's VPC in
// one of its subnets' zones, where the task's interface can be attached.
func networkConstraint(n *ec2.TaskNetwork) (placement.Constraint, error) {
	var zones []string
	for _, sub := range n.Subnets {
		zones = append(zones, sub.Zone)
	}
	slices.Sort(zones)
	zones = slices.Compact(zones)
	expr := fmt.Sprintf("attribute:ecs.vpc-id == %s and attribute:ecs.availability-zone in [%s]", n.VpcID, strings.Join(zones, ", "))
	return placement.ParseConstraint("memberOf", expr)
}

// attachInterface makes the task's interface in the subnet of its
// instance's zone (the first such subnet by id; a Fargate task's in its
// subnets in turn, which spreads a service over their zones) and records
// it on the task: the ElasticNetworkInterface attachment and each
// container's networkInterfaces.
func (s *Service) attachInterface(ctx context.Context, n *ec2.TaskNetwork, inst *instanceRecord, rec *taskRecord, fargate bool) error {
	zone := attributeValue(inst.Instance.Attributes, "ecs.availability-zone")
	ids := slices.Sorted(maps.Keys(n.Subnets))
	var subnet string
	if fargate && len(ids) > 0 {
		subnet = ids[(s.fargateSubnet.Add(1)-1)%uint64(len(ids))]
		rec.Task.AvailabilityZone = n.Subnets[subnet].Zone
	}
	for _, id := range ids {
		if subnet == "" && n.Subnets[id].Zone == zone {
			subnet = id
		}
	}
	if subnet == "" {
		return fmt.Errorf("no subnet of the task's network is in zone %q", zone)
	}
	attachment := newUUID()
	eni, err := s.cfg.Networks.CreateManagedInterface(ctx, ec2.InterfaceRequest{SubnetID: subnet, Groups: n.Groups,
		Description: s.arn("attachment/" + attachment), RequesterID: interfaceRequesterID, InstanceID: inst.Instance.Ec2InstanceId, HostHidden: fargate})
	if err != nil {
		return err
	}
	ti := &taskInterface{ID: eni.ID, Attachment: attachment, SubnetID: subnet, SubnetCIDR: n.Subnets[subnet].CIDR, IP: eni.PrivateIP,
		MAC: eni.MAC, DNSName: s.cfg.Networks.PrivateDNSName(eni.PrivateIP)}
	rec.Interface = ti
	rec.Task.Attachments = []Attachment{{ID: attachment, Type: "ElasticNetworkInterface", Status: "ATTACHED", Details: []KeyValuePair{
		{Name: "subnetId", Value: subnet}, {Name: "networkInterfaceId", Value: eni.ID}, {Name: "macAddress", Value: eni.MAC},
		{Name: "privateDnsName", Value: ti.DNSName}, {Name: "privateIPv4Address", Value: eni.PrivateIP},
	}}}
	for i := range rec.Task.Containers {
		rec.Task.Containers[i].NetworkInterfaces = []NetworkInterface{{AttachmentID: attachment, PrivateIpv4Address: eni.PrivateIP}}
	}
	return nil
}

// madeInterfaces are interfaces made for tasks being placed: release
// deletes them unless keep was called once the tasks were committed.
type madeInterfaces struct {
	s   *Service
	ctx context.Context
	ids []string
}

func (s *Service) deleteUnless(ctx context.Context) *madeInterfaces {
	return &madeInterfaces{s: s, ctx: context.WithoutCancel(ctx)}
}

func (m *madeInterfaces) add(id string) { m.ids = append(m.ids, id) }
func (m *madeInterfaces) keep()         { m.ids = nil }

func (m *madeInterfaces) release() {
	for _, id := range m.ids {
		if err := m.s.cfg.Networks.DeleteManagedInterface(m.ctx, id); err != nil {
			m.s.log.Warn("delete the interface of a task not placed", "interface", id, "err", err)
		}
	}
}

// acsInterface is the interface as the payload hands it to the agent.
func (ti *taskInterface) acsInterface(attachmentArn string) []acs.ElasticNetworkInterface {
	if ti == nil || ti.Released {
		return nil
	}
	p, err := netip.ParsePrefix(ti.SubnetCIDR)
	if err != nil {
		return nil
	}
	gateway := netip.PrefixFrom(p.Masked().Addr().Next(), p.Bits())
	return []acs.ElasticNetworkInterface{{AttachmentArn: attachmentArn, Ec2Id: ti.ID, MacAddress: ti.MAC,
		IPV4Addresses: []acs.ENIIPV4Address{{Primary: true, PrivateAddress: ti.IP}}, SubnetGatewayIpv4Address: gateway.String(),
		PrivateDNSName: ti.DNSName}}
}

// InterfaceReleaseInterval is how often the leader deletes the interfaces
// of tasks that stopped.
const InterfaceReleaseInterval = time.Second

// releaseInterfacesPass deletes the interfaces of stopped (or collected)
// tasks, found through the index of tasks holding one, and marks their
// attachments DELETED.
func (s *Service) releaseInterfacesPass(ctx context.Context) error {
	if s.cfg.Networks == nil {
		return nil
	}
	index, err := s.store.Keys(ctx, s.keys.interfaces())
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range index {
		cluster, id, _ := strings.Cut(strings.TrimPrefix(k, s.keys.interfaces()), "/")
		if err := s.releaseInterface(ctx, k, cluster, id); err != nil {
			errs = append(errs, fmt.Errorf("task %s/%s: %w", cluster, id, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) releaseInterface(ctx context.Context, indexKey, cluster, id string) error {
	return store.Retry(ctx, func() error {
		it, err := store.Get[taskRecord](ctx, s.store, s.keys.task(cluster, id))
		if errors.Is(err, store.ErrNotFound) {
			if eni, err := store.Get[string](ctx, s.store, indexKey); err == nil && eni.Value != "" {
				if err := s.cfg.Networks.DeleteManagedInterface(ctx, eni.Value); err != nil {
					return err
				}
			}
			return s.store.Commit(ctx, store.NewTxn().Delete(indexKey))
		}
		if err != nil {
			return err
		}
		rec := it.Value
		if rec.Task.LastStatus != "STOPPED" || rec.Interface == nil {
			return nil
		}
		if err := s.cfg.Networks.DeleteManagedInterface(ctx, rec.Interface.ID); err != nil {
			return err
		}
		rec.Interface.Released = true
		for i := range rec.Task.Attachments {
			if rec.Task.Attachments[i].Type == "ElasticNetworkInterface" {
				rec.Task.Attachments[i].Status = "DELETED"
			}
		}
		return s.store.Commit(ctx, store.NewTxn().IfRev(it.Key, it.Rev).Put(it.Key, rec).Delete(indexKey))
	})
}
