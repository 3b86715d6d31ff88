package ecr

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

const ociManifest = "application/vnd.oci.image.manifest.v1+json"

// imageManifest is an OCI image manifest of config and layers (each
// given by digest and size).
func imageManifest(config digest.Digest, configSize int, layers ...digest.Digest) []byte {
	var ls []map[string]any
	for _, l := range layers {
		ls = append(ls, map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": l, "size": 1})
	}
	data, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": ociManifest,
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": configSize},
		"layers": ls,
	})
	return data
}

// TestRegistryBadInput sends the registry requests it must refuse and
// checks each gets a 4xx with the right code in the registry's error
// format, never a 5xx.
func TestRegistryBadInput(t *testing.T) {
	tr := newTestRegistry(t)
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	configDigest := tr.pushBlob(t, "app", config)
	good := imageManifest(configDigest, len(config))
	missing := digest.FromString("never pushed")
	upload := func() string { // a fresh upload session's URL
		resp, _ := tr.do(t, http.MethodPost, "/v2/app/blobs/uploads/", tr.basic(), "", nil)
		return strings.TrimPrefix(resp.Header.Get("Location"), tr.url)
	}
	wrongPassword := "Basic " + base64.StdEncoding.EncodeToString([]byte("AWS:"+tr.password[:len(tr.password)-2]+"00"))

	for _, tt := range []struct {
		name, method, path, contentType string
		body                            []byte
		authorization                   string // root's Basic when empty
		status                          int
		code                            string
	}{
		{"malformed manifest", "PUT", "/v2/app/manifests/v1", ociManifest, []byte(`{"schemaVersion":2,`), "", 400, "MANIFEST_INVALID"},
		{"manifest of another schema version", "PUT", "/v2/app/manifests/v1", ociManifest, []byte(`{"schemaVersion":3,"mediaType":"` + ociManifest + `"}`), "", 400, "MANIFEST_INVALID"},
		{"manifest of an unknown media type", "PUT", "/v2/app/manifests/v1", "application/x-nonsense", []byte(`{}`), "", 400, "MANIFEST_INVALID"},
		{"manifest naming an unknown layer", "PUT", "/v2/app/manifests/v1", ociManifest, imageManifest(configDigest, len(config), missing), "", 400, "MANIFEST_BLOB_UNKNOWN"},
		{"manifest naming an unknown config", "PUT", "/v2/app/manifests/v1", ociManifest, imageManifest(missing, 2), "", 400, "MANIFEST_BLOB_UNKNOWN"},
		{"manifest under another digest", "PUT", "/v2/app/manifests/" + missing.String(), ociManifest, good, "", 400, "DIGEST_INVALID"},
		{"manifest too large", "PUT", "/v2/app/manifests/v1", ociManifest, bytes.Repeat([]byte(" "), maxManifestSize+1), "", 400, "MANIFEST_INVALID"},
		{"tag with bad characters", "PUT", "/v2/app/manifests/-bad", ociManifest, good, "", 400, "TAG_INVALID"},
		{"blob of another digest", "PUT", upload() + "&digest=" + missing.String(), "application/octet-stream", []byte("some bytes"), "", 400, "DIGEST_INVALID"},
		{"blob digest not a digest", "PUT", upload() + "&digest=sha256:xyz", "application/octet-stream", []byte("some bytes"), "", 400, "DIGEST_INVALID"},
		{"blob by sha512", "PUT", upload() + "&digest=" + digest.SHA512.FromString("some bytes").String(), "application/octet-stream", []byte("some bytes"), "", 400, "DIGEST_INVALID"},
		{"mount by sha512", "POST", "/v2/app/blobs/uploads/?from=app&mount=" + digest.SHA512.FromString("x").String(), "", nil, "", 400, "DIGEST_INVALID"},
		{"manifest by sha512", "PUT", "/v2/app/manifests/" + digest.SHA512.FromBytes(good).String(), ociManifest, good, "", 400, "DIGEST_INVALID"},
		{"blob without digest", "PUT", upload(), "application/octet-stream", []byte("some bytes"), "", 400, "DIGEST_INVALID"},
		{"unknown upload", "PATCH", "/v2/app/blobs/uploads/0f3a0f3a-0f3a-4f3a-8f3a-0f3a0f3a0f3a", "application/octet-stream", []byte("x"), "", 404, "BLOB_UPLOAD_INVALID"},
		{"bad blob digest", "GET", "/v2/app/blobs/sha256:xyz", "", nil, "", 400, "DIGEST_INVALID"},
		{"bad manifest digest", "GET", "/v2/app/manifests/sha256:xyz", "", nil, "", 400, "DIGEST_INVALID"},
		{"bad tag", "GET", "/v2/app/manifests/.hidden", "", nil, "", 404, "MANIFEST_UNKNOWN"},
		{"unknown blob", "GET", "/v2/app/blobs/" + missing.String(), "", nil, "", 404, "BLOB_UNKNOWN"},
		{"unknown manifest", "GET", "/v2/app/manifests/nope", "", nil, "", 404, "MANIFEST_UNKNOWN"},
		{"unknown manifest digest", "GET", "/v2/app/manifests/" + missing.String(), "", nil, "", 404, "MANIFEST_UNKNOWN"},
		{"bad repository name", "GET", "/v2/App_/tags/list", "", nil, "", 400, "NAME_INVALID"},
		{"one-letter repository name", "GET", "/v2/a/manifests/v1", "", nil, "", 400, "NAME_INVALID"},
		{"unknown repository", "GET", "/v2/nope/manifests/v1", "", nil, "", 404, "NAME_UNKNOWN"},
		{"unknown repository push", "POST", "/v2/nope/blobs/uploads/", "", nil, "", 404, "NAME_UNKNOWN"},
		{"wrong token", "GET", "/v2/app/manifests/v1", "", nil, wrongPassword, 401, "DENIED"},
		{"wrong token push", "PUT", "/v2/app/manifests/v1", ociManifest, good, wrongPassword, 401, "DENIED"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			auth := tt.authorization
			if auth == "" {
				auth = tr.basic()
			}
			resp, body := tr.do(t, tt.method, tt.path, auth, tt.contentType, tt.body)
			if resp.StatusCode != tt.status || errorCode(body) != tt.code {
				t.Fatalf("%s %s: %s %s, want %d %s", tt.method, tt.path, resp.Status, body, tt.status, tt.code)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
		})
	}
	if tags, err := tr.tags(tr.ctx, "app"); err != nil || len(tags) != 0 {
		t.Fatalf("tags after refused pushes: %v %v, want none", tags, err)
	}
}

