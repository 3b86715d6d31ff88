package ecr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"time"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/api"
)

// The registry's request pipeline: every /v2/ request is authenticated
// with an ECR token and authorized with the ECR permission it needs;
// requests the registry library would get wrong are answered here (the
// catalog, the referrers API, a new repository's tags, bad references);
// the rest go to the library.

// registryError writes an OCI distribution error.
func registryError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": message}}})
}

// maxManifestSize is the largest manifest the registry accepts, as in the
// registry library.
const maxManifestSize = 4 << 20

// serveRegistry authenticates a registry request (Basic AWS:<token> or
// Bearer <token>), checks the repository exists and the caller may act on
// it, then hands it to the registry. Berth itself answers the referrers
// API and records the subjects of pushed manifests.
func (s *Service) serveRegistry(w http.ResponseWriter, r *http.Request) {
	route := parseRoute(r.URL.Path)
	if s.presigned(r, route, time.Now()) {
		// Authorized when GetDownloadUrlForLayer handed the URL out.
		if _, err := s.repository(r.Context(), route.repository); err != nil {
			registryError(w, http.StatusNotFound, "NAME_UNKNOWN", "The repository does not exist")
			return
		}
		s.registry.ServeHTTP(w, r)
		return
	}
	p, err := s.authenticate(r, time.Now())
	if err != nil {
		s.challenge(w, r, err)
		return
	}
	ctx := api.WithPrincipal(r.Context(), p)
	r = r.WithContext(ctx)
	if route.kind == routeCatalog {
		s.serveCatalog(w, r)
		return
	}
	name := route.repository
	if name == "" {
		s.registry.ServeHTTP(w, r)
		return
	}
	if validName(name) != nil {
		registryError(w, http.StatusBadRequest, "NAME_INVALID", fmt.Sprintf("Invalid repository name '%s': it must be 2-256 characters of lower case letters, digits and . _ - / separators", name))
		return
	}
	// Authorized before the repository is looked up: a caller that may
	// not act on it learns nothing of whether it exists.
	for _, action := range route.actions(r.Method) {
		if err := s.authorize(ctx, action, s.repoArn(name)); err != nil {
			registryError(w, http.StatusForbidden, "DENIED", api.AsError(err).Message)
			return
		}
	}
	if e := s.fillCache(ctx, r, route); e != nil {
		registryError(w, e.status, e.code, e.message)
		return
	}
	repo, err := s.repository(ctx, name)
	if err != nil {
		if api.AsError(err).Code == "RepositoryNotFoundException" {
			registryError(w, http.StatusNotFound, "NAME_UNKNOWN", fmt.Sprintf("The repository with name '%s' does not exist in the registry with id '%s'", name, s.cfg.Account))
		} else {
			s.log.Error("registry: load repository", "repository", name, "err", err)
			registryError(w, http.StatusInternalServerError, "UNKNOWN", "unknown error")
		}
		return
	}
	if r.Method == http.MethodPost && route.kind == routeUpload {
		s.checkMount(ctx, r)
	}
	if route.kind == routeReferrers {
		s.serveReferrers(w, r, name, route.reference)
		return
	}
	if route.kind == routeTags && s.noTags(ctx, name) {
		// The registry library knows no repository until something is
		// pushed; ECR lists a new repository's tags as empty.
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"name": name, "tags": []string{}})
		return
	}
	var manifest []byte
	if r.Method == http.MethodPut && route.kind == routeManifest {
		if manifest, err = peekBody(r, maxManifestSize); err != nil {
			registryError(w, http.StatusBadRequest, "MANIFEST_INVALID", "could not read the manifest: "+err.Error())
			return
		}
	}
	if e := checkRequest(r, route, manifest); e != nil {
		registryError(w, e.status, e.code, e.message)
		return
	}
	if manifest != nil {
		if msg := s.checkImmutable(ctx, route, repo.Value.Repository, manifest); msg != "" {
			registryError(w, http.StatusBadRequest, "TAG_INVALID", msg)
			return
		}
		w = s.subjectWriter(w, r, name, manifest)
	}
	s.registry.ServeHTTP(s.tagIndexWriter(w, r, route), r)
}

