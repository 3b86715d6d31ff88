package elbv2

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/api"
)

// ruleRecord is a listener rule as stored inside its listener.
type ruleRecord struct {
	ARN        string          `json:"arn"`
	Priority   int             `json:"priority"`
	Conditions []RuleCondition `json:"conditions"`
	Actions    []Action        `json:"actions"`
	Tags       []Tag           `json:"tags,omitempty"`
}

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

// Rule is ELBv2's Rule shape.
type Rule struct {
	RuleArn    string
	Priority   string
	Conditions api.Members[RuleCondition]
	Actions    api.Members[Action]
	IsDefault  bool
}

type RulesOutput struct {
	Rules      api.Members[Rule]
	NextMarker string `xml:",omitempty"`
}

// rules are a listener's rules as described: by priority, the default last.
func rules(l listenerRecord) []Rule {
	rs := slices.Clone(l.Rules)
	slices.SortFunc(rs, func(a, b ruleRecord) int { return a.Priority - b.Priority })
	out := make([]Rule, 0, len(rs)+1)
	for _, r := range rs {
		out = append(out, ruleShape(r))
	}
	return append(out, Rule{RuleArn: l.DefaultRule, Priority: "default", Conditions: api.Members[RuleCondition]{}, Actions: l.DefaultActions, IsDefault: true})
}

func ruleShape(r ruleRecord) Rule {
	return Rule{RuleArn: r.ARN, Priority: strconv.Itoa(r.Priority), Conditions: r.Conditions, Actions: r.Actions}
}

type CreateRuleInput struct {
	ListenerArn string
	Conditions  []RuleCondition
	Priority    *int
	Actions     []Action
	Tags        []Tag
}

