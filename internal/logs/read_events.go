package logs

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// maxPageBytes bounds the events of one GetLogEvents or FilterLogEvents
// page, counted as PutLogEvents counts them.
const maxPageBytes = 1 << 20

func cmpPos(p, q pos) int {
	switch {
	case p.less(q):
		return -1
	case q.less(p):
		return 1
	}
	return 0
}

// streamToken is a GetLogEvents token: a direction and the position the
// next page starts after (forward) or ends before (backward).
func streamToken(dir string, p pos) string {
	return fmt.Sprintf("%s/%019d/%d/%d", dir, p.Timestamp, p.Seq, p.Index)
}

func parseStreamToken(tok string) (forward bool, p pos, err error) {
	var dir string
	if len(tok) > 2 {
		dir = tok[:1]
		_, err = fmt.Sscanf(tok[2:], "%d/%d/%d", &p.Timestamp, &p.Seq, &p.Index)
	}
	if err != nil || (dir != "f" && dir != "b") || tok[1] != '/' {
		return false, pos{}, api.InvalidParameter("The specified nextToken is invalid.")
	}
	return dir == "f", p, nil
}

type GetLogEventsInput struct {
	LogGroupName       string  `json:"logGroupName"`
	LogGroupIdentifier string  `json:"logGroupIdentifier"`
	LogStreamName      string  `json:"logStreamName"`
	StartTime          *int64  `json:"startTime"`
	EndTime            *int64  `json:"endTime"`
	NextToken          *string `json:"nextToken"`
	Limit              *int    `json:"limit"`
	StartFromHead      bool    `json:"startFromHead"`
}

// OutputLogEvent is an event as GetLogEvents returns it.
type OutputLogEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

type GetLogEventsOutput struct {
	Events            []OutputLogEvent `json:"events"`
	NextForwardToken  string           `json:"nextForwardToken"`
	NextBackwardToken string           `json:"nextBackwardToken"`
}

// GetLogEvents pages through one stream's events in timestamp order: from
// its head with startFromHead, from its tail otherwise, then in the
// direction of the token passed.
func (s *Service) GetLogEvents(ctx context.Context, in *GetLogEventsInput) (*GetLogEventsOutput, error) {
	group, err := resolveGroup(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if err := validStreamName("logStreamName", in.LogStreamName); err != nil {
		return nil, err
	}
	n, err := checkLimit(in.Limit, maxBatchEvents)
	if err != nil {
		return nil, err
	}
	forward, cursor, hasCursor := in.StartFromHead, pos{}, false
	if in.NextToken != nil {
		if forward, cursor, err = parseStreamToken(*in.NextToken); err != nil {
			return nil, err
		}
		hasCursor = true
	}
	if err := s.authorize(ctx, "GetLogEvents", s.streamArn(group, in.LogStreamName)); err != nil {
		return nil, err
	}
	if _, err := s.group(ctx, group); err != nil {
		return nil, err
	}
	if _, err := store.Get[streamRecord](ctx, s.store, s.keys.stream(group, in.LogStreamName)); errors.Is(err, store.ErrNotFound) {
		return nil, streamNotFound()
	} else if err != nil {
		return nil, err
	}
	w := window{lo: 0, hi: math.MaxInt64, forward: forward, hasCursor: hasCursor, cursor: cursor}
	if in.StartTime != nil {
		w.lo = *in.StartTime
	}
	if in.EndTime != nil {
		w.hi = *in.EndTime
	}
	refs, err := s.batchRefs(ctx, s.keys.batches(group, in.LogStreamName), in.LogStreamName)
	if err != nil {
		return nil, err
	}
	loaded, err := s.loadBatches(ctx, pickBatches(refs, w, n))
	if err != nil {
		return nil, err
	}
	var events []stored
	for _, e := range loaded {
		if e.Timestamp >= w.lo && e.Timestamp < w.hi {
			events = append(events, e.stored)
		}
	}
	slices.SortFunc(events, func(a, b stored) int { return cmpPos(a.pos(), b.pos()) })
	if forward {
		first := 0
		if hasCursor {
			first, _ = slices.BinarySearchFunc(events, cursor, func(e stored, p pos) int {
				if cmpPos(e.pos(), p) <= 0 {
					return -1
				}
				return 1
			})
		}
		last, size := first, 0
		for last < len(events) && last-first < n && size+len(events[last].Message)+eventOverhead <= maxPageBytes {
			size += len(events[last].Message) + eventOverhead
			last++
		}
		return s.eventsPage(events[first:last], cursor), nil
	}
	last := len(events)
	if hasCursor {
		last, _ = slices.BinarySearchFunc(events, cursor, func(e stored, p pos) int { return cmpPos(e.pos(), p) })
	}
	first, size := last, 0
	for first > 0 && last-first < n && size+len(events[first-1].Message)+eventOverhead <= maxPageBytes {
		size += len(events[first-1].Message) + eventOverhead
		first--
	}
	return s.eventsPage(events[first:last], cursor), nil
}

// eventsPage answers GetLogEvents with page; an empty page keeps the
// position it was asked from in both tokens.
func (s *Service) eventsPage(page []stored, cursor pos) *GetLogEventsOutput {
	out := &GetLogEventsOutput{Events: make([]OutputLogEvent, len(page)),
		NextForwardToken: streamToken("f", cursor), NextBackwardToken: streamToken("b", cursor)}
	for i, e := range page {
		out.Events[i] = OutputLogEvent{Timestamp: e.Timestamp, Message: e.Message, IngestionTime: e.Ingestion}
	}
	if len(page) > 0 {
		out.NextForwardToken = streamToken("f", page[len(page)-1].pos())
		out.NextBackwardToken = streamToken("b", page[0].pos())
	}
	return out
}

type FilterLogEventsInput struct {
	LogGroupName        string   `json:"logGroupName"`
	LogGroupIdentifier  string   `json:"logGroupIdentifier"`
	LogStreamNames      []string `json:"logStreamNames"`
	LogStreamNamePrefix string   `json:"logStreamNamePrefix"`
	StartTime           *int64   `json:"startTime"`
	EndTime             *int64   `json:"endTime"`
	FilterPattern       string   `json:"filterPattern"`
	NextToken           *string  `json:"nextToken"`
	Limit               *int     `json:"limit"`
	Interleaved         bool     `json:"interleaved"`
}

// FilteredLogEvent is an event as FilterLogEvents returns it.
type FilteredLogEvent struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventId       string `json:"eventId"`
}

