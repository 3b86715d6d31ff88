package ecr

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/distribution/distribution/v3"
	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/api"
)

// Layer failure codes (LayerFailureCode in the ECR model).
const (
	FailureInvalidLayerDigest = "InvalidLayerDigest"
	FailureMissingLayerDigest = "MissingLayerDigest"
)

// Layer is the ECR Layer shape.
type Layer struct {
	LayerDigest       string `json:"layerDigest"`
	LayerAvailability string `json:"layerAvailability"`
	LayerSize         int64  `json:"layerSize"`
	MediaType         string `json:"mediaType,omitempty"`
}

// LayerFailure says why one layer of BatchCheckLayerAvailability was not found.
type LayerFailure struct {
	LayerDigest   string `json:"layerDigest"`
	FailureCode   string `json:"failureCode"`
	FailureReason string `json:"failureReason"`
}

type BatchCheckLayerAvailabilityInput struct {
	RegistryId     string   `json:"registryId"`
	RepositoryName string   `json:"repositoryName"`
	LayerDigests   []string `json:"layerDigests"`
}

type BatchCheckLayerAvailabilityOutput struct {
	Layers   []Layer        `json:"layers"`
	Failures []LayerFailure `json:"failures"`
}

// BatchCheckLayerAvailability tells which blobs the repository already
// has, so that a push uploads only the others. A blob counts once it is
// uploaded, by docker or CompleteLayerUpload; blobs the repository does
// not have are failures with MissingLayerDigest.
func (s *Service) BatchCheckLayerAvailability(ctx context.Context, in *BatchCheckLayerAvailabilityInput) (*BatchCheckLayerAvailabilityOutput, error) {
	repo, err := s.openRepository(ctx, in.RegistryId, in.RepositoryName, "BatchCheckLayerAvailability")
	if err != nil {
		return nil, err
	}
	if len(in.LayerDigests) < 1 || len(in.LayerDigests) > 100 {
		return nil, api.InvalidParameter("Invalid parameter at 'layerDigests' failed to satisfy constraint: 'Member must have length between 1 and 100'")
	}
	out := &BatchCheckLayerAvailabilityOutput{Layers: []Layer{}, Failures: []LayerFailure{}}
	for _, raw := range in.LayerDigests {
		d, err := digest.Parse(raw)
		if err != nil {
			out.Failures = append(out.Failures, LayerFailure{LayerDigest: raw, FailureCode: FailureInvalidLayerDigest, FailureReason: "Invalid layer digest"})
			continue
		}
		desc, err := repo.Blobs(ctx).Stat(ctx, d)
		if errors.Is(err, distribution.ErrBlobUnknown) {
			out.Failures = append(out.Failures, LayerFailure{LayerDigest: raw, FailureCode: FailureMissingLayerDigest, FailureReason: "Could not find the requested layer"})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("stat blob %s: %w", d, err)
		}
		out.Layers = append(out.Layers, Layer{LayerDigest: raw, LayerAvailability: "AVAILABLE", LayerSize: desc.Size})
	}
	return out, nil
}

type GetDownloadUrlForLayerInput struct {
	RegistryId     string `json:"registryId"`
	RepositoryName string `json:"repositoryName"`
	LayerDigest    string `json:"layerDigest"`
}

type GetDownloadUrlForLayerOutput struct {
	DownloadUrl string `json:"downloadUrl"`
	LayerDigest string `json:"layerDigest"`
}

// GetDownloadUrlForLayer returns where a layer of an image can be
// downloaded: the registry's own blob URL, presigned so that, like ECR's
// S3 URLs, it needs no credentials for an hour. As in ECR, only layers
// some image of the repository refers to are handed out.
func (s *Service) GetDownloadUrlForLayer(ctx context.Context, in *GetDownloadUrlForLayerInput) (*GetDownloadUrlForLayerOutput, error) {
	repo, err := s.openRepository(ctx, in.RegistryId, in.RepositoryName, "GetDownloadUrlForLayer")
	if err != nil {
		return nil, err
	}
	d, err := digest.Parse(in.LayerDigest)
	if err != nil {
		return nil, api.InvalidParameter("Invalid parameter at 'layerDigest' failed to satisfy constraint: 'invalid digest %q'", in.LayerDigest)
	}
	if _, err := repo.Blobs(ctx).Stat(ctx, d); errors.Is(err, distribution.ErrBlobUnknown) {
		return nil, api.Errorf("LayersNotFoundException", "The layer '%s' does not exist in the repository with name '%s' in registry with id '%s'", d, in.RepositoryName, s.cfg.Account)
	} else if err != nil {
		return nil, fmt.Errorf("stat blob %s: %w", d, err)
	}
	used, err := referenced(ctx, repo, d)
	if err != nil {
		return nil, err
	}
	if !used {
		return nil, api.Errorf("LayerInaccessibleException", "The layer '%s' is not associated with an image in the repository with name '%s'", d, in.RepositoryName)
	}
	return &GetDownloadUrlForLayerOutput{DownloadUrl: s.downloadURL(in.RepositoryName, d, time.Now()), LayerDigest: d.String()}, nil
}

// referenced reports whether some manifest of the repository refers to blob d.
func referenced(ctx context.Context, repo distribution.Repository, d digest.Digest) (bool, error) {
	all, err := manifests(ctx, repo)
	if err != nil {
		return false, err
	}
	ms, err := repo.Manifests(ctx)
	if err != nil {
		return false, err
	}
	for _, md := range all {
		m, err := ms.Get(ctx, md)
		if err != nil {
			return false, fmt.Errorf("read manifest %s: %w", md, err)
		}
		for _, ref := range m.References() {
			if ref.Digest == d {
				return true, nil
			}
		}
	}
	return false, nil
}
