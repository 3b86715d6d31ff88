package ecr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/distribution/distribution/v3"
	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// The pull through cache's data plane: a manifest pull that misses in a
// repository under a rule's prefix fetches the manifest, and an image
// manifest's config and layers, from the rule's upstream registry, stores
// them in Berth's storage (creating the repository on the first pull, as
// ECR does) and lets the registry serve them; later pulls are local.

// upstreamTimeout bounds one fill from upstream.
const upstreamTimeout = 10 * time.Minute

// manifestAccept are the manifest media types asked of an upstream.
var manifestAccept = strings.Join([]string{
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
}, ", ")

// errUpstreamNotFound is an upstream's 404: no such repository or image.
var errUpstreamNotFound = errors.New("not found in the upstream registry")

// cacheRuleFor is the rule whose prefix repository name starts with (the
// longest, should several), if any.
func (s *Service) cacheRuleFor(ctx context.Context, name string) (PullThroughCacheRule, bool, error) {
	rules, err := s.cacheRules(ctx)
	if err != nil {
		return PullThroughCacheRule{}, false, err
	}
	var best PullThroughCacheRule
	found := false
	for p, r := range rules {
		if p != "ROOT" && strings.HasPrefix(name, p+"/") && len(p) > len(best.EcrRepositoryPrefix) {
			best, found = r, true
		}
	}
	return best, found, nil
}

// upstreamName is the upstream repository a cached repository mirrors.
func (r PullThroughCacheRule) upstreamName(name string) string {
	rest := strings.TrimPrefix(name, r.EcrRepositoryPrefix+"/")
	if up := r.UpstreamRepositoryPrefix; up != "" && up != "ROOT" {
		return up + "/" + rest
	}
	return rest
}

// CacheRefreshInterval is how long a tag fetched from upstream is served
// before a pull asks the upstream again whether it moved, as ECR does.
const CacheRefreshInterval = 24 * time.Hour

// cacheCheckedKey records when a cached tag was last fetched from upstream.
func (s *Service) cacheCheckedKey(name, tag string) string { return s.cacheCheckedPrefix(name) + tag }
func (s *Service) cacheCheckedPrefix(name string) string {
	return s.prefix + "ptc-checked/" + name + ":"
}

// pullThrough makes sure a manifest pull of repository name under rule can
// be served from storage: when the reference is not there, it is fetched
// from upstream; a tag fetched longer than the refresh interval ago is
// fetched again, and served as cached should that fail. It answers what
// the registry answers when it cannot.
func (s *Service) pullThrough(ctx context.Context, rule PullThroughCacheRule, name, ref string) *requestError {
	_, repoErr := s.repository(ctx, name)
	exists := repoErr == nil
	if repoErr != nil && api.AsError(repoErr).Code != "RepositoryNotFoundException" {
		s.log.Error("registry: load repository", "repository", name, "err", repoErr)
		return &requestError{http.StatusInternalServerError, "UNKNOWN", "unknown error"}
	}
	if exists && s.hasManifest(ctx, name, ref) {
		if s.tagStale(ctx, name, ref) {
			if e := s.fetchUpstream(ctx, rule, name, ref, true); e != nil {
				s.log.Warn("registry: refresh cached tag; serving the cached image", "repository", name, "tag", ref, "err", e.message)
			}
		}
		return nil
	}
	return s.fetchUpstream(ctx, rule, name, ref, exists)
}

