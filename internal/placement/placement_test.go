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
		{"no gpu", inst("a", 1024, 1024), Request{GPU: 1}, "RESOURCE:GPU"},
		{"gpus", Instance{Status: "ACTIVE", Connected: true, GPU: 2}, Request{GPU: 2}, ""},
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

func TestPlaceDeductsBetweenPlacements(t *testing.T) {
	instances := []Instance{inst("a", 1024, 1000), inst("b", 1024, 1000)}
	res := Place(instances, Request{CPU: 512, Memory: 500}, 5, rand.New(rand.NewPCG(1, 2)))
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

func TestPlaceSkipsNonActiveAndFixedPortsConflict(t *testing.T) {
	draining := inst("d", 4096, 4096)
	draining.Status = "DRAINING"
	instances := []Instance{draining, inst("a", 4096, 4096)}
	res := Place(instances, Request{CPU: 10, Memory: 10, Ports: []int{80}}, 2, rand.New(rand.NewPCG(3, 4)))
	if len(res.Placed) != 1 || res.Placed[0] != 1 {
		t.Fatalf("placed = %v, want one task on the ACTIVE instance", res.Placed)
	}
	if len(res.Failures) != 1 || res.Failures[0] != (Failure{ARN: "a", Reason: "RESOURCE:PORTS"}) {
		t.Fatalf("failures = %+v", res.Failures)
	}
}

func TestPlaceWithoutStrategyUsesEveryFeasibleInstance(t *testing.T) {
	seen := map[int]bool{}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 50; i++ {
		instances := []Instance{inst("a", 10, 10), inst("b", 10, 10), inst("c", 10, 10)}
		res := Place(instances, Request{CPU: 1, Memory: 1}, 1, rng)
		seen[res.Placed[0]] = true
	}
	if len(seen) != 3 {
		t.Fatalf("random placement used only instances %v", seen)
	}
}

// azCluster returns n instances per AZ over the given AZs, all roomy.
func azCluster(azs []string, perAZ int, cpu, mem int) []Instance {
	var out []Instance
	for _, az := range azs {
		for i := 0; i < perAZ; i++ {
			in := inst(az+"-"+string(rune('0'+i)), cpu, mem)
			in.Attributes = map[string]string{"ecs.availability-zone": az, "ecs.instance-type": "t3.medium"}
			out = append(out, in)
		}
	}
	return out
}

func mustStrategies(t *testing.T, specs ...[2]string) []Strategy {
	t.Helper()
	var out []Strategy
	for _, s := range specs {
		st, err := ParseStrategy(s[0], s[1])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, st)
	}
	return out
}

func TestSpreadByAZGives433(t *testing.T) {
	for seed := uint64(0); seed < 20; seed++ {
		instances := azCluster([]string{"us-east-1a", "us-east-1b", "us-east-1c"}, 2, 4096, 8192)
		r := Request{CPU: 10, Memory: 10, Group: "family:web", Strategies: mustStrategies(t, [2]string{"spread", "attribute:ecs.availability-zone"})}
		res := Place(instances, r, 10, rand.New(rand.NewPCG(seed, 1)))
		perAZ := map[string]int{}
		for _, i := range res.Placed {
			perAZ[instances[i].Attributes["ecs.availability-zone"]]++
		}
		fours, threes := 0, 0
		for _, n := range perAZ {
			switch n {
			case 4:
				fours++
			case 3:
				threes++
			}
		}
		if len(res.Placed) != 10 || fours != 1 || threes != 2 {
			t.Fatalf("seed %d: split %v, want 4/3/3", seed, perAZ)
		}
	}
}

func TestSpreadCountsExistingTasksOfTheGroup(t *testing.T) {
	instances := azCluster([]string{"a", "b"}, 1, 4096, 8192)
	instances[0].TaskGroups = map[string]int{"service:web": 3, "service:other": 50}
	r := Request{CPU: 1, Memory: 1, Group: "service:web", Strategies: mustStrategies(t, [2]string{"spread", "attribute:ecs.availability-zone"})}
	res := Place(instances, r, 3, rand.New(rand.NewPCG(1, 1)))
	for _, i := range res.Placed {
		if i != 1 {
			t.Fatalf("placed on %d, want every task on the AZ with fewer tasks of the group", i)
		}
	}
}

