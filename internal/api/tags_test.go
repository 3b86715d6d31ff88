package api

import (
	"strings"
	"testing"
)

func TestTagRules(t *testing.T) {
	type kv struct{ k, v string }
	strict := TagRules{Code: "InvalidTagParameterException", Field: "tags", Max: 3, Chars: true, Unique: true}
	loose := TagRules{Code: "InvalidParameterException", Field: "tags", Max: 3}
	iam := TagRules{Code: "ValidationError", Field: "Tags", Max: 3, Chars: true, Unique: true, CaseInsensitive: true}
	for _, tc := range []struct {
		name  string
		rules TagRules
		tags  []kv
		want  string // code, or "" for valid; then a part of the message
		msg   string
	}{
		{"valid", strict, []kv{{"team", "a b"}, {"x:y", ""}}, "", ""},
		{"too many", strict, []kv{{"a", ""}, {"b", ""}, {"c", ""}, {"d", ""}}, "InvalidTagParameterException", "less than or equal to 3"},
		{"empty key", loose, []kv{{"", "v"}}, "InvalidParameterException", "at 'tags.1.member.key'"},
		{"long key", loose, []kv{{strings.Repeat("k", 129), ""}}, "InvalidParameterException", "between 1 and 128"},
		{"128 multibyte runes", loose, []kv{{strings.Repeat("é", 128), ""}}, "", ""},
		{"long value", loose, []kv{{"k", strings.Repeat("v", 257)}}, "InvalidParameterException", "at 'tags.1.member.value'"},
		{"reserved any case", loose, []kv{{"ok", ""}, {"AWS:x", ""}}, "InvalidParameterException", "reserved"},
		{"characters checked", strict, []kv{{"k", "no;semicolons"}}, "InvalidTagParameterException", "regular expression"},
		{"characters not checked", loose, []kv{{"k", "no;semicolons"}}, "", ""},
		{"duplicate", strict, []kv{{"a", "1"}, {"a", "2"}}, "InvalidTagParameterException", "Duplicate"},
		{"duplicate without case", iam, []kv{{"Team", "1"}, {"team", "2"}}, "ValidationError", "case insensitive"},
		{"case differs, case sensitive", strict, []kv{{"Team", "1"}, {"team", "2"}}, "", ""},
		{"tenth member", loose, []kv{{"a", ""}, {"b", ""}, {"", ""}}, "InvalidParameterException", "tags.3.member"},
		{"custom too many", TagRules{Code: "X", Max: 1, TooMany: func() error { return Errorf("TooManyTagsException", "no") }}, []kv{{"a", ""}, {"b", ""}}, "TooManyTagsException", "no"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.rules.Check(len(tc.tags), func(i int) (string, string) { return tc.tags[i].k, tc.tags[i].v })
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v", err)
				}
				return
			}
			if err == nil || AsError(err).Code != tc.want || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %s containing %q", err, tc.want, tc.msg)
			}
		})
	}
}
