package logs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// Limits of PutLogEvents, from the API reference.
const (
	maxBatchEvents = 10000
	maxBatchBytes  = 1 << 20
	// eventOverhead is what each event adds to a batch's size.
	eventOverhead = 26
	maxEventBytes = 1<<20 - eventOverhead
	maxBatchSpan  = 24 * time.Hour
	maxFuture     = 2 * time.Hour
	maxPast       = 14 * 24 * time.Hour
)

// batch is the events of one PutLogEvents call on one stream, stored under
// one key (see batchRef): a call costs one etcd write whatever its size.
type batch struct {
	Ingestion int64   `json:"i"`
	Events    []event `json:"e"`
}

type event struct {
	Timestamp int64  `json:"t"`
	Message   string `json:"m"`
}

type InputLogEvent struct {
	Timestamp *int64  `json:"timestamp"`
	Message   *string `json:"message"`
}

type PutLogEventsInput struct {
	LogGroupName  string          `json:"logGroupName"`
	LogStreamName string          `json:"logStreamName"`
	LogEvents     []InputLogEvent `json:"logEvents"`
	SequenceToken string          `json:"sequenceToken"`
}

// RejectedLogEventsInfo says which events of a batch were not stored.
type RejectedLogEventsInfo struct {
	TooNewLogEventStartIndex *int `json:"tooNewLogEventStartIndex,omitempty"`
	TooOldLogEventEndIndex   *int `json:"tooOldLogEventEndIndex,omitempty"`
	ExpiredLogEventEndIndex  *int `json:"expiredLogEventEndIndex,omitempty"`
}

type PutLogEventsOutput struct {
	NextSequenceToken     string                 `json:"nextSequenceToken"`
	RejectedLogEventsInfo *RejectedLogEventsInfo `json:"rejectedLogEventsInfo,omitempty"`
}

// checkBatch validates a PutLogEvents batch as a whole: its size, its
// events' presence and their chronological order.
func checkBatch(in []InputLogEvent) ([]event, error) {
	if len(in) == 0 {
		return nil, check.Fail("logEvents", api.List, "Member must have length greater than or equal to 1")
	}
	if len(in) > maxBatchEvents {
		return nil, check.Fail("logEvents", api.List, fmt.Sprintf("Member must have length less than or equal to %d", maxBatchEvents))
	}
	events := make([]event, len(in))
	size := 0
	for i, e := range in {
		if e.Timestamp == nil || e.Message == nil {
			return nil, check.Null(fmt.Sprintf("logEvents.%d.member", i+1))
		}
		if *e.Message == "" {
			return nil, check.Length(fmt.Sprintf("logEvents.%d.member.message", i+1), "", 1, 0)
		}
		if len(*e.Message) > maxEventBytes {
			return nil, api.InvalidParameter("Log event too large: %d bytes exceeds limit of %d", len(*e.Message)+eventOverhead, maxBatchBytes)
		}
		if i > 0 && *e.Timestamp < events[i-1].Timestamp {
			return nil, api.InvalidParameter("Log events in a single PutLogEvents request must be in chronological order.")
		}
		size += len(*e.Message) + eventOverhead
		events[i] = event{Timestamp: *e.Timestamp, Message: *e.Message}
	}
	if size > maxBatchBytes {
		return nil, api.InvalidParameter("Upload too large: %d bytes exceeds limit of %d", size, maxBatchBytes)
	}
	return events, nil
}