// fetchUpstream fetches ref from upstream into repository name, creating
// the repository unless it exists, with ECR's permissions for a pull that
// fills the cache.
func (s *Service) fetchUpstream(ctx context.Context, rule PullThroughCacheRule, name, ref string, exists bool) *requestError {
	actions := []string{"BatchImportUpstreamImage"}
	if !exists {
		actions = append(actions, "CreateRepository")
	}
	for _, action := range actions {
		if err := s.authorize(ctx, action, s.repoArn(name)); err != nil {
			return &requestError{http.StatusForbidden, "DENIED", api.AsError(err).Message}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, upstreamTimeout)
	defer cancel()
	up := s.upstreamClient(rule)
	upName := rule.upstreamName(name)
	manifest, mediaType, err := up.manifest(ctx, upName, ref)
	if errors.Is(err, errUpstreamNotFound) {
		return &requestError{http.StatusNotFound, "MANIFEST_UNKNOWN", fmt.Sprintf("Requested image not found: %s:%s is not in the upstream registry %s", upName, ref, rule.UpstreamRegistryUrl)}
	}
	if err != nil {
		return &requestError{http.StatusNotFound, "MANIFEST_UNKNOWN", fmt.Sprintf("Requested image not found: could not pull %s:%s from the upstream registry %s: %v", upName, ref, rule.UpstreamRegistryUrl, err)}
	}
	if !exists {
		_, err := s.CreateRepository(ctx, &CreateRepositoryInput{RepositoryName: name})
		if err != nil && api.AsError(err).Code != "RepositoryAlreadyExistsException" {
			if e := api.AsError(err); e.Code == api.CodeAccessDenied {
				return &requestError{http.StatusForbidden, "DENIED", e.Message}
			}
			s.log.Error("registry: create cached repository", "repository", name, "err", err)
			return &requestError{http.StatusInternalServerError, "UNKNOWN", "unknown error"}
		}
	}
	if err := s.storeUpstream(ctx, up, name, upName, ref, manifest, mediaType); err != nil {
		s.log.Error("registry: pull through", "repository", name, "reference", ref, "upstream", rule.UpstreamRegistryUrl, "err", err)
		return &requestError{http.StatusNotFound, "MANIFEST_UNKNOWN", fmt.Sprintf("Requested image not found: could not cache %s:%s from the upstream registry %s: %v", upName, ref, rule.UpstreamRegistryUrl, err)}
	}
	if _, err := digest.Parse(ref); err != nil { // a tag
		if err := store.Put(ctx, s.store, s.cacheCheckedKey(name, ref), time.Now()); err != nil {
			s.log.Error("registry: record cached tag", "repository", name, "tag", ref, "err", err)
		}
	}
	return nil
}

// tagStale reports whether ref is a tag fetched from upstream longer than
// the refresh interval ago. Digests never are; nor is a tag pushed to
// Berth rather than fetched.
func (s *Service) tagStale(ctx context.Context, name, ref string) bool {
	if _, err := digest.Parse(ref); err == nil {
		return false
	}
	it, err := store.Get[time.Time](ctx, s.store, s.cacheCheckedKey(name, ref))
	return err == nil && time.Since(it.Value) >= s.cacheRefresh
}

// hasManifest reports whether repository name holds ref, a tag or digest.
func (s *Service) hasManifest(ctx context.Context, name, ref string) bool {
	repo, err := s.contentRepo(ctx, name)
	if err != nil {
		return false
	}
	if d, err := digest.Parse(ref); err == nil {
		ms, err := repo.Manifests(ctx)
		if err != nil {
			return false
		}
		ok, err := ms.Exists(ctx, d)
		return err == nil && ok
	}
	_, err = repo.Tags(ctx).Get(ctx, ref)
	return err == nil
}

// storeUpstream stores a manifest fetched from upstream under ref, after
// the config and layers an image manifest names. An index is stored alone:
// its images are fetched when pulled by digest.
func (s *Service) storeUpstream(ctx context.Context, up *upstreamClient, name, upName, ref string, payload []byte, mediaType string) error {
	m, _, err := distribution.UnmarshalManifest(mediaType, payload)
	if err != nil {
		return fmt.Errorf("manifest of type %q: %w", mediaType, err)
	}
	repo, err := s.contentRepo(ctx, name)
	if err != nil {
		return err
	}
	blobs := repo.Blobs(ctx)
	for _, ref := range m.References() {
		if isManifestType(ref.MediaType) || len(ref.URLs) > 0 {
			continue // an index's images; layers stored elsewhere
		}
		if _, err := blobs.Stat(ctx, ref.Digest); err == nil {
			continue
		}
		if err := s.copyBlob(ctx, up, blobs, upName, ref.Digest); err != nil {
			return fmt.Errorf("blob %s: %w", ref.Digest, err)
		}
	}
	ms, err := repo.Manifests(ctx)
	if err != nil {
		return err
	}
	stored, err := ms.Put(ctx, m)
	if err != nil {
		return err
	}
	if want := digest.FromBytes(payload); stored != want {
		return fmt.Errorf("stored as %s, fetched as %s", stored, want)
	}
	if _, err := digest.Parse(ref); err == nil {
		return nil
	}
	desc := distribution.Descriptor{Digest: stored, MediaType: mediaType, Size: int64(len(payload))}
	if err := repo.Tags(ctx).Tag(ctx, ref, desc); err != nil {
		return fmt.Errorf("tag %s: %w", ref, err)
	}
	return s.indexTags(ctx, name, ref)
}

func isManifestType(t string) bool {
	switch t {
	case "application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json",
		"application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json":
		return true
	}
	return false
}

// copyBlob streams one blob from upstream into the repository's store,
// which checks its digest.
func (s *Service) copyBlob(ctx context.Context, up *upstreamClient, blobs distribution.BlobStore, upName string, d digest.Digest) error {
	body, err := up.blob(ctx, upName, d)
	if err != nil {
		return err
	}
	defer body.Close()
	w, err := blobs.Create(ctx)
	if err != nil {
		return err
	}
	n, err := io.Copy(w, body)
	if err != nil {
		w.Cancel(ctx)
		return err
	}
	if _, err := w.Commit(ctx, distribution.Descriptor{Digest: d, Size: n}); err != nil {
		w.Cancel(ctx)
		return err
	}
	return nil
}

// upstreamClient speaks the OCI distribution API to a rule's upstream,
// anonymously or with the token of a Bearer challenge, as registries hand
// them to anonymous clients.
type upstreamClient struct {
	base   string
	client *http.Client
	// tokens are the bearer tokens by scope obtained so far.
	tokens map[string]string
}

func (s *Service) upstreamClient(r PullThroughCacheRule) *upstreamClient {
	up, err := parseUpstream(r.UpstreamRegistryUrl)
	if err != nil {
		up.base = "https://" + r.UpstreamRegistryUrl // a stored rule was accepted once
	}
	return &upstreamClient{base: up.base, client: &http.Client{Timeout: upstreamTimeout}, tokens: map[string]string{}}
}

// ping checks the upstream answers /v2/ and lets an anonymous client in.
func (c *upstreamClient) ping(ctx context.Context) error {
	resp, err := c.get(ctx, "/v2/", "", "")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("upstream answered %s", resp.Status)
	}
	return nil
}

