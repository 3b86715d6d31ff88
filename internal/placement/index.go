package placement

import (
	"container/heap"
	"math/rand/v2"
	"strings"
)

// index keeps the feasible instances for one kind of request ranked by the
// request's strategies, so that choosing an instance costs O(log n)
// instead of a pass over the cluster. Instances are grouped twice:
//
//	classes  ── instances sharing a value of every attribute spread; what
//	            the attribute spreads score is the same for the whole class
//	buckets  ── within a class, instances the other strategies score the
//	            same; a bucket's members tie, so picking one is uniform
//
// A heap of classes is ordered by each class's best bucket, a heap per
// class orders its buckets. A reservation changes the key of one instance
// and of the classes sharing its attribute values, so both heaps are fixed
// rather than rebuilt.
//
// A random strategy decides every tie left, so it and any strategy after it
// are the same as the final random tie break and are not kept.
type index struct {
	instances []Instance
	r         Request
	strat     []Strategy // up to the first random strategy
	spreadOf  []int      // per strategy: its attribute spread, or -1
	attrs     []string   // per attribute spread: the attribute name

	valueIDs []map[string]int32 // per attribute spread: value -> id
	counts   [][]int            // per attribute spread: the group's tasks per value id
	byValue  [][][]*class       // per attribute spread and value id: the classes with that value

	classes map[string]*class // by the tuple of value ids
	heap    classHeap
	st      []instanceState
	// refused is why each instance refuses the request, once computed for
	// a request that fits nowhere, until an instance changes: on a full
	// cluster every further request of the kind is refused the same way.
	refused []Failure
}

// instanceState is what the index recorded for one instance, so that
// Update can take it back out.
type instanceState struct {
	class   *class
	bucket  *bucket // nil when not feasible
	pos     int     // position in bucket.members
	counted int     // the group's tasks it adds to the attribute spreads
}

type sortKey [MaxStrategies]int

type class struct {
	values  []int32 // value id per attribute spread
	buckets map[sortKey]*bucket
	heap    bucketHeap
	at      int // position in the index's heap, -1 when out of it
}

type bucket struct {
	key     sortKey // the instance-level part of the key; spread entries are 0
	members []int
	at      int
}

func newIndex(instances []Instance, r Request) *index {
	x := &index{instances: instances, r: r, classes: map[string]*class{}, st: make([]instanceState, len(instances))}
	for _, s := range r.Strategies {
		if s.Type == "random" {
			break
		}
		x.strat = append(x.strat, s)
		if s.Type == "spread" && s.Field != "instanceId" {
			x.spreadOf = append(x.spreadOf, len(x.attrs))
			x.attrs = append(x.attrs, strings.TrimPrefix(s.Field, "attribute:"))
		} else {
			x.spreadOf = append(x.spreadOf, -1)
		}
	}
	x.valueIDs = make([]map[string]int32, len(x.attrs))
	x.counts = make([][]int, len(x.attrs))
	x.byValue = make([][][]*class, len(x.attrs))
	for a := range x.attrs {
		x.valueIDs[a] = map[string]int32{}
	}
	for i := range instances {
		x.add(i)
	}
	return x
}

// Update re-reads instance i after it changed.
func (x *index) Update(i int) {
	x.refused = nil
	x.remove(i)
	x.add(i)
}

// failures is failures(instances, r), kept until an instance changes.
func (x *index) failures() []Failure {
	if x.refused == nil {
		x.refused = failures(x.instances, &x.r)
	}
	return x.refused
}

// add files instance i under its class and, when feasible, its bucket.
func (x *index) add(i int) {
	in := &x.instances[i]
	c := x.classOf(in)
	st := instanceState{class: c}
	if in.Status == "ACTIVE" || in.Status == "DRAINING" {
		// Attribute spreads count the group's tasks over all instances,
		// feasible or not: a full AZ still holds its share.
		st.counted = in.TaskGroups[x.r.Group]
	}
	x.st[i] = st
	if st.counted != 0 {
		x.addCount(c, st.counted)
	}
	if in.Status != "ACTIVE" || explain(in, &x.r) != "" {
		return
	}
	k := x.key(in)
	b := c.buckets[k]
	if b == nil {
		b = &bucket{key: k}
		c.buckets[k] = b
		heap.Push(&c.heap, b)
	}
	x.st[i].bucket, x.st[i].pos = b, len(b.members)
	b.members = append(b.members, i)
	if b.at == 0 {
		x.fixClass(c) // c's best bucket may have changed
	}
}

func (x *index) remove(i int) {
	st := x.st[i]
	if st.class == nil {
		return
	}
	x.st[i] = instanceState{}
	if st.counted != 0 {
		x.addCount(st.class, -st.counted)
	}
	b := st.bucket
	if b == nil {
		return
	}
	last := b.members[len(b.members)-1]
	b.members[st.pos] = last
	x.st[last].pos = st.pos
	b.members = b.members[:len(b.members)-1]
	if len(b.members) == 0 {
		c := st.class
		delete(c.buckets, b.key)
		wasBest := b.at == 0
		heap.Remove(&c.heap, b.at)
		if wasBest {
			x.fixClass(c)
		}
	}
}

