package ec2host

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/agent"
	"github.com/berth-dev/berth/internal/agent/dockerrt"
)

// ProcessRunner runs each instance's agent as a `berth agent` process of
// this machine, restarted if it dies, as an init system would.
type ProcessRunner struct {
	// Command builds the agent process of an instance (its launch keys
	// and settings written where only it reads them).
	Command func(spec AgentSpec) (*exec.Cmd, error)
	// Docker removes a stopped instance's containers.
	Docker *dockerrt.Runtime
	Stderr io.Writer

	mu      sync.Mutex
	running map[string]*proc
}

type proc struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Start implements Runner.
func (p *ProcessRunner) Start(spec AgentSpec) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running == nil {
		p.running = map[string]*proc{}
	}
	if _, ok := p.running[spec.InstanceID]; ok {
		return nil
	}
	if _, err := p.Command(spec); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr := &proc{cancel: cancel, done: make(chan struct{})}
	p.running[spec.InstanceID] = pr
	go func() {
		defer close(pr.done)
		p.supervise(ctx, spec)
	}()
	return nil
}

func (p *ProcessRunner) supervise(ctx context.Context, spec AgentSpec) {
	for ctx.Err() == nil {
		c, err := p.Command(spec)
		if err == nil {
			err = c.Start()
		}
		if err != nil {
			fmt.Fprintf(p.Stderr, "berth: start the agent of %s: %v; retrying in 5s\n", spec.InstanceID, err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Second):
				continue
			}
		}
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		select {
		case <-ctx.Done():
			c.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				c.Process.Kill()
				<-done
			}
			return
		case err := <-done:
			fmt.Fprintf(p.Stderr, "berth: the agent of %s exited (%v); restarting in 1s\n", spec.InstanceID, err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}
}

// Stop implements Runner.
func (p *ProcessRunner) Stop(ctx context.Context, instanceID string) error {
	p.mu.Lock()
	pr := p.running[instanceID]
	delete(p.running, instanceID)
	p.mu.Unlock()
	if pr == nil {
		return nil
	}
	pr.cancel()
	select {
	case <-pr.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// StopAll stops every agent (the host is shutting down; the instances
// keep their states and their containers run on, adopted at the next
// start).
func (p *ProcessRunner) StopAll() {
	p.mu.Lock()
	ids := make([]string, 0, len(p.running))
	for id := range p.running {
		ids = append(ids, id)
	}
	p.mu.Unlock()
	for _, id := range ids {
		p.Stop(context.Background(), id)
	}
}

// RemoveContainers implements Runner.
func (p *ProcessRunner) RemoveContainers(ctx context.Context, instanceID string) error {
	if p.Docker == nil {
		return nil
	}
	list, err := p.Docker.List(ctx, map[string]string{agent.LabelEC2Instance: instanceID})
	if err != nil {
		return err
	}
	for _, c := range list {
		p.Docker.Stop(ctx, c.ID, 10*time.Second)
		if err := p.Docker.Remove(ctx, c.ID); err != nil {
			return fmt.Errorf("remove container %s of %s: %w", c.Name, instanceID, err)
		}
	}
	return nil
}
