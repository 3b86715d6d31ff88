package store

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Reads that need no values (existence, counts, revisions, keys) and
// deletes of whole prefixes; they spare callers decoding records they do
// not use.

// Exists reports whether key exists, reading no value.
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	resp, err := s.cli.Get(ctx, key, clientv3.WithCountOnly())
	if err != nil {
		return false, fmt.Errorf("check %s: %w", key, err)
	}
	return resp.Count > 0, nil
}

// Count reports how many keys are under prefix, reading none of them.
func (s *Store) Count(ctx context.Context, prefix string) (int64, error) {
	resp, err := s.cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", prefix, err)
	}
	return resp.Count, nil
}

// Revision is the revision key was last modified at, 0 when it is absent.
func (s *Store) Revision(ctx context.Context, key string) (int64, error) {
	revs, err := s.Revisions(ctx, []string{key})
	if err != nil {
		return 0, err
	}
	return revs[0], nil
}

// Revisions are the revisions keys were last modified at, in their order
// (0 for an absent key), read without values in one request per
// MaxTxnOps keys, each at a single revision.
func (s *Store) Revisions(ctx context.Context, keys []string) ([]int64, error) {
	revs := make([]int64, 0, len(keys))
	for len(keys) > 0 {
		n := min(len(keys), s.MaxTxnOps())
		ops := make([]clientv3.Op, n)
		for i, k := range keys[:n] {
			ops[i] = clientv3.OpGet(k, clientv3.WithKeysOnly())
		}
		resp, err := s.cli.Txn(ctx).Then(ops...).Commit()
		if err != nil {
			return nil, fmt.Errorf("read revisions of %s and %d more: %w", keys[0], n-1, err)
		}
		for _, r := range resp.Responses {
			var rev int64
			if rr := r.GetResponseRange(); rr != nil && len(rr.Kvs) > 0 {
				rev = rr.Kvs[0].ModRevision
			}
			revs = append(revs, rev)
		}
		keys = keys[n:]
	}
	return revs, nil
}

// KeysAfter lists at most limit keys under prefix that sort after after
// ("" for the first), without their values, and whether more follow. It is
// the read behind a listing paged by key: a page resumes after the last
// key of the one before, so writes meanwhile never shift it.
func (s *Store) KeysAfter(ctx context.Context, prefix, after string, limit int) ([]string, bool, error) {
	from := prefix
	if after != "" {
		from = after + "\x00"
	}
	opts := []clientv3.OpOption{clientv3.WithRange(clientv3.GetPrefixRangeEnd(prefix)), clientv3.WithKeysOnly()}
	if limit > 0 {
		opts = append(opts, clientv3.WithLimit(int64(limit)))
	}
	resp, err := s.cli.Get(ctx, from, opts...)
	if err != nil {
		return nil, false, fmt.Errorf("list keys %s: %w", prefix, err)
	}
	keys := make([]string, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		keys[i] = string(kv.Key)
	}
	return keys, resp.More, nil
}

// DeletePrefix removes every key under prefix in one request and reports
// how many there were.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) (int64, error) {
	if prefix == "" {
		return 0, fmt.Errorf("delete prefix: refusing the empty prefix")
	}
	resp, err := s.cli.Delete(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return 0, fmt.Errorf("delete %s: %w", prefix, err)
	}
	return resp.Deleted, nil
}

// CurrentRev is the store's revision now, which every write moves on.
func (s *Store) CurrentRev(ctx context.Context) (int64, error) {
	resp, err := s.cli.Get(ctx, "\x00", clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("read revision: %w", err)
	}
	return resp.Header.Revision, nil
}
