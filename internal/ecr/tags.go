package ecr

import (
	"context"
	awsarn "github.com/aws/aws-sdk-go-v2/aws/arn"
	"strings"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// maxTags is how many tags a repository may carry.
const maxTags = 50

func tooManyTags() error {
	return api.Errorf("TooManyTagsException", "A repository can have at most %d tags.", maxTags)
}

// tagRules are ECR's: keys once each, the model's characters.
var tagRules = api.TagRules{Code: "InvalidTagParameterException", Field: "tags", Chars: true, Unique: true}

// validateTags checks tags (their number is checked against what the
// repository already carries, by the caller).
func validateTags(tags []Tag) error {
	return tagRules.Check(len(tags), func(i int) (string, string) { return tags[i].Key, tags[i].Value })
}

// validateTagKey checks a key given alone (UntagResource).
func validateTagKey(key string) error {
	return tagRules.Check(1, func(int) (string, string) { return key, "" })
}

// repoFromArn returns the name of the repository an ARN of this registry names.
func (s *Service) repoFromArn(arn string) (string, error) {
	a, err := awsarn.Parse(arn)
	if err != nil || a.Service != "ecr" || a.Region != s.cfg.Region || a.AccountID != s.cfg.Account || !strings.HasPrefix(a.Resource, "repository/") {
		return "", api.InvalidParameter("Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN %s for a repository of registry %s in %s'", arn, s.cfg.Account, s.cfg.Region)
	}
	return strings.TrimPrefix(a.Resource, "repository/"), nil
}

type TagResourceInput struct {
	ResourceArn string `json:"resourceArn"`
	Tags        []Tag  `json:"tags"`
}

type UntagResourceInput struct {
	ResourceArn string   `json:"resourceArn"`
	TagKeys     []string `json:"tagKeys"`
}

type ListTagsForResourceInput struct {
	ResourceArn string `json:"resourceArn"`
}

type ListTagsForResourceOutput struct {
	Tags []Tag `json:"tags"`
}

// TagResourceOutput is the empty answer of TagResource and UntagResource.
type TagResourceOutput struct{}

// TagResource adds tags to a repository, replacing the values of keys it
// already has.
func (s *Service) TagResource(ctx context.Context, in *TagResourceInput) (*TagResourceOutput, error) {
	it, err := s.taggedRepository(ctx, in.ResourceArn, "TagResource")
	if err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	_, err = store.Update(ctx, s.store, it.Key, func(r *repoRecord) error {
		for _, t := range in.Tags {
			replaced := false
			for i := range r.Tags {
				if r.Tags[i].Key == t.Key {
					r.Tags[i].Value, replaced = t.Value, true
				}
			}
			if !replaced {
				r.Tags = append(r.Tags, t)
			}
		}
		if len(r.Tags) > maxTags {
			return tooManyTags()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &TagResourceOutput{}, nil
}

// UntagResource removes tags from a repository; keys it does not carry are ignored.
func (s *Service) UntagResource(ctx context.Context, in *UntagResourceInput) (*TagResourceOutput, error) {
	it, err := s.taggedRepository(ctx, in.ResourceArn, "UntagResource")
	if err != nil {
		return nil, err
	}
	for _, k := range in.TagKeys {
		if err := validateTagKey(k); err != nil {
			return nil, err
		}
	}
	_, err = store.Update(ctx, s.store, it.Key, func(r *repoRecord) error {
		kept := r.Tags[:0]
		for _, t := range r.Tags {
			drop := false
			for _, k := range in.TagKeys {
				drop = drop || t.Key == k
			}
			if !drop {
				kept = append(kept, t)
			}
		}
		r.Tags = kept
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &TagResourceOutput{}, nil
}

// ListTagsForResource lists a repository's tags, those given at creation included.
func (s *Service) ListTagsForResource(ctx context.Context, in *ListTagsForResourceInput) (*ListTagsForResourceOutput, error) {
	it, err := s.taggedRepository(ctx, in.ResourceArn, "ListTagsForResource")
	if err != nil {
		return nil, err
	}
	tags := it.Value.Tags
	if tags == nil {
		tags = []Tag{}
	}
	return &ListTagsForResourceOutput{Tags: tags}, nil
}

// taggedRepository loads the repository an ARN names and authorizes action on it.
func (s *Service) taggedRepository(ctx context.Context, arn, action string) (store.Item[repoRecord], error) {
	name, err := s.repoFromArn(arn)
	if err != nil {
		return store.Item[repoRecord]{}, err
	}
	return s.loadRepository(ctx, "", name, action)
}
