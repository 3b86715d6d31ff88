package sigv4

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzVerify feeds arbitrary Authorization headers and query strings to
// Verify and checks that it never panics and always fails with an *Error.
func FuzzVerify(f *testing.F) {
	valid := signed(f, spec{url: ecsURL + "?a=1&b=2", body: ecsBody, header: jsonHeaders})
	f.Add(valid.Header.Get("Authorization"), valid.URL.RawQuery)
	_, validSig, _ := strings.Cut(valid.Header.Get("Authorization"), "Signature=")
	f.Add("", "")
	f.Add("AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA256")
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, Signature=00", "%zz=%&=;")
	f.Add("AWS4-HMAC-SHA256 Credential=////, SignedHeaders=;;, Signature=", "X-Amz-Credential=a%2F20261125%2Fr%2Fs%2Faws4_request&X-Amz-Expires=-1")
	f.Add("Credential=,,,=,=", "X-Amz-Signature=&X-Amz-Date=20261125T113000Z")
	f.Fuzz(func(t *testing.T, authorization, rawQuery string) {
		r := httptest.NewRequest("POST", ecsURL, nil)
		r.Header = valid.Header.Clone()
		r.Header.Set("Authorization", authorization)
		r.URL.RawQuery = rawQuery
		r.Body = noReadBody{t}
		res, err := testVerifier().Verify(context.Background(), r, []byte(ecsBody))
		if err == nil {
			// Spelling may vary (AWS accepts "," or ", " between the
			// components, in any order), but only the genuine signature
			// may be accepted.
			if !strings.Contains(authorization, "Signature="+validSig) || res.AccessKeyID == "" {
				t.Errorf("accepted forged request: %q %q", authorization, rawQuery)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) || e.Code == "" || e.Message == "" {
			t.Errorf("Verify error = %#v, want *Error with code and message", err)
		}
		Scope(r) // must not panic either
	})
}
