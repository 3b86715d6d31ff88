package ecs

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/store"
)

// faultyWatch opens real store watches; the first one ends when fail is
// closed, either cut off with an error or closed as a cancelled watch is.
// The keys the later watches deliver are sent on seen.
type faultyWatch struct {
	st    *store.Store
	fail  chan struct{}
	cut   bool // end the first watch with an error instead of closing it
	seen  chan string
	mu    sync.Mutex
	opens []int64 // the revision each watch was opened from
}

func (f *faultyWatch) froms() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int64(nil), f.opens...)
}

func (f *faultyWatch) watch(ctx context.Context, prefix string, from int64) <-chan store.Changes {
	f.mu.Lock()
	first := len(f.opens) == 0
	f.opens = append(f.opens, from)
	f.mu.Unlock()
	wctx, cancel := context.WithCancel(ctx)
	in := f.st.Watch(wctx, prefix, from)
	out := make(chan store.Changes)
	send := func(c store.Changes) bool {
		select {
		case out <- c:
			return true
		case <-ctx.Done():
			return false
		}
	}
	go func() {
		defer close(out)
		defer cancel()
		fail := f.fail
		if !first {
			fail = nil
		}
		for {
			select {
			case c, ok := <-in:
				if !ok {
					return
				}
				if !first {
					for _, ev := range c.Events {
						select {
						case f.seen <- ev.Key:
						default:
						}
					}
				}
				if !send(c) {
					return
				}
			case <-fail:
				if f.cut {
					send(store.Changes{Err: errors.New("etcdserver: no leader")})
					return
				}
				cancel() // the store closes the watch
				fail = nil
			}
		}
	}()
	return out
}

// The leader's watches recover: a watch that ends — cut off with an error
// or closed without one — is opened again from the last revision it
// delivered, so a change made after the failure is still seen, and the
// loop only ends with its context.
func TestSchedulerWatchRecovers(t *testing.T) {
	e := newEnv(t)
	prefix := e.svc.keys.prefix + "task/"
	for _, tc := range []struct {
		name string
		cut  bool
	}{{"closed", false}, {"cut off", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f := &faultyWatch{st: e.st, fail: make(chan struct{}), cut: tc.cut, seen: make(chan string, 16)}
			var notified atomic.Int64
			returned := make(chan int, 1)
			go func() { returned <- e.svc.watchChanges(ctx, f.watch, prefix, func() { notified.Add(1) }) }()
			before := e.svc.keys.prefix + "task/" + tc.name + "-before"
			// The first watch starts from now: write until it sees a change.
			for deadline := time.Now().Add(10 * time.Second); notified.Load() == 0; time.Sleep(50 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the first watch saw no change")
				}
				if err := store.Put(ctx, e.st, before, 1); err != nil {
					t.Fatal(err)
				}
			}
			close(f.fail)
			after := e.svc.keys.prefix + "task/" + tc.name + "-after"
			if err := store.Put(ctx, e.st, after, 2); err != nil {
				t.Fatal(err)
			}
			timeout := time.After(10 * time.Second)
			for seen := false; !seen; {
				select {
				case k := <-f.seen:
					seen = k == after
				case <-timeout:
					t.Fatalf("the change made after the watch ended was not seen; watches opened from %v", f.froms())
				}
			}
			if froms := f.froms(); len(froms) < 2 || froms[1] == 0 {
				t.Errorf("watches opened from %v, want a second one resuming from a revision", froms)
			}
			cancel()
			select {
			case n := <-returned:
				if n < 2 {
					t.Errorf("watchChanges opened %d watches, want at least 2", n)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("watchChanges did not return after its context ended")
			}
		})
	}
}
