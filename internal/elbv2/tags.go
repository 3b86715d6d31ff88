package elbv2

import (
	"context"
	"slices"

	"github.com/berth-dev/berth/internal/api"
)

var tagRules = api.TagRules{Code: api.CodeValidation, Field: "tags", Max: maxTags, Chars: true, Unique: true, DuplicateCode: codeDuplicateTagKeys,
	TooMany: func() error { return api.Errorf(codeTooManyTags, "A resource can have at most %d tags", maxTags) }}

// checkTags checks tags given at creation.
func checkTags(tags []Tag) ([]Tag, error) {
	if err := tagRules.Check(len(tags), func(i int) (string, string) { return tags[i].Key, tags[i].Value }); err != nil {
		return nil, err
	}
	return tags, nil
}

type AddTagsInput struct {
	ResourceArns []string
	Tags         []Tag
}

// AddTags sets tags on load balancers, target groups, listeners and rules,
// replacing the values of keys they have.
func (s *Service) AddTags(ctx context.Context, in *AddTagsInput) (*struct{}, error) {
	if len(in.Tags) == 0 {
		return nil, check.Null("tags")
	}
	if _, err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	return nil, s.eachResource(ctx, "AddTags", in.ResourceArns, func(tags *[]Tag) error {
		for _, t := range in.Tags {
			if i := slices.IndexFunc(*tags, func(o Tag) bool { return o.Key == t.Key }); i >= 0 {
				(*tags)[i].Value = t.Value
			} else {
				*tags = append(*tags, t)
			}
		}
		if len(*tags) > maxTags {
			return api.Errorf(codeTooManyTags, "A resource can have at most %d tags", maxTags)
		}
		return nil
	})
}

type RemoveTagsInput struct {
	ResourceArns []string
	TagKeys      []string
}

// RemoveTags removes tags by key.
func (s *Service) RemoveTags(ctx context.Context, in *RemoveTagsInput) (*struct{}, error) {
	if len(in.TagKeys) == 0 {
		return nil, check.Null("tagKeys")
	}
	return nil, s.eachResource(ctx, "RemoveTags", in.ResourceArns, func(tags *[]Tag) error {
		*tags = slices.DeleteFunc(*tags, func(t Tag) bool { return slices.Contains(in.TagKeys, t.Key) })
		return nil
	})
}

// eachResource authorizes action on each resource and applies change to
// its tags. Every resource is found before any is changed.
func (s *Service) eachResource(ctx context.Context, action string, arns []string, change func(*[]Tag) error) error {
	if len(arns) == 0 {
		return check.Null("resourceArns")
	}
	if len(arns) > 20 {
		return check.Items("resourceArns", len(arns), 1, 20)
	}
	for _, arn := range arns {
		if _, err := s.tagsOf(ctx, arn); err != nil {
			return err
		}
		if err := s.authorize(ctx, action, arn); err != nil {
			return err
		}
	}
	for _, arn := range arns {
		if _, ok := s.arnParts(arn, "targetgroup"); ok {
			if err := s.updateGroup(ctx, action, arn, func(g *tgRecord) error { return change(&g.Tags) }); err != nil {
				return err
			}
			continue
		}
		lbARN, err := s.balancerOf(ctx, arn)
		if err != nil {
			return err
		}
		err = s.mutate(ctx, lbARN, func(r *lbRecord) error {
			tags := resourceTags(r, arn)
			if tags == nil {
				return api.Errorf(codeRuleNotFound, "Resource '%s' not found", arn)
			}
			return change(tags)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// balancerOf is the ARN of the load balancer a load balancer, listener or
// rule ARN belongs to.
func (s *Service) balancerOf(ctx context.Context, arn string) (string, error) {
	if _, ok := s.arnParts(arn, "loadbalancer"); ok {
		return arn, nil
	}
	if _, ok := s.arnParts(arn, "listener"); ok {
		it, _, err := s.findListener(ctx, arn)
		return it.Value.ARN, err
	}
	lb, _, _, err := s.findRule(ctx, arn)
	return lb.ARN, err
}

// resourceTags points at the tags of a load balancer, listener or rule
// inside a load balancer record.
func resourceTags(r *lbRecord, arn string) *[]Tag {
	if r.ARN == arn {
		return &r.Tags
	}
	for li := range r.Listeners {
		l := &r.Listeners[li]
		switch arn {
		case l.ARN:
			return &l.Tags
		case l.DefaultRule:
			return &l.DefaultTags
		}
		for ri := range l.Rules {
			if l.Rules[ri].ARN == arn {
				return &l.Rules[ri].Tags
			}
		}
	}
	return nil
}

// tagsOf reads a resource's tags, or its kind's not-found error.
func (s *Service) tagsOf(ctx context.Context, arn string) ([]Tag, error) {
	switch {
	case hasKind(s, arn, "targetgroup"):
		it, err := s.targetGroup(ctx, arn)
		return it.Value.Tags, err
	case hasKind(s, arn, "loadbalancer"):
		it, err := s.balancer(ctx, arn)
		return it.Value.Tags, err
	case hasKind(s, arn, "listener"):
		it, i, err := s.findListener(ctx, arn)
		if err != nil {
			return nil, err
		}
		return it.Value.Listeners[i].Tags, nil
	case hasKind(s, arn, "listener-rule"):
		lb, li, ri, err := s.findRule(ctx, arn)
		if err != nil {
			return nil, err
		}
		if ri < 0 {
			return lb.Listeners[li].DefaultTags, nil
		}
		return lb.Listeners[li].Rules[ri].Tags, nil
	}
	return nil, validation("'%s' is not a valid load balancer, target group, listener or rule ARN", arn)
}

func hasKind(s *Service, arn, kind string) bool {
	_, ok := s.arnParts(arn, kind)
	return ok
}

type DescribeTagsInput struct {
	ResourceArns []string
}

type TagDescription struct {
	ResourceArn string
	Tags        api.Members[Tag]
}

type DescribeTagsOutput struct {
	TagDescriptions api.Members[TagDescription]
}

// DescribeTags lists the tags of up to 20 resources.
func (s *Service) DescribeTags(ctx context.Context, in *DescribeTagsInput) (*DescribeTagsOutput, error) {
	if len(in.ResourceArns) == 0 {
		return nil, check.Null("resourceArns")
	}
	if len(in.ResourceArns) > 20 {
		return nil, check.Items("resourceArns", len(in.ResourceArns), 1, 20)
	}
	out := &DescribeTagsOutput{TagDescriptions: api.Members[TagDescription]{}}
	for _, arn := range in.ResourceArns {
		if err := s.authorize(ctx, "DescribeTags", arn); err != nil {
			return nil, err
		}
		tags, err := s.tagsOf(ctx, arn)
		if err != nil {
			return nil, err
		}
		out.TagDescriptions = append(out.TagDescriptions, TagDescription{ResourceArn: arn, Tags: api.Members[Tag](orEmpty(tags))})
	}
	return out, nil
}
