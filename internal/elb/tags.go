package elb

import (
	"context"
	"slices"

	"github.com/berth-dev/berth/internal/api"
)

var tagRules = api.TagRules{Code: api.CodeValidation, Field: "tags", Max: maxTags, Chars: true, Unique: true, DuplicateCode: codeDuplicateTagKeys,
	TooMany: func() error { return api.Errorf(codeTooManyTags, "A load balancer can have at most %d tags", maxTags) }}

func checkTags(tags []Tag) error {
	return tagRules.Check(len(tags), func(i int) (string, string) { return tags[i].Key, tags[i].Value })
}

type AddTagsInput struct {
	LoadBalancerNames []string
	Tags              []Tag
}

// AddTags sets tags on load balancers, replacing the values of keys they
// have. Every load balancer is found before any changes.
func (s *Service) AddTags(ctx context.Context, in *AddTagsInput) (*struct{}, error) {
	if len(in.Tags) == 0 {
		return nil, check.Null("tags")
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	return nil, s.eachBalancer(ctx, "AddTags", in.LoadBalancerNames, func(r *lbRecord) error {
		for _, t := range in.Tags {
			if i := slices.IndexFunc(r.Tags, func(o Tag) bool { return o.Key == t.Key }); i >= 0 {
				r.Tags[i].Value = t.Value
			} else {
				r.Tags = append(r.Tags, t)
			}
		}
		if len(r.Tags) > maxTags {
			return api.Errorf(codeTooManyTags, "A load balancer can have at most %d tags", maxTags)
		}
		return nil
	})
}

type TagKeyOnly struct{ Key string }

type RemoveTagsInput struct {
	LoadBalancerNames []string
	Tags              []TagKeyOnly
}

// RemoveTags removes tags by key.
func (s *Service) RemoveTags(ctx context.Context, in *RemoveTagsInput) (*struct{}, error) {
	if len(in.Tags) == 0 {
		return nil, check.Null("tags")
	}
	return nil, s.eachBalancer(ctx, "RemoveTags", in.LoadBalancerNames, func(r *lbRecord) error {
		r.Tags = slices.DeleteFunc(r.Tags, func(t Tag) bool { return slices.Contains(in.Tags, TagKeyOnly{t.Key}) })
		return nil
	})
}

// eachBalancer authorizes action on each load balancer and changes it.
// Every one is found before any is changed.
func (s *Service) eachBalancer(ctx context.Context, action string, names []string, change func(*lbRecord) error) error {
	if len(names) == 0 {
		return check.Null("loadBalancerNames")
	}
	for _, n := range names {
		if err := s.authorizeName(ctx, action, n); err != nil {
			return err
		}
		if _, err := s.balancer(ctx, n); err != nil {
			return err
		}
	}
	for _, n := range names {
		if _, err := s.mutate(ctx, n, change); err != nil {
			return err
		}
	}
	return nil
}

type DescribeTagsInput struct {
	LoadBalancerNames []string
}

type TagDescription struct {
	LoadBalancerName string
	Tags             api.Members[Tag]
}

type DescribeTagsOutput struct {
	TagDescriptions api.Members[TagDescription]
}

// DescribeTags answers the tags of up to 20 load balancers.
func (s *Service) DescribeTags(ctx context.Context, in *DescribeTagsInput) (*DescribeTagsOutput, error) {
	if len(in.LoadBalancerNames) == 0 {
		return nil, check.Null("loadBalancerNames")
	}
	if len(in.LoadBalancerNames) > 20 {
		return nil, check.Items("loadBalancerNames", len(in.LoadBalancerNames), 1, 20)
	}
	for _, n := range in.LoadBalancerNames {
		if err := s.authorizeName(ctx, "DescribeTags", n); err != nil {
			return nil, err
		}
	}
	recs, err := s.named(ctx, in.LoadBalancerNames)
	if err != nil {
		return nil, err
	}
	out := &DescribeTagsOutput{TagDescriptions: api.Members[TagDescription]{}}
	for _, r := range recs {
		out.TagDescriptions = append(out.TagDescriptions, TagDescription{LoadBalancerName: r.Name, Tags: api.Members[Tag](orEmpty(r.Tags))})
	}
	return out, nil
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
