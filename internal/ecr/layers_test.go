package ecr

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/api"
)

// randomBlob returns n random bytes and their digest.
func randomBlob(n int) ([]byte, digest.Digest) {
	b := make([]byte, n)
	rand.Read(b)
	return b, digest.FromBytes(b)
}

// pushLayer uploads data through the layer API in parts of at most
// partLen bytes and returns its digest.
func pushLayer(t *testing.T, s *Service, ctx context.Context, repo string, data []byte, partLen int) digest.Digest {
	t.Helper()
	up, err := s.InitiateLayerUpload(ctx, &InitiateLayerUploadInput{RepositoryName: repo})
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(data); off += partLen {
		end := min(off+partLen, len(data))
		first, last := int64(off), int64(end-1)
		out, err := s.UploadLayerPart(ctx, &UploadLayerPartInput{RepositoryName: repo, UploadId: up.UploadId, PartFirstByte: &first, PartLastByte: &last, LayerPartBlob: data[off:end]})
		if err != nil || out.LastByteReceived != last {
			t.Fatalf("upload part %d-%d: %+v, %v", first, last, out, err)
		}
	}
	d := digest.FromBytes(data)
	done, err := s.CompleteLayerUpload(ctx, &CompleteLayerUploadInput{RepositoryName: repo, UploadId: up.UploadId, LayerDigests: []string{d.String()}})
	if err != nil || done.LayerDigest != d.String() {
		t.Fatalf("complete upload: %+v, %v", done, err)
	}
	return d
}

func ptr[T any](v T) *T { return &v }

func TestLayerUpload(t *testing.T) {
	s, ctx := newService(t)
	if _, err := s.CreateRepository(ctx, &CreateRepositoryInput{RepositoryName: "app"}); err != nil {
		t.Fatal(err)
	}
	data, d := randomBlob(3000)
	if got := pushLayer(t, s, ctx, "app", data, 1024); got != d {
		t.Fatalf("pushed %s, want %s", got, d)
	}
	repo, _ := s.contentRepo(ctx, "app")
	if blob, err := repo.Blobs(ctx).Get(ctx, d); err != nil || !bytes.Equal(blob, data) {
		t.Fatalf("stored blob differs: %v", err)
	}

	up, _ := s.InitiateLayerUpload(ctx, &InitiateLayerUploadInput{RepositoryName: "app"})
	part := func(first, last int64, blob []byte) error {
		_, err := s.UploadLayerPart(ctx, &UploadLayerPartInput{RepositoryName: "app", UploadId: up.UploadId, PartFirstByte: &first, PartLastByte: &last, LayerPartBlob: blob})
		return err
	}
	if err := part(0, 9, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name        string
		first, last int64
		blob        []byte
		want        string
	}{
		{"gap", 20, 29, make([]byte, 10), "InvalidLayerPartException"},
		{"overlap", 5, 14, make([]byte, 10), "InvalidLayerPartException"},
		{"range and length disagree", 10, 30, make([]byte, 10), "InvalidLayerPartException"},
		{"empty part", 10, 9, []byte{}, "InvalidLayerPartException"},
		{"oversize part", 10, 10 + maxLayerPart, make([]byte, maxLayerPart+1), "InvalidLayerPartException"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := part(tt.first, tt.last, tt.blob)
			if code(err) != tt.want {
				t.Fatalf("error %v, want %s", err, tt.want)
			}
			if e := api.AsError(err); e.Fields["lastValidByteReceived"] != int64(9) {
				t.Fatalf("lastValidByteReceived = %v, want 9", e.Fields["lastValidByteReceived"])
			}
		})
	}
	if err := part(10, 19, make([]byte, 10)); err != nil {
		t.Fatalf("the next part after rejected ones: %v", err)
	}
	zero := digest.FromBytes(make([]byte, 20))

	empty, _ := s.InitiateLayerUpload(ctx, &InitiateLayerUploadInput{RepositoryName: "app"})
	for _, tt := range []struct {
		name string
		in   CompleteLayerUploadInput
		want string
	}{
		{"digest mismatch", CompleteLayerUploadInput{UploadId: up.UploadId, LayerDigests: []string{digest.FromString("other").String()}}, "InvalidLayerException"},
		{"after a mismatch the upload is gone", CompleteLayerUploadInput{UploadId: up.UploadId, LayerDigests: []string{zero.String()}}, "UploadNotFoundException"},
		{"unknown upload", CompleteLayerUploadInput{UploadId: "0b5e3f3e-1111-4222-8333-944455556666", LayerDigests: []string{zero.String()}}, "UploadNotFoundException"},
		{"malformed upload id", CompleteLayerUploadInput{UploadId: "../../x", LayerDigests: []string{zero.String()}}, "InvalidParameterException"},
		{"no digest", CompleteLayerUploadInput{UploadId: empty.UploadId}, "InvalidParameterException"},
		{"malformed digest", CompleteLayerUploadInput{UploadId: empty.UploadId, LayerDigests: []string{"sha256:xyz"}}, "InvalidParameterException"},
		{"empty upload", CompleteLayerUploadInput{UploadId: empty.UploadId, LayerDigests: []string{zero.String()}}, "EmptyUploadException"},
		{"other repository", CompleteLayerUploadInput{RepositoryName: "nope", UploadId: empty.UploadId, LayerDigests: []string{zero.String()}}, "RepositoryNotFoundException"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.in.RepositoryName == "" {
				tt.in.RepositoryName = "app"
			}
			if _, err := s.CompleteLayerUpload(ctx, &tt.in); code(err) != tt.want {
				t.Fatalf("error %v, want %s", err, tt.want)
			}
		})
	}

	again, _ := s.InitiateLayerUpload(ctx, &InitiateLayerUploadInput{RepositoryName: "app"})
	if _, err := s.UploadLayerPart(ctx, &UploadLayerPartInput{RepositoryName: "app", UploadId: again.UploadId, PartFirstByte: ptr[int64](0), PartLastByte: ptr(int64(len(data) - 1)), LayerPartBlob: data}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CompleteLayerUpload(ctx, &CompleteLayerUploadInput{RepositoryName: "app", UploadId: again.UploadId, LayerDigests: []string{d.String()}}); code(err) != "LayerAlreadyExistsException" {
		t.Fatalf("uploading an existing layer: %v", err)
	}
	if _, err := s.UploadLayerPart(ctx, &UploadLayerPartInput{RepositoryName: "app", UploadId: again.UploadId}); code(err) != "InvalidParameterException" {
		t.Fatalf("part without bytes: %v", err)
	}
}

