package ecs

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"

	"github.com/berth-dev/berth/internal/store"
)

// clusterPlacer serializes one cluster's placements in this process and
// groups concurrent RunTask calls into one etcd transaction: a call queues
// its request and takes mu; whoever holds mu places everything queued so
// far, one request after another on the same views, and commits them
// together. Each request's tasks are still all-or-nothing, and the
// transaction is still conditional on every instance revision it read, so
// grouping changes only how many commits the store makes.
type clusterPlacer struct {
	mu    sync.Mutex // held while placing and committing
	view  clusterView
	qmu   sync.Mutex // guards queue
	queue []*placeRequest
}

// placeRequest is one RunTask call waiting in a cluster's queue.
type placeRequest struct {
	ctx context.Context
	*launchPlan
	done chan placeResult // buffered: the leader never blocks on it
	// nowhere holds why no task of the request fit the batch's view, when
	// none did: the answer, if the store holds nothing newer.
	nowhere []Failure
}

type placeResult struct {
	out *RunTaskOutput
	err error
}

// placer returns the cluster's placer.
func (s *Service) placer(cluster string) *clusterPlacer {
	p, _ := s.placing.LoadOrStore(cluster, &clusterPlacer{})
	return p.(*clusterPlacer)
}

// launchBatched queues r and returns its outcome, placing and committing
// the queue itself, batch after batch, until r has been answered.
func (s *Service) launchBatched(cluster string, r *placeRequest) (*RunTaskOutput, error) {
	p := s.placer(cluster)
	p.qmu.Lock()
	p.queue = append(p.queue, r)
	p.qmu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		select {
		case res := <-r.done: // answered, by this call or an earlier one
			return res.out, res.err
		default:
		}
		p.qmu.Lock()
		batch := p.queue
		p.queue = nil
		p.qmu.Unlock()
		if len(batch) == 0 {
			// r was taken by a batch that never answered (its leader
			// panicked): fail rather than wait for ever.
			return nil, errors.New("placement: request lost by an aborted batch")
		}
		later := s.placeBatch(cluster, &p.view, batch)
		if len(later) > 0 {
			p.qmu.Lock()
			p.queue = append(later, p.queue...)
			p.qmu.Unlock()
		}
	}
}

// placeBatch places the requests on the cached view of the cluster and
// commits all their tasks in one transaction. A request that does not fit
// entirely is withdrawn from the batch and answered afterwards from a fresh
// read of the store, as an unbatched call would be. Requests that would
// overflow the transaction are returned, unanswered, for the next batch; a
// second request with a client token already in the batch is answered
// ErrConflict, so that its retry finds the first one's tasks.
func (s *Service) placeBatch(cluster string, view *clusterView, batch []*placeRequest) (later []*placeRequest) {
	view.sync(s.cache.since(cluster, view.gen, view.stale))
	candidates, instances := view.entries, view.place
	rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	var placed, slow, conflicted []*placeRequest
	var picks [][]int
	touched := map[int]bool{}
	tokens := map[string]bool{}
	// etcd refuses a transaction with too many operations or comparisons.
	maxOps := s.store.MaxTxnOps()
	puts, conds := 0, 0
	for _, r := range batch {
		if len(candidates) == 0 {
			slow = append(slow, r)
			continue
		}
		if tok := r.in.ClientToken; tok != "" && tokens[tok] {
			conflicted = append(conflicted, r)
			continue
		}
		result := instances.Place(r.req, r.count, rng)
		view.reserved(result.Placed)
		undo := func() {
			for _, i := range result.Placed {
				instances.Unreserve(i, r.req)
			}
		}
		if len(result.Failures) > 0 {
			undo()
			r.nowhere = nil
			if len(result.Placed) == 0 {
				r.nowhere = view.refusals(result.Failures)
			}
			slow = append(slow, r)
			continue
		}
		newInst := map[int]bool{}
		for _, i := range result.Placed {
			if !touched[i] {
				newInst[i] = true
			}
		}
		p, c := 2*len(result.Placed)+len(newInst), len(newInst)
		if r.in.ClientToken != "" {
			p, c = p+1, c+1
		}
		if len(placed) > 0 && (puts+p > maxOps || conds+c > maxOps) {
			undo()
			later = append(later, r)
			continue
		}
		puts, conds = puts+p, conds+c
		for i := range newInst {
			touched[i] = true
		}
		if r.in.ClientToken != "" {
			tokens[r.in.ClientToken] = true
		}
		placed = append(placed, r)
		picks = append(picks, result.Placed)
	}
	if len(placed) > 0 {
		outs, err := s.commitBatch(placed, picks, candidates, cluster)
		for i, r := range placed {
			if err != nil {
				r.done <- placeResult{err: err}
			} else {
				r.done <- placeResult{out: outs[i]}
			}
		}
	}
	for _, r := range conflicted {
		r.done <- placeResult{err: store.ErrConflict}
	}
	// One fresh read of the store serves every withdrawn request: each was
	// queued before it started, so it is as fresh as a read of its own,
	// and the commits of those answered first are in the cache already.
	var reloadErr error
	unchanged := false
	if len(slow) > 0 {
		if reloadErr = s.cache.catchUp(context.WithoutCancel(slow[0].ctx), cluster); reloadErr == nil {
			// When the store holds nothing the view does not, a request
			// none of whose tasks fit is answered from the view: a fresh
			// placement would find the same (and on a full cluster of
			// thousands this is most requests).
			d := s.cache.since(cluster, view.gen, view.stale)
			unchanged = !d.full && len(d.positions) == 0
			view.sync(d)
		}
	}
	for _, r := range slow {
		if reloadErr != nil {
			r.done <- placeResult{err: reloadErr}
			continue
		}
		if unchanged && len(r.nowhere) > 0 {
			r.done <- placeResult{out: &RunTaskOutput{Tasks: []Task{}, Failures: r.nowhere}}
			continue
		}
		out, err := s.placeFinal(r.ctx, r.launchPlan, false)
		r.done <- placeResult{out: out, err: err}
	}
	return later
}

