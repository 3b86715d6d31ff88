package logs

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPickBatches checks, on random streams with overlapping batches and
// equal timestamps, that the batches picked from their keys hold exactly
// the page that reading every batch gives.
func TestPickBatches(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 2000 {
		var refs []batchRef
		var all []stored
		for seq := int64(1); seq <= int64(1+rng.IntN(30)); seq++ {
			start := rng.Int64N(200)
			ts := make([]int64, 1+rng.IntN(5))
			for i := range ts {
				ts[i] = start + rng.Int64N(40)
			}
			slices.Sort(ts)
			for i, x := range ts {
				all = append(all, stored{event: event{Timestamp: x}, Seq: seq, Index: i})
			}
			refs = append(refs, batchRef{Seq: seq, Min: ts[0], Max: ts[len(ts)-1], Count: len(ts)})
		}
		w := window{lo: 0, hi: math.MaxInt64, forward: rng.IntN(2) == 0}
		if rng.IntN(2) == 0 {
			w.lo = rng.Int64N(150)
		}
		if rng.IntN(2) == 0 {
			w.hi = w.lo + rng.Int64N(150)
		}
		if rng.IntN(2) == 0 {
			e := all[rng.IntN(len(all))]
			w.hasCursor, w.cursor = true, e.pos()
		}
		n := 1 + rng.IntN(20)
		page := func(events []stored) []pos {
			var q []pos
			for _, e := range events {
				p := e.pos()
				if e.Timestamp < w.lo || e.Timestamp >= w.hi ||
					(w.hasCursor && w.forward && !w.cursor.less(p)) || (w.hasCursor && !w.forward && !p.less(w.cursor)) {
					continue
				}
				q = append(q, p)
			}
			slices.SortFunc(q, cmpPos)
			if w.forward {
				return q[:min(n, len(q))]
			}
			return q[max(0, len(q)-n):]
		}
		var fromPicked []stored
		for _, r := range pickBatches(refs, w, n) {
			for _, e := range all {
				if e.Seq == r.Seq {
					fromPicked = append(fromPicked, e)
				}
			}
		}
		if want, got := page(all), page(fromPicked); !slices.Equal(want, got) {
			t.Fatalf("trial %d, window %+v, n %d: page from picked batches %v, want %v", trial, w, n, got, want)
		}
	}
}
