package controller

import (
	"context"
	"time"
)

// Scope says where a controller runs.
type Scope int

const (
	// OnLeader controllers run only while this server leads; their context
	// ends when leadership is lost, and they start again when it is won
	// again. Their writes are fenced on the leadership.
	OnLeader Scope = iota
	// OnEvery controllers run on every server for its whole life.
	OnEvery
)

func (s Scope) String() string {
	if s == OnEvery {
		return "every"
	}
	return "leader"
}

// Controller is one named background loop. Run works until ctx ends and
// then returns; an error before that is logged and Run is called again
// after a backoff; a nil return before ctx ends means the work is done
// (for a leader controller: done for this term of leadership).
type Controller struct {
	Name  string
	Scope Scope
	Run   func(ctx context.Context) error
}

// Leader returns a controller that runs only on the leader.
func Leader(name string, run func(ctx context.Context) error) Controller {
	return Controller{Name: name, Scope: OnLeader, Run: run}
}

// Every returns a controller that runs on every server.
func Every(name string, run func(ctx context.Context) error) Controller {
	return Controller{Name: name, Scope: OnEvery, Run: run}
}

// Periodic turns a single pass into a loop: pass runs at once and then
// every interval until ctx ends. A failed pass is reported by the returned
// function (so the runtime logs it and retries after its backoff) unless
// ctx has ended meanwhile.
func Periodic(interval time.Duration, pass func(ctx context.Context) error) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if err := pass(ctx); err != nil && ctx.Err() == nil {
				return err
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	}
}
