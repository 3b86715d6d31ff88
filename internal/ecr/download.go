package ecr

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/opencontainers/go-digest"
)

// DownloadURLLifetime is how long a GetDownloadUrlForLayer URL works.
const DownloadURLLifetime = time.Hour

// Query parameters of a presigned layer download URL.
const (
	expiresParam   = "X-Berth-Expires"
	signatureParam = "X-Berth-Signature"
)

// downloadURL returns a presigned URL of a blob, which like ECR's S3 URLs
// needs no credentials until it expires.
func (s *Service) downloadURL(name string, d digest.Digest, now time.Time) string {
	exp := now.Add(DownloadURLLifetime).Unix()
	q := url.Values{expiresParam: {strconv.FormatInt(exp, 10)}, signatureParam: {s.downloadSignature(name, d, exp)}}
	return fmt.Sprintf("http://%s/v2/%s/blobs/%s?%s", s.cfg.RegistryHost, name, d, q.Encode())
}

func (s *Service) downloadSignature(name string, d digest.Digest, exp int64) string {
	mac := hmac.New(sha256.New, s.secret)
	fmt.Fprintf(mac, "download\n%s\n%s\n%d", name, d, exp)
	return hex.EncodeToString(mac.Sum(nil))
}

// presigned reports whether r is a GET or HEAD of a blob with a valid,
// unexpired download signature.
func (s *Service) presigned(r *http.Request, route registryRoute, now time.Time) bool {
	q := r.URL.Query()
	sig := q.Get(signatureParam)
	if sig == "" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return false
	}
	name := route.repository
	d, ok := route.blobDigest()
	if !ok {
		return false
	}
	exp, err := strconv.ParseInt(q.Get(expiresParam), 10, 64)
	if err != nil || now.Unix() >= exp {
		return false
	}
	return hmac.Equal([]byte(sig), []byte(s.downloadSignature(name, d, exp)))
}
