package ec2

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// vpcRecord is a VPC as stored. It is the aggregate of what lives in it:
// its subnets' ranges and its security groups' names change with it, in
// one transaction, so overlapping subnets or duplicate group names cannot
// be created concurrently, and a VPC is never deleted under a new subnet.
type vpcRecord struct {
	ID        string `json:"id"`
	CIDR      string `json:"cidr"`
	IsDefault bool   `json:"isDefault,omitempty"`
	Tenancy   string `json:"tenancy"`
	// Association is the id of its CIDR block association.
	Association string `json:"association"`
	// Subnets maps each subnet's id to its CIDR.
	Subnets map[string]string `json:"subnets,omitempty"`
	// Groups maps each security group's name to its id; "default" is
	// the VPC's default group.
	Groups map[string]string `json:"groups"`
	Tags   []Tag             `json:"tags,omitempty"`
}

// subnetRecord is a subnet as stored.
type subnetRecord struct {
	ID           string `json:"id"`
	VpcID        string `json:"vpcId"`
	CIDR         string `json:"cidr"`
	Zone         string `json:"zone"`
	DefaultForAz bool   `json:"defaultForAz,omitempty"`
	MapPublicIP  bool   `json:"mapPublicIp,omitempty"`
	Association  string `json:"association,omitempty"`
	Tags         []Tag  `json:"tags,omitempty"`
}

