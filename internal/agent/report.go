package agent

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func (a *Agent) kickReporter() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// markAllDirty forces every task's state to be sent again.
func (a *Agent) markAllDirty() {
	a.mu.Lock()
	for _, t := range a.tasks {
		t.dirty, t.reported = true, ""
	}
	a.mu.Unlock()
	a.kickReporter()
}

// reportLoop sends task state changes with SubmitTaskStateChange, retrying
// until the server acknowledges them.
func (a *Agent) reportLoop(ctx context.Context) {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.kick:
		case <-tick.C:
		}
		a.reportDirty(ctx)
	}
}

func (a *Agent) reportDirty(ctx context.Context) {
	type pending struct {
		t   *task
		in  *ecs.SubmitTaskStateChangeInput
		sig string
	}
	var work []pending
	a.mu.Lock()
	for _, t := range a.tasks {
		if !t.dirty {
			continue
		}
		in := a.stateChange(t)
		b, _ := json.Marshal(in)
		if string(b) == t.reported {
			t.dirty = false
			continue
		}
		work = append(work, pending{t, in, string(b)})
	}
	a.mu.Unlock()
	for _, w := range work {
		_, err := a.ecs.SubmitTaskStateChange(ctx, w.in)
		var ipe *ecstypes.InvalidParameterException
		if err != nil && !errors.As(err, &ipe) {
			a.log.Warn("submit task state change failed; will retry", "task", w.t.arn, "err", err)
			continue
		}
		if err != nil {
			a.log.Warn("server rejected task state change; dropping it", "task", w.t.arn, "err", err)
		}
		a.mu.Lock()
		w.t.reported = w.sig
		if b, _ := json.Marshal(a.stateChange(w.t)); string(b) == w.sig {
			w.t.dirty = false
		}
		a.mu.Unlock()
	}
}

// stateChange renders a task's current state; callers hold a.mu.
func (a *Agent) stateChange(t *task) *ecs.SubmitTaskStateChangeInput {
	in := &ecs.SubmitTaskStateChangeInput{
		Cluster: aws.String(a.cfg.Cluster), Task: aws.String(t.arn), Status: aws.String(t.status),
	}
	if t.reason != "" && t.status == statusStopped {
		in.Reason = aws.String(t.reason)
	}
	if !t.pullStartedAt.IsZero() {
		in.PullStartedAt = aws.Time(t.pullStartedAt)
	}
	if !t.pullStoppedAt.IsZero() {
		in.PullStoppedAt = aws.Time(t.pullStoppedAt)
	}
	if !t.stoppedAt.IsZero() {
		in.ExecutionStoppedAt = aws.Time(t.stoppedAt)
	}
	for _, c := range t.containers {
		cs := ecstypes.ContainerStateChange{ContainerName: aws.String(c.name), Status: aws.String(c.status)}
		if c.id != "" {
			cs.RuntimeId = aws.String(c.id)
		}
		if c.exitCode != nil {
			cs.ExitCode = aws.Int32(int32(*c.exitCode))
		}
		if c.reason != "" {
			cs.Reason = aws.String(c.reason)
		}
		for _, p := range c.bindings {
			if strings.Contains(p.HostIP, ":") {
				continue // Docker reports each binding per address family; ECS lists IPv4 only
			}
			bindIP := p.HostIP // an EC2 instance's address, or all of them
			if bindIP == "" {
				bindIP = "0.0.0.0"
			}
			cs.NetworkBindings = append(cs.NetworkBindings, ecstypes.NetworkBinding{
				BindIP: aws.String(bindIP), ContainerPort: aws.Int32(int32(p.ContainerPort)),
				HostPort: aws.Int32(int32(p.HostPort)), Protocol: ecstypes.TransportProtocol(p.Protocol),
			})
		}
		in.Containers = append(in.Containers, cs)
	}
	return in
}
