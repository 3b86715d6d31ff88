package ecr

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"path"
	"testing"
)

// TestParseRoute checks that each registry path yields its repository,
// route and reference by the full route pattern, also when the repository
// name holds the words the routes use.
func TestParseRoute(t *testing.T) {
	const d = "sha256:4bf5122f344554c53bde2ebb8cd2b7e3d1600ad631c385a5d7cce23c7785459a"
	for _, tt := range []struct {
		method, path string
		want         registryRoute
		action       string // first permission needed; "" for none
	}{
		{"GET", "/v2/", registryRoute{kind: routeBase}, ""},
		{"GET", "/v2/_catalog", registryRoute{kind: routeCatalog}, ""},
		{"GET", "/v2/app/tags/list", registryRoute{routeTags, "app", ""}, "BatchGetImage"},
		{"GET", "/v2/app/manifests/latest", registryRoute{routeManifest, "app", "latest"}, "BatchGetImage"},
		{"PUT", "/v2/team/app/manifests/v1", registryRoute{routeManifest, "team/app", "v1"}, "PutImage"},
		{"DELETE", "/v2/app/manifests/" + d, registryRoute{routeManifest, "app", d}, "BatchDeleteImage"},
		{"HEAD", "/v2/app/blobs/" + d, registryRoute{routeBlob, "app", d}, "GetDownloadUrlForLayer"},
		{"POST", "/v2/app/blobs/uploads/", registryRoute{routeUpload, "app", ""}, "InitiateLayerUpload"},
		{"PATCH", "/v2/app/blobs/uploads/abc-123", registryRoute{routeUploadChunk, "app", "abc-123"}, "InitiateLayerUpload"},
		{"GET", "/v2/app/referrers/" + d, registryRoute{routeReferrers, "app", d}, "BatchGetImage"},
		// Repository names made of the routes' own words.
		{"POST", "/v2/x/blobs/uploads/blobs/uploads/", registryRoute{routeUpload, "x/blobs/uploads", ""}, "InitiateLayerUpload"},
		{"PUT", "/v2/x/blobs/uploads/blobs/uploads/u-1", registryRoute{routeUploadChunk, "x/blobs/uploads", "u-1"}, "InitiateLayerUpload"},
		{"GET", "/v2/x/blobs/uploads/tags/list", registryRoute{routeTags, "x/blobs/uploads", ""}, "BatchGetImage"},
		{"GET", "/v2/x/blobs/uploads/manifests/v1", registryRoute{routeManifest, "x/blobs/uploads", "v1"}, "BatchGetImage"},
		{"PUT", "/v2/x/blobs/uploads/manifests/v1", registryRoute{routeManifest, "x/blobs/uploads", "v1"}, "PutImage"},
		{"GET", "/v2/x/blobs/uploads/blobs/" + d, registryRoute{routeBlob, "x/blobs/uploads", d}, "GetDownloadUrlForLayer"},
		{"GET", "/v2/x/blobs/uploads/", registryRoute{routeUpload, "x", ""}, "InitiateLayerUpload"},
		{"GET", "/v2/a/manifests/b/tags/list", registryRoute{routeTags, "a/manifests/b", ""}, "BatchGetImage"},
		{"GET", "/v2/a/manifests/b/manifests/latest", registryRoute{routeManifest, "a/manifests/b", "latest"}, "BatchGetImage"},
		{"GET", "/v2/a/manifests/b", registryRoute{routeManifest, "a", "b"}, "BatchGetImage"},
		{"HEAD", "/v2/a/manifests/b/blobs/" + d, registryRoute{routeBlob, "a/manifests/b", d}, "GetDownloadUrlForLayer"},
		{"GET", "/v2/a/tags/list/referrers/" + d, registryRoute{routeReferrers, "a/tags/list", d}, "BatchGetImage"},
		{"GET", "/v2/r/referrers/x/manifests/v1", registryRoute{routeManifest, "r/referrers/x", "v1"}, "BatchGetImage"},
		// References outside the grammar still name their repository, so
		// they are authorized and answered with a registry error.
		{"PUT", "/v2/app/manifests/-bad", registryRoute{routeManifest, "app", "-bad"}, "PutImage"},
		{"GET", "/v2/app/blobs/sha256:short", registryRoute{routeBlob, "app", "sha256:short"}, "GetDownloadUrlForLayer"},
		{"GET", "/v2/app/referrers/nodigest", registryRoute{routeReferrers, "app", "nodigest"}, "BatchGetImage"},
		// No route: no repository, no permission.
		{"GET", "/v2/app", registryRoute{}, ""},
		{"GET", "/v2/app/unknown/list", registryRoute{}, ""},
		{"GET", "/v2/App/tags/list", registryRoute{routeTags, "App", ""}, "BatchGetImage"},
		{"PUT", "/v2/a//b/manifests/v1", registryRoute{routeManifest, "a//b", "v1"}, "PutImage"},
		{"GET", "/other", registryRoute{}, ""},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			got := parseRoute(tt.path)
			if got != tt.want {
				t.Fatalf("parseRoute = %+v, want %+v", got, tt.want)
			}
			if tt.action == "" {
				return
			}
			if acts := got.actions(tt.method); acts[0] != tt.action {
				t.Errorf("%s needs %v, want %s first", tt.method, acts, tt.action)
			}
		})
	}
}

