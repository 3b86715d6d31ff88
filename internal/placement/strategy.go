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

// scorer ranks instances for one Place call. It precomputes what the
// strategies read (each instance's attribute value, the request group's
// task counts) into plain slices and keeps them current as tasks are
// reserved, so ranking a task is one pass over integers.
type scorer struct {
	instances []Instance
	r         *Request
	group     []int   // the request group's tasks per instance
	spread    [][]int // per attribute spread: each instance's value, as an index into counts
	counts    [][]int // per attribute spread: the group's tasks per attribute value
	keys      []float64
	best      []float64
}

func newScorer(instances []Instance, r *Request) *scorer {
	n := len(r.Strategies)
	sc := &scorer{instances: instances, r: r, group: make([]int, len(instances)),
		spread: make([][]int, n), counts: make([][]int, n), keys: make([]float64, n), best: make([]float64, n)}
	for i := range instances {
		sc.group[i] = instances[i].TaskGroups[r.Group]
	}
	for si, s := range r.Strategies {
		if s.Type != "spread" || s.Field == "instanceId" {
			continue
		}
		// Attribute spreads count the group's tasks per attribute value over
		// all instances, feasible or not: a full AZ still holds its share.
		attr := strings.TrimPrefix(s.Field, "attribute:")
		index := map[string]int{}
		values := make([]int, len(instances))
		var counts []int
		for i := range instances {
			v := instances[i].Attributes[attr]
			idx, ok := index[v]
			if !ok {
				idx = len(counts)
				index[v] = idx
				counts = append(counts, 0)
			}
			values[i] = idx
			if st := instances[i].Status; st == "ACTIVE" || st == "DRAINING" {
				counts[idx] += sc.group[i]
			}
		}
		sc.spread[si], sc.counts[si] = values, counts
	}
	return sc
}

// reserved records that a task of the request was reserved on instance i.
func (sc *scorer) reserved(i int) {
	sc.group[i]++
	for si, values := range sc.spread {
		if values != nil {
			sc.counts[si][values[i]]++
		}
	}
}

// key scores instance i for strategy si; lower is better.
func (sc *scorer) key(si, i int, rng *rand.Rand) float64 {
	s := sc.r.Strategies[si]
	switch s.Type {
	case "binpack":
		if s.Field == "cpu" {
			return float64(sc.instances[i].CPU - sc.r.CPU)
		}
		return float64(sc.instances[i].Memory - sc.r.Memory)
	case "spread":
		if sc.spread[si] == nil {
			return float64(sc.group[i])
		}
		return float64(sc.counts[si][sc.spread[si][i]])
	}
	return rng.Float64()
}

// rank picks the best of the feasible instances: strategies compare in
// order, each breaking the previous one's ties; what no strategy decides is
// decided at random. A later strategy is scored only while the earlier
// ones tie.
func (sc *scorer) rank(feasible []int, rng *rand.Rand) int {
	// Reservoir sampling picks uniformly among the best without a list.
	best, ties := -1, 0
	for _, i := range feasible {
		switch c := sc.score(i, best >= 0, rng); {
		case c < 0:
			best, ties = i, 1
			copy(sc.best, sc.keys)
		case c == 0:
			ties++
			if rng.IntN(ties) == 0 {
				best = i
			}
		}
	}
	return best
}

// score fills keys for instance i and compares them with the best so far:
// -1 when better (or there is none yet), 0 on a tie, 1 when worse, in
// which case it stops at the first strategy that decides.
func (sc *scorer) score(i int, haveBest bool, rng *rand.Rand) int {
	c := -1
	if haveBest {
		c = 0
	}
	for si := range sc.keys {
		k := sc.key(si, i, rng)
		sc.keys[si] = k
		if c == 0 {
			if k < sc.best[si] {
				c = -1
			} else if k > sc.best[si] {
				return 1
			}
		}
	}
	return c
}
