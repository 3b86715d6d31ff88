package placement

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// maxIndexes bounds how many kinds of request a Cluster keeps indexed; the
// least recently used index is dropped past it.
const maxIndexes = 16

// Cluster holds a cluster's instances across many placements and keeps, for
// each kind of request placed on it, the feasible instances ranked by the
// request's strategies. Placing a task then costs O(log n) in the number of
// instances, where Place costs a pass over all of them; an index is built
// (one pass) the first time a kind of request is placed.
//
// Cluster makes the same choices as Place: the best instance by the
// strategies, ties broken uniformly at random. It is not safe for
// concurrent use.
type Cluster struct {
	// Instances are the views placements read and reserve on. Whoever
	// changes one other than through Cluster calls Changed.
	Instances []Instance
	indexes   map[string]*index
	used      map[string]uint64
	clock     uint64
}

// NewCluster returns a Cluster over instances, which it keeps and changes.
func NewCluster(instances []Instance) *Cluster {
	return &Cluster{Instances: instances, indexes: map[string]*index{}, used: map[string]uint64{}}
}

// Changed tells the cluster that instance i was replaced or changed.
func (c *Cluster) Changed(i int) {
	for _, x := range c.indexes {
		x.Update(i)
	}
}

// Place places count copies of r as Place does, reserving on the
// cluster's instances. Its Failures may be shared with later results
// until the cluster changes: callers read them, never write them.
func (c *Cluster) Place(r Request, count int, rng *rand.Rand) Result {
	x := c.index(r)
	var res Result
	for n := 0; n < count; n++ {
		pick := x.Pick(rng)
		if pick < 0 {
			res.Failures = x.failures()
			return res
		}
		Reserve(&c.Instances[pick], r)
		c.Changed(pick)
		res.Placed = append(res.Placed, pick)
	}
	return res
}

// Unreserve gives back a reservation of r on instance i, as Unreserve does.
func (c *Cluster) Unreserve(i int, r Request) {
	Unreserve(&c.Instances[i], r)
	c.Changed(i)
}

// index returns the index of r's kind of request, building it on first use.
func (c *Cluster) index(r Request) *index {
	k := requestKey(&r)
	c.clock++
	c.used[k] = c.clock
	if x := c.indexes[k]; x != nil {
		return x
	}
	if len(c.indexes) >= maxIndexes {
		oldest := ""
		for name, t := range c.used {
			if _, ok := c.indexes[name]; ok && (oldest == "" || t < c.used[oldest]) {
				oldest = name
			}
		}
		delete(c.indexes, oldest)
		delete(c.used, oldest)
	}
	x := newIndex(c.Instances, r)
	c.indexes[k] = x
	return x
}

// requestKey names what an index depends on: everything that decides
// whether an instance fits and how it ranks.
func requestKey(r *Request) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d|%d|%d|%v|%v|%q|%q|", r.CPU, r.Memory, r.GPU, r.Ports, r.PortsUDP, r.Group, r.RequiredAttributes)
	for _, c := range r.Constraints {
		fmt.Fprintf(&b, "%s %q;", c.Type, c.Expression)
	}
	b.WriteByte('|')
	for _, s := range r.Strategies {
		fmt.Fprintf(&b, "%s %s;", s.Type, s.Field)
	}
	return b.String()
}