type FilterLogEventsOutput struct {
	Events    []FilteredLogEvent `json:"events"`
	NextToken *string            `json:"nextToken,omitempty"`
}

// groupEvent is an event of a group, ordered by timestamp then stream.
type groupEvent struct {
	stored
	Stream string
}

// filterToken is where a FilterLogEvents page ends.
type filterToken struct {
	Timestamp int64  `json:"t"`
	Stream    string `json:"s"`
	Seq       int64  `json:"q"`
	Index     int    `json:"i"`
}

func (e groupEvent) cmp(t filterToken) int {
	if e.Timestamp != t.Timestamp {
		return cmp.Compare(e.Timestamp, t.Timestamp)
	}
	if c := strings.Compare(e.Stream, t.Stream); c != 0 {
		return c
	}
	return cmpPos(e.pos(), pos{t.Timestamp, t.Seq, t.Index})
}

// FilterLogEvents searches a group's events, across its streams in
// timestamp order, for those matching a filter pattern of terms.
func (s *Service) FilterLogEvents(ctx context.Context, in *FilterLogEventsInput) (*FilterLogEventsOutput, error) {
	group, err := resolveGroup(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if len(in.LogStreamNames) > 0 && in.LogStreamNamePrefix != "" {
		return nil, api.InvalidParameter("Cannot specify both logStreamNames and logStreamNamePrefix.")
	}
	if len(in.LogStreamNames) > 100 {
		return nil, check.Fail("logStreamNames", api.List, "Member must have length less than or equal to 100")
	}
	n, err := checkLimit(in.Limit, maxBatchEvents)
	if err != nil {
		return nil, err
	}
	match, err := compilePattern(in.FilterPattern)
	if err != nil {
		return nil, err
	}
	var after *filterToken
	if in.NextToken != nil {
		raw, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		after = &filterToken{}
		if err != nil || json.Unmarshal(raw, after) != nil {
			return nil, api.InvalidParameter("The specified nextToken is invalid.")
		}
	}
	if err := s.authorize(ctx, "FilterLogEvents", s.groupArn(group)); err != nil {
		return nil, err
	}
	if _, err := s.group(ctx, group); err != nil {
		return nil, err
	}
	wanted := func(stream string) bool {
		if len(in.LogStreamNames) > 0 {
			return slices.Contains(in.LogStreamNames, stream)
		}
		return strings.HasPrefix(stream, in.LogStreamNamePrefix)
	}
	refs, err := s.batchRefs(ctx, s.keys.groupBatches(group), "")
	if err != nil {
		return nil, err
	}
	// Only batches of the streams asked for that overlap the time range
	// (and lie after the token) are read.
	wantedRefs := refs[:0]
	for _, r := range refs {
		if wanted(r.Stream) && (in.StartTime == nil || r.Max >= *in.StartTime) && (in.EndTime == nil || r.Min <= *in.EndTime) &&
			(after == nil || r.Max >= after.Timestamp) {
			wantedRefs = append(wantedRefs, r)
		}
	}
	loaded, err := s.loadBatches(ctx, wantedRefs)
	if err != nil {
		return nil, err
	}
	events := loaded[:0]
	for _, e := range loaded {
		if (in.StartTime == nil || e.Timestamp >= *in.StartTime) && (in.EndTime == nil || e.Timestamp <= *in.EndTime) && match(e.Message) {
			events = append(events, e)
		}
	}
	slices.SortFunc(events, func(a, b groupEvent) int {
		return a.cmp(filterToken{b.Timestamp, b.Stream, b.Seq, b.Index})
	})
	start := 0
	if after != nil {
		start, _ = slices.BinarySearchFunc(events, *after, func(e groupEvent, t filterToken) int {
			if e.cmp(t) <= 0 {
				return -1
			}
			return 1
		})
	}
	out := &FilterLogEventsOutput{Events: []FilteredLogEvent{}}
	end, size := start, 0
	for end < len(events) && end-start < n && size+len(events[end].Message)+eventOverhead <= maxPageBytes {
		e := events[end]
		size += len(e.Message) + eventOverhead
		out.Events = append(out.Events, FilteredLogEvent{LogStreamName: e.Stream, Timestamp: e.Timestamp,
			Message: e.Message, IngestionTime: e.Ingestion, EventId: eventID(e)})
		end++
	}
	if end < len(events) && end > start {
		last := events[end-1]
		raw, _ := json.Marshal(filterToken{last.Timestamp, last.Stream, last.Seq, last.Index})
		tok := base64.RawURLEncoding.EncodeToString(raw)
		out.NextToken = &tok
	}
	return out, nil
}

// eventID is a numeric id unique within the group, as CloudWatch Logs
// gives: the stream's hash, the timestamp and the place in the batch.
func eventID(e groupEvent) string {
	h := fnv.New32a()
	h.Write([]byte(e.Stream))
	return fmt.Sprintf("%010d%019d%016d%05d", h.Sum32(), e.Timestamp, e.Seq, e.Index)
}
