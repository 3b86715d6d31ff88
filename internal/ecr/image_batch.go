package ecr

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/distribution/distribution/v3"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/internal/api"
)

// Image failure codes (ImageFailureCode in the ECR model).
const (
	FailureInvalidImageDigest            = "InvalidImageDigest"
	FailureInvalidImageTag               = "InvalidImageTag"
	FailureImageTagDoesNotMatchDigest    = "ImageTagDoesNotMatchDigest"
	FailureImageNotFound                 = "ImageNotFound"
	FailureMissingDigestAndTag           = "MissingDigestAndTag"
	FailureImageReferencedByManifestList = "ImageReferencedByManifestList"
)

// imageTagRE is what a tag may look like: Docker's tag grammar with ECR's
// length limit. It also keeps a tag a single, safe storage path element.
var imageTagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,299}$`)

// Image is the ECR Image shape: a manifest and the identifier it was found by.
type Image struct {
	RegistryId             string          `json:"registryId"`
	RepositoryName         string          `json:"repositoryName"`
	ImageId                ImageIdentifier `json:"imageId"`
	ImageManifest          string          `json:"imageManifest"`
	ImageManifestMediaType string          `json:"imageManifestMediaType,omitempty"`
}

// ImageFailure says why one image of a batch call was not processed.
type ImageFailure struct {
	ImageId       ImageIdentifier `json:"imageId"`
	FailureCode   string          `json:"failureCode"`
	FailureReason string          `json:"failureReason"`
}

// checkImageIds enforces the ImageIdentifierList bounds.
func checkImageIds(ids []ImageIdentifier) error {
	if len(ids) < 1 || len(ids) > 100 {
		return api.InvalidParameter("Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must have length between 1 and 100'")
	}
	return nil
}

// resolve finds the manifest an image identifier names. A non-nil failure
// says why the image cannot be used; err is reserved for storage faults.
func resolve(ctx context.Context, repo distribution.Repository, id ImageIdentifier) (digest.Digest, *ImageFailure, error) {
	fail := func(code, reason string) (digest.Digest, *ImageFailure, error) {
		return "", &ImageFailure{ImageId: id, FailureCode: code, FailureReason: reason}, nil
	}
	if id.ImageDigest == "" && id.ImageTag == "" {
		return fail(FailureMissingDigestAndTag, "Invalid request parameters: both tag and digest cannot be null")
	}
	var byDigest, byTag digest.Digest
	if id.ImageDigest != "" {
		d, err := digest.Parse(id.ImageDigest)
		if err != nil {
			return fail(FailureInvalidImageDigest, "Invalid image digest")
		}
		byDigest = d
	}
	if id.ImageTag != "" {
		if !imageTagRE.MatchString(id.ImageTag) {
			return fail(FailureInvalidImageTag, "Invalid image tag")
		}
		desc, err := repo.Tags(ctx).Get(ctx, id.ImageTag)
		if errors.As(err, new(distribution.ErrTagUnknown)) {
			return fail(FailureImageNotFound, "Requested image not found")
		}
		if err != nil {
			return "", nil, fmt.Errorf("read tag %s: %w", id.ImageTag, err)
		}
		byTag = desc.Digest
	}
	if byTag != "" && byDigest != "" && byTag != byDigest {
		return fail(FailureImageTagDoesNotMatchDigest, "Invalid request parameters: image tag and digest do not match")
	}
	d := either(byDigest, byTag)
	ms, err := repo.Manifests(ctx)
	if err != nil {
		return "", nil, err
	}
	if ok, err := ms.Exists(ctx, d); err != nil {
		return "", nil, fmt.Errorf("stat manifest %s: %w", d, err)
	} else if !ok {
		return fail(FailureImageNotFound, "Requested image not found")
	}
	return d, nil, nil
}

func either(a, b digest.Digest) digest.Digest {
	if a != "" {
		return a
	}
	return b
}

type BatchGetImageInput struct {
	RegistryId         string            `json:"registryId"`
	RepositoryName     string            `json:"repositoryName"`
	ImageIds           []ImageIdentifier `json:"imageIds"`
	AcceptedMediaTypes []string          `json:"acceptedMediaTypes"`
}

type BatchGetImageOutput struct {
	Images   []Image        `json:"images"`
	Failures []ImageFailure `json:"failures"`
}

// BatchGetImage returns the manifests of images named by tag or digest,
// exactly as they were pushed (by docker or by PutImage).
func (s *Service) BatchGetImage(ctx context.Context, in *BatchGetImageInput) (*BatchGetImageOutput, error) {
	repo, err := s.openRepository(ctx, in.RegistryId, in.RepositoryName, "BatchGetImage")
	if err != nil {
		return nil, err
	}
	if err := checkImageIds(in.ImageIds); err != nil {
		return nil, err
	}
	if len(in.AcceptedMediaTypes) > 100 {
		return nil, api.InvalidParameter("Invalid parameter at 'acceptedMediaTypes' failed to satisfy constraint: 'Member must have length less than or equal to 100'")
	}
	ms, err := repo.Manifests(ctx)
	if err != nil {
		return nil, err
	}
	out := &BatchGetImageOutput{Images: []Image{}, Failures: []ImageFailure{}}
	for _, id := range in.ImageIds {
		d, failure, err := resolve(ctx, repo, id)
		if err != nil {
			return nil, err
		}
		if failure != nil {
			out.Failures = append(out.Failures, *failure)
			continue
		}
		m, err := ms.Get(ctx, d)
		if err != nil {
			return nil, fmt.Errorf("read manifest %s: %w", d, err)
		}
		mediaType, payload, err := m.Payload()
		if err != nil {
			return nil, err
		}
		if len(in.AcceptedMediaTypes) > 0 && !slices.Contains(in.AcceptedMediaTypes, mediaType) {
			out.Failures = append(out.Failures, ImageFailure{ImageId: id, FailureCode: FailureImageNotFound,
				FailureReason: fmt.Sprintf("The image's manifest media type '%s' is not one of the accepted media types", mediaType)})
			continue
		}
		out.Images = append(out.Images, Image{RegistryId: s.cfg.Account, RepositoryName: in.RepositoryName,
			ImageId: ImageIdentifier{ImageDigest: d.String(), ImageTag: id.ImageTag}, ImageManifest: string(payload), ImageManifestMediaType: mediaType})
	}
	return out, nil
}

type BatchDeleteImageInput struct {
	RegistryId     string            `json:"registryId"`
	RepositoryName string            `json:"repositoryName"`
	ImageIds       []ImageIdentifier `json:"imageIds"`
}

type BatchDeleteImageOutput struct {
	ImageIds []ImageIdentifier `json:"imageIds"`
	Failures []ImageFailure    `json:"failures"`
}

// BatchDeleteImage deletes images as ECR does: naming a tag removes that
// tag, and the image with it once no tag is left; naming a digest deletes
// the image and all of its tags. An image an index (manifest list) still
// refers to cannot be deleted by digest.
func (s *Service) BatchDeleteImage(ctx context.Context, in *BatchDeleteImageInput) (*BatchDeleteImageOutput, error) {
	repo, err := s.openRepository(ctx, in.RegistryId, in.RepositoryName, "BatchDeleteImage")
	if err != nil {
		return nil, err
	}
	if err := checkImageIds(in.ImageIds); err != nil {
		return nil, err
	}
	out := &BatchDeleteImageOutput{ImageIds: []ImageIdentifier{}, Failures: []ImageFailure{}}
	for _, id := range in.ImageIds {
		d, failure, err := resolve(ctx, repo, id)
		if err != nil {
			return nil, err
		}
		if failure != nil {
			out.Failures = append(out.Failures, *failure)
			continue
		}
		tags, err := s.imageTags(ctx, in.RepositoryName, d)
		if err != nil {
			return nil, err
		}
		untag := tags
		if id.ImageDigest == "" {
			untag = []string{id.ImageTag}
		}
		parents, err := indexesReferencing(ctx, repo, d)
		if err != nil {
			return nil, err
		}
		deleteManifest := len(untag) == len(tags) && len(parents) == 0
		if id.ImageDigest != "" && len(parents) > 0 {
			out.Failures = append(out.Failures, ImageFailure{ImageId: id, FailureCode: FailureImageReferencedByManifestList,
				FailureReason: fmt.Sprintf("Requested image referenced by manifest list: [%s]", parents[0])})
			continue
		}
		if err := s.removeImage(ctx, repo, d, untag, deleteManifest); err != nil {
			return nil, err
		}
		out.ImageIds = append(out.ImageIds, ImageIdentifier{ImageDigest: d.String(), ImageTag: id.ImageTag})
	}
	return out, nil
}

// removeImage untags an image and, when asked, deletes its manifest.
func (s *Service) removeImage(ctx context.Context, repo distribution.Repository, d digest.Digest, untag []string, deleteManifest bool) error {
	for _, t := range untag {
		if err := repo.Tags(ctx).Untag(ctx, t); err != nil {
			return fmt.Errorf("untag %s: %w", t, err)
		}
	}
	if err := s.indexTags(ctx, repo.Named().Name(), untag...); err != nil {
		return err
	}
	if !deleteManifest {
		return nil
	}
	ms, err := repo.Manifests(ctx)
	if err != nil {
		return err
	}
	if err := ms.Delete(ctx, d); err != nil && !errors.Is(err, distribution.ErrBlobUnknown) {
		return fmt.Errorf("delete manifest %s: %w", d, err)
	}
	return nil
}

// manifests lists the digests of every manifest in a repository.
func manifests(ctx context.Context, repo distribution.Repository) ([]digest.Digest, error) {
	ms, err := repo.Manifests(ctx)
	if err != nil {
		return nil, err
	}
	var all []digest.Digest
	err = ms.(distribution.ManifestEnumerator).Enumerate(ctx, func(d digest.Digest) error {
		all = append(all, d)
		return nil
	})
	if errors.As(err, new(storagedriver.PathNotFoundError)) {
		return nil, nil // nothing pushed yet
	}
	if err != nil {
		return nil, fmt.Errorf("list manifests: %w", err)
	}
	slices.Sort(all)
	return all, nil
}

// indexesReferencing lists the image indexes (manifest lists) of the
// repository that refer to manifest d.
func indexesReferencing(ctx context.Context, repo distribution.Repository, d digest.Digest) ([]digest.Digest, error) {
	all, err := manifests(ctx, repo)
	if err != nil {
		return nil, err
	}
	ms, err := repo.Manifests(ctx)
	if err != nil {
		return nil, err
	}
	var parents []digest.Digest
	for _, other := range all {
		if other == d {
			continue
		}
		m, err := ms.Get(ctx, other)
		if err != nil {
			return nil, fmt.Errorf("read manifest %s: %w", other, err)
		}
		if mt, _, _ := m.Payload(); !isIndex(mt) {
			continue
		}
		for _, ref := range m.References() {
			if ref.Digest == d {
				parents = append(parents, other)
				break
			}
		}
	}
	return parents, nil
}

// isIndex reports whether a manifest media type lists other manifests.
func isIndex(mediaType string) bool {
	return mediaType == v1.MediaTypeImageIndex || mediaType == "application/vnd.docker.distribution.manifest.list.v2+json"
}
