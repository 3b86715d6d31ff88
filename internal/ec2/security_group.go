package ec2

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// groupRecord is a security group as stored.
type groupRecord struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	VpcID       string `json:"vpcId"`
	Ingress     []Rule `json:"ingress,omitempty"`
	Egress      []Rule `json:"egress,omitempty"`
	Tags        []Tag  `json:"tags,omitempty"`
}

// Rule is one security group rule: traffic of Protocol on ports
// From..To (-1 for all, and for ICMP the type and code) to or from CIDR,
// or from the members of Group.
type Rule struct {
	ID          string `json:"id"`
	Protocol    string `json:"protocol"` // tcp, udp, icmp, -1 (all) or a protocol number
	From        int    `json:"from"`
	To          int    `json:"to"`
	CIDR        string `json:"cidr,omitempty"`
	Group       string `json:"group,omitempty"`
	Description string `json:"description,omitempty"`
}

// same reports whether r and o allow the same traffic.
func (r Rule) same(o Rule) bool {
	return r.Protocol == o.Protocol && r.From == o.From && r.To == o.To && r.CIDR == o.CIDR && r.Group == o.Group
}

// defaultGroup is a VPC's default security group: members may reach each
// other, and everything may leave.
func defaultGroup(vpcID string) groupRecord {
	id := newID("sg")
	return groupRecord{ID: id, Name: "default", Description: "default VPC security group", VpcID: vpcID,
		Ingress: []Rule{{ID: newID("sgr"), Protocol: "-1", From: -1, To: -1, Group: id}},
		Egress:  []Rule{{ID: newID("sgr"), Protocol: "-1", From: -1, To: -1, CIDR: "0.0.0.0/0"}}}
}

