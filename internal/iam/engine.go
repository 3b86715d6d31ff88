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
		return validationError("1 validation error detected: Value null at 'policyDocument' failed to satisfy constraint: Member must not be null")
	}
	_, err := parsePolicy(doc, policy.KindIdentity)
	return err
}

// checkTrustPolicy validates a role's assume-role policy.
func checkTrustPolicy(doc string) error {
	_, err := parsePolicy(doc, policy.KindTrust)
	return err
}
