package store

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The embedded member compacts its history on its own (Config's
// CompactionRetention); compaction frees pages inside the db file but never
// shrinks it. Maintenance watches the file's size against what is in use,
// defragments when most of it is free, publishes both sizes as metrics and
// warns well before the quota, at which etcd refuses every write.

var (
	dbSize = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "berth_etcd_db_size_bytes", Help: "Size of the etcd database file, free pages included.",
	})
	dbInUse = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "berth_etcd_db_size_in_use_bytes", Help: "Bytes of the etcd database file in use (the rest is free after compaction).",
	})
	dbQuota = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "berth_etcd_db_quota_bytes", Help: "Size at which etcd refuses writes (NOSPACE).",
	})
	defrags = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "berth_etcd_defrags_total", Help: "Defragmentations of the embedded etcd database.",
	})
)

func init() { prometheus.MustRegister(dbSize, dbInUse, dbQuota, defrags) }

// DefaultQuotaBytes is etcd's default backend quota, assumed for an
// external cluster, whose setting cannot be read.
const DefaultQuotaBytes = 2 << 30

// Maintenance thresholds: defragment when the file is more than twice what
// is in use and at least DefragMinFree of it is free; warn at QuotaWarn of
// the quota.
const (
	DefragMinFree = 64 << 20
	QuotaWarn     = 0.8
)

// DBUsage is the state of the etcd database file.
type DBUsage struct {
	Size, InUse, Quota int64
	// Defragmented says that this check defragmented the file; Size and
	// InUse are then the sizes after.
	Defragmented bool
}

// Usage reads the database sizes: the embedded member's own, or those of
// the first external endpoint.
func (s *Store) Usage(ctx context.Context) (DBUsage, error) {
	if s.embedded != nil {
		be := s.embedded.Server.Backend()
		q := s.embedded.Server.Cfg.QuotaBackendBytes
		if q <= 0 {
			q = DefaultQuotaBytes
		}
		return DBUsage{Size: be.Size(), InUse: be.SizeInUse(), Quota: q}, nil
	}
	st, err := s.cli.Status(ctx, s.endpoint)
	if err != nil {
		return DBUsage{}, fmt.Errorf("etcd status: %w", err)
	}
	return DBUsage{Size: st.DbSize, InUse: st.DbSizeInUse, Quota: DefaultQuotaBytes}, nil
}

// Maintain checks the database once: it publishes the sizes, defragments
// the embedded member's file when more than half of it and at least
// minFree bytes are free, and logs a warning when the file nears its
// quota. An external cluster is only measured: its operator (or
// `berth etcd`, which maintains itself) defragments it.
func (s *Store) Maintain(ctx context.Context, minFree int64) (DBUsage, error) {
	u, err := s.Usage(ctx)
	if err != nil {
		return u, err
	}
	if s.embedded != nil && u.Size > 2*u.InUse && u.Size-u.InUse >= minFree {
		start := time.Now()
		if err := s.embedded.Server.Backend().Defrag(); err != nil {
			return u, fmt.Errorf("defragment etcd: %w", err)
		}
		defrags.Inc()
		before := u.Size
		if u, err = s.Usage(ctx); err != nil {
			return u, err
		}
		u.Defragmented = true
		s.log.Info("defragmented etcd database", "before_bytes", before, "after_bytes", u.Size, "took", time.Since(start).Round(time.Millisecond))
	}
	dbSize.Set(float64(u.Size))
	dbInUse.Set(float64(u.InUse))
	dbQuota.Set(float64(u.Quota))
	// etcd measures the file, free pages included, against the quota.
	if float64(u.Size) >= QuotaWarn*float64(u.Quota) {
		s.log.Error("ALARM: etcd database nears its quota; at the quota etcd refuses every write (NOSPACE)",
			"in_use_bytes", u.InUse, "size_bytes", u.Size, "quota_bytes", u.Quota)
	}
	return u, nil
}

// RunMaintenance calls Maintain every interval until ctx ends.
func (s *Store) RunMaintenance(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.Maintain(ctx, DefragMinFree); err != nil && ctx.Err() == nil {
			s.log.Warn("etcd maintenance", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