func groupNotFound(id string) error {
	return api.Errorf("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
}

type CreateSecurityGroupInput struct {
	Description       string `query:"GroupDescription"`
	GroupName         string
	VpcId             string
	DryRun            bool
	TagSpecifications []TagSpecification `query:"TagSpecification"`
}

type CreateSecurityGroupOutput struct {
	GroupID string         `xml:"groupId"`
	Tags    api.Items[Tag] `xml:"tagSet,omitempty"`
}

// CreateSecurityGroup creates a security group in a VPC (the default VPC
// when none is named) that allows all egress and no ingress.
func (s *Service) CreateSecurityGroup(ctx context.Context, in *CreateSecurityGroupInput) (*CreateSecurityGroupOutput, error) {
	if err := s.authorize(ctx, "CreateSecurityGroup", s.arn("security-group", "*"), in.DryRun); err != nil {
		return nil, err
	}
	switch {
	case in.GroupName == "":
		return nil, missing("GroupName")
	case in.Description == "":
		return nil, missing("GroupDescription")
	case len(in.GroupName) > 255 || len(in.Description) > 255:
		return nil, invalidValue("Group names and descriptions may be at most 255 characters long.")
	case strings.HasPrefix(strings.ToLower(in.GroupName), "sg-"):
		return nil, invalidValue("Group names may not be in the format sg-*.")
	case in.GroupName == "default":
		return nil, api.Errorf("InvalidGroup.Reserved", "The security group 'default' is reserved")
	}
	tags, err := specTags(in.TagSpecifications, "security-group")
	if err != nil {
		return nil, err
	}
	g := groupRecord{ID: newID("sg"), Name: in.GroupName, Description: in.Description, Tags: tags}
	g.Egress = []Rule{{ID: newID("sgr"), Protocol: "-1", From: -1, To: -1, CIDR: "0.0.0.0/0"}}
	err = retry(ctx, func() error {
		vpc, err := s.vpcOrDefault(ctx, in.VpcId)
		if err != nil {
			return err
		}
		if _, dup := vpc.Value.Groups[g.Name]; dup {
			return api.Errorf("InvalidGroup.Duplicate", "The security group '%s' already exists for VPC '%s'", g.Name, vpc.Value.ID)
		}
		g.VpcID = vpc.Value.ID
		vpc.Value.Groups[g.Name] = g.ID
		return s.store.Commit(ctx, store.NewTxn().IfRev(vpc.Key, vpc.Rev).Put(vpc.Key, vpc.Value).Put(s.keys.res("security-group", g.ID), g))
	})
	if err != nil {
		return nil, err
	}
	return &CreateSecurityGroupOutput{GroupID: g.ID, Tags: tags}, nil
}

// vpcOrDefault loads the VPC named, or the default VPC for "".
func (s *Service) vpcOrDefault(ctx context.Context, id string) (store.Item[vpcRecord], error) {
	if id == "" {
		v, err := s.defaultVpc(ctx)
		if isNotFound(err) {
			return store.Item[vpcRecord]{}, api.Errorf("VPCIdNotSpecified", "No default VPC for this user")
		}
		if err != nil {
			return store.Item[vpcRecord]{}, err
		}
		id = v.ID
	}
	return get[vpcRecord](ctx, s, "vpc", id, vpcNotFound(id))
}

// groupByRef loads a security group by id, or by name in the default VPC.
func (s *Service) groupByRef(ctx context.Context, id, name string) (store.Item[groupRecord], error) {
	if id == "" && name != "" {
		vpc, err := s.vpcOrDefault(ctx, "")
		if err != nil {
			return store.Item[groupRecord]{}, err
		}
		if id = vpc.Value.Groups[name]; id == "" {
			return store.Item[groupRecord]{}, api.Errorf("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC '%s'", name, vpc.Value.ID)
		}
	}
	if id == "" {
		return store.Item[groupRecord]{}, missing("GroupId")
	}
	return get[groupRecord](ctx, s, "security-group", id, groupNotFound(id))
}

type DeleteSecurityGroupInput struct {
	GroupId   string
	GroupName string
	DryRun    bool
}

// DeleteSecurityGroup deletes a security group that no other group's
// rules refer to; a VPC's default group goes only with its VPC.
func (s *Service) DeleteSecurityGroup(ctx context.Context, in *DeleteSecurityGroupInput) (*Return, error) {
	if err := s.authorize(ctx, "DeleteSecurityGroup", s.arn("security-group", cmpOr(in.GroupId, in.GroupName)), in.DryRun); err != nil {
		return nil, err
	}
	err := retry(ctx, func() error {
		g, err := s.groupByRef(ctx, in.GroupId, in.GroupName)
		if err != nil {
			return err
		}
		if g.Value.Name == "default" {
			return api.Errorf("CannotDelete", "the specified group: \"%s\" name: \"default\" cannot be deleted by a user", g.Value.ID)
		}
		others, err := store.List[groupRecord](ctx, s.store, s.keys.of("security-group"))
		if err != nil {
			return err
		}
		for _, o := range others {
			if o.Value.ID == g.Value.ID {
				continue
			}
			for _, r := range append(slices.Clone(o.Value.Ingress), o.Value.Egress...) {
				if r.Group == g.Value.ID {
					return api.Errorf("DependencyViolation", "resource %s has a dependent object", g.Value.ID)
				}
			}
		}
		if inUse, err := s.groupInUse(ctx, g.Value.ID); err != nil {
			return err
		} else if inUse {
			return api.Errorf("DependencyViolation", "resource %s has a dependent object", g.Value.ID)
		}
		vpc, err := get[vpcRecord](ctx, s, "vpc", g.Value.VpcID, vpcNotFound(g.Value.VpcID))
		if err != nil {
			return err
		}
		delete(vpc.Value.Groups, g.Value.Name)
		return s.store.Commit(ctx, store.NewTxn().IfRev(g.Key, g.Rev).IfRev(vpc.Key, vpc.Rev).Delete(g.Key).Put(vpc.Key, vpc.Value))
	})
	if err != nil {
		return nil, err
	}
	return ok, nil
}

// groupInUse reports whether an instance that is not terminated or an
// interface is in the group.
func (s *Service) groupInUse(ctx context.Context, id string) (bool, error) {
	instances, err := s.Instances(ctx)
	if err != nil {
		return false, err
	}
	interfaces, err := s.Interfaces(ctx)
	if err != nil {
		return false, err
	}
	return len(Members(instances, interfaces)[id]) > 0, nil
}

// IpPermission is EC2's IpPermission shape, in requests and responses.
type IpPermission struct {
	IpProtocol       string                     `xml:"ipProtocol"`
	FromPort         *int                       `xml:"fromPort,omitempty"`
	ToPort           *int                       `xml:"toPort,omitempty"`
	UserIdGroupPairs api.Items[UserIdGroupPair] `query:"Groups" xml:"groups"`
	IpRanges         api.Items[IpRange]         `xml:"ipRanges"`
	Ipv6Ranges       api.Items[any]             `query:"-" xml:"ipv6Ranges"`
	PrefixListIds    api.Items[any]             `query:"-" xml:"prefixListIds"`
}

type IpRange struct {
	CidrIp      string `xml:"cidrIp"`
	Description string `xml:"description,omitempty"`
}

type UserIdGroupPair struct {
	Description string `xml:"description,omitempty"`
	GroupId     string `xml:"groupId"`
	GroupName   string `xml:"-"`
	UserId      string `xml:"userId"`
}

type SecurityGroupRuleRequest struct {
	GroupId              string
	GroupName            string
	IpPermissions        []IpPermission
	IpProtocol           string
	FromPort             *int
	ToPort               *int
	CidrIp               string
	SourceGroupName      string   `query:"SourceSecurityGroupName"`
	SourceGroupOwner     string   `query:"SourceSecurityGroupOwnerId"`
	SecurityGroupRuleIds []string `query:"SecurityGroupRuleId"`
	DryRun               bool
	TagSpecifications    []TagSpecification `query:"TagSpecification"`
}

// SecurityGroupRule is EC2's SecurityGroupRule shape.
type SecurityGroupRule struct {
	ID              string `xml:"securityGroupRuleId"`
	GroupID         string `xml:"groupId"`
	GroupOwnerID    string `xml:"groupOwnerId"`
	IsEgress        bool   `xml:"isEgress"`
	IpProtocol      string `xml:"ipProtocol"`
	FromPort        int    `xml:"fromPort"`
	ToPort          int    `xml:"toPort"`
	CidrIpv4        string `xml:"cidrIpv4,omitempty"`
	ReferencedGroup *struct {
		GroupID string `xml:"groupId"`
		UserID  string `xml:"userId"`
	} `xml:"referencedGroupInfo,omitempty"`
	Description string `xml:"description,omitempty"`
}

func (s *Service) ruleShape(groupID string, egress bool, r Rule) SecurityGroupRule {
	out := SecurityGroupRule{ID: r.ID, GroupID: groupID, GroupOwnerID: s.cfg.Account, IsEgress: egress, IpProtocol: r.Protocol,
		FromPort: r.From, ToPort: r.To, CidrIpv4: r.CIDR, Description: r.Description}
	if r.Group != "" {
		out.ReferencedGroup = &struct {
			GroupID string `xml:"groupId"`
			UserID  string `xml:"userId"`
		}{r.Group, s.cfg.Account}
	}
	return out
}

type AuthorizeOutput struct {
	Return bool                         `xml:"return"`
	Rules  api.Items[SecurityGroupRule] `xml:"securityGroupRuleSet"`
}

type RevokeOutput struct {
	Return  bool                    `xml:"return"`
	Unknown api.Items[IpPermission] `xml:"unknownIpPermissionSet,omitempty"`
}

// AuthorizeSecurityGroupIngress adds inbound rules.
func (s *Service) AuthorizeSecurityGroupIngress(ctx context.Context, in *SecurityGroupRuleRequest) (*AuthorizeOutput, error) {
	return s.authorizeRules(ctx, "AuthorizeSecurityGroupIngress", in, false)
}

// AuthorizeSecurityGroupEgress adds outbound rules.
func (s *Service) AuthorizeSecurityGroupEgress(ctx context.Context, in *SecurityGroupRuleRequest) (*AuthorizeOutput, error) {
	return s.authorizeRules(ctx, "AuthorizeSecurityGroupEgress", in, true)
}

// RevokeSecurityGroupIngress removes inbound rules.
func (s *Service) RevokeSecurityGroupIngress(ctx context.Context, in *SecurityGroupRuleRequest) (*RevokeOutput, error) {
	return s.revokeRules(ctx, "RevokeSecurityGroupIngress", in, false)
}

// RevokeSecurityGroupEgress removes outbound rules.
func (s *Service) RevokeSecurityGroupEgress(ctx context.Context, in *SecurityGroupRuleRequest) (*RevokeOutput, error) {
	return s.revokeRules(ctx, "RevokeSecurityGroupEgress", in, true)
}

func (s *Service) authorizeRules(ctx context.Context, action string, in *SecurityGroupRuleRequest, egress bool) (*AuthorizeOutput, error) {
	if err := s.authorize(ctx, action, s.arn("security-group", cmpOr(in.GroupId, in.GroupName)), in.DryRun); err != nil {
		return nil, err
	}
	out := &AuthorizeOutput{Return: true, Rules: api.Items[SecurityGroupRule]{}}
	err := retry(ctx, func() error {
		g, err := s.groupByRef(ctx, in.GroupId, in.GroupName)
		if err != nil {
			return err
		}
		rules, err := s.requestedRules(ctx, g.Value, in)
		if err != nil {
			return err
		}
		if len(rules) == 0 {
			return missing("IpPermissions")
		}
		list := &g.Value.Ingress
		if egress {
			list = &g.Value.Egress
		}
		out.Rules = out.Rules[:0]
		for i, r := range rules {
			for _, have := range append(slices.Clone(*list), rules[:i]...) {
				if have.same(r) {
					return api.Errorf("InvalidPermission.Duplicate", "the specified rule %q already exists", describeRule(r))
				}
			}
			r.ID = newID("sgr")
			*list = append(*list, r)
			out.Rules = append(out.Rules, s.ruleShape(g.Value.ID, egress, r))
		}
		return s.store.Commit(ctx, store.NewTxn().IfRev(g.Key, g.Rev).Put(g.Key, g.Value))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) revokeRules(ctx context.Context, action string, in *SecurityGroupRuleRequest, egress bool) (*RevokeOutput, error) {
	if err := s.authorize(ctx, action, s.arn("security-group", cmpOr(in.GroupId, in.GroupName)), in.DryRun); err != nil {
		return nil, err
	}
	out := &RevokeOutput{}
	err := retry(ctx, func() error {
		g, err := s.groupByRef(ctx, in.GroupId, in.GroupName)
		if err != nil {
			return err
		}
		list := &g.Value.Ingress
		if egress {
			list = &g.Value.Egress
		}
		out.Unknown = nil
		for _, id := range in.SecurityGroupRuleIds {
			i := slices.IndexFunc(*list, func(r Rule) bool { return r.ID == id })
			if i < 0 {
				return api.Errorf("InvalidSecurityGroupRuleId.NotFound", "The security group rule ID '%s' does not exist", id)
			}
			*list = slices.Delete(*list, i, i+1)
		}
		rules, err := s.requestedRules(ctx, g.Value, in)
		if err != nil {
			return err
		}
		if len(rules) == 0 && len(in.SecurityGroupRuleIds) == 0 {
			return missing("IpPermissions")
		}
		for _, r := range rules {
			i := slices.IndexFunc(*list, r.same)
			if i < 0 {
				out.Unknown = append(out.Unknown, permissions([]Rule{r})...)
				continue
			}
			*list = slices.Delete(*list, i, i+1)
		}
		if len(out.Unknown) > 0 && len(out.Unknown) == len(rules) && len(in.SecurityGroupRuleIds) == 0 {
			return api.Errorf("InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
		}
		return s.store.Commit(ctx, store.NewTxn().IfRev(g.Key, g.Rev).Put(g.Key, g.Value))
	})
	if err != nil {
		return nil, err
	}
	out.Return = true
	return out, nil
}

// requestedRules expands a request's permissions (and its legacy
// top-level CidrIp/ports/source group) into single rules, validated.
func (s *Service) requestedRules(ctx context.Context, g groupRecord, in *SecurityGroupRuleRequest) ([]Rule, error) {
	perms := slices.Clone(in.IpPermissions)
	if in.IpProtocol != "" || in.CidrIp != "" || in.SourceGroupName != "" {
		p := IpPermission{IpProtocol: in.IpProtocol, FromPort: in.FromPort, ToPort: in.ToPort}
		if in.CidrIp != "" {
			p.IpRanges = append(p.IpRanges, IpRange{CidrIp: in.CidrIp})
		}
		if in.SourceGroupName != "" {
			p.UserIdGroupPairs = append(p.UserIdGroupPairs, UserIdGroupPair{GroupName: in.SourceGroupName})
			if p.IpProtocol == "" {
				p.IpProtocol = "-1"
			}
		}
		perms = append(perms, p)
	}
	var rules []Rule
	for _, p := range perms {
		proto, from, to, err := portRange(p)
		if err != nil {
			return nil, err
		}
		if len(p.IpRanges) == 0 && len(p.UserIdGroupPairs) == 0 {
			return nil, missing("IpRanges or Groups")
		}
		for _, r := range p.IpRanges {
			c, err := netip.ParsePrefix(r.CidrIp)
			if err != nil || !c.Addr().Is4() {
				return nil, invalidValue("CIDR block %s is malformed", r.CidrIp)
			}
			rules = append(rules, Rule{Protocol: proto, From: from, To: to, CIDR: c.Masked().String(), Description: r.Description})
		}
		for _, pair := range p.UserIdGroupPairs {
			id := pair.GroupId
			if id == "" {
				vpc, err := get[vpcRecord](ctx, s, "vpc", g.VpcID, vpcNotFound(g.VpcID))
				if err != nil {
					return nil, err
				}
				if id = vpc.Value.Groups[pair.GroupName]; id == "" {
					return nil, api.Errorf("InvalidGroup.NotFound", "The security group '%s' does not exist in VPC '%s'", pair.GroupName, g.VpcID)
				}
			}
			src, err := get[groupRecord](ctx, s, "security-group", id, groupNotFound(id))
			if err != nil {
				return nil, err
			}
			if src.Value.VpcID != g.VpcID {
				return nil, invalidValue("You have specified two resources that belong to different networks.")
			}
			rules = append(rules, Rule{Protocol: proto, From: from, To: to, Group: id, Description: pair.Description})
		}
	}
	return rules, nil
}

// portRange validates a permission's protocol and ports: tcp and udp
// need 0 ≤ from ≤ to ≤ 65535; icmp takes a type and code (-1 for all);
// "-1" (all traffic) and other protocols have no ports.
func portRange(p IpPermission) (proto string, from, to int, err error) {
	proto = strings.ToLower(p.IpProtocol)
	switch proto {
	case "6":
		proto = "tcp"
	case "17":
		proto = "udp"
	case "1":
		proto = "icmp"
	case "all":
		proto = "-1"
	}
	get := func(v *int, name string) (int, error) {
		if v == nil {
			return 0, invalidValue("Invalid value for portRange. Must specify both from and to ports with TCP/UDP.")
		}
		return *v, nil
	}
	switch proto {
	case "":
		return "", 0, 0, missing("IpProtocol")
	case "-1":
		return proto, -1, -1, nil
	case "tcp", "udp":
		if from, err = get(p.FromPort, "FromPort"); err != nil {
			return
		}
		if to, err = get(p.ToPort, "ToPort"); err != nil {
			return
		}
		if from < 0 || to > 65535 || from > to {
			return "", 0, 0, invalidValue("Invalid port range (%d, %d). The from port must not be greater than the to port, and both must be between 0 and 65535.", from, to)
		}
		return proto, from, to, nil
	case "icmp":
		from, to = -1, -1
		if p.FromPort != nil {
			from = *p.FromPort
		}
		if p.ToPort != nil {
			to = *p.ToPort
		}
		if from < -1 || from > 255 || to < -1 || to > 255 {
			return "", 0, 0, invalidValue("Invalid ICMP type or code (%d, %d).", from, to)
		}
		return proto, from, to, nil
	}
	if n, err := strconv.Atoi(proto); err != nil || n < 0 || n > 255 {
		return "", 0, 0, invalidValue("Invalid IP protocol: %s", p.IpProtocol)
	}
	return proto, -1, -1, nil
}

// describeRule renders a rule as EC2's duplicate-rule message does:
// peer: 0.0.0.0/0, TCP, from port: 22, to port: 22, ALLOW.
func describeRule(r Rule) string {
	peer := r.CIDR
	if r.Group != "" {
		peer = r.Group
	}
	proto := strings.ToUpper(r.Protocol)
	if r.Protocol == "-1" {
		proto = "ALL"
	}
	return fmt.Sprintf("peer: %s, %s, from port: %d, to port: %d, ALLOW", peer, proto, r.From, r.To)
}

// permissions groups rules into IpPermissions by protocol and ports, as
// DescribeSecurityGroups reports them.
func permissions(rules []Rule) []IpPermission {
	var out []IpPermission
	for _, r := range rules {
		i := slices.IndexFunc(out, func(p IpPermission) bool {
			return p.IpProtocol == r.Protocol && intOr(p.FromPort) == r.From && intOr(p.ToPort) == r.To
		})
		if i < 0 {
			p := IpPermission{IpProtocol: r.Protocol, UserIdGroupPairs: api.Items[UserIdGroupPair]{}, IpRanges: api.Items[IpRange]{},
				Ipv6Ranges: api.Items[any]{}, PrefixListIds: api.Items[any]{}}
			if r.Protocol != "-1" {
				from, to := r.From, r.To
				p.FromPort, p.ToPort = &from, &to
			}
			out = append(out, p)
			i = len(out) - 1
		}
		if r.Group != "" {
			out[i].UserIdGroupPairs = append(out[i].UserIdGroupPairs, UserIdGroupPair{GroupId: r.Group, Description: r.Description})
		} else {
			out[i].IpRanges = append(out[i].IpRanges, IpRange{CidrIp: r.CIDR, Description: r.Description})
		}
	}
	return out
}

func intOr(p *int) int {
	if p == nil {
		return -1
	}
	return *p
}

// SecurityGroup is EC2's SecurityGroup shape.
type SecurityGroup struct {
	Description         string                  `xml:"groupDescription"`
	GroupName           string                  `xml:"groupName"`
	IpPermissions       api.Items[IpPermission] `xml:"ipPermissions"`
	OwnerID             string                  `xml:"ownerId"`
	GroupID             string                  `xml:"groupId"`
	IpPermissionsEgress api.Items[IpPermission] `xml:"ipPermissionsEgress"`
	Tags                api.Items[Tag]          `xml:"tagSet,omitempty"`
	VpcID               string                  `xml:"vpcId"`
	SecurityGroupArn    string                  `xml:"securityGroupArn"`
}

type DescribeSecurityGroupsInput struct {
	DryRun     bool
	Filters    []Filter `query:"Filter"`
	GroupIds   []string `query:"GroupId"`
	GroupNames []string `query:"GroupName"`
	MaxResults *int
	NextToken  *string
}

type DescribeSecurityGroupsOutput struct {
	SecurityGroups api.Items[SecurityGroup] `xml:"securityGroupInfo"`
	NextToken      *string                  `xml:"nextToken,omitempty"`
}

// DescribeSecurityGroups lists security groups by id, by name (in the
// default VPC) and by filters.
func (s *Service) DescribeSecurityGroups(ctx context.Context, in *DescribeSecurityGroupsInput) (*DescribeSecurityGroupsOutput, error) {
	if err := s.authorize(ctx, "DescribeSecurityGroups", "*", in.DryRun); err != nil {
		return nil, err
	}
	ids := slices.Clone(in.GroupIds)
	for _, name := range in.GroupNames {
		g, err := s.groupByRef(ctx, "", name)
		if err != nil {
			return nil, err
		}
		ids = append(ids, g.Value.ID)
	}
	items, err := describe[groupRecord](ctx, s, "security-group", ids, groupNotFound)
	if err != nil {
		return nil, err
	}
	page, next, err := filtered(items, in.Filters, func(r groupRecord) (SecurityGroup, []Tag, fields) {
		g := SecurityGroup{Description: r.Description, GroupName: r.Name, IpPermissions: permissions(r.Ingress), OwnerID: s.cfg.Account,
			GroupID: r.ID, IpPermissionsEgress: permissions(r.Egress), Tags: r.Tags, VpcID: r.VpcID, SecurityGroupArn: s.arn("security-group", r.ID)}
		if g.IpPermissions == nil {
			g.IpPermissions = api.Items[IpPermission]{}
		}
		if g.IpPermissionsEgress == nil {
			g.IpPermissionsEgress = api.Items[IpPermission]{}
		}
		return g, r.Tags, func(name string) ([]string, bool) {
			rules, field, found := r.Ingress, name, true
			if f, isEgress := strings.CutPrefix(name, "egress."); isEgress {
				rules, field = r.Egress, f
			}
			var vals []string
			switch field {
			case "group-id":
				return []string{r.ID}, true
			case "group-name":
				return []string{r.Name}, true
			case "vpc-id":
				return []string{r.VpcID}, true
			case "description":
				return []string{r.Description}, true
			case "owner-id":
				return []string{s.cfg.Account}, true
			case "ip-permission.cidr":
				for _, x := range rules {
					if x.CIDR != "" {
						vals = append(vals, x.CIDR)
					}
				}
			case "ip-permission.from-port":
				for _, x := range rules {
					vals = append(vals, strconv.Itoa(x.From))
				}
			case "ip-permission.to-port":
				for _, x := range rules {
					vals = append(vals, strconv.Itoa(x.To))
				}
			case "ip-permission.protocol":
				for _, x := range rules {
					vals = append(vals, x.Protocol)
				}
			case "ip-permission.group-id":
				for _, x := range rules {
					if x.Group != "" {
						vals = append(vals, x.Group)
					}
				}
			default:
				found = false
			}
			return vals, found
		}
	}, func(g SecurityGroup) string { return g.GroupID }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &DescribeSecurityGroupsOutput{SecurityGroups: api.Items[SecurityGroup](page), NextToken: next}, nil
}

// GroupVpc returns the VPC of a security group, or EC2's
// InvalidGroup.NotFound: for the services that attach groups to their
// resources (load balancers).
func (s *Service) GroupVpc(ctx context.Context, id string) (string, error) {
	it, err := get[groupRecord](ctx, s, "security-group", id, groupNotFound(id))
	return it.Value.VpcID, err
}
