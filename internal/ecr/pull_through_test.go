package ecr

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory" // the upstream's storage
	"github.com/opencontainers/go-digest"
	"github.com/sirupsen/logrus"

	"github.com/berth-dev/berth/internal/api"
)

// upstreamRegistry is a distribution registry on 127.0.0.1 that counts
// the /v2/ requests it serves, optionally behind a bearer token
// challenge as public registries answer anonymous clients.
type upstreamRegistry struct {
	url      string
	srv      *httptest.Server
	requests atomic.Int64
	tokens   atomic.Int64 // tokens handed out
}

func newUpstreamRegistry(t *testing.T, bearer bool) *upstreamRegistry {
	t.Helper()
	cfg := &configuration.Configuration{Storage: configuration.Storage{"inmemory": configuration.Parameters{}}}
	cfg.Log.AccessLog.Disabled = true
	logrus.SetOutput(io.Discard) // as Berth's registry does
	app := handlers.NewApp(context.Background(), cfg)
	u := &upstreamRegistry{}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			u.tokens.Add(1)
			json.NewEncoder(w).Encode(map[string]string{"token": "t:" + r.URL.Query().Get("scope")})
			return
		}
		u.requests.Add(1)
		if bearer && r.Method == http.MethodGet && !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer t:") {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token",service="upstream.test"`, srv.URL))
			registryError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
			return
		}
		app.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	u.url, u.srv = srv.URL, srv
	return u
}

// host is the upstream's address as a rule names it.
func (u *upstreamRegistry) host() string { return strings.TrimPrefix(u.url, "http://") }

// send sends a request to the upstream (its own pushes, not counted by
// the tests' assertions, which read the count around pulls).
func (u *upstreamRegistry) send(t *testing.T, method, url, contentType string, body []byte) *http.Response {
	t.Helper()
	if !strings.HasPrefix(url, "http") {
		url = u.url + url
	}
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer t:push")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func (u *upstreamRegistry) pushBlob(t *testing.T, name string, data []byte) digest.Digest {
	t.Helper()
	resp := u.send(t, http.MethodPost, "/v2/"+name+"/blobs/uploads/", "", nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("upstream upload: %s", resp.Status)
	}
	loc := resp.Header.Get("Location")
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	d := digest.FromBytes(data)
	if resp := u.send(t, http.MethodPut, loc+sep+"digest="+d.String(), "application/octet-stream", data); resp.StatusCode != http.StatusCreated {
		t.Fatalf("upstream upload %s: %s", d, resp.Status)
	}
	return d
}

func (u *upstreamRegistry) pushManifest(t *testing.T, name, ref, mediaType string, m []byte) {
	t.Helper()
	if resp := u.send(t, http.MethodPut, "/v2/"+name+"/manifests/"+ref, mediaType, m); resp.StatusCode != http.StatusCreated {
		t.Fatalf("upstream manifest %s:%s: %s", name, ref, resp.Status)
	}
}

// cacheImage is a FROM scratch image built in process: one layer holding
// a file.
type cacheImage struct {
	manifest []byte
	layer    []byte
	config   []byte
}

func buildCacheImage(t *testing.T, content string) cacheImage {
	t.Helper()
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: int64(len(content))})
	tw.Write([]byte(content))
	tw.Close()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw.Bytes())
	zw.Close()
	config, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux", "config": map[string]any{},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{digest.FromBytes(raw.Bytes()).String()}},
	})
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest.FromBytes(config), "size": len(config)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest.FromBytes(gz.Bytes()), "size": gz.Len()}},
	})
	return cacheImage{manifest: manifest, layer: gz.Bytes(), config: config}
}

func (u *upstreamRegistry) push(t *testing.T, name, tag string, img cacheImage) digest.Digest {
	t.Helper()
	u.pushBlob(t, name, img.config)
	u.pushBlob(t, name, img.layer)
	u.pushManifest(t, name, tag, "application/vnd.oci.image.manifest.v1+json", img.manifest)
	return digest.FromBytes(img.manifest)
}

// pull GETs a manifest from Berth as docker does.
func (tr *testRegistry) pull(t *testing.T, name, ref string) (*http.Response, []byte) {
	return tr.pullAs(t, tr.basic(), name, ref)
}

func (tr *testRegistry) pullAs(t *testing.T, authorization, name, ref string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, tr.url+"/v2/"+name+"/manifests/"+ref, nil)
	req.Header.Set("Authorization", authorization)
	req.Header.Set("Accept", manifestAccept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// TestPullThroughCache pulls an image pushed to a real upstream registry
// on loopback through Berth, anonymously and behind a bearer challenge:
// the first pull creates the repository and caches the image with its
// digests; the second is served without asking upstream.
func TestPullThroughCache(t *testing.T) {
	for _, bearer := range []bool{false, true} {
		t.Run(fmt.Sprintf("bearer=%v", bearer), func(t *testing.T) {
			up := newUpstreamRegistry(t, bearer)
			img := buildCacheImage(t, "hello from upstream")
			want := up.push(t, "team/hello", "v1", img)
			tr := newTestRegistry(t)
			if _, err := tr.CreatePullThroughCacheRule(tr.ctx, &CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: "mirror/", UpstreamRegistryUrl: up.host()}); err != nil {
				t.Fatal(err)
			}
			const name = "mirror/team/hello"
			before := up.requests.Load()
			resp, body := tr.pull(t, name, "v1")
			if resp.StatusCode != 200 || resp.Header.Get("Docker-Content-Digest") != want.String() || !bytes.Equal(body, img.manifest) {
				t.Fatalf("first pull: %s digest %s (want %s): %s", resp.Status, resp.Header.Get("Docker-Content-Digest"), want, body)
			}
			if up.requests.Load() == before {
				t.Fatal("the first pull did not reach upstream")
			}
			if bearer && up.tokens.Load() == 0 {
				t.Fatal("no token was asked of the upstream's token service")
			}
			layer := digest.FromBytes(img.layer)
			if resp, body := tr.do(t, http.MethodGet, "/v2/"+name+"/blobs/"+layer.String(), tr.basic(), "", nil); resp.StatusCode != 200 || !bytes.Equal(body, img.layer) {
				t.Fatalf("layer: %s (%d bytes)", resp.Status, len(body))
			}
			repos, err := tr.DescribeRepositories(tr.ctx, &DescribeRepositoriesInput{RepositoryNames: []string{name}})
			if err != nil || repos.Repositories[0].RepositoryUri != "localhost:4600/"+name {
				t.Fatalf("cached repository: %+v %v", repos, err)
			}
			list, err := tr.ListImages(tr.ctx, &ListImagesInput{RepositoryName: name})
			if err != nil || len(list.ImageIds) != 1 || list.ImageIds[0] != (ImageIdentifier{ImageDigest: want.String(), ImageTag: "v1"}) {
				t.Fatalf("cached images %+v %v", list, err)
			}

			before = up.requests.Load()
			for _, ref := range []string{"v1", want.String()} {
				if resp, body := tr.pull(t, name, ref); resp.StatusCode != 200 || !bytes.Equal(body, img.manifest) {
					t.Fatalf("second pull of %s: %s %s", ref, resp.Status, body)
				}
			}
			if resp, _ := tr.do(t, http.MethodGet, "/v2/"+name+"/blobs/"+layer.String(), tr.basic(), "", nil); resp.StatusCode != 200 {
				t.Fatalf("second layer pull: %s", resp.Status)
			}
			if n := up.requests.Load() - before; n != 0 {
				t.Fatalf("the second pull sent %d requests upstream, want none", n)
			}

			for _, tt := range []struct{ name, ref string }{
				{name, "nope"}, // unknown tag
				{name, digest.FromString("nothing").String()}, // unknown digest
				{"mirror/team/absent", "v1"},                  // unknown upstream repository
			} {
				if resp, body := tr.pull(t, tt.name, tt.ref); resp.StatusCode != 404 || errorCode(body) != "MANIFEST_UNKNOWN" {
					t.Errorf("pull %s:%s: %s %s, want 404 MANIFEST_UNKNOWN", tt.name, tt.ref, resp.Status, body)
				}
			}
			if _, err := tr.DescribeRepositories(tr.ctx, &DescribeRepositoriesInput{RepositoryNames: []string{"mirror/team/absent"}}); code(err) != "RepositoryNotFoundException" {
				t.Errorf("a pull of an image upstream lacks created its repository: %v", err)
			}
		})
	}
}

// TestPullThroughCacheIndex caches a multi-platform index, then its image
// when pulled by digest, as docker pulls them.
func TestPullThroughCacheIndex(t *testing.T) {
	up := newUpstreamRegistry(t, false)
	img := buildCacheImage(t, "one platform")
	image := up.push(t, "lib/multi", "amd64", img)
	index, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
		"manifests": []any{map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": image, "size": len(img.manifest),
			"platform": map[string]string{"architecture": "amd64", "os": "linux"}}},
	})
	up.pushManifest(t, "lib/multi", "latest", "application/vnd.oci.image.index.v1+json", index)
	tr := newTestRegistry(t)
	if _, err := tr.CreatePullThroughCacheRule(tr.ctx, &CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: "up", UpstreamRegistryUrl: "http://" + up.host()}); err != nil {
		t.Fatal(err)
	}
	if resp, body := tr.pull(t, "up/lib/multi", "latest"); resp.StatusCode != 200 || !bytes.Equal(body, index) {
		t.Fatalf("index: %s %s", resp.Status, body)
	}
	if resp, body := tr.pull(t, "up/lib/multi", image.String()); resp.StatusCode != 200 || !bytes.Equal(body, img.manifest) {
		t.Fatalf("image of the index: %s %s", resp.Status, body)
	}
	if resp, body := tr.do(t, http.MethodGet, "/v2/up/lib/multi/blobs/"+digest.FromBytes(img.config).String(), tr.basic(), "", nil); resp.StatusCode != 200 || !bytes.Equal(body, img.config) {
		t.Fatalf("config: %s %s", resp.Status, body)
	}
}

// TestPullThroughCachePermissions: filling the cache needs
// ecr:BatchImportUpstreamImage, and ecr:CreateRepository for the first
// pull, besides ecr:BatchGetImage, as in ECR.
func TestPullThroughCachePermissions(t *testing.T) {
	up := newUpstreamRegistry(t, false)
	up.push(t, "app", "v1", buildCacheImage(t, "x"))
	tr := newTestRegistry(t)
	if _, err := tr.CreatePullThroughCacheRule(tr.ctx, &CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: "mirror", UpstreamRegistryUrl: up.host()}); err != nil {
		t.Fatal(err)
	}
	arn := tr.repoArn("mirror/app")
	g := grants{"ecr:BatchGetImage " + arn: true}
	tr.authz = g
	userAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("AWS:"+tr.userPassword))
	pull := func() (*http.Response, []byte) {
		return tr.pullAs(t, userAuth, "mirror/app", "v1")
	}
	for _, missing := range []string{"ecr:BatchImportUpstreamImage", "ecr:CreateRepository"} {
		if resp, body := pull(); resp.StatusCode != 403 || errorCode(body) != "DENIED" || !strings.Contains(string(body), missing) {
			t.Fatalf("pull without %s: %s %s", missing, resp.Status, body)
		}
		g[missing+" "+arn] = true
	}
	if resp, body := pull(); resp.StatusCode != 200 {
		t.Fatalf("pull with every permission: %s %s", resp.Status, body)
	}
}

// TestPullThroughCacheRuleAPI covers the rule operations and their
// errors.
func TestPullThroughCacheRuleAPI(t *testing.T) {
	tr := newTestRegistry(t)
	ctx := tr.ctx
	secret := "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/hub-AbCdEf"
	created, err := tr.CreatePullThroughCacheRule(ctx, &CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: "docker-hub", UpstreamRegistryUrl: "registry-1.docker.io", CredentialArn: secret})
	if err != nil {
		t.Fatal(err)
	}
	if created.UpstreamRegistry != "docker-hub" || created.CredentialArn != secret || created.CreatedAt == nil || created.RegistryId != "123456789012" {
		t.Fatalf("created %+v", created)
	}
	if _, err := tr.CreatePullThroughCacheRule(ctx, &CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: "ecr-public", UpstreamRegistryUrl: "public.ecr.aws"}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		in   CreatePullThroughCacheRuleInput
		code string
	}{
		{"same prefix", CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: "docker-hub/", UpstreamRegistryUrl: "quay.io"}, "PullThroughCacheRuleAlreadyExistsException"},
		{"unknown host", CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: "x1", UpstreamRegistryUrl: "registry.example.com"}, "UnsupportedUpstreamRegistryException"},
		{"private address", CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: "x1", UpstreamRegistryUrl: "10.0.0.1:5000"}, "UnsupportedUpstreamRegistryException"},
		{"loopback with a path", CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: "x1", UpstreamRegistryUrl: "127.0.0.1:5000/v2"}, "UnsupportedUpstreamRegistryException"},
		{"kind of another URL", CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: "x1", UpstreamRegistryUrl: "quay.io", UpstreamRegistry: "k8s"}, "UnsupportedUpstreamRegistryException"},
		{"short prefix", CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: "x", UpstreamRegistryUrl: "quay.io"}, "InvalidParameterException"},
		{"long prefix", CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: strings.Repeat("a", 31), UpstreamRegistryUrl: "quay.io"}, "InvalidParameterException"},
		{"upper case prefix", CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: "Quay", UpstreamRegistryUrl: "quay.io"}, "InvalidParameterException"},
		{"no URL", CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: "x1"}, "InvalidParameterException"},
		{"no credential for ghcr", CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: "gh", UpstreamRegistryUrl: "ghcr.io"}, "InvalidParameterException"},
		{"bad credential ARN", CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: "gh", UpstreamRegistryUrl: "ghcr.io", CredentialArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:other/x-AbCdEfGhIj"}, "InvalidParameterException"},
		{"ROOT outside ECR", CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: "ROOT", UpstreamRegistryUrl: "quay.io"}, "InvalidParameterException"},
		{"ECR without a role", CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: "other", UpstreamRegistryUrl: "210987654321.dkr.ecr.eu-west-1.amazonaws.com"}, "InvalidParameterException"},
		{"another registry", CreatePullThroughCacheRuleInput{RegistryId: "210987654321", EcrRepositoryPrefix: "x1", UpstreamRegistryUrl: "quay.io"}, "InvalidParameterException"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			if _, err := tr.CreatePullThroughCacheRule(ctx, &in); code(err) != tt.code {
				t.Fatalf("%v, want %s", err, tt.code)
			}
		})
	}

	all, err := tr.DescribePullThroughCacheRules(ctx, &DescribePullThroughCacheRulesInput{})
	if err != nil || len(all.PullThroughCacheRules) != 2 || all.PullThroughCacheRules[0].EcrRepositoryPrefix != "docker-hub" || all.PullThroughCacheRules[1].UpstreamRegistry != "ecr-public" {
		t.Fatalf("describe all: %+v %v", all, err)
	}
	one := 1
	page, err := tr.DescribePullThroughCacheRules(ctx, &DescribePullThroughCacheRulesInput{MaxResults: &one})
	if err != nil || len(page.PullThroughCacheRules) != 1 || page.NextToken == nil {
		t.Fatalf("first page: %+v %v", page, err)
	}
	if _, err := tr.DescribePullThroughCacheRules(ctx, &DescribePullThroughCacheRulesInput{EcrRepositoryPrefixes: []string{"quay"}}); code(err) != "PullThroughCacheRuleNotFoundException" {
		t.Fatalf("describe an unknown prefix: %v", err)
	}
	zero := 0
	if _, err := tr.DescribePullThroughCacheRules(ctx, &DescribePullThroughCacheRulesInput{MaxResults: &zero}); code(err) != "InvalidParameterException" {
		t.Fatalf("maxResults 0: %v", err)
	}

	newSecret := "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/hub2-AbCdEf"
	updated, err := tr.UpdatePullThroughCacheRule(ctx, &UpdatePullThroughCacheRuleInput{EcrRepositoryPrefix: "docker-hub", CredentialArn: newSecret})
	if err != nil || updated.CredentialArn != newSecret || updated.UpdatedAt == nil {
		t.Fatalf("update: %+v %v", updated, err)
	}
	if _, err := tr.UpdatePullThroughCacheRule(ctx, &UpdatePullThroughCacheRuleInput{EcrRepositoryPrefix: "quay", CredentialArn: newSecret}); code(err) != "PullThroughCacheRuleNotFoundException" {
		t.Fatalf("update an unknown rule: %v", err)
	}
	live := newUpstreamRegistry(t, true)
	for prefix, url := range map[string]string{"live": live.host(), "dead": "127.0.0.1:1"} {
		if _, err := tr.CreatePullThroughCacheRule(ctx, &CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: prefix, UpstreamRegistryUrl: url}); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := tr.ValidatePullThroughCacheRule(ctx, &PullThroughCacheRuleInput{EcrRepositoryPrefix: "live"}); err != nil || !v.IsValid || v.Failure != "" {
		t.Fatalf("validate a reachable upstream: %+v %v", v, err)
	}
	if v, err := tr.ValidatePullThroughCacheRule(ctx, &PullThroughCacheRuleInput{EcrRepositoryPrefix: "dead"}); err != nil || v.IsValid || v.Failure == "" {
		t.Fatalf("validate an upstream that does not answer: %+v %v", v, err)
	}

	deleted, err := tr.DeletePullThroughCacheRule(ctx, &PullThroughCacheRuleInput{EcrRepositoryPrefix: "docker-hub"})
	if err != nil || deleted.UpstreamRegistryUrl != "registry-1.docker.io" || deleted.CredentialArn != newSecret {
		t.Fatalf("delete: %+v %v", deleted, err)
	}
	if _, err := tr.DeletePullThroughCacheRule(ctx, &PullThroughCacheRuleInput{EcrRepositoryPrefix: "docker-hub"}); code(err) != "PullThroughCacheRuleNotFoundException" {
		t.Fatalf("delete again: %v", err)
	}

	for i := len(all.PullThroughCacheRules) + 1; i < maxCacheRules; i++ { // two more and one fewer
		if _, err := tr.CreatePullThroughCacheRule(ctx, &CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: fmt.Sprintf("r%d", i), UpstreamRegistryUrl: "127.0.0.1:5000"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tr.CreatePullThroughCacheRule(ctx, &CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: "one-more", UpstreamRegistryUrl: "127.0.0.1:5000"}); code(err) != "LimitExceededException" {
		t.Fatalf("rule %d: %v, want LimitExceededException", maxCacheRules+1, err)
	}

	tr.authz = grants{}
	userCtx := api.WithPrincipal(ctx, user)
	for op, call := range map[string]func() error{
		"CreatePullThroughCacheRule": func() error {
			_, err := tr.CreatePullThroughCacheRule(userCtx, &CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: "q1", UpstreamRegistryUrl: "quay.io"})
			return err
		},
		"DescribePullThroughCacheRules": func() error {
			_, err := tr.DescribePullThroughCacheRules(userCtx, &DescribePullThroughCacheRulesInput{})
			return err
		},
		"DeletePullThroughCacheRule": func() error {
			_, err := tr.DeletePullThroughCacheRule(userCtx, &PullThroughCacheRuleInput{EcrRepositoryPrefix: "ecr-public"})
			return err
		},
	} {
		if err := call(); code(err) != api.CodeAccessDenied || !strings.Contains(err.Error(), "ecr:"+op) {
			t.Errorf("%s by a user without permission: %v", op, err)
		}
	}
}

// TestPullThroughCacheConcurrentFirstPulls: pulls of one image that race
// to fill the cache (HEAD first, as containerd asks, and GET) all succeed
// and leave one repository with the image.
func TestPullThroughCacheConcurrentFirstPulls(t *testing.T) {
	up := newUpstreamRegistry(t, true)
	img := buildCacheImage(t, "raced")
	want := up.push(t, "app", "v1", img)
	tr := newTestRegistry(t)
	if _, err := tr.CreatePullThroughCacheRule(tr.ctx, &CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: "mirror", UpstreamRegistryUrl: up.host()}); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 6)
	for i := range cap(errs) {
		method := http.MethodGet
		if i%2 == 0 {
			method = http.MethodHead
		}
		go func() {
			req, _ := http.NewRequest(method, tr.url+"/v2/mirror/app/manifests/v1", nil)
			req.Header.Set("Authorization", tr.basic())
			req.Header.Set("Accept", manifestAccept)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Docker-Content-Digest") != want.String() {
				err = fmt.Errorf("%s: %s digest %q", method, resp.Status, resp.Header.Get("Docker-Content-Digest"))
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	list, err := tr.ListImages(tr.ctx, &ListImagesInput{RepositoryName: "mirror/app"})
	if err != nil || len(list.ImageIds) != 1 || list.ImageIds[0].ImageDigest != want.String() {
		t.Fatalf("images after racing pulls: %+v %v", list, err)
	}
}

// TestPullThroughCacheRefreshesTags: a cached tag is served as cached
// within the refresh interval; after it, a pull asks the upstream and
// follows a moved tag, and serves the cached image when the upstream is
// gone.
func TestPullThroughCacheRefreshesTags(t *testing.T) {
	up := newUpstreamRegistry(t, false)
	first, second := buildCacheImage(t, "first"), buildCacheImage(t, "second")
	firstDigest := up.push(t, "app", "v1", first)
	tr := newTestRegistry(t)
	if _, err := tr.CreatePullThroughCacheRule(tr.ctx, &CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: "mirror", UpstreamRegistryUrl: up.host()}); err != nil {
		t.Fatal(err)
	}
	expect := func(want digest.Digest) {
		t.Helper()
		if resp, body := tr.pull(t, "mirror/app", "v1"); resp.StatusCode != 200 || resp.Header.Get("Docker-Content-Digest") != want.String() {
			t.Fatalf("pull: %s %s %s, want %s", resp.Status, resp.Header.Get("Docker-Content-Digest"), body, want)
		}
	}
	expect(firstDigest)
	secondDigest := up.push(t, "app", "v1", second)
	expect(firstDigest) // within the interval
	tr.cacheRefresh = 0
	expect(secondDigest)
	list, err := tr.ListImages(tr.ctx, &ListImagesInput{RepositoryName: "mirror/app"})
	if err != nil || len(list.ImageIds) != 2 {
		t.Fatalf("images after the tag moved: %+v %v, want the first untagged and the second tagged", list, err)
	}
	up.srv.Close()
	expect(secondDigest)
}

// TestUpstreamURLs: ECR's upstreams are reached over https; loopback
// registries, Berth's extension, over http unless written with https://;
// anything else is refused with a message naming the extension.
func TestUpstreamURLs(t *testing.T) {
	for _, tt := range []struct{ url, kind, base string }{
		{"public.ecr.aws", "ecr-public", "https://public.ecr.aws"},
		{"registry-1.docker.io", "docker-hub", "https://registry-1.docker.io"},
		{"myregistry.azurecr.io", "azure-container-registry", "https://myregistry.azurecr.io"},
		{"123456789012.dkr.ecr.eu-west-1.amazonaws.com", "ecr", "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"},
		{"127.0.0.1:5000", "", "http://127.0.0.1:5000"},
		{"127.1.2.3", "", "http://127.1.2.3"},
		{"[::1]:5000", "", "http://[::1]:5000"},
		{"https://localhost:8443", "", "https://localhost:8443"},
		{"http://127.0.0.1:5000", "", "http://127.0.0.1:5000"},
		{"example.com", "", ""},
		{"10.0.0.1:5000", "", ""},
		{"ftp://127.0.0.1", "", ""},
		{"127.0.0.1:5000/v2", "", ""},
		{"user@127.0.0.1:5000", "", ""},
		{"localhost:port", "", ""},
		{"https://public.ecr.aws.example.com", "", ""},
	} {
		up, err := parseUpstream(tt.url)
		if tt.base == "" {
			if code(err) != "UnsupportedUpstreamRegistryException" || !strings.Contains(err.Error(), "loopback") {
				t.Errorf("%s: %+v %v, want UnsupportedUpstreamRegistryException naming the loopback extension", tt.url, up, err)
			}
			continue
		}
		if err != nil || up.kind != tt.kind || up.base != tt.base {
			t.Errorf("%s: %+v %v, want kind %q base %s", tt.url, up, err, tt.kind, tt.base)
		}
	}
}
