package ecs

import (
	"context"
	"time"

	"github.com/berth-dev/berth/internal/store"
)

// StoppedTaskRetention is how long a STOPPED task stays describable; AWS
// keeps stopped tasks visible for at least an hour.
const StoppedTaskRetention = time.Hour

// CollectStoppedTasks deletes tasks that stopped more than retention ago
// and returns how many it removed. Deletion is conditional on the record's
// revision, so a collector racing an update leaves the task alone.
func (s *Service) CollectStoppedTasks(ctx context.Context, now time.Time, retention time.Duration) (int, error) {
	tasks, err := store.List[taskRecord](ctx, s.store, s.keys.prefix+"task/")
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, it := range tasks {
		t := it.Value.Task
		if t.LastStatus != "STOPPED" || t.StoppedAt == nil || now.Sub(t.StoppedAt.Time) < retention {
			continue
		}
		if err := s.store.Commit(ctx, store.NewTxn().IfRev(it.Key, it.Rev).Delete(it.Key)); err == nil {
			removed++
		}
	}
	return removed, nil
}

// collectPass collects the tasks that stopped more than
// StoppedTaskRetention ago.
func (s *Service) collectPass(ctx context.Context) error {
	n, err := s.CollectStoppedTasks(ctx, time.Now(), StoppedTaskRetention)
	if n > 0 {
		s.log.Info("collected stopped tasks", "count", n)
	}
	return err
}
