package placement

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Expr is a compiled cluster query language expression, as used by
// memberOf constraints and ListContainerInstances filters.
type Expr interface {
	// Eval reports whether the instance satisfies the expression.
	Eval(in *Instance) bool
}

// MaxExpressionLength is the longest expression ECS accepts.
const MaxExpressionLength = 2000

// ParseExpr compiles a cluster query language expression:
//
//	expr    = term { ("or" | "||") term }
//	term    = factor { ("and" | "&&") factor }
//	factor  = ("not" | "!") factor | "(" expr ")" | subject predicate
//	predicate = "exists" | op value | ("in" | "not_in") "[" value { "," value } "]"
//	op      = "==" | "!=" | ">" | ">=" | "<" | "<=" | "=~" | "!~"
//	subject = "attribute:"name | "ec2InstanceId" | "agentConnected" | "agentVersion"
//	        | "registeredAt" | "runningTasksCount" | "task:group"
func ParseExpr(s string) (Expr, error) {
	if len(s) > MaxExpressionLength {
		return nil, fmt.Errorf("expression is longer than %d characters", MaxExpressionLength)
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("unexpected %q at position %d", p.toks[p.pos].text, p.toks[p.pos].at+1)
	}
	return e, nil
}

type token struct {
	text   string
	quoted bool
	at     int
}

// lex splits an expression into words, quoted strings, operators and the
// punctuation ( ) [ ] ,.
func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.IndexByte("()[],", c) >= 0:
			toks = append(toks, token{text: string(c), at: i})
			i++
		case c == '\'' || c == '"':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return nil, fmt.Errorf("unterminated quote at position %d", i+1)
			}
			toks = append(toks, token{text: s[i+1 : i+1+end], quoted: true, at: i})
			i += end + 2
		case strings.IndexByte("=!<>~&|", c) >= 0:
			j := i
			for j < len(s) && strings.IndexByte("=!<>~&|", s[j]) >= 0 {
				j++
			}
			toks = append(toks, token{text: s[i:j], at: i})
			i = j
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \t\n\r()[],=!<>~&|'\"", s[j]) < 0 {
				j++
			}
			toks = append(toks, token{text: s[i:j], at: i})
			i = j
		}
	}
	return toks, nil
}

type parser struct {
	toks []token
	pos  int
}

func (p *parser) peek() (token, bool) {
	if p.pos >= len(p.toks) {
		return token{}, false
	}
	return p.toks[p.pos], true
}

func (p *parser) next() (token, error) {
	t, ok := p.peek()
	if !ok {
		return t, fmt.Errorf("unexpected end of expression")
	}
	p.pos++
	return t, nil
}

func (p *parser) keyword(words ...string) bool {
	t, ok := p.peek()
	if !ok || t.quoted {
		return false
	}
	for _, w := range words {
		if strings.EqualFold(t.text, w) {
			p.pos++
			return true
		}
	}
	return false
}

func (p *parser) expr() (Expr, error) {
	left, err := p.term()
	if err != nil {
		return nil, err
	}
	for p.keyword("or", "||") {
		right, err := p.term()
		if err != nil {
			return nil, err
		}
		left = orExpr{left, right}
	}
	return left, nil
}

func (p *parser) term() (Expr, error) {
	left, err := p.factor()
	if err != nil {
		return nil, err
	}
	for p.keyword("and", "&&") {
		right, err := p.factor()
		if err != nil {
			return nil, err
		}
		left = andExpr{left, right}
	}
	return left, nil
}

func (p *parser) factor() (Expr, error) {
	if p.keyword("not", "!") {
		e, err := p.factor()
		if err != nil {
			return nil, err
		}
		return notExpr{e}, nil
	}
	if t, ok := p.peek(); ok && !t.quoted && t.text == "(" {
		p.pos++
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		if t, err := p.next(); err != nil || t.text != ")" {
			return nil, fmt.Errorf("missing closing parenthesis")
		}
		return e, nil
	}
	return p.predicate()
}

