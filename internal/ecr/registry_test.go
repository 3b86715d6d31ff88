package ecr

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// user is a principal of the account that is not root: api.RootOnly
// denies it every action.
var user = api.Principal{Account: "123456789012", ARN: "arn:aws:iam::123456789012:user/dev", AccessKeyID: "AKIDUSER"}

// testRegistry is a Service with its registry served over HTTP, a
// repository "app" and registry passwords of root and of user.
type testRegistry struct {
	*Service
	ctx          context.Context
	url          string
	password     string // root's
	userPassword string
	token        string // root's authorizationToken, base64("AWS:"+password)
}

func newTestRegistry(t testing.TB) *testRegistry {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newTestRegistryOn(t, st, Storage{})
}

// newTestRegistryOn is newTestRegistry on store st with content in
// storage: a second one on the same store and bucket is another server of
// the same region, sharing repositories, tokens and images.
func newTestRegistryOn(t testing.TB, st *store.Store, storage Storage) *testRegistry {
	t.Helper()
	lookup := func(key string) (api.Principal, bool) {
		for _, p := range []api.Principal{root, user} {
			if p.AccessKeyID == key {
				return p, true
			}
		}
		return api.Principal{}, false
	}
	s, err := New(context.Background(), Config{Region: "us-east-1", Account: "123456789012", RegistryHost: "localhost:4600", DataDir: t.TempDir(), Storage: storage},
		st, api.RootOnly{}, lookup, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.RegistryHandler())
	t.Cleanup(srv.Close)
	ctx := api.WithPrincipal(context.Background(), root)
	if _, err := s.CreateRepository(ctx, &CreateRepositoryInput{RepositoryName: "app"}); err != nil && code(err) != "RepositoryAlreadyExistsException" {
		t.Fatal(err)
	}
	out, err := s.GetAuthorizationToken(ctx, &GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	token := out.AuthorizationData[0].AuthorizationToken
	raw, _ := base64.StdEncoding.DecodeString(token)
	expires := time.Now().Add(time.Hour).Unix()
	return &testRegistry{Service: s, ctx: ctx, url: srv.URL, password: strings.TrimPrefix(string(raw), "AWS:"), token: token,
		userPassword: s.sign(tokenClaims{AccessKeyID: user.AccessKeyID, Expires: expires})}
}

// do sends a registry request with the given Authorization header (none
// when empty) and returns the response with its body read.
func (tr *testRegistry) do(t testing.TB, method, path, authorization, contentType string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, tr.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

// basic is root's Authorization header as docker sends it.
func (tr *testRegistry) basic() string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte("AWS:"+tr.password))
}

// pushBlob uploads data to repository name in one PUT and returns its digest.
func (tr *testRegistry) pushBlob(t testing.TB, name string, data []byte) digest.Digest {
	t.Helper()
	resp, _ := tr.do(t, http.MethodPost, "/v2/"+name+"/blobs/uploads/", tr.basic(), "", nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("start upload: %s", resp.Status)
	}
	loc := resp.Header.Get("Location")
	d := digest.FromBytes(data)
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	loc = strings.TrimPrefix(loc, tr.url)
	resp, body := tr.do(t, http.MethodPut, loc+sep+"digest="+d.String(), tr.basic(), "application/octet-stream", data)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("finish upload: %s %s", resp.Status, body)
	}
	return d
}

