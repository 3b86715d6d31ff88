package autoscaling

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/instancetype"
	"github.com/berth-dev/berth/internal/store"
)

// launchConfigRecord is a launch configuration as stored: what a group's
// instances launch with when the group names no launch template.
type launchConfigRecord struct {
	Name           string    `json:"name"`
	ARN            string    `json:"arn"`
	ImageID        string    `json:"imageId"`
	InstanceType   string    `json:"instanceType"`
	KeyName        string    `json:"keyName,omitempty"`
	SecurityGroups []string  `json:"securityGroups,omitempty"`
	UserData       string    `json:"userData,omitempty"`
	Profile        string    `json:"profile,omitempty"`
	Monitoring     bool      `json:"monitoring"`
	Created        time.Time `json:"created"`
}

type CreateLaunchConfigurationInput struct {
	LaunchConfigurationName string
	ImageId                 string
	InstanceType            string
	KeyName                 string
	SecurityGroups          []string
	UserData                string
	IamInstanceProfile      string
	InstanceMonitoring      *struct{ Enabled bool }
	// AssociatePublicIpAddress and EbsOptimized are accepted and recorded
	// nowhere: Berth's instances have no public addresses or EBS.
	AssociatePublicIpAddress *bool
	EbsOptimized             *bool
}

// CreateLaunchConfiguration stores a launch configuration. Its image,
// type, key pair and security groups are checked against EC2 when a
// group launches from it, as AWS does.
func (s *Service) CreateLaunchConfiguration(ctx context.Context, in *CreateLaunchConfigurationInput) (*struct{}, error) {
	if err := checkName("LaunchConfigurationName", in.LaunchConfigurationName); err != nil {
		return nil, err
	}
	rec := launchConfigRecord{Name: in.LaunchConfigurationName, ARN: s.arn("launchConfiguration", "launchConfigurationName/"+in.LaunchConfigurationName),
		ImageID: in.ImageId, InstanceType: in.InstanceType, KeyName: in.KeyName, SecurityGroups: in.SecurityGroups,
		UserData: in.UserData, Profile: in.IamInstanceProfile, Monitoring: in.InstanceMonitoring == nil || in.InstanceMonitoring.Enabled,
		Created: s.now().UTC().Truncate(time.Millisecond)}
	if err := s.authorize(ctx, "CreateLaunchConfiguration", rec.ARN); err != nil {
		return nil, err
	}
	if rec.ImageID == "" || rec.InstanceType == "" {
		return nil, validation("Valid requests must contain either the InstanceID parameter or both the ImageId and InstanceType parameters.")
	}
	if _, ok := instancetype.Lookup(rec.InstanceType); !ok {
		return nil, validation("Invalid instance type: %s. Berth offers: %s.", rec.InstanceType, strings.Join(instancetype.Names(), ", "))
	}
	if _, err := s.ec2.Image(rec.ImageID); err != nil {
		return nil, validation("The image id '[%s]' does not exist", rec.ImageID)
	}
	if len(rec.UserData) > 21847 {
		return nil, check.Fail("userData", api.List, "Member must have length less than or equal to 21847")
	}
	err := s.store.Commit(ctx, store.NewTxn().IfAbsent(s.keys.config(rec.Name)).Put(s.keys.config(rec.Name), rec))
	if errors.Is(err, store.ErrConflict) {
		return nil, api.Errorf(codeAlreadyExists, "Launch Configuration by this name already exists - A launch configuration already exists with the name %s", rec.Name)
	}
	return nil, err
}

type DescribeLaunchConfigurationsInput struct {
	LaunchConfigurationNames []string
	NextToken                string
	MaxRecords               int
}

// LaunchConfiguration is Auto Scaling's LaunchConfiguration shape.
type LaunchConfiguration struct {
	LaunchConfigurationName      string
	LaunchConfigurationARN       string
	ImageId                      string
	InstanceType                 string
	KeyName                      string `xml:",omitempty"`
	SecurityGroups               api.Members[string]
	UserData                     string `xml:",omitempty"`
	IamInstanceProfile           string `xml:",omitempty"`
	InstanceMonitoring           struct{ Enabled bool }
	BlockDeviceMappings          api.Members[struct{}]
	KernelId                     string
	RamdiskId                    string
	CreatedTime                  time.Time
	EbsOptimized                 bool
	ClassicLinkVPCSecurityGroups api.Members[string]
}