func (p *parser) predicate() (Expr, error) {
	t, err := p.next()
	if err != nil {
		return nil, err
	}
	subj, err := parseSubject(t)
	if err != nil {
		return nil, err
	}
	if p.keyword("exists") {
		return existsExpr{subj}, nil
	}
	if p.keyword("in", "not_in") {
		negate := strings.EqualFold(p.toks[p.pos-1].text, "not_in")
		values, err := p.list()
		if err != nil {
			return nil, err
		}
		return inExpr{subj: subj, values: values, negate: negate}, nil
	}
	op, err := p.next()
	if err != nil {
		return nil, fmt.Errorf("%s needs an operator", subj.name)
	}
	switch op.text {
	case "==", "!=", ">", ">=", "<", "<=", "=~", "!~":
	default:
		return nil, fmt.Errorf("unknown operator %q at position %d", op.text, op.at+1)
	}
	v, err := p.next()
	if err != nil {
		return nil, fmt.Errorf("%s %s needs a value", subj.name, op.text)
	}
	if !v.quoted && strings.IndexByte("()[],", v.text[0]) >= 0 {
		return nil, fmt.Errorf("unexpected %q at position %d, expected a value", v.text, v.at+1)
	}
	return cmpExpr{subj: subj, op: op.text, value: v.text, pattern: strings.Split(v.text, "*")}, nil
}

func (p *parser) list() ([]string, error) {
	if t, err := p.next(); err != nil || t.text != "[" && t.text != "(" {
		return nil, fmt.Errorf("in and not_in need a list such as [a, b]")
	}
	var values []string
	for {
		v, err := p.next()
		if err != nil {
			return nil, fmt.Errorf("unterminated list")
		}
		if !v.quoted && (v.text == "]" || v.text == ")") && len(values) == 0 {
			return nil, fmt.Errorf("empty list")
		}
		values = append(values, v.text)
		sep, err := p.next()
		if err != nil {
			return nil, fmt.Errorf("unterminated list")
		}
		if sep.text == "]" || sep.text == ")" {
			return values, nil
		}
		if sep.text != "," {
			return nil, fmt.Errorf("unexpected %q in list", sep.text)
		}
	}
}

// subject is what a predicate looks at.
type subject struct {
	name string // as written, for messages
	kind string // attribute, ec2InstanceId, agentConnected, agentVersion, registeredAt, runningTasksCount, task:group
	attr string // for attribute:
}

func parseSubject(t token) (subject, error) {
	if t.quoted {
		return subject{}, fmt.Errorf("expected a subject, got the string %q", t.text)
	}
	if name, ok := strings.CutPrefix(t.text, "attribute:"); ok {
		if name == "" {
			return subject{}, fmt.Errorf("attribute: needs an attribute name")
		}
		return subject{name: t.text, kind: "attribute", attr: name}, nil
	}
	switch t.text {
	case "ec2InstanceId", "agentConnected", "agentVersion", "registeredAt", "runningTasksCount", "task:group":
		return subject{name: t.text, kind: t.text}, nil
	}
	return subject{}, fmt.Errorf("unknown subject %q at position %d; use attribute:<name>, ec2InstanceId, agentConnected, agentVersion, registeredAt, runningTasksCount or task:group", t.text, t.at+1)
}

// values returns the subject's value(s) on an instance; ok is false when
// the instance has no such value (an absent attribute).
func (s subject) values(in *Instance) ([]string, bool) {
	switch s.kind {
	case "attribute":
		v, ok := in.Attributes[s.attr]
		return []string{v}, ok
	case "ec2InstanceId":
		return []string{in.EC2InstanceID}, true
	case "agentConnected":
		return []string{strconv.FormatBool(in.Connected)}, true
	case "agentVersion":
		return []string{in.AgentVersion}, in.AgentVersion != ""
	case "registeredAt":
		return []string{in.RegisteredAt.UTC().Format(time.RFC3339)}, !in.RegisteredAt.IsZero()
	case "runningTasksCount":
		return []string{strconv.Itoa(in.RunningTasks)}, true
	case "task:group":
		groups := make([]string, 0, len(in.TaskGroups))
		for g, n := range in.TaskGroups {
			if n > 0 {
				groups = append(groups, g)
			}
		}
		return groups, len(groups) > 0
	}
	return nil, false
}

