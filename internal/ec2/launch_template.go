package ec2

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/instancetype"
	"github.com/berth-dev/berth/internal/store"
)

// templateRecord is a launch template as stored; its versions are
// records of their own.
type templateRecord struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Default   int64     `json:"default"`
	Latest    int64     `json:"latest"`
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"createdBy"`
	Tags      []Tag     `json:"tags,omitempty"`
}

// templateVersionRecord is one version of a launch template.
type templateVersionRecord struct {
	Number      int64              `json:"number"`
	Description string             `json:"description,omitempty"`
	Data        LaunchTemplateData `json:"data"`
	Created     time.Time          `json:"created"`
	CreatedBy   string             `json:"createdBy"`
}

func (k keys) templateName(name string) string { return k.prefix + "launch-template-name/" + name }
func (k keys) templateVersions(id string) string {
	return k.prefix + "launch-template-version/" + id + "/"
}
func (k keys) templateVersion(id string, n int64) string {
	return fmt.Sprintf("%s%012d", k.templateVersions(id), n)
}

// LaunchTemplateData is what a launch template version says about the
// instances launched from it: the part of EC2's RequestLaunchTemplateData
// Berth's instances act on.
type LaunchTemplateData struct {
	ImageId                           string                  `json:"imageId,omitempty" xml:"imageId,omitempty"`
	InstanceType                      string                  `json:"instanceType,omitempty" xml:"instanceType,omitempty"`
	KeyName                           string                  `json:"keyName,omitempty" xml:"keyName,omitempty"`
	UserData                          string                  `json:"userData,omitempty" xml:"userData,omitempty"`
	IamInstanceProfile                *InstanceProfileRef     `json:"iamInstanceProfile,omitempty" xml:"iamInstanceProfile,omitempty"`
	SecurityGroupIds                  []string                `json:"securityGroupIds,omitempty" query:"SecurityGroupId" xml:"-"`
	SecurityGroups                    []string                `json:"securityGroups,omitempty" query:"SecurityGroup" xml:"-"`
	NetworkInterfaces                 []NetworkInterfaceSpec  `json:"networkInterfaces,omitempty" query:"NetworkInterface" xml:"-"`
	Placement                         *TemplatePlacement      `json:"placement,omitempty" xml:"placement,omitempty"`
	TagSpecifications                 []TagSpecification      `json:"tagSpecifications,omitempty" query:"TagSpecification" xml:"-"`
	Monitoring                        *struct{ Enabled bool } `json:"monitoring,omitempty" xml:"-"`
	InstanceInitiatedShutdownBehavior string                  `json:"shutdownBehavior,omitempty" xml:"instanceInitiatedShutdownBehavior,omitempty"`
	DisableApiTermination             *bool                   `json:"disableApiTermination,omitempty" xml:"disableApiTermination,omitempty"`
}

// InstanceProfileRef names an instance profile by ARN or name.
type InstanceProfileRef struct {
	Arn  string `json:"arn,omitempty" xml:"arn,omitempty"`
	Name string `json:"name,omitempty" xml:"name,omitempty"`
}

// TemplatePlacement is where a template's instances go.
type TemplatePlacement struct {
	AvailabilityZone string `json:"availabilityZone,omitempty" xml:"availabilityZone,omitempty"`
}

// NetworkInterfaceSpec is a network interface to create at launch.
type NetworkInterfaceSpec struct {
	DeviceIndex              *int     `json:"deviceIndex,omitempty" xml:"deviceIndex,omitempty"`
	SubnetId                 string   `json:"subnetId,omitempty" xml:"subnetId,omitempty"`
	Groups                   []string `json:"groups,omitempty" query:"SecurityGroupId" xml:"-"`
	AssociatePublicIpAddress *bool    `json:"associatePublicIp,omitempty" xml:"associatePublicIpAddress,omitempty"`
	DeleteOnTermination      *bool    `json:"deleteOnTermination,omitempty" xml:"deleteOnTermination,omitempty"`
	PrivateIpAddress         string   `json:"privateIp,omitempty" xml:"privateIpAddress,omitempty"`
	Description              string   `json:"description,omitempty" xml:"description,omitempty"`
}

// MarshalXML writes the interface with its groups as <groupSet><groupId>.
func (n NetworkInterfaceSpec) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	type plain NetworkInterfaceSpec
	return e.EncodeElement(struct {
		plain
		Groups named `xml:"groupSet"`
	}{plain(n), named{"groupId", n.Groups}}, start)
}

// MarshalXML writes the template data with EC2's list element names.
func (d LaunchTemplateData) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	type plain LaunchTemplateData
	specs := make([]templateTagSpec, len(d.TagSpecifications))
	for i, sp := range d.TagSpecifications {
		specs[i] = templateTagSpec{ResourceType: sp.ResourceType, Tags: sp.Tags}
	}
	out := struct {
		plain
		SecurityGroupIds  named                           `xml:"securityGroupIdSet,omitempty"`
		SecurityGroups    named                           `xml:"securityGroupSet,omitempty"`
		NetworkInterfaces api.Items[NetworkInterfaceSpec] `xml:"networkInterfaceSet,omitempty"`
		TagSpecifications api.Items[templateTagSpec]      `xml:"tagSpecificationSet,omitempty"`
		Monitoring        *struct {
			Enabled bool `xml:"enabled"`
		} `xml:"monitoring,omitempty"`
	}{plain: plain(d), SecurityGroupIds: named{"item", d.SecurityGroupIds}, SecurityGroups: named{"item", d.SecurityGroups},
		NetworkInterfaces: d.NetworkInterfaces, TagSpecifications: specs}
	if d.Monitoring != nil {
		out.Monitoring = &struct {
			Enabled bool `xml:"enabled"`
		}{d.Monitoring.Enabled}
	}
	return e.EncodeElement(out, start)
}

type templateTagSpec struct {
	ResourceType string         `xml:"resourceType"`
	Tags         api.Items[Tag] `xml:"tagSet"`
}

// named is a list of strings whose elements carry one name.
type named struct {
	elem  string
	items []string
}

// MarshalXML implements xml.Marshaler; an empty list with omitempty is
// left out by the caller's tag only when it is nil, so it writes nothing
// for none.
func (n named) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if len(n.items) == 0 {
		return nil
	}
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	for _, it := range n.items {
		if err := e.EncodeElement(it, xml.StartElement{Name: xml.Name{Local: n.elem}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

var templateNameRE = regexp.MustCompile(`^[a-zA-Z0-9().\-/_]{3,128}$`)

// validate checks what a version says against what exists: its image,
// its key pair, its security groups and subnets, and the resource types
// of its tag specifications.
func (s *Service) validateTemplateData(ctx context.Context, d *LaunchTemplateData) error {
	if d.ImageId != "" {
		if _, err := s.Image(d.ImageId); err != nil {
			return err
		}
	}
	if d.InstanceType != "" {
		if _, ok := instancetype.Lookup(d.InstanceType); !ok {
			return invalidValue("The instance type '%s' does not exist.", d.InstanceType)
		}
	}
	for _, sp := range d.TagSpecifications {
		switch sp.ResourceType {
		case "instance", "volume", "network-interface":
		default:
			return invalidValue("'%s' is not a valid taggable resource type for this operation.", sp.ResourceType)
		}
		if err := checkTags(sp.Tags); err != nil {
			return err
		}
	}
	switch d.InstanceInitiatedShutdownBehavior {
	case "", "stop", "terminate":
	default:
		return invalidValue("Value (%s) for parameter instanceInitiatedShutdownBehavior is invalid.", d.InstanceInitiatedShutdownBehavior)
	}
	if len(d.NetworkInterfaces) > 0 && (len(d.SecurityGroupIds) > 0 || len(d.SecurityGroups) > 0) {
		return invalidValue("Network interfaces and an instance-level security groups may not be specified on the same request")
	}
	return nil
}

func templateNotFoundByName(name string) error {
	return api.Errorf("InvalidLaunchTemplateName.NotFoundException", "The specified launch template, with template name %s, does not exist.", name)
}

func templateNotFoundByID(id string) error {
	return api.Errorf("InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID %s, does not exist.", id)
}

// template loads a launch template by id or by name.
func (s *Service) template(ctx context.Context, id, name string) (store.Item[templateRecord], error) {
	switch {
	case id != "" && name != "":
		return store.Item[templateRecord]{}, invalidValue("Only one of LaunchTemplateId and LaunchTemplateName may be specified.")
	case id == "" && name == "":
		return store.Item[templateRecord]{}, missing("LaunchTemplateId or LaunchTemplateName")
	case name != "":
		ref, err := store.Get[string](ctx, s.store, s.keys.templateName(name))
		if errors.Is(err, store.ErrNotFound) {
			return store.Item[templateRecord]{}, templateNotFoundByName(name)
		}
		if err != nil {
			return store.Item[templateRecord]{}, err
		}
		id = ref.Value
	}
	return get[templateRecord](ctx, s, "launch-template", id, templateNotFoundByID(id))
}

// versionNumber resolves "$Latest", "$Default" or a number ("" is
// $Default) against t.
func versionNumber(t templateRecord, v string) (int64, error) {
	switch v {
	case "", "$Default":
		return t.Default, nil
	case "$Latest":
		return t.Latest, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, api.Errorf("InvalidLaunchTemplateId.VersionNotFound", "Could not find launch template version %s for the launch template %s.", v, t.ID)
	}
	return n, nil
}

// ResolveLaunchTemplate returns what a version of a template says, for
// RunInstances and Auto Scaling groups.
func (s *Service) ResolveLaunchTemplate(ctx context.Context, id, name, version string) (LaunchTemplateData, error) {
	t, err := s.template(ctx, id, name)
	if err != nil {
		return LaunchTemplateData{}, err
	}
	n, err := versionNumber(t.Value, version)
	if err != nil {
		return LaunchTemplateData{}, err
	}
	v, err := store.Get[templateVersionRecord](ctx, s.store, s.keys.templateVersion(t.Value.ID, n))
	if errors.Is(err, store.ErrNotFound) {
		return LaunchTemplateData{}, api.Errorf("InvalidLaunchTemplateId.VersionNotFound", "Could not find launch template version %s for the launch template %s.", version, t.Value.ID)
	}
	return v.Value.Data, err
}

// LaunchTemplate is EC2's LaunchTemplate shape.
type LaunchTemplate struct {
	LaunchTemplateID     string         `xml:"launchTemplateId"`
	LaunchTemplateName   string         `xml:"launchTemplateName"`
	CreateTime           string         `xml:"createTime"`
	CreatedBy            string         `xml:"createdBy"`
	DefaultVersionNumber int64          `xml:"defaultVersionNumber"`
	LatestVersionNumber  int64          `xml:"latestVersionNumber"`
	Tags                 api.Items[Tag] `xml:"tagSet,omitempty"`
}

func launchTemplate(r templateRecord) LaunchTemplate {
	return LaunchTemplate{LaunchTemplateID: r.ID, LaunchTemplateName: r.Name, CreateTime: r.Created.Format(ec2Time), CreatedBy: r.CreatedBy,
		DefaultVersionNumber: r.Default, LatestVersionNumber: r.Latest, Tags: r.Tags}
}

// ec2Time is how EC2 writes timestamps.
const ec2Time = "2006-01-02T15:04:05.000Z"

type CreateLaunchTemplateInput struct {
	DryRun             bool
	ClientToken        string
	LaunchTemplateName string
	VersionDescription string
	LaunchTemplateData LaunchTemplateData
	TagSpecifications  []TagSpecification `query:"TagSpecification"`
}

type CreateLaunchTemplateOutput struct {
	LaunchTemplate LaunchTemplate `xml:"launchTemplate"`
}

// CreateLaunchTemplate creates a template with its version 1, the default.
func (s *Service) CreateLaunchTemplate(ctx context.Context, in *CreateLaunchTemplateInput) (*CreateLaunchTemplateOutput, error) {
	if err := s.authorize(ctx, "CreateLaunchTemplate", s.arn("launch-template", "*"), in.DryRun); err != nil {
		return nil, err
	}
	if in.LaunchTemplateName == "" {
		return nil, missing("LaunchTemplateName")
	}
	if !templateNameRE.MatchString(in.LaunchTemplateName) {
		return nil, invalidValue("Launch template name must be between 3 and 128 characters, and may contain only letters, numbers and the characters ( ) . - / _")
	}
	if err := s.validateTemplateData(ctx, &in.LaunchTemplateData); err != nil {
		return nil, err
	}
	tags, err := specTags(in.TagSpecifications, "launch-template")
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	by := api.PrincipalFrom(ctx).ARN
	t := templateRecord{ID: newID("lt"), Name: in.LaunchTemplateName, Default: 1, Latest: 1, Created: now, CreatedBy: by, Tags: tags}
	v := templateVersionRecord{Number: 1, Description: in.VersionDescription, Data: in.LaunchTemplateData, Created: now, CreatedBy: by}
	txn := store.NewTxn().IfAbsent(s.keys.templateName(t.Name)).Put(s.keys.templateName(t.Name), t.ID).
		Put(s.keys.res("launch-template", t.ID), t).Put(s.keys.templateVersion(t.ID, 1), v)
	if err := s.store.Commit(ctx, txn); errors.Is(err, store.ErrConflict) {
		return nil, api.Errorf("InvalidLaunchTemplateName.AlreadyExistsException", "Launch template name already in use.")
	} else if err != nil {
		return nil, err
	}
	return &CreateLaunchTemplateOutput{LaunchTemplate: launchTemplate(t)}, nil
}

type CreateLaunchTemplateVersionInput struct {
	DryRun             bool
	ClientToken        string
	LaunchTemplateId   string
	LaunchTemplateName string
	SourceVersion      string
	VersionDescription string
	LaunchTemplateData LaunchTemplateData
	ResolveAlias       bool
}

// LaunchTemplateVersion is EC2's LaunchTemplateVersion shape.
type LaunchTemplateVersion struct {
	LaunchTemplateID   string             `xml:"launchTemplateId"`
	LaunchTemplateName string             `xml:"launchTemplateName"`
	VersionNumber      int64              `xml:"versionNumber"`
	VersionDescription string             `xml:"versionDescription,omitempty"`
	CreateTime         string             `xml:"createTime"`
	CreatedBy          string             `xml:"createdBy"`
	DefaultVersion     bool               `xml:"defaultVersion"`
	LaunchTemplateData LaunchTemplateData `xml:"launchTemplateData"`
}

type CreateLaunchTemplateVersionOutput struct {
	LaunchTemplateVersion LaunchTemplateVersion `xml:"launchTemplateVersion"`
}

// CreateLaunchTemplateVersion adds a version: the data given, over the
// source version's when SourceVersion is set (as EC2 merges them).
func (s *Service) CreateLaunchTemplateVersion(ctx context.Context, in *CreateLaunchTemplateVersionInput) (*CreateLaunchTemplateVersionOutput, error) {
	if err := s.authorize(ctx, "CreateLaunchTemplateVersion", s.arn("launch-template", cmpOr(in.LaunchTemplateId, in.LaunchTemplateName)), in.DryRun); err != nil {
		return nil, err
	}
	var out *CreateLaunchTemplateVersionOutput
	err := retry(ctx, func() error {
		t, err := s.template(ctx, in.LaunchTemplateId, in.LaunchTemplateName)
		if err != nil {
			return err
		}
		data := in.LaunchTemplateData
		if in.SourceVersion != "" {
			src, err := s.ResolveLaunchTemplate(ctx, t.Value.ID, "", in.SourceVersion)
			if err != nil {
				return err
			}
			data = mergeTemplateData(src, data)
		}
		if err := s.validateTemplateData(ctx, &data); err != nil {
			return err
		}
		t.Value.Latest++
		v := templateVersionRecord{Number: t.Value.Latest, Description: in.VersionDescription, Data: data, Created: s.now().UTC(), CreatedBy: api.PrincipalFrom(ctx).ARN}
		txn := store.NewTxn().IfRev(t.Key, t.Rev).Put(t.Key, t.Value).Put(s.keys.templateVersion(t.Value.ID, v.Number), v)
		if err := s.store.Commit(ctx, txn); err != nil {
			return err
		}
		out = &CreateLaunchTemplateVersionOutput{LaunchTemplateVersion: templateVersion(t.Value, v)}
		return nil
	})
	return out, err
}

// mergeTemplateData is src with every member set in over replacing its own.
func mergeTemplateData(src, over LaunchTemplateData) LaunchTemplateData {
	out := src
	if over.ImageId != "" {
		out.ImageId = over.ImageId
	}
	if over.InstanceType != "" {
		out.InstanceType = over.InstanceType
	}
	if over.KeyName != "" {
		out.KeyName = over.KeyName
	}
	if over.UserData != "" {
		out.UserData = over.UserData
	}
	if over.IamInstanceProfile != nil {
		out.IamInstanceProfile = over.IamInstanceProfile
	}
	if over.SecurityGroupIds != nil {
		out.SecurityGroupIds = over.SecurityGroupIds
	}
	if over.SecurityGroups != nil {
		out.SecurityGroups = over.SecurityGroups
	}
	if over.NetworkInterfaces != nil {
		out.NetworkInterfaces = over.NetworkInterfaces
	}
	if over.Placement != nil {
		out.Placement = over.Placement
	}
	if over.TagSpecifications != nil {
		out.TagSpecifications = over.TagSpecifications
	}
	if over.Monitoring != nil {
		out.Monitoring = over.Monitoring
	}
	if over.InstanceInitiatedShutdownBehavior != "" {
		out.InstanceInitiatedShutdownBehavior = over.InstanceInitiatedShutdownBehavior
	}
	if over.DisableApiTermination != nil {
		out.DisableApiTermination = over.DisableApiTermination
	}
	return out
}

func templateVersion(t templateRecord, v templateVersionRecord) LaunchTemplateVersion {
	return LaunchTemplateVersion{LaunchTemplateID: t.ID, LaunchTemplateName: t.Name, VersionNumber: v.Number, VersionDescription: v.Description,
		CreateTime: v.Created.Format(ec2Time), CreatedBy: v.CreatedBy, DefaultVersion: v.Number == t.Default, LaunchTemplateData: v.Data}
}

type ModifyLaunchTemplateInput struct {
	DryRun             bool
	ClientToken        string
	LaunchTemplateId   string
	LaunchTemplateName string
	DefaultVersion     string `query:"SetDefaultVersion"`
}

type ModifyLaunchTemplateOutput struct {
	LaunchTemplate LaunchTemplate `xml:"launchTemplate"`
}

// ModifyLaunchTemplate sets the default version.
func (s *Service) ModifyLaunchTemplate(ctx context.Context, in *ModifyLaunchTemplateInput) (*ModifyLaunchTemplateOutput, error) {
	if err := s.authorize(ctx, "ModifyLaunchTemplate", s.arn("launch-template", cmpOr(in.LaunchTemplateId, in.LaunchTemplateName)), in.DryRun); err != nil {
		return nil, err
	}
	var out *ModifyLaunchTemplateOutput
	err := retry(ctx, func() error {
		t, err := s.template(ctx, in.LaunchTemplateId, in.LaunchTemplateName)
		if err != nil {
			return err
		}
		if in.DefaultVersion != "" {
			n, err := versionNumber(t.Value, in.DefaultVersion)
			if err != nil {
				return err
			}
			if n > t.Value.Latest {
				return api.Errorf("InvalidLaunchTemplateId.VersionNotFound", "Could not find launch template version %s for the launch template %s.", in.DefaultVersion, t.Value.ID)
			}
			t.Value.Default = n
		}
		if err := s.store.Commit(ctx, store.NewTxn().IfRev(t.Key, t.Rev).Put(t.Key, t.Value)); err != nil {
			return err
		}
		out = &ModifyLaunchTemplateOutput{LaunchTemplate: launchTemplate(t.Value)}
		return nil
	})
	return out, err
}

type DeleteLaunchTemplateInput struct {
	DryRun             bool
	LaunchTemplateId   string
	LaunchTemplateName string
}

type DeleteLaunchTemplateOutput struct {
	LaunchTemplate LaunchTemplate `xml:"launchTemplate"`
}

// DeleteLaunchTemplate deletes a template and all its versions.
func (s *Service) DeleteLaunchTemplate(ctx context.Context, in *DeleteLaunchTemplateInput) (*DeleteLaunchTemplateOutput, error) {
	if err := s.authorize(ctx, "DeleteLaunchTemplate", s.arn("launch-template", cmpOr(in.LaunchTemplateId, in.LaunchTemplateName)), in.DryRun); err != nil {
		return nil, err
	}
	t, err := s.template(ctx, in.LaunchTemplateId, in.LaunchTemplateName)
	if err != nil {
		return nil, err
	}
	versions, err := s.store.Keys(ctx, s.keys.templateVersions(t.Value.ID))
	if err != nil {
		return nil, err
	}
	// The record and its name go first, in one transaction, so the
	// template is gone as soon as the call answers; its versions follow in
	// transactions of at most MaxTxnOps.
	if err := s.store.Commit(ctx, store.NewTxn().IfRev(t.Key, t.Rev).Delete(t.Key).Delete(s.keys.templateName(t.Value.Name))); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, templateNotFoundByID(t.Value.ID)
		}
		return nil, err
	}
	for chunk := range slices.Chunk(versions, s.store.MaxTxnOps()) {
		txn := store.NewTxn()
		for _, k := range chunk {
			txn.Delete(k)
		}
		if err := s.store.Commit(ctx, txn); err != nil {
			return nil, err
		}
	}
	return &DeleteLaunchTemplateOutput{LaunchTemplate: launchTemplate(t.Value)}, nil
}

type DescribeLaunchTemplatesInput struct {
	DryRun              bool
	LaunchTemplateIds   []string `query:"LaunchTemplateId"`
	LaunchTemplateNames []string `query:"LaunchTemplateName"`
	Filters             []Filter `query:"Filter"`
	MaxResults          *int
	NextToken           *string
}

type DescribeLaunchTemplatesOutput struct {
	LaunchTemplates api.Items[LaunchTemplate] `xml:"launchTemplates"`
	NextToken       *string                   `xml:"nextToken,omitempty"`
}

// DescribeLaunchTemplates lists templates by id, name and filters.
func (s *Service) DescribeLaunchTemplates(ctx context.Context, in *DescribeLaunchTemplatesInput) (*DescribeLaunchTemplatesOutput, error) {
	if err := s.authorize(ctx, "DescribeLaunchTemplates", "*", in.DryRun); err != nil {
		return nil, err
	}
	ids := slices.Clone(in.LaunchTemplateIds)
	for _, name := range in.LaunchTemplateNames {
		t, err := s.template(ctx, "", name)
		if err != nil {
			return nil, err
		}
		ids = append(ids, t.Value.ID)
	}
	items, err := describe[templateRecord](ctx, s, "launch-template", ids, templateNotFoundByID)
	if err != nil {
		return nil, err
	}
	var out []LaunchTemplate
	for _, r := range items {
		keep, err := matchFilters(in.Filters, withTags(func(name string) ([]string, bool) {
			switch name {
			case "launch-template-name":
				return []string{r.Name}, true
			case "create-time":
				return []string{r.Created.Format(ec2Time)}, true
			}
			return nil, false
		}, r.Tags))
		if err != nil {
			return nil, err
		}
		if keep {
			out = append(out, launchTemplate(r))
		}
	}
	page, next, err := paginate(out, func(t LaunchTemplate) string { return t.LaunchTemplateID }, in.NextToken, in.MaxResults, 1, 200)
	if err != nil {
		return nil, err
	}
	return &DescribeLaunchTemplatesOutput{LaunchTemplates: api.Items[LaunchTemplate](page), NextToken: next}, nil
}

type DescribeLaunchTemplateVersionsInput struct {
	DryRun             bool
	LaunchTemplateId   string
	LaunchTemplateName string
	Versions           []string `query:"LaunchTemplateVersion"`
	MinVersion         string
	MaxVersion         string
	Filters            []Filter `query:"Filter"`
	MaxResults         *int
	NextToken          *string
	ResolveAlias       bool
}

type DescribeLaunchTemplateVersionsOutput struct {
	LaunchTemplateVersions api.Items[LaunchTemplateVersion] `xml:"launchTemplateVersionSet"`
	NextToken              *string                          `xml:"nextToken,omitempty"`
}

// DescribeLaunchTemplateVersions lists a template's versions: those named
// ($Latest and $Default allowed), or all within Min/MaxVersion.
func (s *Service) DescribeLaunchTemplateVersions(ctx context.Context, in *DescribeLaunchTemplateVersionsInput) (*DescribeLaunchTemplateVersionsOutput, error) {
	if err := s.authorize(ctx, "DescribeLaunchTemplateVersions", "*", in.DryRun); err != nil {
		return nil, err
	}
	t, err := s.template(ctx, in.LaunchTemplateId, in.LaunchTemplateName)
	if err != nil {
		return nil, err
	}
	all, err := store.List[templateVersionRecord](ctx, s.store, s.keys.templateVersions(t.Value.ID))
	if err != nil {
		return nil, err
	}
	want := map[int64]bool{}
	for _, v := range in.Versions {
		n, err := versionNumber(t.Value, v)
		if err != nil {
			return nil, err
		}
		want[n] = true
	}
	lo, hi := int64(1), t.Value.Latest
	if in.MinVersion != "" {
		if lo, err = versionNumber(t.Value, in.MinVersion); err != nil {
			return nil, err
		}
	}
	if in.MaxVersion != "" {
		if hi, err = versionNumber(t.Value, in.MaxVersion); err != nil {
			return nil, err
		}
	}
	var out []LaunchTemplateVersion
	for _, it := range all {
		v := it.Value
		if (len(want) > 0 && !want[v.Number]) || v.Number < lo || v.Number > hi {
			continue
		}
		shape := templateVersion(t.Value, v)
		keep, err := matchFilters(in.Filters, func(name string) ([]string, bool) {
			switch name {
			case "image-id":
				return []string{v.Data.ImageId}, true
			case "instance-type":
				return []string{v.Data.InstanceType}, true
			case "is-default-version":
				return []string{strconv.FormatBool(shape.DefaultVersion)}, true
			case "iam-instance-profile":
				if p := v.Data.IamInstanceProfile; p != nil {
					return []string{p.Arn, p.Name}, true
				}
				return nil, true
			case "key-name":
				return []string{v.Data.KeyName}, true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if keep {
			out = append(out, shape)
		}
	}
	for n := range want {
		if !slices.ContainsFunc(out, func(v LaunchTemplateVersion) bool { return v.VersionNumber == n }) && len(in.Filters) == 0 {
			return nil, api.Errorf("InvalidLaunchTemplateId.VersionNotFound", "Could not find launch template version %d for the launch template %s.", n, t.Value.ID)
		}
	}
	page, next, err := paginate(out, func(v LaunchTemplateVersion) string { return fmt.Sprintf("%012d", v.VersionNumber) }, in.NextToken, in.MaxResults, 1, 200)
	if err != nil {
		return nil, err
	}
	return &DescribeLaunchTemplateVersionsOutput{LaunchTemplateVersions: api.Items[LaunchTemplateVersion](page), NextToken: next}, nil
}

// LaunchTemplateRef returns the id and name of the launch template named
// by id or by name, or EC2's not-found error.
func (s *Service) LaunchTemplateRef(ctx context.Context, id, name string) (string, string, error) {
	t, err := s.template(ctx, id, name)
	if err != nil {
		return "", "", err
	}
	return t.Value.ID, t.Value.Name, nil
}
