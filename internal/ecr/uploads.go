package ecr

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/distribution/distribution/v3/registry/storage"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
)

// UploadMaxAge is how long a layer upload (InitiateLayerUpload, or a
// registry POST to /blobs/uploads/) may stay unfinished: the periodic
// sweep removes older ones with the data they hold, and the locks of
// uploads idle as long. Docker and the ECR API finish an upload within
// minutes; a day leaves room for a very slow link.
const UploadMaxAge = 24 * time.Hour

// uploadLock serializes the calls on one upload and remembers when it was
// last taken, so locks of abandoned uploads can be dropped.
type uploadLock struct {
	sync.Mutex
	used atomic.Int64 // Unix nanoseconds
}

// lockUpload serializes the calls on one upload, whose parts must be
// written in order; it returns the unlock.
func (s *Service) lockUpload(id string) func() {
	v, _ := s.uploadLocks.LoadOrStore(id, new(uploadLock))
	l := v.(*uploadLock)
	l.Lock()
	l.used.Store(time.Now().UnixNano())
	return l.Unlock
}

// sweepUploads removes the uploads started before now-UploadMaxAge, in
// every repository, and the locks not taken since then. It returns how
// many uploads it removed.
func (s *Service) sweepUploads(ctx context.Context, now time.Time) (int, error) {
	cutoff := now.Add(-UploadMaxAge)
	s.uploadLocks.Range(func(id, l any) bool {
		if l.(*uploadLock).used.Load() < cutoff.UnixNano() {
			s.uploadLocks.Delete(id)
		}
		return true
	})
	// PurgeUploads reports a registry nothing was pushed to yet as an error.
	const root = "/docker/registry/v2/repositories"
	if _, err := s.driver.Stat(ctx, root); errors.As(err, new(storagedriver.PathNotFoundError)) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("sweep uploads: %w", err)
	}
	removed, errs := storage.PurgeUploads(ctx, s.driver, cutoff, true)
	if err := errors.Join(errs...); err != nil {
		return len(removed), fmt.Errorf("sweep uploads: %w", err)
	}
	return len(removed), nil
}
