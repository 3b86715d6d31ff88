package ecr

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/distribution/distribution/v3"
	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/store"
)

// benchTags is how many tags the repository of the DescribeImages
// benchmarks carries, all on one manifest.
const benchTags = 10000

// manyTags returns a registry whose repository "app" has one image
// tagged benchTags times (t0 … t9999), tagged through storage rather than
// by 10,000 pushes.
func manyTags(b *testing.B) *testRegistry {
	b.Helper()
	return manyTagsOn(b, newTestRegistry(b))
}

// manyTagsOn is manyTags on registry tr.
func manyTagsOn(b *testing.B, tr *testRegistry) *testRegistry {
	b.Helper()
	config := []byte(`{"architecture":"amd64","os":"linux"}`)
	configDigest := tr.pushBlob(b, "app", config)
	layerDigest := tr.pushBlob(b, "app", []byte("layer"))
	manifest := imageManifest(configDigest, len(config), layerDigest)
	if resp, body := tr.do(b, http.MethodPut, "/v2/app/manifests/t0", tr.basic(), ociManifest, manifest); resp.StatusCode != http.StatusCreated {
		b.Fatalf("push: %s %s", resp.Status, body)
	}
	repo, err := tr.contentRepo(tr.ctx, "app")
	if err != nil {
		b.Fatal(err)
	}
	desc := distribution.Descriptor{MediaType: ociManifest, Digest: digest.FromBytes(manifest), Size: int64(len(manifest))}
	for i := 1; i < benchTags; i++ {
		if err := repo.Tags(tr.ctx).Tag(tr.ctx, fmt.Sprintf("t%d", i), desc); err != nil {
			b.Fatal(err)
		}
	}
	return tr
}

// BenchmarkDescribeImages10000Tags describes a repository whose one image
// has 10,000 tags: the whole repository, and one image by tag.
func BenchmarkDescribeImages10000Tags(b *testing.B) {
	tr := manyTags(b)
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			out, err := tr.DescribeImages(tr.ctx, &DescribeImagesInput{RepositoryName: "app"})
			if err != nil || len(out.ImageDetails) != 1 || len(out.ImageDetails[0].ImageTags) != benchTags {
				b.Fatalf("DescribeImages: %v", err)
			}
		}
	})
	b.Run("one tag", func(b *testing.B) {
		for b.Loop() {
			out, err := tr.DescribeImages(tr.ctx, &DescribeImagesInput{RepositoryName: "app", ImageIds: []ImageIdentifier{{ImageTag: "t5000"}}})
			if err != nil || len(out.ImageDetails) != 1 {
				b.Fatalf("DescribeImages: %v", err)
			}
		}
	})
	b.Run("ListImages", func(b *testing.B) {
		for b.Loop() {
			out, err := tr.ListImages(tr.ctx, &ListImagesInput{RepositoryName: "app"})
			if err != nil || len(out.ImageIds) != 1000 {
				b.Fatalf("ListImages: %v", err)
			}
		}
	})
}

// BenchmarkTagLookup10000Tags reads the tags of a repository of 10,000
// tags from storage (one read per tag) and from the tag index, with
// filesystem and S3 storage.
func BenchmarkTagLookup10000Tags(b *testing.B) {
	fs := manyTags(b)
	st, err := store.Open(context.Background(), store.Config{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	s3 := manyTagsOn(b, newTestRegistryOn(b, st, fakeS3(b, "images")))
	for _, tr := range []struct {
		name string
		*testRegistry
	}{{"filesystem", fs}, {"S3", s3}} {
		if _, err := tr.tagDigests(tr.ctx, "app"); err != nil { // builds the index
			b.Fatal(err)
		}
		b.Run(tr.name+"/storage", func(b *testing.B) {
			for b.Loop() {
				if tags, err := tr.storedTags(tr.ctx, "app"); err != nil || len(tags) != benchTags {
					b.Fatalf("storedTags: %d, %v", len(tags), err)
				}
			}
		})
		b.Run(tr.name+"/index", func(b *testing.B) {
			for b.Loop() {
				if tags, err := tr.tagDigests(tr.ctx, "app"); err != nil || len(tags) != benchTags {
					b.Fatalf("tagDigests: %d, %v", len(tags), err)
				}
			}
		})
	}
}
