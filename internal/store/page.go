package store

import (
	"encoding/base64"
	"errors"
	"slices"
	"sort"
)

// Listings are paged by key: a page resumes after the last key of the page
// before, never at an index, so records written or deleted between two
// pages neither repeat nor hide others. Cursors are opaque to clients.

// ErrCursorGone is PageAfter's error when a listing that is not sorted by
// key no longer holds the key its cursor names, so where to resume is
// unknown.
var ErrCursorGone = errors.New("store: the item a page cursor names is gone")

// PageAfter returns the positions in keys of the page that follows the key
// after (nil: the first page), at most limit long (at least one), and the
// key to resume after when more follow (nil on the last page). keys are
// unique; sorted ascending they may be read in descending order, and an
// after no longer among them still finds its place. In any other order
// (descending is then ignored) after must still be among them, else
// ErrCursorGone.
func PageAfter(keys []string, after *string, descending bool, limit int) ([]int, *string, error) {
	limit = max(limit, 1)
	sorted := slices.IsSorted(keys)
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
		if descending && sorted {
			order[i] = len(keys) - 1 - i
		}
	}
	start := 0
	if after != nil {
		a := *after
		switch {
		case sorted && descending:
			start = sort.Search(len(order), func(i int) bool { return keys[order[i]] < a })
		case sorted:
			start = sort.Search(len(order), func(i int) bool { return keys[order[i]] > a })
		default:
			i := slices.Index(keys, a)
			if i < 0 {
				return nil, nil, ErrCursorGone
			}
			start = i + 1
		}
	}
	end := min(start+limit, len(order))
	out := order[start:end]
	if end < len(order) && len(out) > 0 {
		last := keys[out[len(out)-1]]
		return out, &last, nil
	}
	return out, nil, nil
}

// ErrBadCursor is Page's error for a token that is not a cursor of the
// listing: malformed, or naming an item it no longer holds where that
// leaves the place to resume unknown (ErrCursorGone).
var ErrBadCursor = errors.New("store: not a page cursor of this listing")

// Page returns the page of items, known by key, after the cursor token
// ("" for the first page), at most limit long (see PageAfter), and the
// token of the next page ("" on the last one).
func Page[T any](items []T, key func(T) string, token string, limit int) ([]T, string, error) {
	var after *string
	if token != "" {
		k, err := DecodeCursor(token)
		if err != nil {
			return nil, "", ErrBadCursor
		}
		after = &k
	}
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = key(it)
	}
	idx, last, err := PageAfter(keys, after, false, limit)
	if errors.Is(err, ErrCursorGone) {
		return nil, "", ErrBadCursor
	}
	if err != nil {
		return nil, "", err
	}
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = items[j]
	}
	if last == nil {
		return out, "", nil
	}
	return out, EncodeCursor(*last), nil
}

// EncodeCursor is the opaque token of a page cursor (the last key).
func EncodeCursor(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

// DecodeCursor is the key a token of EncodeCursor names.
func DecodeCursor(token string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
