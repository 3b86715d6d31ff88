package ecr

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/api"
)

// ImageDetail is the ECR ImageDetail shape.
type ImageDetail struct {
	RegistryId             string         `json:"registryId"`
	RepositoryName         string         `json:"repositoryName"`
	ImageDigest            string         `json:"imageDigest"`
	ImageTags              []string       `json:"imageTags,omitempty"`
	ImageSizeInBytes       int64          `json:"imageSizeInBytes"`
	ImagePushedAt          *api.Timestamp `json:"imagePushedAt,omitempty"`
	ImageManifestMediaType string         `json:"imageManifestMediaType,omitempty"`
	ArtifactMediaType      string         `json:"artifactMediaType,omitempty"`
}

type DescribeImagesInput struct {
	RegistryId     string            `json:"registryId"`
	RepositoryName string            `json:"repositoryName"`
	ImageIds       []ImageIdentifier `json:"imageIds"`
	NextToken      *string           `json:"nextToken"`
	MaxResults     *int              `json:"maxResults"`
	Filter         *ImageFilter      `json:"filter"`
}

type DescribeImagesOutput struct {
	ImageDetails []ImageDetail `json:"imageDetails"`
	NextToken    *string       `json:"nextToken,omitempty"`
}

// manifestSummary is what DescribeImages reads from a manifest.
type manifestSummary struct {
	MediaType string `json:"mediaType"`
	Config    struct {
		MediaType string `json:"mediaType"`
		Size      int64  `json:"size"`
	} `json:"config"`
	Layers []struct {
		Size int64 `json:"size"`
	} `json:"layers"`
	Manifests []struct {
		Size int64 `json:"size"`
	} `json:"manifests"`
}

// DescribeImages describes a repository's images (or the named ones,
// or those the filter selects): digest, tags, size (the sum of the compressed layers, as ECR
// reports it), push time and manifest media type.
func (s *Service) DescribeImages(ctx context.Context, in *DescribeImagesInput) (*DescribeImagesOutput, error) {
	if _, err := s.loadRepository(ctx, in.RegistryId, in.RepositoryName, "DescribeImages"); err != nil {
		return nil, err
	}
	status, err := tagStatus(in.Filter)
	if err != nil {
		return nil, err
	}
	if len(in.ImageIds) > 0 {
		if in.NextToken != nil || in.MaxResults != nil {
			return nil, api.InvalidParameter("maxResults and nextToken cannot be used with imageIds.")
		}
		return s.describeByID(ctx, in.RepositoryName, in.ImageIds)
	}
	byDigest, err := s.repoImages(ctx, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(byDigest))
	for d, tags := range byDigest {
		if status.matches(tags) {
			keys = append(keys, d.String())
		}
	}
	sort.Strings(keys)
	page, next, err := api.Paginate(keys, in.NextToken, in.MaxResults, 1000)
	if err != nil {
		return nil, err
	}
	var want []digest.Digest
	for _, k := range page {
		want = append(want, digest.Digest(k))
	}
	out, err := s.details(ctx, in.RepositoryName, want, byDigest)
	if err != nil {
		return nil, err
	}
	out.NextToken = next
	return out, nil
}

// describeByID describes the named images from the tag index and their
// manifests, without listing the repository.
func (s *Service) describeByID(ctx context.Context, name string, ids []ImageIdentifier) (*DescribeImagesOutput, error) {
	tags, err := s.tagDigests(ctx, name)
	if err != nil {
		return nil, err
	}
	byDigest := map[digest.Digest][]string{}
	for _, t := range slices.Sorted(maps.Keys(tags)) {
		byDigest[tags[t]] = append(byDigest[tags[t]], t)
	}
	repo, err := s.contentRepo(ctx, name)
	if err != nil {
		return nil, err
	}
	ms, err := repo.Manifests(ctx)
	if err != nil {
		return nil, err
	}
	var want []digest.Digest
	for _, id := range ids {
		d, ok := tags[id.ImageTag]
		if id.ImageDigest != "" {
			parsed, err := digest.Parse(id.ImageDigest)
			ok = err == nil
			if ok {
				d = parsed
				ok, err = ms.Exists(ctx, d)
				if err != nil {
					return nil, fmt.Errorf("stat manifest %s: %w", d, err)
				}
			}
		}
		if !ok {
			return nil, api.Errorf("ImageNotFoundException", "The image with imageId {imageDigest:'%s', imageTag:'%s'} does not exist within the repository with name '%s' in the registry with id '%s'",
				id.ImageDigest, id.ImageTag, name, s.cfg.Account)
		}
		want = append(want, d)
	}
	return s.details(ctx, name, want, byDigest)
}

