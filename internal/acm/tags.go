package acm

import (
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/berth-dev/berth/internal/store"
)

func itoa(n int) string { return strconv.Itoa(n) }

type TagsInput struct {
	CertificateArn string
	Tags           []Tag
}

// checkTagList checks a tag list that must name at least one tag.
func checkTagList(tags []Tag) error {
	if len(tags) == 0 {
		return check.Null("tags")
	}
	return checkTags(tags)
}

// AddTagsToCertificate adds tags, replacing the values of keys it has.
func (s *Service) AddTagsToCertificate(ctx context.Context, in *TagsInput) (*Empty, error) {
	if err := checkTagList(in.Tags); err != nil {
		return nil, err
	}
	return s.retag(ctx, "AddTagsToCertificate", in.CertificateArn, func(cur []Tag) ([]Tag, error) {
		for _, t := range in.Tags {
			if i := slices.IndexFunc(cur, func(c Tag) bool { return c.Key == t.Key }); i >= 0 {
				cur[i] = t
			} else {
				cur = append(cur, t)
			}
		}
		if len(cur) > tagRules.Max {
			return nil, tagRules.TooMany()
		}
		return cur, nil
	})
}

// RemoveTagsFromCertificate removes tags by key, or by key and value when
// the value is given.
func (s *Service) RemoveTagsFromCertificate(ctx context.Context, in *TagsInput) (*Empty, error) {
	if err := checkTagList(in.Tags); err != nil {
		return nil, err
	}
	return s.retag(ctx, "RemoveTagsFromCertificate", in.CertificateArn, func(cur []Tag) ([]Tag, error) {
		return slices.DeleteFunc(cur, func(c Tag) bool {
			return slices.ContainsFunc(in.Tags, func(t Tag) bool {
				return t.Key == c.Key && (t.Value == nil || c.Value != nil && *t.Value == *c.Value)
			})
		}), nil
	})
}

func (s *Service) retag(ctx context.Context, action, arn string, change func([]Tag) ([]Tag, error)) (*Empty, error) {
	id, err := s.certID("certificateArn", arn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, action, arn); err != nil {
		return nil, err
	}
	_, err = store.Update(ctx, s.store, s.keys.cert(id), func(r *certRecord) error {
		tags, err := change(slices.Clone(r.Tags))
		r.Tags = tags
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(arn)
	}
	if err != nil {
		return nil, err
	}
	return &Empty{}, nil
}

type ListTagsForCertificateOutput struct {
	Tags []Tag `json:",omitempty"`
}

// ListTagsForCertificate lists a certificate's tags.
func (s *Service) ListTagsForCertificate(ctx context.Context, in *CertificateArnInput) (*ListTagsForCertificateOutput, error) {
	it, err := s.load(ctx, "certificateArn", in.CertificateArn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "ListTagsForCertificate", in.CertificateArn); err != nil {
		return nil, err
	}
	return &ListTagsForCertificateOutput{Tags: it.Value.Tags}, nil
}
