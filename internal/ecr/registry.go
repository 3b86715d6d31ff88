package ecr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/distribution/distribution/v3"
	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/distribution/distribution/v3/registry/storage"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/factory"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	"github.com/sirupsen/logrus"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// startRegistry builds the distribution registry on the configured
// storage. Berth authenticates and authorizes every request itself before
// it reaches the registry.
func (s *Service) startRegistry(ctx context.Context) error {
	logrus.SetOutput(io.Discard) // distribution logs through logrus; Berth logs the requests
	name, params := s.cfg.Storage.driver(s.cfg.DataDir)
	driver, err := factory.Create(ctx, name, params)
	if err != nil {
		return fmt.Errorf("registry storage %s: %w", s.cfg.Storage, err)
	}
	if err := checkStorage(ctx, s.cfg.Storage, driver); err != nil {
		return err
	}
	cfg := &configuration.Configuration{
		Storage: configuration.Storage{
			name:          params,
			"delete":      configuration.Parameters{"enabled": true},
			"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
			// Blobs are served through Berth, which authorizes every
			// read, never by redirecting clients to the bucket.
			"redirect": configuration.Parameters{"disable": true},
		},
	}
	// Layers that name where to fetch them (non-distributable and foreign
	// layers) may point at any http(s) URL, as in ECR.
	cfg.Validation.Manifests.URLs.Allow = []string{`^https?://`}
	// Upload URLs carry state signed with this secret, shared through etcd,
	// so an upload started on one server can go on at another.
	cfg.HTTP.Secret = fmt.Sprintf("%x", s.secret)
	cfg.Log.AccessLog.Disabled = true
	s.registry = handlers.NewApp(ctx, cfg)
	ns, err := storage.NewRegistry(ctx, driver, storage.EnableDelete)
	if err != nil {
		return fmt.Errorf("registry storage: %w", err)
	}
	s.content, s.driver = ns, driver
	return nil
}

// tags lists a repository's tags.
func (s *Service) tags(ctx context.Context, name string) ([]string, error) {
	repo, err := s.contentRepo(ctx, name)
	if err != nil {
		return nil, err
	}
	tags, err := repo.Tags(ctx).All(ctx)
	if errors.As(err, new(distribution.ErrRepositoryUnknown)) {
		return nil, nil // nothing pushed yet
	}
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", name, err)
	}
	sort.Strings(tags)
	return tags, nil
}

func (s *Service) contentRepo(ctx context.Context, name string) (distribution.Repository, error) {
	named, err := reference.WithName(name)
	if err != nil {
		return nil, err
	}
	return s.content.Repository(ctx, named)
}

// removeContent deletes everything a repository holds in storage and etcd
// (manifests and tags, layer links, uploads, referrers, the tag index,
// when the pull through cache fetched its tags),
// so a repository created again under the name starts empty. Blobs other
// repositories may share are left for garbage collection. Only the
// name's own directories go: a repository named "<name>/x" nested under
// it keeps its content.
func (s *Service) removeContent(ctx context.Context, name string) error {
	if _, err := reference.WithName(name); err != nil {
		return err
	}
	if err := storage.NewVacuum(ctx, s.driver).RemoveRepository(name); err != nil {
		return fmt.Errorf("remove content of %s: %w", name, err)
	}
	err := s.driver.Delete(ctx, path.Join(referrersRoot, name, "_subjects"))
	if err != nil && !errors.As(err, new(storagedriver.PathNotFoundError)) {
		return fmt.Errorf("remove referrers of %s: %w", name, err)
	}
	if _, err := s.store.DeletePrefix(ctx, s.cacheCheckedPrefix(name)); err != nil {
		return fmt.Errorf("drop cached tags of %s: %w", name, err)
	}
	return s.dropTagIndex(ctx, name)
}

// ImageIdentifier names an image by digest and tag.
type ImageIdentifier struct {
	ImageDigest string `json:"imageDigest,omitempty"`
	ImageTag    string `json:"imageTag,omitempty"`
}

