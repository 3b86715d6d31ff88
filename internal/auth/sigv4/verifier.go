// Package sigv4 verifies AWS Signature Version 4 signed HTTP requests the way AWS services do.
package sigv4

import (
	"context"
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"
	"time"
)

const (
	algorithm       = "AWS4-HMAC-SHA256"
	timeFormat      = "20060102T150405Z"
	dateFormat      = "20060102"
	scopeTerminator = "aws4_request"
	unsignedPayload = "UNSIGNED-PAYLOAD"
)

// DefaultMaxSkew is the clock skew AWS tolerates between a request's
// signing time and the server's clock.
const DefaultMaxSkew = 15 * time.Minute

// Credentials is a secret the server knows for an access key.
type Credentials struct {
	// AccessKeyID identifies the key, e.g. "AKIAIOSFODNN7EXAMPLE".
	AccessKeyID string
	// SecretAccessKey is the shared secret the signature is keyed with.
	SecretAccessKey string
	// SessionToken is non-empty for temporary credentials; then the request
	// must carry the same X-Amz-Security-Token.
	SessionToken string
}

// CredentialLookup returns the credentials for an access key id; ok=false
// when the key is unknown.
type CredentialLookup func(ctx context.Context, accessKeyID string) (Credentials, bool)

// Result tells what the verified signature said.
type Result struct {
	// AccessKeyID is the access key that signed the request.
	AccessKeyID string
	// Service is the credential-scope service, e.g. "ecs", "ecr", "sts".
	Service string
	// Region is the credential-scope region.
	Region string
	// SigningTime is the time the request was signed at (X-Amz-Date or Date).
	SigningTime time.Time
	// Presigned is true when the signature came in the query string.
	Presigned bool
	// UnsignedPayload is true when the signature does not cover the body.
	UnsignedPayload bool
}

// Verifier checks requests; Now is replaceable for tests (default
// time.Now); MaxSkew defaults to DefaultMaxSkew.
type Verifier struct {
	// Lookup finds the credentials for an access key id.
	Lookup CredentialLookup
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MaxSkew is the accepted clock skew; zero means DefaultMaxSkew.
	MaxSkew time.Duration
}

// Expect is the credential scope a request must be signed for: the
// signing name of the service it is addressed to and the regions that
// service answers in. An empty field is not checked.
type Expect struct {
	// Service is the signing name, e.g. "ecs".
	Service string
	// Regions are the regions a signature may be scoped to.
	Regions []string
}

// Verify checks r, whose body the caller has already read into body
// (Verify must not read r.Body), without an Expect: the credential scope
// may name any region and service. On failure the error is always an *Error.
//
// The canonical URI is r.URL.EscapedPath() encoded once more, as for all
// services but S3. Presigned URLs are checked against both UNSIGNED-PAYLOAD
// and the body hash unless an X-Amz-Content-Sha256 header names the payload.
func (v *Verifier) Verify(ctx context.Context, r *http.Request, body []byte) (Result, error) {
	p, err := v.Begin(ctx, r, Expect{})
	if err != nil {
		return Result{}, err
	}
	return p.Finish(body)
}

// Pending is a request whose signature has been checked as far as it can
// be without its body.
type Pending struct {
	r        *http.Request
	in       *signedInput
	names    []string
	creds    Credentials
	declared string // the X-Amz-Content-Sha256 value; "" when absent
	signed   bool   // the signature was already checked against declared
}

// Begin checks everything of r's signature that does not need the body:
// its form, credential scope (against want), time, access key and session
// token, and, when an X-Amz-Content-Sha256 header declares the payload
// hash, the signature itself. A server calls it before reading a body, so
// that an unknown caller cannot make it read one. On failure the error is
// always an *Error.
func (v *Verifier) Begin(ctx context.Context, r *http.Request, want Expect) (*Pending, error) {
	in, e := parseRequest(r)
	if e != nil {
		return nil, e
	}
	names, e := checkScope(in)
	if e != nil {
		return nil, e
	}
	if e := checkWant(in, want); e != nil {
		return nil, e
	}
	if e := v.checkTime(in); e != nil {
		return nil, e
	}
	var creds Credentials
	ok := false
	if v.Lookup != nil {
		creds, ok = v.Lookup(ctx, in.cred.accessKeyID)
	}
	if !ok {
		return nil, errInvalidToken()
	}
	if subtle.ConstantTimeCompare([]byte(creds.SessionToken), []byte(in.securityToken)) != 1 {
		return nil, errInvalidToken()
	}
	p := &Pending{r: r, in: in, names: names, creds: creds}
	if declared := headerValues(r.Header, headerContentSHA256); len(declared) > 0 {
		p.declared = strings.TrimSpace(declared[0])
		if p.declared != unsignedPayload && !isSHA256Hex(p.declared) {
			return nil, errPayloadMismatch()
		}
		if !p.matches(p.declared) {
			return nil, errSignatureMismatch()
		}
		p.signed = true
	}
	return p, nil
}

