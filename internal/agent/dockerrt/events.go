package dockerrt

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
)

// Event actions delivered by Events.
const (
	ActionStart        = "start"         // the container started
	ActionDie          = "die"           // the container's process exited (ExitCode is set)
	ActionOOM          = "oom"           // the kernel OOM killer hit the container
	ActionHealthStatus = "health_status" // the health status changed (Health is set)
	ActionDestroy      = "destroy"       // the container was removed
)

// Event is a container lifecycle event.
type Event struct {
	ID     string // container ID
	Name   string // container name
	Action string // one of the Action constants
	// Labels holds the event's attributes as Docker reports them: the
	// container's labels plus Docker's own keys such as "name", "image" and,
	// for "die", "exitCode".
	Labels   map[string]string
	ExitCode int    // for "die": the exit code
	Health   string // for "health_status": "healthy", "unhealthy" or "starting"
	Time     time.Time
}

// Events streams the start, die, oom, health_status and destroy events of the
// containers that carry the label labelKey (any value). The subscription is
// active when Events returns, so events of containers created afterwards are
// not missed.
//
// The event channel is closed when ctx is done or the stream fails; the
// error channel then yields the failure (nothing for a canceled ctx) and is
// closed too. Events does not reconnect; callers that need continuity
// resubscribe and reconcile with List.
func (r *Runtime) Events(ctx context.Context, labelKey string) (<-chan Event, <-chan error) {
	ctx, cancel := context.WithCancel(ctx)
	f := client.Filters{}
	f.Add("type", string(events.ContainerEventType))
	f.Add("event", ActionStart, ActionDie, ActionOOM, ActionHealthStatus, ActionDestroy)
	if labelKey != "" {
		f.Add("label", labelKey)
	}
	res := r.cli.Events(ctx, client.EventsListOptions{Filters: f})

	out := make(chan Event)
	errc := make(chan error, 1)
	go func() {
		defer cancel()
		defer close(errc)
		defer close(out)
		for {
			select {
			case m := <-res.Messages:
				select {
				case out <- toEvent(m):
				case <-ctx.Done():
					return
				}
			case err, ok := <-res.Err:
				if ok && err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
					errc <- err
				}
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, errc
}

func toEvent(m events.Message) Event {
	ev := Event{
		ID:     m.Actor.ID,
		Action: string(m.Action),
		Labels: m.Actor.Attributes,
		Name:   m.Actor.Attributes["name"],
	}
	// Docker reports health changes as "health_status: healthy".
	if action, status, ok := strings.Cut(ev.Action, ":"); ok && action == ActionHealthStatus {
		ev.Action = ActionHealthStatus
		ev.Health = strings.TrimSpace(status)
	}
	if ev.Action == ActionDie {
		ev.ExitCode, _ = strconv.Atoi(m.Actor.Attributes["exitCode"])
	}
	switch {
	case m.TimeNano != 0:
		ev.Time = time.Unix(0, m.TimeNano)
	case m.Time != 0:
		ev.Time = time.Unix(m.Time, 0)
	}
	return ev
}
