package api

import (
	"errors"
	"testing"
)

// TestValidationWording: the messages are AWS's, word for word, for each
// kind of constraint.
func TestValidationWording(t *testing.T) {
	v := QueryValidation
	three := 3
	for _, tc := range []struct {
		err  error
		want string
	}{
		{v.Null("policyArn"), "1 validation error detected: Value null at 'policyArn' failed to satisfy constraint: Member must not be null"},
		{v.Length("userName", "a-very-long-name", 1, 8), "1 validation error detected: Value 'a-very-long-name' at 'userName' failed to satisfy constraint: Member must have length less than or equal to 8"},
		{v.Length("roleSessionName", "x", 2, 64), "1 validation error detected: Value 'x' at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64"},
		{v.Length("roleArn", "arn", 20, 0), "1 validation error detected: Value 'arn' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20"},
		{v.Items("tags", 51, 0, 50), "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"},
		{v.Items("logEvents", 0, 1, 10000), "1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{v.Range("maxItems", 0, 1, 1000), "1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000"},
		{v.AtLeast("minSize", -1, 0), "1 validation error detected: Value '-1' at 'minSize' failed to satisfy constraint: Member must have value greater than or equal to 0"},
		{v.AtMost("durationSeconds", 5000, 3600), "1 validation error detected: Value '5000' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 3600"},
		{v.Enum("status", "On", "Active", "Inactive"), "1 validation error detected: Value 'On' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]"},
		{v.Fail("desiredCapacity", (*int)(nil), "Member must not be null"), "1 validation error detected: Value null at 'desiredCapacity' failed to satisfy constraint: Member must not be null"},
		{v.Fail("count", &three, "Member must be even"), "1 validation error detected: Value '3' at 'count' failed to satisfy constraint: Member must be even"},
	} {
		var e *Error
		if !errors.As(tc.err, &e) || e.Code != "ValidationError" || e.Message != tc.want {
			t.Errorf("got %v, want %q", tc.err, tc.want)
		}
	}
	for _, err := range []error{v.Length("n", "ok", 1, 8), v.Items("l", 3, 1, 3), v.Range("r", 5, 1, 10), v.AtLeast("a", 0, 0), v.AtMost("b", 3, 3), v.Enum("e", "Active", "Active", "Inactive")} {
		if err != nil {
			t.Errorf("a valid value was refused: %v", err)
		}
	}
	if e := ParameterValidation.Null("x").(*Error); e.Code != "InvalidParameterException" {
		t.Errorf("ParameterValidation code %s", e.Code)
	}
}
