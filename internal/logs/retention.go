package logs

import (
	"context"
	"fmt"
	"time"

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
		var ops []func(*store.Txn)
		count := 0
		for _, r := range refs {
			if r.Max >= cutoff {
				continue
			}
			ops = append(ops, func(tx *store.Txn) { tx.Delete(r.Key) })
			count += r.Count
		}
		if err := s.store.CommitChunked(ctx, ops, nil); err != nil {
			return deleted, fmt.Errorf("expire events of %s: %w", g.Value.Name, err)
		}
		deleted += count
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
