package policy

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"unicode"
)

// Policy language versions AWS accepts in the Version element.
const (
	// Version2012 is the current language version; only it substitutes
	// policy variables such as ${aws:username}.
	Version2012 = "2012-10-17"
	// Version2008 is the original language version, in which ${...} is literal text.
	Version2008 = "2008-10-17"
)

// Size limits Parse enforces. They are generous ceilings against abuse;
// AWS's per-kind quotas (6,144 characters for a managed policy, 2,048 for a
// trust policy, ...) are the caller's to apply with CharCount.
const (
	MaxDocumentBytes = 128 << 10
	MaxStatements    = 1000
	MaxValues        = 1000 // entries in one Action, Resource, Principal or condition list
)

// Statement effects.
const (
	EffectAllow = "Allow"
	EffectDeny  = "Deny"
)

// Document is a parsed policy document. It is immutable after Parse and
// safe to evaluate from many goroutines.
type Document struct {
	// Version is the Version element, empty when the document has none
	// (AWS then applies 2008-10-17 rules).
	Version string
	// ID is the optional Id element.
	ID string
	// Statements are the document's statements in order.
	Statements []*Statement
}

// Statement is one statement of a document. Exactly one of Action and
// NotAction is set; at most one of Resource and NotResource, and of
// Principal and NotPrincipal.
type Statement struct {
	Sid          string
	Effect       string // EffectAllow or EffectDeny
	Action       []string
	NotAction    []string
	Resource     []string
	NotResource  []string
	Principal    *Principals
	NotPrincipal *Principals
	Condition    []Condition

	variables bool     // the document's version substitutes ${...}
	actions   []string // Action or NotAction, lower-cased for matching
}

// Principals is the value of a Principal or NotPrincipal element.
type Principals struct {
	// Any is set for "Principal": "*", which AWS treats like {"AWS": "*"}.
	Any           bool
	AWS           []string // account IDs, account root, user, role and assumed-role ARNs, or "*"
	Service       []string // service principals such as ecs-tasks.amazonaws.com
	Federated     []string
	CanonicalUser []string
}

// HasPrincipal reports whether any statement names a Principal or
// NotPrincipal. Identity policies must not ("Policy document should not
// specify a principal."); trust and resource policies must.
func (d *Document) HasPrincipal() bool {
	for _, s := range d.Statements {
		if s.Principal != nil || s.NotPrincipal != nil {
			return true
		}
	}
	return false
}