// acceptable returns the range [lo, hi) of sorted events that are neither
// too old, expired under the group's retention nor too new, and what was
// rejected on either side.
func acceptable(events []event, now time.Time, retentionDays int) (lo, hi int, rejected *RejectedLogEventsInfo) {
	tooOld := now.Add(-maxPast).UnixMilli()
	expired := tooOld
	if retentionDays > 0 {
		expired = max(expired, now.Add(-time.Duration(retentionDays)*24*time.Hour).UnixMilli())
	}
	tooNew := now.Add(maxFuture).UnixMilli()
	info := &RejectedLogEventsInfo{}
	for lo < len(events) && events[lo].Timestamp < expired {
		lo++
	}
	oldEnd := 0
	for oldEnd < lo && events[oldEnd].Timestamp < tooOld {
		oldEnd++
	}
	if oldEnd > 0 {
		info.TooOldLogEventEndIndex = &oldEnd
	}
	if lo > oldEnd {
		info.ExpiredLogEventEndIndex = &lo
	}
	hi = len(events)
	for hi > lo && events[hi-1].Timestamp > tooNew {
		hi--
	}
	if hi < len(events) {
		info.TooNewLogEventStartIndex = &hi
	}
	if *info == (RejectedLogEventsInfo{}) {
		info = nil
	}
	return lo, hi, info
}

// PutLogEvents stores a batch of events in a stream. Events too old or too
// new are left out and reported, as CloudWatch Logs does; the sequence
// token is ignored, so concurrent writers to one stream all succeed.
func (s *Service) PutLogEvents(ctx context.Context, in *PutLogEventsInput) (*PutLogEventsOutput, error) {
	if err := validGroupName("logGroupName", in.LogGroupName); err != nil {
		return nil, err
	}
	if err := validStreamName("logStreamName", in.LogStreamName); err != nil {
		return nil, err
	}
	events, err := checkBatch(in.LogEvents)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "PutLogEvents", s.streamArn(in.LogGroupName, in.LogStreamName)); err != nil {
		return nil, err
	}
	g, err := s.group(ctx, in.LogGroupName)
	if err != nil {
		return nil, err
	}
	now := s.now()
	lo, hi, rejected := acceptable(events, now, g.Value.RetentionInDays)
	if hi > lo && events[hi-1].Timestamp-events[lo].Timestamp > maxBatchSpan.Milliseconds() {
		return nil, api.InvalidParameter("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
	}
	key := s.keys.stream(in.LogGroupName, in.LogStreamName)
	var out *PutLogEventsOutput
	err = store.Retry(ctx, func() error {
		st, err := store.Get[streamRecord](ctx, s.store, key)
		if errors.Is(err, store.ErrNotFound) {
			return streamNotFound()
		}
		if err != nil {
			return err
		}
		if hi == lo {
			out = &PutLogEventsOutput{NextSequenceToken: sequenceToken(st.Value.Seq), RejectedLogEventsInfo: rejected}
			return nil
		}
		rec := st.Value
		rec.Seq++
		kept := events[lo:hi]
		if rec.FirstEventTimestamp == 0 || kept[0].Timestamp < rec.FirstEventTimestamp {
			rec.FirstEventTimestamp = kept[0].Timestamp
		}
		rec.LastEventTimestamp = max(rec.LastEventTimestamp, kept[len(kept)-1].Timestamp)
		rec.LastIngestionTime = now.UnixMilli()
		for _, e := range kept {
			rec.StoredBytes += int64(len(e.Message))
		}
		txn := store.NewTxn().IfRev(key, st.Rev).Put(key, rec).
			Put(s.keys.batch(in.LogGroupName, in.LogStreamName, rec.Seq, kept), batch{Ingestion: now.UnixMilli(), Events: kept})
		if err := s.store.Commit(ctx, txn); err != nil {
			return fmt.Errorf("put log events in %s/%s: %w", in.LogGroupName, in.LogStreamName, err)
		}
		out = &PutLogEventsOutput{NextSequenceToken: sequenceToken(rec.Seq), RejectedLogEventsInfo: rejected}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// stored is an event with its place in its stream: the batch it came in
// and its index there order events of equal timestamps.
type stored struct {
	event
	Ingestion int64
	Seq       int64
	Index     int
}

// pos is a place in a stream's timestamp order.
type pos struct {
	Timestamp, Seq int64
	Index          int
}

func (e stored) pos() pos { return pos{e.Timestamp, e.Seq, e.Index} }

func (p pos) less(q pos) bool {
	if p.Timestamp != q.Timestamp {
		return p.Timestamp < q.Timestamp
	}
	if p.Seq != q.Seq {
		return p.Seq < q.Seq
	}
	return p.Index < q.Index
}
