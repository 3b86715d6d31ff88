package placement

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// bestByReference returns every instance the linear scorer ranks best for
// r, with a fresh scorer: the brute-force reference for Cluster.
func bestByReference(instances []Instance, r Request) []int {
	sc := newScorer(instances, &r)
	var best []int
	var bestKey []float64
	for i := range instances {
		if instances[i].Status != "ACTIVE" || explain(&instances[i], &r) != "" {
			continue
		}
		var k []float64
		for si, s := range r.Strategies {
			if s.Type == "random" {
				break
			}
			k = append(k, sc.key(si, i, nil))
		}
		switch c := slices.Compare(k, bestKey); {
		case best == nil || c < 0:
			best, bestKey = []int{i}, k
		case c == 0:
			best = append(best, i)
		}
	}
	return best
}

// randomCluster makes n instances over a few AZs, types and sizes, some of
// them draining or disconnected, some with tasks of two groups already.
func randomCluster(rng *rand.Rand, n int) []Instance {
	out := make([]Instance, n)
	for i := range out {
		in := inst(fmt.Sprintf("i-%03d", i), 256*(1+rng.IntN(4)), 512*(1+rng.IntN(4)))
		in.EC2InstanceID = in.ARN
		in.Attributes = map[string]string{
			"ecs.availability-zone": []string{"a", "b", "c"}[rng.IntN(3)],
			"ecs.instance-type":     []string{"t3.small", "t3.large", "m5.large"}[rng.IntN(3)],
		}
		if rng.IntN(5) == 0 {
			in.Attributes["rack"] = fmt.Sprint(rng.IntN(2))
		}
		in.TaskGroups = map[string]int{}
		for g := rng.IntN(3); g > 0; g-- {
			in.TaskGroups[[]string{"family:web", "family:db"}[rng.IntN(2)]]++
			in.RunningTasks++
		}
		switch rng.IntN(12) {
		case 0:
			in.Status = "DRAINING"
		case 1:
			in.Connected = false
		case 2:
			in.Ports[80] = true
		}
		out[i] = in
	}
	return out
}

func randomRequest(t *testing.T, rng *rand.Rand) Request {
	strategies := [][2]string{{"spread", "attribute:ecs.availability-zone"}, {"spread", "instanceId"},
		{"binpack", "memory"}, {"binpack", "cpu"}, {"spread", "attribute:rack"}, {"random", ""}}
	r := Request{CPU: 64 * (1 + rng.IntN(4)), Memory: 128 * (1 + rng.IntN(4)), Group: []string{"family:web", "family:db"}[rng.IntN(2)]}
	for n := rng.IntN(4); n > 0; n-- {
		s := strategies[rng.IntN(len(strategies))]
		r.Strategies = append(r.Strategies, mustStrategies(t, s)...)
	}
	switch rng.IntN(4) {
	case 0:
		c, _ := ParseConstraint("memberOf", "attribute:ecs.instance-type =~ t3.*")
		r.Constraints = append(r.Constraints, c)
	case 1:
		c, _ := ParseConstraint("distinctInstance", "")
		r.Constraints = append(r.Constraints, c)
	case 2:
		r.Ports = []int{80}
	}
	return r
}

// TestClusterPicksWhatTheReferenceRanksBest places random requests on
// random clusters, interleaved with outside changes and withdrawals, and
// checks every pick against the linear reference.
func TestClusterPicksWhatTheReferenceRanksBest(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for round := 0; round < 60; round++ {
		c := NewCluster(randomCluster(rng, 1+rng.IntN(40)))
		requests := []Request{randomRequest(t, rng), randomRequest(t, rng), randomRequest(t, rng)}
		for step := 0; step < 80; step++ {
			r := requests[rng.IntN(len(requests))]
			switch rng.IntN(10) {
			case 0: // an outside change, as a watch event brings
				i := rng.IntN(len(c.Instances))
				c.Instances[i].Memory = 512 * rng.IntN(4)
				c.Instances[i].Connected = rng.IntN(4) != 0
				c.Changed(i)
				continue
			case 1: // a request withdrawn from its batch
				if i := rng.IntN(len(c.Instances)); c.Instances[i].TaskGroups[r.Group] > 0 {
					c.Unreserve(i, r)
				}
				continue
			}
			want := bestByReference(c.Instances, r)
			res := c.Place(r, 1, rng)
			if len(want) == 0 {
				if len(res.Placed) != 0 || len(res.Failures) == 0 {
					t.Fatalf("round %d step %d: nothing fits, but Place = %+v", round, step, res)
				}
				if ref := failures(c.Instances, &r); !slices.Equal(res.Failures, ref) {
					t.Fatalf("round %d step %d: failures %v, reference %v", round, step, res.Failures, ref)
				}
				continue
			}
			if len(res.Placed) != 1 || !slices.Contains(want, res.Placed[0]) {
				t.Fatalf("round %d step %d: picked %v, reference ranks best %v (request %+v)", round, step, res.Placed, want, r)
			}
		}
	}
}

// TestClusterBreaksTiesUniformly checks that every instance of a tie can
// be chosen, including ties across attribute-spread classes.
func TestClusterBreaksTiesUniformly(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	r := Request{CPU: 1, Memory: 1, Strategies: mustStrategies(t, [2]string{"spread", "attribute:ecs.availability-zone"}, [2]string{"binpack", "memory"})}
	seen := map[int]int{}
	for n := 0; n < 600; n++ {
		c := NewCluster(azCluster([]string{"a", "b", "c"}, 2, 100, 100))
		seen[c.Place(r, 1, rng).Placed[0]]++
	}
	for i := 0; i < 6; i++ {
		if seen[i] < 50 {
			t.Fatalf("instance %d chosen %d times of 600 (%v), want about 100", i, seen[i], seen)
		}
	}
}

func TestClusterSpreadByAZGives433(t *testing.T) {
	c := NewCluster(azCluster([]string{"a", "b", "c"}, 4, 4096, 4096))
	r := Request{CPU: 10, Memory: 10, Strategies: mustStrategies(t, [2]string{"spread", "attribute:ecs.availability-zone"})}
	res := c.Place(r, 10, rand.New(rand.NewPCG(1, 1)))
	perAZ := map[string]int{}
	for _, i := range res.Placed {
		perAZ[c.Instances[i].Attributes["ecs.availability-zone"]]++
	}
	counts := []int{perAZ["a"], perAZ["b"], perAZ["c"]}
	slices.Sort(counts)
	if !slices.Equal(counts, []int{3, 3, 4}) {
		t.Fatalf("per AZ %v, want a 4/3/3 split", perAZ)
	}
}