func TestBinpackMemoryFillsOneInstanceFirst(t *testing.T) {
	instances := []Instance{inst("a", 4096, 4096), inst("b", 4096, 3000), inst("c", 4096, 4096)}
	r := Request{CPU: 10, Memory: 1000, Strategies: mustStrategies(t, [2]string{"binpack", "memory"})}
	res := Place(instances, r, 5, rand.New(rand.NewPCG(1, 1)))
	// b has the least memory: it takes 3 tasks (3000 MiB), then the next
	// fullest instance fills up.
	want := map[int]int{1: 3}
	got := map[int]int{}
	for _, i := range res.Placed {
		got[i]++
	}
	if got[1] != want[1] || len(got) != 2 {
		t.Fatalf("binpack placements %v, want 3 on b then the rest on one other instance", got)
	}
}

func TestBinpackThenSpreadBreaksTies(t *testing.T) {
	instances := []Instance{inst("a", 2048, 4096), inst("b", 2048, 4096)}
	instances[0].TaskGroups = map[string]int{"g": 1}
	r := Request{CPU: 10, Memory: 100, Group: "g", Strategies: mustStrategies(t, [2]string{"binpack", "cpu"}, [2]string{"spread", "instanceId"})}
	res := Place(instances, r, 1, rand.New(rand.NewPCG(1, 1)))
	if res.Placed[0] != 1 {
		t.Fatalf("placed on %d: equal binpack scores must fall to spread, which prefers the instance without the group's task", res.Placed[0])
	}
}

func TestConstraints(t *testing.T) {
	instances := azCluster([]string{"a", "b"}, 2, 4096, 8192)
	instances[2].Attributes["ecs.instance-type"] = "m5.large"
	member, err := ParseConstraint("memberOf", "attribute:ecs.instance-type =~ t3.*")
	if err != nil {
		t.Fatal(err)
	}
	distinct, _ := ParseConstraint("distinctInstance", "")
	r := Request{CPU: 1, Memory: 1, Group: "g", Constraints: []Constraint{member, distinct}}
	res := Place(instances, r, 4, rand.New(rand.NewPCG(1, 1)))
	if len(res.Placed) != 3 {
		t.Fatalf("placed %d, want 3 (one per t3 instance)", len(res.Placed))
	}
	seen := map[int]bool{}
	for _, i := range res.Placed {
		if i == 2 || seen[i] {
			t.Fatalf("placement %v breaks memberOf or distinctInstance", res.Placed)
		}
		seen[i] = true
	}
	reasons := map[string]string{}
	for _, f := range res.Failures {
		reasons[f.ARN] = f.Reason
	}
	if reasons[instances[2].ARN] != "MemberOf placement constraint unsatisfied." ||
		reasons[instances[0].ARN] != "DistinctInstance placement constraint unsatisfied." {
		t.Fatalf("failures = %+v", res.Failures)
	}
}

func TestParseStrategyAndConstraintErrors(t *testing.T) {
	for _, s := range [][2]string{{"binpack", "disk"}, {"spread", ""}, {"spread", "zone"}, {"random", "cpu"}, {"cheapest", ""}} {
		if _, err := ParseStrategy(s[0], s[1]); err == nil {
			t.Errorf("ParseStrategy(%q, %q) accepted", s[0], s[1])
		}
	}
	for _, c := range [][2]string{{"memberOf", ""}, {"distinctInstance", "x == y"}, {"sameHost", ""}, {"memberOf", "bogus =="}} {
		if _, err := ParseConstraint(c[0], c[1]); err == nil {
			t.Errorf("ParseConstraint(%q, %q) accepted", c[0], c[1])
		}
	}
}

func TestUnreserveUndoesReserve(t *testing.T) {
	in := inst("a", 1024, 2048, 22)
	in.TaskGroups = map[string]int{"family:x": 1}
	before := in
	r := Request{CPU: 100, Memory: 200, Ports: []int{80}, PortsUDP: []int{53}, Group: "family:web"}
	Reserve(&in, r)
	Unreserve(&in, r)
	if in.CPU != before.CPU || in.Memory != before.Memory || in.RunningTasks != before.RunningTasks ||
		len(in.Ports) != 1 || !in.Ports[22] || len(in.PortsUDP) != 0 || len(in.TaskGroups) != 1 || in.TaskGroups["family:x"] != 1 {
		t.Fatalf("after Reserve and Unreserve: %+v, want %+v", in, before)
	}
	if len(before.Ports) != 1 || before.TaskGroups["family:web"] != 0 {
		t.Fatalf("the original maps were written: %+v", before)
	}
}
