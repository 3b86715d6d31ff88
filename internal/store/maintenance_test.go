package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestCompactionAndDefrag writes many revisions of a few keys: the embedded
// member compacts the old ones on its own, an old revision can no longer be
// read, and Maintain then defragments the mostly free file smaller.
func TestCompactionAndDefrag(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Config{DataDir: t.TempDir(), CompactionRetention: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	value := strings.Repeat("x", 8<<10)
	var first int64
	for i := range 3000 {
		resp, err := s.cli.Put(ctx, fmt.Sprintf("/soak/%d", i%10), value)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = resp.Header.Revision
		}
	}
	before, err := s.Usage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The periodic compactor runs about every retention/10 and compacts
	// to the revision of a retention ago.
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := s.cli.Get(ctx, "/soak/0", clientv3.WithRev(first))
		if errors.Is(err, rpctypes.ErrCompacted) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revision %d still readable after 20s (err %v): history is not compacted", first, err)
		}
		// Keep writing so that there is a newer revision to compact to.
		if _, err := s.cli.Put(ctx, "/soak/tick", "t"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A compaction frees pages in the file without shrinking it; wait until
	// the member has released them. The first compaction may have stopped
	// part-way through the soak's revisions (it compacts to the revision
	// of a retention ago, which on a loaded machine can fall inside the
	// soak): keep moving the store on so that the compactor passes all of
	// them.
	var u DBUsage
	for deadline = time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if u, err = s.Usage(ctx); err != nil {
			t.Fatal(err)
		}
		if u.Size > 2*u.InUse || time.Now().After(deadline) {
			break
		}
		if _, err := s.cli.Put(ctx, "/soak/tick", "t"); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("before compaction: size %d in use %d; after: size %d in use %d", before.Size, before.InUse, u.Size, u.InUse)
	if u.Size <= 2*u.InUse {
		t.Fatalf("after compaction the file (%d) is not mostly free (in use %d)", u.Size, u.InUse)
	}
	// Not worth it below the minimum free size...
	if got, err := s.Maintain(ctx, u.Size); err != nil || got.Defragmented {
		t.Fatalf("Maintain with a minimum above the free space = %+v, %v; want no defragmentation", got, err)
	}
	got, err := s.Maintain(ctx, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Defragmented || got.Size >= u.Size/2 {
		t.Fatalf("Maintain = %+v; want a defragmented file under half of %d bytes", got, u.Size)
	}
	if resp, err := s.cli.Get(ctx, "/soak/3"); err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != value {
		t.Fatalf("after defrag, /soak/3 = %v, %v", resp, err)
	}
}
