package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// testNow is the server clock in every test.
var testNow = time.Date(2026, 11, 25, 11, 30, 0, 0, time.UTC)

var (
	permanent = aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	temporary = aws.Credentials{AccessKeyID: "ASIATEMPEXAMPLE", SecretAccessKey: "tempsecret", SessionToken: "FwoGZXIvYXdzEXAMPLETOKEN"}
	unknown   = aws.Credentials{AccessKeyID: "AKIDUNKNOWN", SecretAccessKey: "whatever"}
)

// testLookup knows permanent and temporary.
func testLookup(_ context.Context, id string) (Credentials, bool) {
	for _, c := range []aws.Credentials{permanent, temporary} {
		if c.AccessKeyID == id {
			return Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}, true
		}
	}
	return Credentials{}, false
}

func testVerifier() *Verifier {
	return &Verifier{Lookup: testLookup, Now: func() time.Time { return testNow }}
}

// spec describes a request to sign with aws-sdk-go-v2's signer.
type spec struct {
	method   string
	url      string
	body     string
	header   map[string]string
	creds    aws.Credentials
	service  string
	signedAt time.Time // zero means testNow
	payload  string    // payload hash to sign with; empty means sha256(body)
	presign  bool
	expires  string // X-Amz-Expires for presigned URLs
	rawQuery string // replaces the signed query after signing (header form)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// signed builds and signs the request described by s, then passes it
// through the HTTP/1.1 wire format so the verifier sees what a server sees.
func signed(t testing.TB, s spec) *http.Request {
	t.Helper()
	if s.method == "" {
		s.method = http.MethodPost
	}
	if s.service == "" {
		s.service = "ecs"
	}
	if s.signedAt.IsZero() {
		s.signedAt = testNow
	}
	if s.payload == "" {
		s.payload = sha256Hex(s.body)
	}
	if s.creds.AccessKeyID == "" {
		s.creds = permanent
	}
	req, err := http.NewRequest(s.method, s.url, bytes.NewReader([]byte(s.body)))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range s.header {
		req.Header.Set(k, v)
	}
	signer := v4.NewSigner()
	ctx := context.Background()
	if s.presign {
		if s.expires != "" {
			q := req.URL.Query()
			q.Set("X-Amz-Expires", s.expires)
			req.URL.RawQuery = q.Encode()
		}
		uri, hdr, err := signer.PresignHTTP(ctx, s.creds, req, s.payload, s.service, "us-east-1", s.signedAt)
		if err != nil {
			t.Fatal(err)
		}
		if req, err = http.NewRequest(s.method, uri, bytes.NewReader([]byte(s.body))); err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
	} else {
		if err := signer.SignHTTP(ctx, s.creds, req, s.payload, s.service, "us-east-1", s.signedAt); err != nil {
			t.Fatal(err)
		}
		if s.rawQuery != "" {
			req.URL.RawQuery = s.rawQuery
		}
	}
	return wire(t, req)
}

// wire writes req as HTTP/1.1 and reads it back the way net/http's server does.
func wire(t testing.TB, req *http.Request) *http.Request {
	t.Helper()
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		t.Fatal(err)
	}
	out, err := http.ReadRequest(bufio.NewReader(&buf))
	if err != nil {
		t.Fatal(err)
	}
	out.Body = noReadBody{t}
	return out
}

// noReadBody fails the test if Verify reads the request body.
type noReadBody struct{ t testing.TB }

func (b noReadBody) Read([]byte) (int, error) {
	b.t.Error("Verify read r.Body")
	return 0, io.EOF
}

func (noReadBody) Close() error { return nil }
