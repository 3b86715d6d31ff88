package ec2

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// NetworkInterfaceRecord is an elastic network interface as stored. Berth
// makes them for awsvpc tasks: ECS asks for one in the task's subnet,
// attached to the instance the task runs on, and deletes it when the task
// stops; the instance's host enforces its security groups.
type NetworkInterfaceRecord struct {
	ID          string   `json:"id"`
	SubnetID    string   `json:"subnetId"`
	VpcID       string   `json:"vpcId"`
	Zone        string   `json:"zone"`
	PrivateIP   string   `json:"privateIp"`
	MAC         string   `json:"mac"`
	Groups      []string `json:"groups"`
	Description string   `json:"description,omitempty"`
	RequesterID string   `json:"requesterId,omitempty"`
	InstanceID  string   `json:"instanceId,omitempty"`
	// HostHidden marks an interface attached to a Fargate host, which
	// users do not see: EC2 shows it attached to AWS's own instance.
	HostHidden bool      `json:"hostHidden,omitempty"`
	Attachment string    `json:"attachment,omitempty"`
	Attached   time.Time `json:"attached"`
	Tags       []Tag     `json:"tags,omitempty"`
}

// RequesterELB is the requester of load balancers' interfaces: every host
// holds their addresses, which the load balancers' connections to their
// targets come from.
const RequesterELB = "amazon-elb"

// Prefix is the interface's address with its subnet's prefix length.
func (r NetworkInterfaceRecord) Prefix(subnetCIDR string) (netip.Prefix, error) {
	a, err := netip.ParseAddr(r.PrivateIP)
	if err != nil {
		return netip.Prefix{}, err
	}
	p, err := netip.ParsePrefix(subnetCIDR)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, p.Bits()), nil
}

func interfaceNotFound(id string) error {
	return api.Errorf("InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '%s' does not exist", id)
}

// InterfacesPrefix is the etcd prefix of interface records, for watchers.
func (s *Service) InterfacesPrefix() string { return s.keys.of("network-interface") }

// Interfaces lists every interface record.
func (s *Service) Interfaces(ctx context.Context) ([]store.Item[NetworkInterfaceRecord], error) {
	return store.List[NetworkInterfaceRecord](ctx, s.store, s.keys.of("network-interface"))
}

// TaskNetwork is where an awsvpc task may be placed: its subnets' zones
// and VPC, and its security groups, all checked to exist.
type TaskNetwork struct {
	VpcID string
	// Subnets maps each subnet's id to its zone and CIDR.
	Subnets map[string]SubnetPlace
	Groups  []string
}

// SubnetPlace is a subnet's zone and range.
type SubnetPlace struct{ Zone, CIDR string }

// ResolveTaskNetwork checks an awsvpc configuration as ECS does before it
// places a task: the subnets exist and share one VPC, and the groups exist
// in it; no group means the VPC's default group. A missing subnet or group
// is EC2's not-found error (ECS wraps it); a mix of VPCs is
// ErrVPCMismatch.
func (s *Service) ResolveTaskNetwork(ctx context.Context, subnets, groups []string) (TaskNetwork, error) {
	n := TaskNetwork{Subnets: map[string]SubnetPlace{}}
	for _, id := range subnets {
		sub, err := get[subnetRecord](ctx, s, "subnet", id, subnetNotFound(id))
		if err != nil {
			return n, err
		}
		if n.VpcID != "" && sub.Value.VpcID != n.VpcID {
			return n, fmt.Errorf("%w: subnet %s is in %s, not %s", ErrVPCMismatch, id, sub.Value.VpcID, n.VpcID)
		}
		n.VpcID = sub.Value.VpcID
		n.Subnets[id] = SubnetPlace{Zone: sub.Value.Zone, CIDR: sub.Value.CIDR}
	}
	vpc, err := get[vpcRecord](ctx, s, "vpc", n.VpcID, vpcNotFound(n.VpcID))
	if err != nil {
		return n, err
	}
	if len(groups) == 0 {
		groups = []string{vpc.Value.Groups["default"]}
	}
	for _, id := range slices.Compact(slices.Sorted(slices.Values(groups))) {
		g, err := get[groupRecord](ctx, s, "security-group", id, groupNotFound(id))
		if err != nil {
			return n, err
		}
		if g.Value.VpcID != n.VpcID {
			return n, fmt.Errorf("%w: security group %s is in %s, not in the subnets' VPC %s", ErrVPCMismatch, id, g.Value.VpcID, n.VpcID)
		}
		n.Groups = append(n.Groups, id)
	}
	return n, nil
}