func TestLayerAvailabilityAndDownload(t *testing.T) {
	s, ctx := newService(t)
	s.CreateRepository(ctx, &CreateRepositoryInput{RepositoryName: "app"})
	s.CreateRepository(ctx, &CreateRepositoryInput{RepositoryName: "other"})
	data, _ := randomBlob(100)
	d := pushLayer(t, s, ctx, "app", data, 64)
	missing := digest.FromString("missing")
	out, err := s.BatchCheckLayerAvailability(ctx, &BatchCheckLayerAvailabilityInput{RepositoryName: "app", LayerDigests: []string{d.String(), missing.String(), "nonsense", ""}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Layers) != 1 || out.Layers[0] != (Layer{LayerDigest: d.String(), LayerAvailability: "AVAILABLE", LayerSize: 100}) {
		t.Fatalf("layers = %+v", out.Layers)
	}
	var codes []string
	for _, f := range out.Failures {
		codes = append(codes, f.FailureCode)
	}
	if strings.Join(codes, " ") != "MissingLayerDigest InvalidLayerDigest InvalidLayerDigest" {
		t.Fatalf("failures = %+v", out.Failures)
	}
	// Blobs belong to a repository.
	if out, _ := s.BatchCheckLayerAvailability(ctx, &BatchCheckLayerAvailabilityInput{RepositoryName: "other", LayerDigests: []string{d.String()}}); len(out.Failures) != 1 {
		t.Fatalf("another repository's layer: %+v", out)
	}
	if _, err := s.BatchCheckLayerAvailability(ctx, &BatchCheckLayerAvailabilityInput{RepositoryName: "app"}); code(err) != "InvalidParameterException" {
		t.Fatalf("no digests: %v", err)
	}

	get := func(digest string) (*GetDownloadUrlForLayerOutput, error) {
		return s.GetDownloadUrlForLayer(ctx, &GetDownloadUrlForLayerInput{RepositoryName: "app", LayerDigest: digest})
	}
	if _, err := get(d.String()); code(err) != "LayerInaccessibleException" {
		t.Fatalf("a layer no image uses: %v", err)
	}
	if _, err := get(missing.String()); code(err) != "LayersNotFoundException" {
		t.Fatalf("a missing layer: %v", err)
	}
	if _, err := get("sha256:nope"); code(err) != "InvalidParameterException" {
		t.Fatalf("a malformed digest: %v", err)
	}
	img := putTestImage(t, s, ctx, "app", "v1", d, int64(len(data)))
	url, err := get(d.String())
	if err != nil || !strings.HasPrefix(url.DownloadUrl, "http://localhost:4600/v2/app/blobs/"+d.String()+"?") || url.LayerDigest != d.String() {
		t.Fatalf("download url: %+v, %v (image %s)", url, err, img)
	}

	// The URL works without credentials, for that blob only, until it expires.
	srv := httptest.NewServer(s.RegistryHandler())
	defer srv.Close()
	fetch := func(method, u string) (int, []byte) {
		req, _ := http.NewRequest(method, strings.Replace(u, "http://localhost:4600", srv.URL, 1), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if status, body := fetch("GET", url.DownloadUrl); status != 200 || !bytes.Equal(body, data) {
		t.Fatalf("GET the download url: %d", status)
	}
	config := strings.Split(img, `"digest": "`)[1][:71]
	for name, u := range map[string]string{
		"tampered":      url.DownloadUrl[:len(url.DownloadUrl)-4] + "0000",
		"expired":       s.downloadURL("app", d, time.Now().Add(-2*DownloadURLLifetime)),
		"another blob":  strings.Replace(url.DownloadUrl, d.String(), config, 1),
		"another repo":  strings.Replace(url.DownloadUrl, "/v2/app/", "/v2/other/", 1),
		"not presigned": strings.Split(url.DownloadUrl, "?")[0],
	} {
		if status, _ := fetch("GET", u); status != 401 {
			t.Errorf("%s download url: %d, want 401", name, status)
		}
	}
	if status, _ := fetch("DELETE", url.DownloadUrl); status != 401 {
		t.Errorf("DELETE with a download url: %d, want 401", status)
	}
}

// putTestImage pushes a config blob and puts a schema 2 manifest with the
// given layer, returning the manifest's text.
func putTestImage(t *testing.T, s *Service, ctx context.Context, repo, tag string, layer digest.Digest, size int64) string {
	t.Helper()
	config := []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]}}`, layer))
	cd := digest.FromBytes(config)
	if _, err := s.BatchCheckLayerAvailability(ctx, &BatchCheckLayerAvailabilityInput{RepositoryName: repo, LayerDigests: []string{cd.String()}}); err != nil {
		t.Fatal(err)
	}
	if out, _ := s.BatchCheckLayerAvailability(ctx, &BatchCheckLayerAvailabilityInput{RepositoryName: repo, LayerDigests: []string{cd.String()}}); len(out.Layers) == 0 {
		pushLayer(t, s, ctx, repo, config, len(config))
	}
	manifest := schema2Manifest(cd, int64(len(config)), layer, size)
	if _, err := s.PutImage(ctx, &PutImageInput{RepositoryName: repo, ImageManifest: manifest, ImageTag: tag}); err != nil {
		t.Fatalf("put image: %v", err)
	}
	return manifest
}

func schema2Manifest(config digest.Digest, configSize int64, layer digest.Digest, layerSize int64) string {
	m := map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.docker.distribution.manifest.v2+json",
		"config":        map[string]any{"mediaType": "application/vnd.docker.container.image.v1+json", "size": configSize, "digest": config},
		"layers":        []map[string]any{{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": layerSize, "digest": layer}},
	}
	b, _ := json.MarshalIndent(m, "", "   ")
	return string(b)
}
