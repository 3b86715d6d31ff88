package store

import (
	"context"
	"errors"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Event is one change to a key seen by a watch.
type Event struct {
	// Delete is true for a deletion (or a lease's expiry), false for a put.
	Delete bool
	Key    string
	// Value is the raw JSON written; nil for a deletion.
	Value []byte
	// Rev is the revision of the change.
	Rev int64
}

// Changes is one batch of events a watch delivers, or the error that ends
// it.
type Changes struct {
	Events []Event
	// Rev is the store's revision when the batch was sent: a watch opened
	// again from Rev+1 misses nothing.
	Rev int64
	// Err ends the watch: ErrCompacted when fromRev is older than the
	// history the store keeps, or the cause it was cut off for.
	Err error
}

// ErrCompacted is a watch's error when the revision it was to start from
// has been compacted away: the watcher reads the state again.
var ErrCompacted = errors.New("store: revision compacted")

// Watch delivers the changes under prefix from revision fromRev (0: from
// now) until ctx ends or the watch fails; the channel is closed then. It
// requires an etcd leader, so a member cut off from its cluster ends the
// watch instead of staying silent.
func (s *Store) Watch(ctx context.Context, prefix string, fromRev int64) <-chan Changes {
	opts := []clientv3.OpOption{clientv3.WithPrefix()}
	if fromRev > 0 {
		opts = append(opts, clientv3.WithRev(fromRev))
	}
	out := make(chan Changes)
	wch := s.cli.Watch(clientv3.WithRequireLeader(ctx), prefix, opts...)
	go func() {
		defer close(out)
		for wr := range wch {
			c := Changes{Rev: wr.Header.Revision}
			switch {
			case wr.CompactRevision != 0:
				c.Err = ErrCompacted
			case wr.Err() != nil:
				c.Err = wr.Err()
			}
			for _, ev := range wr.Events {
				e := Event{Delete: ev.Type == clientv3.EventTypeDelete, Key: string(ev.Kv.Key), Rev: ev.Kv.ModRevision}
				if !e.Delete {
					e.Value = ev.Kv.Value
				}
				c.Events = append(c.Events, e)
			}
			select {
			case out <- c:
			case <-ctx.Done():
				return
			}
			if c.Err != nil {
				return
			}
		}
	}()
	return out
}

// ListRev is List that also returns the revision the records were read
// at: a Watch from that revision plus one sees every later change.
func ListRev[T any](ctx context.Context, s *Store, prefix string) ([]Item[T], int64, error) {
	return ListAt[T](ctx, s, prefix, 0)
}

// ListAt is List as of revision rev (0: now), with the revision read at;
// reading several prefixes at one revision gives a consistent snapshot
// of them. Records of type json.RawMessage are left undecoded.
func ListAt[T any](ctx context.Context, s *Store, prefix string, rev int64) ([]Item[T], int64, error) {
	opts := []clientv3.OpOption{clientv3.WithPrefix()}
	if rev > 0 {
		opts = append(opts, clientv3.WithRev(rev))
	}
	resp, err := s.cli.Get(ctx, prefix, opts...)
	if err != nil {
		return nil, 0, fmt.Errorf("list %s: %w", prefix, err)
	}
	items, err := decodeAll[T](resp.Kvs)
	return items, resp.Header.Revision, err
}

// KeysAt lists the keys under prefix as of revision rev (0: now), without
// their values, with the revision read at.
func (s *Store) KeysAt(ctx context.Context, prefix string, rev int64) ([]string, int64, error) {
	opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithKeysOnly()}
	if rev > 0 {
		opts = append(opts, clientv3.WithRev(rev))
	}
	resp, err := s.cli.Get(ctx, prefix, opts...)
	if err != nil {
		return nil, 0, fmt.Errorf("list keys %s: %w", prefix, err)
	}
	keys := make([]string, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		keys[i] = string(kv.Key)
	}
	return keys, resp.Header.Revision, nil
}

// ListRaw reads the records under prefix as they are stored, undecoded,
// each with the revision it was last written at (Event.Rev), at revision
// rev (0: now); it returns the revision read. keysOnly leaves the values
// out, for a caller that only compares revisions.
func (s *Store) ListRaw(ctx context.Context, prefix string, rev int64, keysOnly bool) ([]Event, int64, error) {
	opts := []clientv3.OpOption{clientv3.WithPrefix()}
	if rev > 0 {
		opts = append(opts, clientv3.WithRev(rev))
	}
	if keysOnly {
		opts = append(opts, clientv3.WithKeysOnly())
	}
	resp, err := s.cli.Get(ctx, prefix, opts...)
	if err != nil {
		return nil, 0, fmt.Errorf("list %s: %w", prefix, err)
	}
	out := make([]Event, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		out[i] = Event{Key: string(kv.Key), Value: kv.Value, Rev: kv.ModRevision}
	}
	return out, resp.Header.Revision, nil
}

// RequestProgress asks every watch of this store to report the store's
// current revision (a Changes without events) even when nothing changed
// under its prefix, so a watcher can tell it has seen everything up to
// now.
func (s *Store) RequestProgress(ctx context.Context) error {
	// The request goes down the stream the watches share, which etcd's
	// client picks by the context's metadata: Watch's, with the
	// require-leader mark.
	return s.cli.RequestProgress(clientv3.WithRequireLeader(ctx))
}

// Closed reports whether the store's connection has been closed.
func (s *Store) Closed() bool { return s.cli.Ctx().Err() != nil }
