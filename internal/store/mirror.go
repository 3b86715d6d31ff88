package store

import (
	"context"
	"encoding/json"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Mirror keeps the decoded records under a prefix and brings them up to
// date on each Sync at the cost of what changed: one keys-only range read
// (keys and revisions, no values), then the values of new or modified keys
// only. A Sync is as fresh as List — a linearizable read, so it sees every
// write committed before it — for a fraction of the decoding when few
// records change between Syncs, as with a scheduler's periodic passes.
// A Mirror is not safe for concurrent use.
type Mirror[T any] struct {
	prefix string
	items  map[string]Item[T]
}

// NewMirror returns an empty mirror of the records under prefix.
func NewMirror[T any](prefix string) *Mirror[T] {
	return &Mirror[T]{prefix: prefix, items: map[string]Item[T]{}}
}

// mirrorBatch is how many changed keys one transaction fetches; etcd
// refuses transactions of more than 128 operations by default.
const mirrorBatch = 128

// Sync refreshes the mirror and returns every record, in key order. The
// returned values are shared with the mirror: callers must not modify them
// in place.
func (m *Mirror[T]) Sync(ctx context.Context, s *Store) ([]Item[T], error) {
	resp, err := s.cli.Get(ctx, m.prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, fmt.Errorf("list keys %s: %w", m.prefix, err)
	}
	present := make(map[string]bool, len(resp.Kvs))
	var stale []string
	for _, kv := range resp.Kvs {
		k := string(kv.Key)
		present[k] = true
		if it, ok := m.items[k]; !ok || it.Rev != kv.ModRevision {
			stale = append(stale, k)
		}
	}
	for k := range m.items {
		if !present[k] {
			delete(m.items, k)
		}
	}
	for len(stale) > 0 {
		n := min(len(stale), mirrorBatch)
		ops := make([]clientv3.Op, n)
		for i, k := range stale[:n] {
			ops[i] = clientv3.OpGet(k)
		}
		tr, err := s.cli.Txn(ctx).Then(ops...).Commit()
		if err != nil {
			return nil, fmt.Errorf("fetch %s: %w", m.prefix, err)
		}
		for _, r := range tr.Responses {
			for _, kv := range r.GetResponseRange().Kvs {
				it := Item[T]{Key: string(kv.Key), Rev: kv.ModRevision}
				if err := json.Unmarshal(kv.Value, &it.Value); err != nil {
					return nil, fmt.Errorf("decode %s: %w", kv.Key, err)
				}
				m.items[it.Key] = it
			}
		}
		stale = stale[n:]
	}
	out := make([]Item[T], 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		// A key deleted between the two reads is simply left out.
		if it, ok := m.items[string(kv.Key)]; ok {
			out = append(out, it)
		}
	}
	return out, nil
}