// CharCount returns the number of non-whitespace characters in doc, which
// is how AWS measures a policy against its size quotas.
func CharCount(doc string) int {
	n := 0
	for _, r := range doc {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// Parse parses and validates a policy document. It checks everything that
// does not depend on where the document is used; Validate adds the checks
// for identity, resource and trust policies. Errors are *MalformedError.
func Parse(doc string) (*Document, error) {
	if len(doc) > MaxDocumentBytes {
		return nil, malformed("Policy document is larger than %d bytes.", MaxDocumentBytes)
	}
	if strings.TrimSpace(doc) == "" {
		return nil, malformed("Policy document is empty.")
	}
	var top map[string]json.RawMessage
	if err := strictUnmarshal([]byte(doc), &top); err != nil {
		return nil, &MalformedError{Message: "Syntax errors in policy.", Err: err}
	}
	if top == nil {
		return nil, malformed("Syntax errors in policy.")
	}
	d := &Document{}
	for _, k := range sortedKeys(top) {
		raw := top[k]
		switch k {
		case "Version":
			if err := json.Unmarshal(raw, &d.Version); err != nil || (d.Version != Version2012 && d.Version != Version2008) {
				return nil, malformed("The policy failed legacy parsing: Version must be %q or %q.", Version2012, Version2008)
			}
		case "Id":
			if err := json.Unmarshal(raw, &d.ID); err != nil {
				return nil, malformed("Id must be a string.")
			}
		case "Statement":
			stmts, err := parseStatements(raw)
			if err != nil {
				return nil, err
			}
			d.Statements = stmts
		default:
			return nil, malformed("Syntax errors in policy: unknown element %q.", k)
		}
	}
	if len(d.Statements) == 0 {
		return nil, malformed("Policy document must contain at least one Statement.")
	}
	sids := make(map[string]bool, len(d.Statements))
	for _, s := range d.Statements {
		s.variables = d.Version == Version2012
		if s.Sid == "" {
			continue
		}
		if sids[s.Sid] {
			return nil, malformed("Statement IDs (SID) in a single policy must be unique.")
		}
		sids[s.Sid] = true
	}
	return d, nil
}

// parseStatements accepts a single statement object or an array of them.
func parseStatements(raw json.RawMessage) ([]*Statement, error) {
	var list []json.RawMessage
	if isArray(raw) {
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, malformed("Syntax errors in policy: Statement must be an object or an array of objects.")
		}
	} else {
		list = []json.RawMessage{raw}
	}
	if len(list) > MaxStatements {
		return nil, malformed("Policy document has more than %d statements.", MaxStatements)
	}
	out := make([]*Statement, 0, len(list))
	for i, r := range list {
		s, err := parseStatement(r)
		if err != nil {
			if len(list) > 1 {
				err.Message = "Statement " + itoa(i+1) + ": " + err.Message
			}
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func parseStatement(raw json.RawMessage) (*Statement, *MalformedError) {
	var m map[string]json.RawMessage
	if err := strictUnmarshal(raw, &m); err != nil || m == nil {
		return nil, malformed("Syntax errors in policy: a statement must be an object.")
	}
	s := &Statement{}
	for _, k := range sortedKeys(m) {
		raw := m[k]
		var err *MalformedError
		switch k {
		case "Sid":
			if json.Unmarshal(raw, &s.Sid) != nil {
				err = malformed("Sid must be a string.")
			}
		case "Effect":
			if json.Unmarshal(raw, &s.Effect) != nil || (s.Effect != EffectAllow && s.Effect != EffectDeny) {
				err = malformed("Invalid effect: Effect must be \"Allow\" or \"Deny\".")
			}
		case "Action":
			s.Action, err = parseStrings(k, raw)
		case "NotAction":
			s.NotAction, err = parseStrings(k, raw)
		case "Resource":
			s.Resource, err = parseStrings(k, raw)
		case "NotResource":
			s.NotResource, err = parseStrings(k, raw)
		case "Principal":
			s.Principal, err = parsePrincipals(k, raw)
		case "NotPrincipal":
			s.NotPrincipal, err = parsePrincipals(k, raw)
		case "Condition":
			s.Condition, err = parseConditions(raw)
		default:
			err = malformed("Syntax errors in policy: unknown statement element %q.", k)
		}
		if err != nil {
			return nil, err
		}
	}
	return s, s.check()
}

// check validates a statement's elements against each other.
func (s *Statement) check() *MalformedError {
	switch {
	case s.Effect == "":
		return malformed("Missing required field Effect.")
	case s.Action != nil && s.NotAction != nil:
		return malformed("Statement can't contain both Action and NotAction.")
	case len(s.Action) == 0 && len(s.NotAction) == 0:
		return malformed("Policy statement must contain actions.")
	case s.Resource != nil && s.NotResource != nil:
		return malformed("Statement can't contain both Resource and NotResource.")
	case s.Principal != nil && s.NotPrincipal != nil:
		return malformed("Statement can't contain both Principal and NotPrincipal.")
	case s.NotPrincipal != nil && s.NotPrincipal.Any:
		return malformed("Invalid principal in policy: NotPrincipal can't be \"*\".")
	}
	actions := s.Action
	if actions == nil {
		actions = s.NotAction
	}
	s.actions = make([]string, len(actions))
	for i, a := range actions {
		if a != "*" && !validAction(a) {
			return malformed("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc. (got %q)", a)
		}
		s.actions[i] = strings.ToLower(a)
	}
	for _, r := range slices.Concat(s.Resource, s.NotResource) {
		if r != "*" && !strings.HasPrefix(r, "arn:") && !strings.HasPrefix(r, "${") {
			return malformed("Resource %s must be in ARN format or \"*\".", r)
		}
	}
	return nil
}

// validAction accepts "vendor:pattern" with a vendor of letters, digits and dashes.
func validAction(a string) bool {
	vendor, name, ok := strings.Cut(a, ":")
	if !ok || vendor == "" || name == "" {
		return false
	}
	for _, r := range vendor {
		if !(r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// parseStrings reads a string or a non-empty array of strings.
func parseStrings(elem string, raw json.RawMessage) ([]string, *MalformedError) {
	var out []string
	if isArray(raw) {
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, malformed("Syntax errors in policy: %s must be a string or an array of strings.", elem)
		}
	} else {
		var one string
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, malformed("Syntax errors in policy: %s must be a string or an array of strings.", elem)
		}
		out = []string{one}
	}
	if len(out) > MaxValues {
		return nil, malformed("%s has more than %d entries.", elem, MaxValues)
	}
	for _, v := range out {
		if v == "" {
			return nil, malformed("%s entries must not be empty.", elem)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// strictUnmarshal decodes JSON, rejecting trailing data.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	if _, err := dec.Token(); err == nil {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

func isArray(raw json.RawMessage) bool {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c == '['
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
