package ecr

import (
	"testing"
	"time"
)

// TestSweepUploads checks that the periodic sweep removes uploads left
// unfinished for longer than UploadMaxAge, with their locks, and keeps
// younger ones.
func TestSweepUploads(t *testing.T) {
	s, ctx := newService(t)
	if n, err := s.sweepUploads(ctx, time.Now()); n != 0 || err != nil {
		t.Fatalf("sweep of an empty registry = %d, %v", n, err)
	}
	for _, name := range []string{"app", "team/app"} {
		if _, err := s.CreateRepository(ctx, &CreateRepositoryInput{RepositoryName: name}); err != nil {
			t.Fatal(err)
		}
	}
	part := func(repo, id string) error {
		first, last := int64(0), int64(2)
		_, err := s.UploadLayerPart(ctx, &UploadLayerPartInput{RepositoryName: repo, UploadId: id, PartFirstByte: &first, PartLastByte: &last, LayerPartBlob: []byte("abc")})
		return err
	}
	var ids []string
	for _, repo := range []string{"app", "team/app"} {
		up, err := s.InitiateLayerUpload(ctx, &InitiateLayerUploadInput{RepositoryName: repo})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, up.UploadId)
	}
	if err := part("app", ids[0]); err != nil { // takes the upload's lock
		t.Fatal(err)
	}
	locks := func() int {
		n := 0
		s.uploadLocks.Range(func(any, any) bool { n++; return true })
		return n
	}
	if n, err := s.sweepUploads(ctx, time.Now().Add(UploadMaxAge-time.Hour)); n != 0 || err != nil || locks() != 1 {
		t.Fatalf("sweep before the uploads are %v old = %d, %v (%d locks); want 0 and the lock kept", UploadMaxAge, n, err, locks())
	}
	if n, err := s.sweepUploads(ctx, time.Now().Add(UploadMaxAge+time.Hour)); n != 2 || err != nil || locks() != 0 {
		t.Fatalf("sweep after %v = %d, %v (%d locks); want both uploads and their locks removed", UploadMaxAge, n, err, locks())
	}
	for i, repo := range []string{"app", "team/app"} {
		if err := part(repo, ids[i]); code(err) != "UploadNotFoundException" {
			t.Errorf("part of the swept upload of %s: %v, want UploadNotFoundException", repo, err)
		}
	}
	if locks() != 0 {
		t.Errorf("a call on an unknown upload left %d locks", locks())
	}
	if err := part("app", "not-a-uuid"); code(err) != "InvalidParameterException" || locks() != 0 {
		t.Errorf("a malformed upload id: %v, %d locks; want InvalidParameterException and no lock", err, locks())
	}
}
