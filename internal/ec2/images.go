package ec2

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/api"
)

// Image is one of the machine images instances start from. Berth's
// instances run its own agent whatever the image, so the catalogue holds
// what ECS users launch from: the ECS-optimized Amazon Linux images, under
// AWS's names.
type Image struct {
	ID           string
	Name         string
	Description  string
	Architecture string // x86_64 or arm64
	OS           string // "Amazon Linux 2023", "Amazon Linux 2"
	// Family is the SSM path segment it is published under:
	// amazon-linux-2023, amazon-linux-2, amazon-linux-2023/arm64, ...
	Family       string
	Version      string
	AgentVersion string
	Runtime      string
	Created      string
}

// imageRelease is the release the catalogue describes.
const (
	imageRelease = "20241120"
	agentVersion = "1.89.1"
)

// Images lists the region's ECS-optimized images, each with an id stable
// for the region (as an AMI id is).
func (s *Service) Images() []Image {
	type spec struct{ family, os, prefix, arch, minimal, dockerVer string }
	specs := []spec{
		{"amazon-linux-2023", "Amazon Linux 2023", "al2023-ami-ecs-hvm-2023.0." + imageRelease + "-kernel-6.1", "x86_64", "al2023-ami-minimal", "25.0.6"},
		{"amazon-linux-2023/arm64", "Amazon Linux 2023", "al2023-ami-ecs-hvm-2023.0." + imageRelease + "-kernel-6.1", "arm64", "al2023-ami-minimal", "25.0.6"},
		{"amazon-linux-2", "Amazon Linux 2", "amzn2-ami-ecs-hvm-2.0." + imageRelease, "x86_64", "amzn2-ami-minimal-hvm", "25.0.6"},
		{"amazon-linux-2/arm64", "Amazon Linux 2", "amzn2-ami-ecs-hvm-2.0." + imageRelease, "arm64", "amzn2-ami-minimal-hvm", "25.0.6"},
	}
	out := make([]Image, len(specs))
	for i, sp := range specs {
		name := sp.prefix + "-" + sp.arch
		if sp.family == "amazon-linux-2" || sp.family == "amazon-linux-2/arm64" {
			name = sp.prefix + "-" + sp.arch + "-ebs"
		}
		sum := sha256.Sum256([]byte(s.cfg.Region + "/" + name))
		out[i] = Image{ID: "ami-" + hex.EncodeToString(sum[:])[:17], Name: name, Architecture: sp.arch, OS: sp.os, Family: sp.family,
			Description: fmt.Sprintf("%s ECS-optimized AMI, ECS agent %s, Docker %s", sp.os, agentVersion, sp.dockerVer),
			Version:     versionOf(sp.family), AgentVersion: agentVersion, Runtime: "Docker version " + sp.dockerVer, Created: "2024-11-20T00:00:00.000Z"}
	}
	return out
}

func versionOf(family string) string {
	if family == "amazon-linux-2" || family == "amazon-linux-2/arm64" {
		return "2.0." + imageRelease
	}
	return "2023.0." + imageRelease
}

// Image returns the image with id, or InvalidAMIID.NotFound.
func (s *Service) Image(id string) (Image, error) {
	for _, img := range s.Images() {
		if img.ID == id {
			return img, nil
		}
	}
	return Image{}, api.Errorf("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", id)
}

type DescribeImagesInput struct {
	DryRun            bool
	ExecutableUsers   []string `query:"ExecutableBy"`
	Filters           []Filter `query:"Filter"`
	ImageIds          []string `query:"ImageId"`
	Owners            []string `query:"Owner"`
	IncludeDeprecated bool
	MaxResults        *int
	NextToken         *string
}

