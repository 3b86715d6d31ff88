package ecs

import (
	"context"
	"slices"

	"github.com/berth-dev/berth/internal/placement"
	"github.com/berth-dev/berth/internal/store"
)

// Fargate Spot. FARGATE_SPOT tasks run on their cluster's Fargate host
// beside FARGATE ones, on room Berth takes back when it needs it: when a
// FARGATE task finds no room on the host, it waits in PROVISIONING and
// the leader interrupts Spot tasks, the most recently started first (they
// have done the least work), until the room they free, with that of Spot
// tasks already stopping, fits it. Spot tasks are never interrupted for
// one another, nor when all of them together would not make room.
//
// An interrupted task stops as on AWS: stop code SpotInterruption and
// AWS's reason; its containers get SIGTERM, then their stopTimeout (at
// most 120 s: AWS's two-minute warning) before SIGKILL. Its room is the
// waiting task's once it has stopped.

const (
	fargateSpotProvider = "FARGATE_SPOT"
	stopCodeSpot        = "SpotInterruption"
	spotReason          = "Your Spot Task was interrupted."
)

// spotTask reports whether a task of a Fargate host is a live Spot task
// that may be interrupted.
func spotTask(rec *taskRecord, host string) bool {
	return rec.Fargate && rec.InstanceID == host && rec.Task.CapacityProviderName == fargateSpotProvider &&
		rec.Task.DesiredStatus == "RUNNING" && rec.Task.LastStatus != "STOPPED"
}

// spotRoom is the room the host's Spot tasks hold (CPU units, MiB):
// interruptible and already stopping for an interruption.
func spotRoom(tasks []store.Item[taskRecord], host string) (live, stopping reservation) {
	for _, it := range tasks {
		r := &it.Value
		switch {
		case spotTask(r, host):
			live.CPU += r.Reservation.CPU
			live.Memory += r.Reservation.Memory
		case r.Fargate && r.InstanceID == host && r.Task.StopCode == stopCodeSpot && r.Task.LastStatus != "STOPPED":
			stopping.CPU += r.Reservation.CPU
			stopping.Memory += r.Reservation.Memory
		}
	}
	return live, stopping
}

// fits reports whether room (what the host has free, and what is being
// freed for it) holds a task that needs req.
func fits(free placement.Instance, more reservation, req placement.Request) bool {
	return free.CPU+more.CPU >= req.CPU && free.Memory+more.Memory >= req.Memory
}

// spotPass makes room for the FARGATE tasks one provisioning pass could
// not place, by interrupting the host's Spot tasks.
type spotPass struct {
	tasks       []store.Item[taskRecord] // the cluster's tasks as the pass read them
	interrupted map[string]bool          // by this pass
	pledged     reservation              // freed room promised to earlier waiting tasks of the pass
}

// makeRoom interrupts as few Spot tasks of host as make room for req
// beside free, the host's free room now; nothing when Spot tasks cannot
// make it.
func (p *spotPass) makeRoom(ctx context.Context, s *Service, host string, free placement.Instance, req placement.Request) error {
	live, stopping := spotRoom(p.tasks, host)
	var freeing reservation
	freeing.CPU = stopping.CPU - p.pledged.CPU
	freeing.Memory = stopping.Memory - p.pledged.Memory
	var candidates []*taskRecord
	for i := range p.tasks {
		r := &p.tasks[i].Value
		if p.interrupted[r.ID] {
			freeing.CPU += r.Reservation.CPU
			freeing.Memory += r.Reservation.Memory
			live.CPU -= r.Reservation.CPU
			live.Memory -= r.Reservation.Memory
		} else if spotTask(r, host) {
			candidates = append(candidates, r)
		}
	}
	all := freeing
	all.CPU += live.CPU
	all.Memory += live.Memory
	if !fits(free, all, req) {
		return nil // Spot tasks cannot make this room: the task waits for other room
	}
	// The most recently started first.
	slices.SortFunc(candidates, func(a, b *taskRecord) int { return b.Task.CreatedAt.Compare(a.Task.CreatedAt.Time) })
	for _, r := range candidates {
		if fits(free, freeing, req) {
			break
		}
		if _, err := s.requestStop(ctx, s.keys.task(r.Cluster, r.ID), stopCodeSpot, spotReason); err != nil {
			return err
		}
		p.interrupted[r.ID] = true
		freeing.CPU += r.Reservation.CPU
		freeing.Memory += r.Reservation.Memory
		s.log.Info("Fargate Spot task interrupted to make room", "task", r.Task.TaskArn, "cluster", r.Cluster)
	}
	// The room beyond what free holds is this task's: later waiting
	// tasks of the pass do not count on it.
	p.pledged.CPU += max(0, req.CPU-free.CPU)
	p.pledged.Memory += max(0, req.Memory-free.Memory)
	return nil
}

// spotCouldMakeRoom reports whether the live Spot tasks of the cluster's
// Fargate host, with free, could hold a task that needs req: a FARGATE
// task that finds no room then waits for them to be interrupted.
func spotCouldMakeRoom(tasks []store.Item[taskRecord], host string, free placement.Instance, req placement.Request) bool {
	live, stopping := spotRoom(tasks, host)
	live.CPU += stopping.CPU
	live.Memory += stopping.Memory
	return live.CPU > 0 && fits(free, live, req)
}

// waitForSpotRoom reports whether the Fargate tasks RunTask could not
// place (their providers, rest) are to wait for room that interrupting
// Spot tasks of the cluster's Fargate host (candidates[0], views[0]
// after the placement) would make: when none of them is a Spot task
// and the Spot tasks could make room for one.
func (s *Service) waitForSpotRoom(ctx context.Context, cluster string, candidates []*cachedInstance, views []placement.Instance, req placement.Request, rest []string) (bool, error) {
	if len(rest) == 0 || len(candidates) == 0 || slices.Contains(rest, fargateSpotProvider) {
		return false, nil
	}
	tasks, err := store.List[taskRecord](ctx, s.store, s.keys.tasks(cluster))
	if err != nil {
		return false, err
	}
	return spotCouldMakeRoom(tasks, candidates[0].rec.ID, views[0], req), nil
}
