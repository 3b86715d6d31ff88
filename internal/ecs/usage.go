package ecs

import (
	"encoding/json"
	"maps"
	"slices"
)

// usage is what the live tasks on a container instance hold together.
// An instance record keeps this sum rather than one reservation per task,
// so the record a placement rewrites stays the same size however many
// tasks the instance runs; each task's own reservation is in its task
// record, written in the same transaction as the sum.
type usage struct {
	CPU      int            `json:"cpu"`
	Memory   int            `json:"memory"`
	GPU      int            `json:"gpu,omitempty"`
	Ports    []int          `json:"ports,omitempty"`    // host ports held by tasks, sorted
	PortsUDP []int          `json:"portsUdp,omitempty"` // sorted
	Running  int            `json:"running"`            // tasks whose last status is RUNNING
	Pending  int            `json:"pending"`            // the other live tasks
	Groups   map[string]int `json:"groups,omitempty"`   // live tasks by task group
}

// clone returns a copy that shares nothing with u, to change a record
// other readers may hold.
func (u usage) clone() usage {
	u.Ports, u.PortsUDP, u.Groups = slices.Clone(u.Ports), slices.Clone(u.PortsUDP), maps.Clone(u.Groups)
	return u
}

// tasks is the number of live tasks on the instance.
func (u *usage) tasks() int { return u.Running + u.Pending }

// add counts a newly placed task, which starts PENDING.
func (u *usage) add(r reservation) {
	u.CPU += r.CPU
	u.Memory += r.Memory
	u.GPU += r.GPU
	u.Ports = insertSorted(u.Ports, r.Ports)
	u.PortsUDP = insertSorted(u.PortsUDP, r.PortsUDP)
	u.Pending++
	if u.Groups == nil {
		u.Groups = map[string]int{}
	}
	u.Groups[r.Group]++
}

// move accounts for a task with reservation r whose last status went from
// one state to another: a task that stopped gives its reservation back;
// one that started or stopped running moves between the counts. It
// reports whether u changed.
func (u *usage) move(r reservation, from, to string) bool {
	if from == to || from == "STOPPED" {
		return false
	}
	if to == "STOPPED" {
		u.CPU -= r.CPU
		u.Memory -= r.Memory
		u.GPU -= r.GPU
		u.Ports = removeSorted(u.Ports, r.Ports)
		u.PortsUDP = removeSorted(u.PortsUDP, r.PortsUDP)
		*u.count(from)--
		if u.Groups[r.Group]--; u.Groups[r.Group] <= 0 {
			delete(u.Groups, r.Group)
		}
		return true
	}
	if (from == "RUNNING") == (to == "RUNNING") {
		return false
	}
	*u.count(from)--
	*u.count(to)++
	return true
}

// count is the counter a task in this last status belongs to.
func (u *usage) count(status string) *int {
	if status == "RUNNING" {
		return &u.Running
	}
	return &u.Pending
}

// insertSorted adds ports to the sorted list s, which it may change.
func insertSorted(s, ports []int) []int {
	for _, p := range ports {
		i, _ := slices.BinarySearch(s, p)
		s = slices.Insert(s, i, p)
	}
	return s
}

// removeSorted takes one occurrence of each port out of the sorted list s,
// which it may change.
func removeSorted(s, ports []int) []int {
	for _, p := range ports {
		if i, ok := slices.BinarySearch(s, p); ok {
			s = slices.Delete(s, i, i+1)
		}
	}
	return s
}

// UnmarshalJSON also reads records written before instances kept a usage
// total, which listed each task's reservation under "tasks" instead: those
// reservations are summed into the usage, so a data directory from then
// keeps its instances' resources accounted for.
func (r *instanceRecord) UnmarshalJSON(b []byte) error {
	type record instanceRecord // the same fields, without this method
	var v struct {
		record
		Tasks map[string]struct {
			reservation
			Status string `json:"status"`
		} `json:"tasks"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = instanceRecord(v.record)
	for _, t := range v.Tasks {
		r.Usage.add(t.reservation)
		r.Usage.move(t.reservation, "PENDING", t.Status)
	}
	return nil
}
