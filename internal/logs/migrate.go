package logs

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/berth-dev/berth/internal/store"
)

// batchSuffixLen is the length of every batchSuffix.
var batchSuffixLen = len(batchSuffix(0, 0, 0, 0))

// MigrateKeys moves the event batches written by earlier builds, whose
// keys ended the stream name with '/' ("<group>:<stream>/<suffix>", which
// let a stream "a" reach the batches of "a/b"), to the current form
// "<group>:<stream>:<suffix>". The suffix has a fixed length, so the byte
// before it tells the two forms apart. It is idempotent and every server
// runs it at start; it returns how many batches it moved.
func (s *Service) MigrateKeys(ctx context.Context) (int, error) {
	prefix := s.keys.allBatches()
	all, err := s.store.Keys(ctx, prefix)
	if err != nil {
		return 0, err
	}
	var old []string
	for _, k := range all {
		if i := len(k) - batchSuffixLen - 1; i > len(prefix) && k[i] == '/' {
			old = append(old, k)
		}
	}
	moved := 0
	chunk := s.store.MaxTxnOps() / 2 // a put and a delete per batch
	for len(old) > 0 {
		n := min(len(old), chunk)
		var items []store.Item[json.RawMessage]
		// A conflict means retention deleted one of them meanwhile: the
		// chunk is read again.
		err := store.Retry(ctx, func() error {
			var err error
			items, err = store.GetMany[json.RawMessage](ctx, s.store, old[:n])
			if err != nil {
				return err
			}
			txn := store.NewTxn()
			for _, it := range items {
				i := len(it.Key) - batchSuffixLen - 1
				txn.IfRev(it.Key, it.Rev).PutJSON(it.Key[:i]+":"+it.Key[i+1:], it.Value).Delete(it.Key)
			}
			return s.store.Commit(ctx, txn)
		})
		if err != nil {
			return moved, fmt.Errorf("migrate log batch keys: %w", err)
		}
		moved += len(items)
		old = old[n:]
	}
	return moved, nil
}