// classOf returns the class of in's attribute values, making it if new.
func (x *index) classOf(in *Instance) *class {
	var values []int32
	var name strings.Builder
	for a, attr := range x.attrs {
		v := in.Attributes[attr]
		id, ok := x.valueIDs[a][v]
		if !ok {
			id = int32(len(x.counts[a]))
			x.valueIDs[a][v] = id
			x.counts[a] = append(x.counts[a], 0)
			x.byValue[a] = append(x.byValue[a], nil)
		}
		values = append(values, id)
		name.WriteString(v)
		name.WriteByte(0)
	}
	c := x.classes[name.String()]
	if c == nil {
		c = &class{values: values, buckets: map[sortKey]*bucket{}, at: -1}
		x.classes[name.String()] = c
		for a, id := range values {
			x.byValue[a][id] = append(x.byValue[a][id], c)
		}
	}
	return c
}

// addCount adds n tasks of the group to the attribute values of class c,
// and re-orders every class that shares one of them.
func (x *index) addCount(c *class, n int) {
	for a, id := range c.values {
		x.counts[a][id] += n
		for _, other := range x.byValue[a][id] {
			x.fixClass(other)
		}
	}
}

// fixClass restores the heap after c's key changed; classes with no
// feasible instance leave it.
func (x *index) fixClass(c *class) {
	switch {
	case len(c.heap) == 0 && c.at >= 0:
		heap.Remove(&x.heap, c.at)
	case len(c.heap) > 0 && c.at < 0:
		heap.Push(&x.heap, classItem{x, c})
	case c.at >= 0:
		heap.Fix(&x.heap, c.at)
	}
}

// key is the instance-level part of in's ranking key; lower is better.
func (x *index) key(in *Instance) sortKey {
	var k sortKey
	for si, s := range x.strat {
		switch {
		case s.Type == "binpack" && s.Field == "cpu":
			k[si] = in.CPU
		case s.Type == "binpack":
			k[si] = in.Memory
		case x.spreadOf[si] < 0: // spread by instance
			k[si] = in.TaskGroups[x.r.Group]
		}
	}
	return k
}

// compare orders the best buckets of two classes by the whole key.
func (x *index) compare(a, b *class) int {
	ka, kb := a.heap[0].key, b.heap[0].key
	for si := range x.strat {
		va, vb := ka[si], kb[si]
		if sp := x.spreadOf[si]; sp >= 0 {
			va, vb = x.counts[sp][a.values[sp]], x.counts[sp][b.values[sp]]
		}
		if va != vb {
			if va < vb {
				return -1
			}
			return 1
		}
	}
	return 0
}

// Pick returns a best feasible instance, chosen uniformly among those that
// tie, or -1 when none is feasible.
func (x *index) Pick(rng *rand.Rand) int {
	if len(x.heap) == 0 {
		return -1
	}
	// The classes tying with the root form a subtree at the heap's top.
	top := x.heap[0].c
	tied := []*bucket{top.heap[0]}
	total := len(top.heap[0].members)
	stack := []int{1, 2}
	for len(stack) > 0 {
		j := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if j >= len(x.heap) || x.compare(x.heap[j].c, top) != 0 {
			continue
		}
		b := x.heap[j].c.heap[0]
		tied = append(tied, b)
		total += len(b.members)
		stack = append(stack, 2*j+1, 2*j+2)
	}
	n := rng.IntN(total)
	for _, b := range tied {
		if n < len(b.members) {
			return b.members[n]
		}
		n -= len(b.members)
	}
	panic("unreachable")
}

// classItem is a class in the index's heap.
type classItem struct {
	x *index
	c *class
}

type classHeap []classItem

func (h classHeap) Len() int           { return len(h) }
func (h classHeap) Less(i, j int) bool { return h[i].x.compare(h[i].c, h[j].c) < 0 }
func (h classHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].c.at, h[j].c.at = i, j
}
func (h *classHeap) Push(v any) {
	it := v.(classItem)
	it.c.at = len(*h)
	*h = append(*h, it)
}
func (h *classHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	it.c.at = -1
	*h = old[:len(old)-1]
	return it
}

type bucketHeap []*bucket

func (h bucketHeap) Len() int { return len(h) }
func (h bucketHeap) Less(i, j int) bool {
	for si := range h[i].key {
		if h[i].key[si] != h[j].key[si] {
			return h[i].key[si] < h[j].key[si]
		}
	}
	return false
}
func (h bucketHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].at, h[j].at = i, j
}
func (h *bucketHeap) Push(v any) {
	b := v.(*bucket)
	b.at = len(*h)
	*h = append(*h, b)
}
func (h *bucketHeap) Pop() any {
	old := *h
	b := old[len(old)-1]
	b.at = -1
	*h = old[:len(old)-1]
	return b
}