type DescribeLaunchConfigurationsOutput struct {
	LaunchConfigurations api.Members[LaunchConfiguration]
	NextToken            string `xml:",omitempty"`
}

// DescribeLaunchConfigurations lists launch configurations by name; names
// that match none are left out, as AWS does.
func (s *Service) DescribeLaunchConfigurations(ctx context.Context, in *DescribeLaunchConfigurationsInput) (*DescribeLaunchConfigurationsOutput, error) {
	if err := s.authorize(ctx, "DescribeLaunchConfigurations", "*"); err != nil {
		return nil, err
	}
	items, err := store.List[launchConfigRecord](ctx, s.store, s.keys.configs())
	if err != nil {
		return nil, err
	}
	var recs []launchConfigRecord
	for _, it := range items {
		if len(in.LaunchConfigurationNames) == 0 || slices.Contains(in.LaunchConfigurationNames, it.Value.Name) {
			recs = append(recs, it.Value)
		}
	}
	recs, next, err := page(recs, func(r launchConfigRecord) string { return r.Name }, in.NextToken, in.MaxRecords)
	if err != nil {
		return nil, err
	}
	out := &DescribeLaunchConfigurationsOutput{LaunchConfigurations: api.Members[LaunchConfiguration]{}, NextToken: next}
	for _, r := range recs {
		lc := LaunchConfiguration{LaunchConfigurationName: r.Name, LaunchConfigurationARN: r.ARN, ImageId: r.ImageID,
			InstanceType: r.InstanceType, KeyName: r.KeyName, SecurityGroups: api.Members[string](orEmpty(r.SecurityGroups)),
			UserData: r.UserData, IamInstanceProfile: r.Profile, CreatedTime: r.Created,
			BlockDeviceMappings: api.Members[struct{}]{}, ClassicLinkVPCSecurityGroups: api.Members[string]{}}
		lc.InstanceMonitoring.Enabled = r.Monitoring
		out.LaunchConfigurations = append(out.LaunchConfigurations, lc)
	}
	return out, nil
}

type DeleteLaunchConfigurationInput struct {
	LaunchConfigurationName string
}

// DeleteLaunchConfiguration deletes a launch configuration no group uses.
func (s *Service) DeleteLaunchConfiguration(ctx context.Context, in *DeleteLaunchConfigurationInput) (*struct{}, error) {
	if err := checkName("LaunchConfigurationName", in.LaunchConfigurationName); err != nil {
		return nil, err
	}
	lc, err := s.launchConfig(ctx, in.LaunchConfigurationName)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "DeleteLaunchConfiguration", lc.Value.ARN); err != nil {
		return nil, err
	}
	err = store.Retry(ctx, func() error {
		groups, err := store.List[groupRecord](ctx, s.store, s.keys.groups())
		if err != nil {
			return err
		}
		txn := store.NewTxn()
		for _, g := range groups {
			if g.Value.LaunchConfiguration == lc.Value.Name {
				return api.Errorf(codeResourceInUse, "Cannot delete launch configuration %s because it is attached to AutoScalingGroup %s", lc.Value.Name, g.Value.Name)
			}
			txn.IfRev(g.Key, g.Rev)
		}
		return s.store.Commit(ctx, txn.IfRev(lc.Key, lc.Rev).Delete(lc.Key))
	})
	return nil, err
}

func (s *Service) launchConfig(ctx context.Context, name string) (store.Item[launchConfigRecord], error) {
	it, err := store.Get[launchConfigRecord](ctx, s.store, s.keys.config(name))
	if errors.Is(err, store.ErrNotFound) {
		return it, validation("Launch configuration name not found - Launch configuration %s not found", name)
	}
	return it, err
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
