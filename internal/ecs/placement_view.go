package ecs

import "github.com/berth-dev/berth/internal/placement"

// clusterView is a cluster placer's picture of its cluster from one batch
// to the next: the cache entries it last read and a placement.Cluster over
// their views, whose indexes of feasible instances are kept rather than
// rebuilt. Each batch re-reads only the instances whose entry or agent
// connection changed since the last, so a batch costs what it places, not
// the size of the cluster. It belongs to the placer and is used under its
// lock.
type clusterView struct {
	entries []*cachedInstance
	conn    []bool
	place   *placement.Cluster
	// stale lists instances a batch reserved on: their views hold
	// reservations that are in the store only if the batch committed, so
	// the next batch re-reads them from the cache either way.
	stale []int
}

// sync brings the view up to a snapshot of the cache. Instances keep their
// positions while the cluster's membership stays the same; a registration
// or deregistration rebuilds the view.
func (v *clusterView) sync(items []*cachedInstance, connected []bool) {
	if v.place == nil || len(items) != len(v.entries) {
		v.rebuild(items, connected)
		return
	}
	for _, i := range v.stale {
		v.entries[i] = nil
	}
	v.stale = v.stale[:0]
	var changed []int
	for i, it := range items {
		if it == v.entries[i] && connected[i] == v.conn[i] {
			continue
		}
		if v.entries[i] != nil && v.entries[i].key != it.key {
			v.rebuild(items, connected)
			return
		}
		changed = append(changed, i)
	}
	for _, i := range changed {
		if v.entries[i] == nil && v.place.Instances[i].ARN != items[i].view.ARN {
			v.rebuild(items, connected)
			return
		}
	}
	for _, i := range changed {
		v.entries[i], v.conn[i] = items[i], connected[i]
		v.place.Instances[i] = viewOf(items[i], connected[i])
		v.place.Changed(i)
	}
}

func (v *clusterView) rebuild(items []*cachedInstance, connected []bool) {
	views := make([]placement.Instance, len(items))
	for i, it := range items {
		views[i] = viewOf(it, connected[i])
	}
	v.entries, v.conn, v.stale = items, connected, nil
	v.place = placement.NewCluster(views)
}

// reserved records that a batch reserved on these instances.
func (v *clusterView) reserved(picks []int) {
	v.stale = append(v.stale, picks...)
}

func viewOf(it *cachedInstance, connected bool) placement.Instance {
	view := it.view
	view.Connected = connected
	return view
}