// ErrVPCMismatch is a task network whose subnets and groups are not all
// of one VPC.
var ErrVPCMismatch = errors.New("the subnets and security groups are not all in one VPC")

// InterfaceRequest asks for an interface attached to an instance.
type InterfaceRequest struct {
	SubnetID    string
	Groups      []string
	Description string
	// RequesterID is who manages the interface ("ecs" for tasks').
	RequesterID string
	InstanceID  string
	HostHidden  bool
}

// CreateManagedInterface makes a requester-managed interface with the
// next free address of its subnet, attached to the instance.
func (s *Service) CreateManagedInterface(ctx context.Context, req InterfaceRequest) (NetworkInterfaceRecord, error) {
	var out NetworkInterfaceRecord
	err := retry(ctx, func() error {
		sub, err := get[subnetRecord](ctx, s, "subnet", req.SubnetID, subnetNotFound(req.SubnetID))
		if err != nil {
			return err
		}
		used, err := s.store.Keys(ctx, s.keys.addresses(sub.Value.ID))
		if err != nil {
			return err
		}
		free, err := freeAddresses(sub.Value, used, "", 1)
		if err != nil {
			return err
		}
		if len(free) == 0 {
			return api.Errorf("InsufficientFreeAddressesInSubnet", "There are not enough free addresses in subnet '%s' to satisfy the requested number of network interfaces.", sub.Value.ID)
		}
		r := NetworkInterfaceRecord{ID: newID("eni"), SubnetID: sub.Value.ID, VpcID: sub.Value.VpcID, Zone: sub.Value.Zone,
			PrivateIP: free[0], MAC: newMAC(), Groups: req.Groups, Description: req.Description, RequesterID: req.RequesterID,
			InstanceID: req.InstanceID, HostHidden: req.HostHidden, Attachment: newID("eni-attach"), Attached: s.now().UTC()}
		addr := s.keys.address(r.SubnetID, r.PrivateIP)
		txn := store.NewTxn().IfAbsent(addr).Put(addr, r.ID).Put(s.keys.res("network-interface", r.ID), r)
		if err := s.store.Commit(ctx, txn); err != nil {
			return err
		}
		out = r
		return nil
	})
	return out, err
}

// DeleteManagedInterface deletes an interface and frees its address; a
// missing one is no error.
func (s *Service) DeleteManagedInterface(ctx context.Context, id string) error {
	return retry(ctx, func() error {
		it, err := get[NetworkInterfaceRecord](ctx, s, "network-interface", id, interfaceNotFound(id))
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return s.store.Commit(ctx, store.NewTxn().IfRev(it.Key, it.Rev).Delete(it.Key).
			Delete(s.keys.address(it.Value.SubnetID, it.Value.PrivateIP)))
	})
}

// SubnetCIDR returns a subnet's range.
func (s *Service) SubnetCIDR(ctx context.Context, id string) (string, error) {
	sub, err := get[subnetRecord](ctx, s, "subnet", id, subnetNotFound(id))
	return sub.Value.CIDR, err
}

// newMAC is a random locally administered unicast address, as EC2's
// interfaces have.
func newMAC() string {
	var b [6]byte
	rand.Read(b[:])
	b[0] = b[0]&0xfc | 0x02
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
}