// AccessKeyID is the access key the request is signed with.
func (p *Pending) AccessKeyID() string { return p.in.cred.accessKeyID }

// Finish checks the signature over body, the request's body read after
// Begin succeeded.
func (p *Pending) Finish(body []byte) (Result, error) {
	res := Result{
		AccessKeyID: p.in.cred.accessKeyID,
		Service:     p.in.cred.service,
		Region:      p.in.cred.region,
		SigningTime: p.in.signingTime,
		Presigned:   p.in.presigned,
	}
	if p.signed {
		if p.declared == unsignedPayload {
			res.UnsignedPayload = true
			return res, nil
		}
		if !strings.EqualFold(p.declared, hashHex(body)) {
			return Result{}, errPayloadMismatch()
		}
		return res, nil
	}
	candidates := []string{hashHex(body)}
	if p.in.presigned {
		candidates = []string{unsignedPayload, candidates[0]}
	}
	for _, hash := range candidates {
		if p.matches(hash) {
			res.UnsignedPayload = hash == unsignedPayload
			return res, nil
		}
	}
	return Result{}, errSignatureMismatch()
}

// matches reports whether the request's signature is the one computed
// with payload hash hash.
func (p *Pending) matches(hash string) bool {
	want := computeSignature(p.creds.SecretAccessKey, p.in, canonicalRequest(p.r, p.in, p.names, hash))
	return subtle.ConstantTimeCompare([]byte(want), []byte(p.in.signature)) == 1
}

// checkWant refuses a credential scope naming a region or service the
// request is not for, in AWS's words.
func checkWant(in *signedInput, want Expect) *Error {
	if len(want.Regions) > 0 && !slices.Contains(want.Regions, in.cred.region) {
		return newError(CodeInvalidSignature, "Credential should be scoped to a valid region, not '%s'. ", in.cred.region)
	}
	if want.Service != "" && in.cred.service != want.Service {
		return newError(CodeInvalidSignature, "Credential should be scoped to correct service: '%s'. ", want.Service)
	}
	return nil
}

// isSHA256Hex reports whether s looks like a hex SHA-256 digest.
func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// checkScope validates the credential scope and signed-header list, and
// returns the signed header names.
func checkScope(in *signedInput) ([]string, *Error) {
	if in.cred.terminator != scopeTerminator {
		return nil, newError(CodeInvalidSignature,
			"Credential should be scoped with a valid terminator: '%s', not '%s'.", scopeTerminator, in.cred.terminator)
	}
	if day := in.signingTime.Format(dateFormat); in.cred.date != day {
		return nil, newError(CodeInvalidSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 "+
			"version of date from HTTP: '%s' != '%s', from '%s'.", in.cred.date, day, in.signingTime.Format(timeFormat))
	}
	names := strings.Split(in.signedHeaders, ";")
	for _, name := range names {
		if strings.EqualFold(name, "host") {
			return names, nil
		}
	}
	return nil, newError(CodeIncompleteSignature, msgHostNotSigned)
}

// checkTime rejects requests signed outside the accepted window: MaxSkew
// either side of now, or for a presigned URL with X-Amz-Expires, later than
// the signing time plus the expiry.
func (v *Verifier) checkTime(in *signedInput) *Error {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	t := now().UTC()
	skew := v.MaxSkew
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	if in.signingTime.After(t.Add(skew)) {
		return errNotYetCurrent(in.signingTime, t, skew)
	}
	window := skew
	if in.presigned && in.expires > 0 {
		window = in.expires
	}
	if in.signingTime.Before(t.Add(-window)) {
		return errExpired(in.signingTime, t, window)
	}
	return nil
}
