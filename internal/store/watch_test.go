package store

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"
)

// next receives the next batch of changes within a bound.
func next(t *testing.T, ch <-chan Changes) Changes {
	t.Helper()
	select {
	case c, ok := <-ch:
		if !ok {
			t.Fatal("watch closed")
		}
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no change within 10s")
	}
	return Changes{}
}

func TestWatchFromRevision(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := openTest(t)
	putAll(t, s, "/w/a", "/w/b")
	items, rev, err := ListRev[counter](ctx, s, "/w/")
	if err != nil || len(items) != 2 {
		t.Fatalf("ListRev = %v, %v", items, err)
	}
	// Written after the read and before the watch: seen from rev+1.
	putAll(t, s, "/w/c")
	ch := s.Watch(ctx, "/w/", rev+1)
	if err := s.Commit(ctx, NewTxn().Delete("/w/a").Put("/other", counter{})); err != nil {
		t.Fatal(err)
	}
	var got []Event
	for len(got) < 2 {
		c := next(t, ch)
		if c.Err != nil {
			t.Fatal(c.Err)
		}
		got = append(got, c.Events...)
	}
	if len(got) != 2 || got[0].Key != "/w/c" || got[0].Delete || string(got[0].Value) != `{"N":0}` ||
		got[1].Key != "/w/a" || !got[1].Delete || got[1].Value != nil || got[1].Rev <= got[0].Rev {
		t.Fatalf("events = %+v", got)
	}
	cancel()
	for range ch {
	}
}

func TestWatchCompacted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := openTest(t)
	putAll(t, s, "/w/a", "/w/a", "/w/a")
	rev, _ := s.CurrentRev(ctx)
	if _, err := s.cli.Compact(ctx, rev); err != nil {
		t.Fatal(err)
	}
	ch := s.Watch(ctx, "/w/", rev-1)
	if c := next(t, ch); !errors.Is(c.Err, ErrCompacted) {
		t.Fatalf("watch from a compacted revision: %+v", c)
	}
	if _, ok := <-ch; ok {
		t.Fatal("watch goes on after its error")
	}
}

func TestListAtRevision(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	putAll(t, s, "/snap/a", "/snap/b")
	_, rev, err := ListRev[counter](ctx, s, "/snap/")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, NewTxn().Delete("/snap/a").Put("/snap/c", counter{N: 7})); err != nil {
		t.Fatal(err)
	}
	old, at, err := ListAt[counter](ctx, s, "/snap/", rev)
	if err != nil || len(old) != 2 || old[0].Key != "/snap/a" || old[1].Key != "/snap/b" || at <= rev {
		t.Fatalf("ListAt(%d) = %+v at %d, %v", rev, old, at, err)
	}
	keys, _, err := s.KeysAt(ctx, "/snap/", rev)
	if err != nil || !slices.Equal(keys, []string{"/snap/a", "/snap/b"}) {
		t.Fatalf("KeysAt(%d) = %v, %v", rev, keys, err)
	}
	now, nowRev, err := s.KeysAt(ctx, "/snap/", 0)
	if err != nil || !slices.Equal(now, []string{"/snap/b", "/snap/c"}) || nowRev != at {
		t.Fatalf("KeysAt(now) = %v at %d, %v", now, nowRev, err)
	}
	raw, _, err := ListAt[json.RawMessage](ctx, s, "/snap/c", 0)
	if err != nil || len(raw) != 1 || string(raw[0].Value) != `{"N":7}` {
		t.Fatalf("raw ListAt = %+v, %v", raw, err)
	}
}

func TestIfValueAndDone(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	lease, err := s.Grant(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, NewTxn().PutJSONLeased("/owner", []byte("conn-1"), lease)); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, NewTxn().IfValue("/owner", []byte("conn-2")).Delete("/owner")); !errors.Is(err, ErrConflict) {
		t.Fatalf("delete by another owner = %v, want ErrConflict", err)
	}
	if err := s.Commit(ctx, NewTxn().IfValue("/owner", []byte("conn-1")).Delete("/owner")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
		t.Fatal("an open store is done")
	default:
	}
	s.Close()
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a closed store is not done")
	}
}
