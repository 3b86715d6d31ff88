package placement

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// MaxStrategies is how many strategies a request may chain.
const MaxStrategies = 5

// Strategy is a placement strategy: binpack (cpu|memory), spread
// (instanceId|host|attribute:<name>) or random.
type Strategy struct {
	Type  string
	Field string
}

// ParseStrategy validates a strategy as ECS does.
func ParseStrategy(typ, field string) (Strategy, error) {
	switch typ {
	case "binpack":
		f := strings.ToLower(field)
		if f != "cpu" && f != "memory" {
			return Strategy{}, fmt.Errorf("binpack needs field cpu or memory, not %q", field)
		}
		return Strategy{Type: typ, Field: f}, nil
	case "spread":
		if field == "" {
			return Strategy{}, fmt.Errorf("spread needs a field: instanceId, host or attribute:<name>")
		}
		if f := strings.ToLower(field); f == "instanceid" || f == "host" {
			return Strategy{Type: typ, Field: "instanceId"}, nil
		}
		if !strings.HasPrefix(field, "attribute:") || len(field) == len("attribute:") {
			return Strategy{}, fmt.Errorf("spread field %q must be instanceId, host or attribute:<name>", field)
		}
		return Strategy{Type: typ, Field: field}, nil
	case "random":
		if field != "" {
			return Strategy{}, fmt.Errorf("random takes no field")
		}
		return Strategy{Type: typ}, nil
	}
	return Strategy{}, fmt.Errorf("unknown placement strategy type %q; valid types are binpack, spread and random", typ)
}

// key scores instance i for one strategy; lower is better.
func (s Strategy) key(instances []Instance, i int, r *Request, spreadCounts map[string]int, rng *rand.Rand) float64 {
	in := &instances[i]
	switch s.Type {
	case "binpack":
		if s.Field == "cpu" {
			return float64(in.CPU - r.CPU)
		}
		return float64(in.Memory - r.Memory)
	case "spread":
		if s.Field == "instanceId" {
			return float64(in.TaskGroups[r.Group])
		}
		return float64(spreadCounts[in.Attributes[strings.TrimPrefix(s.Field, "attribute:")]])
	}
	return rng.Float64()
}

// rank picks the best of the feasible instances: strategies compare in
// order, each breaking the previous one's ties; what no strategy decides is
// decided at random.
func rank(instances []Instance, feasible []int, r *Request, rng *rand.Rand) int {
	// Attribute spreads count the group's tasks per attribute value over all
	// instances, feasible or not: a full AZ still holds its share.
	counts := make([]map[string]int, len(r.Strategies))
	for si, s := range r.Strategies {
		if s.Type != "spread" || s.Field == "instanceId" {
			continue
		}
		attr := strings.TrimPrefix(s.Field, "attribute:")
		counts[si] = map[string]int{}
		for i := range instances {
			if instances[i].Status == "ACTIVE" || instances[i].Status == "DRAINING" {
				counts[si][instances[i].Attributes[attr]] += instances[i].TaskGroups[r.Group]
			}
		}
	}
	// Reservoir sampling picks uniformly among the best without a list.
	bestKeys := make([]float64, len(r.Strategies))
	k := make([]float64, len(r.Strategies))
	best, ties := -1, 0
	for _, i := range feasible {
		keys(k, instances, i, r, counts, rng)
		c := -1
		if best >= 0 {
			c = compareKeys(k, bestKeys)
		}
		switch {
		case c < 0:
			best, ties = i, 1
			copy(bestKeys, k)
		case c == 0:
			ties++
			if rng.IntN(ties) == 0 {
				best = i
			}
		}
	}
	return best
}

func keys(k []float64, instances []Instance, i int, r *Request, counts []map[string]int, rng *rand.Rand) {
	for si, s := range r.Strategies {
		k[si] = s.key(instances, i, r, counts[si], rng)
	}
}

func compareKeys(a, b []float64) int {
	for i := range a {
		if a[i] < b[i] {
			return -1
		}
		if a[i] > b[i] {
			return 1
		}
	}
	return 0
}
