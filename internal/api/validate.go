package api

import (
	"fmt"
	"strings"
)

// Validation words the errors for values that break a constraint of a
// service model the way AWS's services do ("1 validation error detected:
// Value 'x' at 'field' failed to satisfy constraint: Member must ..."),
// under the code the service answers them with.
type Validation struct{ Code string }

// The codes services answer validation errors with.
var (
	// QueryValidation is the Query services' (IAM, STS, Auto Scaling).
	QueryValidation = Validation{Code: CodeValidation}
	// JSONValidation is ValidationException (SSM and the other JSON 1.1
	// services that use it).
	JSONValidation = Validation{Code: "ValidationException"}
	// ParameterValidation is InvalidParameterException (CloudWatch Logs).
	ParameterValidation = Validation{Code: CodeInvalidParameterException}
)

// list stands for a list's value, which the wording leaves out.
type list struct{}

// List is the value of a list field in Fail: "Value at 'tags' ...".
var List any = list{}

// Fail is the error for value at field breaking constraint, e.g. "Member
// must not be null". A nil value is written null, a List not at all.
func (v Validation) Fail(field string, value any, constraint string) error {
	shown := ""
	switch x := value.(type) {
	case nil:
		shown = "Value null"
	case list:
		shown = "Value"
	case *int:
		if x == nil {
			shown = "Value null"
		} else {
			shown = fmt.Sprintf("Value '%d'", *x)
		}
	default:
		shown = fmt.Sprintf("Value '%v'", x)
	}
	return Errorf(v.Code, "1 validation error detected: %s at '%s' failed to satisfy constraint: %s", shown, field, constraint)
}

// Null is the error for a required field left out.
func (v Validation) Null(field string) error { return v.Fail(field, nil, "Member must not be null") }

// Length checks a string's length against lo and hi (hi 0: no upper
// bound).
func (v Validation) Length(field, s string, lo, hi int) error {
	switch {
	case len(s) < lo && hi > 0:
		return v.Fail(field, s, fmt.Sprintf("Member must have length between %d and %d", lo, hi))
	case len(s) < lo:
		return v.Fail(field, s, fmt.Sprintf("Member must have length greater than or equal to %d", lo))
	case hi > 0 && len(s) > hi:
		return v.Fail(field, s, fmt.Sprintf("Member must have length less than or equal to %d", hi))
	}
	return nil
}

// Items checks how many items a list has against lo and hi (hi 0: no
// upper bound).
func (v Validation) Items(field string, n, lo, hi int) error {
	switch {
	case n < lo:
		return v.Fail(field, List, fmt.Sprintf("Member must have length greater than or equal to %d", lo))
	case hi > 0 && n > hi:
		return v.Fail(field, List, fmt.Sprintf("Member must have length less than or equal to %d", hi))
	}
	return nil
}

// Range checks a number against [lo, hi].
func (v Validation) Range(field string, n, lo, hi int) error {
	if n < lo || n > hi {
		return v.Fail(field, n, fmt.Sprintf("Member must have value between %d and %d", lo, hi))
	}
	return nil
}

// AtLeast checks a number against a lower bound only.
func (v Validation) AtLeast(field string, n, lo int) error {
	if n < lo {
		return v.Fail(field, n, fmt.Sprintf("Member must have value greater than or equal to %d", lo))
	}
	return nil
}

// AtMost checks a number against an upper bound only.
func (v Validation) AtMost(field string, n, hi int) error {
	if n > hi {
		return v.Fail(field, n, fmt.Sprintf("Member must have value less than or equal to %d", hi))
	}
	return nil
}

// Enum checks a value against the model's enum, listed as AWS lists it.
func (v Validation) Enum(field, value string, set ...string) error {
	for _, s := range set {
		if value == s {
			return nil
		}
	}
	return v.Fail(field, value, "Member must satisfy enum value set: ["+strings.Join(set, ", ")+"]")
}