// manifest fetches a manifest and its media type, checking it against a
// digest reference.
func (c *upstreamClient) manifest(ctx context.Context, name, ref string) ([]byte, string, error) {
	resp, err := c.get(ctx, "/v2/"+name+"/manifests/"+ref, manifestAccept, "repository:"+name+":pull")
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if err := upstreamStatus(resp); err != nil {
		return nil, "", err
	}
	payload, err := io.ReadAll(io.LimitReader(resp.Body, maxManifestSize+1))
	if err != nil {
		return nil, "", err
	}
	if len(payload) > maxManifestSize {
		return nil, "", fmt.Errorf("manifest larger than %d bytes", maxManifestSize)
	}
	if d, err := digest.Parse(ref); err == nil {
		v := d.Verifier()
		v.Write(payload)
		if !v.Verified() {
			return nil, "", fmt.Errorf("manifest does not match digest %s", d)
		}
	}
	mediaType, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	if !isManifestType(mediaType) {
		var m struct {
			MediaType string `json:"mediaType"`
		}
		json.Unmarshal(payload, &m)
		mediaType = m.MediaType
	}
	return payload, mediaType, nil
}

// blob opens a blob's content.
func (c *upstreamClient) blob(ctx context.Context, name string, d digest.Digest) (io.ReadCloser, error) {
	resp, err := c.get(ctx, "/v2/"+name+"/blobs/"+d.String(), "", "repository:"+name+":pull")
	if err != nil {
		return nil, err
	}
	if err := upstreamStatus(resp); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp.Body, nil
}

func upstreamStatus(resp *http.Response) error {
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case resp.StatusCode == http.StatusNotFound:
		return errUpstreamNotFound
	}
	return fmt.Errorf("upstream answered %s", resp.Status)
}

// get sends a GET, answering a Bearer challenge with a token for scope
// once.
func (c *upstreamClient) get(ctx context.Context, path, accept, scope string) (*http.Response, error) {
	do := func() (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
		if err != nil {
			return nil, err
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		if tok := c.tokens[scope]; tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		return c.client.Do(req)
	}
	resp, err := do()
	if err != nil || resp.StatusCode != http.StatusUnauthorized || c.tokens[scope] != "" {
		return resp, err
	}
	challenge := resp.Header.Get("WWW-Authenticate")
	resp.Body.Close()
	tok, err := c.token(ctx, challenge, scope)
	if err != nil {
		return nil, err
	}
	c.tokens[scope] = tok
	return do()
}

// token obtains an anonymous bearer token from the realm of a challenge
// (Bearer realm="…",service="…",scope="…").
func (c *upstreamClient) token(ctx context.Context, challenge, scope string) (string, error) {
	scheme, params, _ := strings.Cut(challenge, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", fmt.Errorf("upstream requires credentials (%s); Berth has no Secrets Manager to read a credentialArn from", strings.TrimSpace(scheme))
	}
	p := parseChallenge(params)
	realm, err := url.Parse(p["realm"])
	if err != nil || (realm.Scheme != "http" && realm.Scheme != "https") {
		return "", fmt.Errorf("upstream token realm %q is not an http(s) URL", p["realm"])
	}
	q := realm.Query()
	if p["service"] != "" {
		q.Set("service", p["service"])
	}
	if scope == "" {
		scope = p["scope"]
	}
	if scope != "" {
		q.Set("scope", scope)
	}
	realm.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, realm.String(), nil)
	if err != nil {
		return "", err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("upstream token service answered %s", resp.Status)
	}
	var t struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&t); err != nil {
		return "", fmt.Errorf("upstream token: %w", err)
	}
	if t.Token == "" {
		t.Token = t.AccessToken
	}
	if t.Token == "" {
		return "", errors.New("upstream token service returned no token")
	}
	return t.Token, nil
}

// parseChallenge reads the key="value" parameters of a challenge.
func parseChallenge(s string) map[string]string {
	out := map[string]string{}
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		key, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		key = strings.ToLower(strings.TrimSpace(key))
		var val string
		if strings.HasPrefix(rest, `"`) {
			end := strings.Index(rest[1:], `"`)
			if end < 0 {
				val, rest = rest[1:], ""
			} else {
				val, rest = rest[1:1+end], rest[2+end:]
			}
		} else {
			val, rest, _ = strings.Cut(rest, ",")
			rest = "," + rest
		}
		out[key] = val
		s = strings.TrimPrefix(strings.TrimSpace(rest), ",")
	}
	return out
}