// TestRegistryRoutesAuthorizeTheirRepository checks over HTTP that a
// caller allowed on repository xx/blobs/uploads only (and on aa/manifests/b)
// is authorized there for what each request does, and refused on the
// repositories xx and aa whose names prefix those.
func TestRegistryRoutesAuthorizeTheirRepository(t *testing.T) {
	tr := newTestRegistry(t)
	for _, name := range []string{"xx", "xx/blobs/uploads", "aa", "aa/manifests/b"} {
		if _, err := tr.CreateRepository(tr.ctx, &CreateRepositoryInput{RepositoryName: name}); err != nil {
			t.Fatal(err)
		}
	}
	layer := tr.pushBlob(t, "xx/blobs/uploads", []byte("layer of x/blobs/uploads"))
	g := grants{}
	for _, a := range []string{"BatchGetImage", "GetDownloadUrlForLayer"} {
		g["ecr:"+a+" "+tr.repoArn("xx/blobs/uploads")] = true
		g["ecr:"+a+" "+tr.repoArn("aa/manifests/b")] = true
	}
	tr.authz = g
	userAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("AWS:"+tr.userPassword))
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		// Reads on the permitted repositories need only read permissions.
		{"GET", "/v2/xx/blobs/uploads/tags/list", http.StatusOK, ""},
		{"HEAD", "/v2/xx/blobs/uploads/blobs/" + layer.String(), http.StatusOK, ""},
		{"GET", "/v2/xx/blobs/uploads/manifests/v1", http.StatusNotFound, "MANIFEST_UNKNOWN"},
		{"GET", "/v2/aa/manifests/b/tags/list", http.StatusOK, ""},
		{"GET", "/v2/aa/manifests/b/manifests/latest", http.StatusNotFound, "MANIFEST_UNKNOWN"},
		// Pushing needs the push permissions, which the caller lacks.
		{"POST", "/v2/xx/blobs/uploads/blobs/uploads/", http.StatusForbidden, "DENIED"},
		// The shorter names are other repositories.
		{"POST", "/v2/xx/blobs/uploads/", http.StatusForbidden, "DENIED"},
		{"GET", "/v2/xx/tags/list", http.StatusForbidden, "DENIED"},
		{"GET", "/v2/aa/manifests/b", http.StatusForbidden, "DENIED"},
		{"GET", "/v2/aa/tags/list", http.StatusForbidden, "DENIED"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			resp, body := tr.do(t, tc.method, tc.path, userAuth, "", nil)
			if resp.StatusCode != tc.status || (tc.code != "" && tc.method != "HEAD" && errorCode(body) != tc.code) {
				t.Fatalf("%s %s", resp.Status, body)
			}
		})
	}
	// With the push permissions too, the upload starts in x/blobs/uploads.
	for _, a := range []string{"InitiateLayerUpload", "UploadLayerPart", "CompleteLayerUpload"} {
		g["ecr:"+a+" "+tr.repoArn("xx/blobs/uploads")] = true
	}
	resp, body := tr.do(t, "POST", "/v2/xx/blobs/uploads/blobs/uploads/", userAuth, "", nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("upload to xx/blobs/uploads: %s %s", resp.Status, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || parseRoute(loc.Path) != (registryRoute{routeUploadChunk, "xx/blobs/uploads", path.Base(loc.Path)}) {
		t.Errorf("upload location %v (%v) is not an upload in xx/blobs/uploads", loc, err)
	}
}
