package logs

import (
	"strings"

	"github.com/berth-dev/berth/internal/api"
)

// compilePattern returns a matcher for a filter pattern of terms, the
// CloudWatch Logs syntax for unstructured events: every term must occur
// (case-sensitive), "-term" must not, and when any "?term" is given at
// least one of them must. A term in double quotes may hold spaces.
// JSON and space-delimited patterns ({...}, [...]) are not supported.
func compilePattern(pattern string) (func(string) bool, error) {
	pattern = strings.TrimSpace(pattern)
	if pattern == "" {
		return func(string) bool { return true }, nil
	}
	if pattern[0] == '{' || pattern[0] == '[' {
		return nil, api.InvalidParameter("Invalid filter pattern %q: only term patterns are supported.", pattern)
	}
	var all, none, any []string
	for _, t := range terms(pattern) {
		switch {
		case len(t) > 1 && t[0] == '-':
			none = append(none, unquote(t[1:]))
		case len(t) > 1 && t[0] == '?':
			any = append(any, unquote(t[1:]))
		default:
			all = append(all, unquote(t))
		}
	}
	return func(msg string) bool {
		for _, t := range all {
			if !strings.Contains(msg, t) {
				return false
			}
		}
		for _, t := range none {
			if strings.Contains(msg, t) {
				return false
			}
		}
		for _, t := range any {
			if strings.Contains(msg, t) {
				return true
			}
		}
		return len(any) == 0
	}, nil
}

// terms splits a pattern at spaces outside double quotes.
func terms(pattern string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range pattern {
		switch {
		case r == '"':
			quoted = !quoted
			cur.WriteRune(r)
		case r == ' ' && !quoted:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

func unquote(t string) string {
	if len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
		return t[1 : len(t)-1]
	}
	return t
}
