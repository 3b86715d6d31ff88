package ecr

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// testImage is an image whose blobs are in a repository and whose manifest
// has not been put yet.
type testImage struct {
	manifest       string
	config, layer  digest.Digest
	layerData      []byte
	manifestDigest digest.Digest
}

func newTestImage(t *testing.T, s *Service, ctx context.Context, repo string) testImage {
	t.Helper()
	data, _ := randomBlob(2048)
	layer := pushLayer(t, s, ctx, repo, data, 1000)
	config, _ := randomBlob(64)
	cd := pushLayer(t, s, ctx, repo, config, 64)
	m := schema2Manifest(cd, 64, layer, 2048)
	return testImage{manifest: m, config: cd, layer: layer, layerData: data, manifestDigest: digest.FromString(m)}
}

func TestPutAndGetImage(t *testing.T) {
	s, ctx := newService(t)
	s.CreateRepository(ctx, &CreateRepositoryInput{RepositoryName: "app"})
	s.CreateRepository(ctx, &CreateRepositoryInput{RepositoryName: "fixed", ImageTagMutability: "IMMUTABLE"})
	img := newTestImage(t, s, ctx, "app")
	put, err := s.PutImage(ctx, &PutImageInput{RepositoryName: "app", ImageManifest: img.manifest, ImageTag: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if put.Image.ImageId.ImageDigest != img.manifestDigest.String() || put.Image.ImageManifestMediaType != "application/vnd.docker.distribution.manifest.v2+json" {
		t.Fatalf("put image = %+v", put.Image)
	}
	other := newTestImage(t, s, ctx, "app")
	index := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"%s","size":%d}]}`,
		digest.FromString("absent"), 10)
	fixedImg := newTestImage(t, s, ctx, "fixed")
	if _, err := s.PutImage(ctx, &PutImageInput{RepositoryName: "fixed", ImageManifest: fixedImg.manifest, ImageTag: "v1"}); err != nil {
		t.Fatal(err)
	}
	fixedOther := newTestImage(t, s, ctx, "fixed")
	for _, tt := range []struct {
		name string
		in   PutImageInput
		want string
	}{
		{"same manifest and tag", PutImageInput{ImageManifest: img.manifest, ImageTag: "v1"}, "ImageAlreadyExistsException"},
		{"same manifest, no tag", PutImageInput{ImageManifest: img.manifest}, "ImageAlreadyExistsException"},
		{"digest mismatch", PutImageInput{ImageManifest: other.manifest, ImageDigest: img.manifestDigest.String()}, "ImageDigestDoesNotMatchException"},
		{"malformed digest", PutImageInput{ImageManifest: other.manifest, ImageDigest: "sha256:1"}, "InvalidParameterException"},
		{"layers missing", PutImageInput{ImageManifest: schema2Manifest(digest.FromString("c"), 1, digest.FromString("l"), 1), ImageTag: "x"}, "LayersNotFoundException"},
		{"index of missing images", PutImageInput{ImageManifest: index, ImageTag: "multi"}, "ReferencedImagesNotFoundException"},
		{"not json", PutImageInput{ImageManifest: "{nope", ImageTag: "x"}, "InvalidParameterException"},
		{"empty", PutImageInput{ImageTag: "x"}, "InvalidParameterException"},
		{"schema 1", PutImageInput{ImageManifest: `{"schemaVersion":1,"name":"app","tag":"x","fsLayers":[]}`}, "InvalidParameterException"},
		{"media type disagrees", PutImageInput{ImageManifest: other.manifest, ImageManifestMediaType: "application/vnd.oci.image.manifest.v1+json"}, "InvalidParameterException"},
		{"unknown media type", PutImageInput{ImageManifest: `{"schemaVersion":2,"mediaType":"text/plain"}`}, "InvalidParameterException"},
		{"no config", PutImageInput{ImageManifest: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}`}, "InvalidParameterException"},
		{"bad reference digest", PutImageInput{ImageManifest: schema2Manifest("sha256:../../x", 1, img.layer, 1)}, "InvalidParameterException"},
		{"bad tag", PutImageInput{ImageManifest: other.manifest, ImageTag: "../v1"}, "InvalidParameterException"},
		{"immutable tag", PutImageInput{RepositoryName: "fixed", ImageManifest: fixedOther.manifest, ImageTag: "v1"}, "ImageTagAlreadyExistsException"},
		{"unknown repository", PutImageInput{RepositoryName: "nope", ImageManifest: other.manifest}, "RepositoryNotFoundException"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.in.RepositoryName == "" {
				tt.in.RepositoryName = "app"
			}
			if _, err := s.PutImage(ctx, &tt.in); code(err) != tt.want {
				t.Fatalf("error %v, want %s", err, tt.want)
			}
		})
	}
	if tags, _ := s.tags(ctx, "app"); strings.Join(tags, ",") != "v1" {
		t.Fatalf("rejected puts left tags behind: %v", tags)
	}
	// Re-tagging an existing manifest, as the ECR docs show.
	if _, err := s.PutImage(ctx, &PutImageInput{RepositoryName: "app", ImageManifest: img.manifest, ImageTag: "stable"}); err != nil {
		t.Fatalf("retag: %v", err)
	}
	if _, err := s.PutImage(ctx, &PutImageInput{RepositoryName: "app", ImageManifest: other.manifest, ImageDigest: other.manifestDigest.String()}); err != nil {
		t.Fatalf("untagged put: %v", err)
	}

	get, err := s.BatchGetImage(ctx, &BatchGetImageInput{RepositoryName: "app", ImageIds: []ImageIdentifier{
		{ImageTag: "stable"},
		{ImageDigest: other.manifestDigest.String()},
		{ImageTag: "v1", ImageDigest: img.manifestDigest.String()},
		{ImageTag: "v9"},
		{ImageTag: "v1", ImageDigest: other.manifestDigest.String()},
		{ImageDigest: "sha256:zz"},
		{ImageTag: "bad/tag"},
		{},
		{ImageDigest: digest.FromString("gone").String()},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(get.Images) != 3 || get.Images[0].ImageManifest != img.manifest || get.Images[0].ImageId != (ImageIdentifier{ImageTag: "stable", ImageDigest: img.manifestDigest.String()}) ||
		get.Images[1].ImageManifest != other.manifest || get.Images[2].ImageManifestMediaType != "application/vnd.docker.distribution.manifest.v2+json" {
		t.Fatalf("images = %+v", get.Images)
	}
	var codes []string
	for _, f := range get.Failures {
		codes = append(codes, f.FailureCode)
	}
	if strings.Join(codes, " ") != "ImageNotFound ImageTagDoesNotMatchDigest InvalidImageDigest InvalidImageTag MissingDigestAndTag ImageNotFound" {
		t.Fatalf("failures = %+v", get.Failures)
	}
	accepted, err := s.BatchGetImage(ctx, &BatchGetImageInput{RepositoryName: "app", ImageIds: []ImageIdentifier{{ImageTag: "v1"}}, AcceptedMediaTypes: []string{"application/vnd.oci.image.manifest.v1+json"}})
	if err != nil || len(accepted.Images) != 0 || len(accepted.Failures) != 1 {
		t.Fatalf("a media type not accepted: %+v, %v", accepted, err)
	}
	if _, err := s.BatchGetImage(ctx, &BatchGetImageInput{RepositoryName: "app"}); code(err) != "InvalidParameterException" {
		t.Fatalf("no image ids: %v", err)
	}
}

func TestBatchDeleteImage(t *testing.T) {
	s, ctx := newService(t)
	s.CreateRepository(ctx, &CreateRepositoryInput{RepositoryName: "app"})
	img := newTestImage(t, s, ctx, "app")
	for _, tag := range []string{"a", "b"} {
		if _, err := s.PutImage(ctx, &PutImageInput{RepositoryName: "app", ImageManifest: img.manifest, ImageTag: tag}); err != nil && code(err) != "" {
			t.Fatal(err)
		}
	}
	exists := func() bool {
		out, _ := s.BatchGetImage(ctx, &BatchGetImageInput{RepositoryName: "app", ImageIds: []ImageIdentifier{{ImageDigest: img.manifestDigest.String()}}})
		return len(out.Images) == 1
	}
	del := func(ids ...ImageIdentifier) *BatchDeleteImageOutput {
		out, err := s.BatchDeleteImage(ctx, &BatchDeleteImageInput{RepositoryName: "app", ImageIds: ids})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if out := del(ImageIdentifier{ImageTag: "a"}, ImageIdentifier{ImageTag: "zz"}); len(out.ImageIds) != 1 || out.ImageIds[0].ImageDigest != img.manifestDigest.String() ||
		len(out.Failures) != 1 || out.Failures[0].FailureCode != "ImageNotFound" || out.Failures[0].FailureReason != "Requested image not found" {
		t.Fatalf("delete a tag: %+v", out)
	}
	if !exists() {
		t.Fatal("removing one of two tags deleted the image")
	}
	del(ImageIdentifier{ImageTag: "b"})
	if exists() {
		t.Fatal("removing the last tag kept the image")
	}

	// By digest: the image goes with all its tags.
	img2 := newTestImage(t, s, ctx, "app")
	s.PutImage(ctx, &PutImageInput{RepositoryName: "app", ImageManifest: img2.manifest, ImageTag: "c"})
	s.PutImage(ctx, &PutImageInput{RepositoryName: "app", ImageManifest: img2.manifest, ImageTag: "d"})
	if out := del(ImageIdentifier{ImageDigest: img2.manifestDigest.String()}); len(out.ImageIds) != 1 {
		t.Fatalf("delete by digest: %+v", out)
	}
	if tags, _ := s.tags(ctx, "app"); len(tags) != 0 {
		t.Fatalf("tags left after deleting by digest: %v", tags)
	}

	// An image an index refers to stays while the index does.
	img3 := newTestImage(t, s, ctx, "app")
	s.PutImage(ctx, &PutImageInput{RepositoryName: "app", ImageManifest: img3.manifest})
	index := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"%s","size":%d}]}`,
		img3.manifestDigest, len(img3.manifest))
	if _, err := s.PutImage(ctx, &PutImageInput{RepositoryName: "app", ImageManifest: index, ImageTag: "multi"}); err != nil {
		t.Fatalf("put index: %v", err)
	}
	if out := del(ImageIdentifier{ImageDigest: img3.manifestDigest.String()}); len(out.Failures) != 1 || out.Failures[0].FailureCode != "ImageReferencedByManifestList" {
		t.Fatalf("delete an image of an index: %+v", out)
	}
	del(ImageIdentifier{ImageTag: "multi"})
	if out := del(ImageIdentifier{ImageDigest: img3.manifestDigest.String()}); len(out.ImageIds) != 1 {
		t.Fatalf("delete after its index is gone: %+v", out)
	}
	if _, err := s.BatchDeleteImage(ctx, &BatchDeleteImageInput{RepositoryName: "nope", ImageIds: []ImageIdentifier{{ImageTag: "a"}}}); code(err) != "RepositoryNotFoundException" {
		t.Fatalf("unknown repository: %v", err)
	}
}

// registryClient serves the registry and returns a function making
// authenticated requests to it.
func registryClient(t *testing.T, s *Service, ctx context.Context) func(method, path, contentType string, body []byte) (*http.Response, []byte) {
	srv := httptest.NewServer(s.RegistryHandler())
	t.Cleanup(srv.Close)
	out, _ := s.GetAuthorizationToken(ctx, &GetAuthorizationTokenInput{})
	raw, _ := base64.StdEncoding.DecodeString(out.AuthorizationData[0].AuthorizationToken)
	_, password, _ := strings.Cut(string(raw), ":")
	return func(method, path, contentType string, body []byte) (*http.Response, []byte) {
		t.Helper()
		if !strings.HasPrefix(path, "http") {
			path = srv.URL + path
		}
		req, _ := http.NewRequest(method, path, bytes.NewReader(body))
		req.SetBasicAuth("AWS", password)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, b
	}
}

// TestAPIAndRegistryShareImages pushes with the layer API and PutImage and
// pulls over /v2/, then pushes over /v2/ and reads with the API.
func TestAPIAndRegistryShareImages(t *testing.T) {
	s, ctx := newService(t)
	s.CreateRepository(ctx, &CreateRepositoryInput{RepositoryName: "team/app"})
	do := registryClient(t, s, ctx)

	img := newTestImage(t, s, ctx, "team/app")
	if _, err := s.PutImage(ctx, &PutImageInput{RepositoryName: "team/app", ImageManifest: img.manifest, ImageTag: "api"}); err != nil {
		t.Fatal(err)
	}
	resp, body := do("GET", "/v2/team/app/manifests/api", "", nil)
	if resp.StatusCode != 200 || string(body) != img.manifest || resp.Header.Get("Docker-Content-Digest") != img.manifestDigest.String() {
		t.Fatalf("pull the API-pushed manifest: %d %s\n%s", resp.StatusCode, resp.Header.Get("Docker-Content-Digest"), body)
	}
	if resp, body := do("GET", "/v2/team/app/blobs/"+img.layer.String(), "", nil); resp.StatusCode != 200 || !bytes.Equal(body, img.layerData) {
		t.Fatalf("pull the API-pushed layer: %d", resp.StatusCode)
	}

	// The other way round.
	layer, ld := randomBlob(500)
	config, cd := randomBlob(40)
	for _, blob := range [][]byte{layer, config} {
		resp, _ := do("POST", "/v2/team/app/blobs/uploads/", "", nil)
		if resp.StatusCode != 202 {
			t.Fatalf("start a registry upload: %d", resp.StatusCode)
		}
		loc := resp.Header.Get("Location")
		sep := "?"
		if strings.Contains(loc, "?") {
			sep = "&"
		}
		if resp, body := do("PUT", loc+sep+"digest="+digest.FromBytes(blob).String(), "application/octet-stream", blob); resp.StatusCode != 201 {
			t.Fatalf("finish a registry upload: %d %s", resp.StatusCode, body)
		}
	}
	manifest := schema2Manifest(cd, 40, ld, 500)
	if resp, body := do("PUT", "/v2/team/app/manifests/v2", "application/vnd.docker.distribution.manifest.v2+json", []byte(manifest)); resp.StatusCode != 201 {
		t.Fatalf("push a manifest over /v2/: %d %s", resp.StatusCode, body)
	}
	avail, err := s.BatchCheckLayerAvailability(ctx, &BatchCheckLayerAvailabilityInput{RepositoryName: "team/app", LayerDigests: []string{ld.String(), cd.String()}})
	if err != nil || len(avail.Layers) != 2 {
		t.Fatalf("layers pushed over /v2/: %+v, %v", avail, err)
	}
	get, err := s.BatchGetImage(ctx, &BatchGetImageInput{RepositoryName: "team/app", ImageIds: []ImageIdentifier{{ImageTag: "v2"}}})
	if err != nil || len(get.Images) != 1 || get.Images[0].ImageManifest != manifest || get.Images[0].ImageId.ImageDigest != digest.FromString(manifest).String() {
		t.Fatalf("get the /v2/-pushed image: %+v, %v", get, err)
	}
	// Deleting through the API removes it from the registry.
	if _, err := s.BatchDeleteImage(ctx, &BatchDeleteImageInput{RepositoryName: "team/app", ImageIds: []ImageIdentifier{{ImageTag: "api"}}}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := do("GET", "/v2/team/app/manifests/"+img.manifestDigest.String(), "", nil); resp.StatusCode != 404 {
		t.Fatalf("pull a deleted image: %d", resp.StatusCode)
	}
}

// TestUntaggedImages checks that images without tags (put without one, or
// left behind when a tag moved) are listed, described, filtered, and keep
// a repository from being deleted without force.
func TestUntaggedImages(t *testing.T) {
	s, ctx := newService(t)
	s.CreateRepository(ctx, &CreateRepositoryInput{RepositoryName: "app"})
	a, b := newTestImage(t, s, ctx, "app"), newTestImage(t, s, ctx, "app")
	s.PutImage(ctx, &PutImageInput{RepositoryName: "app", ImageManifest: a.manifest, ImageTag: "latest"})
	if _, err := s.PutImage(ctx, &PutImageInput{RepositoryName: "app", ImageManifest: b.manifest, ImageTag: "latest"}); err != nil {
		t.Fatalf("move a tag in a MUTABLE repository: %v", err)
	}
	list := func(status string) string {
		t.Helper()
		in := &ListImagesInput{RepositoryName: "app"}
		if status != "" {
			in.Filter = &ImageFilter{TagStatus: status}
		}
		out, err := s.ListImages(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, id := range out.ImageIds {
			ids = append(ids, id.ImageDigest[:12]+":"+id.ImageTag)
		}
		return strings.Join(ids, " ")
	}
	short := func(d digest.Digest) string { return d.String()[:12] }
	for status, want := range map[string]string{
		"": short(a.manifestDigest) + ": " + short(b.manifestDigest) + ":latest", "ANY": short(a.manifestDigest) + ": " + short(b.manifestDigest) + ":latest",
		"TAGGED": short(b.manifestDigest) + ":latest", "UNTAGGED": short(a.manifestDigest) + ":",
	} {
		// Identifiers are ordered by tag or digest; compare them as sets.
		if got := list(status); !sameWords(got, want) {
			t.Errorf("list-images %q = %q, want %q", status, got, want)
		}
	}
	if _, err := s.ListImages(ctx, &ListImagesInput{RepositoryName: "app", Filter: &ImageFilter{TagStatus: "SOME"}}); code(err) != "InvalidParameterException" {
		t.Fatalf("bad tagStatus: %v", err)
	}
	desc, err := s.DescribeImages(ctx, &DescribeImagesInput{RepositoryName: "app", Filter: &ImageFilter{TagStatus: "UNTAGGED"}})
	if err != nil || len(desc.ImageDetails) != 1 || desc.ImageDetails[0].ImageDigest != a.manifestDigest.String() || len(desc.ImageDetails[0].ImageTags) != 0 {
		t.Fatalf("describe untagged: %+v, %v", desc, err)
	}
	s.BatchDeleteImage(ctx, &BatchDeleteImageInput{RepositoryName: "app", ImageIds: []ImageIdentifier{{ImageTag: "latest"}}})
	if _, err := s.DeleteRepository(ctx, &DeleteRepositoryInput{RepositoryName: "app"}); code(err) != "RepositoryNotEmptyException" {
		t.Fatalf("delete a repository holding an untagged image: %v", err)
	}
	if _, err := s.DeleteRepository(ctx, &DeleteRepositoryInput{RepositoryName: "app", Force: true}); err != nil {
		t.Fatal(err)
	}
	s.CreateRepository(ctx, &CreateRepositoryInput{RepositoryName: "app"})
	if got := list(""); got != "" {
		t.Fatalf("a re-created repository lists %q", got)
	}
}

func sameWords(a, b string) bool {
	x, y := strings.Fields(a), strings.Fields(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}
