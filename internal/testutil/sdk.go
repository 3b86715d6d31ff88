package testutil

import (
	"errors"
	"testing"

	"github.com/aws/smithy-go"
)

// Must returns an SDK call's output, failing the test on its error:
// Must[*Output](t)(client.Call(ctx, in)).
func Must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// ErrorCode is an SDK error's AWS code, "" for nil, and the error's text
// in angle brackets for an error that is not the service's.
func ErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return ""
}
