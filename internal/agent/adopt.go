package agent

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/berth-dev/berth/internal/acs"
	"github.com/berth-dev/berth/internal/agent/dockerrt"
)

// adopt rebuilds the task table from the containers this instance created
// before a restart, so running containers are kept, not started again.
func (a *Agent) adopt(ctx context.Context) error {
	states, err := a.rt.List(ctx, map[string]string{labelInstance: a.instanceArn})
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, st := range states {
		if st.Labels[labelPause] != "" {
			continue // a task's pause container: the task ENI hook's
		}
		arn := st.Labels[labelTaskArn]
		t, ok := a.tasks[arn]
		if !ok {
			t = &task{arn: arn, family: st.Labels[labelFamily], version: st.Labels[labelVersion], status: statusRunning,
				def: a.loadTaskDef(arn), dirty: true, wake: make(chan struct{}, 1)}
			a.tasks[arn] = t
		}
		stop, _ := time.ParseDuration(st.Labels[labelStopTimeout])
		if stop == 0 {
			stop = a.cfg.StopTimeout
		}
		essential, _ := strconv.ParseBool(st.Labels[labelEssential])
		c := &container{name: st.Labels[labelContainerName], dockerName: st.Name, id: st.ID, essential: essential,
			stopTimeout: stop, status: statusPending, bindings: st.Ports, health: st.Health}
		if t.def != nil {
			if i := slices.IndexFunc(t.def.Containers, func(cd acs.Container) bool { return cd.Name == c.name }); i >= 0 {
				c.def, c.essential = &t.def.Containers[i], t.def.Containers[i].Essential
			}
		}
		switch {
		case st.Running:
			c.status = statusRunning
		case !st.FinishedAt.IsZero():
			code := st.ExitCode
			c.status, c.exitCode = statusStopped, &code
		default:
			t.status = statusPending // created but never started
		}
		t.containers = append(t.containers, c)
		var opts awslogsOptions
		if label := st.Labels[labelAWSLogs]; label != "" && json.Unmarshal([]byte(label), &opts) == nil {
			// Runs once adopt has released the lock.
			go a.shipLogs(ctx, arn, c.name, c.id, opts)
		}
	}
	for _, t := range a.tasks {
		a.log.Info("adopted task from Docker", "task", t.arn, "containers", len(t.containers), "status", t.status)
		go a.runTask(ctx, t)
	}
	return nil
}

// watchDocker wakes a task when Docker reports one of its containers
// starting, dying or changing health.
func (a *Agent) watchDocker(ctx context.Context) {
	for ctx.Err() == nil {
		events, errs := a.rt.Events(ctx, labelTaskArn)
		for ev := range events {
			if ev.Labels[labelInstance] != a.instanceArn {
				continue
			}
			a.mu.Lock()
			t := a.tasks[ev.Labels[labelTaskArn]]
			a.mu.Unlock()
			if t != nil && (ev.Action == dockerrt.ActionDie || ev.Action == dockerrt.ActionHealthStatus || ev.Action == dockerrt.ActionOOM) {
				t.poke()
			}
		}
		if err := <-errs; err != nil {
			a.log.Warn("docker event stream ended; resubscribing", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
