package policy

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

type opKind uint8

const (
	kindString opKind = iota
	kindStringIgnoreCase
	kindStringLike
	kindNumeric
	kindDate
	kindBool
	kindBinary
	kindIP
	kindARN
	kindNull
)

type comparison uint8

const (
	cmpEq comparison = iota
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

// operator is a condition operator with its set and IfExists modifiers stripped.
type operator struct {
	kind   opKind
	cmp    comparison
	negate bool // a "Not" operator: true when no policy value matches
}

// operators maps lower-cased base operator names to their behaviour.
var operators = map[string]operator{
	"stringequals":              {kind: kindString},
	"stringnotequals":           {kind: kindString, negate: true},
	"stringequalsignorecase":    {kind: kindStringIgnoreCase},
	"stringnotequalsignorecase": {kind: kindStringIgnoreCase, negate: true},
	"stringlike":                {kind: kindStringLike},
	"stringnotlike":             {kind: kindStringLike, negate: true},
	"numericequals":             {kind: kindNumeric},
	"numericnotequals":          {kind: kindNumeric, negate: true},
	"numericlessthan":           {kind: kindNumeric, cmp: cmpLt},
	"numericlessthanequals":     {kind: kindNumeric, cmp: cmpLe},
	"numericgreaterthan":        {kind: kindNumeric, cmp: cmpGt},
	"numericgreaterthanequals":  {kind: kindNumeric, cmp: cmpGe},
	"dateequals":                {kind: kindDate},
	"datenotequals":             {kind: kindDate, negate: true},
	"datelessthan":              {kind: kindDate, cmp: cmpLt},
	"datelessthanequals":        {kind: kindDate, cmp: cmpLe},
	"dategreaterthan":           {kind: kindDate, cmp: cmpGt},
	"dategreaterthanequals":     {kind: kindDate, cmp: cmpGe},
	"bool":                      {kind: kindBool},
	"binaryequals":              {kind: kindBinary},
	"ipaddress":                 {kind: kindIP},
	"notipaddress":              {kind: kindIP, negate: true},
	"arnequals":                 {kind: kindARN},
	"arnlike":                   {kind: kindARN},
	"arnnotequals":              {kind: kindARN, negate: true},
	"arnnotlike":                {kind: kindARN, negate: true},
	"null":                      {kind: kindNull},
}

// matchOne reports whether the request value v matches any policy value,
// before negation.
func (c *Condition) matchOne(v string, ctx *evalContext, vars bool) bool {
	switch c.op.kind {
	case kindNumeric:
		n, ok := parseNumber(v)
		if !ok {
			return false
		}
		for _, p := range c.nums {
			if compare(c.op.cmp, n < p, n == p) {
				return true
			}
		}
		return false
	case kindDate:
		t, ok := parseDate(v)
		if !ok {
			return false
		}
		for _, p := range c.times {
			if compare(c.op.cmp, t.Before(p), t.Equal(p)) {
				return true
			}
		}
		return false
	case kindIP:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return false
		}
		a = a.Unmap()
		for _, p := range c.nets {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	for _, p := range c.Values {
		if vars && (c.op.kind == kindString || c.op.kind == kindStringIgnoreCase ||
			c.op.kind == kindStringLike || c.op.kind == kindARN) && strings.Contains(p, "${") {
			var ok bool
			if p, ok = expand(p, ctx); !ok {
				continue
			}
		}
		if matchString(c.op.kind, p, v) {
			return true
		}
	}
	return false
}

func matchString(kind opKind, p, v string) bool {
	switch kind {
	case kindString, kindBinary:
		return p == v
	case kindStringIgnoreCase, kindBool:
		return strings.EqualFold(p, v)
	case kindStringLike:
		return wildcardMatch(p, v)
	case kindARN:
		return matchARN(p, v)
	}
	return false
}

// matchARN compares the six colon-separated parts of an ARN one by one,
// each with wildcards, as ArnEquals and ArnLike do.
func matchARN(pattern, arn string) bool {
	if pattern == "*" {
		return true
	}
	pp := strings.SplitN(pattern, ":", 6)
	ap := strings.SplitN(arn, ":", 6)
	if len(pp) != 6 || len(ap) != 6 {
		return false
	}
	for i := range pp {
		if !wildcardMatch(pp[i], ap[i]) {
			return false
		}
	}
	return true
}

func compare(c comparison, less, equal bool) bool {
	switch c {
	case cmpEq:
		return equal
	case cmpLt:
		return less
	case cmpLe:
		return less || equal
	case cmpGt:
		return !less && !equal
	default:
		return !less
	}
}

func parseNumber(s string) (float64, bool) {
	n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return n, err == nil
}

// dateLayouts are the ISO 8601 forms accepted besides epoch seconds.
var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"20060102T150405Z",
	"2006-01-02",
}

// parseDate reads an ISO 8601 date-time or a count of seconds since the epoch.
func parseDate(s string) (time.Time, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < -1<<40 || n > 1<<40 {
			return time.Time{}, false
		}
		return time.Unix(n, 0).UTC(), true
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parsePrefix reads a CIDR block or a single address (a /32 or /128).
func parsePrefix(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}
