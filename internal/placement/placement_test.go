package placement

import (
	"math/rand/v2"
	"testing"
)

func inst(arn string, cpu, mem int, ports ...int) Instance {
	in := Instance{ARN: arn, Status: "ACTIVE", Connected: true, CPU: cpu, Memory: mem, Ports: map[int]bool{}}
	for _, p := range ports {
		in.Ports[p] = true
	}
	return in
}

func TestExplain(t *testing.T) {
	tests := []struct {
		name string
		in   Instance
		req  Request
		want string
	}{
		{"fits", inst("a", 1024, 1024), Request{CPU: 512, Memory: 512}, ""},
		{"exact fit", inst("a", 512, 512), Request{CPU: 512, Memory: 512}, ""},
		{"cpu", inst("a", 100, 1024), Request{CPU: 512, Memory: 512}, "RESOURCE:CPU"},
		{"memory", inst("a", 1024, 100), Request{CPU: 512, Memory: 512}, "RESOURCE:MEMORY"},
		{"port taken", inst("a", 1024, 1024, 80), Request{Ports: []int{80}}, "RESOURCE:PORTS"},
		{"other port free", inst("a", 1024, 1024, 80), Request{Ports: []int{8080}}, ""},
		{"udp", Instance{Status: "ACTIVE", Connected: true, PortsUDP: map[int]bool{53: true}}, Request{PortsUDP: []int{53}}, "RESOURCE:PORTS_UDP"},
		{"agent before resources", Instance{Status: "ACTIVE", Connected: false}, Request{CPU: 1}, "AGENT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Explain(&tt.in, tt.req); got != tt.want {
				t.Fatalf("Explain = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRandomDeductsBetweenPlacements(t *testing.T) {
	instances := []Instance{inst("a", 1024, 1000), inst("b", 1024, 1000)}
	res := Random(instances, Request{CPU: 512, Memory: 500}, 5, rand.New(rand.NewPCG(1, 2)))
	if len(res.Placed) != 4 {
		t.Fatalf("placed %d tasks, want 4 (two per instance)", len(res.Placed))
	}
	if instances[0].CPU != 0 || instances[1].CPU != 0 {
		t.Fatalf("reservations not deducted: %+v", instances)
	}
	if len(res.Failures) != 2 || res.Failures[0].Reason != "RESOURCE:CPU" {
		t.Fatalf("failures = %+v, want RESOURCE:CPU for both instances", res.Failures)
	}
}

func TestRandomSkipsNonActiveAndFixedPortsConflict(t *testing.T) {
	draining := inst("d", 4096, 4096)
	draining.Status = "DRAINING"
	instances := []Instance{draining, inst("a", 4096, 4096)}
	res := Random(instances, Request{CPU: 10, Memory: 10, Ports: []int{80}}, 2, rand.New(rand.NewPCG(3, 4)))
	if len(res.Placed) != 1 || res.Placed[0] != 1 {
		t.Fatalf("placed = %v, want one task on the ACTIVE instance", res.Placed)
	}
	if len(res.Failures) != 1 || res.Failures[0] != (Failure{ARN: "a", Reason: "RESOURCE:PORTS"}) {
		t.Fatalf("failures = %+v", res.Failures)
	}
}

func TestRandomUsesEveryFeasibleInstance(t *testing.T) {
	seen := map[int]bool{}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 50; i++ {
		instances := []Instance{inst("a", 10, 10), inst("b", 10, 10), inst("c", 10, 10)}
		res := Random(instances, Request{CPU: 1, Memory: 1}, 1, rng)
		seen[res.Placed[0]] = true
	}
	if len(seen) != 3 {
		t.Fatalf("random placement used only instances %v", seen)
	}
}
