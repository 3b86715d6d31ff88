package store

import (
	"context"
	"time"
)

// WaitChange returns once a key under any of prefixes changes after rev,
// once timeout has passed, or when ctx ends, whichever comes first. A
// controller that applies the whole state read at rev waits so for its
// next reason to apply again (a watch that fails is such a reason too).
func (s *Store) WaitChange(ctx context.Context, rev int64, timeout time.Duration, prefixes ...string) {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	changed := make(chan struct{}, len(prefixes))
	for _, p := range prefixes {
		ch := s.Watch(wctx, p, rev+1)
		go func() {
			<-ch
			changed <- struct{}{}
		}()
	}
	select {
	case <-wctx.Done():
	case <-changed:
	}
}
