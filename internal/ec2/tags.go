package ec2

import (
	"context"
	"slices"
	"strings"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// Tag is EC2's Tag shape, in requests and in responses' tagSet.
type Tag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

// TagSpecification tags a resource as it is created.
type TagSpecification struct {
	ResourceType string
	Tags         []Tag `query:"Tag"`
}

// Filter is one Name=..., Value.N=... filter of a Describe call.
type Filter struct {
	Name   string
	Values []string `query:"Value"`
}

// maxTags is how many tags an EC2 resource may carry.
const maxTags = 50

// tagRules are EC2's; the count is checked once merged (TagLimitExceeded).
var tagRules = api.TagRules{Code: "InvalidParameterValue", Field: "Tag"}

// checkTags validates tags as EC2 does: keys 1–128 characters, values at
// most 256, no "aws:" prefix.
func checkTags(tags []Tag) error {
	return tagRules.Check(len(tags), func(i int) (string, string) { return tags[i].Key, tags[i].Value })
}

// mergeTags returns have with tags set over it, sorted by key.
func mergeTags(have, tags []Tag) ([]Tag, error) {
	if err := checkTags(tags); err != nil {
		return nil, err
	}
	out := slices.Clone(have)
	for _, t := range tags {
		if i := slices.IndexFunc(out, func(h Tag) bool { return h.Key == t.Key }); i >= 0 {
			out[i].Value = t.Value
		} else {
			out = append(out, t)
		}
	}
	if len(out) > maxTags {
		return nil, api.Errorf("TagLimitExceeded", "The maximum number of tags for a resource is %d.", maxTags)
	}
	slices.SortFunc(out, func(a, b Tag) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// specTags returns the tags of the specifications for resourceType; a
// specification for another type is InvalidParameterValue, as EC2 answers.
func specTags(specs []TagSpecification, resourceType string) ([]Tag, error) {
	var tags []Tag
	for _, sp := range specs {
		if sp.ResourceType != resourceType {
			return nil, invalidValue("'%s' is not a valid taggable resource type for this operation.", sp.ResourceType)
		}
		tags = append(tags, sp.Tags...)
	}
	return mergeTags(nil, tags)
}

// taggable is what every tagged record offers the tag actions.
type taggable interface{ tagList() *[]Tag }

// resourceKinds maps an id's prefix to its record kind and EC2's
// resource type name.
var resourceKinds = map[string]struct{ kind, typ string }{
	"vpc":    {"vpc", "vpc"},
	"subnet": {"subnet", "subnet"},
	"sg":     {"security-group", "security-group"},
	"key":    {"key-pair", "key-pair"},
	"lt":     {"launch-template", "launch-template"},
	"i":      {"instance", "instance"},
}

func kindOf(id string) (kind, typ string, ok bool) {
	prefix, _, found := strings.Cut(id, "-")
	k, known := resourceKinds[prefix]
	return k.kind, k.typ, found && known
}

type CreateTagsInput struct {
	DryRun    bool
	Resources []string `query:"ResourceId"`
	Tags      []Tag    `query:"Tag"`
}

// CreateTags adds or overwrites tags on resources.
func (s *Service) CreateTags(ctx context.Context, in *CreateTagsInput) (*Return, error) {
	return s.retag(ctx, "CreateTags", in.DryRun, in.Resources, func(have []Tag) ([]Tag, error) {
		if len(in.Tags) == 0 {
			return nil, missing("Tag")
		}
		return mergeTags(have, in.Tags)
	})
}

type DeleteTagsInput struct {
	DryRun    bool
	Resources []string `query:"ResourceId"`
	Tags      []Tag    `query:"Tag"`
}

// DeleteTags removes tags: a tag named with a value only when the value
// matches, one named by key alone whatever its value, all when none are named.
func (s *Service) DeleteTags(ctx context.Context, in *DeleteTagsInput) (*Return, error) {
	return s.retag(ctx, "DeleteTags", in.DryRun, in.Resources, func(have []Tag) ([]Tag, error) {
		if len(in.Tags) == 0 {
			return nil, nil
		}
		return slices.DeleteFunc(slices.Clone(have), func(h Tag) bool {
			return slices.ContainsFunc(in.Tags, func(t Tag) bool { return t.Key == h.Key && (t.Value == "" || t.Value == h.Value) })
		}), nil
	})
}

// retag applies change to the tags of every resource, all or none.
func (s *Service) retag(ctx context.Context, action string, dryRun bool, ids []string, change func([]Tag) ([]Tag, error)) (*Return, error) {
	if len(ids) == 0 {
		return nil, missing("ResourceId")
	}
	for _, id := range ids {
		kind, _, known := kindOf(id)
		if !known {
			return nil, api.Errorf("InvalidID", "The ID '%s' is not valid", id)
		}
		if err := s.authorize(ctx, action, s.arn(kind, id), dryRun); err != nil {
			return nil, err
		}
	}
	err := retry(ctx, func() error {
		txn := store.NewTxn()
		for _, id := range ids {
			kind, _, _ := kindOf(id)
			it, err := store.Get[map[string]any](ctx, s.store, s.keys.res(kind, id))
			if err != nil {
				if err == store.ErrNotFound {
					return notFoundFor(kind, id)
				}
				return err
			}
			raw := rawRecord(it.Value)
			tags, err := change(raw.tags())
			if err != nil {
				return err
			}
			raw.setTags(tags)
			txn.IfRev(it.Key, it.Rev).Put(it.Key, it.Value)
		}
		return s.store.Commit(ctx, txn)
	})
	if err != nil {
		return nil, err
	}
	return ok, nil
}

// rawRecord edits the "tags" member of any record without knowing its type.
type rawRecord map[string]any

func (r rawRecord) tags() []Tag {
	list, _ := r["tags"].([]any)
	out := make([]Tag, 0, len(list))
	for _, e := range list {
		m, _ := e.(map[string]any)
		k, _ := m["Key"].(string)
		v, _ := m["Value"].(string)
		out = append(out, Tag{Key: k, Value: v})
	}
	return out
}

func (r rawRecord) setTags(tags []Tag) {
	if len(tags) == 0 {
		delete(r, "tags")
		return
	}
	list := make([]any, len(tags))
	for i, t := range tags {
		list[i] = map[string]any{"Key": t.Key, "Value": t.Value}
	}
	r["tags"] = list
}

// notFoundFor is the not-found error of a resource named by its id.
func notFoundFor(kind, id string) error {
	switch kind {
	case "vpc":
		return vpcNotFound(id)
	case "subnet":
		return subnetNotFound(id)
	case "security-group":
		return groupNotFound(id)
	case "key-pair":
		return api.Errorf("InvalidKeyPair.NotFound", "The key pair '%s' does not exist", id)
	case "launch-template":
		return templateNotFoundByID(id)
	case "instance":
		return instanceNotFound(id)
	}
	return api.Errorf("InvalidID", "The ID '%s' is not valid", id)
}

type DescribeTagsInput struct {
	DryRun     bool
	Filters    []Filter `query:"Filter"`
	MaxResults *int
	NextToken  *string
}

// TagDescription is one tag of one resource.
type TagDescription struct {
	Key          string `xml:"key"`
	ResourceID   string `xml:"resourceId"`
	ResourceType string `xml:"resourceType"`
	Value        string `xml:"value"`
}

type DescribeTagsOutput struct {
	Tags      api.Items[TagDescription] `xml:"tagSet"`
	NextToken *string                   `xml:"nextToken,omitempty"`
}

// DescribeTags lists the tags of every resource, filtered by key, value,
// resource-id and resource-type.
func (s *Service) DescribeTags(ctx context.Context, in *DescribeTagsInput) (*DescribeTagsOutput, error) {
	if err := s.authorize(ctx, "DescribeTags", "*", in.DryRun); err != nil {
		return nil, err
	}
	var all []TagDescription
	for _, k := range []string{"vpc", "subnet", "security-group", "key-pair", "launch-template", "instance"} {
		items, err := store.List[map[string]any](ctx, s.store, s.keys.of(k))
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			id, _ := it.Value["id"].(string)
			_, typ, _ := kindOf(id)
			for _, t := range rawRecord(it.Value).tags() {
				all = append(all, TagDescription{Key: t.Key, Value: t.Value, ResourceID: id, ResourceType: typ})
			}
		}
	}
	var match []TagDescription
	for _, d := range all {
		keep, err := matchFilters(in.Filters, func(name string) ([]string, bool) {
			switch name {
			case "key":
				return []string{d.Key}, true
			case "value":
				return []string{d.Value}, true
			case "resource-id":
				return []string{d.ResourceID}, true
			case "resource-type":
				return []string{d.ResourceType}, true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if keep {
			match = append(match, d)
		}
	}
	key := func(d TagDescription) string { return d.ResourceID + "\x00" + d.Key }
	slices.SortFunc(match, func(a, b TagDescription) int { return strings.Compare(key(a), key(b)) })
	page, next, err := paginate(match, key, in.NextToken, in.MaxResults, 5, 1000)
	if err != nil {
		return nil, err
	}
	return &DescribeTagsOutput{Tags: api.Items[TagDescription](page), NextToken: next}, nil
}
