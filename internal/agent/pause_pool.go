package agent

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/agent/dockerrt"
)

// An awsvpc task's first container is its pause container, which holds
// the task's network namespace and interface, and Docker takes as long to
// start it as to start the task's own container. So an instance that gives
// tasks interfaces keeps a few pause containers started ahead: spares. A
// task takes one, renamed to its pause container's name, and the pool
// starts another shortly after. A spare holds nothing of a task's until a
// task takes it: no interface, no control group of the task's (it stays in
// the instance's, which the pause process does not use), no DNS servers
// (a task whose interface names some gets a pause container of its own).

const (
	// pauseSpare is labelPause's value on a spare; a taken spare keeps
	// it (Docker cannot change labels) and is known by its name.
	pauseSpare = "spare"
	// spareNamePrefix starts a spare's name while it waits.
	spareNamePrefix = "berth-pause-spare-"
	// refillDelay is how long the pool waits after a take before it
	// starts a spare, so as not to compete with the starting task for
	// Docker; takes within it are refilled together.
	refillDelay = time.Second
	// defaultPausePool and maxPausePool bound Config.PausePool.
	defaultPausePool, maxPausePool = 2, 32
)

// pausePool keeps Config.PausePool spares started.
type pausePool struct {
	size int
	rt   Runtime
	// spec is a new spare's container spec, but for its name.
	spec func(ctx context.Context) (dockerrt.ContainerSpec, error)
	log  *slog.Logger

	mu     sync.Mutex
	spares []string // started spares' ids, oldest first
	taken  chan struct{}
}

func newPausePool(size int, rt Runtime, spec func(context.Context) (dockerrt.ContainerSpec, error)) *pausePool {
	return &pausePool{size: size, rt: rt, spec: spec, log: slog.Default(), taken: make(chan struct{}, 1)}
}

// take renames a started spare to name and returns it; ok is false when
// no spare is ready, and the caller starts a pause container itself.
func (p *pausePool) take(ctx context.Context, name string) (st dockerrt.State, ok bool) {
	if p == nil {
		return st, false
	}
	for {
		p.mu.Lock()
		if len(p.spares) == 0 {
			p.mu.Unlock()
			return st, false
		}
		id := p.spares[0]
		p.spares = p.spares[1:]
		p.mu.Unlock()
		select {
		case p.taken <- struct{}{}:
		default:
		}
		// A spare that died (Docker restarted, someone removed it) is
		// dropped and the next one tried.
		st, err := p.rt.Inspect(ctx, id)
		if err == nil && st.Running && st.Pid != 0 {
			if err = p.rt.Rename(ctx, id, name); err == nil {
				st.Name = name
				return st, true
			}
		}
		p.log.Warn("dropping a spare pause container", "container", id, "err", err)
		p.rt.Remove(ctx, id)
		if dockerrt.IsConflict(err) {
			return st, false // the task's own is there already
		}
	}
}

// run takes the spares a previous agent left, then keeps the pool full
// until ctx ends: at once, and refillDelay after each take.
func (p *pausePool) run(ctx context.Context) {
	p.adopt(ctx)
	for {
		p.fill(ctx)
		select {
		case <-ctx.Done():
			return
		case <-p.taken:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(refillDelay):
		}
	}
}

// adopt takes the running spares of this instance's last agent, up to the
// pool's size, and removes the rest.
func (p *pausePool) adopt(ctx context.Context) {
	spec, err := p.spec(ctx)
	if err != nil {
		p.log.Warn("pause container pool", "err", err)
		return
	}
	states, err := p.rt.List(ctx, map[string]string{labelInstance: spec.Labels[labelInstance], labelPause: pauseSpare})
	if err != nil {
		p.log.Warn("pause container pool: list spares", "err", err)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, st := range states {
		if !strings.HasPrefix(st.Name, spareNamePrefix) {
			continue // taken by a task: the task's hook removes it
		}
		if st.Running && st.Pid != 0 && len(p.spares) < p.size {
			p.spares = append(p.spares, st.ID)
			continue
		}
		p.rt.Remove(ctx, st.ID)
	}
}

// fill starts spares until the pool is full; a failure is logged and
// tried again after the next take.
func (p *pausePool) fill(ctx context.Context) {
	for ctx.Err() == nil {
		p.mu.Lock()
		full := len(p.spares) >= p.size
		p.mu.Unlock()
		if full {
			return
		}
		id, err := p.start(ctx)
		if err != nil {
			if ctx.Err() == nil {
				p.log.Warn("pause container pool: start a spare", "err", err)
			}
			return
		}
		p.mu.Lock()
		p.spares = append(p.spares, id)
		p.mu.Unlock()
	}
}

func (p *pausePool) start(ctx context.Context) (string, error) {
	spec, err := p.spec(ctx)
	if err != nil {
		return "", err
	}
	spec.Name = spareNamePrefix + randomHex(6)
	id, err := p.rt.Create(ctx, spec)
	if err != nil {
		return "", err
	}
	if err := p.rt.Start(ctx, id); err != nil {
		p.rt.Remove(ctx, id)
		return "", err
	}
	return id, nil
}
