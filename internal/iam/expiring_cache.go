package iam

import (
	"container/heap"
	"sync"
	"time"
)

// expiringCache maps keys to values that each stop being valid at a time
// of their own, holding at most max of them. Its entries are also kept in
// a heap ordered by expiry: each put drops the expired ones from its top
// and, when the cache is full, the one that would expire first; so no
// operation looks at more than the entries it drops, however many there
// are.
type expiringCache[V any] struct {
	max int

	mu   sync.Mutex
	m    map[string]*expiringEntry[V]
	heap expiryHeap[V]
}

type expiringEntry[V any] struct {
	key     string
	value   V
	expires time.Time
	index   int // in the heap
}

func newExpiringCache[V any](max int) *expiringCache[V] {
	return &expiringCache[V]{max: max, m: map[string]*expiringEntry[V]{}}
}

// get returns the value of key if it has not expired at now.
func (c *expiringCache[V]) get(key string, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || !now.Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.value, true
}

// put sets key's value until expires, evicting what has expired at now.
func (c *expiringCache[V]) put(key string, v V, expires, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		e.value, e.expires = v, expires
		heap.Fix(&c.heap, e.index)
	} else {
		e := &expiringEntry[V]{key: key, value: v, expires: expires}
		c.m[key] = e
		heap.Push(&c.heap, e)
	}
	for len(c.heap) > 0 && (!now.Before(c.heap[0].expires) || len(c.heap) > c.max) {
		e := heap.Pop(&c.heap).(*expiringEntry[V])
		delete(c.m, e.key)
	}
}

// len is the number of entries held, expired ones not yet evicted included.
func (c *expiringCache[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// expiryHeap is a min-heap of entries by expiry (container/heap.Interface).
type expiryHeap[V any] []*expiringEntry[V]

func (h expiryHeap[V]) Len() int           { return len(h) }
func (h expiryHeap[V]) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h expiryHeap[V]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *expiryHeap[V]) Push(x any) {
	e := x.(*expiringEntry[V])
	e.index = len(*h)
	*h = append(*h, e)
}

func (h *expiryHeap[V]) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
