package ecr

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/distribution/distribution/v3"
	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/store"
)

// The tag index keeps each tag's digest in etcd, so the ECR API learns a
// repository's tags from one range read rather than by reading every
// tag's link from storage: 10,000 file reads for 10,000 tags, or as many
// GETs with S3 storage.
//
// Storage stays the truth the registry serves; the index follows it.
// Every tag change Berth makes or lets through (/v2 manifest PUT and
// DELETE, PutImage, BatchDeleteImage, lifecycle expiry) is indexed after
// it lands in storage, with the digest storage then holds. A repository
// whose index is not marked built (pushed to before the index existed, or
// caught changing while being rebuilt) is read from storage and its index
// rebuilt; the hourly lifecycle sweep rebuilds every index, which repairs
// one a server left behind by dying between the two writes.
//
// Keys, with repository names (which may hold '/') ended by ':', which
// neither names nor tags contain:
//
//	<prefix>tag/<name>:<tag>           the tag's digest
//	<prefix>tag-built/<name>           the index is complete
//	<prefix>tag-changed/<name>         rewritten by every indexed change

func (s *Service) tagKey(name, tag string) string { return s.tagPrefix(name) + tag }
func (s *Service) tagPrefix(name string) string   { return s.prefix + "tag/" + name + ":" }
func (s *Service) tagBuiltKey(name string) string { return s.prefix + "tag-built/" + name }
func (s *Service) tagChangedKey(name string) string {
	return s.prefix + "tag-changed/" + name
}

// tagDigests maps every tag of a repository to its digest, from the index
// or, when the index is not built, from storage (building it).
func (s *Service) tagDigests(ctx context.Context, name string) (map[string]digest.Digest, error) {
	if _, err := store.Get[bool](ctx, s.store, s.tagBuiltKey(name)); errors.Is(err, store.ErrNotFound) {
		return s.rebuildTagIndex(ctx, name)
	} else if err != nil {
		return nil, err
	}
	return s.indexedTags(ctx, name)
}

// imageTags lists the tags of image d of a repository, sorted.
func (s *Service) imageTags(ctx context.Context, name string, d digest.Digest) ([]string, error) {
	tags, err := s.tagDigests(ctx, name)
	if err != nil {
		return nil, err
	}
	var out []string
	for t, td := range tags {
		if td == d {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out, nil
}

// indexedTags reads the index of a repository as it is.
func (s *Service) indexedTags(ctx context.Context, name string) (map[string]digest.Digest, error) {
	items, err := store.List[digest.Digest](ctx, s.store, s.tagPrefix(name))
	if err != nil {
		return nil, err
	}
	tags := make(map[string]digest.Digest, len(items))
	for _, it := range items {
		tags[strings.TrimPrefix(it.Key, s.tagPrefix(name))] = it.Value
	}
	return tags, nil
}

// storedTags maps every tag of a repository to its digest by reading
// storage: one read per tag.
func (s *Service) storedTags(ctx context.Context, name string) (map[string]digest.Digest, error) {
	repo, err := s.contentRepo(ctx, name)
	if err != nil {
		return nil, err
	}
	names, err := s.tags(ctx, name)
	if err != nil {
		return nil, err
	}
	tags := make(map[string]digest.Digest, len(names))
	for _, t := range names {
		desc, err := repo.Tags(ctx).Get(ctx, t)
		if errors.As(err, new(distribution.ErrTagUnknown)) {
			continue // untagged meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("read tag %s of %s: %w", t, name, err)
		}
		tags[t] = desc.Digest
	}
	return tags, nil
}

// rebuildTagIndex makes the index of a repository what storage holds and
// returns it. The index is marked built only if no indexed change landed
// while storage was read: such a change may have been overwritten with
// what the read saw, so the next reader rebuilds again.
func (s *Service) rebuildTagIndex(ctx context.Context, name string) (map[string]digest.Digest, error) {
	rev, err := s.store.Revision(ctx, s.tagChangedKey(name))
	if err != nil {
		return nil, fmt.Errorf("read tag index of %s: %w", name, err)
	}
	stored, err := s.storedTags(ctx, name)
	if err != nil {
		return nil, err
	}
	indexed, err := s.indexedTags(ctx, name)
	if err != nil {
		return nil, err
	}
	var ops []func(*store.Txn)
	for t, d := range stored {
		if indexed[t] != d {
			ops = append(ops, func(tx *store.Txn) { tx.Put(s.tagKey(name, t), d) })
		}
	}
	for t := range indexed {
		if _, ok := stored[t]; !ok {
			ops = append(ops, func(tx *store.Txn) { tx.Delete(s.tagKey(name, t)) })
		}
	}
	if err := s.store.CommitChunked(ctx, ops, nil); err != nil {
		return nil, fmt.Errorf("write tag index of %s: %w", name, err)
	}
	err = s.store.Commit(ctx, store.NewTxn().IfRev(s.tagChangedKey(name), rev).Put(s.tagBuiltKey(name), true))
	if errors.Is(err, store.ErrConflict) {
		err = s.store.Commit(ctx, store.NewTxn().Delete(s.tagBuiltKey(name)))
	}
	if err != nil {
		return nil, fmt.Errorf("mark tag index of %s: %w", name, err)
	}
	return stored, nil
}

// sweepTagIndexes rebuilds the tag index of every repository.
func (s *Service) sweepTagIndexes(ctx context.Context) error {
	items, err := store.List[repoRecord](ctx, s.store, s.prefix+"repo/")
	if err != nil {
		return err
	}
	var errs []error
	for _, it := range items {
		if _, err := s.rebuildTagIndex(ctx, it.Value.Repository.RepositoryName); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// indexTags records in the index what storage now holds for tags of a
// repository: their digest, or nothing for tags that are gone.
func (s *Service) indexTags(ctx context.Context, name string, tags ...string) error {
	if len(tags) == 0 {
		return nil
	}
	repo, err := s.contentRepo(ctx, name)
	if err != nil {
		return err
	}
	var ops []func(*store.Txn)
	for _, t := range tags {
		desc, err := repo.Tags(ctx).Get(ctx, t)
		switch {
		case errors.As(err, new(distribution.ErrTagUnknown)):
			ops = append(ops, func(tx *store.Txn) { tx.Delete(s.tagKey(name, t)) })
		case err != nil:
			return fmt.Errorf("read tag %s of %s: %w", t, name, err)
		default:
			ops = append(ops, func(tx *store.Txn) { tx.Put(s.tagKey(name, t), desc.Digest) })
		}
	}
	changed := func(tx *store.Txn) { tx.Put(s.tagChangedKey(name), true) }
	if err := s.store.CommitChunked(ctx, ops, changed); err != nil {
		return fmt.Errorf("index tags of %s: %w", name, err)
	}
	return nil
}

// dropTagIndex removes the index of a repository whose content is gone.
func (s *Service) dropTagIndex(ctx context.Context, name string) error {
	if _, err := s.store.DeletePrefix(ctx, s.tagPrefix(name)); err != nil {
		return fmt.Errorf("drop tag index of %s: %w", name, err)
	}
	return s.store.Commit(ctx, store.NewTxn().Delete(s.tagBuiltKey(name)).Put(s.tagChangedKey(name), true))
}
