package ecr

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

type PutLifecyclePolicyInput struct {
	RegistryId          string `json:"registryId"`
	RepositoryName      string `json:"repositoryName"`
	LifecyclePolicyText string `json:"lifecyclePolicyText"`
}

type LifecyclePolicyInput struct {
	RegistryId     string `json:"registryId"`
	RepositoryName string `json:"repositoryName"`
}

type LifecyclePolicyOutput struct {
	RegistryId          string         `json:"registryId"`
	RepositoryName      string         `json:"repositoryName"`
	LifecyclePolicyText string         `json:"lifecyclePolicyText"`
	LastEvaluatedAt     *api.Timestamp `json:"lastEvaluatedAt,omitempty"`
}

// PutLifecyclePolicy validates and stores a repository's lifecycle
// policy; the periodic sweep applies it.
func (s *Service) PutLifecyclePolicy(ctx context.Context, in *PutLifecyclePolicyInput) (*LifecyclePolicyOutput, error) {
	it, err := s.loadRepository(ctx, in.RegistryId, in.RepositoryName, "PutLifecyclePolicy")
	if err != nil {
		return nil, err
	}
	if _, err := parseLifecyclePolicy(in.LifecyclePolicyText); err != nil {
		return nil, err
	}
	if _, err := store.Update(ctx, s.store, it.Key, func(r *repoRecord) error {
		r.LifecyclePolicy = in.LifecyclePolicyText
		return nil
	}); err != nil {
		return nil, err
	}
	return &LifecyclePolicyOutput{RegistryId: s.cfg.Account, RepositoryName: in.RepositoryName, LifecyclePolicyText: in.LifecyclePolicyText}, nil
}

// GetLifecyclePolicy returns a repository's lifecycle policy and when it was last applied.
func (s *Service) GetLifecyclePolicy(ctx context.Context, in *LifecyclePolicyInput) (*LifecyclePolicyOutput, error) {
	it, err := s.loadRepository(ctx, in.RegistryId, in.RepositoryName, "GetLifecyclePolicy")
	if err != nil {
		return nil, err
	}
	if it.Value.LifecyclePolicy == "" {
		return nil, s.noLifecyclePolicy(in.RepositoryName)
	}
	return &LifecyclePolicyOutput{RegistryId: s.cfg.Account, RepositoryName: in.RepositoryName,
		LifecyclePolicyText: it.Value.LifecyclePolicy, LastEvaluatedAt: it.Value.LifecycleEvaluatedAt}, nil
}

// DeleteLifecyclePolicy removes a repository's lifecycle policy and returns it.
func (s *Service) DeleteLifecyclePolicy(ctx context.Context, in *LifecyclePolicyInput) (*LifecyclePolicyOutput, error) {
	it, err := s.loadRepository(ctx, in.RegistryId, in.RepositoryName, "DeleteLifecyclePolicy")
	if err != nil {
		return nil, err
	}
	out := &LifecyclePolicyOutput{RegistryId: s.cfg.Account, RepositoryName: in.RepositoryName}
	if _, err := store.Update(ctx, s.store, it.Key, func(r *repoRecord) error {
		if r.LifecyclePolicy == "" {
			return s.noLifecyclePolicy(in.RepositoryName)
		}
		out.LifecyclePolicyText, out.LastEvaluatedAt = r.LifecyclePolicy, r.LifecycleEvaluatedAt
		r.LifecyclePolicy, r.LifecycleEvaluatedAt = "", nil
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) noLifecyclePolicy(name string) error {
	return api.Errorf("LifecyclePolicyNotFoundException", "Lifecycle policy does not exist for the repository with name '%s' in the registry with id '%s'", name, s.cfg.Account)
}

// RunLifecycle applies every repository's lifecycle policy at once and
// then every interval, until ctx ends.
func (s *Service) RunLifecycle(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if err := s.sweepLifecycle(ctx, time.Now()); err != nil && ctx.Err() == nil {
			s.log.Warn("apply lifecycle policies", "err", err)
		}
		if err := s.sweepTagIndexes(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("rebuild tag indexes", "err", err)
		}
		if n, err := s.sweepUploads(ctx, time.Now()); err != nil && ctx.Err() == nil {
			s.log.Warn("remove abandoned uploads", "err", err)
		} else if n > 0 {
			s.log.Info("removed abandoned uploads", "count", n, "olderThan", UploadMaxAge)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// sweepLifecycle applies the lifecycle policy of every repository that has one.
func (s *Service) sweepLifecycle(ctx context.Context, now time.Time) error {
	items, err := store.List[repoRecord](ctx, s.store, s.prefix+"repo/")
	if err != nil {
		return err
	}
	var errs []error
	for _, it := range items {
		if it.Value.LifecyclePolicy == "" {
			continue
		}
		name := it.Value.Repository.RepositoryName
		if _, err := s.applyLifecycle(ctx, name, it.Value.LifecyclePolicy, now); err != nil {
			errs = append(errs, fmt.Errorf("repository %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// applyLifecycle expires the images a policy selects and records when it ran.
func (s *Service) applyLifecycle(ctx context.Context, name, text string, now time.Time) ([]expiry, error) {
	p, err := parseLifecyclePolicy(text)
	if err != nil {
		return nil, err
	}
	images, err := s.lifecycleImages(ctx, name)
	if err != nil {
		return nil, err
	}
	repo, err := s.contentRepo(ctx, name)
	if err != nil {
		return nil, err
	}
	expired := p.evaluate(images, now)
	var done []expiry
	for _, e := range expired {
		// Skip an image whose tags changed since it was evaluated.
		tags, err := repo.Tags(ctx).Lookup(ctx, v1.Descriptor{Digest: e.Image.Digest})
		if err != nil {
			return done, err
		}
		if slices.Sort(tags); !slices.Equal(tags, e.Image.Tags) {
			continue
		}
		if err := s.removeImage(ctx, repo, e.Image.Digest, tags, true); err != nil {
			return done, err
		}
		s.log.Info("lifecycle policy expired an image", "repository", name, "digest", e.Image.Digest, "tags", tags, "rulePriority", e.Rule)
		done = append(done, e)
	}
	_, err = store.Update(ctx, s.store, s.repoKey(name), func(r *repoRecord) error {
		r.LifecycleEvaluatedAt = api.At(now)
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		err = nil // deleted meanwhile
	}
	return done, err
}

// lifecycleImages lists the images lifecycle rules consider: every image
// of the repository except those an index refers to, which go with it.
func (s *Service) lifecycleImages(ctx context.Context, name string) ([]lifecycleImage, error) {
	byDigest, err := s.repoImages(ctx, name)
	if err != nil {
		return nil, err
	}
	repo, err := s.contentRepo(ctx, name)
	if err != nil {
		return nil, err
	}
	ms, err := repo.Manifests(ctx)
	if err != nil {
		return nil, err
	}
	children := map[digest.Digest]bool{}
	for d := range byDigest {
		m, err := ms.Get(ctx, d)
		if err != nil {
			continue // a tag left pointing at a deleted manifest
		}
		if mt, _, _ := m.Payload(); isIndex(mt) {
			for _, ref := range m.References() {
				children[ref.Digest] = true
			}
		}
	}
	var out []lifecycleImage
	for d, tags := range byDigest {
		if children[d] {
			continue
		}
		slices.Sort(tags)
		out = append(out, lifecycleImage{Digest: d, Tags: tags, PushedAt: s.pushedAt(ctx, d)})
	}
	return out, nil
}
