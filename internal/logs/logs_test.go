package logs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

const (
	testAccount = "123456789012"
	testRegion  = "us-east-1"
)

var rootPrincipal = api.Principal{Account: testAccount, ARN: "arn:aws:iam::" + testAccount + ":root", Root: true}

// testNow is the fixed clock of the tests.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// env is one Service on a real embedded etcd with the root principal.
type env struct {
	t   testing.TB
	st  *store.Store
	svc *Service
	ctx context.Context
}

func newEnv(t testing.TB) *env {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	svc := New(Config{Region: testRegion, Account: testAccount}, st, api.RootOnly{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	svc.now = func() time.Time { return testNow }
	return &env{t: t, st: st, svc: svc, ctx: api.WithPrincipal(context.Background(), rootPrincipal)}
}

// errCode returns err's AWS error code, "" for nil.
func errCode(err error) string {
	if err == nil {
		return ""
	}
	var e *api.Error
	if !errors.As(err, &e) {
		return "<not api.Error: " + err.Error() + ">"
	}
	return e.Code
}

func (e *env) createGroup(name string) {
	e.t.Helper()
	if _, err := e.svc.CreateLogGroup(e.ctx, &CreateLogGroupInput{LogGroupName: name}); err != nil {
		e.t.Fatalf("CreateLogGroup %s: %v", name, err)
	}
}

func (e *env) createStream(group, name string) {
	e.t.Helper()
	if _, err := e.svc.CreateLogStream(e.ctx, &CreateLogStreamInput{LogGroupName: group, LogStreamName: name}); err != nil {
		e.t.Fatalf("CreateLogStream %s/%s: %v", group, name, err)
	}
}

// put stores messages at the given millisecond offsets from testNow.
func (e *env) put(group, stream string, at []int64, msgs ...string) *PutLogEventsOutput {
	e.t.Helper()
	out, err := e.svc.PutLogEvents(e.ctx, &PutLogEventsInput{LogGroupName: group, LogStreamName: stream, LogEvents: inputEvents(at, msgs...)})
	if err != nil {
		e.t.Fatalf("PutLogEvents: %v", err)
	}
	return out
}

// inputEvents pairs offsets (ms from testNow) with messages.
func inputEvents(at []int64, msgs ...string) []InputLogEvent {
	out := make([]InputLogEvent, len(msgs))
	for i, m := range msgs {
		ts := testNow.UnixMilli() + at[i]
		out[i] = InputLogEvent{Timestamp: &ts, Message: &m}
	}
	return out
}

func messages[E OutputLogEvent | FilteredLogEvent](events []E) []string {
	out := []string{}
	for _, e := range events {
		switch e := any(e).(type) {
		case OutputLogEvent:
			out = append(out, e.Message)
		case FilteredLogEvent:
			out = append(out, e.Message)
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }
