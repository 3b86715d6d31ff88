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
func checkRequest(r *http.Request, name string, manifest []byte) *requestError {
	rest := strings.TrimPrefix(r.URL.Path, "/v2/"+name+"/")
	switch kind, ref, _ := strings.Cut(rest, "/"); {
	case kind == "manifests" && strings.Contains(ref, ":"):
		if _, err := digest.Parse(ref); err != nil {
			return &requestError{http.StatusBadRequest, "DIGEST_INVALID", fmt.Sprintf("Invalid digest '%s': %v", ref, err)}
		}
	case kind == "manifests" && !tagRE.MatchString(ref):
		if r.Method == http.MethodPut {
			return &requestError{http.StatusBadRequest, "TAG_INVALID", fmt.Sprintf("Invalid tag '%s': a tag is 1-128 letters, digits, '_', '.' and '-', not starting with '.' or '-'", ref)}
		}
		return &requestError{http.StatusNotFound, "MANIFEST_UNKNOWN", fmt.Sprintf("Requested image not found: no tag '%s'", ref)}
	case kind == "blobs" && !strings.HasPrefix(ref, "uploads"):
		if _, err := digest.Parse(ref); err != nil {
			return &requestError{http.StatusBadRequest, "DIGEST_INVALID", fmt.Sprintf("Invalid digest '%s': %v", ref, err)}
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