type DescribeNetworkInterfacesInput struct {
	DryRun              bool
	Filters             []Filter `query:"Filter"`
	NetworkInterfaceIds []string `query:"NetworkInterfaceId"`
	MaxResults          *int
	NextToken           *string
}

// NetworkInterface is EC2's NetworkInterface shape.
type NetworkInterface struct {
	Attachment         *NetworkInterfaceAttachment          `xml:"attachment,omitempty"`
	AvailabilityZone   string                               `xml:"availabilityZone"`
	Description        string                               `xml:"description"`
	Groups             api.Items[GroupIdentifier]           `xml:"groupSet"`
	InterfaceType      string                               `xml:"interfaceType"`
	Ipv6Addresses      api.Items[any]                       `xml:"ipv6AddressesSet"`
	MacAddress         string                               `xml:"macAddress"`
	NetworkInterfaceID string                               `xml:"networkInterfaceId"`
	OwnerID            string                               `xml:"ownerId"`
	PrivateDNSName     string                               `xml:"privateDnsName"`
	PrivateIPAddress   string                               `xml:"privateIpAddress"`
	PrivateIPAddresses api.Items[NetworkInterfacePrivateIP] `xml:"privateIpAddressesSet"`
	RequesterID        string                               `xml:"requesterId,omitempty"`
	RequesterManaged   bool                                 `xml:"requesterManaged"`
	SourceDestCheck    bool                                 `xml:"sourceDestCheck"`
	Status             string                               `xml:"status"`
	SubnetID           string                               `xml:"subnetId"`
	Tags               api.Items[Tag]                       `xml:"tagSet"`
	VpcID              string                               `xml:"vpcId"`
}

// NetworkInterfaceAttachment is EC2's NetworkInterfaceAttachment shape.
type NetworkInterfaceAttachment struct {
	AttachTime          time.Time `xml:"attachTime"`
	AttachmentID        string    `xml:"attachmentId"`
	DeleteOnTermination bool      `xml:"deleteOnTermination"`
	DeviceIndex         int       `xml:"deviceIndex"`
	NetworkCardIndex    int       `xml:"networkCardIndex"`
	InstanceID          string    `xml:"instanceId,omitempty"`
	InstanceOwnerID     string    `xml:"instanceOwnerId"`
	Status              string    `xml:"status"`
}

// NetworkInterfacePrivateIP is EC2's NetworkInterfacePrivateIpAddress.
type NetworkInterfacePrivateIP struct {
	Primary          bool   `xml:"primary"`
	PrivateDNSName   string `xml:"privateDnsName"`
	PrivateIPAddress string `xml:"privateIpAddress"`
}

type DescribeNetworkInterfacesOutput struct {
	NetworkInterfaces api.Items[NetworkInterface] `xml:"networkInterfaceSet"`
	NextToken         *string                     `xml:"nextToken,omitempty"`
}

func (s *Service) networkInterface(r NetworkInterfaceRecord, groupNames map[string]string) NetworkInterface {
	dns := s.PrivateDNSName(r.PrivateIP)
	v := NetworkInterface{AvailabilityZone: r.Zone, Description: r.Description, InterfaceType: "interface", Ipv6Addresses: api.Items[any]{},
		MacAddress: r.MAC, NetworkInterfaceID: r.ID, OwnerID: s.cfg.Account, PrivateDNSName: dns, PrivateIPAddress: r.PrivateIP,
		PrivateIPAddresses: api.Items[NetworkInterfacePrivateIP]{{Primary: true, PrivateDNSName: dns, PrivateIPAddress: r.PrivateIP}},
		RequesterID:        r.RequesterID, RequesterManaged: r.RequesterID != "", SourceDestCheck: true, Status: "available",
		SubnetID: r.SubnetID, Tags: r.Tags, VpcID: r.VpcID}
	for _, g := range r.Groups {
		v.Groups = append(v.Groups, GroupIdentifier{GroupID: g, GroupName: groupNames[g]})
	}
	if r.InstanceID != "" {
		v.Status = "in-use"
		v.Attachment = &NetworkInterfaceAttachment{AttachTime: r.Attached, AttachmentID: r.Attachment, DeviceIndex: 1,
			InstanceID: r.InstanceID, InstanceOwnerID: s.cfg.Account, Status: "attached"}
		if r.HostHidden {
			v.Attachment.InstanceID, v.Attachment.InstanceOwnerID = "", "amazon-aws"
		}
	}
	return v
}

