package iam

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// maxTags is IAM's quota of tags per user, role or policy.
const maxTags = 50

// tagRules are IAM's: keys unique regardless of case.
var tagRules = api.TagRules{Code: "ValidationError", Field: "tags", Max: maxTags, Chars: true, Unique: true, CaseInsensitive: true, DuplicateCode: "InvalidInput"}

// checkTags validates tags as the IAM model constrains them.
func checkTags(tags []Tag) error {
	return tagRules.Check(len(tags), func(i int) (string, string) { return tags[i].Key, tags[i].Value })
}

// requestTagKeys are the condition keys of a request that sets tags:
// aws:RequestTag/<key> for each and aws:TagKeys for all.
func requestTagKeys(tags []Tag) map[string][]string {
	if len(tags) == 0 {
		return nil
	}
	keys := withTagKeys(map[string][]string{}, "aws:RequestTag/", tags)
	for _, t := range tags {
		keys["aws:TagKeys"] = append(keys["aws:TagKeys"], t.Key)
	}
	return keys
}

// mergeTags sets tags on existing ones, replacing values of keys that
// match regardless of case, within the quota.
func mergeTags(existing, tags []Tag) ([]Tag, error) {
	out := slices.Clone(existing)
	for _, t := range tags {
		i := slices.IndexFunc(out, func(e Tag) bool { return strings.EqualFold(e.Key, t.Key) })
		if i >= 0 {
			out[i].Value = t.Value
		} else {
			out = append(out, t)
		}
	}
	if len(out) > maxTags {
		return nil, limitExceeded("The number of tags has reached the maximum limit.")
	}
	return out, nil
}

// removeTags drops the tags with the given keys, regardless of case.
func removeTags(existing []Tag, keys []string) []Tag {
	return slices.DeleteFunc(slices.Clone(existing), func(t Tag) bool {
		return slices.ContainsFunc(keys, func(k string) bool { return strings.EqualFold(k, t.Key) })
	})
}

func invalidInput(format string, args ...any) error {
	return &api.Error{Code: "InvalidInput", Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

type tagInput struct {
	UserName  string
	RoleName  string
	PolicyArn string
	Tags      []Tag
	TagKeys   []string
	Marker    string
	MaxItems  *int32
}

type ListTagsOutput struct {
	Tags        api.Members[Tag]
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

func (s *Service) handleTags(q *api.QueryService) {
	for _, kind := range []entityKind{kindUser, kindRole} {
		noun := kind.noun()
		name := func(in *tagInput) string {
			if kind == kindUser {
				return in.UserName
			}
			return in.RoleName
		}
		q.Handle("Tag"+noun, api.QueryOp(func(ctx context.Context, in *tagInput) (*struct{}, error) {
			return nil, s.tagEntity(ctx, kind, name(in), in.Tags)
		}))
		q.Handle("Untag"+noun, api.QueryOp(func(ctx context.Context, in *tagInput) (*struct{}, error) {
			return nil, s.untagEntity(ctx, kind, name(in), in.TagKeys)
		}))
		q.Handle("List"+noun+"Tags", api.QueryOp(func(ctx context.Context, in *tagInput) (*ListTagsOutput, error) {
			return s.listEntityTags(ctx, kind, name(in), in)
		}))
	}
	q.Handle("TagPolicy", api.QueryOp(func(ctx context.Context, in *tagInput) (*struct{}, error) {
		return nil, s.tagPolicy(ctx, in)
	}))
	q.Handle("UntagPolicy", api.QueryOp(func(ctx context.Context, in *tagInput) (*struct{}, error) {
		return nil, s.untagPolicy(ctx, in)
	}))
	q.Handle("ListPolicyTags", api.QueryOp(s.listPolicyTags))
}

func checkTagKeys(keys []string) error {
	if len(keys) > maxTags {
		return check.Fail("tagKeys", api.List, fmt.Sprintf("Member must have length less than or equal to %d", maxTags))
	}
	tags := make([]Tag, len(keys))
	for i, k := range keys {
		tags[i] = Tag{Key: k}
	}
	if err := checkTags(tags); err != nil && api.AsError(err).Code == api.CodeValidation {
		return err
	}
	return nil
}

func untagKeys(keys []string) map[string][]string {
	return map[string][]string{"aws:TagKeys": keys}
}

func (s *Service) tagEntity(ctx context.Context, kind entityKind, name string, tags []Tag) error {
	if err := checkName(kind.nameField(), name, kind.maxName()); err != nil {
		return err
	}
	if err := checkTags(tags); err != nil {
		return err
	}
	if err := s.authorizeOn(ctx, "Tag"+kind.noun(), kind, name, requestTagKeys(tags)); err != nil {
		return err
	}
	return s.updateEntity(ctx, kind, name, func(e *entity, _ *store.Txn) error {
		merged, err := mergeTags(e.Tags, tags)
		e.Tags = merged
		return err
	})
}

func (s *Service) untagEntity(ctx context.Context, kind entityKind, name string, keys []string) error {
	if err := checkName(kind.nameField(), name, kind.maxName()); err != nil {
		return err
	}
	if err := checkTagKeys(keys); err != nil {
		return err
	}
	if err := s.authorizeOn(ctx, "Untag"+kind.noun(), kind, name, untagKeys(keys)); err != nil {
		return err
	}
	return s.updateEntity(ctx, kind, name, func(e *entity, _ *store.Txn) error {
		e.Tags = removeTags(e.Tags, keys)
		return nil
	})
}

func (s *Service) listEntityTags(ctx context.Context, kind entityKind, name string, in *tagInput) (*ListTagsOutput, error) {
	if err := checkName(kind.nameField(), name, kind.maxName()); err != nil {
		return nil, err
	}
	if err := s.authorizeOn(ctx, "List"+kind.noun()+"Tags", kind, name, nil); err != nil {
		return nil, err
	}
	it, err := s.getEntity(ctx, kind, name)
	if err != nil {
		return nil, err
	}
	return tagsPage(it.Value.Tags, in)
}

func tagsPage(tags []Tag, in *tagInput) (*ListTagsOutput, error) {
	items, truncated, marker, err := page(tags, func(t Tag) string { return t.Key }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &ListTagsOutput{Tags: append(api.Members[Tag]{}, items...), IsTruncated: truncated, Marker: marker}, nil
}

func (s *Service) tagPolicy(ctx context.Context, in *tagInput) error {
	if err := checkTags(in.Tags); err != nil {
		return err
	}
	return s.updatePolicy(ctx, "TagPolicy", in.PolicyArn, requestTagKeys(in.Tags), func(p *managedPolicy) error {
		merged, err := mergeTags(p.Tags, in.Tags)
		p.Tags = merged
		return err
	})
}

func (s *Service) untagPolicy(ctx context.Context, in *tagInput) error {
	if err := checkTagKeys(in.TagKeys); err != nil {
		return err
	}
	return s.updatePolicy(ctx, "UntagPolicy", in.PolicyArn, untagKeys(in.TagKeys), func(p *managedPolicy) error {
		p.Tags = removeTags(p.Tags, in.TagKeys)
		return nil
	})
}

func (s *Service) listPolicyTags(ctx context.Context, in *tagInput) (*ListTagsOutput, error) {
	if err := s.authorize(ctx, "ListPolicyTags", in.PolicyArn); err != nil {
		return nil, err
	}
	it, err := s.loadPolicy(ctx, in.PolicyArn)
	if err != nil {
		return nil, err
	}
	return tagsPage(it.Value.Tags, in)
}