func vpcNotFound(id string) error {
	return api.Errorf("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
}

func subnetNotFound(id string) error {
	return api.Errorf("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
}

// Zone is an availability zone of the region.
type Zone struct{ Name, ID string }

// Zones are the availability zones of the region: three, named as AWS
// names them (us-east-1a, ...), with ids in AWS's form (use1-az1, ...).
func (s *Service) Zones() []Zone {
	short := regionShort(s.cfg.Region)
	zones := make([]Zone, 3)
	for i := range zones {
		zones[i] = Zone{Name: s.cfg.Region + string(rune('a'+i)), ID: fmt.Sprintf("%s-az%d", short, i+1)}
	}
	return zones
}

// regionShort abbreviates a region as zone ids do: us-east-1 → use1,
// ap-southeast-2 → apse2.
func regionShort(region string) string {
	parts := strings.Split(region, "-")
	if len(parts) != 3 {
		return region
	}
	dir := map[string]string{"north": "n", "south": "s", "east": "e", "west": "w", "central": "c",
		"northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw"}[parts[1]]
	if dir == "" {
		dir = parts[1][:1]
	}
	return parts[0] + dir + parts[2]
}

func (s *Service) zone(nameOrID string) (Zone, bool) {
	for _, z := range s.Zones() {
		if z.Name == nameOrID || z.ID == nameOrID {
			return z, true
		}
	}
	return Zone{}, false
}

type DescribeRegionsInput struct {
	DryRun      bool
	Filters     []Filter `query:"Filter"`
	RegionNames []string `query:"RegionName"`
	AllRegions  bool
}

type Region struct {
	Endpoint    string `xml:"regionEndpoint"`
	RegionName  string `xml:"regionName"`
	OptInStatus string `xml:"optInStatus"`
}

type DescribeRegionsOutput struct {
	Regions api.Items[Region] `xml:"regionInfo"`
}

// DescribeRegions answers the one region this Berth serves.
func (s *Service) DescribeRegions(ctx context.Context, in *DescribeRegionsInput) (*DescribeRegionsOutput, error) {
	if err := s.authorize(ctx, "DescribeRegions", "*", in.DryRun); err != nil {
		return nil, err
	}
	r := Region{Endpoint: "ec2." + s.cfg.Region + ".amazonaws.com", RegionName: s.cfg.Region, OptInStatus: "opt-in-not-required"}
	out := &DescribeRegionsOutput{Regions: api.Items[Region]{}}
	for _, name := range in.RegionNames {
		if name != s.cfg.Region {
			return nil, api.Errorf("InvalidParameterValue", "Invalid region: %s", name)
		}
	}
	keep, err := matchFilters(in.Filters, func(name string) ([]string, bool) {
		switch name {
		case "endpoint":
			return []string{r.Endpoint}, true
		case "region-name":
			return []string{r.RegionName}, true
		case "opt-in-status":
			return []string{r.OptInStatus}, true
		}
		return nil, false
	})
	if err != nil {
		return nil, err
	}
	if keep {
		out.Regions = append(out.Regions, r)
	}
	return out, nil
}

type DescribeAvailabilityZonesInput struct {
	DryRun               bool
	Filters              []Filter `query:"Filter"`
	ZoneNames            []string `query:"ZoneName"`
	ZoneIds              []string `query:"ZoneId"`
	AllAvailabilityZones bool
}

type AvailabilityZone struct {
	State       string         `xml:"zoneState"`
	OptInStatus string         `xml:"optInStatus"`
	Messages    api.Items[any] `xml:"messageSet"`
	RegionName  string         `xml:"regionName"`
	ZoneName    string         `xml:"zoneName"`
	ZoneID      string         `xml:"zoneId"`
	GroupName   string         `xml:"groupName"`
	NetworkBG   string         `xml:"networkBorderGroup"`
	ZoneType    string         `xml:"zoneType"`
}

type DescribeAvailabilityZonesOutput struct {
	AvailabilityZones api.Items[AvailabilityZone] `xml:"availabilityZoneInfo"`
}

// DescribeAvailabilityZones lists the region's zones.
func (s *Service) DescribeAvailabilityZones(ctx context.Context, in *DescribeAvailabilityZonesInput) (*DescribeAvailabilityZonesOutput, error) {
	if err := s.authorize(ctx, "DescribeAvailabilityZones", "*", in.DryRun); err != nil {
		return nil, err
	}
	for _, n := range append(slices.Clone(in.ZoneNames), in.ZoneIds...) {
		if _, ok := s.zone(n); !ok {
			return nil, invalidValue("The zone '%s' does not exist.", n)
		}
	}
	out := &DescribeAvailabilityZonesOutput{AvailabilityZones: api.Items[AvailabilityZone]{}}
	for _, z := range s.Zones() {
		if (len(in.ZoneNames) > 0 || len(in.ZoneIds) > 0) && !slices.Contains(in.ZoneNames, z.Name) && !slices.Contains(in.ZoneIds, z.ID) {
			continue
		}
		az := AvailabilityZone{State: "available", OptInStatus: "opt-in-not-required", RegionName: s.cfg.Region, ZoneName: z.Name,
			ZoneID: z.ID, GroupName: s.cfg.Region, NetworkBG: s.cfg.Region, ZoneType: "availability-zone", Messages: api.Items[any]{}}
		keep, err := matchFilters(in.Filters, func(name string) ([]string, bool) {
			switch name {
			case "zone-name":
				return []string{az.ZoneName}, true
			case "zone-id":
				return []string{az.ZoneID}, true
			case "state":
				return []string{az.State}, true
			case "region-name":
				return []string{az.RegionName}, true
			case "group-name":
				return []string{az.GroupName}, true
			case "zone-type":
				return []string{az.ZoneType}, true
			case "opt-in-status":
				return []string{az.OptInStatus}, true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if keep {
			out.AvailabilityZones = append(out.AvailabilityZones, az)
		}
	}
	return out, nil
}

type DescribeAccountAttributesInput struct {
	DryRun         bool
	AttributeNames []string `query:"AttributeName"`
}

type AttributeValue struct {
	Value string `xml:"attributeValue"`
}

type AccountAttribute struct {
	Name   string                    `xml:"attributeName"`
	Values api.Items[AttributeValue] `xml:"attributeValueSet"`
}

type DescribeAccountAttributesOutput struct {
	AccountAttributes api.Items[AccountAttribute] `xml:"accountAttributeSet"`
}

// DescribeAccountAttributes answers the account's platform and limits,
// and its default VPC.
func (s *Service) DescribeAccountAttributes(ctx context.Context, in *DescribeAccountAttributesInput) (*DescribeAccountAttributesOutput, error) {
	if err := s.authorize(ctx, "DescribeAccountAttributes", "*", in.DryRun); err != nil {
		return nil, err
	}
	defaultVpc := "none"
	if v, err := s.defaultVpc(ctx); err == nil {
		defaultVpc = v.ID
	} else if !isNotFound(err) {
		return nil, err
	}
	attrs := []struct{ name, value string }{
		{"supported-platforms", "VPC"},
		{"vpc-max-security-groups-per-interface", "5"},
		{"max-elastic-ips", "5"},
		{"max-instances", "20"},
		{"vpc-max-elastic-ips", "5"},
		{"default-vpc", defaultVpc},
	}
	out := &DescribeAccountAttributesOutput{AccountAttributes: api.Items[AccountAttribute]{}}
	for _, a := range attrs {
		if len(in.AttributeNames) == 0 || slices.Contains(in.AttributeNames, a.name) {
			out.AccountAttributes = append(out.AccountAttributes, AccountAttribute{Name: a.name, Values: api.Items[AttributeValue]{{a.value}}})
		}
	}
	return out, nil
}

func isNotFound(err error) bool {
	var e *api.Error
	return errors.As(err, &e) && strings.HasSuffix(e.Code, ".NotFound")
}

// defaultsRecord remembers that the account's defaults were created, so
// a default VPC the user deleted is not created again.
type defaultsRecord struct {
	VpcID string `json:"vpcId"`
}

// defaultVpc returns the default VPC, or InvalidVpcID.NotFound.
func (s *Service) defaultVpc(ctx context.Context) (vpcRecord, error) {
	d, err := store.Get[defaultsRecord](ctx, s.store, s.keys.defaults())
	if errors.Is(err, store.ErrNotFound) {
		return vpcRecord{}, vpcNotFound("default")
	}
	if err != nil {
		return vpcRecord{}, err
	}
	it, err := get[vpcRecord](ctx, s, "vpc", d.Value.VpcID, vpcNotFound(d.Value.VpcID))
	return it.Value, err
}

// DefaultVPCCIDR is the range of the default VPC, as in every AWS region.
const DefaultVPCCIDR = "172.31.0.0/16"

// EnsureDefaults creates, once per account and region, the default VPC
// (172.31.0.0/16) with a default /20 subnet in each availability zone and
// its default security group, as AWS accounts start with.
func (s *Service) EnsureDefaults(ctx context.Context) error {
	if _, err := store.Get[defaultsRecord](ctx, s.store, s.keys.defaults()); err == nil || !errors.Is(err, store.ErrNotFound) {
		return err
	}
	cidr, err := netip.ParsePrefix(cmpOr(s.cfg.DefaultVPCCIDR, DefaultVPCCIDR))
	if err != nil || !cidr.Addr().Is4() || cidr.Masked() != cidr || cidr.Bits() < 16 || cidr.Bits() > 18 {
		return fmt.Errorf("default VPC range %q: want an IPv4 CIDR block of /16 to /18 (three /20 subnets)", s.cfg.DefaultVPCCIDR)
	}
	vpc, group := s.newVpc(cidr.String(), "default")
	vpc.IsDefault = true
	txn := store.NewTxn().IfAbsent(s.keys.defaults()).Put(s.keys.defaults(), defaultsRecord{VpcID: vpc.ID})
	base := cidr.Addr().As4()
	vpc.Subnets = map[string]string{}
	for i, z := range s.Zones() {
		a := base
		a[2] += byte(16 * i)
		sub := subnetRecord{ID: newID("subnet"), VpcID: vpc.ID, CIDR: netip.PrefixFrom(netip.AddrFrom4(a), 20).String(), Zone: z.Name,
			DefaultForAz: true, MapPublicIP: true, Association: newID("subnet-cidr-assoc")}
		vpc.Subnets[sub.ID] = sub.CIDR
		txn.Put(s.keys.res("subnet", sub.ID), sub)
	}
	txn.Put(s.keys.res("vpc", vpc.ID), vpc).Put(s.keys.res("security-group", group.ID), group)
	if err := s.store.Commit(ctx, txn); err != nil && !errors.Is(err, store.ErrConflict) {
		return err // a conflict: another server created them first
	}
	return nil
}

// newVpc returns a VPC record of cidr and its default security group.
func (s *Service) newVpc(cidr, tenancy string) (vpcRecord, groupRecord) {
	vpc := vpcRecord{ID: newID("vpc"), CIDR: cidr, Tenancy: tenancy, Association: newID("vpc-cidr-assoc")}
	group := defaultGroup(vpc.ID)
	vpc.Groups = map[string]string{group.Name: group.ID}
	return vpc, group
}

// parseCIDR parses an IPv4 CIDR block in canonical form (no host bits).
func parseCIDR(param, cidr string) (netip.Prefix, error) {
	if cidr == "" {
		return netip.Prefix{}, missing(param)
	}
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() || p.Masked() != p {
		return netip.Prefix{}, invalidValue("Value (%s) for parameter cidrBlock is invalid. This is not a valid CIDR block.", cidr)
	}
	return p, nil
}

type CreateVpcInput struct {
	CidrBlock         string
	DryRun            bool
	InstanceTenancy   string
	TagSpecifications []TagSpecification `query:"TagSpecification"`
}

// Vpc is EC2's Vpc shape.
type Vpc struct {
	CidrBlock       string                             `xml:"cidrBlock"`
	DhcpOptionsID   string                             `xml:"dhcpOptionsId"`
	State           string                             `xml:"state"`
	VpcID           string                             `xml:"vpcId"`
	OwnerID         string                             `xml:"ownerId"`
	InstanceTenancy string                             `xml:"instanceTenancy"`
	Associations    api.Items[VpcCidrBlockAssociation] `xml:"cidrBlockAssociationSet"`
	IsDefault       bool                               `xml:"isDefault"`
	Tags            api.Items[Tag]                     `xml:"tagSet,omitempty"`
}

type VpcCidrBlockAssociation struct {
	AssociationID string `xml:"associationId"`
	CidrBlock     string `xml:"cidrBlock"`
	State         struct {
		State string `xml:"state"`
	} `xml:"cidrBlockState"`
}

func (s *Service) vpc(r vpcRecord) Vpc {
	a := VpcCidrBlockAssociation{AssociationID: r.Association, CidrBlock: r.CIDR}
	a.State.State = "associated"
	return Vpc{CidrBlock: r.CIDR, DhcpOptionsID: "default", State: "available", VpcID: r.ID, OwnerID: s.cfg.Account,
		InstanceTenancy: r.Tenancy, Associations: api.Items[VpcCidrBlockAssociation]{a}, IsDefault: r.IsDefault, Tags: r.Tags}
}

type CreateVpcOutput struct {
	Vpc Vpc `xml:"vpc"`
}

// CreateVpc creates a VPC of a /16 to /28 IPv4 range, with its default
// security group.
func (s *Service) CreateVpc(ctx context.Context, in *CreateVpcInput) (*CreateVpcOutput, error) {
	if err := s.authorize(ctx, "CreateVpc", s.arn("vpc", "*"), in.DryRun); err != nil {
		return nil, err
	}
	p, err := parseCIDR("CidrBlock", in.CidrBlock)
	if err != nil {
		return nil, err
	}
	if p.Bits() < 16 || p.Bits() > 28 {
		return nil, api.Errorf("InvalidVpc.Range", "The CIDR '%s' is invalid.", in.CidrBlock)
	}
	switch in.InstanceTenancy {
	case "":
		in.InstanceTenancy = "default"
	case "default":
	case "dedicated", "host":
		return nil, invalidValue("Value (%s) for parameter instanceTenancy is invalid. Only default tenancy is available.", in.InstanceTenancy)
	default:
		return nil, invalidValue("Value (%s) for parameter instanceTenancy is invalid.", in.InstanceTenancy)
	}
	tags, err := specTags(in.TagSpecifications, "vpc")
	if err != nil {
		return nil, err
	}
	vpc, group := s.newVpc(p.String(), in.InstanceTenancy)
	vpc.Tags = tags
	txn := store.NewTxn().Put(s.keys.res("vpc", vpc.ID), vpc).Put(s.keys.res("security-group", group.ID), group)
	if err := s.store.Commit(ctx, txn); err != nil {
		return nil, err
	}
	return &CreateVpcOutput{Vpc: s.vpc(vpc)}, nil
}

type DescribeVpcsInput struct {
	DryRun     bool
	Filters    []Filter `query:"Filter"`
	VpcIds     []string `query:"VpcId"`
	MaxResults *int
	NextToken  *string
}

type DescribeVpcsOutput struct {
	Vpcs      api.Items[Vpc] `xml:"vpcSet"`
	NextToken *string        `xml:"nextToken,omitempty"`
}

// DescribeVpcs lists VPCs, by id and filters.
func (s *Service) DescribeVpcs(ctx context.Context, in *DescribeVpcsInput) (*DescribeVpcsOutput, error) {
	if err := s.authorize(ctx, "DescribeVpcs", "*", in.DryRun); err != nil {
		return nil, err
	}
	items, err := describe[vpcRecord](ctx, s, "vpc", in.VpcIds, vpcNotFound)
	if err != nil {
		return nil, err
	}
	page, next, err := filtered(items, in.Filters, func(r vpcRecord) (Vpc, []Tag, fields) {
		v := s.vpc(r)
		return v, r.Tags, func(name string) ([]string, bool) {
			switch name {
			case "vpc-id":
				return []string{v.VpcID}, true
			case "cidr", "cidr-block-association.cidr-block", "cidrBlock":
				return []string{v.CidrBlock}, true
			case "cidr-block-association.association-id":
				return []string{r.Association}, true
			case "cidr-block-association.state":
				return []string{"associated"}, true
			case "is-default", "isDefault":
				return []string{strconv.FormatBool(v.IsDefault)}, true
			case "state":
				return []string{v.State}, true
			case "owner-id":
				return []string{v.OwnerID}, true
			case "dhcp-options-id":
				return []string{v.DhcpOptionsID}, true
			}
			return nil, false
		}
	}, func(v Vpc) string { return v.VpcID }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &DescribeVpcsOutput{Vpcs: api.Items[Vpc](page), NextToken: next}, nil
}

// describe loads the records of kind named by ids (each must exist), or
// every record of kind when ids is empty, in id order.
func describe[T any](ctx context.Context, s *Service, kind string, ids []string, nf func(string) error) ([]T, error) {
	var out []T
	if len(ids) == 0 {
		items, err := store.List[T](ctx, s.store, s.keys.of(kind))
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			out = append(out, it.Value)
		}
		return out, nil
	}
	keys := make([]string, 0, len(ids))
	for _, id := range slices.Compact(slices.Sorted(slices.Values(ids))) {
		keys = append(keys, s.keys.res(kind, id))
	}
	items, err := store.GetMany[T](ctx, s.store, keys)
	if err != nil {
		return nil, err
	}
	found := map[string]bool{}
	for _, it := range items {
		found[it.Key] = true
		out = append(out, it.Value)
	}
	for i, k := range keys {
		if !found[k] {
			return nil, nf(strings.TrimPrefix(keys[i], s.keys.of(kind)))
		}
	}
	return out, nil
}

type DeleteVpcInput struct {
	VpcId  string
	DryRun bool
}

// DeleteVpc deletes a VPC with no subnets and no security groups but its
// default one, which goes with it.
func (s *Service) DeleteVpc(ctx context.Context, in *DeleteVpcInput) (*Return, error) {
	if in.VpcId == "" {
		return nil, missing("VpcId")
	}
	if err := s.authorize(ctx, "DeleteVpc", s.arn("vpc", in.VpcId), in.DryRun); err != nil {
		return nil, err
	}
	err := retry(ctx, func() error {
		it, err := get[vpcRecord](ctx, s, "vpc", in.VpcId, vpcNotFound(in.VpcId))
		if err != nil {
			return err
		}
		if len(it.Value.Subnets) > 0 || len(it.Value.Groups) > 1 {
			return api.Errorf("DependencyViolation", "The vpc '%s' has dependencies and cannot be deleted.", in.VpcId)
		}
		txn := store.NewTxn().IfRev(it.Key, it.Rev).Delete(it.Key)
		if g := it.Value.Groups["default"]; g != "" {
			txn.Delete(s.keys.res("security-group", g))
		}
		return s.store.Commit(ctx, txn)
	})
	if err != nil {
		return nil, err
	}
	return ok, nil
}

type CreateSubnetInput struct {
	VpcId              string
	CidrBlock          string
	AvailabilityZone   string
	AvailabilityZoneId string
	DryRun             bool
	TagSpecifications  []TagSpecification `query:"TagSpecification"`
}

// Subnet is EC2's Subnet shape.
type Subnet struct {
	AvailabilityZone        string         `xml:"availabilityZone"`
	AvailabilityZoneID      string         `xml:"availabilityZoneId"`
	AvailableIPAddressCount int            `xml:"availableIpAddressCount"`
	CidrBlock               string         `xml:"cidrBlock"`
	DefaultForAz            bool           `xml:"defaultForAz"`
	MapPublicIPOnLaunch     bool           `xml:"mapPublicIpOnLaunch"`
	State                   string         `xml:"state"`
	SubnetID                string         `xml:"subnetId"`
	VpcID                   string         `xml:"vpcId"`
	OwnerID                 string         `xml:"ownerId"`
	AssignIpv6OnCreation    bool           `xml:"assignIpv6AddressOnCreation"`
	Ipv6Associations        api.Items[any] `xml:"ipv6CidrBlockAssociationSet"`
	Tags                    api.Items[Tag] `xml:"tagSet,omitempty"`
	SubnetArn               string         `xml:"subnetArn"`
}

func (s *Service) subnet(r subnetRecord) Subnet {
	z, _ := s.zone(r.Zone)
	p := netip.MustParsePrefix(r.CIDR)
	return Subnet{AvailabilityZone: z.Name, AvailabilityZoneID: z.ID, AvailableIPAddressCount: subnetSize(p) - 5, CidrBlock: r.CIDR,
		DefaultForAz: r.DefaultForAz, MapPublicIPOnLaunch: r.MapPublicIP, State: "available", SubnetID: r.ID, VpcID: r.VpcID,
		OwnerID: s.cfg.Account, Ipv6Associations: api.Items[any]{}, Tags: r.Tags, SubnetArn: s.arn("subnet", r.ID)}
}

// subnetSize is how many addresses p holds.
func subnetSize(p netip.Prefix) int { return 1 << (32 - p.Bits()) }

type CreateSubnetOutput struct {
	Subnet Subnet `xml:"subnet"`
}

// CreateSubnet creates a subnet of a VPC: a /16 to /28 range inside the
// VPC's that overlaps none of its other subnets, in one zone (the one with
// the fewest of the VPC's subnets when none is named).
func (s *Service) CreateSubnet(ctx context.Context, in *CreateSubnetInput) (*CreateSubnetOutput, error) {
	if err := s.authorize(ctx, "CreateSubnet", s.arn("subnet", "*"), in.DryRun); err != nil {
		return nil, err
	}
	if in.VpcId == "" {
		return nil, missing("VpcId")
	}
	p, err := parseCIDR("CidrBlock", in.CidrBlock)
	if err != nil {
		return nil, err
	}
	zone := Zone{}
	if n := in.AvailabilityZone + in.AvailabilityZoneId; n != "" {
		z, ok := s.zone(cmpOr(in.AvailabilityZone, in.AvailabilityZoneId))
		if !ok || (in.AvailabilityZone != "" && in.AvailabilityZoneId != "" && (z.Name != in.AvailabilityZone || z.ID != in.AvailabilityZoneId)) {
			names := make([]string, 0, 3)
			for _, z := range s.Zones() {
				names = append(names, z.Name)
			}
			return nil, invalidValue("Value (%s) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: %s.",
				cmpOr(in.AvailabilityZone, in.AvailabilityZoneId), strings.Join(names, ", "))
		}
		zone = z
	}
	tags, err := specTags(in.TagSpecifications, "subnet")
	if err != nil {
		return nil, err
	}
	var sub subnetRecord
	err = retry(ctx, func() error {
		it, err := get[vpcRecord](ctx, s, "vpc", in.VpcId, vpcNotFound(in.VpcId))
		if err != nil {
			return err
		}
		vpc := it.Value
		vp := netip.MustParsePrefix(vpc.CIDR)
		if p.Bits() < 16 || p.Bits() > 28 || p.Bits() < vp.Bits() || !vp.Contains(p.Addr()) {
			return api.Errorf("InvalidSubnet.Range", "The CIDR '%s' is invalid.", in.CidrBlock)
		}
		for _, c := range vpc.Subnets {
			if netip.MustParsePrefix(c).Overlaps(p) {
				return api.Errorf("InvalidSubnet.Conflict", "The CIDR '%s' conflicts with another subnet", in.CidrBlock)
			}
		}
		z := zone
		if z.Name == "" {
			z, err = s.emptiestZone(ctx, vpc)
			if err != nil {
				return err
			}
		}
		sub = subnetRecord{ID: newID("subnet"), VpcID: vpc.ID, CIDR: p.String(), Zone: z.Name, Association: newID("subnet-cidr-assoc"), Tags: tags}
		if vpc.Subnets == nil {
			vpc.Subnets = map[string]string{}
		}
		vpc.Subnets[sub.ID] = sub.CIDR
		return s.store.Commit(ctx, store.NewTxn().IfRev(it.Key, it.Rev).Put(it.Key, vpc).Put(s.keys.res("subnet", sub.ID), sub))
	})
	if err != nil {
		return nil, err
	}
	return &CreateSubnetOutput{Subnet: s.subnet(sub)}, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// emptiestZone is the zone holding the fewest of vpc's subnets.
func (s *Service) emptiestZone(ctx context.Context, vpc vpcRecord) (Zone, error) {
	ids := make([]string, 0, len(vpc.Subnets))
	for id := range vpc.Subnets {
		ids = append(ids, id)
	}
	subs, err := describe[subnetRecord](ctx, s, "subnet", ids, subnetNotFound)
	if err != nil && !isNotFound(err) {
		return Zone{}, err
	}
	count := map[string]int{}
	for _, sub := range subs {
		count[sub.Zone]++
	}
	zones := s.Zones()
	best := zones[0]
	for _, z := range zones[1:] {
		if count[z.Name] < count[best.Name] {
			best = z
		}
	}
	return best, nil
}

type DescribeSubnetsInput struct {
	DryRun     bool
	Filters    []Filter `query:"Filter"`
	SubnetIds  []string `query:"SubnetId"`
	MaxResults *int
	NextToken  *string
}

type DescribeSubnetsOutput struct {
	Subnets   api.Items[Subnet] `xml:"subnetSet"`
	NextToken *string           `xml:"nextToken,omitempty"`
}

// DescribeSubnets lists subnets, by id and filters.
func (s *Service) DescribeSubnets(ctx context.Context, in *DescribeSubnetsInput) (*DescribeSubnetsOutput, error) {
	if err := s.authorize(ctx, "DescribeSubnets", "*", in.DryRun); err != nil {
		return nil, err
	}
	items, err := describe[subnetRecord](ctx, s, "subnet", in.SubnetIds, subnetNotFound)
	if err != nil {
		return nil, err
	}
	page, next, err := filtered(items, in.Filters, func(r subnetRecord) (Subnet, []Tag, fields) {
		v := s.subnet(r)
		return v, r.Tags, func(name string) ([]string, bool) {
			switch name {
			case "subnet-id":
				return []string{v.SubnetID}, true
			case "vpc-id", "vpcId":
				return []string{v.VpcID}, true
			case "cidr", "cidr-block", "cidrBlock":
				return []string{v.CidrBlock}, true
			case "availability-zone", "availabilityZone":
				return []string{v.AvailabilityZone}, true
			case "availability-zone-id", "availabilityZoneId":
				return []string{v.AvailabilityZoneID}, true
			case "default-for-az", "defaultForAz":
				return []string{strconv.FormatBool(v.DefaultForAz)}, true
			case "map-public-ip-on-launch":
				return []string{strconv.FormatBool(v.MapPublicIPOnLaunch)}, true
			case "state":
				return []string{v.State}, true
			case "owner-id":
				return []string{v.OwnerID}, true
			case "subnet-arn":
				return []string{v.SubnetArn}, true
			case "available-ip-address-count":
				return []string{strconv.Itoa(v.AvailableIPAddressCount)}, true
			}
			return nil, false
		}
	}, func(v Subnet) string { return v.SubnetID }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &DescribeSubnetsOutput{Subnets: api.Items[Subnet](page), NextToken: next}, nil
}

type DeleteSubnetInput struct {
	SubnetId string
	DryRun   bool
}

// DeleteSubnet deletes a subnet.
func (s *Service) DeleteSubnet(ctx context.Context, in *DeleteSubnetInput) (*Return, error) {
	if in.SubnetId == "" {
		return nil, missing("SubnetId")
	}
	if err := s.authorize(ctx, "DeleteSubnet", s.arn("subnet", in.SubnetId), in.DryRun); err != nil {
		return nil, err
	}
	err := retry(ctx, func() error {
		sub, err := get[subnetRecord](ctx, s, "subnet", in.SubnetId, subnetNotFound(in.SubnetId))
		if err != nil {
			return err
		}
		// An address in use is an instance's or an interface's.
		if used, err := s.store.Keys(ctx, s.keys.addresses(sub.Value.ID)); err != nil {
			return err
		} else if len(used) > 0 {
			return api.Errorf("DependencyViolation", "The subnet '%s' has dependencies and cannot be deleted.", sub.Value.ID)
		}
		vpc, err := get[vpcRecord](ctx, s, "vpc", sub.Value.VpcID, vpcNotFound(sub.Value.VpcID))
		if err != nil {
			return err
		}
		delete(vpc.Value.Subnets, sub.Value.ID)
		return s.store.Commit(ctx, store.NewTxn().IfRev(sub.Key, sub.Rev).IfRev(vpc.Key, vpc.Rev).Delete(sub.Key).Put(vpc.Key, vpc.Value))
	})
	if err != nil {
		return nil, err
	}
	return ok, nil
}

// VpcCIDR returns a VPC's IPv4 range, or EC2's InvalidVpcID.NotFound: for
// the services that place addresses in it (load balancers' ip targets).
func (s *Service) VpcCIDR(ctx context.Context, id string) (string, error) {
	it, err := get[vpcRecord](ctx, s, "vpc", id, vpcNotFound(id))
	return it.Value.CIDR, err
}

// VpcDefaultGroup returns the id of a VPC's default security group, which
// a resource created in the VPC without groups gets.
func (s *Service) VpcDefaultGroup(ctx context.Context, id string) (string, error) {
	it, err := get[vpcRecord](ctx, s, "vpc", id, vpcNotFound(id))
	return it.Value.Groups["default"], err
}

// AddressZone returns the availability zone of the subnet of a VPC whose
// range holds ip, or "" when none does: where an address registered with a
// load balancer lives.
func (s *Service) AddressZone(ctx context.Context, vpcID string, ip netip.Addr) (string, error) {
	it, err := get[vpcRecord](ctx, s, "vpc", vpcID, vpcNotFound(vpcID))
	if err != nil {
		return "", err
	}
	for id, cidr := range it.Value.Subnets {
		if p, err := netip.ParsePrefix(cidr); err == nil && p.Contains(ip) {
			zone, _, err := s.SubnetZone(ctx, id)
			return zone, err
		}
	}
	return "", nil
}
