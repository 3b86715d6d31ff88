package ecs

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

type TagResourceInput struct {
	ResourceArn string   `json:"resourceArn"`
	Tags        []Tag    `json:"tags"`
	TagKeys     []string `json:"tagKeys"`
}

type TagsOutput struct {
	Tags []Tag `json:"tags,omitempty"`
}

// tagsOf locates the tag list of the resource an ARN names and applies fn to
// it in a read-modify-write on the owning record.
func (s *Service) tagsOf(ctx context.Context, arn string, fn func(*[]Tag) error) error {
	prefix := s.arn("")
	if !strings.HasPrefix(arn, prefix) {
		return api.InvalidParameter("Invalid resource ARN %q.", arn)
	}
	kind, path, _ := strings.Cut(strings.TrimPrefix(arn, prefix), "/")
	notFound := api.Errorf("ResourceNotFoundException", "The specified resource could not be found.")
	update := func(err error) error {
		if errors.Is(err, store.ErrNotFound) {
			return notFound
		}
		return err
	}
	switch kind {
	case "cluster":
		_, err := store.Update(ctx, s.store, s.keys.cluster(path), func(r *clusterRecord) error {
			if r.Status != "ACTIVE" {
				return errClusterNotFound()
			}
			return fn(&r.Tags)
		})
		return update(err)
	case "capacity-provider":
		_, err := store.Update(ctx, s.store, s.keys.capacityProvider(path), func(r *CapacityProvider) error {
			if r.Status != "ACTIVE" {
				return notFound
			}
			return fn(&r.Tags)
		})
		return update(err)
	case "task-definition":
		family, rev, ok := parseTaskDefRef(path)
		if !ok || rev == 0 {
			return notFound
		}
		_, err := store.Update(ctx, s.store, s.keys.taskDef(family, rev), func(r *taskDefRecord) error { return fn(&r.Tags) })
		return update(err)
	case "service":
		cluster, name, ok := strings.Cut(path, "/")
		if !ok {
			return notFound
		}
		_, err := store.Update(ctx, s.store, s.keys.service(cluster, name), func(r *serviceRecord) error {
			if r.Service.Status == "INACTIVE" {
				return notFound
			}
			return fn(&r.Service.Tags)
		})
		return update(err)
	case "container-instance", "task":
		cluster, id, ok := strings.Cut(path, "/")
		if !ok {
			return notFound
		}
		if kind == "task" {
			_, err := store.Update(ctx, s.store, s.keys.task(cluster, id), func(r *taskRecord) error { return fn(&r.Task.Tags) })
			return update(err)
		}
		_, err := store.Update(ctx, s.store, s.keys.instance(cluster, id), func(r *instanceRecord) error { return fn(&r.Instance.Tags) })
		return update(err)
	}
	return api.InvalidParameter("Resources of type %q cannot be tagged.", kind)
}

// TagResource adds or overwrites tags.
func (s *Service) TagResource(ctx context.Context, in *TagResourceInput) (*struct{}, error) {
	if len(in.Tags) == 0 {
		return nil, api.InvalidParameter("tags cannot be empty.")
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "TagResource", in.ResourceArn); err != nil {
		return nil, err
	}
	return &struct{}{}, s.tagsOf(ctx, in.ResourceArn, func(tags *[]Tag) error {
		for _, t := range in.Tags {
			*tags = slices.DeleteFunc(*tags, func(x Tag) bool { return x.Key == t.Key })
			*tags = append(*tags, t)
		}
		return validateTags(*tags)
	})
}

// UntagResource removes tags by key.
func (s *Service) UntagResource(ctx context.Context, in *TagResourceInput) (*struct{}, error) {
	if len(in.TagKeys) == 0 {
		return nil, api.InvalidParameter("tagKeys cannot be empty.")
	}
	if err := s.authorize(ctx, "UntagResource", in.ResourceArn); err != nil {
		return nil, err
	}
	return &struct{}{}, s.tagsOf(ctx, in.ResourceArn, func(tags *[]Tag) error {
		*tags = slices.DeleteFunc(*tags, func(x Tag) bool { return slices.Contains(in.TagKeys, x.Key) })
		return nil
	})
}

// ListTagsForResource returns a resource's tags.
func (s *Service) ListTagsForResource(ctx context.Context, in *TagResourceInput) (*TagsOutput, error) {
	if err := s.authorize(ctx, "ListTagsForResource", in.ResourceArn); err != nil {
		return nil, err
	}
	out := &TagsOutput{Tags: []Tag{}}
	err := s.tagsOf(ctx, in.ResourceArn, func(tags *[]Tag) error {
		out.Tags = append(out.Tags, *tags...)
		return errReadOnly
	})
	if errors.Is(err, errReadOnly) {
		err = nil
	}
	return out, err
}

// errReadOnly aborts a tagsOf update after reading.
var errReadOnly = errors.New("read only")
