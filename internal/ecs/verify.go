package ecs

import (
	"context"
	"encoding/json"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// PlacementAudit is what VerifyPlacements read and what it found wrong.
type PlacementAudit struct {
	Instances, Tasks, Reservations int
	// Problems lists every violation found; empty means the cluster is sound.
	Problems []string
}

// VerifyPlacements reads every container instance and task of a cluster
// from the store, at one revision, and checks the invariants placement
// promises: no instance holds more CPU or memory than it registered, no
// host port (TCP or UDP) is held twice on an instance, every reservation
// belongs to a live task on that instance, and every live task is reserved
// on exactly one instance. It writes nothing.
func (s *Service) VerifyPlacements(ctx context.Context, cluster string) (PlacementAudit, error) {
	var audit PlacementAudit
	cli := s.store.Client()
	instResp, err := cli.Get(ctx, s.keys.instances(cluster), clientv3.WithPrefix())
	if err != nil {
		return audit, fmt.Errorf("read instances: %w", err)
	}
	taskResp, err := cli.Get(ctx, s.keys.tasks(cluster), clientv3.WithPrefix(), clientv3.WithRev(instResp.Header.Revision))
	if err != nil {
		return audit, fmt.Errorf("read tasks: %w", err)
	}
	problem := func(format string, args ...any) {
		audit.Problems = append(audit.Problems, fmt.Sprintf(format, args...))
	}
	live := map[string]taskRecord{}
	for _, kv := range taskResp.Kvs {
		var t taskRecord
		if err := json.Unmarshal(kv.Value, &t); err != nil {
			return audit, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		audit.Tasks++
		if t.Task.LastStatus != "STOPPED" {
			live[t.ID] = t
		}
	}
	held := map[string]int{}
	for _, kv := range instResp.Kvs {
		var r instanceRecord
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			return audit, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		audit.Instances++
		cpu, mem := 0, 0
		ports := map[string]string{}
		for _, proto := range []string{"PORTS", "PORTS_UDP"} {
			for _, p := range r.registeredPorts(proto) {
				ports[fmt.Sprint(proto, p)] = "registration"
			}
		}
		for id, res := range r.Tasks {
			audit.Reservations++
			held[id]++
			cpu += res.CPU
			mem += res.Memory
			if res.CPU < 0 || res.Memory < 0 {
				problem("instance %s: task %s reserves negative resources %+v", r.ID, id, res)
			}
			for proto, list := range map[string][]int{"PORTS": res.Ports, "PORTS_UDP": res.PortsUDP} {
				for _, p := range list {
					k := fmt.Sprint(proto, p)
					if other, dup := ports[k]; dup {
						problem("instance %s: host port %d (%s) held by both %s and %s", r.ID, p, proto, other, id)
					}
					ports[k] = id
				}
			}
			if t, ok := live[id]; !ok || t.InstanceID != r.ID {
				problem("instance %s: reservation for task %s that is not live on it", r.ID, id)
			}
		}
		if cpu > r.registered("CPU") || mem > r.registered("MEMORY") {
			problem("instance %s over-committed: cpu %d/%d memory %d/%d", r.ID, cpu, r.registered("CPU"), mem, r.registered("MEMORY"))
		}
	}
	for id, t := range live {
		if held[id] != 1 {
			problem("live task %s (%s) is reserved on %d instances, want 1", id, t.Task.LastStatus, held[id])
		}
	}
	return audit, nil
}