type ListImagesInput struct {
	RegistryId     string       `json:"registryId"`
	RepositoryName string       `json:"repositoryName"`
	NextToken      *string      `json:"nextToken"`
	MaxResults     *int         `json:"maxResults"`
	Filter         *ImageFilter `json:"filter"`
}

type ListImagesOutput struct {
	ImageIds  []ImageIdentifier `json:"imageIds"`
	NextToken *string           `json:"nextToken,omitempty"`
}

// ListImages lists a repository's images: one identifier per tag, and
// the digest alone for untagged images.
func (s *Service) ListImages(ctx context.Context, in *ListImagesInput) (*ListImagesOutput, error) {
	if _, err := s.loadRepository(ctx, in.RegistryId, in.RepositoryName, "ListImages"); err != nil {
		return nil, err
	}
	status, err := tagStatus(in.Filter)
	if err != nil {
		return nil, err
	}
	byDigest, err := s.repoImages(ctx, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	// Keys are tags, or digests for untagged images: tags cannot contain ':'.
	ids := map[string]ImageIdentifier{}
	for d, tags := range byDigest {
		if !status.matches(tags) {
			continue
		}
		for _, t := range tags {
			ids[t] = ImageIdentifier{ImageDigest: d.String(), ImageTag: t}
		}
		if len(tags) == 0 {
			ids[d.String()] = ImageIdentifier{ImageDigest: d.String()}
		}
	}
	keys := slices.Sorted(maps.Keys(ids))
	page, next, err := api.Paginate(keys, in.NextToken, in.MaxResults, 1000)
	if err != nil {
		return nil, err
	}
	out := &ListImagesOutput{ImageIds: []ImageIdentifier{}, NextToken: next}
	for _, k := range page {
		out.ImageIds = append(out.ImageIds, ids[k])
	}
	return out, nil
}

// checkImmutable refuses to move an existing tag of an IMMUTABLE
// repository to another manifest; re-pushing the same manifest is allowed.
func (s *Service) checkImmutable(ctx context.Context, route registryRoute, repository Repository, manifest []byte) string {
	name := repository.RepositoryName
	if repository.ImageTagMutability != "IMMUTABLE" {
		return ""
	}
	tag := route.reference
	if route.kind != routeManifest || strings.Contains(tag, ":") {
		return "" // pushes by digest never move a tag
	}
	repo, err := s.contentRepo(ctx, name)
	if err != nil {
		return ""
	}
	current, err := repo.Tags(ctx).Get(ctx, tag)
	if err != nil {
		return "" // a new tag
	}
	if digest.FromBytes(manifest) == current.Digest {
		return ""
	}
	return fmt.Sprintf("The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the repository is immutable.", tag, name)
}

type PutImageTagMutabilityInput struct {
	RegistryId         string `json:"registryId"`
	RepositoryName     string `json:"repositoryName"`
	ImageTagMutability string `json:"imageTagMutability"`
}

type PutImageTagMutabilityOutput struct {
	RegistryId         string `json:"registryId"`
	RepositoryName     string `json:"repositoryName"`
	ImageTagMutability string `json:"imageTagMutability"`
}

// PutImageTagMutability switches a repository between MUTABLE and IMMUTABLE tags.
func (s *Service) PutImageTagMutability(ctx context.Context, in *PutImageTagMutabilityInput) (*PutImageTagMutabilityOutput, error) {
	if err := s.checkRegistry(in.RegistryId); err != nil {
		return nil, err
	}
	if in.ImageTagMutability != "MUTABLE" && in.ImageTagMutability != "IMMUTABLE" {
		return nil, api.InvalidParameter("Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: [MUTABLE, IMMUTABLE]'")
	}
	it, err := s.loadRepository(ctx, in.RegistryId, in.RepositoryName, "PutImageTagMutability")
	if err != nil {
		return nil, err
	}
	if _, err := store.Update(ctx, s.store, it.Key, func(r *repoRecord) error {
		r.Repository.ImageTagMutability = in.ImageTagMutability
		return nil
	}); err != nil {
		return nil, err
	}
	return &PutImageTagMutabilityOutput{RegistryId: s.cfg.Account, RepositoryName: in.RepositoryName, ImageTagMutability: in.ImageTagMutability}, nil
}
