package sigv4

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const (
	ecsURL      = "https://ecs.us-east-1.amazonaws.com/"
	ecsBody     = `{"cluster":"default"}`
	wsQuery     = "clusterArn=arn%3Aaws%3Aecs%3Aus-east-1%3A123456789012%3Acluster%2Fdefault&seqNum=1"
	unsortedRaw = "b=2&a=3&a=1&Z=%2Fz&c=hello%20world&empty="
)

var jsonHeaders = map[string]string{
	"Content-Type": "application/x-amz-json-1.1",
	"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListServices",
}

func TestVerifyAccepts(t *testing.T) {
	tests := []struct {
		name string
		spec spec
		want Result
	}{
		{"header json post", spec{url: ecsURL, body: ecsBody, header: jsonHeaders},
			Result{AccessKeyID: permanent.AccessKeyID, Service: "ecs", Region: "us-east-1"}},
		{"header session token", spec{url: ecsURL, body: ecsBody, header: jsonHeaders, creds: temporary},
			Result{AccessKeyID: temporary.AccessKeyID, Service: "ecs", Region: "us-east-1"}},
		{"header path with space", spec{method: "PATCH", url: "https://api.ecr.us-east-1.amazonaws.com/v2/my%20repo/blobs/uploads/", body: "blob", service: "ecr"},
			Result{AccessKeyID: permanent.AccessKeyID, Service: "ecr", Region: "us-east-1"}},
		{"header path with reserved chars", spec{method: "GET", url: "https://api.ecr.us-east-1.amazonaws.com/v2/a%3Ab/c+d/%E2%82%AC/x=y", service: "ecr"},
			Result{AccessKeyID: permanent.AccessKeyID, Service: "ecr", Region: "us-east-1"}},
		{"header repeated unsorted query", spec{method: "GET", url: "https://sts.amazonaws.com/?" + unsortedRaw, service: "sts", rawQuery: unsortedRaw},
			Result{AccessKeyID: permanent.AccessKeyID, Service: "sts", Region: "us-east-1"}},
		{"header websocket get", spec{method: "GET", url: "https://ecs-a-1.us-east-1.amazonaws.com/ws?" + wsQuery, rawQuery: wsQuery,
			header: map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}},
			Result{AccessKeyID: permanent.AccessKeyID, Service: "ecs", Region: "us-east-1"}},
		{"header port and spaces in value", spec{url: "http://localhost:4566/", body: ecsBody, header: map[string]string{"X-Amz-Target": "  a   b  ", "X-Custom": "x"}},
			Result{AccessKeyID: permanent.AccessKeyID, Service: "ecs", Region: "us-east-1"}},
		{"header declared body hash", spec{url: ecsURL, body: ecsBody, header: map[string]string{"X-Amz-Content-Sha256": sha256Hex(ecsBody)}},
			Result{AccessKeyID: permanent.AccessKeyID, Service: "ecs", Region: "us-east-1"}},
		{"header unsigned payload", spec{url: ecsURL, body: ecsBody, payload: "UNSIGNED-PAYLOAD", header: map[string]string{"X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"}},
			Result{AccessKeyID: permanent.AccessKeyID, Service: "ecs", Region: "us-east-1", UnsignedPayload: true}},
		{"header skew 15 min past", spec{url: ecsURL, body: ecsBody, signedAt: testNow.Add(-15 * time.Minute)},
			Result{AccessKeyID: permanent.AccessKeyID, Service: "ecs", Region: "us-east-1", SigningTime: testNow.Add(-15 * time.Minute)}},
		{"presign unsigned payload", spec{method: "GET", url: "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15", service: "sts", presign: true, expires: "60", payload: "UNSIGNED-PAYLOAD"},
			Result{AccessKeyID: permanent.AccessKeyID, Service: "sts", Region: "us-east-1", Presigned: true, UnsignedPayload: true}},
		{"presign body hash session token", spec{method: "GET", url: "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15", service: "sts", presign: true, creds: temporary},
			Result{AccessKeyID: temporary.AccessKeyID, Service: "sts", Region: "us-east-1", Presigned: true}},
		{"presign websocket", spec{method: "GET", url: "https://ecs-a-1.us-east-1.amazonaws.com/ws?" + wsQuery, presign: true, expires: "604800", signedAt: testNow.Add(-6 * 24 * time.Hour)},
			Result{AccessKeyID: permanent.AccessKeyID, Service: "ecs", Region: "us-east-1", Presigned: true, SigningTime: testNow.Add(-6 * 24 * time.Hour)}},
		{"presign post with body", spec{url: "https://api.ecr.us-east-1.amazonaws.com/v2/my%20repo/blobs/uploads/", body: "blob", service: "ecr", presign: true, expires: "900"},
			Result{AccessKeyID: permanent.AccessKeyID, Service: "ecr", Region: "us-east-1", Presigned: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := signed(t, tt.spec)
			got, err := testVerifier().Verify(context.Background(), r, []byte(tt.spec.body))
			if err != nil {
				t.Fatalf("Verify: %v\nrequest: %s %s %v", err, r.Method, r.URL, r.Header)
			}
			if tt.want.SigningTime.IsZero() {
				tt.want.SigningTime = testNow
			}
			if got != tt.want {
				t.Errorf("Result = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestVerifyAWSTestSuite checks the "get-vanilla" case of AWS's SigV4 test
// suite, independently of aws-sdk-go-v2.
func TestVerifyAWSTestSuite(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = "example.amazonaws.com"
	r.Header.Set("X-Amz-Date", "20150830T123600Z")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "+
		"SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
	v := &Verifier{Lookup: testLookup, Now: func() time.Time { return time.Date(2015, 8, 30, 12, 40, 0, 0, time.UTC) }}
	if _, err := v.Verify(context.Background(), r, nil); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyRejects(t *testing.T) {
	post := spec{url: ecsURL, body: ecsBody, header: jsonHeaders}
	presigned := spec{method: "GET", url: "https://sts.amazonaws.com/?Action=GetCallerIdentity", service: "sts", presign: true, expires: "300"}
	setHeader := func(k, v string) func(*http.Request) { return func(r *http.Request) { r.Header.Set(k, v) } }
	delHeader := func(k string) func(*http.Request) { return func(r *http.Request) { r.Header.Del(k) } }
	editQuery := func(from, to string) func(*http.Request) {
		return func(r *http.Request) { r.URL.RawQuery = strings.Replace(r.URL.RawQuery, from, to, 1) }
	}
	with := func(s spec, edit func(*spec)) spec { edit(&s); return s }
	const day = "20261125T"

	tests := []struct {
		name     string
		spec     spec
		mutate   func(*http.Request)
		body     *string // body seen by Verify; nil means the signed one
		secret   string  // overrides the server's secret
		wantCode string
		wantMsg  string // exact message unless empty
	}{
		{name: "body changed", spec: post, body: ptr(`{"cluster":"other"}`), wantCode: CodeInvalidSignature, wantMsg: msgSignatureDiffer},
		{name: "body changed with declared hash", spec: with(post, func(s *spec) { s.header = map[string]string{"X-Amz-Content-Sha256": sha256Hex(ecsBody)} }),
			body: ptr("x"), wantCode: CodeInvalidSignature, wantMsg: msgPayloadMismatch},
		{name: "header changed", spec: post, mutate: setHeader("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DeleteCluster"), wantCode: CodeInvalidSignature, wantMsg: msgSignatureDiffer},
		{name: "query changed", spec: with(post, func(s *spec) { s.url += "?a=1" }), mutate: editQuery("a=1", "a=2"), wantCode: CodeInvalidSignature},
		{name: "path changed", spec: post, mutate: func(r *http.Request) { r.URL.Path = "/other" }, wantCode: CodeInvalidSignature},
		{name: "host changed", spec: post, mutate: func(r *http.Request) { r.Host = "evil.example.com" }, wantCode: CodeInvalidSignature},
		{name: "wrong secret", spec: post, secret: "not-the-secret", wantCode: CodeInvalidSignature, wantMsg: msgSignatureDiffer},
		{name: "unknown key", spec: with(post, func(s *spec) { s.creds = unknown }), wantCode: CodeUnrecognizedClient, wantMsg: msgInvalidToken},
		{name: "skew 16 min past", spec: with(post, func(s *spec) { s.signedAt = testNow.Add(-16 * time.Minute) }), wantCode: CodeInvalidSignature,
			wantMsg: "Signature expired: " + day + "111400Z is now earlier than " + day + "111500Z (" + day + "113000Z - 15 min.)"},
		{name: "skew 16 min future", spec: with(post, func(s *spec) { s.signedAt = testNow.Add(16 * time.Minute) }), wantCode: CodeInvalidSignature,
			wantMsg: "Signature not yet current: " + day + "114600Z is still later than " + day + "114500Z (" + day + "113000Z + 15 min.)"},
		{name: "expired presign", spec: with(presigned, func(s *spec) { s.signedAt = testNow.Add(-6 * time.Minute) }), wantCode: CodeInvalidSignature,
			wantMsg: "Signature expired: " + day + "112400Z is now earlier than " + day + "112500Z (" + day + "113000Z - 5 min.)"},
		{name: "presign expires too long", spec: with(presigned, func(s *spec) { s.expires = "604801" }), wantCode: CodeIncompleteSignature},
		{name: "presign signature changed", spec: presigned, mutate: editQuery("X-Amz-Signature=", "X-Amz-Signature=0"), wantCode: CodeInvalidSignature},
		{name: "presign missing params", spec: presigned, mutate: editQuery("X-Amz-Date=", "X-Amz-Nope="), wantCode: CodeIncompleteSignature,
			wantMsg: "AWS query-string parameters must include 'X-Amz-Date'. Re-examine the query-string parameters."},
		{name: "missing session token", spec: with(post, func(s *spec) { s.creds = temporary }), mutate: delHeader("X-Amz-Security-Token"), wantCode: CodeUnrecognizedClient, wantMsg: msgInvalidToken},
		{name: "wrong session token", spec: with(post, func(s *spec) { s.creds = temporary }), mutate: setHeader("X-Amz-Security-Token", "forged"), wantCode: CodeUnrecognizedClient},
		{name: "presign missing session token", spec: with(presigned, func(s *spec) { s.creds = temporary }), mutate: editQuery("X-Amz-Security-Token=", "X-Amz-Other="), wantCode: CodeUnrecognizedClient},
		{name: "token on permanent key", spec: post, mutate: setHeader("X-Amz-Security-Token", "tok"), wantCode: CodeUnrecognizedClient},
		{name: "missing auth", spec: post, mutate: delHeader("Authorization"), wantCode: CodeMissingAuthenticationToken, wantMsg: msgMissingAuth},
		{name: "malformed header", spec: post, mutate: setHeader("Authorization", "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=abc"), wantCode: CodeIncompleteSignature,
			wantMsg: "Authorization header requires 'Credential' parameter. Authorization=AWS4-HMAC-SHA256 SignedHeaders=host, Signature=abc"},
		{name: "bearer header", spec: post, mutate: setHeader("Authorization", "Bearer abc"), wantCode: CodeIncompleteSignature},
		{name: "missing date", spec: post, mutate: delHeader("X-Amz-Date"), wantCode: CodeIncompleteSignature},
		{name: "short credential", spec: post, mutate: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/aws4_request", "", 1))
		}, wantCode: CodeIncompleteSignature},
		{name: "host not signed", spec: post, mutate: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SignedHeaders=content-length;content-type;host;", "SignedHeaders=content-length;content-type;", 1))
		}, wantCode: CodeIncompleteSignature, wantMsg: msgHostNotSigned},
		{name: "unsupported algorithm", spec: post, mutate: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256", 1))
		}, wantCode: CodeIncompleteSignature},
		{name: "unsigned payload header dropped", spec: with(post, func(s *spec) {
			s.payload = "UNSIGNED-PAYLOAD"
			s.header = nil
		}), wantCode: CodeInvalidSignature, wantMsg: msgSignatureDiffer},
		{name: "unsigned payload header added", spec: post, mutate: setHeader("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"), wantCode: CodeInvalidSignature, wantMsg: msgSignatureDiffer},
		{name: "both auth forms", spec: presigned, mutate: setHeader("Authorization", "AWS4-HMAC-SHA256 Credential=x"), wantCode: CodeIncompleteSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := signed(t, tt.spec)
			if tt.mutate != nil {
				tt.mutate(r)
			}
			body := tt.spec.body
			if tt.body != nil {
				body = *tt.body
			}
			v := testVerifier()
			if tt.secret != "" {
				v.Lookup = func(ctx context.Context, id string) (Credentials, bool) {
					c, ok := testLookup(ctx, id)
					c.SecretAccessKey = tt.secret
					return c, ok
				}
			}
			_, err := v.Verify(context.Background(), r, []byte(body))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Verify error = %v, want *Error %s", err, tt.wantCode)
			}
			if e.Code != tt.wantCode || (tt.wantMsg != "" && e.Message != tt.wantMsg) {
				t.Errorf("Verify error = %q: %q\nwant %q: %q", e.Code, e.Message, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestScope(t *testing.T) {
	tests := []struct {
		name              string
		req               *http.Request
		key, region, serv string
		ok                bool
	}{
		{"header", signed(t, spec{url: ecsURL, body: ecsBody, service: "ecr"}), permanent.AccessKeyID, "us-east-1", "ecr", true},
		{"presigned", signed(t, spec{method: "GET", url: "https://sts.amazonaws.com/", service: "sts", presign: true, creds: temporary}), temporary.AccessKeyID, "us-east-1", "sts", true},
		{"unsigned", httptest.NewRequest("GET", "/", nil), "", "", "", false},
		{"malformed", func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261125/us-east-1")
			return r
		}(), "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, region, serv, ok := Scope(tt.req)
			if key != tt.key || region != tt.region || serv != tt.serv || ok != tt.ok {
				t.Errorf("Scope = %q %q %q %v, want %q %q %q %v", key, region, serv, ok, tt.key, tt.region, tt.serv, tt.ok)
			}
		})
	}
}

// TestBeginBeforeBody checks what Begin decides without the body: a scope
// naming another region or service and, when X-Amz-Content-Sha256 declares
// the payload, the signature itself; Finish then checks the body.
func TestBeginBeforeBody(t *testing.T) {
	want := Expect{Service: "ecs", Regions: []string{"us-east-1"}}
	declared := map[string]string{"X-Amz-Content-Sha256": sha256Hex(ecsBody)}
	unsigned := map[string]string{"X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"}
	tests := []struct {
		name         string
		spec         spec
		expect       Expect
		secret       string
		body         string
		beginMsg     string // "" means Begin passes
		finishErrMsg string // "" means Finish passes
	}{
		{name: "undeclared payload: signature waits for the body", spec: spec{url: ecsURL, body: ecsBody}, expect: want, secret: "wrong", body: ecsBody, finishErrMsg: msgSignatureDiffer},
		{name: "declared payload: wrong secret refused before the body", spec: spec{url: ecsURL, body: ecsBody, header: declared}, expect: want, secret: "wrong", beginMsg: msgSignatureDiffer},
		{name: "declared payload, other body", spec: spec{url: ecsURL, body: ecsBody, header: declared}, expect: want, body: "{}", finishErrMsg: msgPayloadMismatch},
		{name: "declared payload, its body", spec: spec{url: ecsURL, body: ecsBody, header: declared}, expect: want, body: ecsBody},
		{name: "unsigned payload, any body", spec: spec{url: ecsURL, body: ecsBody, payload: "UNSIGNED-PAYLOAD", header: unsigned}, expect: want, body: "anything"},
		{name: "declared hash not hex", spec: spec{url: ecsURL, body: ecsBody, payload: "zz", header: map[string]string{"X-Amz-Content-Sha256": "zz"}}, expect: want, beginMsg: msgPayloadMismatch},
		{name: "other service", spec: spec{url: ecsURL, body: ecsBody, service: "ecr"}, expect: want, beginMsg: "Credential should be scoped to correct service: 'ecs'. "},
		{name: "other region", spec: spec{url: ecsURL, body: ecsBody}, expect: Expect{Regions: []string{"eu-west-1", "eu-central-1"}}, beginMsg: "Credential should be scoped to a valid region, not 'us-east-1'. "},
		{name: "no expectation", spec: spec{url: ecsURL, body: ecsBody, service: "anything"}, body: ecsBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := testVerifier()
			if tt.secret != "" {
				v.Lookup = func(ctx context.Context, id string) (Credentials, bool) {
					c, ok := testLookup(ctx, id)
					c.SecretAccessKey = tt.secret
					return c, ok
				}
			}
			p, err := v.Begin(context.Background(), signed(t, tt.spec), tt.expect)
			if tt.beginMsg != "" {
				var e *Error
				if !errors.As(err, &e) || e.Code != CodeInvalidSignature || e.Message != tt.beginMsg {
					t.Fatalf("Begin error = %v, want %q", err, tt.beginMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Begin: %v", err)
			}
			_, err = p.Finish([]byte(tt.body))
			if tt.finishErrMsg == "" {
				if err != nil {
					t.Fatalf("Finish: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Message != tt.finishErrMsg {
				t.Fatalf("Finish error = %v, want %q", err, tt.finishErrMsg)
			}
		})
	}
}
