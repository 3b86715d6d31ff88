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
		if p == resource || matchResourceARN(p, resource) {
			return true
		}
	}
	return false
}

// matchResourceARN matches a Resource pattern the way AWS documents it:
// wildcards work within a colon-separated segment of the ARN, and a '*'
// that ends a segment may also run across the colons after it.
func matchResourceARN(p, s string) bool {
	if !segmentBound(p) {
		return wildcardMatch(p, s)
	}
	// Simulate the pattern as an automaton whose states are byte offsets
	// into p; at most len(p)+1 states are live at once.
	var small [2][130]bool
	cur, next := small[0][:], small[1][:]
	if len(p)+2 > len(cur) {
		cur, next = make([]bool, len(p)+2), make([]bool, len(p)+2)
	}
	cur[0] = true
	starClosure(p, cur)
	for _, r := range s {
		clear(next[:len(p)+1])
		any := false
		for i := 0; i < len(p); i++ {
			if !cur[i] {
				continue
			}
			pc, n := utf8.DecodeRuneInString(p[i:])
			switch {
			case pc == '*':
				if r != ':' || i+1 == len(p) || p[i+1] == ':' {
					next[i], any = true, true
				}
			case pc == '?':
				if r != ':' {
					next[i+n], any = true, true
				}
			case pc == r:
				next[i+n], any = true, true
			}
		}
		if !any {
			return false
		}
		starClosure(p, next)
		cur, next = next, cur
	}
	return cur[len(p)]
}

// segmentBound reports whether p has a wildcard that must stay inside its
// ARN segment: a '?' or a '*' that does not end a segment.
func segmentBound(p string) bool {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '?':
			return true
		case '*':
			if i+1 < len(p) && p[i+1] != ':' {
				return true
			}
		}
	}
	return false
}

// starClosure lets every live '*' state also match the empty string.
func starClosure(p string, states []bool) {
	for i := 0; i < len(p); i++ {
		if states[i] && p[i] == '*' {
			states[i+1] = true
		}
	}
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
		if vals := c.get(strings.ToLower(key)); len(vals) == 1 {
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