// commitBatch writes the tasks of every placed request, the new
// reservations of the instances they landed on (conditional on the
// revisions read) and the requests' client tokens, in one transaction.
func (s *Service) commitBatch(batch []*placeRequest, picks [][]int, candidates []*cachedInstance, cluster string) ([]*RunTaskOutput, error) {
	txn := store.NewTxn()
	touched := map[int]*instanceRecord{}
	outs := make([]*RunTaskOutput, len(batch))
	for n, r := range batch {
		out := &RunTaskOutput{Tasks: []Task{}, Failures: []Failure{}}
		var ids []string
		for _, idx := range picks[n] {
			inst := writable(touched, candidates, idx, txn)
			rec := s.newTask(r.launchPlan, inst)
			inst.Usage.add(r.res)
			txn.Put(s.keys.task(cluster, rec.ID), rec)
			txn.Put(s.keys.assignment(inst.ID, rec.ID), assignment{TaskID: rec.ID, Cluster: cluster, DesiredStatus: "RUNNING"})
			out.Tasks = append(out.Tasks, rec.Task)
			ids = append(ids, rec.ID)
		}
		if r.in.ClientToken != "" && len(ids) > 0 {
			key := s.keys.token("runtask", r.in.ClientToken)
			txn.IfAbsent(key).Put(key, tokenRecord{TaskDefinition: r.in.TaskDefinition, TaskIDs: ids, Cluster: cluster})
		}
		outs[n] = out
	}
	keys := make([]string, 0, len(touched))
	for idx, inst := range touched {
		putInstance(txn, candidates[idx], inst)
		keys = append(keys, candidates[idx].key)
	}
	// The commit serves every caller in the batch, so no one caller's
	// cancellation may abandon it half-way for the others.
	ctx := context.WithoutCancel(batch[0].ctx)
	if _, err := s.commitPlacement(ctx, txn, keys, touched, candidates); err != nil {
		return nil, err
	}
	for _, out := range outs {
		for _, t := range out.Tasks {
			s.log.Info("task placed", "cluster", cluster, "task", t.TaskArn, "containerInstance", t.ContainerInstanceArn)
		}
	}
	return outs, nil
}

// putInstance adds the write of inst, a changed copy of cand's record with
// the same registration, to txn.
func putInstance(txn *store.Txn, cand *cachedInstance, inst *instanceRecord) {
	reg, err := cand.registrationJSON()
	var enc []byte
	if err == nil {
		enc, err = encodeInstanceRecord(inst, reg)
	}
	if err != nil {
		txn.Put(cand.key, inst) // reports the encoding error at commit
		return
	}
	txn.PutJSON(cand.key, enc)
}

// commitPlacement commits a placement's transaction and caches the
// instance records it wrote, so the next placement does not race the
// watch (whose echo of this write is then recognised and not decoded).
// After a conflict it re-reads the instances, so the retry sees what beat
// it without waiting for the watch.
func (s *Service) commitPlacement(ctx context.Context, txn *store.Txn, keys []string, touched map[int]*instanceRecord, candidates []*cachedInstance) (int64, error) {
	s.cache.expect(keys)
	rev, err := s.store.CommitRev(ctx, txn)
	written := map[string]writtenRecord{}
	if err == nil {
		for idx, inst := range touched {
			written[candidates[idx].key] = writtenRecord{rec: *inst, enc: candidates[idx].enc.b}
		}
	}
	s.cache.settle(keys, written, rev)
	if errors.Is(err, store.ErrConflict) {
		s.cache.refresh(ctx, keys)
	}
	return rev, err
}
