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

// BenchmarkGetLogEvents reads the last 100 events of a stream of 10,000
// events stored in 100 batches, and the first 100 from its head.
func BenchmarkGetLogEvents(b *testing.B) {
	e := newEnv(b)
	e.createGroup("g")
	e.createStream("g", "s")
	events := benchBatch(100)
	for range 100 {
		if _, err := e.svc.PutLogEvents(e.ctx, &PutLogEventsInput{LogGroupName: "g", LogStreamName: "s", LogEvents: events}); err != nil {
			b.Fatal(err)
		}
	}
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
