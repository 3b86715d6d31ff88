package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLeasedPut(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	lease, err := s.Grant(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, NewTxn().PutLeased("/l/a", counter{N: 1}, lease).PutLeased("/l/b", counter{}, lease).Put("/l/kept", counter{})); err != nil {
		t.Fatal(err)
	}
	if it, err := Get[counter](ctx, s, "/l/a"); err != nil || it.Value.N != 1 {
		t.Fatalf("leased key = %+v, %v", it, err)
	}
	if err := s.Revoke(ctx, lease); err != nil {
		t.Fatal(err)
	}
	keys, _ := s.Keys(ctx, "/l/")
	if len(keys) != 1 || keys[0] != "/l/kept" {
		t.Fatalf("after revoke: %v", keys)
	}
}

func TestSessionElection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := openTest(t)
	a, err := s.NewSession(ctx, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.NewSession(ctx, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ea, eb := a.NewElection("/elect/"), b.NewElection("/elect/")
	if _, err := ea.Leader(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("leader before any campaign: %v", err)
	}
	if err := ea.Campaign(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if l, err := eb.Leader(ctx); err != nil || l != "a" {
		t.Fatalf("leader = %q, %v", l, err)
	}
	// A session's keys go with it.
	if err := s.Commit(ctx, NewTxn().PutLeased("/sess/a", counter{}, a.Lease())); err != nil {
		t.Fatal(err)
	}
	won := make(chan error, 1)
	go func() { won <- eb.Campaign(ctx, "b") }()
	select {
	case err := <-won:
		t.Fatalf("b won while a leads: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	// Writes fenced on a's leadership hold while it leads, not after.
	fenced := WithFence(ctx, ea.Key(), ea.Rev())
	if err := Put(fenced, s, "/fenced", counter{}); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.Done():
	case <-ctx.Done():
		t.Fatal("a closed session is not done")
	}
	if err := <-won; err != nil {
		t.Fatal(err)
	}
	if l, _ := eb.Leader(ctx); l != "b" {
		t.Fatalf("leader after a closed = %q", l)
	}
	if ok, _ := s.Exists(ctx, "/sess/a"); ok {
		t.Error("a key of a closed session is still there")
	}
	if err := Put(fenced, s, "/fenced", counter{}); !errors.Is(err, ErrFenced) {
		t.Errorf("fenced write after losing = %v, want ErrFenced", err)
	}
	if err := eb.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.Leader(ctx); !errors.Is(err, ErrNotFound) {
		t.Errorf("leader after resign: %v", err)
	}
}
