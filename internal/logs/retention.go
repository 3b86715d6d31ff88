package logs

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/berth-dev/berth/internal/store"
)

// ExpireEvents deletes the stored batches of every group with a retention
// policy whose newest event is older than the retention, as CloudWatch
// Logs expires events; a batch that still holds a younger event stays
// until that one expires too. It returns how many events it deleted.
func (s *Service) ExpireEvents(ctx context.Context, now time.Time) (int, error) {
	groups, err := store.List[groupRecord](ctx, s.store, s.keys.groups())
	if err != nil {
		return 0, err
	}
	deleted := 0
	for _, g := range groups {
		days := g.Value.RetentionInDays
		if days <= 0 {
			continue
		}
		cutoff := now.Add(-time.Duration(days) * 24 * time.Hour).UnixMilli()
		refs, err := s.batchRefs(ctx, s.keys.groupBatches(g.Value.Name), "")
		if err != nil {
			return deleted, err
		}
		var ops []clientv3.Op
		flush := func() error {
			if len(ops) == 0 {
				return nil
			}
			_, err := s.store.Client().Txn(ctx).Then(ops...).Commit()
			ops = ops[:0]
			return err
		}
		for _, r := range refs {
			if r.Max >= cutoff {
				continue
			}
			ops = append(ops, clientv3.OpDelete(r.Key))
			deleted += r.Count
			if len(ops) == s.store.MaxTxnOps() {
				if err := flush(); err != nil {
					return deleted, fmt.Errorf("expire events of %s: %w", g.Value.Name, err)
				}
			}
		}
		if err := flush(); err != nil {
			return deleted, fmt.Errorf("expire events of %s: %w", g.Value.Name, err)
		}
	}
	return deleted, nil
}

// RunRetention expires events at start and then every interval until ctx
// ends.
func (s *Service) RunRetention(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.ExpireEvents(ctx, s.now()); err != nil {
			s.log.Warn("expire log events", "err", err)
		} else if n > 0 {
			s.log.Info("expired log events", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
