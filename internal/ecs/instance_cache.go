package ecs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berth-dev/berth/internal/placement"
	"github.com/berth-dev/berth/internal/store"
)

// instanceCache mirrors every container instance record and agent
// connection marker in memory, fed by etcd watches, so a placement reads
// its cluster without decoding thousands of records. It is only ever a
// hint: placements commit conditionally on the revision they read, so a
// stale entry costs a retry, never an over-commit.
type instanceCache struct {
	svc *Service
	// lmu serializes loads; loaded is set once the records are loaded and
	// followed, on bg (the server's context, or one that never ends).
	lmu    sync.Mutex
	loaded atomic.Bool
	bg     context.Context
	// onLoaded, in tests, runs after each load, before the watches start.
	onLoaded func(rev int64)

	mu        sync.RWMutex
	clusters  map[string]*clusterEntries // by cluster name
	connected map[string]bool            // instance id -> agent connected

	hmu      sync.Mutex
	inflight map[string]int       // keys this process is committing -> commits in flight
	held     map[string]heldEvent // newest watch event of an inflight key, undecoded

	// instRev and connRev are the store revisions the two watches have
	// delivered everything up to: the cache is as fresh as the smaller.
	instRev, connRev atomic.Int64
}

// writtenRecord is an instance record this process committed, with the
// encoding of its registration.
type writtenRecord struct {
	rec instanceRecord
	enc []byte
}

// heldEvent is a watch event kept back while this process commits the key.
type heldEvent struct {
	value []byte
	rev   int64
}

// clusterEntries keeps a cluster's entries in key order, so a snapshot is
// a copy rather than a sort, and notes what changed for the cluster's
// placer, so that it need not compare every entry before each batch.
type clusterEntries struct {
	list []*cachedInstance // sorted by key
	pos  map[string]int    // instance id -> index in list
	// gen counts membership changes (an insert or removal moves the
	// entries after it); dirty holds the positions whose entry or agent
	// connection changed since the placer last looked.
	gen   uint64
	dirty map[int]bool
}

func newClusterEntries() *clusterEntries {
	return &clusterEntries{pos: map[string]int{}, gen: 1, dirty: map[int]bool{}}
}

func (ce *clusterEntries) get(id string) *cachedInstance {
	if ce == nil {
		return nil
	}
	if i, ok := ce.pos[id]; ok {
		return ce.list[i]
	}
	return nil
}

// set replaces the entry of e's instance, or inserts it in key order.
func (ce *clusterEntries) set(e *cachedInstance) {
	if i, ok := ce.pos[e.rec.ID]; ok {
		ce.list[i] = e
		ce.dirty[i] = true
		return
	}
	i, _ := slices.BinarySearchFunc(ce.list, e.key, func(x *cachedInstance, k string) int { return strings.Compare(x.key, k) })
	ce.list = slices.Insert(ce.list, i, e)
	ce.reindex(i)
	ce.gen++
}

func (ce *clusterEntries) remove(id string) {
	if i, ok := ce.pos[id]; ok {
		ce.list = slices.Delete(ce.list, i, i+1)
		delete(ce.pos, id)
		ce.reindex(i)
		ce.gen++
	}
}

// reindex records the positions of entries from index i on.
func (ce *clusterEntries) reindex(i int) {
	for ; i < len(ce.list); i++ {
		ce.pos[ce.list[i].rec.ID] = i
	}
}

// cachedInstance is one record with its revision and precomputed view.
type cachedInstance struct {
	key  string
	rev  int64
	rec  instanceRecord
	view placement.Instance // Connected is filled in at snapshot time
	enc  instanceJSON       // the registration's encoding, made on first use
}

func newInstanceCache(s *Service) *instanceCache {
	return &instanceCache{svc: s, bg: context.Background(), clusters: map[string]*clusterEntries{}, connected: map[string]bool{},
		inflight: map[string]int{}, held: map[string]heldEvent{}}
}

// Loading and following: the first placement loads the records (a failure
// is that request's error, retried by the next one) and starts the watches
// on the cache's own context. A watch that ends — its revision compacted,
// its stream cut — is not given up: the cache reloads everything and
// watches again, retrying with bounded backoff until the context ends.

