package ecs

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sort"
	"strings"

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
	recs, err := s.applyAttributes(ctx, byKey, apply)
	if err != nil {
		return nil, err
	}
	out := &AttributesOutput{Attributes: []Attribute{}}
	for key, attrs := range byKey {
		for _, a := range attrs {
			out.Attributes = append(out.Attributes, Attribute{Name: a.Name, Value: a.Value, TargetType: "container-instance", TargetId: recs[key].Instance.ContainerInstanceArn})
		}
	}
	return out, nil
}

// maxCustomAttributes is how many custom attributes ECS lets a resource
// carry (AttributeLimitExceededException beyond).
const maxCustomAttributes = 10

// customAttributes counts the attributes a user set, as opposed to those
// ECS and its agent set (ecs.*, com.amazonaws.ecs.*).
func customAttributes(attrs []Attribute) int {
	n := 0
	for _, a := range attrs {
		if !strings.HasPrefix(a.Name, "ecs.") && !strings.HasPrefix(a.Name, "com.amazonaws.") {
			n++
		}
	}
	return n
}

// applyAttributes applies the changes to every instance record in one
// transaction, so that a refused change to one instance (over the limit)
// writes nothing to the others; it retries when a record changed meanwhile.
func (s *Service) applyAttributes(ctx context.Context, byKey map[string][]Attribute, apply func([]Attribute, Attribute) []Attribute) (map[string]instanceRecord, error) {
	keys := slices.Sorted(maps.Keys(byKey))
	for attempt := 0; ; attempt++ {
		items, err := store.GetMany[instanceRecord](ctx, s.store, keys)
		if err != nil {
			return nil, err
		}
		if len(items) != len(keys) {
			return nil, api.Errorf("TargetNotFoundException", "Could not find a target of the attributes; it was deregistered.")
		}
		txn := store.NewTxn()
		recs := map[string]instanceRecord{}
		for _, it := range items {
			r := it.Value
			before := customAttributes(r.Instance.Attributes)
			attrs := slices.Clone(r.Instance.Attributes)
			for _, a := range byKey[it.Key] {
				attrs = apply(attrs, a)
			}
			if n := customAttributes(attrs); n > maxCustomAttributes && n > before {
				return nil, api.Errorf("AttributeLimitExceededException",
					"You can apply up to %d custom attributes for each resource; container instance %s would have %d.",
					maxCustomAttributes, r.Instance.ContainerInstanceArn, n)
			}
			sort.Slice(attrs, func(i, j int) bool { return attrs[i].Name < attrs[j].Name })
			r.Instance.Attributes = attrs
			recs[it.Key] = r
			txn.IfRev(it.Key, it.Rev).Put(it.Key, r)
		}
		err = s.store.Commit(ctx, txn)
		if err == nil {
			return recs, nil
		}
		if !errors.Is(err, store.ErrConflict) || attempt >= 50 {
			return nil, err
		}
	}
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
