package policy

import "fmt"

// CodeMalformedPolicyDocument is the AWS error code for a document that
// does not parse or does not validate.
const CodeMalformedPolicyDocument = "MalformedPolicyDocument"

// MalformedError says why a policy document was rejected. Its Error text is
// the message AWS returns with MalformedPolicyDocument, so API handlers can
// pass it through unchanged.
type MalformedError struct {
	// Message is the user-facing reason, e.g. "Policy statement must contain actions.".
	Message string
	// Err is the underlying cause (a JSON syntax error, say), if any.
	Err error
}

// Error returns the message.
func (e *MalformedError) Error() string { return e.Message }

// Unwrap returns the underlying cause.
func (e *MalformedError) Unwrap() error { return e.Err }

// Code returns CodeMalformedPolicyDocument.
func (e *MalformedError) Code() string { return CodeMalformedPolicyDocument }

func malformed(format string, args ...any) *MalformedError {
	return &MalformedError{Message: fmt.Sprintf(format, args...)}
}