type orExpr struct{ a, b Expr }
type andExpr struct{ a, b Expr }
type notExpr struct{ e Expr }
type existsExpr struct{ subj subject }
type inExpr struct {
	subj   subject
	values []string
	negate bool
}
type cmpExpr struct {
	subj      subject
	op, value string
	pattern   []string // value split at its * wildcards
}

func (e orExpr) Eval(in *Instance) bool  { return e.a.Eval(in) || e.b.Eval(in) }
func (e andExpr) Eval(in *Instance) bool { return e.a.Eval(in) && e.b.Eval(in) }
func (e notExpr) Eval(in *Instance) bool { return !e.e.Eval(in) }

func (e existsExpr) Eval(in *Instance) bool {
	_, ok := e.subj.values(in)
	return ok
}

func (e inExpr) Eval(in *Instance) bool {
	vals, ok := e.subj.values(in)
	found := false
	if ok {
		for _, v := range vals {
			for _, w := range e.values {
				found = found || v == w
			}
		}
	}
	return found != e.negate
}

// Eval compares the subject's value with the expression's. Negative
// operators hold for instances that lack the value; positive ones do not.
func (e cmpExpr) Eval(in *Instance) bool {
	if e.subj.kind == "attribute" {
		// The common case, without allocating.
		v, ok := in.Attributes[e.subj.attr]
		if !ok {
			return e.op == "!=" || e.op == "!~"
		}
		return e.match(v)
	}
	vals, ok := e.subj.values(in)
	negative := e.op == "!=" || e.op == "!~"
	if !ok {
		return negative
	}
	any := false
	for _, v := range vals {
		any = any || e.match(v)
	}
	if negative {
		// For task:group, != means no task of that group is on the instance.
		for _, v := range vals {
			if !e.match(v) {
				return false
			}
		}
		return true
	}
	return any
}

func (e cmpExpr) match(v string) bool {
	switch e.op {
	case "==":
		return v == e.value
	case "!=":
		return v != e.value
	case "=~":
		return globMatch(e.pattern, v)
	case "!~":
		return !globMatch(e.pattern, v)
	}
	c, ok := compare(e.subj.kind, v, e.value)
	if !ok {
		return false
	}
	switch e.op {
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	case "<":
		return c < 0
	default:
		return c <= 0
	}
}

// globMatch matches v against a pattern, given as the parts between its
// wildcards, where * stands for any run of
// characters, as in ECS attribute patterns such as t3.*.
func globMatch(parts []string, v string) bool {
	if len(parts) == 1 {
		return parts[0] == v
	}
	if !strings.HasPrefix(v, parts[0]) {
		return false
	}
	v = v[len(parts[0]):]
	for _, part := range parts[1 : len(parts)-1] {
		i := strings.Index(v, part)
		if i < 0 {
			return false
		}
		v = v[i+len(part):]
	}
	return strings.HasSuffix(v, parts[len(parts)-1])
}

// compare orders two values: as numbers, versions or dates where the
// subject calls for it, else as strings.
func compare(kind, a, b string) (int, bool) {
	switch kind {
	case "registeredAt":
		ta, ea := parseTime(a)
		tb, eb := parseTime(b)
		if ea != nil || eb != nil {
			return 0, false
		}
		return ta.Compare(tb), true
	case "agentVersion":
		return compareVersions(a, b), true
	}
	if fa, err := strconv.ParseFloat(a, 64); err == nil {
		if fb, err := strconv.ParseFloat(b, 64); err == nil {
			switch {
			case fa < fb:
				return -1, true
			case fa > fb:
				return 1, true
			}
			return 0, true
		}
	}
	return strings.Compare(a, b), true
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a date: %q", s)
}

func compareVersions(a, b string) int {
	pa, pb := strings.Split(strings.TrimPrefix(a, "v"), "."), strings.Split(strings.TrimPrefix(b, "v"), ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(strings.TrimLeftFunc(pa[i], func(r rune) bool { return !unicode.IsDigit(r) }))
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(strings.TrimLeftFunc(pb[i], func(r rune) bool { return !unicode.IsDigit(r) }))
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}
