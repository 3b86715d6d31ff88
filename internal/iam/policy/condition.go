package policy

import (
	"encoding/json"
	"net/netip"
	"strings"
	"time"
)

// Condition is one key of one operator in a Condition block:
// "Operator": {"Key": Values}. A statement's conditions all have to hold.
type Condition struct {
	// Operator is the operator as written, e.g. "ForAnyValue:StringLikeIfExists".
	Operator string
	// Key is the condition key as written; keys match case-insensitively.
	Key string
	// Values are the policy's values, any of which may match (OR); JSON
	// numbers and booleans are kept as their text.
	Values []string

	op       operator
	key      string // lower-cased Key
	set      setOperator
	ifExists bool
	nums     []float64
	times    []time.Time
	nets     []netip.Prefix
}

type setOperator uint8

const (
	setNone setOperator = iota
	setAnyValue
	setAllValues
)

// parseConditions reads {"Operator": {"key": value-or-values, ...}, ...}.
func parseConditions(raw json.RawMessage) ([]Condition, *MalformedError) {
	var block map[string]map[string]json.RawMessage
	if err := json.Unmarshal(raw, &block); err != nil {
		return nil, malformed("Syntax errors in policy: Condition must map operators to {\"key\": values} objects.")
	}
	var out []Condition
	for _, opName := range sortedKeys(block) {
		keys := block[opName]
		for _, key := range sortedKeys(keys) {
			c, err := parseCondition(opName, key, keys[key])
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	if len(out) > MaxValues {
		return nil, malformed("Condition has more than %d keys.", MaxValues)
	}
	return out, nil
}

func parseCondition(opName, key string, raw json.RawMessage) (Condition, *MalformedError) {
	c := Condition{Operator: opName, Key: key, key: strings.ToLower(key)}
	name := opName
	if set, rest, ok := strings.Cut(name, ":"); ok {
		switch strings.ToLower(set) {
		case "foranyvalue":
			c.set = setAnyValue
		case "forallvalues":
			c.set = setAllValues
		default:
			return c, malformed("Invalid Condition type : %s.", opName)
		}
		name = rest
	}
	lower := strings.ToLower(name)
	if base, ok := strings.CutSuffix(lower, "ifexists"); ok && base != "null" {
		c.ifExists, lower = true, base
	}
	op, ok := operators[lower]
	if !ok {
		return c, malformed("Invalid Condition type : %s.", opName)
	}
	c.op = op
	if key == "" || !strings.Contains(key, ":") {
		return c, malformed("Condition key %q must be prefaced by a vendor, e.g. aws:SourceIp.", key)
	}
	vals, err := parseConditionValues(raw)
	if err != nil {
		return c, err
	}
	c.Values = vals
	return c, c.compile()
}

// parseConditionValues reads a string, number or boolean, or an array of them.
func parseConditionValues(raw json.RawMessage) ([]string, *MalformedError) {
	var list []json.RawMessage
	if isArray(raw) {
		if json.Unmarshal(raw, &list) != nil {
			return nil, malformed("Syntax errors in policy: condition values must be strings, numbers or booleans.")
		}
	} else {
		list = []json.RawMessage{raw}
	}
	if len(list) == 0 {
		return nil, malformed("Condition values must not be empty.")
	}
	if len(list) > MaxValues {
		return nil, malformed("Condition has more than %d values.", MaxValues)
	}
	out := make([]string, 0, len(list))
	for _, r := range list {
		var v any
		dec := json.NewDecoder(strings.NewReader(string(r)))
		dec.UseNumber()
		if dec.Decode(&v) != nil {
			return nil, malformed("Syntax errors in policy: bad condition value.")
		}
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case json.Number:
			out = append(out, v.String())
		case bool:
			if v {
				out = append(out, "true")
			} else {
				out = append(out, "false")
			}
		default:
			return nil, malformed("Syntax errors in policy: condition values must be strings, numbers or booleans.")
		}
	}
	return out, nil
}

// compile checks and pre-parses typed values, so evaluation never fails on
// the policy side.
func (c *Condition) compile() *MalformedError {
	for _, v := range c.Values {
		switch c.op.kind {
		case kindNumeric:
			n, ok := parseNumber(v)
			if !ok {
				return malformed("Condition %s: %q is not a number.", c.Operator, v)
			}
			c.nums = append(c.nums, n)
		case kindDate:
			t, ok := parseDate(v)
			if !ok {
				return malformed("Condition %s: %q is not an ISO 8601 date or epoch time.", c.Operator, v)
			}
			c.times = append(c.times, t)
		case kindIP:
			p, ok := parsePrefix(v)
			if !ok {
				return malformed("Condition %s: %q is not an IP address or CIDR block.", c.Operator, v)
			}
			c.nets = append(c.nets, p)
		case kindBool, kindNull:
			if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
				return malformed("Condition %s: %q must be true or false.", c.Operator, v)
			}
		}
	}
	return nil
}

// eval reports whether the condition holds for the request context.
func (c *Condition) eval(ctx *evalContext, vars bool) bool {
	vals := ctx.get(c.key)
	absent := isNull(vals)
	if c.op.kind == kindNull {
		for _, v := range c.Values {
			if strings.EqualFold(v, "true") == absent {
				return true
			}
		}
		return false
	}
	if absent {
		switch {
		case c.ifExists:
			return true
		case c.set == setAnyValue:
			return false
		case c.set == setAllValues:
			return true
		}
		return c.op.negate
	}
	// Without a set operator a negated operator must hold for every request
	// value (none of them matches), a positive one for any.
	all := c.set == setAllValues || (c.set == setNone && c.op.negate)
	for _, v := range vals {
		ok := c.matchOne(v, ctx, vars) != c.op.negate
		if all && !ok {
			return false
		}
		if !all && ok {
			return true
		}
	}
	return all
}

// isNull reports whether a key's values are a null data set: no values,
// or only empty strings. Null, IfExists and the set operators treat such a
// key as missing.
func isNull(vals []string) bool {
	for _, v := range vals {
		if v != "" {
			return false
		}
	}
	return true
}