// TestInterruptedPush breaks a push off in the middle of a layer and
// before the manifest: nothing of it is visible, neither as an image nor
// as a blob, and the manifest is refused until the layer is complete.
func TestInterruptedPush(t *testing.T) {
	tr := newTestRegistry(t)
	config := []byte(`{"architecture":"amd64","os":"linux"}`)
	configDigest := tr.pushBlob(t, "app", config)
	layer := bytes.Repeat([]byte("layer data "), 100000)
	layerDigest := digest.FromBytes(layer)

	// Start an upload and send half of the layer in a PATCH that claims the
	// whole length, then drop the connection.
	resp, _ := tr.do(t, http.MethodPost, "/v2/app/blobs/uploads/", tr.basic(), "", nil)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	u, _ := url.Parse(tr.url)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PATCH %s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n",
		loc.RequestURI(), u.Host, tr.basic(), len(layer))
	conn.Write(layer[:len(layer)/2])
	conn.Close()

	// The manifest naming it is refused; the blob and the image are unknown.
	resp, body := tr.do(t, http.MethodPut, "/v2/app/manifests/v1", tr.basic(), ociManifest, imageManifest(configDigest, len(config), layerDigest))
	if resp.StatusCode != 400 || errorCode(body) != "MANIFEST_BLOB_UNKNOWN" {
		t.Fatalf("manifest over an interrupted layer: %s %s", resp.Status, body)
	}
	if resp, _ := tr.do(t, http.MethodHead, "/v2/app/blobs/"+layerDigest.String(), tr.basic(), "", nil); resp.StatusCode != 404 {
		t.Fatalf("HEAD of the interrupted layer: %s", resp.Status)
	}
	listed, err := tr.ListImages(tr.ctx, &ListImagesInput{RepositoryName: "app"})
	if err != nil || len(listed.ImageIds) != 0 {
		t.Fatalf("ListImages after an interrupted push: %+v %v", listed, err)
	}
	described, err := tr.DescribeImages(tr.ctx, &DescribeImagesInput{RepositoryName: "app"})
	if err != nil || len(described.ImageDetails) != 0 {
		t.Fatalf("DescribeImages after an interrupted push: %+v %v", described, err)
	}
	if resp, body := tr.do(t, http.MethodGet, "/v2/app/tags/list", tr.basic(), "", nil); resp.StatusCode != 200 || strings.Contains(string(body), "v1") {
		t.Fatalf("tags after an interrupted push: %s %s", resp.Status, body)
	}

	// Pushed again in full, the image appears.
	tr.pushBlob(t, "app", layer)
	if resp, body := tr.do(t, http.MethodPut, "/v2/app/manifests/v1", tr.basic(), ociManifest, imageManifest(configDigest, len(config), layerDigest)); resp.StatusCode != 201 {
		t.Fatalf("manifest after the layer is complete: %s %s", resp.Status, body)
	}
	if tags, err := tr.tags(context.Background(), "app"); err != nil || len(tags) != 1 {
		t.Fatalf("tags after the full push: %v %v", tags, err)
	}
}
