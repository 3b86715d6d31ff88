package testutil

import (
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// S3Handler serves an in-memory S3-compatible API (gofakes3, path-style
// addressing, any credentials) holding the given empty buckets.
func S3Handler(buckets ...string) (http.Handler, error) {
	backend := s3mem.New()
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			return nil, err
		}
	}
	return &emptyParts{next: gofakes3.New(backend).Server(), uploads: map[string]bool{}}, nil
}

// FakeS3 serves S3Handler(bucket) until the test ends and returns its URL.
func FakeS3(t testing.TB, bucket string) string {
	t.Helper()
	h, err := S3Handler(bucket)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// emptyETag is the ETag of no bytes.
const emptyETag = `"d41d8cd98f00b204e9800998ecf8427e"`

// emptyParts accepts a multipart upload made of one empty part, as Amazon
// S3 does and gofakes3 does not (it refuses an empty part): distribution's
// S3 driver stores an empty blob that way. The upload completes as an
// empty object.
type emptyParts struct {
	next    http.Handler
	mu      sync.Mutex
	uploads map[string]bool // ids of uploads given an empty part
}

func (e *emptyParts) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("uploadId")
	switch {
	case r.Method == http.MethodPut && id != "" && q.Has("partNumber") && r.ContentLength == 0:
		e.mu.Lock()
		e.uploads[id] = true
		e.mu.Unlock()
		w.Header().Set("ETag", emptyETag)
		return
	case r.Method == http.MethodPost && id != "":
		e.mu.Lock()
		empty := e.uploads[id]
		delete(e.uploads, id)
		e.mu.Unlock()
		if !empty {
			break
		}
		// Drop the upload, then store the empty object in its place.
		abort := httptest.NewRecorder()
		e.next.ServeHTTP(abort, httptest.NewRequestWithContext(r.Context(), http.MethodDelete, r.URL.String(), nil))
		put := httptest.NewRequestWithContext(r.Context(), http.MethodPut, r.URL.Path, http.NoBody)
		put.Header.Set("Content-Length", "0")
		stored := httptest.NewRecorder()
		e.next.ServeHTTP(stored, put)
		if stored.Code != http.StatusOK {
			w.WriteHeader(stored.Code)
			w.Write(stored.Body.Bytes())
			return
		}
		bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		w.Header().Set("Content-Type", "application/xml")
		xml.NewEncoder(w).Encode(gofakes3.CompleteMultipartUploadResult{Bucket: bucket, Key: key, ETag: emptyETag})
		return
	}
	e.next.ServeHTTP(w, r)
}