// fillCache fetches the manifest a pull names from upstream when the
// repository is under a pull through cache rule and does not hold it yet.
func (s *Service) fillCache(ctx context.Context, r *http.Request, route registryRoute) *requestError {
	if route.kind != routeManifest || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return nil
	}
	rule, ok, err := s.cacheRuleFor(ctx, route.repository)
	if err != nil {
		s.log.Error("registry: load pull through cache rules", "err", err)
		return &requestError{http.StatusInternalServerError, "UNKNOWN", "unknown error"}
	}
	if !ok {
		return nil
	}
	if e := checkRequest(r, route, nil); e != nil {
		return e // a malformed reference is not looked up upstream
	}
	return s.pullThrough(ctx, rule, route.repository, route.reference)
}

// tagIndexWriter wraps the response to a manifest PUT or DELETE so that
// the tag index follows the tags it changed before the client learns of
// the change.
func (s *Service) tagIndexWriter(w http.ResponseWriter, r *http.Request, route registryRoute) http.ResponseWriter {
	if route.kind != routeManifest {
		return w
	}
	name, ref := route.repository, route.reference
	_, err := digest.Parse(ref)
	isTag := err != nil
	switch {
	case r.Method == http.MethodPut && isTag:
		return &onStatus{ResponseWriter: w, status: http.StatusCreated, fn: func(http.Header) {
			if err := s.indexTags(r.Context(), name, ref); err != nil {
				s.log.Error("registry: index tag", "repository", name, "tag", ref, "err", err)
			}
		}}
	case r.Method == http.MethodDelete:
		return &onStatus{ResponseWriter: w, status: http.StatusAccepted, fn: func(http.Header) {
			tags := []string{ref}
			if !isTag { // the registry untagged every tag of the image
				var err error
				if tags, err = s.imageTags(r.Context(), name, digest.Digest(ref)); err != nil {
					s.log.Error("registry: index tags", "repository", name, "err", err)
					return
				}
			}
			if err := s.indexTags(r.Context(), name, tags...); err != nil {
				s.log.Error("registry: index tags", "repository", name, "err", err)
			}
		}}
	}
	return w
}

// onStatus calls fn with the response headers just before a response of
// the given status goes out.
type onStatus struct {
	http.ResponseWriter
	status      int
	fn          func(http.Header)
	wroteHeader bool
}

func (w *onStatus) WriteHeader(status int) {
	if !w.wroteHeader {
		w.wroteHeader = true
		if status == w.status {
			w.fn(w.Header())
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *onStatus) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// noTags reports whether repository name has never had a tag in storage.
func (s *Service) noTags(ctx context.Context, name string) bool {
	_, err := s.driver.Stat(ctx, path.Join("/docker/registry/v2/repositories", name, "_manifests/tags"))
	return errors.As(err, new(storagedriver.PathNotFoundError))
}

// peekBody reads up to limit bytes of r's body and puts them back, so the
// registry reads the whole body as sent.
func peekBody(r *http.Request, limit int64) ([]byte, error) {
	head, err := io.ReadAll(io.LimitReader(r.Body, limit))
	if err != nil {
		return nil, err
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
	return head, nil
}

// checkMount lets a cross-repository blob mount (?mount=<digest>&from=<repository>)
// through only when the caller may read the source repository, as pulling
// the blob from it would need; otherwise it drops the mount from the
// request, so the registry starts a normal upload, as the OCI
// distribution spec allows.
func (s *Service) checkMount(ctx context.Context, r *http.Request) {
	q := r.URL.Query()
	if !q.Has("mount") && !q.Has("from") {
		return
	}
	from := q.Get("from")
	allowed := validName(from) == nil
	if allowed {
		_, err := s.repository(ctx, from)
		allowed = err == nil
	}
	for _, action := range []string{"BatchGetImage", "GetDownloadUrlForLayer"} {
		allowed = allowed && s.authorize(ctx, action, s.repoArn(from)) == nil
	}
	if allowed {
		return
	}
	q.Del("mount")
	q.Del("from")
	r.URL.RawQuery = q.Encode()
	r.Form, r.PostForm = nil, nil // parsed again from the query left
}
