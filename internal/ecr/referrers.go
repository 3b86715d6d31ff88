package ecr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// The OCI referrers API (distribution-spec v1.1): GET
// /v2/<name>/referrers/<digest> lists the manifests whose subject is
// <digest>. The registry library does not keep that index, so Berth keeps
// it next to the registry's content: when a manifest with a subject is
// pushed, its descriptor is written under
//
//	/berth/referrers/<name>/_subjects/<alg>/<hex>/<alg>-<hex>
//
// and the push is answered with OCI-Subject, telling clients the registry
// maintains the list (so they need not fall back to the tag schema).
// Entries whose manifest was deleted since are left out when listing.
const referrersRoot = "/berth/referrers"

// referrersDir is where the referrers of subject in repository name live.
func referrersDir(name string, subject digest.Digest) string {
	return path.Join(referrersRoot, name, "_subjects", subject.Algorithm().String(), subject.Encoded())
}

// manifestFields are the parts of a pushed image manifest or index that a
// referrers list shows.
type manifestFields struct {
	MediaType    string            `json:"mediaType"`
	ArtifactType string            `json:"artifactType"`
	Config       *v1.Descriptor    `json:"config"`
	Subject      *v1.Descriptor    `json:"subject"`
	Annotations  map[string]string `json:"annotations"`
}

// referrerOf returns the subject of a pushed manifest and the descriptor
// that lists it among the subject's referrers; ok is false for a manifest
// without a subject.
func referrerOf(body []byte, contentType string, dgst digest.Digest) (subject digest.Digest, desc v1.Descriptor, ok bool) {
	var m manifestFields
	if json.Unmarshal(body, &m) != nil || m.Subject == nil || m.Subject.Digest.Validate() != nil {
		return "", v1.Descriptor{}, false
	}
	desc = v1.Descriptor{MediaType: m.MediaType, Digest: dgst, Size: int64(len(body)), ArtifactType: m.ArtifactType, Annotations: m.Annotations}
	if desc.MediaType == "" {
		desc.MediaType = contentType
	}
	if desc.ArtifactType == "" && m.Config != nil {
		desc.ArtifactType = m.Config.MediaType // as the spec says for image manifests
	}
	return m.Subject.Digest, desc, true
}

// recordReferrer adds desc to the referrers of subject.
func (s *Service) recordReferrer(ctx context.Context, name string, subject digest.Digest, desc v1.Descriptor) error {
	data, err := json.Marshal(desc)
	if err != nil {
		return err
	}
	p := path.Join(referrersDir(name, subject), desc.Digest.Algorithm().String()+"-"+desc.Digest.Encoded())
	if err := s.driver.PutContent(ctx, p, data); err != nil {
		return fmt.Errorf("record referrer %s of %s in %s: %w", desc.Digest, subject, name, err)
	}
	return nil
}

// referrers lists the manifests of repository name whose subject is
// subject, ordered by digest, leaving out deleted ones.
func (s *Service) referrers(ctx context.Context, name string, subject digest.Digest) ([]v1.Descriptor, error) {
	entries, err := s.driver.List(ctx, referrersDir(name, subject))
	if errors.As(err, new(storagedriver.PathNotFoundError)) {
		return []v1.Descriptor{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list referrers of %s in %s: %w", subject, name, err)
	}
	repo, err := s.contentRepo(ctx, name)
	if err != nil {
		return nil, err
	}
	manifests, err := repo.Manifests(ctx)
	if err != nil {
		return nil, err
	}
	out := []v1.Descriptor{}
	for _, e := range entries {
		data, err := s.driver.GetContent(ctx, e)
		if err != nil {
			return nil, fmt.Errorf("read referrer %s: %w", e, err)
		}
		var d v1.Descriptor
		if err := json.Unmarshal(data, &d); err != nil {
			return nil, fmt.Errorf("read referrer %s: %w", e, err)
		}
		if exists, err := manifests.Exists(ctx, d.Digest); err != nil {
			return nil, err
		} else if exists {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b v1.Descriptor) int { return strings.Compare(string(a.Digest), string(b.Digest)) })
	return out, nil
}

// serveReferrers answers GET /v2/<name>/referrers/<digest>[?artifactType=]
// with an image index of the referrers; an artifactType filter is applied
// and announced in OCI-Filters-Applied.
func (s *Service) serveReferrers(w http.ResponseWriter, r *http.Request, name, ref string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		registryError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "The operation is unsupported.")
		return
	}
	subject, err := digest.Parse(ref)
	if err != nil {
		registryError(w, http.StatusBadRequest, "DIGEST_INVALID", fmt.Sprintf("Invalid digest %q: %v", ref, err))
		return
	}
	list, err := s.referrers(r.Context(), name, subject)
	if err != nil {
		s.log.Error("referrers", "repository", name, "subject", subject, "err", err)
		registryError(w, http.StatusInternalServerError, "UNKNOWN", "unknown error")
		return
	}
	if at := r.URL.Query().Get("artifactType"); at != "" {
		list = slices.DeleteFunc(list, func(d v1.Descriptor) bool { return d.ArtifactType != at })
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	body, _ := json.Marshal(v1.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: v1.MediaTypeImageIndex, Manifests: list})
	w.Header().Set("Content-Type", v1.MediaTypeImageIndex)
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(body)
	}
}

// subjectWriter wraps the response to a manifest PUT: when the registry
// accepts a manifest that has a subject, it records the referrer and adds
// the OCI-Subject header before the 201 goes out. A manifest without a
// subject passes through untouched.
func (s *Service) subjectWriter(w http.ResponseWriter, r *http.Request, name string, manifest []byte) http.ResponseWriter {
	if !strings.Contains(string(manifest), `"subject"`) {
		return w
	}
	return &onStatus{ResponseWriter: w, status: http.StatusCreated, fn: func(h http.Header) {
		dgst, err := digest.Parse(h.Get("Docker-Content-Digest"))
		if err != nil {
			dgst = digest.FromBytes(manifest)
		}
		subject, desc, ok := referrerOf(manifest, r.Header.Get("Content-Type"), dgst)
		if !ok {
			return
		}
		if err := s.recordReferrer(r.Context(), name, subject, desc); err != nil {
			s.log.Error("registry: record referrer", "err", err)
			return // without OCI-Subject, clients maintain the referrers tag themselves
		}
		h.Set("OCI-Subject", subject.String())
	}}
}
