package policy

import (
	"encoding/json"
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
	MaxValues        = 10000 // entries in one Action, Resource, Principal or condition list (ReadOnlyAccess lists thousands of actions)
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
// Principal and NotPrincipal. Statements come from Parse, which prepares
// them for matching; one built by hand matches no request.
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
	// byVendor indexes long action lists by their vendor ("ecr" of
	// "ecr:Get*"; a vendor has no wildcards), so that a statement of
	// thousands of actions (ReadOnlyAccess) is matched against a handful;
	// anyAction is set for "*".
	byVendor  map[string][]string
	anyAction bool
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
