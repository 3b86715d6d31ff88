package store

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// RetryPolicy bounds how an optimistic read-modify-write is tried again
// after losing a race (ErrConflict): at most Attempts tries in all, with a
// random pause before each retry of up to Base doubled per retry, capped at
// Max ("full jitter"), so writers racing for one key spread out instead of
// colliding again.
type RetryPolicy struct {
	Attempts  int
	Base, Max time.Duration
}

// DefaultRetry is the policy of every read-modify-write on the store: 50
// tries, with at most about two seconds of pauses in all (one on average).
var DefaultRetry = RetryPolicy{Attempts: 50, Base: time.Millisecond, Max: 50 * time.Millisecond}

// Do calls fn until it returns anything but ErrConflict, the attempts are
// spent (it then returns fn's last ErrConflict) or ctx ends (ctx's error).
// fn must read afresh on every call: a conflict means what it read is stale.
func (p RetryPolicy) Do(ctx context.Context, fn func() error) error {
	attempts := max(p.Attempts, 1)
	var err error
	for i := range attempts {
		if i > 0 {
			if werr := p.pause(ctx, i); werr != nil {
				return werr
			}
		}
		if err = fn(); !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return err
}

// pause waits before retry number i (from 1).
func (p RetryPolicy) pause(ctx context.Context, i int) error {
	limit := p.Max
	if shift := i - 1; shift < 30 && p.Base<<shift < limit {
		limit = p.Base << shift
	}
	if limit <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(rand.N(limit) + 1)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Retry is DefaultRetry.Do.
func Retry(ctx context.Context, fn func() error) error { return DefaultRetry.Do(ctx, fn) }