// errorCode is the first code of a registry error body.
func errorCode(body []byte) string {
	var e struct {
		Errors []struct{ Code, Message string } `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil || len(e.Errors) == 0 {
		return ""
	}
	return e.Errors[0].Code
}

func TestRegistryAuthentication(t *testing.T) {
	tr := newTestRegistry(t)
	expired := tr.sign(tokenClaims{AccessKeyID: root.AccessKeyID, Expires: time.Now().Add(-time.Minute).Unix()})
	basic := func(user, pw string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
	}
	const challenge = `Basic realm="http://localhost:4600/",service="ecr.amazonaws.com"`
	for _, tt := range []struct {
		name, path, authorization string
		status                    int
		code, message             string
	}{
		{"basic", "/v2/", tr.basic(), 200, "", ""},
		{"bearer password", "/v2/", "Bearer " + tr.password, 200, "", ""},
		{"bearer authorization token", "/v2/", "Bearer " + tr.token, 200, "", ""},
		{"bearer reaches a repository", "/v2/app/tags/list", "Bearer " + tr.password, 200, "", ""},
		{"anonymous", "/v2/", "", 401, "DENIED", "Not Authorized"},
		{"anonymous on a repository", "/v2/app/tags/list", "", 401, "DENIED", "Not Authorized"},
		{"user other than AWS", "/v2/", basic("admin", tr.password), 401, "DENIED", "invalid"},
		{"tampered", "/v2/", basic("AWS", tr.password+"0"), 401, "DENIED", "invalid"},
		{"tampered bearer", "/v2/", "Bearer x" + tr.password, 401, "DENIED", "invalid"},
		{"expired", "/v2/", basic("AWS", expired), 401, "DENIED", "expired"},
		{"expired bearer", "/v2/", "Bearer " + expired, 401, "DENIED", "expired"},
		{"unknown scheme", "/v2/", "Digest " + tr.password, 401, "DENIED", "invalid"},
		{"no permission", "/v2/app/tags/list", basic("AWS", tr.userPassword), 403, "DENIED", "not authorized to perform: ecr:BatchGetImage"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := tr.do(t, http.MethodGet, tt.path, tt.authorization, "", nil)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %s, want %d: %s", resp.Status, tt.status, body)
			}
			if got := resp.Header.Get("WWW-Authenticate"); (tt.status == 401) != (got == challenge) {
				t.Errorf("WWW-Authenticate %q (want %q on 401 only)", got, challenge)
			}
			if tt.code != "" && (errorCode(body) != tt.code || !strings.Contains(string(body), tt.message)) {
				t.Errorf("body %s, want code %s and message containing %q", body, tt.code, tt.message)
			}
		})
	}
}

func TestReferrers(t *testing.T) {
	tr := newTestRegistry(t)
	config := tr.pushBlob(t, "app", []byte("{}"))
	manifest := func(artifactType string, subject digest.Digest) []byte {
		m := map[string]any{
			"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "artifactType": artifactType,
			"config": map[string]any{"mediaType": "application/vnd.oci.empty.v1+json", "digest": config, "size": 2},
			"layers": []any{}, "annotations": map[string]string{"org.example": artifactType},
		}
		if artifactType == "" {
			delete(m, "artifactType")
		}
		if subject != "" {
			m["subject"] = map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": subject, "size": 1}
		}
		data, _ := json.Marshal(m)
		return data
	}
	put := func(ref string, body []byte) *http.Response {
		resp, data := tr.do(t, http.MethodPut, "/v2/app/manifests/"+ref, tr.basic(), "application/vnd.oci.image.manifest.v1+json", body)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("put manifest %s: %s %s", ref, resp.Status, data)
		}
		return resp
	}
	image := manifest("", "")
	subject := digest.FromBytes(image)
	if resp := put("v1", image); resp.Header.Get("OCI-Subject") != "" {
		t.Errorf("a manifest without subject got OCI-Subject %q", resp.Header.Get("OCI-Subject"))
	}
	sbom, sig := manifest("application/example.sbom", subject), manifest("application/example.sig", subject)
	for _, m := range [][]byte{sbom, sig} {
		if resp := put(digest.FromBytes(m).String(), m); resp.Header.Get("OCI-Subject") != subject.String() {
			t.Fatalf("OCI-Subject %q, want %s", resp.Header.Get("OCI-Subject"), subject)
		}
	}
	list := func(query string) (*http.Response, []string) {
		resp, body := tr.do(t, http.MethodGet, "/v2/app/referrers/"+subject.String()+query, tr.basic(), "", nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.oci.image.index.v1+json" {
			t.Fatalf("referrers: %s %s %s", resp.Status, resp.Header.Get("Content-Type"), body)
		}
		var index struct {
			Manifests []struct {
				Digest       digest.Digest     `json:"digest"`
				ArtifactType string            `json:"artifactType"`
				Size         int64             `json:"size"`
				Annotations  map[string]string `json:"annotations"`
			} `json:"manifests"`
		}
		if err := json.Unmarshal(body, &index); err != nil || index.Manifests == nil {
			t.Fatalf("referrers body %s: %v", body, err)
		}
		var got []string
		for _, m := range index.Manifests {
			if m.Annotations["org.example"] != m.ArtifactType || m.Size == 0 {
				t.Errorf("descriptor %+v lacks the manifest's annotations or size", m)
			}
			got = append(got, m.ArtifactType)
		}
		return resp, got
	}
	if _, got := list(""); len(got) != 2 {
		t.Fatalf("referrers %v, want the sbom and the signature", got)
	}
	resp, got := list("?artifactType=application/example.sig")
	if len(got) != 1 || got[0] != "application/example.sig" || resp.Header.Get("OCI-Filters-Applied") != "artifactType" {
		t.Fatalf("filtered referrers %v (OCI-Filters-Applied %q)", got, resp.Header.Get("OCI-Filters-Applied"))
	}
	if resp, body := tr.do(t, http.MethodDelete, "/v2/app/manifests/"+digest.FromBytes(sig).String(), tr.basic(), "", nil); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("delete signature: %s %s", resp.Status, body)
	}
	if _, got := list(""); len(got) != 1 || got[0] != "application/example.sbom" {
		t.Fatalf("referrers after deleting the signature %v", got)
	}
	if resp, body := tr.do(t, http.MethodGet, "/v2/app/referrers/sha256:nope", tr.basic(), "", nil); resp.StatusCode != 400 || errorCode(body) != "DIGEST_INVALID" {
		t.Fatalf("referrers of a bad digest: %s %s", resp.Status, body)
	}
	other := digest.FromString("nothing refers to this")
	if resp, body := tr.do(t, http.MethodGet, "/v2/app/referrers/"+other.String(), tr.basic(), "", nil); resp.StatusCode != 200 || !strings.Contains(string(body), `"manifests":[]`) {
		t.Fatalf("referrers of an unknown subject: %s %s, want an empty index", resp.Status, body)
	}
}

func TestCatalog(t *testing.T) {
	tr := newTestRegistry(t)
	for _, name := range []string{"team/web", "team/api", "zz"} {
		if _, err := tr.CreateRepository(tr.ctx, &CreateRepositoryInput{RepositoryName: name}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tr.DeleteRepository(tr.ctx, &DeleteRepositoryInput{RepositoryName: "zz"}); err != nil {
		t.Fatal(err)
	}
	catalog := func(query string) (*http.Response, []string) {
		resp, body := tr.do(t, http.MethodGet, "/v2/_catalog"+query, tr.basic(), "", nil)
		var c struct{ Repositories []string }
		if resp.StatusCode == 200 {
			if err := json.Unmarshal(body, &c); err != nil {
				t.Fatalf("catalog body %s: %v", body, err)
			}
		}
		return resp, c.Repositories
	}
	if _, got := catalog(""); strings.Join(got, " ") != "app team/api team/web" {
		t.Fatalf("catalog %v, want the three repositories in order (not the deleted one)", got)
	}
	resp, got := catalog("?n=2")
	if strings.Join(got, " ") != "app team/api" || resp.Header.Get("Link") != `</v2/_catalog?last=team%2Fapi&n=2>; rel="next"` {
		t.Fatalf("first page %v, Link %q", got, resp.Header.Get("Link"))
	}
	if resp, got := catalog("?n=2&last=team/api"); strings.Join(got, " ") != "team/web" || resp.Header.Get("Link") != "" {
		t.Fatalf("last page %v, Link %q", got, resp.Header.Get("Link"))
	}
	if resp, _ := catalog("?n=1001"); resp.StatusCode != 400 {
		t.Fatalf("n=1001: %s, want 400 as ECR", resp.Status)
	}
	userAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("AWS:"+tr.userPassword))
	if resp, body := tr.do(t, http.MethodGet, "/v2/_catalog", userAuth, "", nil); resp.StatusCode != 403 || errorCode(body) != "DENIED" {
		t.Fatalf("catalog without ecr:DescribeRepositories: %s %s", resp.Status, body)
	}
}
