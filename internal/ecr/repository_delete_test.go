package ecr

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// pushedImage is an image pushed through the registry API with one
// referrer (a signature whose subject is the image).
type pushedImage struct {
	manifest, layer, referrer digest.Digest
}

// pushImage pushes an image tagged v1 and a referrer of it to repo.
func (tr *testRegistry) pushImage(t *testing.T, repo string) pushedImage {
	t.Helper()
	config := tr.pushBlob(t, repo, []byte(`{"repo":"`+repo+`"}`))
	layerData, _ := randomBlob(512)
	layer := tr.pushBlob(t, repo, layerData)
	put := func(ref string, m map[string]any) digest.Digest {
		body, _ := json.Marshal(m)
		resp, data := tr.do(t, http.MethodPut, "/v2/"+repo+"/manifests/"+ref, tr.basic(), "application/vnd.oci.image.manifest.v1+json", body)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("put manifest %s:%s: %s %s", repo, ref, resp.Status, data)
		}
		return digest.FromBytes(body)
	}
	image := map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": len(`{"repo":"` + repo + `"}`)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": len(layerData)}},
	}
	d := put("v1", image)
	sig := map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "artifactType": "application/example.sig",
		"config":  image["config"],
		"layers":  []any{},
		"subject": map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d, "size": 1},
	}
	body, _ := json.Marshal(sig)
	return pushedImage{manifest: d, layer: layer, referrer: put(digest.FromBytes(body).String(), sig)}
}

// TestDeleteRepositoryForgetsContent checks that a force-deleted
// repository's images, tags, layer links, referrers and uploads are gone
// when the name is created again, and that a repository nested under the
// name keeps all of its own.
func TestDeleteRepositoryForgetsContent(t *testing.T) {
	tr := newTestRegistry(t)
	if _, err := tr.CreateRepository(tr.ctx, &CreateRepositoryInput{RepositoryName: "app/nested"}); err != nil {
		t.Fatal(err)
	}
	old, nested := tr.pushImage(t, "app"), tr.pushImage(t, "app/nested")
	if _, err := tr.InitiateLayerUpload(tr.ctx, &InitiateLayerUploadInput{RepositoryName: "app"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.DeleteRepository(tr.ctx, &DeleteRepositoryInput{RepositoryName: "app"}); code(err) != "RepositoryNotEmptyException" {
		t.Fatalf("delete without force: %v", err)
	}
	if _, err := tr.DeleteRepository(tr.ctx, &DeleteRepositoryInput{RepositoryName: "app", Force: true}); err != nil {
		t.Fatalf("delete with force: %v", err)
	}
	if _, err := tr.CreateRepository(tr.ctx, &CreateRepositoryInput{RepositoryName: "app"}); err != nil {
		t.Fatal(err)
	}
	if list, err := tr.ListImages(tr.ctx, &ListImagesInput{RepositoryName: "app"}); err != nil || len(list.ImageIds) != 0 {
		t.Fatalf("ListImages of the re-created repository = %+v, %v; want none", list, err)
	}
	if out, err := tr.DescribeImages(tr.ctx, &DescribeImagesInput{RepositoryName: "app"}); err != nil || len(out.ImageDetails) != 0 {
		t.Fatalf("DescribeImages of the re-created repository = %+v, %v; want none", out, err)
	}
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{http.MethodGet, "/v2/app/manifests/v1", 404, "MANIFEST_UNKNOWN"},
		{http.MethodGet, "/v2/app/manifests/" + old.manifest.String(), 404, "MANIFEST_UNKNOWN"},
		{http.MethodGet, "/v2/app/manifests/" + old.referrer.String(), 404, "MANIFEST_UNKNOWN"},
		{http.MethodGet, "/v2/app/blobs/" + old.layer.String(), 404, "BLOB_UNKNOWN"},
		{http.MethodGet, "/v2/app/tags/list", 200, ""},
		{http.MethodGet, "/v2/app/referrers/" + old.manifest.String(), 200, ""},
		{http.MethodGet, "/v2/app/nested/manifests/v1", 200, ""},
		{http.MethodGet, "/v2/app/nested/manifests/" + nested.referrer.String(), 200, ""},
		{http.MethodGet, "/v2/app/nested/blobs/" + nested.layer.String(), 200, ""},
		{http.MethodGet, "/v2/app/nested/referrers/" + nested.manifest.String(), 200, ""},
	} {
		req, _ := http.NewRequest(tc.method, tr.url+tc.path, nil)
		req.Header.Set("Authorization", tr.basic())
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || errorCode(body) != tc.code {
			t.Errorf("%s %s = %s %s, want %d %s", tc.method, tc.path, resp.Status, errorCode(body), tc.status, tc.code)
		}
		switch {
		case strings.HasSuffix(tc.path, "/tags/list") && strings.Contains(string(body), "v1"):
			t.Errorf("tags of the re-created repository: %s", body)
		case strings.HasPrefix(tc.path, "/v2/app/referrers/") && strings.Contains(string(body), old.referrer.Encoded()):
			t.Errorf("referrers of the re-created repository: %s", body)
		case strings.HasPrefix(tc.path, "/v2/app/nested/referrers/") && !strings.Contains(string(body), nested.referrer.Encoded()):
			t.Errorf("the nested repository lost its referrers: %s", body)
		}
	}
	if uploads, err := tr.driver.List(tr.ctx, "/docker/registry/v2/repositories/app/_uploads"); err == nil && len(uploads) > 0 {
		t.Errorf("uploads of the deleted repository remain: %v", uploads)
	}
}
