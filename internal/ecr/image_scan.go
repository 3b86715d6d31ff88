package ecr

import (
	"context"

	"github.com/berth-dev/berth/internal/api"
)

// Berth has no image scanner: an image can be looked up for a scan, but a
// scan is refused by name and never exists, so its findings are never
// found.

// findImage is the preamble of the operations on one image: it checks the
// registry and repository name, authorizes action on the repository and
// resolves id, answering RepositoryNotFoundException before
// ImageNotFoundException, as ECR does.
func (s *Service) findImage(ctx context.Context, registryID, name string, id *ImageIdentifier, action string) (ImageIdentifier, error) {
	if err := s.checkRegistry(registryID); err != nil {
		return ImageIdentifier{}, err
	}
	if err := validName(name); err != nil {
		return ImageIdentifier{}, err
	}
	if id == nil {
		return ImageIdentifier{}, api.InvalidParameter("imageId is required.")
	}
	repo, err := s.openRepository(ctx, registryID, name, action)
	if err != nil {
		return ImageIdentifier{}, err
	}
	d, failure, err := resolve(ctx, repo, *id)
	if err != nil {
		return ImageIdentifier{}, err
	}
	if failure != nil {
		switch failure.FailureCode {
		case FailureImageNotFound, FailureImageTagDoesNotMatchDigest:
			return ImageIdentifier{}, api.Errorf("ImageNotFoundException", "The image with imageId {imageDigest:'%s', imageTag:'%s'} does not exist within the repository with name '%s' in the registry with id '%s'",
				id.ImageDigest, id.ImageTag, name, s.cfg.Account)
		}
		return ImageIdentifier{}, api.InvalidParameter("Invalid parameter at 'imageId': %s", failure.FailureReason)
	}
	return ImageIdentifier{ImageDigest: d.String(), ImageTag: id.ImageTag}, nil
}

type ImageScanInput struct {
	RegistryId     string           `json:"registryId"`
	RepositoryName string           `json:"repositoryName"`
	ImageId        *ImageIdentifier `json:"imageId"`
	NextToken      *string          `json:"nextToken"`
	MaxResults     *int             `json:"maxResults"`
}

// StartImageScanOutput is ECR's StartImageScanResponse; Berth never
// returns one, but the operation keeps its shape.
type StartImageScanOutput struct {
	RegistryId     string          `json:"registryId"`
	RepositoryName string          `json:"repositoryName"`
	ImageId        ImageIdentifier `json:"imageId"`
}

// StartImageScan refuses to scan an existing image: Berth has no image
// scanner. A missing repository or image is reported as ECR reports it.
func (s *Service) StartImageScan(ctx context.Context, in *ImageScanInput) (*StartImageScanOutput, error) {
	id, err := s.findImage(ctx, in.RegistryId, in.RepositoryName, in.ImageId, "StartImageScan")
	if err != nil {
		return nil, err
	}
	return nil, api.Errorf("UnsupportedImageTypeException", "The image %s in the repository with name '%s' cannot be scanned: Berth has no image scanner.", id.ImageDigest, in.RepositoryName)
}

// DescribeImageScanFindingsOutput is ECR's DescribeImageScanFindingsResponse;
// Berth never returns one (no scan exists).
type DescribeImageScanFindingsOutput struct {
	RegistryId     string          `json:"registryId"`
	RepositoryName string          `json:"repositoryName"`
	ImageId        ImageIdentifier `json:"imageId"`
}

// DescribeImageScanFindings answers ScanNotFoundException for an existing
// image: no scan is ever run.
func (s *Service) DescribeImageScanFindings(ctx context.Context, in *ImageScanInput) (*DescribeImageScanFindingsOutput, error) {
	if in.MaxResults != nil && (*in.MaxResults < 1 || *in.MaxResults > 1000) {
		return nil, api.InvalidParameter("Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value between 1 and 1000'")
	}
	id, err := s.findImage(ctx, in.RegistryId, in.RepositoryName, in.ImageId, "DescribeImageScanFindings")
	if err != nil {
		return nil, err
	}
	return nil, api.Errorf("ScanNotFoundException", "Image scan does not exist for the image with '{imageDigest:'%s', imageTag:'%s'}' in the repository with name '%s' in the registry with id '%s' (Berth has no image scanner)",
		id.ImageDigest, in.ImageId.ImageTag, in.RepositoryName, s.cfg.Account)
}

type DescribeImageReplicationStatusInput struct {
	RegistryId     string           `json:"registryId"`
	RepositoryName string           `json:"repositoryName"`
	ImageId        *ImageIdentifier `json:"imageId"`
}

// ImageReplicationStatus is one destination's replication state.
type ImageReplicationStatus struct {
	Region      string `json:"region"`
	RegistryId  string `json:"registryId"`
	Status      string `json:"status"`
	FailureCode string `json:"failureCode,omitempty"`
}

type DescribeImageReplicationStatusOutput struct {
	RepositoryName      string                   `json:"repositoryName"`
	ImageId             ImageIdentifier          `json:"imageId"`
	ReplicationStatuses []ImageReplicationStatus `json:"replicationStatuses"`
}

// DescribeImageReplicationStatus reports an existing image's replication:
// none, since a single-region, single-account registry has nowhere to
// replicate to.
func (s *Service) DescribeImageReplicationStatus(ctx context.Context, in *DescribeImageReplicationStatusInput) (*DescribeImageReplicationStatusOutput, error) {
	id, err := s.findImage(ctx, in.RegistryId, in.RepositoryName, in.ImageId, "DescribeImageReplicationStatus")
	if err != nil {
		return nil, err
	}
	return &DescribeImageReplicationStatusOutput{RepositoryName: in.RepositoryName, ImageId: id, ReplicationStatuses: []ImageReplicationStatus{}}, nil
}
