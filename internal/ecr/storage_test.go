package ecr

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/store"
	"github.com/berth-dev/berth/internal/testutil"
)

func TestParseStorage(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    *S3Storage // nil: the filesystem
		wantErr string
	}{
		{in: ""},
		{in: "s3://images", want: &S3Storage{Bucket: "images"}},
		{in: "s3://images/berth/prod/", want: &S3Storage{Bucket: "images", Prefix: "berth/prod"}},
		{in: "s3://images?region=eu-west-1", want: &S3Storage{Bucket: "images", Region: "eu-west-1"}},
		{in: "s3://images/p?endpoint=http://127.0.0.1:9000&forcepathstyle=true&region=us-east-1",
			want: &S3Storage{Bucket: "images", Prefix: "p", Region: "us-east-1", Endpoint: "http://127.0.0.1:9000", ForcePathStyle: true}},
		{in: "s3://", wantErr: "no bucket"},
		{in: "s3:///prefix", wantErr: "no bucket"},
		{in: "/var/lib/berth", wantErr: `unsupported scheme ""`},
		{in: "gs://images", wantErr: `unsupported scheme "gs"`},
		{in: "s3://key:secret@images", wantErr: "credentials do not belong in the URL"},
		{in: "s3://images?endpoint=localhost:9000", wantErr: "not an http:// or https:// URL"},
		{in: "s3://images?forcepathstyle=yes", wantErr: "forcepathstyle"},
		{in: "s3://images?bucket=other", wantErr: `unknown parameter "bucket"`},
		{in: "s3://images/%zz", wantErr: "invalid URL escape"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseStorage(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseStorage(%q) = %v, want an error containing %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got.S3) != fmt.Sprint(tc.want) {
				t.Fatalf("ParseStorage(%q) = %+v, want %+v", tc.in, got.S3, tc.want)
			}
			again, err := ParseStorage(got.String())
			if err != nil || fmt.Sprint(again.S3) != fmt.Sprint(got.S3) {
				t.Fatalf("ParseStorage(%q) = %+v, %v; want it to read back %+v", got.String(), again.S3, err, got.S3)
			}
		})
	}
}

// fakeS3 serves an S3-compatible API with one empty bucket and returns its
// --registry-storage value. The AWS SDK finds credentials in the environment.
func fakeS3(t testing.TB, bucket string) Storage {
	t.Helper()
	endpoint := testutil.FakeS3(t, bucket)
	t.Setenv("AWS_ACCESS_KEY_ID", "fake")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "fake")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	st, err := ParseStorage("s3://" + bucket + "/registry?forcepathstyle=true&endpoint=" + url.QueryEscape(endpoint))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestS3StorageSharedByServers runs two servers of one region on one
