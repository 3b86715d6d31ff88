package ec2

import (
	"strings"

	"github.com/berth-dev/berth/internal/store"
)

// matchFilters reports whether a resource passes every filter: a filter
// passes when any of its values matches any of the resource's values for
// that name (EC2's wildcards * and ? allowed). field answers a filter name
// with the resource's values, and false for a name the resource has no
// such filter for (see withTags). An unknown filter name is
// InvalidParameterValue.
func matchFilters(filters []Filter, field func(string) ([]string, bool)) (bool, error) {
	for _, f := range filters {
		have, known := field(f.Name)
		if !known {
			return false, invalidValue("The filter '%s' is invalid", f.Name)
		}
		if !anyMatch(f.Values, have) {
			return false, nil
		}
	}
	return true, nil
}

// withTags extends a resource's filters with tag:<key>, tag-key and
// tag-value over its tags.
func withTags(field func(string) ([]string, bool), tags []Tag) func(string) ([]string, bool) {
	return func(name string) ([]string, bool) {
		if v, ok := field(name); ok {
			return v, ok
		}
		return tagField(name, tags)
	}
}

func tagField(name string, tags []Tag) ([]string, bool) {
	var out []string
	switch {
	case strings.HasPrefix(name, "tag:"):
		for _, t := range tags {
			if t.Key == name[len("tag:"):] {
				out = append(out, t.Value)
			}
		}
	case name == "tag-key":
		for _, t := range tags {
			out = append(out, t.Key)
		}
	case name == "tag-value":
		for _, t := range tags {
			out = append(out, t.Value)
		}
	default:
		return nil, false
	}
	return out, true
}

func anyMatch(patterns, values []string) bool {
	for _, p := range patterns {
		for _, v := range values {
			if wildcard(p, v) {
				return true
			}
		}
	}
	return false
}

// wildcard matches s against p, where * is any run of characters and ?
// any one character, as EC2 filter values are matched.
func wildcard(p, s string) bool {
	star, mark := -1, 0
	i, j := 0, 0
	for j < len(s) {
		switch {
		case i < len(p) && (p[i] == '?' || p[i] == s[j]):
			i++
			j++
		case i < len(p) && p[i] == '*':
			star, mark = i, j
			i++
		case star >= 0:
			i, mark = star+1, mark+1
			j = mark
		default:
			return false
		}
	}
	for i < len(p) && p[i] == '*' {
		i++
	}
	return i == len(p)
}

// paginate returns the page of items (sorted by key) after nextToken, at
// most maxResults (between lo and hi, default all), and the next token,
// with the store's pager.
func paginate[T any](items []T, key func(T) string, nextToken *string, maxResults *int, lo, hi int) ([]T, *string, error) {
	n := len(items)
	if maxResults != nil {
		if *maxResults < lo || *maxResults > hi {
			return nil, nil, invalidValue("Value ( %d ) for parameter maxResults is invalid. Parameter must be between %d and %d.", *maxResults, lo, hi)
		}
		n = *maxResults
	}
	token := ""
	if nextToken != nil {
		token = *nextToken
	}
	page, next, err := store.Page(items, key, token, n)
	if err != nil {
		return nil, nil, invalidValue("The token '%s' is invalid.", token)
	}
	if next == "" {
		return page, nil, nil
	}
	return page, &next, nil
}

// fields answers a filter's name with a resource's values for it.
type fields = func(name string) ([]string, bool)

// filtered is what the Describe calls share once they have their records:
// it views each one, keeps those whose fields (or tags) match every
// filter, and returns the page after token, of 5 to 1000 (all by default).
func filtered[R, V any](items []R, filters []Filter, view func(R) (V, []Tag, fields), id func(V) string, token *string, maxResults *int) ([]V, *string, error) {
	var keep []V
	for _, r := range items {
		v, tags, f := view(r)
		ok, err := matchFilters(filters, withTags(f, tags))
		if err != nil {
			return nil, nil, err
		}
		if ok {
			keep = append(keep, v)
		}
	}
	return paginate(keep, id, token, maxResults, 5, 1000)
}