// ImageShape is EC2's Image shape.
type ImageShape struct {
	Architecture       string         `xml:"architecture"`
	CreationDate       string         `xml:"creationDate"`
	ImageID            string         `xml:"imageId"`
	ImageLocation      string         `xml:"imageLocation"`
	ImageType          string         `xml:"imageType"`
	Public             bool           `xml:"isPublic"`
	OwnerID            string         `xml:"imageOwnerId"`
	PlatformDetails    string         `xml:"platformDetails"`
	UsageOperation     string         `xml:"usageOperation"`
	State              string         `xml:"imageState"`
	BlockDevices       api.Items[any] `xml:"blockDeviceMapping"`
	Description        string         `xml:"description"`
	EnaSupport         bool           `xml:"enaSupport"`
	Hypervisor         string         `xml:"hypervisor"`
	ImageOwnerAlias    string         `xml:"imageOwnerAlias"`
	Name               string         `xml:"name"`
	RootDeviceName     string         `xml:"rootDeviceName"`
	RootDeviceType     string         `xml:"rootDeviceType"`
	VirtualizationType string         `xml:"virtualizationType"`
	BootMode           string         `xml:"bootMode"`
}

type DescribeImagesOutput struct {
	Images    api.Items[ImageShape] `xml:"imagesSet"`
	NextToken *string               `xml:"nextToken,omitempty"`
}

// amazonOwner is the account id AWS's own images are owned by.
const amazonOwner = "591542846629"

// DescribeImages lists the images by id, owner and filters.
func (s *Service) DescribeImages(ctx context.Context, in *DescribeImagesInput) (*DescribeImagesOutput, error) {
	if err := s.authorize(ctx, "DescribeImages", "*", in.DryRun); err != nil {
		return nil, err
	}
	for _, id := range in.ImageIds {
		if _, err := s.Image(id); err != nil {
			return nil, err
		}
	}
	var images []ImageShape
	for _, img := range s.Images() {
		if len(in.ImageIds) > 0 && !slices.Contains(in.ImageIds, img.ID) {
			continue
		}
		if len(in.Owners) > 0 && !slices.Contains(in.Owners, "amazon") && !slices.Contains(in.Owners, amazonOwner) {
			continue
		}
		v := ImageShape{Architecture: img.Architecture, CreationDate: img.Created, ImageID: img.ID, ImageLocation: "amazon/" + img.Name,
			ImageType: "machine", Public: true, OwnerID: amazonOwner, PlatformDetails: "Linux/UNIX", UsageOperation: "RunInstances",
			State: "available", BlockDevices: api.Items[any]{}, Description: img.Description, EnaSupport: true, Hypervisor: "xen",
			ImageOwnerAlias: "amazon", Name: img.Name, RootDeviceName: "/dev/xvda", RootDeviceType: "ebs", VirtualizationType: "hvm", BootMode: "uefi-preferred"}
		keep, err := matchFilters(in.Filters, func(name string) ([]string, bool) {
			switch name {
			case "image-id":
				return []string{v.ImageID}, true
			case "name":
				return []string{v.Name}, true
			case "architecture":
				return []string{v.Architecture}, true
			case "owner-alias":
				return []string{v.ImageOwnerAlias}, true
			case "owner-id":
				return []string{v.OwnerID}, true
			case "state":
				return []string{v.State}, true
			case "image-type":
				return []string{v.ImageType}, true
			case "is-public":
				return []string{strconv.FormatBool(v.Public)}, true
			case "root-device-type":
				return []string{v.RootDeviceType}, true
			case "virtualization-type":
				return []string{v.VirtualizationType}, true
			case "platform-details":
				return []string{v.PlatformDetails}, true
			case "description":
				return []string{v.Description}, true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if keep {
			images = append(images, v)
		}
	}
	slices.SortFunc(images, func(a, b ImageShape) int { return strings.Compare(a.ImageID, b.ImageID) })
	page, next, err := paginate(images, func(v ImageShape) string { return v.ImageID }, in.NextToken, in.MaxResults, 5, 1000)
	if err != nil {
		return nil, err
	}
	return &DescribeImagesOutput{Images: api.Items[ImageShape](page), NextToken: next}, nil
}
