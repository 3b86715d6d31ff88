package elbv2

import (
	"context"
	"fmt"
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
	if p := it.Value.Listeners[i].Protocol; p != "HTTP" && p != "HTTPS" {
		return nil, api.Errorf(codeUnsupportedProtocol, "Listener '%s' is a %s listener; only HTTP and HTTPS listeners have rules", in.ListenerArn, p)
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
		li, ri, err := findRuleIn(*r, in.RuleArn)
		if err != nil {
			return err
		}
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
func findRuleIn(r lbRecord, arn string) (li, ri int, err error) {
	for li, l := range r.Listeners {
		if l.DefaultRule == arn {
			return li, -1, nil
		}
		for ri, rule := range l.Rules {
			if rule.ARN == arn {
				return li, ri, nil
			}
		}
	}
	return 0, 0, api.Errorf(codeRuleNotFound, "Rule '%s' not found", arn)
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
		li, ri, err := findRuleIn(*r, in.RuleArn)
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
			li, ri, err := findRuleIn(*r, p.RuleArn)
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
