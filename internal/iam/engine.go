package iam

import (
	"errors"

	"github.com/berth-dev/berth/internal/iam/policy"
)

// parsePolicy parses a document for the given use, turning the engine's
// rejection into MalformedPolicyDocument with its message.
func parsePolicy(doc string, kind policy.Kind) (*policy.Document, error) {
	d, err := policy.Parse(doc)
	if err == nil {
		err = d.Validate(kind)
	}
	if err != nil {
		var me *policy.MalformedError
		if errors.As(err, &me) {
			return nil, malformedPolicy("%s", me.Message)
		}
		return nil, err
	}
	return d, nil
}

// checkIdentityPolicy validates an inline, managed or session policy.
func checkIdentityPolicy(doc string) error {
	if doc == "" {
		return check.Null("policyDocument")
	}
	_, err := parsePolicy(doc, policy.KindIdentity)
	return err
}

// checkTrustPolicy validates a role's assume-role policy.
func checkTrustPolicy(doc string) error {
	_, err := parsePolicy(doc, policy.KindTrust)
	return err
}

// IAM's size quotas, in non-whitespace characters (policy.CharCount).
const (
	maxManagedPolicySize = 6144
	maxUserInlineSize    = 2048 // all of a user's inline policies together
	maxRoleInlineSize    = 10240
	maxGroupInlineSize   = 5120
	maxTrustPolicySize   = 2048
	maxSessionPolicySize = 2048
)

// checkInlineSize rejects an inline policy that would take the entity's
// inline policies together past IAM's quota.
func checkInlineSize(e *entity, name, doc string) error {
	total := policy.CharCount(doc)
	for n, d := range e.Inline {
		if n != name {
			total += policy.CharCount(d)
		}
	}
	limit := maxUserInlineSize
	switch e.Kind {
	case kindRole:
		limit = maxRoleInlineSize
	case kindGroup:
		limit = maxGroupInlineSize
	}
	if total > limit {
		return limitExceeded("Maximum policy size of %d bytes exceeded for %s %s", limit, e.Kind.title(), e.Name)
	}
	return nil
}
