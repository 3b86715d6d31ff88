package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// queryPair is one decoded name=value pair of a query string.
type queryPair struct{ name, value string }

// parseQuery decodes a raw query string into its pairs, keeping repeated
// names and their order. A component that is not valid percent-encoding is
// kept verbatim, so it can never match what a client signed in encoded form.
func parseQuery(raw string) []queryPair {
	var pairs []queryPair
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		pairs = append(pairs, queryPair{unescapeQuery(name), unescapeQuery(value)})
	}
	return pairs
}

func unescapeQuery(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// queryGet returns the first value of name.
func queryGet(pairs []queryPair, name string) (string, bool) {
	for _, p := range pairs {
		if p.name == name {
			return p.value, true
		}
	}
	return "", false
}

func queryHas(pairs []queryPair, name string) bool {
	_, ok := queryGet(pairs, name)
	return ok
}

// canonicalQuery encodes every pair except those named exclude, then sorts
// the encoded pairs by name and value, as SigV4 requires.
func canonicalQuery(pairs []queryPair, exclude string) string {
	encoded := make([]queryPair, 0, len(pairs))
	for _, p := range pairs {
		if exclude != "" && p.name == exclude {
			continue
		}
		encoded = append(encoded, queryPair{uriEncode(p.name, true), uriEncode(p.value, true)})
	}
	sort.Slice(encoded, func(i, j int) bool {
		if encoded[i].name != encoded[j].name {
			return encoded[i].name < encoded[j].name
		}
		return encoded[i].value < encoded[j].value
	})
	var b strings.Builder
	for i, p := range encoded {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.name)
		b.WriteByte('=')
		b.WriteString(p.value)
	}
	return b.String()
}

// canonicalURI returns the path as the client sent it (still
// percent-encoded), encoded once more: non-S3 services sign the
// double-encoded path, as aws-sdk-go-v2 does unless DisableURIPathEscaping.
func canonicalURI(u *url.URL) string {
	if u == nil {
		return "/"
	}
	path := u.EscapedPath()
	if u.Opaque != "" {
		path = opaquePath(u.Opaque)
	}
	if path == "" {
		path = "/"
	}
	return uriEncode(path, false)
}

// opaquePath extracts the path of an opaque URL such as "//host/path".
func opaquePath(opaque string) string {
	opaque, _, _ = strings.Cut(opaque, "?")
	opaque = strings.TrimPrefix(opaque, "//")
	if i := strings.IndexByte(opaque, '/'); i >= 0 {
		return opaque[i:]
	}
	return ""
}

// uriEncode percent-encodes every byte outside the RFC 3986 unreserved set
// with upper-case hex; '/' is kept when encodeSlash is false.
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) || (c == '/' && !encodeSlash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// canonicalHeaders returns "name:value\n" for each signed header, in the
// order given. Values are trimmed, runs of spaces collapsed, and repeated
// headers comma-joined. Host and Content-Length, which net/http moves out
// of r.Header, are taken from r.Host and (when absent) r.ContentLength.
func canonicalHeaders(r *http.Request, names []string) string {
	var b strings.Builder
	for _, name := range names {
		name = strings.ToLower(name)
		b.WriteString(name)
		b.WriteByte(':')
		var values []string
		if name != "host" {
			values = headerValues(r.Header, name)
		}
		if len(values) == 0 {
			values = impliedHeader(r, name)
		}
		for i, v := range values {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strings.TrimSpace(collapseSpaces(v)))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// headerValues collects the values of lowerName under any spelling of the key.
func headerValues(h http.Header, lowerName string) []string {
	if v, ok := h[http.CanonicalHeaderKey(lowerName)]; ok {
		return v
	}
	var values []string
	for k, v := range h {
		if strings.EqualFold(k, lowerName) {
			values = append(values, v...)
		}
	}
	return values
}

// impliedHeader returns the value of a header net/http keeps outside r.Header.
func impliedHeader(r *http.Request, lowerName string) []string {
	switch lowerName {
	case "host":
		host := r.Host
		if host == "" && r.URL != nil {
			host = r.URL.Host
		}
		return []string{host}
	case "content-length":
		if r.ContentLength >= 0 {
			return []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	case "transfer-encoding":
		if len(r.TransferEncoding) > 0 {
			return []string{strings.Join(r.TransferEncoding, ",")}
		}
	}
	return nil
}

// collapseSpaces replaces each run of spaces with a single space.
func collapseSpaces(s string) string {
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' && i > 0 && s[i-1] == ' ' {
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// canonicalRequest assembles the SigV4 canonical request.
func canonicalRequest(r *http.Request, in *signedInput, names []string, payloadHash string) string {
	exclude := ""
	if in.presigned {
		exclude = paramSignature
	}
	return strings.Join([]string{
		r.Method,
		canonicalURI(r.URL),
		canonicalQuery(in.query, exclude),
		canonicalHeaders(r, names),
		in.signedHeaders,
		payloadHash,
	}, "\n")
}

// computeSignature returns the hex signature of canonical under secret.
func computeSignature(secret string, in *signedInput, canonical string) string {
	stringToSign := algorithm + "\n" + in.signingTime.Format(timeFormat) + "\n" +
		in.cred.scope() + "\n" + hashHex([]byte(canonical))
	key := hmacSHA256([]byte("AWS4"+secret), in.cred.date)
	key = hmacSHA256(key, in.cred.region)
	key = hmacSHA256(key, in.cred.service)
	key = hmacSHA256(key, in.cred.terminator)
	return hex.EncodeToString(hmacSHA256(key, stringToSign))
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
