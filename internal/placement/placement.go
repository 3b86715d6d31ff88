// Package placement decides which container instances receive tasks. It is
// pure: it reads a snapshot of instances and returns decisions, leaving
// every write to the caller.
package placement

import (
	"math/rand/v2"
	"sort"
)

// Instance is the placement view of a container instance.
type Instance struct {
	ARN       string
	Status    string // ACTIVE, DRAINING, ...
	Connected bool
	CPU       int // remaining CPU units
	Memory    int // remaining MiB
	Ports     map[int]bool
	PortsUDP  map[int]bool
}

// Request is what one task needs from an instance.
type Request struct {
	CPU, Memory     int
	Ports, PortsUDP []int // fixed host ports; dynamic ports need nothing
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

// filter is one feasibility check; it returns "" when the instance fits.
type filter func(in *Instance, r Request) string

// checks run in the order ECS reports them: agent first, then resources.
var checks = []filter{
	func(in *Instance, _ Request) string {
		if !in.Connected {
			return "AGENT"
		}
		return ""
	},
	func(in *Instance, r Request) string {
		if in.CPU < r.CPU {
			return "RESOURCE:CPU"
		}
		return ""
	},
	func(in *Instance, r Request) string {
		if in.Memory < r.Memory {
			return "RESOURCE:MEMORY"
		}
		return ""
	},
	func(in *Instance, r Request) string {
		for _, p := range r.Ports {
			if in.Ports[p] {
				return "RESOURCE:PORTS"
			}
		}
		return ""
	},
	func(in *Instance, r Request) string {
		for _, p := range r.PortsUDP {
			if in.PortsUDP[p] {
				return "RESOURCE:PORTS_UDP"
			}
		}
		return ""
	},
}

// Explain returns why in cannot take r, or "" when it can.
func Explain(in *Instance, r Request) string {
	for _, check := range checks {
		if reason := check(in, r); reason != "" {
			return reason
		}
	}
	return ""
}

// Reserve deducts r from in.
func Reserve(in *Instance, r Request) {
	in.CPU -= r.CPU
	in.Memory -= r.Memory
	for _, p := range r.Ports {
		if in.Ports == nil {
			in.Ports = map[int]bool{}
		}
		in.Ports[p] = true
	}
	for _, p := range r.PortsUDP {
		if in.PortsUDP == nil {
			in.PortsUDP = map[int]bool{}
		}
		in.PortsUDP[p] = true
	}
}

// Random places count copies of r one at a time on a random feasible ACTIVE
// instance, deducting each placement before the next. Instances are modified
// in place so the caller can persist the reservations.
func Random(instances []Instance, r Request, count int, rng *rand.Rand) Result {
	var res Result
	for n := 0; n < count; n++ {
		var feasible []int
		reasons := map[string]string{}
		for i := range instances {
			in := &instances[i]
			if in.Status != "ACTIVE" {
				continue
			}
			if reason := Explain(in, r); reason != "" {
				reasons[in.ARN] = reason
				continue
			}
			feasible = append(feasible, i)
		}
		if len(feasible) == 0 {
			res.Failures = failures(reasons)
			return res
		}
		pick := feasible[rng.IntN(len(feasible))]
		Reserve(&instances[pick], r)
		res.Placed = append(res.Placed, pick)
	}
	return res
}

func failures(reasons map[string]string) []Failure {
	out := make([]Failure, 0, len(reasons))
	for arn, reason := range reasons {
		out = append(out, Failure{ARN: arn, Reason: reason})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ARN < out[j].ARN })
	return out
}
