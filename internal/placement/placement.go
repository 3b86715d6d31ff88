// Package placement decides which container instances receive tasks, the
// way ECS documents it: (1) keep instances with the CPU, memory, ports and
// attributes a task needs, (2) keep those that satisfy its placement
// constraints, (3) rank the rest by up to five strategies in order, ties
// broken at random. It is pure: it reads a snapshot of instances and returns
// decisions, leaving every write to the caller.
//
//	instances ──► fit (AGENT, RESOURCE:*, ATTRIBUTE) ──► constraints (memberOf,
//	distinctInstance) ──► strategies (binpack, spread, random) ──► choice
//
// Each filter names why it dropped an instance; those names are the
// failures[].reason values RunTask returns.
//
// Place ranks every feasible instance for each task. A Cluster makes the
// same choices over many calls for a cost that does not grow with the
// cluster: it keeps, per kind of request, the feasible instances grouped
// by what the strategies score them, and updates only the instances that
// change.
package placement

import (
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Instance is the placement view of a container instance.
type Instance struct {
	ARN           string
	EC2InstanceID string
	Status        string // ACTIVE, DRAINING, ...
	Connected     bool
	CPU           int // remaining CPU units
	Memory        int // remaining MiB
	GPU           int // remaining GPUs
	Ports         map[int]bool
	PortsUDP      map[int]bool
	Attributes    map[string]string
	AgentVersion  string
	RegisteredAt  time.Time
	RunningTasks  int
	// TaskGroups counts the instance's active tasks by task group
	// ("family:web", "service:api", ...).
	TaskGroups map[string]int
}

// Request is what one task needs, and how its placement is constrained and ranked.
type Request struct {
	CPU, Memory        int
	GPU                int   // GPUs, from the containers' resourceRequirements
	Ports, PortsUDP    []int // fixed host ports; dynamic ports need nothing
	Group              string
	RequiredAttributes []string
	Constraints        []Constraint
	Strategies         []Strategy
}

// Failure explains why an instance could not take a task, with the reasons
// ECS reports ("RESOURCE:CPU", "AGENT", ...).
type Failure struct {
	ARN    string
	Reason string
}

// Result lists, per placed task, the index of the chosen instance, and the
// failures that kept the rest from being placed.
type Result struct {
	Placed   []int
	Failures []Failure
}

// filter is one feasibility check; it returns "" when the instance passes.
type filter func(in *Instance, r *Request) string

// fit checks run in the order ECS reports them: agent, resources, attributes.
var fit = []filter{
	func(in *Instance, _ *Request) string {
		if !in.Connected {
			return "AGENT"
		}
		return ""
	},
	func(in *Instance, r *Request) string {
		if in.CPU < r.CPU {
			return "RESOURCE:CPU"
		}
		return ""
	},
	func(in *Instance, r *Request) string {
		if in.Memory < r.Memory {
			return "RESOURCE:MEMORY"
		}
		return ""
	},
	func(in *Instance, r *Request) string {
		if in.GPU < r.GPU {
			return "RESOURCE:GPU"
		}
		return ""
	},
	func(in *Instance, r *Request) string {
		for _, p := range r.Ports {
			if in.Ports[p] {
				return "RESOURCE:PORTS"
			}
		}
		return ""
	},
	func(in *Instance, r *Request) string {
		for _, p := range r.PortsUDP {
			if in.PortsUDP[p] {
				return "RESOURCE:PORTS_UDP"
			}
		}
		return ""
	},
	func(in *Instance, r *Request) string {
		for _, a := range r.RequiredAttributes {
			if _, ok := in.Attributes[a]; !ok {
				return "ATTRIBUTE"
			}
		}
		return ""
	},
}

// Explain returns why in cannot take r, or "" when it can.
func Explain(in *Instance, r Request) string { return explain(in, &r) }

func explain(in *Instance, r *Request) string {
	for _, check := range fit {
		if reason := check(in, r); reason != "" {
			return reason
		}
	}
	for _, c := range r.Constraints {
		if !c.satisfied(in, r) {
			return c.reason()
		}
	}
	return ""
}

// Reserve deducts r from in and counts the task in its group. The maps of
// in are replaced, never written, so views may share them with a cache.
func Reserve(in *Instance, r Request) {
	in.CPU -= r.CPU
	in.Memory -= r.Memory
	in.GPU -= r.GPU
	if len(r.Ports) > 0 {
		in.Ports = withKeys(in.Ports, r.Ports)
	}
	if len(r.PortsUDP) > 0 {
		in.PortsUDP = withKeys(in.PortsUDP, r.PortsUDP)
	}
	groups := make(map[string]int, len(in.TaskGroups)+1)
	maps.Copy(groups, in.TaskGroups)
	groups[r.Group]++
	in.TaskGroups = groups
	in.RunningTasks++
}

func withKeys(m map[int]bool, keys []int) map[int]bool {
	out := make(map[int]bool, len(m)+len(keys))
	maps.Copy(out, m)
	for _, k := range keys {
		out[k] = true
	}
	return out
}

// Place places count copies of r one at a time: each goes to the best
// feasible ACTIVE instance by r's strategies, and is deducted before the
// next is placed. Instances are modified in place so the caller can persist
// the reservations. Tasks that fit nowhere are reported once per instance
// with the reason the instance refused them.
//
// Every filter and constraint looks at one instance only, so after a pick
// only the picked instance can change from feasible to not: the others are
// checked once per call, not once per task.
func Place(instances []Instance, r Request, count int, rng *rand.Rand) Result {
	var res Result
	feasible := make([]int, 0, len(instances))
	for i := range instances {
		if instances[i].Status == "ACTIVE" && explain(&instances[i], &r) == "" {
			feasible = append(feasible, i)
		}
	}
	sc := newScorer(instances, &r)
	for n := 0; n < count; n++ {
		if len(feasible) == 0 {
			res.Failures = failures(instances, &r)
			return res
		}
		pick := sc.rank(feasible, rng)
		Reserve(&instances[pick], r)
		sc.reserved(pick)
		res.Placed = append(res.Placed, pick)
		if explain(&instances[pick], &r) != "" {
			feasible = slices.DeleteFunc(feasible, func(i int) bool { return i == pick })
		}
	}
	return res
}

func failures(instances []Instance, r *Request) []Failure {
	// Only now, on the slow path, collect each ACTIVE instance's reason,
	// in ARN order (the order callers hold instances in already, by key).
	out := make([]Failure, 0, len(instances))
	for i := range instances {
		if instances[i].Status == "ACTIVE" {
			out = append(out, Failure{ARN: instances[i].ARN, Reason: explain(&instances[i], r)})
		}
	}
	if !slices.IsSortedFunc(out, func(a, b Failure) int { return strings.Compare(a.ARN, b.ARN) }) {
		slices.SortFunc(out, func(a, b Failure) int { return strings.Compare(a.ARN, b.ARN) })
	}
	// An instance listed twice (never, from the ECS cache) is reported once.
	return slices.CompactFunc(out, func(a, b Failure) bool { return a.ARN == b.ARN })
}

// Unreserve gives back what Reserve deducted for r, so a caller placing
// several requests on one set of views can withdraw one of them. Like
// Reserve it replaces the maps of in rather than writing them.
func Unreserve(in *Instance, r Request) {
	in.CPU += r.CPU
	in.Memory += r.Memory
	if len(r.Ports) > 0 {
		in.Ports = withoutKeys(in.Ports, r.Ports)
	}
	if len(r.PortsUDP) > 0 {
		in.PortsUDP = withoutKeys(in.PortsUDP, r.PortsUDP)
	}
	groups := maps.Clone(in.TaskGroups)
	if groups[r.Group]--; groups[r.Group] <= 0 {
		delete(groups, r.Group)
	}
	in.TaskGroups = groups
	in.RunningTasks--
}

func withoutKeys(m map[int]bool, keys []int) map[int]bool {
	out := maps.Clone(m)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}
