package ecr

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/opencontainers/go-digest"
)

// tagRE is a tag as the distribution spec defines it.
var tagRE = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

// checkDigest refuses a malformed digest and, when it names content to be
// stored, one of another algorithm than sha256: the registry library
// would store that content under its sha256 digest and answer with that
// one, which clients do not expect. ECR, too, addresses content by sha256.
func checkDigest(s string, storing bool) *requestError {
	d, err := digest.Parse(s)
	if err != nil {
		return &requestError{http.StatusBadRequest, "DIGEST_INVALID", fmt.Sprintf("Invalid digest '%s': %v", s, err)}
	}
	if storing && d.Algorithm() != digest.SHA256 {
		return &requestError{http.StatusBadRequest, "DIGEST_INVALID", fmt.Sprintf("Unsupported digest algorithm %s in '%s': content is addressed by sha256", d.Algorithm(), s)}
	}
	return nil
}

// requestError is a registry error answer: status, code and message.
type requestError struct {
	status        int
	code, message string
}

// checkRequest refuses registry requests that the registry library would
// answer with a plain-text 404 (a reference outside the spec's grammar) or
// a 500 (a manifest of a schema version it does not know), so that every
// bad request gets a 4xx in the registry's error format. manifest is the
// body of a manifest PUT, nil otherwise.
func checkRequest(r *http.Request, route registryRoute, manifest []byte) *requestError {
	switch kind, ref := route.kind, route.reference; {
	case kind == routeManifest && strings.Contains(ref, ":"):
		if e := checkDigest(ref, r.Method == http.MethodPut); e != nil {
			return e
		}
	case kind == routeManifest && !tagRE.MatchString(ref):
		if r.Method == http.MethodPut {
			return &requestError{http.StatusBadRequest, "TAG_INVALID", fmt.Sprintf("Invalid tag '%s': a tag is 1-128 letters, digits, '_', '.' and '-', not starting with '.' or '-'", ref)}
		}
		return &requestError{http.StatusNotFound, "MANIFEST_UNKNOWN", fmt.Sprintf("Requested image not found: no tag '%s'", ref)}
	case kind == routeBlob:
		if e := checkDigest(ref, false); e != nil {
			return e
		}
	case kind == routeUpload || kind == routeUploadChunk:
		// Completing an upload (digest) or mounting a blob (mount) names
		// the digest the blob is to be stored under.
		for _, param := range []string{"digest", "mount"} {
			if v := r.URL.Query().Get(param); v != "" {
				if e := checkDigest(v, true); e != nil {
					return e
				}
			}
		}
	}
	if manifest != nil {
		var m struct {
			SchemaVersion *int `json:"schemaVersion"`
		}
		if json.Unmarshal(manifest, &m) == nil && (m.SchemaVersion == nil || *m.SchemaVersion != 2) {
			return &requestError{http.StatusBadRequest, "MANIFEST_INVALID", "Invalid manifest: schemaVersion must be 2 (Docker image manifest v2 schema 2, or OCI)"}
		}
	}
	return nil
}
