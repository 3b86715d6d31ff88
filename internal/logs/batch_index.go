package logs

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/berth-dev/berth/internal/store"
)

// batchRef is a stored batch as its key describes it: a batch's key ends
// in "<seq>.<first timestamp>.<last timestamp>.<events>" (hex), so reads
// choose the batches they need from a keys-only range and decode only
// those.
type batchRef struct {
	Key      string
	Stream   string
	Seq      int64
	Min, Max int64
	Count    int
}

// batchSuffix is the end of a batch's key.
func batchSuffix(seq, min, max int64, count int) string {
	return fmt.Sprintf("%016x.%016x.%016x.%04x", seq, min, max, count)
}

// batchRefs lists the batches whose keys start with prefix. In a group
// scan the stream name precedes the suffix ("<stream>:<suffix>").
func (s *Service) batchRefs(ctx context.Context, prefix string, stream string) ([]batchRef, error) {
	keys, err := s.store.Keys(ctx, prefix)
	if err != nil {
		return nil, err
	}
	refs := make([]batchRef, 0, len(keys))
	for _, key := range keys {
		r := batchRef{Key: key, Stream: stream}
		rest := key[len(prefix):]
		if stream == "" {
			end := strings.LastIndexByte(rest, ':')
			if end < 0 {
				return nil, fmt.Errorf("log batch key %s: no stream", key)
			}
			r.Stream, rest = rest[:end], rest[end+1:]
		}
		if _, err := fmt.Sscanf(rest, "%016x.%016x.%016x.%04x", &r.Seq, &r.Min, &r.Max, &r.Count); err != nil {
			return nil, fmt.Errorf("log batch key %s: %w", key, err)
		}
		refs = append(refs, r)
	}
	return refs, nil
}

// loadBatches decodes the batches refs name into their events, in as few
// etcd round trips as transactions allow.
func (s *Service) loadBatches(ctx context.Context, refs []batchRef) ([]groupEvent, error) {
	keys := make([]string, len(refs))
	for i, r := range refs {
		keys[i] = r.Key
	}
	batches, err := store.GetMany[batch](ctx, s.store, keys)
	if err != nil {
		return nil, fmt.Errorf("read log batches: %w", err)
	}
	var out []groupEvent
	i := 0
	for _, b := range batches { // in the order of refs, without those deleted meanwhile
		for refs[i].Key != b.Key {
			i++
		}
		r := refs[i]
		for j, e := range b.Value.Events {
			out = append(out, groupEvent{stored{e, b.Value.Ingestion, r.Seq, j}, r.Stream})
		}
	}
	return out, nil
}

// window is what a GetLogEvents page may hold: events with lo <= timestamp
// < hi, after the cursor (forward) or before it (backward).
type window struct {
	lo, hi    int64
	forward   bool
	hasCursor bool
	cursor    pos
}

// pickBatches returns the batches that hold the first n events of w in
// its direction; which ones is read from their keys. The batches are
// taken in order of their first (forward) or last (backward) timestamp
// until those lying wholly inside w hold n events; the n-th event then
// lies within the timestamps they cover, so every other batch reaching
// that far is taken too, and no other batch can hold any of the n.
func pickBatches(refs []batchRef, w window, n int) []batchRef {
	var cands []batchRef
	for _, r := range refs {
		if r.Max < w.lo || r.Min >= w.hi {
			continue
		}
		if w.hasCursor && ((w.forward && r.Max < w.cursor.Timestamp) || (!w.forward && r.Min > w.cursor.Timestamp)) {
			continue
		}
		cands = append(cands, r)
	}
	inside := func(r batchRef) bool {
		if r.Min < w.lo || r.Max >= w.hi {
			return false
		}
		if !w.hasCursor {
			return true
		}
		if w.forward {
			return r.Min > w.cursor.Timestamp
		}
		return r.Max < w.cursor.Timestamp
	}
	if w.forward {
		slices.SortFunc(cands, func(a, b batchRef) int { return cmp.Compare(a.Min, b.Min) })
	} else {
		slices.SortFunc(cands, func(a, b batchRef) int { return cmp.Compare(b.Max, a.Max) })
	}
	// bound is, forward, the latest timestamp of the inside batches
	// counted and, backward, their earliest.
	count, bound := 0, int64(0)
	for _, r := range cands {
		if !inside(r) {
			continue
		}
		switch {
		case count == 0 && w.forward:
			bound = r.Max
		case count == 0:
			bound = r.Min
		case w.forward:
			bound = max(bound, r.Max)
		default:
			bound = min(bound, r.Min)
		}
		count += r.Count
		if count >= n {
			break
		}
	}
	if count < n {
		return cands
	}
	picked := cands[:0:0]
	for _, r := range cands {
		if (w.forward && r.Min <= bound) || (!w.forward && r.Max >= bound) {
			picked = append(picked, r)
		}
	}
	return picked
}
