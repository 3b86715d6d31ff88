// Package sigv4 verifies AWS Signature Version 4 signed HTTP requests the way AWS services do.
package sigv4

import (
	"context"
	"crypto/subtle"
	"net/http"
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

// Verify checks r, whose body the caller has already read into body
// (Verify must not read r.Body). On failure the error is always an *Error.
//
// The canonical URI is r.URL.EscapedPath() encoded once more, as for all
// services but S3. Presigned URLs are checked against both UNSIGNED-PAYLOAD
// and the body hash unless an X-Amz-Content-Sha256 header names the payload.
func (v *Verifier) Verify(ctx context.Context, r *http.Request, body []byte) (Result, error) {
	in, e := parseRequest(r)
	if e != nil {
		return Result{}, e
	}
	names, e := checkScope(in)
	if e != nil {
		return Result{}, e
	}
	if e := v.checkTime(in); e != nil {
		return Result{}, e
	}
	var creds Credentials
	ok := false
	if v.Lookup != nil {
		creds, ok = v.Lookup(ctx, in.cred.accessKeyID)
	}
	if !ok {
		return Result{}, errInvalidToken()
	}
	if subtle.ConstantTimeCompare([]byte(creds.SessionToken), []byte(in.securityToken)) != 1 {
		return Result{}, errInvalidToken()
	}
	candidates, e := payloadHashes(r, in, body)
	if e != nil {
		return Result{}, e
	}
	for _, hash := range candidates {
		want := computeSignature(creds.SecretAccessKey, in, canonicalRequest(r, in, names, hash))
		if subtle.ConstantTimeCompare([]byte(want), []byte(in.signature)) == 1 {
			return Result{
				AccessKeyID:     in.cred.accessKeyID,
				Service:         in.cred.service,
				Region:          in.cred.region,
				SigningTime:     in.signingTime,
				Presigned:       in.presigned,
				UnsignedPayload: hash == unsignedPayload,
			}, nil
		}
	}
	return Result{}, errSignatureMismatch()
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

// payloadHashes returns the payload hashes the signature may have used.
// An X-Amz-Content-Sha256 header must be UNSIGNED-PAYLOAD or the body's
// hash and is then used literally; without it a header-signed request uses
// the body's hash and a presigned one UNSIGNED-PAYLOAD or the body's hash.
func payloadHashes(r *http.Request, in *signedInput, body []byte) ([]string, *Error) {
	if declared := headerValues(r.Header, headerContentSHA256); len(declared) > 0 {
		value := strings.TrimSpace(declared[0])
		if value != unsignedPayload && !strings.EqualFold(value, hashHex(body)) {
			return nil, errPayloadMismatch()
		}
		return []string{value}, nil
	}
	if in.presigned {
		return []string{unsignedPayload, hashHex(body)}, nil
	}
	return []string{hashHex(body)}, nil
}
