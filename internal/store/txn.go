package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Txn collects conditions and writes that commit atomically: all writes
// happen only if every condition still holds. One Txn per API call keeps
// multi-record changes (a task and its instance's reservation) consistent.
type Txn struct {
	conds []clientv3.Cmp
	ops   []clientv3.Op
	err   error
}

// NewTxn starts an empty transaction.
func NewTxn() *Txn { return &Txn{} }

// IfRev requires key to still be at revision rev (0 means absent).
func (t *Txn) IfRev(key string, rev int64) *Txn {
	t.conds = append(t.conds, clientv3.Compare(clientv3.ModRevision(key), "=", rev))
	return t
}

// IfAbsent requires key not to exist.
func (t *Txn) IfAbsent(key string) *Txn { return t.IfRev(key, 0) }

// IfExists requires key to exist, at whatever revision.
func (t *Txn) IfExists(key string) *Txn {
	t.conds = append(t.conds, clientv3.Compare(clientv3.CreateRevision(key), ">", 0))
	return t
}

// IfValue requires key to hold exactly raw (as written by PutJSON), for
// a key that names its current owner.
func (t *Txn) IfValue(key string, raw []byte) *Txn {
	t.conds = append(t.conds, clientv3.Compare(clientv3.Value(key), "=", string(raw)))
	return t
}

// Put encodes v as JSON and writes it at key.
func (t *Txn) Put(key string, v any, opts ...clientv3.OpOption) *Txn {
	b, err := json.Marshal(v)
	if err != nil && t.err == nil {
		t.err = fmt.Errorf("encode %s: %w", key, err)
	}
	t.ops = append(t.ops, clientv3.OpPut(key, string(b), opts...))
	return t
}

// PutLeased is Put of a key that etcd deletes when lease ends (see Grant
// and Session.Lease).
func (t *Txn) PutLeased(key string, v any, lease Lease) *Txn {
	return t.Put(key, v, clientv3.WithLease(clientv3.LeaseID(lease)))
}

// PutJSON writes b, which the caller has already encoded as JSON, at key.
func (t *Txn) PutJSON(key string, b []byte) *Txn {
	t.ops = append(t.ops, clientv3.OpPut(key, string(b)))
	return t
}

// PutJSONLeased is PutJSON of a key that goes when lease ends.
func (t *Txn) PutJSONLeased(key string, b []byte, lease Lease) *Txn {
	t.ops = append(t.ops, clientv3.OpPut(key, string(b), clientv3.WithLease(clientv3.LeaseID(lease))))
	return t
}

// Delete removes key.
func (t *Txn) Delete(key string) *Txn {
	t.ops = append(t.ops, clientv3.OpDelete(key))
	return t
}

// DeletePrefix removes every key under prefix.
func (t *Txn) DeletePrefix(prefix string) *Txn {
	if prefix == "" && t.err == nil {
		t.err = errors.New("delete prefix: refusing the empty prefix")
	}
	t.ops = append(t.ops, clientv3.OpDelete(prefix, clientv3.WithPrefix()))
	return t
}

// Len reports how many writes the transaction holds.
func (t *Txn) Len() int { return len(t.ops) }

// Commit applies the transaction. It returns ErrConflict when a condition
// failed, in which case nothing was written.
func (s *Store) Commit(ctx context.Context, t *Txn) error {
	if len(t.ops) == 0 && t.err == nil {
		return nil
	}
	_, err := s.CommitRev(ctx, t)
	return err
}

// CommitRev is Commit that also returns the revision the transaction
// wrote at, so callers can tell their own writes from older ones.
func (s *Store) CommitRev(ctx context.Context, t *Txn) (int64, error) {
	if t.err != nil {
		return 0, t.err
	}
	conds := t.conds
	if f, ok := ctx.Value(fenceKey{}).(fence); ok {
		conds = append(conds[:len(conds):len(conds)], clientv3.Compare(clientv3.CreateRevision(f.key), "=", f.rev))
	}
	resp, err := s.cli.Txn(ctx).If(conds...).Then(t.ops...).Commit()
	if err != nil {
		return 0, fmt.Errorf("etcd txn: %w", err)
	}
	if !resp.Succeeded {
		if f, ok := ctx.Value(fenceKey{}).(fence); ok && !f.holds(ctx, s) {
			return 0, ErrFenced
		}
		return 0, ErrConflict
	}
	return resp.Header.Revision, nil
}

// CommitChunked commits the writes ops add in as many transactions as
// the store's limit on operations per transaction (MaxTxnOps) needs, each
// also carrying the conditions and writes always adds (nil for none), in
// order. It is for writes that need not be atomic together: it stops at
// the first transaction that fails, leaving the earlier ones committed.
// Each op must add one write.
func (s *Store) CommitChunked(ctx context.Context, ops []func(*Txn), always func(*Txn)) error {
	for len(ops) > 0 {
		tx := NewTxn()
		if always != nil {
			always(tx)
		}
		room := s.MaxTxnOps() - max(len(tx.ops), len(tx.conds))
		if room < 1 {
			return fmt.Errorf("chunked commit: %d operations always added leave no room in a transaction of %d", max(len(tx.ops), len(tx.conds)), s.MaxTxnOps())
		}
		n := min(room, len(ops))
		for _, op := range ops[:n] {
			op(tx)
		}
		if err := s.Commit(ctx, tx); err != nil {
			return err
		}
		ops = ops[n:]
	}
	return nil
}

type fenceKey struct{}

type fence struct {
	key string
	rev int64
}

// ErrFenced is returned by a fenced commit (see WithFence) once the fence
// no longer holds: the caller has lost the leadership it wrote under.
var ErrFenced = errors.New("store: fence lost (no longer the leader)")

func (f fence) holds(ctx context.Context, s *Store) bool {
	resp, err := s.cli.Get(ctx, f.key)
	return err == nil && len(resp.Kvs) == 1 && resp.Kvs[0].CreateRevision == f.rev
}

// WithFence makes every transaction committed with the returned context
// also require that key still exists as created at revision rev — an
// election leader's key — so a process that lost leadership cannot write
// on its behalf any more. A fenced commit that fails returns ErrConflict.
func WithFence(ctx context.Context, key string, rev int64) context.Context {
	return context.WithValue(ctx, fenceKey{}, fence{key, rev})
}