// store and one bucket: an upload goes on from one to the other, and what
// one pushes or deletes the other sees at once.
func TestS3StorageSharedByServers(t *testing.T) {
	storage := fakeS3(t, "images")
	st, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a, b := newTestRegistryOn(t, st, storage), newTestRegistryOn(t, st, storage)

	// A chunked upload alternating between the servers. The first chunk is
	// below S3's 5 MiB part minimum, the second above it, so resuming takes
	// both of the S3 driver's paths.
	layer := bytes.Repeat([]byte("berth layer "), 1<<20) // 12 MiB
	chunks := [][]byte{layer[:1<<20], layer[1<<20 : 7<<20], layer[7<<20:]}
	resp, _ := a.do(t, http.MethodPost, "/v2/app/blobs/uploads/", a.basic(), "", nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("start upload on A: %s", resp.Status)
	}
	loc := resp.Header.Get("Location")
	servers := []*testRegistry{a, b, a}
	offset := 0
	for i, chunk := range chunks {
		srv := servers[i]
		req, err := http.NewRequest(http.MethodPatch, srv.url+requestURI(t, loc), bytes.NewReader(chunk))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", srv.basic())
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", offset, offset+len(chunk)-1))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("chunk %d on server %d: %s", i, i%2, resp.Status)
		}
		offset += len(chunk)
		loc = resp.Header.Get("Location")
	}
	d := digest.FromBytes(layer)
	resp, body := b.do(t, http.MethodPut, requestURI(t, loc)+"&digest="+d.String(), b.basic(), "", nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("finish upload on B: %s %s", resp.Status, body)
	}
	resp, body = a.do(t, http.MethodGet, "/v2/app/blobs/"+d.String(), a.basic(), "", nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, layer) {
		t.Fatalf("blob on A: %s, %d bytes, want the %d uploaded", resp.Status, len(body), len(layer))
	}

	// The same through ECR's layer API: initiated on A, parts on B then
	// A, completed on B.
	up, err := a.InitiateLayerUpload(a.ctx, &InitiateLayerUploadInput{RepositoryName: "app"})
	if err != nil {
		t.Fatal(err)
	}
	apiLayer, apiDigest := randomBlob(2 << 20)
	for i, srv := range []*testRegistry{b, a} {
		first, last := int64(i<<20), int64((i+1)<<20-1)
		part := &UploadLayerPartInput{RepositoryName: "app", UploadId: up.UploadId, PartFirstByte: &first, PartLastByte: &last, LayerPartBlob: apiLayer[first : last+1]}
		if _, err := srv.UploadLayerPart(srv.ctx, part); err != nil {
			t.Fatalf("UploadLayerPart %d: %v", i, err)
		}
	}
	if _, err := b.CompleteLayerUpload(b.ctx, &CompleteLayerUploadInput{RepositoryName: "app", UploadId: up.UploadId, LayerDigests: []string{apiDigest.String()}}); err != nil {
		t.Fatalf("CompleteLayerUpload on B: %v", err)
	}
	if resp, body := a.do(t, http.MethodGet, "/v2/app/blobs/"+apiDigest.String(), a.basic(), "", nil); resp.StatusCode != http.StatusOK || !bytes.Equal(body, apiLayer) {
		t.Fatalf("layer on A: %s, %d bytes", resp.Status, len(body))
	}

	// A blob above the S3 driver's multipart copy threshold (32 MiB), which
	// it moves into place part by part.
	big, bigDigest := randomBlob(33 << 20)
	if got := a.pushBlob(t, "app", big); got != bigDigest {
		t.Fatalf("pushed %s, want %s", got, bigDigest)
	}
	if resp, body := b.do(t, http.MethodGet, "/v2/app/blobs/"+bigDigest.String(), b.basic(), "", nil); resp.StatusCode != http.StatusOK || !bytes.Equal(body, big) {
		t.Fatalf("33 MiB blob on B: %s, %d bytes", resp.Status, len(body))
	}

	// An empty blob (S3 stores it as a multipart upload of one empty part).
	empty := a.pushBlob(t, "app", nil)
	if resp, body := b.do(t, http.MethodGet, "/v2/app/blobs/"+empty.String(), b.basic(), "", nil); resp.StatusCode != http.StatusOK || len(body) != 0 {
		t.Fatalf("empty blob on B: %s, %d bytes", resp.Status, len(body))
	}

	// An image pushed to B is described by A; deleted on A, B no longer has it.
	config := b.pushBlob(t, "app", []byte(`{"architecture":"amd64","os":"linux"}`))
	manifest := imageManifest(config, 37, d)
	resp, body = b.do(t, http.MethodPut, "/v2/app/manifests/v1", b.basic(), ociManifest, manifest)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("push manifest to B: %s %s", resp.Status, body)
	}
	out, err := a.DescribeImages(a.ctx, &DescribeImagesInput{RepositoryName: "app", ImageIds: []ImageIdentifier{{ImageTag: "v1"}}})
	if err != nil || len(out.ImageDetails) != 1 || out.ImageDetails[0].ImageDigest != digest.FromBytes(manifest).String() {
		t.Fatalf("DescribeImages on A = %+v, %v; want the image pushed to B", out, err)
	}
	del, err := a.BatchDeleteImage(a.ctx, &BatchDeleteImageInput{RepositoryName: "app", ImageIds: []ImageIdentifier{{ImageTag: "v1"}}})
	if err != nil || len(del.Failures) != 0 {
		t.Fatalf("BatchDeleteImage on A = %+v, %v", del, err)
	}
	resp, body = b.do(t, http.MethodGet, "/v2/app/manifests/v1", b.basic(), "", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("manifest on B after deleting it on A: %s %s, want 404", resp.Status, body)
	}
}

// TestS3StorageUnreachable: a bucket the server cannot list stops it at
// startup with an error that says what to check.
func TestS3StorageUnreachable(t *testing.T) {
	storage := fakeS3(t, "images")
	storage.S3.Bucket = "missing"
	st, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	_, err = New(context.Background(), Config{Region: "us-east-1", Account: "123456789012", RegistryHost: "localhost:4600", Storage: storage}, st, nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "cannot list the bucket") || !strings.Contains(err.Error(), "s3://missing/registry") {
		t.Fatalf("New on a missing bucket = %v, want an error naming the bucket", err)
	}
}

// requestURI is loc's path and query, to send it to any server.
func requestURI(t testing.TB, loc string) string {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}
