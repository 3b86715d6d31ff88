package controller

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berth-dev/berth/internal/store"
)

// Config configures a Runtime.
type Config struct {
	Store *store.Store
	// ElectionKey is the prefix under which the servers campaign.
	ElectionKey string
	// ID is what this server announces while it leads (its endpoint).
	ID string
	// LeaderTTL is the leader's lease: a leader that dies is replaced after
	// about this long (default 5s).
	LeaderTTL time.Duration
	// MinBackoff and MaxBackoff bound the wait before a failed controller
	// or campaign is tried again (defaults 500ms and 30s).
	MinBackoff, MaxBackoff time.Duration
	Log                    *slog.Logger
}

func (c *Config) defaults() {
	if c.LeaderTTL <= 0 {
		c.LeaderTTL = 5 * time.Second
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = 500 * time.Millisecond
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = max(c.MinBackoff, 30*time.Second)
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
}

// Runtime runs the registered controllers: the OnEvery ones for as long as
// Run runs, the OnLeader ones during each term this server leads.
type Runtime struct {
	cfg    Config
	leader atomic.Bool

	mu          sync.Mutex
	controllers []Controller
	running     bool
	// terms counts the terms won, for tests.
	terms atomic.Int64
	// session is the current campaign's session, for tests.
	session atomic.Pointer[store.Session]
}

// New returns a runtime with no controllers.
func New(cfg Config) *Runtime {
	cfg.defaults()
	return &Runtime{cfg: cfg}
}

// Register adds controllers; it must be called before Run.
func (r *Runtime) Register(cs ...Controller) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running {
		panic("controller: Register after Run")
	}
	r.controllers = append(r.controllers, cs...)
}

// Registered returns the controllers registered so far.
func (r *Runtime) Registered() []Controller {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Controller(nil), r.controllers...)
}

// IsLeader reports whether this server leads now: its OnLeader
// controllers are running.
func (r *Runtime) IsLeader() bool { return r.leader.Load() }

// Run campaigns for leadership and runs the controllers until ctx ends; it
// returns once every controller has returned.
func (r *Runtime) Run(ctx context.Context) {
	r.mu.Lock()
	r.running = true
	var every, leading []Controller
	for _, c := range r.controllers {
		if c.Scope == OnEvery {
			every = append(every, c)
		} else {
			leading = append(leading, c)
		}
	}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range every {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.supervise(ctx, c)
		}()
	}
	r.retry(ctx, "leader election", func() error { return r.lead(ctx, leading) })
	wg.Wait()
}

// lead campaigns once and, when elected, runs the leader controllers until
// the leadership or ctx ends. It returns why the term ended (nil when ctx
// ended).
func (r *Runtime) lead(ctx context.Context, leading []Controller) error {
	sess, err := r.cfg.Store.NewSession(ctx, r.cfg.LeaderTTL)
	if err != nil {
		return err
	}
	defer sess.Close()
	r.session.Store(sess)
	// The term ends with the session: its lease lost, the leader key is
	// gone and another server may already lead.
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-sess.Done():
			cancel()
		case <-lctx.Done():
		}
	}()
	el := sess.NewElection(r.cfg.ElectionKey)
	if err := el.Campaign(lctx, r.cfg.ID); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("campaign: %w", err)
	}
	r.terms.Add(1)
	r.leader.Store(true)
	r.cfg.Log.Info("this server leads the controllers", "id", r.cfg.ID)
	fenced := store.WithFence(lctx, el.Key(), el.Rev())
	var wg sync.WaitGroup
	for _, c := range leading {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.supervise(fenced, c)
		}()
	}
	<-lctx.Done()
	// Leadership is not reported gone before the controllers have
	// stopped, nor campaigned for again: two terms never overlap here.
	wg.Wait()
	r.leader.Store(false)
	if ctx.Err() != nil {
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer rcancel()
		_ = el.Resign(rctx) // closing the session frees the key anyway
		return nil
	}
	return fmt.Errorf("leadership lost")
}

// supervise runs c until ctx ends or c is done, retrying failures.
func (r *Runtime) supervise(ctx context.Context, c Controller) {
	r.retry(ctx, c.Scope.String()+" controller "+c.Name, func() error { return c.Run(ctx) })
}

// retry calls run until it returns nil or ctx ends, logging each failure
// and waiting a backoff that doubles up to MaxBackoff (and starts over
// after a run that lasted longer than MaxBackoff).
func (r *Runtime) retry(ctx context.Context, what string, run func() error) {
	for wait := r.cfg.MinBackoff; ; wait = min(2*wait, r.cfg.MaxBackoff) {
		start := time.Now()
		err := run()
		if err == nil || ctx.Err() != nil {
			return
		}
		if time.Since(start) > r.cfg.MaxBackoff {
			wait = r.cfg.MinBackoff
		}
		r.cfg.Log.Warn(what+" failed; retrying", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
