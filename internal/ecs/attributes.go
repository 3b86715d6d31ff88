package ecs

import (
	"context"
	"slices"
	"sort"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

type AttributesInput struct {
	Cluster    string      `json:"cluster"`
	Attributes []Attribute `json:"attributes"`
}

type AttributesOutput struct {
	Attributes []Attribute `json:"attributes"`
	NextToken  *string     `json:"nextToken,omitempty"`
}

// PutAttributes creates or updates custom attributes on container instances.
func (s *Service) PutAttributes(ctx context.Context, in *AttributesInput) (*AttributesOutput, error) {
	return s.changeAttributes(ctx, "PutAttributes", in, func(attrs []Attribute, a Attribute) []Attribute {
		attrs = slices.DeleteFunc(attrs, func(x Attribute) bool { return x.Name == a.Name })
		return append(attrs, Attribute{Name: a.Name, Value: a.Value})
	})
}

// DeleteAttributes removes custom attributes from container instances.
func (s *Service) DeleteAttributes(ctx context.Context, in *AttributesInput) (*AttributesOutput, error) {
	return s.changeAttributes(ctx, "DeleteAttributes", in, func(attrs []Attribute, a Attribute) []Attribute {
		return slices.DeleteFunc(attrs, func(x Attribute) bool { return x.Name == a.Name })
	})
}

func (s *Service) changeAttributes(ctx context.Context, op string, in *AttributesInput, apply func([]Attribute, Attribute) []Attribute) (*AttributesOutput, error) {
	if len(in.Attributes) == 0 || len(in.Attributes) > 10 {
		return nil, api.InvalidParameter("attributes must contain between 1 and 10 attributes.")
	}
	cl, err := s.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	// Validate every target first so a bad one changes nothing.
	keys := make([]string, len(in.Attributes))
	for i, a := range in.Attributes {
		if err := validateAttribute(a); err != nil {
			return nil, err
		}
		if a.TargetId == "" {
			return nil, api.InvalidParameter("Attribute %s needs a targetId.", a.Name)
		}
		it, found, err := s.findInstance(ctx, cl.Value.Name, a.TargetId)
		if err != nil {
			return nil, err
		}
		if !found || it.Value.Instance.Status == "INACTIVE" {
			return nil, api.Errorf("TargetNotFoundException", "Could not find %s.", a.TargetId)
		}
		if err := s.authorize(ctx, op, it.Value.Instance.ContainerInstanceArn); err != nil {
			return nil, err
		}
		keys[i] = it.Key
	}
	byKey := map[string][]Attribute{}
	for i, a := range in.Attributes {
		byKey[keys[i]] = append(byKey[keys[i]], a)
	}
	out := &AttributesOutput{Attributes: []Attribute{}}
	for key, attrs := range byKey {
		rec, err := store.Update(ctx, s.store, key, func(r *instanceRecord) error {
			for _, a := range attrs {
				r.Instance.Attributes = apply(r.Instance.Attributes, a)
			}
			sort.Slice(r.Instance.Attributes, func(i, j int) bool { return r.Instance.Attributes[i].Name < r.Instance.Attributes[j].Name })
			return nil
		})
		if err != nil {
			return nil, err
		}
		for _, a := range attrs {
			out.Attributes = append(out.Attributes, Attribute{Name: a.Name, Value: a.Value, TargetType: "container-instance", TargetId: rec.Instance.ContainerInstanceArn})
		}
	}
	return out, nil
}

type ListAttributesInput struct {
	Cluster        string  `json:"cluster"`
	TargetType     string  `json:"targetType"`
	AttributeName  string  `json:"attributeName"`
	AttributeValue *string `json:"attributeValue"`
	NextToken      *string `json:"nextToken"`
	MaxResults     *int    `json:"maxResults"`
}

// ListAttributes lists the attributes of a cluster's container instances.
func (s *Service) ListAttributes(ctx context.Context, in *ListAttributesInput) (*AttributesOutput, error) {
	if in.TargetType != "container-instance" {
		return nil, api.InvalidParameter("targetType must be container-instance.")
	}
	if in.AttributeValue != nil && in.AttributeName == "" {
		return nil, api.InvalidParameter("attributeValue can only be given together with attributeName.")
	}
	cl, err := s.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "ListAttributes", s.arn("cluster/"+cl.Value.Name)); err != nil {
		return nil, err
	}
	items, err := store.List[instanceRecord](ctx, s.store, s.keys.instances(cl.Value.Name))
	if err != nil {
		return nil, err
	}
	var keys []string
	found := map[string]Attribute{}
	for _, it := range items {
		if it.Value.Instance.Status == "INACTIVE" {
			continue
		}
		for _, a := range it.Value.Instance.Attributes {
			if in.AttributeName != "" && a.Name != in.AttributeName {
				continue
			}
			if in.AttributeValue != nil && (a.Value == nil || *a.Value != *in.AttributeValue) {
				continue
			}
			arn := it.Value.Instance.ContainerInstanceArn
			k := arn + "\x00" + a.Name
			keys = append(keys, k)
			found[k] = Attribute{Name: a.Name, Value: a.Value, TargetType: "container-instance", TargetId: arn}
		}
	}
	sort.Strings(keys)
	page, next, err := api.Paginate(keys, in.NextToken, in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	out := &AttributesOutput{Attributes: []Attribute{}, NextToken: next}
	for _, k := range page {
		out.Attributes = append(out.Attributes, found[k])
	}
	return out, nil
}
