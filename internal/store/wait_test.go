package store

import (
	"context"
	"testing"
	"time"
)

// TestWaitChange: a change under any of the prefixes after the revision
// ends the wait at once; a change elsewhere, or none, waits out the
// timeout; an ended context ends it.
func TestWaitChange(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		key    string
		cancel bool
		long   bool
	}{
		{"change under the first prefix", "/a/x", false, false},
		{"change under the second prefix", "/b/x", false, false},
		{"change elsewhere", "/c/x", false, true},
		{"context ended", "", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, rev, err := ListRev[string](ctx, s, "/")
			if err != nil {
				t.Fatal(err)
			}
			wctx, cancel := context.WithCancel(ctx)
			defer cancel()
			if tc.key != "" {
				if err := Put(ctx, s, tc.key, "v"); err != nil {
					t.Fatal(err)
				}
			}
			if tc.cancel {
				cancel()
			}
			start := time.Now()
			s.WaitChange(wctx, rev, time.Second, "/a/", "/b/")
			took := time.Since(start)
			if tc.long != (took >= time.Second) || took > 3*time.Second {
				t.Fatalf("waited %v", took)
			}
		})
	}
}
