package ecr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/distribution/distribution/v3"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/internal/api"
)

// maxManifest is the ImageManifest length limit of the ECR model.
const maxManifest = 4 << 20

type PutImageInput struct {
	RegistryId             string `json:"registryId"`
	RepositoryName         string `json:"repositoryName"`
	ImageManifest          string `json:"imageManifest"`
	ImageManifestMediaType string `json:"imageManifestMediaType"`
	ImageTag               string `json:"imageTag"`
	ImageDigest            string `json:"imageDigest"`
}

type PutImageOutput struct {
	Image Image `json:"image"`
}

// manifestHead is what PutImage reads from a manifest before handing it
// to the registry's storage: its type and what it refers to.
type manifestHead struct {
	SchemaVersion int             `json:"schemaVersion"`
	MediaType     string          `json:"mediaType"`
	Config        *v1.Descriptor  `json:"config"`
	Layers        []v1.Descriptor `json:"layers"`
	Manifests     []v1.Descriptor `json:"manifests"`
}

// PutImage stores a manifest (and tags it) in the same storage docker push
// writes to, so an image is the same whichever way it arrived. Every blob
// an image manifest names must have been uploaded, and every manifest an
// index names must already be in the repository.
func (s *Service) PutImage(ctx context.Context, in *PutImageInput) (*PutImageOutput, error) {
	it, err := s.loadRepository(ctx, in.RegistryId, in.RepositoryName, "PutImage")
	if err != nil {
		return nil, err
	}
	repo, err := s.contentRepo(ctx, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	m, mediaType, err := parseManifest(in)
	if err != nil {
		return nil, err
	}
	body := []byte(in.ImageManifest)
	d := digest.FromBytes(body)
	if in.ImageDigest != "" && in.ImageDigest != d.String() {
		return nil, api.Errorf("ImageDigestDoesNotMatchException", "Provided image digest '%s' does not match the digest '%s' of the manifest", in.ImageDigest, d)
	}
	if err := s.checkReferences(ctx, repo, in.RepositoryName, m, mediaType); err != nil {
		return nil, err
	}
	ms, err := repo.Manifests(ctx)
	if err != nil {
		return nil, err
	}
	exists, err := ms.Exists(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("stat manifest %s: %w", d, err)
	}
	var current digest.Digest
	if in.ImageTag != "" {
		desc, err := repo.Tags(ctx).Get(ctx, in.ImageTag)
		if err != nil && !errors.As(err, new(distribution.ErrTagUnknown)) {
			return nil, fmt.Errorf("read tag %s: %w", in.ImageTag, err)
		}
		current = desc.Digest
	}
	switch {
	case exists && (in.ImageTag == "" || current == d):
		tagPart := ""
		if in.ImageTag != "" {
			tagPart = fmt.Sprintf(" and tag '%s'", in.ImageTag)
		}
		return nil, api.Errorf("ImageAlreadyExistsException", "Image with digest '%s'%s already exists in the repository with name '%s' in registry with id '%s'",
			d, tagPart, in.RepositoryName, s.cfg.Account)
	case current != "" && current != d && it.Value.Repository.ImageTagMutability == "IMMUTABLE":
		return nil, api.Errorf("ImageTagAlreadyExistsException", "The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the repository is immutable.",
			in.ImageTag, in.RepositoryName)
	}
	if !exists {
		stored, err := ms.Put(ctx, m)
		var verr distribution.ErrManifestVerification
		if errors.As(err, &verr) {
			return nil, api.Errorf("LayersNotFoundException", "The manifest refers to blobs that do not exist: %v", verr)
		}
		if err != nil {
			return nil, fmt.Errorf("store manifest: %w", err)
		}
		if stored != d {
			return nil, fmt.Errorf("manifest stored as %s, computed %s", stored, d)
		}
	}
	if in.ImageTag != "" {
		if err := repo.Tags(ctx).Tag(ctx, in.ImageTag, v1.Descriptor{Digest: d, MediaType: mediaType, Size: int64(len(body))}); err != nil {
			return nil, fmt.Errorf("tag %s: %w", in.ImageTag, err)
		}
		if err := s.indexTags(ctx, in.RepositoryName, in.ImageTag); err != nil {
			return nil, err
		}
	}
	return &PutImageOutput{Image: Image{RegistryId: s.cfg.Account, RepositoryName: in.RepositoryName,
		ImageId:       ImageIdentifier{ImageDigest: d.String(), ImageTag: in.ImageTag},
		ImageManifest: in.ImageManifest, ImageManifestMediaType: mediaType}}, nil
}

// parseManifest validates PutImage's input and decodes the manifest with
// the media type it declares (or the one the caller gave).
func parseManifest(in *PutImageInput) (distribution.Manifest, string, error) {
	if len(in.ImageManifest) == 0 || len(in.ImageManifest) > maxManifest {
		return nil, "", api.InvalidParameter("Invalid parameter at 'imageManifest' failed to satisfy constraint: 'Member must have length between 1 and %d'", maxManifest)
	}
	if in.ImageTag != "" && !imageTagRE.MatchString(in.ImageTag) {
		return nil, "", api.InvalidParameter("Invalid parameter at 'imageTag' failed to satisfy constraint: 'must be 1-300 characters of letters, digits, '_', '.' and '-', not starting with '.' or '-''")
	}
	if in.ImageDigest != "" {
		if d, err := digest.Parse(in.ImageDigest); err != nil || d.Algorithm() != digest.SHA256 {
			return nil, "", api.InvalidParameter("Invalid parameter at 'imageDigest' failed to satisfy constraint: 'must be a sha256 digest'")
		}
	}
	var head manifestHead
	if err := json.Unmarshal([]byte(in.ImageManifest), &head); err != nil {
		return nil, "", api.InvalidParameter("Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'")
	}
	mediaType := in.ImageManifestMediaType
	if head.MediaType != "" && mediaType != "" && head.MediaType != mediaType {
		return nil, "", api.InvalidParameter("Invalid parameter at 'ImageManifestMediaType' failed to satisfy constraint: 'does not match the mediaType '%s' of the manifest'", head.MediaType)
	}
	if mediaType == "" {
		mediaType = head.MediaType
	}
	switch {
	case head.SchemaVersion != 2:
		return nil, "", api.InvalidParameter("Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'schemaVersion must be 2 (schema 1 manifests are not supported)'")
	case mediaType == "" && head.Manifests != nil:
		mediaType = v1.MediaTypeImageIndex
	case mediaType == "":
		mediaType = v1.MediaTypeImageManifest
	}
	if !slices.Contains(distribution.ManifestMediaTypes(), mediaType) {
		return nil, "", api.InvalidParameter("Invalid parameter at 'ImageManifestMediaType' failed to satisfy constraint: 'unsupported media type %s'", mediaType)
	}
	m, _, err := distribution.UnmarshalManifest(mediaType, []byte(in.ImageManifest))
	if err != nil {
		return nil, "", api.InvalidParameter("Invalid parameter at 'ImageManifest' failed to satisfy constraint: '%s'", err)
	}
	if !isIndex(mediaType) && head.Config == nil {
		return nil, "", api.InvalidParameter("Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'an image manifest needs a config'")
	}
	for _, ref := range m.References() {
		if err := ref.Digest.Validate(); err != nil {
			return nil, "", api.InvalidParameter("Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'invalid digest %q'", ref.Digest)
		}
	}
	return m, mediaType, nil
}

// checkReferences makes sure what a manifest refers to is in the
// repository: blobs for an image manifest (foreign layers, which carry
// their own URLs, excepted), manifests for an index.
func (s *Service) checkReferences(ctx context.Context, repo distribution.Repository, name string, m distribution.Manifest, mediaType string) error {
	var missing []string
	if isIndex(mediaType) {
		ms, err := repo.Manifests(ctx)
		if err != nil {
			return err
		}
		for _, ref := range m.References() {
			if ok, err := ms.Exists(ctx, ref.Digest); err != nil {
				return fmt.Errorf("stat manifest %s: %w", ref.Digest, err)
			} else if !ok {
				missing = append(missing, ref.Digest.String())
			}
		}
		if len(missing) > 0 {
			return api.Errorf("ReferencedImagesNotFoundException", "Manifests with digests '[%s]' referenced by the index do not exist in the repository with name '%s' in registry with id '%s'",
				strings.Join(missing, ", "), name, s.cfg.Account)
		}
		return nil
	}
	for _, ref := range m.References() {
		if len(ref.URLs) > 0 {
			continue
		}
		if _, err := repo.Blobs(ctx).Stat(ctx, ref.Digest); errors.Is(err, distribution.ErrBlobUnknown) {
			missing = append(missing, ref.Digest.String())
		} else if err != nil {
			return fmt.Errorf("stat blob %s: %w", ref.Digest, err)
		}
	}
	if len(missing) > 0 {
		return api.Errorf("LayersNotFoundException", "Layers with digests '[%s]' required for pushing image into repository with name '%s' in the registry with id '%s' do not exist",
			strings.Join(missing, ", "), name, s.cfg.Account)
	}
	return nil
}
