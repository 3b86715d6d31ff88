package agent

import (
	"context"
	"os"
	"time"

	"github.com/berth-dev/berth/internal/acs"
	"github.com/berth-dev/berth/internal/agent/dockerrt"
)

// Task states as the agent knows them.
const (
	statusPending = "PENDING"
	statusRunning = "RUNNING"
	statusStopped = "STOPPED"
)

// task is one ECS task on this instance. Fields are guarded by Agent.mu;
// the task's goroutine does the Docker work without holding it.
type task struct {
	arn           string
	family        string
	version       string
	desired       string    // RUNNING or STOPPED; "" while unknown (adopted, no payload yet)
	def           *acs.Task // latest payload; nil for adopted tasks until one arrives
	status        string
	reason        string
	containers    []*container
	pullStartedAt time.Time
	pullStoppedAt time.Time
	stoppedAt     time.Time
	// reported is the last state the server acknowledged; dirty means the
	// current state differs or must be re-sent.
	reported string
	dirty    bool
	wake     chan struct{}
}

// container is one container of a task.
type container struct {
	name        string
	dockerName  string
	id          string
	essential   bool
	stopTimeout time.Duration
	def         *acs.Container
	status      string // PENDING, RUNNING, STOPPED
	exitCode    *int
	reason      string
	bindings    []dockerrt.PortMapping
	health      string
}

func (t *task) container(name string) *container {
	for _, c := range t.containers {
		if c.name == name {
			return c
		}
	}
	return nil
}

func (t *task) poke() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// applyPayload merges tasks from a PayloadMessage and wakes their goroutines.
func (a *Agent) applyPayload(ctx context.Context, tasks []acs.Task) {
	for _, def := range a.mergePayload(ctx, tasks) {
		if err := a.saveTaskDef(def); err != nil {
			a.log.Warn("cannot record the task's definition; a restarted agent learns it from the next payload", "task", def.Arn, "err", err)
		}
	}
}

// mergePayload merges tasks into the task table and returns the payloads
// of the tasks that run here, to be recorded.
func (a *Agent) mergePayload(ctx context.Context, tasks []acs.Task) []*acs.Task {
	a.mu.Lock()
	defer a.mu.Unlock()
	defer a.kickReporter()
	var keep []*acs.Task
	for i := range tasks {
		p := tasks[i]
		t, known := a.tasks[p.Arn]
		if !known {
			if p.DesiredStatus == statusStopped {
				// Never ran here: confirm it stopped so the server can release it.
				t = &task{arn: p.Arn, family: p.Family, version: p.Version, status: statusStopped, desired: statusStopped,
					reason: "Task stopped before it started", stoppedAt: time.Now(), dirty: true, def: &p, wake: make(chan struct{}, 1)}
				for j := range p.Containers {
					t.containers = append(t.containers, a.newContainer(t, &p.Containers[j]))
				}
				a.tasks[p.Arn] = t
				go a.scheduleCleanup(ctx, t)
				a.kickReporter()
				continue
			}
			t = &task{arn: p.Arn, family: p.Family, version: p.Version, status: statusPending, wake: make(chan struct{}, 1)}
			a.tasks[p.Arn] = t
			go a.runTask(ctx, t)
		}
		t.def = &p
		keep = append(keep, &p)
		if t.desired != statusStopped {
			t.desired = p.DesiredStatus
		}
		for j := range p.Containers {
			cd := &p.Containers[j]
			if c := t.container(cd.Name); c != nil {
				c.def, c.essential = cd, cd.Essential
				c.stopTimeout = a.stopTimeout(cd)
			} else {
				t.containers = append(t.containers, a.newContainer(t, cd))
			}
		}
		t.dirty = true
		t.poke()
	}
	return keep
}

func (a *Agent) newContainer(t *task, cd *acs.Container) *container {
	return &container{name: cd.Name, dockerName: dockerName(t, cd.Name), essential: cd.Essential, def: cd,
		stopTimeout: a.stopTimeout(cd), status: statusPending}
}

func (a *Agent) stopTimeout(cd *acs.Container) time.Duration {
	if cd.StopTimeout > 0 {
		return time.Duration(cd.StopTimeout) * time.Second
	}
	return a.cfg.StopTimeout
}

// dockerName is deterministic so a restarted agent finds, rather than
// duplicates, a container it created before.
func dockerName(t *task, container string) string {
	return "ecs-" + t.family + "-" + t.version + "-" + container + "-" + lastSegment(t.arn)
}

// applyManifest stops local tasks the server no longer lists.
func (a *Agent) applyManifest(ctx context.Context, ids []acs.TaskIdentifier) {
	listed := map[string]bool{}
	for _, id := range ids {
		listed[id.TaskArn] = true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for arn, t := range a.tasks {
		if !listed[arn] && t.status != statusStopped && t.desired != statusStopped {
			a.log.Info("stopping task the cluster no longer assigns here", "task", arn)
			t.desired = statusStopped
			if t.reason == "" {
				t.reason = "Task is not assigned to this container instance"
			}
			t.poke()
		}
	}
}

// runTask drives one task to its desired state whenever it is woken.
func (a *Agent) runTask(ctx context.Context, t *task) {
	poll := time.NewTicker(defaultPollInterval)
	defer poll.Stop()
	for {
		a.reconcile(ctx, t)
		a.mu.Lock()
		stopped := t.status == statusStopped
		a.mu.Unlock()
		if stopped {
			a.scheduleCleanup(ctx, t)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.wake:
		case <-poll.C:
		}
	}
}

// reconcile moves a task one step towards its desired state.
func (a *Agent) reconcile(ctx context.Context, t *task) {
	a.mu.Lock()
	desired, status := t.desired, t.status
	a.mu.Unlock()
	switch {
	case desired == statusStopped:
		a.stopTask(ctx, t, "")
	case status == statusPending && desired == statusRunning:
		a.startTask(ctx, t)
	case status == statusRunning || status == statusPending:
		a.checkTask(ctx, t)
	}
}

// scheduleCleanup removes a stopped task's containers after the cleanup
// wait, runs the task hooks' Postrun and forgets the task.
func (a *Agent) scheduleCleanup(ctx context.Context, t *task) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(a.cfg.CleanupWait):
	}
	a.mu.Lock()
	def := t.def
	ids := make([]string, 0, len(t.containers))
	for _, c := range t.containers {
		if c.id != "" {
			ids = append(ids, c.id)
		}
	}
	a.mu.Unlock()
	for _, id := range ids {
		if err := a.rt.Remove(ctx, id); err != nil {
			a.log.Warn("remove container", "container", id, "err", err)
			continue
		}
		os.Remove(a.logPositionPath(id))
	}
	a.postrun(ctx, t, def)
	os.Remove(a.taskDefPath(t.arn))
	a.mu.Lock()
	delete(a.tasks, t.arn)
	a.mu.Unlock()
}

func lastSegment(s string) string {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return s[i+1:]
		}
	}
	return s
}
