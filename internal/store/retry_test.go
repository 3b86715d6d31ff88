package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestRetryPolicy(t *testing.T) {
	other := errors.New("other")
	p := RetryPolicy{Attempts: 5, Base: time.Millisecond, Max: 4 * time.Millisecond}
	for _, tc := range []struct {
		name      string
		errs      []error // what successive calls return; then nil
		wantCalls int
		want      error
	}{
		{"success at once", nil, 1, nil},
		{"after conflicts", []error{ErrConflict, ErrConflict}, 3, nil},
		{"other error stops", []error{ErrConflict, other}, 2, other},
		{"wrapped conflict retried", []error{errors.Join(errors.New("x"), ErrConflict)}, 2, nil},
		{"bounded", []error{ErrConflict, ErrConflict, ErrConflict, ErrConflict, ErrConflict, ErrConflict}, 5, ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			err := p.Do(context.Background(), func() error {
				calls++
				if calls <= len(tc.errs) {
					return tc.errs[calls-1]
				}
				return nil
			})
			if calls != tc.wantCalls || !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("%d calls, %v; want %d, %v", calls, err, tc.wantCalls, tc.want)
			}
		})
	}
	t.Run("context ends the pauses", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		slow := RetryPolicy{Attempts: 100, Base: time.Hour, Max: time.Hour}
		calls := 0
		err := slow.Do(ctx, func() error { calls++; cancel(); return ErrConflict })
		if calls != 1 || !errors.Is(err, context.Canceled) {
			t.Fatalf("%d calls, %v", calls, err)
		}
	})
}

// TestRetryConcurrentWriters: writers racing on one key all land under the
// default policy.
func TestRetryConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	putAll(t, s, "/race")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- Retry(ctx, func() error {
				it, err := Get[counter](ctx, s, "/race")
				if err != nil {
					return err
				}
				it.Value.N++
				return s.Commit(ctx, NewTxn().IfRev(it.Key, it.Rev).Put(it.Key, it.Value))
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if it, _ := Get[counter](ctx, s, "/race"); it.Value.N != 16 {
		t.Fatalf("N = %d, want 16", it.Value.N)
	}
}