// RunInstanceCache loads the instance cache ahead of the first placement
// and keeps it current until ctx ends (the server's lifetime); without it,
// the first placement loads it and it follows the store until the store
// closes.
func (s *Service) RunInstanceCache(ctx context.Context) {
	c := s.cache
	c.lmu.Lock()
	c.bg = ctx
	c.lmu.Unlock()
	for wait := watchRetryMin; ctx.Err() == nil; wait = min(2*wait, watchRetryMax) {
		err := c.start(ctx)
		if err == nil {
			return
		}
		s.log.Warn("instance cache: load failed; retrying", "err", err, "in", wait)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// Bounds of the backoff between attempts to reload or re-watch.
const (
	watchRetryMin = 100 * time.Millisecond
	watchRetryMax = 5 * time.Second
)

// start makes sure the records are loaded and followed. A failed load is
// returned, not remembered: the next call tries again.
func (c *instanceCache) start(ctx context.Context) error {
	if c.loaded.Load() {
		return nil
	}
	c.lmu.Lock()
	defer c.lmu.Unlock()
	if c.loaded.Load() {
		return nil
	}
	rev, err := c.load(ctx)
	if err != nil {
		return fmt.Errorf("load container instances: %w", err)
	}
	c.loaded.Store(true)
	go c.keepFollowing(c.bg, rev)
	return nil
}

// load reads every record and connection marker at one revision and makes
// the cache match them, dropping entries that are gone; it returns the
// revision read.
func (c *instanceCache) load(ctx context.Context) (int64, error) {
	instPrefix, connPrefix := c.svc.keys.prefix+"instance/", c.svc.keys.connected("")
	recs, rev, err := c.svc.store.ListRaw(ctx, instPrefix, 0, false)
	if err != nil {
		return 0, err
	}
	conns, _, err := c.svc.store.ListRaw(ctx, connPrefix, rev, true)
	if err != nil {
		return 0, err
	}
	present := make(map[string]bool, len(recs))
	for _, r := range recs {
		present[r.Key] = true
		c.apply(r.Key, r.Value, r.Rev)
	}
	connected := make(map[string]bool, len(conns))
	for _, r := range conns {
		connected[lastSegment(r.Key)] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ce := range c.clusters {
		// Entries newer than the read are this process's own commits.
		var gone []string
		for _, e := range ce.list {
			if !present[e.key] && e.rev <= rev {
				gone = append(gone, e.rec.ID)
			}
		}
		for _, id := range gone {
			ce.remove(id)
		}
	}
	for id := range c.connected {
		if !connected[id] {
			c.setConnected(id, false)
		}
	}
	for id := range connected {
		c.setConnected(id, true)
	}
	return rev, nil
}

// keepFollowing follows the store from revision rev, reloading and
// watching again whenever a watch ends, until ctx ends or the store
// closes.
func (c *instanceCache) keepFollowing(ctx context.Context, rev int64) {
	for {
		if c.onLoaded != nil {
			c.onLoaded(rev)
		}
		c.instRev.Store(rev)
		c.connRev.Store(rev)
		err := c.follow(ctx, rev)
		wait := watchRetryMin
		for {
			if ctx.Err() != nil || c.svc.store.Closed() {
				return
			}
			c.svc.log.Warn("instance cache: watch ended; reloading", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			if rev, err = c.load(ctx); err == nil {
				break
			}
			wait = min(2*wait, watchRetryMax)
		}
	}
}

// follow applies the watch events after revision rev until a watch ends,
// and says why it ended.
func (c *instanceCache) follow(ctx context.Context, rev int64) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	insts := c.svc.store.Watch(wctx, c.svc.keys.prefix+"instance/", rev+1)
	conns := c.svc.store.Watch(wctx, c.svc.keys.connected(""), rev+1)
	for {
		var ch store.Changes
		var ok bool
		select {
		case ch, ok = <-insts:
			if ok && ch.Err == nil {
				for _, ev := range ch.Events {
					if ev.Delete {
						c.remove(ev.Key)
						continue
					}
					c.apply(ev.Key, ev.Value, ev.Rev)
				}
				advance(&c.instRev, ch.Rev)
			}
		case ch, ok = <-conns:
			if ok && ch.Err == nil {
				c.mu.Lock()
				for _, ev := range ch.Events {
					c.setConnected(lastSegment(ev.Key), !ev.Delete)
				}
				c.mu.Unlock()
				advance(&c.connRev, ch.Rev)
			}
		}
		switch {
		case !ok:
			return errors.New("watch closed")
		case ch.Err != nil:
			return ch.Err
		}
	}
}

// apply stores a record version unless a newer one is already cached.
// Most events are this process's own placements, cached at commit time:
// those are recognised by key and revision and not decoded again.
func (c *instanceCache) apply(key string, value []byte, rev int64) {
	c.hmu.Lock()
	if c.inflight[key] > 0 {
		if h, ok := c.held[key]; !ok || h.rev < rev {
			c.held[key] = heldEvent{value, rev}
		}
		c.hmu.Unlock()
		return
	}
	c.hmu.Unlock()
	cluster, id, _ := strings.Cut(strings.TrimPrefix(key, c.svc.keys.prefix+"instance/"), "/")
	c.mu.RLock()
	old := c.clusters[cluster].get(id)
	c.mu.RUnlock()
	if old != nil && old.rev >= rev {
		return
	}
	var rec instanceRecord
	if json.Unmarshal(value, &rec) != nil {
		return
	}
	c.put(key, rec, rev)
}

// expect marks keys this process is about to commit: their watch events,
// most likely its own write coming back, are held undecoded until settle.
func (c *instanceCache) expect(keys []string) {
	c.hmu.Lock()
	for _, k := range keys {
		c.inflight[k]++
	}
	c.hmu.Unlock()
}

// settle caches the records this process committed at rev (none when the
// commit failed), then applies whatever held-back event is newer.
func (c *instanceCache) settle(keys []string, written map[string]writtenRecord, rev int64) {
	for k, w := range written {
		c.putEncoded(k, w.rec, rev, w.enc)
	}
	held := map[string]heldEvent{}
	c.hmu.Lock()
	for _, k := range keys {
		if c.inflight[k]--; c.inflight[k] <= 0 {
			delete(c.inflight, k)
			if h, ok := c.held[k]; ok {
				held[k] = h
				delete(c.held, k)
			}
		}
	}
	c.hmu.Unlock()
	for k, h := range held {
		c.apply(k, h.value, h.rev) // skipped undecoded when it is our own write
	}
}

func (c *instanceCache) put(key string, rec instanceRecord, rev int64) {
	c.putEncoded(key, rec, rev, nil)
}

// putEncoded is put for a record whose registration is known to encode as
// enc (nil: not known), so the next placement need not encode it again.
func (c *instanceCache) putEncoded(key string, rec instanceRecord, rev int64, enc []byte) {
	e := &cachedInstance{key: key, rev: rev, rec: rec}
	if enc != nil {
		e.enc.once.Do(func() { e.enc.b = enc })
	}
	e.view = placementView(&e.rec, false) // outside the lock: snapshots wait on it
	c.mu.Lock()
	defer c.mu.Unlock()
	ce := c.clusters[rec.Cluster]
	if ce == nil {
		ce = newClusterEntries()
		c.clusters[rec.Cluster] = ce
	}
	if old := ce.get(rec.ID); old != nil && old.rev >= rev {
		return
	}
	ce.set(e)
}

func (c *instanceCache) remove(key string) {
	rest := strings.TrimPrefix(key, c.svc.keys.prefix+"instance/")
	cluster, id, _ := strings.Cut(rest, "/")
	c.mu.Lock()
	if ce := c.clusters[cluster]; ce != nil {
		ce.remove(id)
	}
	c.mu.Unlock()
}

// snapshot returns the cluster's entries and whether each one's agent is
// connected. Entries are immutable (put replaces them), so they are shared,
// not copied; callers copy a record before changing it.
func (c *instanceCache) snapshot(cluster string) ([]*cachedInstance, []bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []*cachedInstance
	if ce := c.clusters[cluster]; ce != nil {
		out = slices.Clone(ce.list)
	}
	conn := make([]bool, len(out))
	for i, e := range out {
		conn[i] = c.connected[e.rec.ID]
	}
	return out, conn
}

// setConnected records whether an instance's agent is connected and marks
// the instance changed for its cluster's placer. The caller holds mu.
func (c *instanceCache) setConnected(id string, connected bool) {
	if c.connected[id] == connected {
		return
	}
	c.connected[id] = connected
	for _, ce := range c.clusters {
		if i, ok := ce.pos[id]; ok {
			ce.dirty[i] = true
		}
	}
}

// clusterDelta is what a cluster's placer needs to bring its view up to
// date: every entry when the membership changed since the generation it
// holds, otherwise only the positions that changed.
type clusterDelta struct {
	gen       uint64
	full      bool
	positions []int // with full, every position
	entries   []*cachedInstance
	connected []bool
}

// since returns what changed in the cluster since generation gen (0:
// never seen), including the positions in also, which the placer wants
// re-read whatever happened to them. It is for the cluster's one placer:
// looking clears what it reports.
func (c *instanceCache) since(cluster string, gen uint64, also []int) clusterDelta {
	c.mu.Lock()
	defer c.mu.Unlock()
	ce := c.clusters[cluster]
	if ce == nil {
		return clusterDelta{full: true}
	}
	d := clusterDelta{gen: ce.gen, full: gen != ce.gen}
	add := func(i int) {
		e := ce.list[i]
		d.positions = append(d.positions, i)
		d.entries = append(d.entries, e)
		d.connected = append(d.connected, c.connected[e.rec.ID])
	}
	if d.full {
		for i := range ce.list {
			add(i)
		}
	} else {
		for _, i := range also {
			ce.dirty[i] = true
		}
		for i := range ce.dirty {
			add(i)
		}
	}
	clear(ce.dirty)
	return d
}

// refresh re-reads keys from the store after a conflict, so the retry sees
// what beat it without waiting for the watch.
func (c *instanceCache) refresh(ctx context.Context, keys []string) {
	for _, k := range keys {
		it, err := store.Get[instanceRecord](ctx, c.svc.store, k)
		if err == nil {
			c.put(k, it.Value, it.Rev)
		}
	}
}

// advance raises v to rev, never lowers it.
func advance(v *atomic.Int64, rev int64) {
	for {
		cur := v.Load()
		if rev <= cur || v.CompareAndSwap(cur, rev) {
			return
		}
	}
}

// catchUpWait is how long catchUp waits for the watches to deliver what
// the store holds before it reads the store instead.
const catchUpWait = time.Second

// catchUp makes the cache at least as fresh as the store is now, so that
// an instance that registered or connected a moment ago is never missed
// because its watch event is still on the way: it reads the store's
// current revision (one key, whatever the cluster's size) and waits for
// both watches to have delivered it, asking etcd for a progress
// notification when they have nothing to say. Only when that does not
// come soon does it read the cluster's keys (reload).
func (c *instanceCache) catchUp(ctx context.Context, cluster string) error {
	if c.loaded.Load() {
		rev, err := c.svc.store.CurrentRev(ctx)
		if err != nil {
			return err
		}
		fresh := func() bool { return c.instRev.Load() >= rev && c.connRev.Load() >= rev }
		if fresh() {
			return nil
		}
		if err := c.svc.store.RequestProgress(c.bg); err == nil {
			for deadline, wait := time.Now().Add(catchUpWait), 50*time.Microsecond; time.Now().Before(deadline); wait = min(2*wait, 5*time.Millisecond) {
				if fresh() {
					return nil
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(wait):
				}
			}
		}
	}
	return c.reload(ctx, cluster)
}

// reload reads a cluster's instances and the connection markers straight
// from the store. Placements call it before answering with failures, so
// an instance that registered or connected a moment ago is never missed
// because its watch event is still on the way. It lists keys and revisions
// only and reads (and decodes) just the records newer than the cache's:
// on a full cluster most failing placements find nothing new.
func (c *instanceCache) reload(ctx context.Context, cluster string) error {
	keys, _, err := c.svc.store.ListRaw(ctx, c.svc.keys.instances(cluster), 0, true)
	if err != nil {
		return err
	}
	var newer []string
	ids := make([]string, 0, len(keys))
	c.mu.RLock()
	ce := c.clusters[cluster]
	for _, k := range keys {
		id := lastSegment(k.Key)
		ids = append(ids, id)
		if e := ce.get(id); e == nil || e.rev < k.Rev {
			newer = append(newer, k.Key)
		}
	}
	c.mu.RUnlock()
	items, err := store.GetMany[instanceRecord](ctx, c.svc.store, newer)
	if err != nil {
		return err
	}
	conns, err := c.svc.connectedInstances(ctx)
	if err != nil {
		return err
	}
	for _, it := range items {
		c.put(it.Key, it.Value, it.Rev)
	}
	c.mu.Lock()
	for _, id := range ids {
		c.setConnected(id, conns[id])
	}
	c.mu.Unlock()
	return nil
}
