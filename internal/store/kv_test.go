package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
)

func putAll(t *testing.T, s *Store, keys ...string) {
	t.Helper()
	for i, k := range keys {
		if err := Put(context.Background(), s, k, counter{N: i}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestExistsCountRevisions(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	putAll(t, s, "/r/a", "/r/b", "/r/b/c", "/rx")
	for _, tc := range []struct {
		key  string
		want bool
	}{{"/r/a", true}, {"/r/b/c", true}, {"/r/", false}, {"/r/z", false}} {
		if got, err := s.Exists(ctx, tc.key); err != nil || got != tc.want {
			t.Errorf("Exists(%s) = %v, %v; want %v", tc.key, got, err, tc.want)
		}
	}
	for prefix, want := range map[string]int64{"/r/": 3, "/r/b": 2, "/none/": 0, "/r": 4} {
		if got, err := s.Count(ctx, prefix); err != nil || got != want {
			t.Errorf("Count(%s) = %d, %v; want %d", prefix, got, err, want)
		}
	}
	a, _ := Get[counter](ctx, s, "/r/a")
	b, _ := Get[counter](ctx, s, "/r/b")
	if rev, err := s.Revision(ctx, "/r/a"); err != nil || rev != a.Rev {
		t.Errorf("Revision(/r/a) = %d, %v; want %d", rev, err, a.Rev)
	}
	// More keys than one transaction carries, absent ones reading 0.
	keys := []string{"/r/b", "/nothing", "/r/a"}
	for len(keys) < s.MaxTxnOps()+3 {
		keys = append(keys, fmt.Sprintf("/absent/%d", len(keys)))
	}
	revs, err := s.Revisions(ctx, keys)
	if err != nil || len(revs) != len(keys) || revs[0] != b.Rev || revs[1] != 0 || revs[2] != a.Rev || revs[len(revs)-1] != 0 {
		t.Fatalf("Revisions = %v (len %d), %v", revs[:3], len(revs), err)
	}
	now, err := s.CurrentRev(ctx)
	if err != nil || now < b.Rev {
		t.Fatalf("CurrentRev = %d, %v; want at least %d", now, err, b.Rev)
	}
	putAll(t, s, "/r/a")
	if later, _ := s.CurrentRev(ctx); later != now+1 {
		t.Errorf("CurrentRev after a write = %d, want %d", later, now+1)
	}
}

func TestKeysAfter(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	putAll(t, s, "/p/a", "/p/b", "/p/c", "/p/d", "/p/e", "/q")
	var got []string
	after := ""
	for range 10 {
		keys, more, err := s.KeysAfter(ctx, "/p/", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, keys...)
		if !more {
			break
		}
		after = keys[len(keys)-1]
		if after == "/p/b" {
			// Written and deleted between pages: the next page resumes
			// after /p/b whatever changed before it.
			putAll(t, s, "/p/0", "/p/bb")
			if err := s.Commit(ctx, NewTxn().Delete("/p/a")); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := []string{"/p/a", "/p/b", "/p/bb", "/p/c", "/p/d", "/p/e"}
	if !slices.Equal(got, want) {
		t.Fatalf("pages = %v, want %v", got, want)
	}
	if keys, more, err := s.KeysAfter(ctx, "/p/", "", 0); err != nil || more || len(keys) != 6 {
		t.Fatalf("no limit = %v, %v, %v", keys, more, err)
	}
}

func TestDeletePrefix(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	putAll(t, s, "/d/a", "/d/a/b", "/d/ab", "/d/b")
	if n, err := s.DeletePrefix(ctx, "/d/a/"); err != nil || n != 1 {
		t.Fatalf("DeletePrefix = %d, %v", n, err)
	}
	if err := s.Commit(ctx, NewTxn().DeletePrefix("/d/a").Put("/d/new", counter{})); err != nil {
		t.Fatal(err)
	}
	keys, _ := s.Keys(ctx, "/d/")
	if !slices.Equal(keys, []string{"/d/b", "/d/new"}) {
		t.Fatalf("left %v", keys)
	}
	if _, err := s.DeletePrefix(ctx, ""); err == nil {
		t.Error("DeletePrefix of everything was accepted")
	}
	if err := s.Commit(ctx, NewTxn().DeletePrefix("")); err == nil {
		t.Error("Txn.DeletePrefix of everything was accepted")
	}
	if keys, _ := s.Keys(ctx, "/d/"); len(keys) != 2 {
		t.Fatalf("an empty prefix deleted %v", keys)
	}
}

func TestIfExists(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	putAll(t, s, "/e/here")
	if err := s.Commit(ctx, NewTxn().IfExists("/e/gone").Put("/e/x", counter{})); !errors.Is(err, ErrConflict) {
		t.Fatalf("IfExists of an absent key = %v, want ErrConflict", err)
	}
	if ok, _ := s.Exists(ctx, "/e/x"); ok {
		t.Fatal("a failed condition wrote")
	}
	if err := s.Commit(ctx, NewTxn().IfExists("/e/here").Delete("/e/here")); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, NewTxn().IfExists("/e/here").Delete("/e/here")); !errors.Is(err, ErrConflict) {
		t.Fatalf("second delete = %v, want ErrConflict", err)
	}
}

func TestCommitChunked(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	n := 2*s.MaxTxnOps() + 5
	var ops []func(*Txn)
	for i := range n {
		ops = append(ops, func(tx *Txn) { tx.Put(fmt.Sprintf("/c/%04d", i), counter{N: i}) })
	}
	chunks := 0
	always := func(tx *Txn) { chunks++; tx.Put("/c-marker", counter{N: chunks}) }
	if err := s.CommitChunked(ctx, ops, always); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Count(ctx, "/c/"); c != int64(n) {
		t.Fatalf("wrote %d keys, want %d", c, n)
	}
	// Each chunk carried the marker within the limit: MaxTxnOps-1 writes
	// plus the marker each.
	if want := (n + s.MaxTxnOps() - 2) / (s.MaxTxnOps() - 1); chunks != want {
		t.Fatalf("%d chunks, want %d", chunks, want)
	}
	// Nothing to write: no transaction, not even the marker.
	if err := s.CommitChunked(ctx, nil, always); err != nil || chunks != 3 {
		t.Fatalf("no ops: %v, %d chunks", err, chunks)
	}
	// A failing condition stops at that chunk.
	fail := func(tx *Txn) { tx.IfAbsent("/c/0000") }
	if err := s.CommitChunked(ctx, ops[:1], fail); !errors.Is(err, ErrConflict) {
		t.Fatalf("conflicting chunk = %v", err)
	}
}
