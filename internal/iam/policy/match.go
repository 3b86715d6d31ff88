package policy

import (
	"strings"
	"unicode/utf8"
)

// wildcardMatch reports whether s matches pattern, where '*' matches any
// run of characters (':' and '/' included) and '?' any single character.
// It runs in O(len(pattern)·len(s)) at worst, backtracking only to the
// last '*'.
func wildcardMatch(pattern, s string) bool {
	px, sx := 0, 0
	starP, starS := -1, 0
	for sx < len(s) {
		if px < len(pattern) {
			switch c := pattern[px]; {
			case c == '*':
				starP, starS = px, sx
				px++
				continue
			case c == '?':
				_, n := utf8.DecodeRuneInString(s[sx:])
				px++
				sx += n
				continue
			case c == s[sx]:
				px++
				sx++
				continue
			}
		}
		if starP < 0 {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[starS:])
		starS += n
		px, sx = starP+1, starS
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}

// matchAction reports whether the lower-cased action matches any of the
// statement's lower-cased action patterns.
func matchAction(patterns []string, action string) bool {
	for _, p := range patterns {
		if p == "*" || p == action || wildcardMatch(p, action) {
			return true
		}
	}
	return false
}

// matchResource reports whether resource matches any pattern after policy
// variables are substituted. A pattern whose variable cannot be resolved
// matches nothing, as AWS documents.
func matchResource(patterns []string, resource string, vars bool, c *evalContext) bool {
	for _, p := range patterns {
		if p == "*" {
			return true
		}
		if vars && strings.Contains(p, "${") {
			var ok bool
			if p, ok = expand(p, c); !ok {
				continue
			}
		}
		if p == resource || wildcardMatch(p, resource) {
			return true
		}
	}
	return false
}

// expand substitutes the ${...} policy variables in s from the request
// context. ${*}, ${?} and ${$} stand for the literal characters, and
// ${key, 'default'} falls back to default when key has no single value.
// It reports false when a variable has neither a value nor a default.
func expand(s string, c *evalContext) (string, bool) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		b.WriteString(s[:i])
		name := s[i+2 : i+j]
		s = s[i+j+1:]
		switch name {
		case "*", "?", "$":
			b.WriteString(name)
			continue
		}
		key, def, hasDef := variableDefault(name)
		if vals := c.get(key); len(vals) == 1 {
			b.WriteString(vals[0])
		} else if hasDef {
			b.WriteString(def)
		} else {
			return "", false
		}
	}
}

// variableDefault splits "key, 'default'" into its parts.
func variableDefault(name string) (key, def string, ok bool) {
	k, d, found := strings.Cut(name, ",")
	if !found {
		return strings.TrimSpace(name), "", false
	}
	d = strings.TrimSpace(d)
	if len(d) < 2 || d[0] != '\'' || d[len(d)-1] != '\'' {
		return strings.TrimSpace(k), "", false
	}
	return strings.TrimSpace(k), d[1 : len(d)-1], true
}
