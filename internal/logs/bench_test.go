package logs

import (
	"fmt"
	"testing"
)

// benchBatch is a PutLogEvents batch of n 100-byte events at one instant.
func benchBatch(n int) []InputLogEvent {
	at := make([]int64, n)
	msgs := make([]string, n)
	for i := range msgs {
		msgs[i] = fmt.Sprintf("%-100d", i)
	}
	return inputEvents(at, msgs...)
}

// BenchmarkPutLogEvents stores batches of 1, 100 and 1,000 events: one
// etcd transaction each, whatever the size.
func BenchmarkPutLogEvents(b *testing.B) {
	e := newEnv(b)
	e.createGroup("g")
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			stream := fmt.Sprint("s", n)
			e.createStream("g", stream)
			events := benchBatch(n)
			for b.Loop() {
				if _, err := e.svc.PutLogEvents(e.ctx, &PutLogEventsInput{LogGroupName: "g", LogStreamName: stream, LogEvents: events}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchStream fills stream s of group g with 10,000 events in 100 batches
// of 100, one batch every 5 s as an agent ships them (one event each 50 ms).
func benchStream(b *testing.B, e *env, g, s string) {
	e.createStream(g, s)
	for i := range 100 {
		events := benchBatch(100)
		for j := range events {
			ts := testNow.UnixMilli() - 600_000 + int64(i)*5000 + int64(j)*50
			events[j].Timestamp = &ts
		}
		if _, err := e.svc.PutLogEvents(e.ctx, &PutLogEventsInput{LogGroupName: g, LogStreamName: s, LogEvents: events}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetLogEvents reads 100 events from the tail and from the head
// of a stream of 10,000 events in 100 batches: the keys say which two
// batches hold them, and only those are decoded.
func BenchmarkGetLogEvents(b *testing.B) {
	e := newEnv(b)
	e.createGroup("g")
	benchStream(b, e, "g", "s")
	for _, head := range []bool{false, true} {
		b.Run(fmt.Sprintf("startFromHead=%v", head), func(b *testing.B) {
			for b.Loop() {
				out, err := e.svc.GetLogEvents(e.ctx, &GetLogEventsInput{LogGroupName: "g", LogStreamName: "s", StartFromHead: head, Limit: ptr(100)})
				if err != nil || len(out.Events) != 100 {
					b.Fatalf("GetLogEvents: %d events, %v", len(out.Events), err)
				}
			}
		})
	}
}

// BenchmarkFilterLogEvents searches a group of two such streams: all of
// it, and its last minute as aws logs tail --since 1m asks.
func BenchmarkFilterLogEvents(b *testing.B) {
	e := newEnv(b)
	e.createGroup("g")
	benchStream(b, e, "g", "a")
	benchStream(b, e, "g", "b")
	lastMinute := testNow.UnixMilli() - 60_000
	for _, tc := range []struct {
		name  string
		start *int64
	}{{"all", nil}, {"lastMinute", &lastMinute}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := e.svc.FilterLogEvents(e.ctx, &FilterLogEventsInput{LogGroupName: "g", StartTime: tc.start, FilterPattern: "99"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
