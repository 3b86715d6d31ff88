package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

type counter struct{ N int }

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestGetPutList(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if _, err := Get[counter](ctx, s, "/k/a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get missing = %v, want ErrNotFound", err)
	}
	for i, k := range []string{"/k/b", "/k/a", "/other"} {
		if err := Put(ctx, s, k, counter{N: i}); err != nil {
			t.Fatal(err)
		}
	}
	items, err := List[counter](ctx, s, "/k/")
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].Key != "/k/a" || items[0].Value.N != 1 || items[1].Value.N != 0 {
		t.Fatalf("List = %+v", items)
	}
}

func TestGetMany(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	// More keys than one transaction may read, so GetMany must split them.
	var keys []string
	txn := NewTxn()
	for i := range s.MaxTxnOps() + 10 {
		k := fmt.Sprintf("/many/%04d", i)
		keys = append(keys, k)
		if i%3 != 0 {
			txn.Put(k, counter{N: i})
		}
		if txn.Len() == s.MaxTxnOps() {
			if err := s.Commit(ctx, txn); err != nil {
				t.Fatal(err)
			}
			txn = NewTxn()
		}
	}
	if err := s.Commit(ctx, txn); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		keys []string
	}{
		{"none", nil},
		{"all absent", []string{"/many/0000", "/nothing"}},
		{"in the order asked", []string{"/many/0005", "/many/0001", "/many/0004"}},
		{"beyond one transaction", keys},
	} {
		t.Run(tc.name, func(t *testing.T) {
			items, err := GetMany[counter](ctx, s, tc.keys)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, k := range tc.keys {
				var n int
				if _, err := fmt.Sscanf(k, "/many/%d", &n); err == nil && n%3 != 0 {
					want = append(want, k)
				}
			}
			if len(items) != len(want) {
				t.Fatalf("got %d items, want %d", len(items), len(want))
			}
			for i, it := range items {
				var n int
				fmt.Sscanf(it.Key, "/many/%d", &n)
				if it.Key != want[i] || it.Value.N != n || it.Rev == 0 {
					t.Fatalf("item %d = %+v, want key %s with N %d", i, it, want[i], n)
				}
			}
		})
	}
}

func TestTxnConditions(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if err := s.Commit(ctx, NewTxn().IfAbsent("/x").Put("/x", counter{1}).Put("/y", counter{2})); err != nil {
		t.Fatal(err)
	}
	// A second create must fail and write nothing, not even the other key.
	err := s.Commit(ctx, NewTxn().IfAbsent("/x").Put("/x", counter{9}).Put("/z", counter{9}))
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("second create = %v, want ErrConflict", err)
	}
	if _, err := Get[counter](ctx, s, "/z"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("partial write: /z exists (%v)", err)
	}
	it, _ := Get[counter](ctx, s, "/x")
	if err := s.Commit(ctx, NewTxn().IfRev("/x", it.Rev-1).Put("/x", counter{5})); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale revision = %v, want ErrConflict", err)
	}
}

// TestUpdateConcurrent proves read-modify-write loses no increment under contention.
func TestUpdateConcurrent(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if err := Put(ctx, s, "/c", counter{}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	const workers, each = 8, 10
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, err := Update(ctx, s, "/c", func(c *counter) error { c.N++; return nil }); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	it, _ := Get[counter](ctx, s, "/c")
	if it.Value.N != workers*each {
		t.Fatalf("counter = %d, want %d", it.Value.N, workers*each)
	}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := Put(ctx, s, "/keep", counter{42}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	it, err := Get[counter](ctx, s, "/keep")
	if err != nil || it.Value.N != 42 {
		t.Fatalf("after reopen: %+v, %v", it, err)
	}
}

func TestFencedCommit(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if err := Put(ctx, s, "/leader", "a"); err != nil {
		t.Fatal(err)
	}
	resp, err := s.Client().Get(ctx, "/leader")
	if err != nil {
		t.Fatal(err)
	}
	fenced := WithFence(ctx, "/leader", resp.Kvs[0].CreateRevision)
	if err := s.Commit(fenced, NewTxn().Put("/k", 1)); err != nil {
		t.Fatalf("commit under a held fence: %v", err)
	}
	// A plain conflict under a held fence is still a conflict.
	if err := s.Commit(fenced, NewTxn().IfAbsent("/k").Put("/k", 2)); !errors.Is(err, ErrConflict) {
		t.Fatalf("conflict under a held fence = %v, want ErrConflict", err)
	}
	// The leader key is re-created (another leader): the fence is lost.
	if _, err := s.Client().Delete(ctx, "/leader"); err != nil {
		t.Fatal(err)
	}
	if err := Put(ctx, s, "/leader", "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(fenced, NewTxn().Put("/k", 3)); !errors.Is(err, ErrFenced) {
		t.Fatalf("commit after losing the fence = %v, want ErrFenced", err)
	}
	if v, _ := Get[int](ctx, s, "/k"); v.Value != 1 {
		t.Fatalf("/k = %d after fenced writes, want 1", v.Value)
	}
}

func TestMirror(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	for i := range 300 {
		if err := Put(ctx, s, fmt.Sprintf("/m/%03d", i), counter{i}); err != nil {
			t.Fatal(err)
		}
	}
	Put(ctx, s, "/other", counter{-1})
	m := NewMirror[counter]("/m/")
	check := func(want map[string]int) {
		t.Helper()
		got, err := m.Sync(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		list, _ := List[counter](ctx, s, "/m/")
		if len(got) != len(want) || len(list) != len(got) {
			t.Fatalf("mirror has %d records, List %d, want %d", len(got), len(list), len(want))
		}
		for i, it := range got {
			if it.Key != list[i].Key || it.Rev != list[i].Rev || it.Value != list[i].Value || want[it.Key] != it.Value.N {
				t.Fatalf("record %d: mirror %+v, List %+v, want N=%d", i, it, list[i], want[it.Key])
			}
		}
	}
	want := map[string]int{}
	for i := range 300 {
		want[fmt.Sprintf("/m/%03d", i)] = i
	}
	check(want) // first sync: 300 keys fetched in batches of 128
	Put(ctx, s, "/m/007", counter{1007})
	s.Client().Delete(ctx, "/m/010")
	Put(ctx, s, "/m/999", counter{999})
	want["/m/007"], want["/m/999"] = 1007, 999
	delete(want, "/m/010")
	check(want)
	check(want) // nothing changed
}

// TestRequestProgressReachesIdleWatches: a watch with nothing to say under
// its prefix still learns, on request, that the store has moved on, so a
// watcher can tell it has seen everything up to now.
func TestRequestProgressReachesIdleWatches(t *testing.T) {
	s := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := s.Watch(ctx, "/idle/", 0)
	if err := Put(ctx, s, "/elsewhere", 1); err != nil {
		t.Fatal(err)
	}
	rev, err := s.CurrentRev(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(5 * time.Second)
	for {
		if err := s.RequestProgress(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case c := <-ch:
			if len(c.Events) != 0 || c.Err != nil {
				t.Fatalf("idle watch got %+v", c)
			}
			if c.Rev >= rev {
				return
			}
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no progress to revision %d within 5s", rev)
		}
	}
}
