package policy

import "strings"

// Kind is where a document is used; each kind has its own rules on
// Principal and Resource.
type Kind uint8

const (
	// KindIdentity: attached to a user, group or role, or used as a
	// session policy or permissions boundary.
	KindIdentity Kind = iota
	// KindResource: attached to a resource, such as an ECR repository policy.
	KindResource
	// KindTrust: a role's assume-role policy document.
	KindTrust
)

// Validate checks the rules that depend on where the document is used,
// with the messages AWS returns for MalformedPolicyDocument. Errors are
// *MalformedError.
func (d *Document) Validate(kind Kind) error {
	for _, s := range d.Statements {
		hasPrincipal := s.Principal != nil || s.NotPrincipal != nil
		hasResource := s.Resource != nil || s.NotResource != nil
		switch kind {
		case KindIdentity:
			if hasPrincipal {
				return malformed("Policy document should not specify a principal.")
			}
			if !hasResource {
				return malformed("Policy statement must contain resources.")
			}
			if !alphanumeric(s.Sid) {
				return malformed("Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*")
			}
		case KindResource:
			if !hasPrincipal {
				return malformed("Missing required field Principal")
			}
			if !hasResource {
				return malformed("Policy statement must contain resources.")
			}
		case KindTrust:
			if !hasPrincipal {
				return malformed("Missing required field Principal")
			}
			if hasResource {
				return malformed("Has prohibited field Resource")
			}
			for _, a := range s.actions {
				if a != "*" && !strings.HasPrefix(a, "sts:") {
					return malformed("Trust policy actions must be STS actions, e.g. sts:AssumeRole (got %q).", a)
				}
			}
		}
	}
	return nil
}

func alphanumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
