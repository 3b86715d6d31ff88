package store

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkSoak writes what weeks of a busy cluster write — 1,000,000 task
// state changes (each a task record and its instance's record, rewritten
// in one transaction, as SubmitTaskStateChange does) and 100,000
// PutLogEvents (a log stream record rewritten and a batch of ten events
// added) — to an embedded member with a short compaction retention and
// maintenance every few seconds, as the server runs it each minute. It
// reports the db file's size at the end and the largest it reached.
// BERTH_SOAK_SCALE scales the counts (default 0.1; 1 for the full soak):
//
//	BERTH_SOAK_SCALE=1 go test -run '^$' -bench Soak -benchtime 1x ./internal/store/
func BenchmarkSoak(b *testing.B) {
	scale := 0.1
	if v, err := strconv.ParseFloat(os.Getenv("BERTH_SOAK_SCALE"), 64); err == nil && v > 0 {
		scale = v
	}
	changes, logPuts := int(1_000_000*scale), int(100_000*scale)
	ctx := context.Background()
	for range b.N {
		s, err := Open(ctx, Config{DataDir: b.TempDir(), CompactionRetention: 5 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		taskRec := strings.Repeat("t", 2<<10) // a task record with two containers
		instRec := strings.Repeat("i", 1<<10)
		streamRec := strings.Repeat("s", 300)
		batch := strings.Repeat("e", 10*100)
		const liveTasks, instances, streams = 1000, 100, 200
		var peak int64
		lastCheck := time.Now()
		logEvery := max(1, changes/max(1, logPuts))
		logs := 0
		start := time.Now()
		for i := range changes {
			txn := NewTxn().Put(fmt.Sprintf("/soak/task/%d", i%liveTasks), taskRec).
				Put(fmt.Sprintf("/soak/instance/%d", i%instances), instRec)
			if err := s.Commit(ctx, txn); err != nil {
				b.Fatalf("state change %d: %v", i, err)
			}
			if i%logEvery == 0 && logs < logPuts {
				txn := NewTxn().Put(fmt.Sprintf("/soak/stream/%d", logs%streams), streamRec).
					Put(fmt.Sprintf("/soak/batch/%d/%08d", logs%streams, logs), batch)
				if err := s.Commit(ctx, txn); err != nil {
					b.Fatalf("log put %d: %v", logs, err)
				}
				logs++
			}
			if time.Since(lastCheck) > 3*time.Second {
				lastCheck = time.Now()
				u, err := s.Maintain(ctx, DefragMinFree)
				if err != nil {
					b.Fatal(err)
				}
				peak = max(peak, u.Size)
			}
		}
		u, err := s.Maintain(ctx, DefragMinFree)
		if err != nil {
			b.Fatal(err)
		}
		peak = max(peak, u.Size)
		b.ReportMetric(float64(u.Size)/(1<<20), "db-MiB")
		b.ReportMetric(float64(u.InUse)/(1<<20), "in-use-MiB")
		b.ReportMetric(float64(peak)/(1<<20), "peak-db-MiB")
		b.ReportMetric(float64(changes+logs)/time.Since(start).Seconds(), "writes/s")
		b.Logf("%d state changes, %d log puts in %s: db %d MiB (%d MiB in use), peak %d MiB",
			changes, logs, time.Since(start).Round(time.Second), u.Size>>20, u.InUse>>20, peak>>20)
		s.Close()
	}
}
