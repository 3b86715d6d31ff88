package policy

import (
	"encoding/json"
	"slices"
	"strings"
)

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
	case (s.Resource != nil && len(s.Resource) == 0) || (s.NotResource != nil && len(s.NotResource) == 0):
		return malformed("Policy statement must contain resources.")
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
	if len(s.actions) > indexActionsFrom {
		s.byVendor = map[string][]string{}
		for _, a := range s.actions {
			vendor, _, _ := strings.Cut(a, ":")
			if a == "*" {
				s.anyAction = true
				continue
			}
			s.byVendor[vendor] = append(s.byVendor[vendor], a)
		}
	}
	for _, r := range slices.Concat(s.Resource, s.NotResource) {
		if r != "*" && !strings.HasPrefix(r, "arn:") && !strings.HasPrefix(r, "${") {
			return malformed("Resource %s must be in ARN format or \"*\".", r)
		}
	}
	return nil
}

// indexActionsFrom is the length of an action list from which matching
// goes through the vendor index.
const indexActionsFrom = 16

// matchesAction reports whether the lower-cased action matches the
// statement's Action or NotAction patterns.
func (s *Statement) matchesAction(action string) bool {
	if s.byVendor == nil {
		return matchAction(s.actions, action)
	}
	vendor, _, _ := strings.Cut(action, ":")
	return s.anyAction || matchAction(s.byVendor[vendor], action)
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
