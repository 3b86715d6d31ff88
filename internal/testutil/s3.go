package testutil

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

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
	return &s3Gaps{next: gofakes3.New(backend).Server(), uploads: map[string]bool{}}, nil
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

// s3Gaps does two things of Amazon S3 that gofakes3 does not and that
// distribution's S3 driver relies on:
//   - a multipart upload of one empty part (how the driver stores an empty
//     blob) completes as an empty object; gofakes3 refuses empty parts;
//   - UploadPartCopy (how it moves blobs above 32 MiB and resumes uploads
//     past 10 MiB), done here as a read of the source and an UploadPart.
type s3Gaps struct {
	next    http.Handler
	mu      sync.Mutex
	uploads map[string]bool // ids of uploads given an empty part
}

func (g *s3Gaps) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("uploadId")
	isPart := r.Method == http.MethodPut && id != "" && q.Has("partNumber")
	switch {
	case isPart && r.Header.Get("X-Amz-Copy-Source") != "":
		g.copyPart(w, r)
		return
	case isPart && r.ContentLength == 0:
		g.mu.Lock()
		g.uploads[id] = true
		g.mu.Unlock()
		w.Header().Set("ETag", emptyETag)
		return
	case r.Method == http.MethodPost && id != "":
		g.mu.Lock()
		empty := g.uploads[id]
		delete(g.uploads, id)
		g.mu.Unlock()
		if empty {
			g.completeEmpty(w, r)
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

// completeEmpty completes an upload of one empty part: it drops the
// upload and stores an empty object in its place.
func (g *s3Gaps) completeEmpty(w http.ResponseWriter, r *http.Request) {
	g.next.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(r.Context(), http.MethodDelete, r.URL.String(), nil))
	put := httptest.NewRequestWithContext(r.Context(), http.MethodPut, r.URL.Path, http.NoBody)
	put.Header.Set("Content-Length", "0")
	stored := httptest.NewRecorder()
	g.next.ServeHTTP(stored, put)
	if stored.Code != http.StatusOK {
		relay(w, stored)
		return
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	w.Header().Set("Content-Type", "application/xml")
	xml.NewEncoder(w).Encode(gofakes3.CompleteMultipartUploadResult{Bucket: bucket, Key: key, ETag: emptyETag})
}

// copyPart uploads a part copied from (a byte range of) another object.
func (g *s3Gaps) copyPart(w http.ResponseWriter, r *http.Request) {
	src, err := url.PathUnescape(strings.TrimPrefix(r.Header.Get("X-Amz-Copy-Source"), "/"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	get := httptest.NewRequestWithContext(r.Context(), http.MethodGet, (&url.URL{Path: "/" + src}).String(), nil)
	if rng := r.Header.Get("X-Amz-Copy-Source-Range"); rng != "" {
		get.Header.Set("Range", rng)
	}
	got := httptest.NewRecorder()
	g.next.ServeHTTP(got, get)
	if got.Code != http.StatusOK && got.Code != http.StatusPartialContent {
		relay(w, got)
		return
	}
	data := got.Body.Bytes()
	part := httptest.NewRequestWithContext(r.Context(), http.MethodPut, r.URL.String(), bytes.NewReader(data))
	part.Header.Set("Content-Length", strconv.Itoa(len(data)))
	uploaded := httptest.NewRecorder()
	g.ServeHTTP(uploaded, part) // through g: the copied range may be empty
	if uploaded.Code != http.StatusOK {
		relay(w, uploaded)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	xml.NewEncoder(w).Encode(struct {
		XMLName      xml.Name `xml:"CopyPartResult"`
		ETag         string
		LastModified gofakes3.ContentTime
	}{ETag: uploaded.Header().Get("ETag"), LastModified: gofakes3.NewContentTime(time.Now())})
}

// relay writes a recorded response as the answer.
func relay(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}