// CreateRule adds a rule to an HTTP listener at a priority no other rule
// of the listener has.
func (s *Service) CreateRule(ctx context.Context, in *CreateRuleInput) (*RulesOutput, error) {
	it, i, err := s.findListener(ctx, in.ListenerArn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "CreateRule", in.ListenerArn); err != nil {
		return nil, err
	}
	if it.Value.Listeners[i].Protocol != "HTTP" {
		return nil, api.Errorf(codeUnsupportedProtocol, "Listener '%s' is a %s listener; only HTTP listeners have rules", in.ListenerArn, it.Value.Listeners[i].Protocol)
	}
	if in.Priority == nil {
		return nil, check.Null("priority")
	}
	if err := check.Range("priority", *in.Priority, 1, 50000); err != nil {
		return nil, err
	}
	conds, err := normalizeConditions(in.Conditions)
	if err != nil {
		return nil, err
	}
	acts, err := normalizeActions("actions", in.Actions, it.Value.Type)
	if err != nil {
		return nil, err
	}
	tags, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	rec := ruleRecord{ARN: strings.Replace(in.ListenerArn, ":listener/", ":listener-rule/", 1) + "/" + newID(),
		Priority: *in.Priority, Conditions: conds, Actions: acts, Tags: tags}
	err = s.mutate(ctx, it.Value.ARN, func(r *lbRecord) error {
		l := r.listener(in.ListenerArn)
		if l == nil {
			return api.Errorf(codeListenerNotFound, "Listener '%s' not found", in.ListenerArn)
		}
		if slices.ContainsFunc(l.Rules, func(o ruleRecord) bool { return o.Priority == rec.Priority }) {
			return api.Errorf(codePriorityInUse, "Priority '%d' is currently in use", rec.Priority)
		}
		if len(l.Rules) >= maxRules {
			return api.Errorf(codeTooManyRules, "You've reached the limit on the number of rules per listener (%d)", maxRules)
		}
		l.Rules = append(l.Rules, rec)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &RulesOutput{Rules: api.Members[Rule]{ruleShape(rec)}}, nil
}

// findRule returns the load balancer of a rule ARN, and the listener's
// index and the rule's (-1: the default rule), or RuleNotFound.
func (s *Service) findRule(ctx context.Context, arn string) (lbRecord, int, int, error) {
	if arn == "" {
		return lbRecord{}, 0, 0, check.Null("ruleArn")
	}
	notFound := api.Errorf(codeRuleNotFound, "Rule '%s' not found", arn)
	parts, ok := s.arnParts(arn, "listener-rule")
	if !ok || len(parts) != 5 {
		return lbRecord{}, 0, 0, notFound
	}
	it, li, err := s.findListener(ctx, s.arn("listener/"+strings.Join(parts[:4], "/")))
	if codeOf(err) == codeListenerNotFound {
		return lbRecord{}, 0, 0, notFound
	}
	if err != nil {
		return lbRecord{}, 0, 0, err
	}
	l := it.Value.Listeners[li]
	if l.DefaultRule == arn {
		return it.Value, li, -1, nil
	}
	ri := slices.IndexFunc(l.Rules, func(r ruleRecord) bool { return r.ARN == arn })
	if ri < 0 {
		return lbRecord{}, 0, 0, notFound
	}
	return it.Value, li, ri, nil
}

type DescribeRulesInput struct {
	ListenerArn string
	RuleArns    []string
	Marker      string
	PageSize    int
}

// DescribeRules lists a listener's rules, or rules by ARN.
func (s *Service) DescribeRules(ctx context.Context, in *DescribeRulesInput) (*RulesOutput, error) {
	if err := s.authorize(ctx, "DescribeRules", "*"); err != nil {
		return nil, err
	}
	if (in.ListenerArn == "") == (len(in.RuleArns) == 0) {
		return nil, validation("You must specify either listener rule ARNs or a listener ARN")
	}
	var all []Rule
	if in.ListenerArn != "" {
		it, i, err := s.findListener(ctx, in.ListenerArn)
		if err != nil {
			return nil, err
		}
		all = rules(it.Value.Listeners[i])
	} else {
		for _, arn := range in.RuleArns {
			lb, li, ri, err := s.findRule(ctx, arn)
			if err != nil {
				return nil, err
			}
			rs := rules(lb.Listeners[li])
			if ri < 0 {
				all = append(all, rs[len(rs)-1])
			} else {
				all = append(all, ruleShape(lb.Listeners[li].Rules[ri]))
			}
		}
	}
	// Pages follow the rules' order, not their ARNs'.
	keyed := make([]string, len(all))
	for i := range all {
		keyed[i] = fmt.Sprintf("%08d", i)
	}
	idx := make([]int, len(all))
	for i := range idx {
		idx[i] = i
	}
	pageIdx, next, err := page(idx, func(i int) string { return keyed[i] }, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	out := &RulesOutput{Rules: api.Members[Rule]{}, NextMarker: next}
	for _, i := range pageIdx {
		out.Rules = append(out.Rules, all[i])
	}
	return out, nil
}

type ModifyRuleInput struct {
	RuleArn    string
	Conditions []RuleCondition
	Actions    []Action
}

// ModifyRule replaces a rule's conditions or actions; the default rule's
// actions are its listener's default actions, and it has no conditions.
func (s *Service) ModifyRule(ctx context.Context, in *ModifyRuleInput) (*RulesOutput, error) {
	lb, _, ri, err := s.findRule(ctx, in.RuleArn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "ModifyRule", in.RuleArn); err != nil {
		return nil, err
	}
	if ri < 0 && len(in.Conditions) > 0 {
		return nil, api.Errorf(codeNotPermitted, "The conditions of default rule '%s' cannot be modified", in.RuleArn)
	}
	var conds []RuleCondition
	if len(in.Conditions) > 0 {
		if conds, err = normalizeConditions(in.Conditions); err != nil {
			return nil, err
		}
	}
	var acts []Action
	if len(in.Actions) > 0 {
		if acts, err = normalizeActions("actions", in.Actions, lb.Type); err != nil {
			return nil, err
		}
	}
	var out Rule
	err = s.mutate(ctx, lb.ARN, func(r *lbRecord) error {
		lbr, li, ri, err := s.findRuleIn(*r, in.RuleArn)
		if err != nil {
			return err
		}
		_ = lbr
		l := &r.Listeners[li]
		if ri < 0 {
			if acts != nil {
				l.DefaultActions = acts
			}
			rs := rules(*l)
			out = rs[len(rs)-1]
			return nil
		}
		rule := &l.Rules[ri]
		if conds != nil {
			rule.Conditions = conds
		}
		if acts != nil {
			rule.Actions = acts
		}
		out = ruleShape(*rule)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &RulesOutput{Rules: api.Members[Rule]{out}}, nil
}

// findRuleIn finds a rule in a load balancer record being changed.
func (s *Service) findRuleIn(r lbRecord, arn string) (lbRecord, int, int, error) {
	for li, l := range r.Listeners {
		if l.DefaultRule == arn {
			return r, li, -1, nil
		}
		for ri, rule := range l.Rules {
			if rule.ARN == arn {
				return r, li, ri, nil
			}
		}
	}
	return r, 0, 0, api.Errorf(codeRuleNotFound, "Rule '%s' not found", arn)
}

type RuleArnInput struct {
	RuleArn string
}

// DeleteRule deletes a rule; the default rule stays while its listener does.
func (s *Service) DeleteRule(ctx context.Context, in *RuleArnInput) (*struct{}, error) {
	lb, _, ri, err := s.findRule(ctx, in.RuleArn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "DeleteRule", in.RuleArn); err != nil {
		return nil, err
	}
	if ri < 0 {
		return nil, api.Errorf(codeNotPermitted, "Default rule '%s' cannot be deleted", in.RuleArn)
	}
	return nil, s.mutate(ctx, lb.ARN, func(r *lbRecord) error {
		_, li, ri, err := s.findRuleIn(*r, in.RuleArn)
		if err != nil {
			return err
		}
		r.Listeners[li].Rules = slices.Delete(r.Listeners[li].Rules, ri, ri+1)
		return nil
	})
}

type RulePriorityPair struct {
	RuleArn  string
	Priority *int
}

type SetRulePrioritiesInput struct {
	RulePriorities []RulePriorityPair
}

// SetRulePriorities reorders rules of one load balancer at once; the new
// priorities must be unique in each listener.
func (s *Service) SetRulePriorities(ctx context.Context, in *SetRulePrioritiesInput) (*RulesOutput, error) {
	if len(in.RulePriorities) == 0 {
		return nil, check.Null("rulePriorities")
	}
	var lbARN string
	for _, p := range in.RulePriorities {
		lb, _, ri, err := s.findRule(ctx, p.RuleArn)
		if err != nil {
			return nil, err
		}
		if err := s.authorize(ctx, "SetRulePriorities", p.RuleArn); err != nil {
			return nil, err
		}
		if ri < 0 {
			return nil, api.Errorf(codeNotPermitted, "The priority of default rule '%s' cannot be changed", p.RuleArn)
		}
		if p.Priority == nil {
			return nil, check.Null("rulePriorities.member.priority")
		}
		if err := check.Range("rulePriorities.member.priority", *p.Priority, 1, 50000); err != nil {
			return nil, err
		}
		if lbARN != "" && lb.ARN != lbARN {
			return nil, validation("The rules of one SetRulePriorities call must belong to one load balancer")
		}
		lbARN = lb.ARN
	}
	out := &RulesOutput{Rules: api.Members[Rule]{}}
	err := s.mutate(ctx, lbARN, func(r *lbRecord) error {
		out.Rules = out.Rules[:0]
		touched := map[int]bool{}
		for _, p := range in.RulePriorities {
			_, li, ri, err := s.findRuleIn(*r, p.RuleArn)
			if err != nil {
				return err
			}
			r.Listeners[li].Rules[ri].Priority = *p.Priority
			touched[li] = true
			out.Rules = append(out.Rules, ruleShape(r.Listeners[li].Rules[ri]))
		}
		for li := range touched {
			seen := map[int]bool{}
			for _, rule := range r.Listeners[li].Rules {
				if seen[rule.Priority] {
					return api.Errorf(codePriorityInUse, "Priority '%d' is currently in use", rule.Priority)
				}
				seen[rule.Priority] = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
