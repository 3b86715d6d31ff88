package lb

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// matches reports whether a request meets every condition of a rule.
func matches(conds []Condition, r *http.Request) bool {
	for _, c := range conds {
		if !matchOne(c, r) {
			return false
		}
	}
	return true
}

// matchOne reports whether any of a condition's values matches.
func matchOne(c Condition, r *http.Request) bool {
	switch c.Field {
	case "path-pattern":
		return anyValue(c.Values, func(v string) bool { return wildcard(v, r.URL.Path, false) })
	case "host-header":
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		return anyValue(c.Values, func(v string) bool { return wildcard(v, host, true) })
	case "http-header":
		have := r.Header.Values(c.Header)
		return anyValue(c.Values, func(v string) bool {
			return anyValue(have, func(h string) bool { return wildcard(v, h, true) })
		})
	case "http-request-method":
		return anyValue(c.Values, func(v string) bool { return v == r.Method })
	case "query-string":
		q := r.URL.Query()
		for _, kv := range c.Query {
			for k, vs := range q {
				if kv.Key != "" && !wildcard(kv.Key, k, true) {
					continue
				}
				if anyValue(vs, func(v string) bool { return wildcard(kv.Value, v, true) }) {
					return true
				}
			}
		}
		return false
	case "source-ip":
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			return false
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return false
		}
		return anyValue(c.Values, func(v string) bool {
			p, err := netip.ParsePrefix(v)
			return err == nil && p.Contains(ip.Unmap())
		})
	}
	return false
}

func anyValue(vs []string, f func(string) bool) bool {
	for _, v := range vs {
		if f(v) {
			return true
		}
	}
	return false
}

// wildcard matches s against pattern, where * is any run of characters
// and ? one character.
func wildcard(pattern, s string, fold bool) bool {
	if fold {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	// Iterative matching with backtracking to the last star.
	p, i, star, mark := 0, 0, -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
