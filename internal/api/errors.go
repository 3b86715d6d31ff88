// Package api implements the AWS wire protocols Berth speaks: request routing,
// AWS JSON 1.1 encoding, AWS-shaped errors and the authorization hook.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// Error is an AWS error: a code clients switch on, a message users read and
// the HTTP status it travels with.
type Error struct {
	Code    string
	Message string
	Status  int
	// Fields are the error shape's other members (such as ECR's
	// lastValidByteReceived), sent next to __type and message.
	Fields map[string]any
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf builds a client error (HTTP 400) with the given AWS code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

// Common error codes shared by the JSON services.
const (
	CodeClientException           = "ClientException"
	CodeInvalidParameterException = "InvalidParameterException"
	CodeServerException           = "ServerException"
	CodeAccessDenied              = "AccessDeniedException"
	CodeSerialization             = "SerializationException"
	CodeUnknownOperation          = "UnknownOperationException"
)

// With returns e with an extra member of the error shape set.
func (e *Error) With(name string, value any) *Error {
	if e.Fields == nil {
		e.Fields = map[string]any{}
	}
	e.Fields[name] = value
	return e
}

// InvalidParameter is shorthand for the most common validation error.
func InvalidParameter(format string, args ...any) *Error {
	return Errorf(CodeInvalidParameterException, format, args...)
}

// ClientError is shorthand for ClientException.
func ClientError(format string, args ...any) *Error {
	return Errorf(CodeClientException, format, args...)
}

// AsError converts any error into an *Error; unknown errors become a 500
// ServerException, the only place a 5xx is produced.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeServerException, Message: "An internal error occurred: " + err.Error(), Status: http.StatusInternalServerError}
}

// asFault is AsError(err), with the generic internal error renamed to
// code, the service's own internal-error shape, when code is set.
func asFault(err error, code string) *Error {
	e := AsError(err)
	if code == "" || e.Code != CodeServerException || e.Status < 500 {
		return e
	}
	renamed := *e
	renamed.Code = code
	return &renamed
}

// WriteJSONError answers with an AWS JSON error: the JSON services, and
// the plain HTTP endpoints agents use (websockets, credentials).
func WriteJSONError(w http.ResponseWriter, e *Error) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	w.WriteHeader(status)
	fields := map[string]any{"__type": e.Code, "message": e.Message}
	for k, v := range e.Fields {
		fields[k] = v
	}
	b, _ := encodeJSON(fields)
	w.Write(b)
}

// SignedGet serves a SigV4-signed GET for the plain HTTP endpoints agents
// use: fn runs as the request's principal with its query and answers with
// a JSON body, or an AWS JSON error.
func SignedGet(authn Authenticator, fn func(ctx context.Context, q url.Values) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := authn.Authenticate(r.Context(), r, nil)
		if err != nil {
			WriteJSONError(w, AsError(err))
			return
		}
		out, err := fn(WithPrincipal(r.Context(), p), r.URL.Query())
		if err != nil {
			WriteJSONError(w, AsError(err))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})
}