// DescribeNetworkInterfaces lists interfaces, by id and filters.
func (s *Service) DescribeNetworkInterfaces(ctx context.Context, in *DescribeNetworkInterfacesInput) (*DescribeNetworkInterfacesOutput, error) {
	if err := s.authorize(ctx, "DescribeNetworkInterfaces", "*", in.DryRun); err != nil {
		return nil, err
	}
	items, err := describe[NetworkInterfaceRecord](ctx, s, "network-interface", in.NetworkInterfaceIds, interfaceNotFound)
	if err != nil {
		return nil, err
	}
	names, err := s.groupNames(ctx)
	if err != nil {
		return nil, err
	}
	page, next, err := filtered(items, in.Filters, func(r NetworkInterfaceRecord) (NetworkInterface, []Tag, fields) {
		v := s.networkInterface(r, names)
		return v, r.Tags, func(name string) ([]string, bool) {
			switch name {
			case "network-interface-id":
				return []string{v.NetworkInterfaceID}, true
			case "subnet-id":
				return []string{v.SubnetID}, true
			case "vpc-id":
				return []string{v.VpcID}, true
			case "availability-zone":
				return []string{v.AvailabilityZone}, true
			case "private-ip-address", "addresses.private-ip-address":
				return []string{v.PrivateIPAddress}, true
			case "private-dns-name":
				return []string{v.PrivateDNSName}, true
			case "mac-address":
				return []string{v.MacAddress}, true
			case "status":
				return []string{v.Status}, true
			case "description":
				return []string{v.Description}, true
			case "interface-type":
				return []string{v.InterfaceType}, true
			case "requester-id":
				return []string{v.RequesterID}, true
			case "requester-managed":
				return []string{strconv.FormatBool(v.RequesterManaged)}, true
			case "owner-id":
				return []string{v.OwnerID}, true
			case "group-id":
				return r.Groups, true
			case "group-name":
				var out []string
				for _, g := range v.Groups {
					out = append(out, g.GroupName)
				}
				return out, true
			case "attachment.instance-id":
				if v.Attachment != nil && v.Attachment.InstanceID != "" {
					return []string{v.Attachment.InstanceID}, true
				}
				return nil, true
			case "attachment.attachment-id":
				return []string{r.Attachment}, true
			case "attachment.status":
				if v.Attachment != nil {
					return []string{v.Attachment.Status}, true
				}
				return nil, true
			}
			return nil, false
		}
	}, func(v NetworkInterface) string { return v.NetworkInterfaceID }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &DescribeNetworkInterfacesOutput{NetworkInterfaces: api.Items[NetworkInterface](page), NextToken: next}, nil
}

// SetManagedInterfaceGroups replaces the security groups of a
// requester-managed interface (a load balancer's); the hosts enforce
// them at their next reconcile.
func (s *Service) SetManagedInterfaceGroups(ctx context.Context, id string, groups []string) error {
	return retry(ctx, func() error {
		it, err := get[NetworkInterfaceRecord](ctx, s, "network-interface", id, interfaceNotFound(id))
		if err != nil {
			return err
		}
		r := it.Value
		r.Groups = slices.Clone(groups)
		return s.store.Commit(ctx, store.NewTxn().IfRev(it.Key, it.Rev).Put(it.Key, r))
	})
}