func (s *Service) details(ctx context.Context, name string, digests []digest.Digest, byDigest map[digest.Digest][]string) (*DescribeImagesOutput, error) {
	repo, err := s.contentRepo(ctx, name)
	if err != nil {
		return nil, err
	}
	ms, err := repo.Manifests(ctx)
	if err != nil {
		return nil, err
	}
	out := &DescribeImagesOutput{ImageDetails: []ImageDetail{}}
	for _, d := range digests {
		m, err := ms.Get(ctx, d)
		if err != nil {
			return nil, fmt.Errorf("read manifest %s: %w", d, err)
		}
		mediaType, payload, err := m.Payload()
		if err != nil {
			return nil, err
		}
		var sum manifestSummary
		json.Unmarshal(payload, &sum)
		detail := ImageDetail{RegistryId: s.cfg.Account, RepositoryName: name, ImageDigest: d.String(),
			ImageTags: byDigest[d], ImageManifestMediaType: mediaType}
		for _, l := range sum.Layers {
			detail.ImageSizeInBytes += l.Size
		}
		for _, sub := range sum.Manifests {
			detail.ImageSizeInBytes += sub.Size
		}
		if sum.Config.MediaType != "" && sum.Config.MediaType != "application/vnd.docker.container.image.v1+json" &&
			sum.Config.MediaType != "application/vnd.oci.image.config.v1+json" {
			detail.ArtifactMediaType = sum.Config.MediaType
		}
		detail.ImagePushedAt = api.At(s.pushedAt(ctx, d))
		out.ImageDetails = append(out.ImageDetails, detail)
	}
	return out, nil
}

// pushedAt is when manifest d was first pushed: when its blob was
// written. It is zero when unknown.
func (s *Service) pushedAt(ctx context.Context, d digest.Digest) time.Time {
	fi, err := s.driver.Stat(ctx, blobDataPath(d))
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// blobDataPath is where the filesystem driver keeps a blob.
func blobDataPath(d digest.Digest) string {
	return fmt.Sprintf("/docker/registry/v2/blobs/%s/%s/%s/data", d.Algorithm(), d.Encoded()[:2], d.Encoded())
}

// ImageFilter selects images by whether they are tagged (the
// ListImagesFilter and DescribeImagesFilter shapes).
type ImageFilter struct {
	TagStatus string `json:"tagStatus"`
}

// tagStatusFilter is a validated ImageFilter.
type tagStatusFilter string

// tagStatus validates a filter; no filter means ANY.
func tagStatus(f *ImageFilter) (tagStatusFilter, error) {
	if f == nil || f.TagStatus == "" {
		return "ANY", nil
	}
	switch f.TagStatus {
	case "TAGGED", "UNTAGGED", "ANY":
		return tagStatusFilter(f.TagStatus), nil
	}
	return "", api.InvalidParameter("Invalid parameter at 'tagStatus' failed to satisfy constraint: 'Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]'")
}

func (f tagStatusFilter) matches(tags []string) bool {
	return f == "ANY" || (f == "TAGGED") == (len(tags) > 0)
}

// repoImages maps every image (manifest) of a repository, tagged or not,
// to its tags.
func (s *Service) repoImages(ctx context.Context, name string) (map[digest.Digest][]string, error) {
	repo, err := s.contentRepo(ctx, name)
	if err != nil {
		return nil, err
	}
	all, err := manifests(ctx, repo)
	if err != nil {
		return nil, err
	}
	byDigest := make(map[digest.Digest][]string, len(all))
	for _, d := range all {
		byDigest[d] = nil
	}
	tags, err := s.tagDigests(ctx, name)
	if err != nil {
		return nil, err
	}
	for _, t := range slices.Sorted(maps.Keys(tags)) {
		byDigest[tags[t]] = append(byDigest[tags[t]], t)
	}
	return byDigest, nil
}
