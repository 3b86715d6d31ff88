package sigv4

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// AWS error codes returned by Verify, as AWS JSON services spell them.
const (
	// CodeMissingAuthenticationToken means the request carries no signature at all.
	CodeMissingAuthenticationToken = "MissingAuthenticationTokenException"
	// CodeIncompleteSignature means the signature is present but malformed or incomplete.
	CodeIncompleteSignature = "IncompleteSignatureException"
	// CodeInvalidSignature means the signature, its time or the payload hash does not check out.
	CodeInvalidSignature = "InvalidSignatureException"
	// CodeUnrecognizedClient means the access key or session token is not known.
	CodeUnrecognizedClient = "UnrecognizedClientException"
)

// Messages used with the codes above, worded as AWS words them.
const (
	msgMissingAuth     = "Missing Authentication Token"
	msgInvalidToken    = "The security token included in the request is invalid."
	msgSignatureDiffer = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgPayloadMismatch = "The provided 'x-amz-content-sha256' header does not match what was computed."
	msgHostNotSigned   = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
)

// Error is a verification failure with the AWS error code the caller should answer with.
type Error struct {
	// Code is the AWS error code, one of the Code* constants.
	Code string
	// Message is the human-readable AWS-style message.
	Message string
}

// Error returns "Code: Message".
func (e *Error) Error() string {
	return e.Code + ": " + e.Message
}

// StatusCode returns the HTTP status AWS answers the error with:
// 400 for an incomplete signature, 403 otherwise.
func (e *Error) StatusCode() int {
	if e.Code == CodeIncompleteSignature {
		return http.StatusBadRequest
	}
	return http.StatusForbidden
}

func newError(code, format string, args ...any) *Error {
	if len(args) == 0 {
		return &Error{Code: code, Message: format}
	}
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func errMissingAuth() *Error { return newError(CodeMissingAuthenticationToken, msgMissingAuth) }

func errInvalidToken() *Error { return newError(CodeUnrecognizedClient, msgInvalidToken) }

func errSignatureMismatch() *Error { return newError(CodeInvalidSignature, msgSignatureDiffer) }

func errPayloadMismatch() *Error { return newError(CodeInvalidSignature, msgPayloadMismatch) }

// errIncompleteHeader reports the Authorization header problems in AWS's
// form: each problem as a sentence, followed by the header itself.
func errIncompleteHeader(problems []string, header string) *Error {
	return newError(CodeIncompleteSignature, "%s Authorization=%s", strings.Join(problems, " "), header)
}

// errIncompleteQuery reports missing presigned query parameters in AWS's form.
func errIncompleteQuery(missing []string) *Error {
	var b strings.Builder
	for _, name := range missing {
		fmt.Fprintf(&b, "AWS query-string parameters must include '%s'. ", name)
	}
	b.WriteString("Re-examine the query-string parameters.")
	return &Error{Code: CodeIncompleteSignature, Message: b.String()}
}

func errBadDate(value string) *Error {
	return newError(CodeIncompleteSignature,
		"Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", value)
}

// errExpired reports a signing time older than the accepted window.
func errExpired(signed, now time.Time, window time.Duration) *Error {
	return newError(CodeInvalidSignature, "Signature expired: %s is now earlier than %s (%s - %s)",
		signed.Format(timeFormat), now.Add(-window).Format(timeFormat), now.Format(timeFormat), formatWindow(window))
}

// errNotYetCurrent reports a signing time too far in the future.
func errNotYetCurrent(signed, now time.Time, window time.Duration) *Error {
	return newError(CodeInvalidSignature, "Signature not yet current: %s is still later than %s (%s + %s)",
		signed.Format(timeFormat), now.Add(window).Format(timeFormat), now.Format(timeFormat), formatWindow(window))
}

// formatWindow renders a window as AWS does in time errors: "15 min.", or
// "90 sec." when it is not a whole number of minutes.
func formatWindow(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d min.", d/time.Minute)
	}
	return fmt.Sprintf("%d sec.", d/time.Second)
}
