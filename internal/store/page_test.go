package store

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestPageAfter(t *testing.T) {
	str := func(s string) *string { return &s }
	sorted := []string{"a", "b", "c", "d", "e"}
	for _, tc := range []struct {
		name       string
		keys       []string
		after      *string
		descending bool
		limit      int
		want       []int
		last       *string
		err        error
	}{
		{"first page", sorted, nil, false, 2, []int{0, 1}, str("b"), nil},
		{"middle", sorted, str("b"), false, 2, []int{2, 3}, str("d"), nil},
		{"last page", sorted, str("c"), false, 2, []int{3, 4}, nil, nil},
		{"after the end", sorted, str("e"), false, 2, []int{}, nil, nil},
		{"cursor deleted meanwhile", sorted, str("bb"), false, 2, []int{2, 3}, str("d"), nil},
		{"descending", sorted, nil, true, 2, []int{4, 3}, str("d"), nil},
		{"descending on", sorted, str("d"), true, 2, []int{2, 1}, str("b"), nil},
		{"descending, cursor deleted", sorted, str("cc"), true, 5, []int{2, 1, 0}, nil, nil},
		{"limit at least one", sorted, nil, false, 0, []int{0}, str("a"), nil},
		{"empty", nil, nil, false, 3, []int{}, nil, nil},
		{"own order", []string{"k2", "k1", "k3"}, str("k2"), false, 1, []int{1}, str("k1"), nil},
		{"own order, last", []string{"k2", "k1", "k3"}, str("k1"), true, 5, []int{2}, nil, nil},
		{"own order, cursor gone", []string{"k2", "k1", "k3"}, str("k0"), false, 1, nil, nil, ErrCursorGone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idx, last, err := PageAfter(tc.keys, tc.after, tc.descending, tc.limit)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if !slices.Equal(idx, tc.want) || (last == nil) != (tc.last == nil) || (last != nil && *last != *tc.last) {
				t.Fatalf("PageAfter = %v, %v; want %v, %v", idx, deref(last), tc.want, deref(tc.last))
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func TestCursor(t *testing.T) {
	for _, k := range []string{"", "a", "/berth/x:y\x00z", "ünï"} {
		tok := EncodeCursor(k)
		if got, err := DecodeCursor(tok); err != nil || got != k {
			t.Errorf("round trip of %q = %q, %v", k, got, err)
		}
	}
	if _, err := DecodeCursor("not base64!"); err == nil {
		t.Error("a bad token decoded")
	}
}

// TestPage: items are paged by their keys, each page's token leads to the
// next, and a token that is malformed or names an item an unsorted
// listing no longer holds is ErrBadCursor.
func TestPage(t *testing.T) {
	type item struct{ name string }
	key := func(i item) string { return i.name }
	items := []item{{"a"}, {"b"}, {"c"}, {"d"}, {"e"}}
	var got []string
	token := ""
	for pages := 0; ; pages++ {
		page, next, err := Page(items, key, token, 2)
		if err != nil || pages > 3 {
			t.Fatalf("page %d: %v %v", pages, page, err)
		}
		for _, it := range page {
			got = append(got, it.name)
		}
		if next == "" {
			break
		}
		token = next
	}
	if strings.Join(got, "") != "abcde" {
		t.Fatalf("paged %v", got)
	}
	unsorted := []item{{"c"}, {"a"}, {"b"}}
	for _, tok := range []string{"!!not base64", EncodeCursor("gone")} {
		if _, _, err := Page(unsorted, key, tok, 2); !errors.Is(err, ErrBadCursor) {
			t.Fatalf("token %q: %v, want ErrBadCursor", tok, err)
		}
	}
}
