package logs

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// streamRecord is a log stream as stored; PutLogEvents updates it with
// every batch it stores.
type streamRecord struct {
	Name                string `json:"name"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp int64  `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  int64  `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   int64  `json:"lastIngestionTime,omitempty"`
	StoredBytes         int64  `json:"storedBytes,omitempty"`
	// Seq numbers the stream's batches; the last one stored.
	Seq int64 `json:"seq,omitempty"`
}

// sequenceToken is the upload sequence token after batch seq. CloudWatch
// Logs ignores sequence tokens now; they are returned for older clients.
func sequenceToken(seq int64) string { return fmt.Sprintf("%056d", seq) }

// LogStream is the LogStream shape.
type LogStream struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp int64  `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  int64  `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   int64  `json:"lastIngestionTime,omitempty"`
	UploadSequenceToken string `json:"uploadSequenceToken"`
	Arn                 string `json:"arn"`
	StoredBytes         int64  `json:"storedBytes"`
}

type CreateLogStreamInput struct {
	LogGroupName  string `json:"logGroupName"`
	LogStreamName string `json:"logStreamName"`
}

// CreateLogStream creates an empty stream in an existing group.
func (s *Service) CreateLogStream(ctx context.Context, in *CreateLogStreamInput) (*Empty, error) {
	if err := validGroupName("logGroupName", in.LogGroupName); err != nil {
		return nil, err
	}
	if err := validStreamName("logStreamName", in.LogStreamName); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "CreateLogStream", s.groupArn(in.LogGroupName)); err != nil {
		return nil, err
	}
	key := s.keys.stream(in.LogGroupName, in.LogStreamName)
	err := store.Retry(ctx, func() error {
		g, err := s.group(ctx, in.LogGroupName)
		if err != nil {
			return err
		}
		if _, err := store.Get[streamRecord](ctx, s.store, key); err == nil {
			return api.Errorf(codeAlreadyExists, "The specified log stream already exists")
		}
		rec := streamRecord{Name: in.LogStreamName, CreationTime: s.now().UnixMilli()}
		// The group must still be the one read, so a stream cannot outlive
		// a concurrent DeleteLogGroup.
		if err := s.store.Commit(ctx, store.NewTxn().IfRev(g.Key, g.Rev).IfAbsent(key).Put(key, rec)); err != nil {
			return fmt.Errorf("create log stream %s: %w", in.LogStreamName, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Empty{}, nil
}

type DeleteLogStreamInput struct {
	LogGroupName  string `json:"logGroupName"`
	LogStreamName string `json:"logStreamName"`
}

// DeleteLogStream deletes a stream and its events in one transaction.
func (s *Service) DeleteLogStream(ctx context.Context, in *DeleteLogStreamInput) (*Empty, error) {
	if err := validGroupName("logGroupName", in.LogGroupName); err != nil {
		return nil, err
	}
	if err := validStreamName("logStreamName", in.LogStreamName); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "DeleteLogStream", s.groupArn(in.LogGroupName)); err != nil {
		return nil, err
	}
	if _, err := s.group(ctx, in.LogGroupName); err != nil {
		return nil, err
	}
	key := s.keys.stream(in.LogGroupName, in.LogStreamName)
	err := s.store.Commit(ctx, store.NewTxn().IfExists(key).Delete(key).
		DeletePrefix(s.keys.batches(in.LogGroupName, in.LogStreamName)))
	if errors.Is(err, store.ErrConflict) {
		return nil, streamNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("delete log stream %s: %w", in.LogStreamName, err)
	}
	return &Empty{}, nil
}

type DescribeLogStreamsInput struct {
	LogGroupName        string  `json:"logGroupName"`
	LogGroupIdentifier  string  `json:"logGroupIdentifier"`
	LogStreamNamePrefix string  `json:"logStreamNamePrefix"`
	OrderBy             string  `json:"orderBy"`
	Descending          bool    `json:"descending"`
	NextToken           *string `json:"nextToken"`
	Limit               *int    `json:"limit"`
}

type DescribeLogStreamsOutput struct {
	LogStreams []LogStream `json:"logStreams"`
	NextToken  *string     `json:"nextToken,omitempty"`
}

// DescribeLogStreams lists a group's streams by name or by the time of
// their last event.
func (s *Service) DescribeLogStreams(ctx context.Context, in *DescribeLogStreamsInput) (*DescribeLogStreamsOutput, error) {
	group, err := resolveGroup(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if in.LogStreamNamePrefix != "" {
		if err := validStreamName("logStreamNamePrefix", in.LogStreamNamePrefix); err != nil {
			return nil, err
		}
	}
	byTime := false
	switch in.OrderBy {
	case "", "LogStreamName":
	case "LastEventTime":
		if in.LogStreamNamePrefix != "" {
			return nil, api.InvalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
		}
		byTime = true
	default:
		return nil, check.Fail("orderBy", in.OrderBy, "Member must satisfy enum value set: [LogStreamName, LastEventTime]")
	}
	n, err := checkLimit(in.Limit, 50)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "DescribeLogStreams", s.groupArn(group)); err != nil {
		return nil, err
	}
	if _, err := s.group(ctx, group); err != nil {
		return nil, err
	}
	items, err := store.List[streamRecord](ctx, s.store, s.keys.streams(group)+in.LogStreamNamePrefix)
	if err != nil {
		return nil, err
	}
	recs := make([]streamRecord, len(items))
	sortKeys := make([]string, len(items))
	for i, it := range items {
		recs[i] = it.Value
		sortKeys[i] = it.Value.Name
	}
	if byTime {
		for i, r := range recs {
			sortKeys[i] = fmt.Sprintf("%020d/%s", r.LastEventTimestamp, r.Name)
		}
		sort.Sort(byKey{sortKeys, recs})
	}
	idx, next, err := page(sortKeys, in.Descending, in.NextToken, n)
	if err != nil {
		return nil, err
	}
	out := &DescribeLogStreamsOutput{LogStreams: []LogStream{}, NextToken: next}
	for _, i := range idx {
		r := recs[i]
		out.LogStreams = append(out.LogStreams, LogStream{
			LogStreamName: r.Name, CreationTime: r.CreationTime, FirstEventTimestamp: r.FirstEventTimestamp,
			LastEventTimestamp: r.LastEventTimestamp, LastIngestionTime: r.LastIngestionTime,
			UploadSequenceToken: sequenceToken(r.Seq), Arn: s.streamArn(group, r.Name), StoredBytes: r.StoredBytes,
		})
	}
	return out, nil
}

// byKey sorts streams by their sort keys.
type byKey struct {
	keys []string
	recs []streamRecord
}

func (b byKey) Len() int           { return len(b.keys) }
func (b byKey) Less(i, j int) bool { return b.keys[i] < b.keys[j] }
func (b byKey) Swap(i, j int) {
	b.keys[i], b.keys[j] = b.keys[j], b.keys[i]
	b.recs[i], b.recs[j] = b.recs[j], b.recs[i]
}
