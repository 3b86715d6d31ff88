package ecr

import (
	"maps"
	"net/http"
	"testing"

	"github.com/distribution/distribution/v3"
	"github.com/opencontainers/go-digest"
)

// TestTagIndexFollowsStorage changes tags every way the registry and the
// ECR API can and checks after each change that the index holds what
// storage holds.
func TestTagIndexFollowsStorage(t *testing.T) {
	tr := newTestRegistry(t)
	config := tr.pushBlob(t, "app", []byte(`{"architecture":"amd64","os":"linux"}`))
	layer := tr.pushBlob(t, "app", []byte("layer"))
	m1, m2 := imageManifest(config, 37, layer), imageManifest(config, 37, layer, layer)
	d1, d2 := digest.FromBytes(m1), digest.FromBytes(m2)
	send := func(t *testing.T, method, ref string, m []byte, want int) {
		t.Helper()
		if resp, body := tr.do(t, method, "/v2/app/manifests/"+ref, tr.basic(), ociManifest, m); resp.StatusCode != want {
			t.Fatalf("%s %s: %s %s", method, ref, resp.Status, body)
		}
	}
	for _, step := range []struct {
		name string
		do   func(t *testing.T)
		want map[string]digest.Digest
	}{
		{"push by tag", func(t *testing.T) {
			send(t, http.MethodPut, "v1", m1, http.StatusCreated)
			send(t, http.MethodPut, "v2", m1, http.StatusCreated)
		}, map[string]digest.Digest{"v1": d1, "v2": d1}},
		{"push by digest", func(t *testing.T) { send(t, http.MethodPut, d2.String(), m2, http.StatusCreated) },
			map[string]digest.Digest{"v1": d1, "v2": d1}},
		{"move a tag", func(t *testing.T) { send(t, http.MethodPut, "v2", m2, http.StatusCreated) },
			map[string]digest.Digest{"v1": d1, "v2": d2}},
		{"PutImage", func(t *testing.T) {
			if _, err := tr.PutImage(tr.ctx, &PutImageInput{RepositoryName: "app", ImageManifest: string(m2), ImageManifestMediaType: ociManifest, ImageTag: "v3"}); err != nil {
				t.Fatal(err)
			}
		}, map[string]digest.Digest{"v1": d1, "v2": d2, "v3": d2}},
		{"delete a tag through the registry", func(t *testing.T) { send(t, http.MethodDelete, "v3", nil, http.StatusAccepted) },
			map[string]digest.Digest{"v1": d1, "v2": d2}},
		{"BatchDeleteImage by tag", func(t *testing.T) {
			if _, err := tr.BatchDeleteImage(tr.ctx, &BatchDeleteImageInput{RepositoryName: "app", ImageIds: []ImageIdentifier{{ImageTag: "v1"}}}); err != nil {
				t.Fatal(err)
			}
		}, map[string]digest.Digest{"v2": d2}},
		{"delete an image by digest through the registry", func(t *testing.T) { send(t, http.MethodDelete, d2.String(), nil, http.StatusAccepted) },
			map[string]digest.Digest{}},
		{"push again after the repository is re-created", func(t *testing.T) {
			send(t, http.MethodPut, "v1", m1, http.StatusCreated)
			if _, err := tr.DeleteRepository(tr.ctx, &DeleteRepositoryInput{RepositoryName: "app", Force: true}); err != nil {
				t.Fatal(err)
			}
			if _, err := tr.CreateRepository(tr.ctx, &CreateRepositoryInput{RepositoryName: "app"}); err != nil {
				t.Fatal(err)
			}
		}, map[string]digest.Digest{}},
	} {
		t.Run(step.name, func(t *testing.T) {
			step.do(t)
			stored, err := tr.storedTags(tr.ctx, "app")
			if err != nil {
				t.Fatal(err)
			}
			indexed, err := tr.tagDigests(tr.ctx, "app")
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(stored, step.want) || !maps.Equal(indexed, step.want) {
				t.Fatalf("storage holds %v, the index %v; want %v", stored, indexed, step.want)
			}
		})
	}
}

// TestTagIndexRebuild: a repository's index is built from storage on
// first use, and the sweep repairs one that missed a change.
func TestTagIndexRebuild(t *testing.T) {
	tr := newTestRegistry(t)
	config := tr.pushBlob(t, "app", []byte(`{"architecture":"amd64","os":"linux"}`))
	manifest := imageManifest(config, 37, tr.pushBlob(t, "app", []byte("layer")))
	if resp, body := tr.do(t, http.MethodPut, "/v2/app/manifests/v1", tr.basic(), ociManifest, manifest); resp.StatusCode != http.StatusCreated {
		t.Fatalf("push: %s %s", resp.Status, body)
	}
	repo, err := tr.contentRepo(tr.ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	// Tag behind the index's back, as storage written before it existed.
	behind := func(tag string) {
		desc := distribution.Descriptor{MediaType: ociManifest, Digest: digest.FromBytes(manifest), Size: int64(len(manifest))}
		if err := repo.Tags(tr.ctx).Tag(tr.ctx, tag, desc); err != nil {
			t.Fatal(err)
		}
	}
	describe := func(tag string) error {
		_, err := tr.DescribeImages(tr.ctx, &DescribeImagesInput{RepositoryName: "app", ImageIds: []ImageIdentifier{{ImageTag: tag}}})
		return err
	}
	behind("old")
	if err := describe("old"); err != nil {
		t.Fatalf("DescribeImages of a tag in storage before the index was built: %v", err)
	}
	behind("missed")
	if err := describe("missed"); code(err) != "ImageNotFoundException" {
		t.Fatalf("DescribeImages of a tag the index missed = %v; want ImageNotFoundException until the sweep", err)
	}
	if err := tr.sweepTagIndexes(tr.ctx); err != nil {
		t.Fatal(err)
	}
	if err := describe("missed"); err != nil {
		t.Fatalf("DescribeImages after the sweep: %v", err)
	}
}
