package ecs

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/berth-dev/berth/internal/store"
)

// PlacementAudit is what VerifyPlacements read and what it found wrong.
type PlacementAudit struct {
	Instances, Tasks, Reservations int
	// Problems lists every violation found; empty means the cluster is sound.
	Problems []string
}

// VerifyPlacements reads every container instance and task of a cluster
// from the store, at one revision, and checks the invariants placement
// promises: each instance's recorded usage is exactly the sum of its live
// tasks' reservations, no instance holds more CPU or memory than it
// registered, no host port (TCP or UDP) is held twice on an instance, and
// every live task is on an instance of the cluster. It writes nothing.
func (s *Service) VerifyPlacements(ctx context.Context, cluster string) (PlacementAudit, error) {
	var audit PlacementAudit
	instances, rev, err := store.ListAt[instanceRecord](ctx, s.store, s.keys.instances(cluster), 0)
	if err != nil {
		return audit, fmt.Errorf("read instances: %w", err)
	}
	tasks, _, err := store.ListAt[taskRecord](ctx, s.store, s.keys.tasks(cluster), rev)
	if err != nil {
		return audit, fmt.Errorf("read tasks: %w", err)
	}
	problem := func(format string, args ...any) {
		audit.Problems = append(audit.Problems, fmt.Sprintf(format, args...))
	}
	live := map[string]taskRecord{}
	for _, it := range tasks {
		t := it.Value
		audit.Tasks++
		if t.Task.LastStatus != "STOPPED" && t.InstanceID != "" {
			live[t.ID] = t
		}
	}
	// What the live tasks hold, instance by instance.
	want := map[string]*usage{}
	owners := map[string]map[string]string{} // instance -> port -> task
	for id, t := range live {
		u := want[t.InstanceID]
		if u == nil {
			u, owners[t.InstanceID] = &usage{}, map[string]string{}
			want[t.InstanceID] = u
		}
		res := t.Reservation
		if res.CPU < 0 || res.Memory < 0 {
			problem("task %s reserves negative resources %+v", id, res)
		}
		for proto, list := range map[string][]int{"PORTS": res.Ports, "PORTS_UDP": res.PortsUDP} {
			for _, p := range list {
				k := fmt.Sprint(proto, p)
				if other, dup := owners[t.InstanceID][k]; dup {
					problem("instance %s: host port %d (%s) held by both %s and %s", t.InstanceID, p, proto, other, id)
				}
				owners[t.InstanceID][k] = id
			}
		}
		u.add(res)
		u.move(res, "PENDING", t.Task.LastStatus)
	}
	for _, it := range instances {
		r := it.Value
		audit.Instances++
		audit.Reservations += r.Usage.tasks()
		for _, proto := range []string{"PORTS", "PORTS_UDP"} {
			for _, p := range r.registeredPorts(proto) {
				if task, held := owners[r.ID][fmt.Sprint(proto, p)]; held {
					problem("instance %s: task %s holds host port %d (%s), which the instance reserves", r.ID, task, p, proto)
				}
			}
		}
		u := want[r.ID]
		delete(want, r.ID)
		if u == nil {
			u = &usage{}
		}
		if !sameUsage(&r.Usage, u) {
			problem("instance %s records usage %+v, but its live tasks hold %+v", r.ID, r.Usage, *u)
		}
		if r.Usage.CPU > r.registered("CPU") || r.Usage.Memory > r.registered("MEMORY") {
			problem("instance %s over-committed: cpu %d/%d memory %d/%d", r.ID, r.Usage.CPU, r.registered("CPU"), r.Usage.Memory, r.registered("MEMORY"))
		}
	}
	for id, u := range want {
		problem("%d live tasks are placed on instance %s, which is not in the cluster", u.tasks(), id)
	}
	return audit, nil
}

// sameUsage reports whether a and b count the same, treating an empty
// group map like none.
func sameUsage(a, b *usage) bool {
	return a.CPU == b.CPU && a.Memory == b.Memory && a.Running == b.Running && a.Pending == b.Pending &&
		slices.Equal(a.Ports, b.Ports) && slices.Equal(a.PortsUDP, b.PortsUDP) && maps.Equal(a.Groups, b.Groups)
}
