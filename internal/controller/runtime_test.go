package controller

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/store"
)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// eventually polls cond for up to 15s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// server is one runtime with a leader and an every-server controller
// that count their runs and report whether they are running.
type server struct {
	rt                   *Runtime
	cancel               context.CancelFunc
	done                 chan struct{}
	leaderRuns, everyRun atomic.Int64
	leading, every       atomic.Bool
	// fenced is the context of the leader controller's latest run.
	mu     sync.Mutex
	fenced context.Context
}

func startServer(t *testing.T, st *store.Store, key, id string) *server {
	t.Helper()
	s := &server{done: make(chan struct{})}
	s.rt = New(Config{Store: st, ElectionKey: key, ID: id, LeaderTTL: time.Second, MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Log: quiet()})
	s.rt.Register(
		Leader("lead", func(ctx context.Context) error {
			s.leaderRuns.Add(1)
			s.mu.Lock()
			s.fenced = ctx
			s.mu.Unlock()
			s.leading.Store(true)
			<-ctx.Done()
			s.leading.Store(false)
			return nil
		}),
		Every("every", func(ctx context.Context) error {
			s.everyRun.Add(1)
			s.every.Store(true)
			<-ctx.Done()
			s.every.Store(false)
			return nil
		}))
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() {
		defer close(s.done)
		s.rt.Run(ctx)
	}()
	t.Cleanup(s.stop)
	return s
}

func (s *server) stop() {
	s.cancel()
	<-s.done
}

func TestLeadershipMovesBetweenServers(t *testing.T) {
	st := openStore(t)
	a := startServer(t, st, "/t/move/", "a")
	eventually(t, "a to lead", a.rt.IsLeader)
	b := startServer(t, st, "/t/move/", "b")
	eventually(t, "every-server controllers on both", func() bool { return a.every.Load() && b.every.Load() })
	time.Sleep(300 * time.Millisecond)
	if b.rt.IsLeader() || b.leaderRuns.Load() != 0 {
		t.Fatalf("b leads (%v) or ran leader controllers (%d) while a leads", b.rt.IsLeader(), b.leaderRuns.Load())
	}
	if !a.leading.Load() {
		t.Fatal("a leads but its leader controller is not running")
	}
	a.stop()
	if a.rt.IsLeader() || a.leading.Load() || a.every.Load() {
		t.Fatal("a's controllers outlive its runtime")
	}
	eventually(t, "b to lead after a stops", func() bool { return b.rt.IsLeader() && b.leading.Load() })
	if b.everyRun.Load() != 1 {
		t.Errorf("b's every-server controller ran %d times, want 1 (leadership does not restart it)", b.everyRun.Load())
	}
}

func TestLostLeadershipCancelsAndRestarts(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	a := startServer(t, st, "/t/lost/", "a")
	eventually(t, "a to lead", func() bool { return a.rt.IsLeader() && a.leading.Load() })
	a.mu.Lock()
	first := a.fenced
	a.mu.Unlock()
	if err := store.Put(first, st, "/t/lost-write", 1); err != nil {
		t.Fatalf("fenced write while leading: %v", err)
	}
	// The lease behind the leadership is lost (as when etcd is out of
	// reach past the TTL).
	if err := st.Revoke(ctx, a.rt.session.Load().Lease()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first term's context to end", func() bool { return first.Err() != nil })
	// Even a write that outlives the term's context is refused.
	if err := store.Put(context.WithoutCancel(first), st, "/t/lost-write", 2); !errors.Is(err, store.ErrFenced) {
		t.Errorf("write of a deposed term = %v, want ErrFenced", err)
	}
	eventually(t, "a to lead again", func() bool { return a.rt.terms.Load() == 2 && a.leading.Load() })
	if got := a.leaderRuns.Load(); got != 2 {
		t.Errorf("leader controller ran %d times, want 2 (once per term)", got)
	}
	if got := a.everyRun.Load(); got != 1 {
		t.Errorf("every-server controller ran %d times, want 1", got)
	}
}

func TestFailuresAreRetried(t *testing.T) {
	st := openStore(t)
	tests := []struct {
		name  string
		make  func(string, func(context.Context) error) Controller
		fails int64
	}{
		{"every", Every, 3},
		{"leader", Leader, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var runs atomic.Int64
			var done atomic.Bool
			rt := New(Config{Store: st, ElectionKey: "/t/retry/" + tc.name + "/", ID: "a", LeaderTTL: time.Second, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Log: quiet()})
			rt.Register(tc.make("flaky", func(ctx context.Context) error {
				if runs.Add(1) <= tc.fails {
					return errors.New("not yet")
				}
				done.Store(true)
				return nil // done: not called again
			}))
			ctx, cancel := context.WithCancel(context.Background())
			stopped := make(chan struct{})
			go func() {
				defer close(stopped)
				rt.Run(ctx)
			}()
			eventually(t, "the controller to succeed", done.Load)
			time.Sleep(200 * time.Millisecond)
			if got := runs.Load(); got != tc.fails+1 {
				t.Errorf("runs = %d, want %d", got, tc.fails+1)
			}
			cancel()
			select {
			case <-stopped:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after its context ended")
			}
		})
	}
}

func TestPeriodic(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var passes atomic.Int64
	boom := errors.New("boom")
	run := Periodic(10*time.Millisecond, func(context.Context) error {
		if passes.Add(1) == 3 {
			return boom
		}
		return nil
	})
	if err := run(ctx); !errors.Is(err, boom) {
		t.Fatalf("Periodic = %v, want the pass's error", err)
	}
	cancel()
	if err := run(ctx); err != nil {
		t.Fatalf("Periodic after the context ended = %v, want nil", err)
	}
}
