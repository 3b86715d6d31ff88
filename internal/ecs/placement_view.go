package ecs

import "github.com/berth-dev/berth/internal/placement"

// clusterView is a cluster placer's picture of its cluster from one batch
// to the next: the cache entries it last read and a placement.Cluster over
// their views, whose indexes of feasible instances are kept rather than
// rebuilt. Each batch re-reads only the instances the cache reports
// changed (a record or agent connection) since the last, so a batch costs
// what it places, not the size of the cluster. It belongs to the placer
// and is used under its lock.
type clusterView struct {
	gen     uint64 // the cache's membership generation the view was built at
	entries []*cachedInstance
	place   *placement.Cluster
	// stale lists instances a batch reserved on: their views hold
	// reservations that are in the store only if the batch committed, so
	// the next batch re-reads them from the cache either way.
	stale []int
	// refusedFrom and refused are the last failures placement reported
	// and their API form: placement hands every request of a kind the same
	// failures until an instance changes, and on a full cluster of
	// thousands most requests are answered with them.
	refusedFrom []placement.Failure
	refused     []Failure
}

// refusals returns fs in the API's form, shared by the requests refused
// the same way; whoever answers with them reads them and never writes them.
// Its capacity is its length, so an append copies.
func (v *clusterView) refusals(fs []placement.Failure) []Failure {
	if len(fs) > 0 && len(fs) == len(v.refusedFrom) && &fs[0] == &v.refusedFrom[0] {
		return v.refused
	}
	out := make([]Failure, len(fs))
	for i, f := range fs {
		out[i] = Failure{Arn: f.ARN, Reason: f.Reason}
	}
	v.refusedFrom, v.refused = fs, out
	return out
}

// sync brings the view up to what the cache holds of the cluster.
// Instances keep their positions while the cluster's membership stays the
// same; a registration or deregistration rebuilds the view.
func (v *clusterView) sync(d clusterDelta) {
	v.stale = v.stale[:0]
	if d.full || v.place == nil {
		views := make([]placement.Instance, len(d.entries))
		for i, it := range d.entries {
			views[i] = viewOf(it, d.connected[i])
		}
		v.gen, v.entries, v.place = d.gen, d.entries, placement.NewCluster(views)
		return
	}
	for k, i := range d.positions {
		v.entries[i] = d.entries[k]
		v.place.Instances[i] = viewOf(d.entries[k], d.connected[k])
		v.place.Changed(i)
	}
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
