package elbv2

import (
	"net/netip"
	"regexp"

	"github.com/berth-dev/berth/internal/api"
)

// RuleCondition is ELBv2's RuleCondition shape.
type RuleCondition struct {
	Field                   string
	Values                  api.Members[string]
	HostHeaderConfig        *ValuesConfig      `xml:",omitempty" json:",omitempty"`
	PathPatternConfig       *ValuesConfig      `xml:",omitempty" json:",omitempty"`
	HttpHeaderConfig        *HttpHeaderConfig  `xml:",omitempty" json:",omitempty"`
	QueryStringConfig       *QueryStringConfig `xml:",omitempty" json:",omitempty"`
	HttpRequestMethodConfig *ValuesConfig      `xml:",omitempty" json:",omitempty"`
	SourceIpConfig          *ValuesConfig      `xml:",omitempty" json:",omitempty"`
}

type ValuesConfig struct {
	Values api.Members[string]
}

type HttpHeaderConfig struct {
	HttpHeaderName string
	Values         api.Members[string]
}

type QueryStringConfig struct {
	Values api.Members[QueryStringKeyValue]
}

type QueryStringKeyValue struct {
	Key   string `xml:",omitempty" json:",omitempty"`
	Value string
}

var (
	methodChars = regexp.MustCompile(`^[A-Z_-]{1,40}$`)
	headerName  = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+.^_` + "`" + `|~-]{1,40}$`)
)

// normalizeConditions checks a rule's conditions and returns them as
// ELBv2 describes them.
func normalizeConditions(conds []RuleCondition) ([]RuleCondition, error) {
	if len(conds) == 0 {
		return nil, validation("A rule must have at least one condition")
	}
	total := 0
	seen := map[string]bool{}
	out := make([]RuleCondition, 0, len(conds))
	for _, c := range conds {
		n := RuleCondition{Field: c.Field, Values: api.Members[string]{}}
		simple := func(cfg *ValuesConfig) ([]string, error) {
			if len(c.Values) > 0 && cfg != nil {
				return nil, validation("A condition of field '%s' takes Values or its config, not both", c.Field)
			}
			if cfg != nil {
				return cfg.Values, nil
			}
			return c.Values, nil
		}
		var vals []string
		var err error
		switch c.Field {
		case "path-pattern", "host-header", "http-request-method", "source-ip":
			if c.Field != "http-request-method" && c.Field != "source-ip" && seen[c.Field] {
				return nil, validation("A rule can have one '%s' condition", c.Field)
			}
			cfg := map[string]*ValuesConfig{"path-pattern": c.PathPatternConfig, "host-header": c.HostHeaderConfig,
				"http-request-method": c.HttpRequestMethodConfig, "source-ip": c.SourceIpConfig}[c.Field]
			if vals, err = simple(cfg); err != nil {
				return nil, err
			}
			if len(vals) == 0 {
				return nil, validation("A condition of field '%s' needs at least one value", c.Field)
			}
			for _, v := range vals {
				if err := checkConditionValue(c.Field, v); err != nil {
					return nil, err
				}
			}
			vc := &ValuesConfig{Values: vals}
			switch c.Field {
			case "path-pattern":
				n.PathPatternConfig, n.Values = vc, vals
			case "host-header":
				n.HostHeaderConfig, n.Values = vc, vals
			case "http-request-method":
				n.HttpRequestMethodConfig = vc
			case "source-ip":
				n.SourceIpConfig = vc
			}
		case "http-header":
			h := c.HttpHeaderConfig
			if h == nil || len(c.Values) > 0 {
				return nil, validation("An http-header condition takes HttpHeaderConfig")
			}
			if !headerName.MatchString(h.HttpHeaderName) {
				return nil, validation("HTTP header name '%s' is not valid", h.HttpHeaderName)
			}
			if len(h.Values) == 0 {
				return nil, validation("An http-header condition needs at least one value")
			}
			for _, v := range h.Values {
				if len(v) > 128 {
					return nil, check.Length("httpHeaderConfig.values", v, 1, 128)
				}
			}
			vals = h.Values
			n.HttpHeaderConfig = &HttpHeaderConfig{HttpHeaderName: h.HttpHeaderName, Values: h.Values}
		case "query-string":
			q := c.QueryStringConfig
			if q == nil || len(c.Values) > 0 || len(q.Values) == 0 {
				return nil, validation("A query-string condition takes QueryStringConfig with at least one pair")
			}
			for _, kv := range q.Values {
				if kv.Value == "" || len(kv.Value) > 128 || len(kv.Key) > 128 {
					return nil, validation("Each query-string pair needs a value of at most 128 characters (and a key of at most 128)")
				}
				vals = append(vals, kv.Value)
			}
			n.QueryStringConfig = &QueryStringConfig{Values: q.Values}
		case "":
			return nil, check.Null("conditions.member.field")
		default:
			return nil, validation("Condition field '%s' must be one of path-pattern, host-header, http-header, http-request-method, query-string, source-ip", c.Field)
		}
		seen[c.Field] = true
		total += len(vals)
		out = append(out, n)
	}
	if total > maxConditionValues {
		return nil, validation("A rule can have at most %d condition values; %d were given", maxConditionValues, total)
	}
	return out, nil
}

func checkConditionValue(field, v string) error {
	switch field {
	case "path-pattern", "host-header":
		if v == "" || len(v) > 128 {
			return check.Length(field+".values", v, 1, 128)
		}
	case "http-request-method":
		if !methodChars.MatchString(v) {
			return validation("HTTP request method '%s' must be 1 to 40 characters of A-Z, '-' and '_'", v)
		}
	case "source-ip":
		if _, err := netip.ParsePrefix(v); err != nil {
			return validation("Source IP '%s' must be a CIDR block, such as 192.0.2.0/24", v)
		}
	}
	return nil
}
