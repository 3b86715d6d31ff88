package logs

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/api"
)

func TestPutLogEventsRules(t *testing.T) {
	e := newEnv(t)
	e.createGroup("g")
	e.createStream("g", "s")
	hour := time.Hour.Milliseconds()
	day := 24 * hour
	big := strings.Repeat("x", 600<<10)
	tests := []struct {
		name     string
		group    string
		stream   string
		at       []int64
		msgs     []string
		code     string
		rejected *RejectedLogEventsInfo
	}{
		{name: "in order", at: []int64{0, 0, 1}, msgs: []string{"a", "b", "c"}},
		{name: "out of order", at: []int64{1, 0}, msgs: []string{"a", "b"}, code: api.CodeInvalidParameterException},
		{name: "empty batch", code: api.CodeInvalidParameterException},
		{name: "empty message", at: []int64{0}, msgs: []string{""}, code: api.CodeInvalidParameterException},
		{name: "batch too large", at: []int64{0, 1}, msgs: []string{big, big}, code: api.CodeInvalidParameterException},
		{name: "spans over a day", at: []int64{-day - 1, 0}, msgs: []string{"a", "b"}, code: api.CodeInvalidParameterException},
		{name: "missing group", group: "none", at: []int64{0}, msgs: []string{"a"}, code: codeNotFound},
		{name: "missing stream", stream: "none", at: []int64{0}, msgs: []string{"a"}, code: codeNotFound},
		{name: "too old and too new", at: []int64{-15 * day, -15 * day, 0, 3 * hour}, msgs: []string{"old", "old", "ok", "new"},
			rejected: &RejectedLogEventsInfo{TooOldLogEventEndIndex: ptr(2), TooNewLogEventStartIndex: ptr(3)}},
		{name: "all too new", at: []int64{3 * hour}, msgs: []string{"new"}, rejected: &RejectedLogEventsInfo{TooNewLogEventStartIndex: ptr(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			group, stream := "g", "s"
			if tt.group != "" {
				group = tt.group
			}
			if tt.stream != "" {
				stream = tt.stream
			}
			out, err := e.svc.PutLogEvents(e.ctx, &PutLogEventsInput{LogGroupName: group, LogStreamName: stream, LogEvents: inputEvents(tt.at, tt.msgs...)})
			if got := errCode(err); got != tt.code {
				t.Fatalf("code = %q (%v), want %q", got, err, tt.code)
			}
			if err != nil {
				return
			}
			if out.NextSequenceToken == "" {
				t.Error("no nextSequenceToken")
			}
			if !sameRejected(out.RejectedLogEventsInfo, tt.rejected) {
				t.Errorf("rejected = %+v, want %+v", out.RejectedLogEventsInfo, tt.rejected)
			}
		})
	}
	got, err := e.svc.GetLogEvents(e.ctx, &GetLogEventsInput{LogGroupName: "g", LogStreamName: "s", StartFromHead: true})
	if err != nil {
		t.Fatal(err)
	}
	// "ok" (at 0) sorts before "c" (at 1): a stream reads in time order.
	if want := []string{"a", "b", "ok", "c"}; !slices.Equal(messages(got.Events), want) {
		t.Errorf("stored = %v, want %v", messages(got.Events), want)
	}
}

func sameRejected(a, b *RejectedLogEventsInfo) bool {
	if a == nil || b == nil {
		return a == b
	}
	eq := func(x, y *int) bool { return (x == nil && y == nil) || (x != nil && y != nil && *x == *y) }
	return eq(a.TooNewLogEventStartIndex, b.TooNewLogEventStartIndex) && eq(a.TooOldLogEventEndIndex, b.TooOldLogEventEndIndex) &&
		eq(a.ExpiredLogEventEndIndex, b.ExpiredLogEventEndIndex)
}

func TestPutLogEventsRetention(t *testing.T) {
	e := newEnv(t)
	e.createGroup("g")
	e.createStream("g", "s")
	if _, err := e.svc.PutRetentionPolicy(e.ctx, &PutRetentionPolicyInput{LogGroupName: "g", RetentionInDays: 1}); err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour.Milliseconds()
	out := e.put("g", "s", []int64{-3 * day, -2 * day, 0}, "old", "expired", "ok")
	want := &RejectedLogEventsInfo{TooOldLogEventEndIndex: nil, ExpiredLogEventEndIndex: ptr(2)}
	if !sameRejected(out.RejectedLogEventsInfo, want) {
		t.Errorf("rejected = %+v, want %+v", out.RejectedLogEventsInfo, want)
	}
}

func TestGetLogEventsPages(t *testing.T) {
	e := newEnv(t)
	e.createGroup("g")
	e.createStream("g", "s")
	// Two batches whose times interleave: the stream reads in time order.
	e.put("g", "s", []int64{10, 30, 50}, "e1", "e3", "e5")
	e.put("g", "s", []int64{20, 40}, "e2", "e4")
	all := []string{"e1", "e2", "e3", "e4", "e5"}

	walk := func(t *testing.T, in GetLogEventsInput, forward bool) []string {
		var got []string
		for range 10 {
			out, err := e.svc.GetLogEvents(e.ctx, &in)
			if err != nil {
				t.Fatal(err)
			}
			page := messages(out.Events)
			if forward {
				got = append(got, page...)
			} else {
				got = append(page, got...)
			}
			next := out.NextForwardToken
			if !forward {
				next = out.NextBackwardToken
			}
			if in.NextToken != nil && *in.NextToken == next {
				return got
			}
			in.NextToken = &next
		}
		t.Fatal("pagination did not end")
		return nil
	}
	tests := []struct {
		name    string
		in      GetLogEventsInput
		forward bool
		want    []string
	}{
		{"head", GetLogEventsInput{StartFromHead: true, Limit: ptr(2)}, true, all},
		{"tail", GetLogEventsInput{Limit: ptr(2)}, false, all},
		{"time range", GetLogEventsInput{StartFromHead: true, Limit: ptr(1), StartTime: ptr(testNow.UnixMilli() + 20), EndTime: ptr(testNow.UnixMilli() + 50)}, true, []string{"e2", "e3", "e4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.LogGroupName, tt.in.LogStreamName = "g", "s"
			if got := walk(t, tt.in, tt.forward); !slices.Equal(got, tt.want) {
				t.Errorf("events = %v, want %v", got, tt.want)
			}
		})
	}

	// The tail's first page is the latest events; its forward token then
	// sees only what comes after.
	out, _ := e.svc.GetLogEvents(e.ctx, &GetLogEventsInput{LogGroupName: "g", LogStreamName: "s", Limit: ptr(2)})
	if got := messages(out.Events); !slices.Equal(got, []string{"e4", "e5"}) {
		t.Errorf("tail page = %v", got)
	}
	e.put("g", "s", []int64{60}, "e6")
	next, _ := e.svc.GetLogEvents(e.ctx, &GetLogEventsInput{LogGroupName: "g", LogStreamName: "s", NextToken: &out.NextForwardToken})
	if got := messages(next.Events); !slices.Equal(got, []string{"e6"}) {
		t.Errorf("after forward token = %v", got)
	}

	for _, bad := range []GetLogEventsInput{
		{LogGroupName: "g", LogStreamName: "s", NextToken: ptr("x/1")},
		{LogGroupName: "g", LogStreamName: "s", Limit: ptr(10001)},
	} {
		if _, err := e.svc.GetLogEvents(e.ctx, &bad); errCode(err) != api.CodeInvalidParameterException {
			t.Errorf("GetLogEvents(%+v) = %v, want InvalidParameterException", bad, err)
		}
	}
	if _, err := e.svc.GetLogEvents(e.ctx, &GetLogEventsInput{LogGroupName: "g", LogStreamName: "none"}); errCode(err) != codeNotFound {
		t.Errorf("GetLogEvents of a missing stream = %v", err)
	}
}

func TestFilterLogEvents(t *testing.T) {
	e := newEnv(t)
	e.createGroup("g")
	for _, s := range []string{"app/web/1", "app/web/2", "other"} {
		e.createStream("g", s)
	}
	e.put("g", "app/web/1", []int64{10, 30}, "GET /a 200", "GET /b 500 ERROR")
	e.put("g", "app/web/2", []int64{20, 40}, "POST /c 200", "boom ERROR fatal")
	e.put("g", "other", []int64{5}, "ERROR elsewhere")
	tests := []struct {
		name string
		in   FilterLogEventsInput
		want []string
	}{
		{"all in time order", FilterLogEventsInput{}, []string{"ERROR elsewhere", "GET /a 200", "POST /c 200", "GET /b 500 ERROR", "boom ERROR fatal"}},
		{"term", FilterLogEventsInput{FilterPattern: "ERROR"}, []string{"ERROR elsewhere", "GET /b 500 ERROR", "boom ERROR fatal"}},
		{"two terms", FilterLogEventsInput{FilterPattern: "ERROR GET"}, []string{"GET /b 500 ERROR"}},
		{"quoted", FilterLogEventsInput{FilterPattern: `"/c 200"`}, []string{"POST /c 200"}},
		{"excluded", FilterLogEventsInput{FilterPattern: "ERROR -fatal"}, []string{"ERROR elsewhere", "GET /b 500 ERROR"}},
		{"any of", FilterLogEventsInput{FilterPattern: "?POST ?boom"}, []string{"POST /c 200", "boom ERROR fatal"}},
		{"stream prefix", FilterLogEventsInput{LogStreamNamePrefix: "app/web/", FilterPattern: "ERROR"}, []string{"GET /b 500 ERROR", "boom ERROR fatal"}},
		{"stream names", FilterLogEventsInput{LogStreamNames: []string{"other", "app/web/2"}}, []string{"ERROR elsewhere", "POST /c 200", "boom ERROR fatal"}},
		{"time range inclusive", FilterLogEventsInput{StartTime: ptr(testNow.UnixMilli() + 20), EndTime: ptr(testNow.UnixMilli() + 30)}, []string{"POST /c 200", "GET /b 500 ERROR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.LogGroupName, tt.in.Limit = "g", ptr(2)
			var got []string
			for range 10 {
				out, err := e.svc.FilterLogEvents(e.ctx, &tt.in)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, messages(out.Events)...)
				if tt.in.NextToken = out.NextToken; out.NextToken == nil {
					break
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("events = %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := e.svc.FilterLogEvents(e.ctx, &FilterLogEventsInput{LogGroupName: "g", LogStreamNames: []string{"a"}, LogStreamNamePrefix: "a"}); errCode(err) != api.CodeInvalidParameterException {
		t.Errorf("names and prefix: %v", err)
	}
	if _, err := e.svc.FilterLogEvents(e.ctx, &FilterLogEventsInput{LogGroupName: "none"}); errCode(err) != codeNotFound {
		t.Errorf("missing group: %v", err)
	}
}

// denyLogs denies every logs: action, recording what was asked.
type denyLogs struct{ asked []string }

func (d *denyLogs) Authorize(_ context.Context, p api.Principal, action, resource string) error {
	d.asked = append(d.asked, action+" "+resource)
	return api.Errorf(api.CodeAccessDenied, "User: %s is not authorized to perform: %s on resource: %s", p.ARN, action, resource)
}

func TestAuthorizationDenialWritesNothing(t *testing.T) {
	e := newEnv(t)
	e.createGroup("g")
	e.createStream("g", "s")
	before, _ := e.st.Keys(e.ctx, e.svc.keys.prefix)
	deny := &denyLogs{}
	e.svc.authz = deny
	calls := []struct {
		action, resource string
		call             func() error
	}{
		{"logs:CreateLogGroup", "arn:aws:logs:us-east-1:123456789012:log-group:h:*", func() error {
			_, err := e.svc.CreateLogGroup(e.ctx, &CreateLogGroupInput{LogGroupName: "h"})
			return err
		}},
		{"logs:DeleteLogGroup", "arn:aws:logs:us-east-1:123456789012:log-group:g:*", func() error {
			_, err := e.svc.DeleteLogGroup(e.ctx, &DeleteLogGroupInput{LogGroupName: "g"})
			return err
		}},
		{"logs:CreateLogStream", "arn:aws:logs:us-east-1:123456789012:log-group:g:*", func() error {
			_, err := e.svc.CreateLogStream(e.ctx, &CreateLogStreamInput{LogGroupName: "g", LogStreamName: "t"})
			return err
		}},
		{"logs:DeleteLogStream", "arn:aws:logs:us-east-1:123456789012:log-group:g:*", func() error {
			_, err := e.svc.DeleteLogStream(e.ctx, &DeleteLogStreamInput{LogGroupName: "g", LogStreamName: "s"})
			return err
		}},
		{"logs:PutLogEvents", "arn:aws:logs:us-east-1:123456789012:log-group:g:log-stream:s", func() error {
			_, err := e.svc.PutLogEvents(e.ctx, &PutLogEventsInput{LogGroupName: "g", LogStreamName: "s", LogEvents: inputEvents([]int64{0}, "x")})
			return err
		}},
		{"logs:PutRetentionPolicy", "arn:aws:logs:us-east-1:123456789012:log-group:g:*", func() error {
			_, err := e.svc.PutRetentionPolicy(e.ctx, &PutRetentionPolicyInput{LogGroupName: "g", RetentionInDays: 1})
			return err
		}},
		{"logs:DeleteRetentionPolicy", "arn:aws:logs:us-east-1:123456789012:log-group:g:*", func() error {
			_, err := e.svc.DeleteRetentionPolicy(e.ctx, &DeleteRetentionPolicyInput{LogGroupName: "g"})
			return err
		}},
		{"logs:DescribeLogGroups", "arn:aws:logs:us-east-1:123456789012:log-group:*", func() error {
			_, err := e.svc.DescribeLogGroups(e.ctx, &DescribeLogGroupsInput{})
			return err
		}},
		{"logs:DescribeLogStreams", "arn:aws:logs:us-east-1:123456789012:log-group:g:*", func() error {
			_, err := e.svc.DescribeLogStreams(e.ctx, &DescribeLogStreamsInput{LogGroupName: "g"})
			return err
		}},
		{"logs:GetLogEvents", "arn:aws:logs:us-east-1:123456789012:log-group:g:log-stream:s", func() error {
			_, err := e.svc.GetLogEvents(e.ctx, &GetLogEventsInput{LogGroupName: "g", LogStreamName: "s"})
			return err
		}},
		{"logs:FilterLogEvents", "arn:aws:logs:us-east-1:123456789012:log-group:g:*", func() error {
			_, err := e.svc.FilterLogEvents(e.ctx, &FilterLogEventsInput{LogGroupName: "g"})
			return err
		}},
	}
	for _, c := range calls {
		t.Run(c.action, func(t *testing.T) {
			deny.asked = nil
			if err := c.call(); errCode(err) != api.CodeAccessDenied {
				t.Fatalf("err = %v, want AccessDeniedException", err)
			}
			if want := []string{c.action + " " + c.resource}; !slices.Equal(deny.asked, want) {
				t.Errorf("authorized %v, want %v", deny.asked, want)
			}
		})
	}
	after, _ := e.st.Keys(e.ctx, e.svc.keys.prefix)
	if !slices.Equal(before, after) {
		t.Errorf("keys changed under denial: %v -> %v", before, after)
	}
	e.svc.authz = api.RootOnly{}
	g, _ := e.svc.DescribeLogGroups(e.ctx, &DescribeLogGroupsInput{})
	if len(g.LogGroups) != 1 || g.LogGroups[0].RetentionInDays != nil {
		t.Errorf("groups after denials = %+v", g.LogGroups)
	}
}

// TestPutLogEventsConcurrent: writers to one stream all succeed, as the
// sequence token is ignored, and every event is kept once.
func TestPutLogEventsConcurrent(t *testing.T) {
	e := newEnv(t)
	e.createGroup("g")
	e.createStream("g", "s")
	const writers = 8
	errs := make(chan error, writers)
	for i := range writers {
		go func() {
			_, err := e.svc.PutLogEvents(e.ctx, &PutLogEventsInput{LogGroupName: "g", LogStreamName: "s", LogEvents: inputEvents([]int64{int64(i)}, string(rune('a'+i)))})
			errs <- err
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	out, err := e.svc.GetLogEvents(e.ctx, &GetLogEventsInput{LogGroupName: "g", LogStreamName: "s", StartFromHead: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(messages(out.Events), ""), "abcdefgh"; got != want {
		t.Errorf("events = %q, want %q", got, want)
	}
	streams, _ := e.svc.DescribeLogStreams(e.ctx, &DescribeLogStreamsInput{LogGroupName: "g"})
	if tok := streams.LogStreams[0].UploadSequenceToken; tok != sequenceToken(writers) {
		t.Errorf("uploadSequenceToken = %s after %d batches", tok, writers)
	}
}

// TestExpireEvents: a group's retention deletes the batches whose events
// are all older than it, in that group only; younger batches stay.
func TestExpireEvents(t *testing.T) {
	e := newEnv(t)
	day := 24 * time.Hour.Milliseconds()
	for _, g := range []string{"kept", "short"} {
		e.createGroup(g)
		e.createStream(g, "s")
		e.put(g, "s", []int64{-5 * day}, "five days ago")
		e.put(g, "s", []int64{-3 * day, -60 * time.Hour.Milliseconds()}, "three days ago", "sixty hours ago")
		e.put(g, "s", []int64{-time.Hour.Milliseconds()}, "an hour ago")
	}
	if _, err := e.svc.PutRetentionPolicy(e.ctx, &PutRetentionPolicyInput{LogGroupName: "short", RetentionInDays: 3}); err != nil {
		t.Fatal(err)
	}
	n, err := e.svc.ExpireEvents(e.ctx, testNow)
	if err != nil || n != 1 {
		t.Fatalf("ExpireEvents = %d, %v; want the one five-day-old event", n, err)
	}
	for g, want := range map[string][]string{
		"short": {"three days ago", "sixty hours ago", "an hour ago"},
		"kept":  {"five days ago", "three days ago", "sixty hours ago", "an hour ago"},
	} {
		out, err := e.svc.GetLogEvents(e.ctx, &GetLogEventsInput{LogGroupName: g, LogStreamName: "s", StartFromHead: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := messages(out.Events); !slices.Equal(got, want) {
			t.Errorf("%s after expiry: %q, want %q", g, got, want)
		}
	}
	// Once its newest event (sixty hours old) has expired too, the batch
	// holding the three-day-old one goes as a whole; the hour-old stays.
	if n, err := e.svc.ExpireEvents(e.ctx, testNow.Add(42*time.Hour)); err != nil || n != 2 {
		t.Fatalf("ExpireEvents later = %d, %v; want 2", n, err)
	}
}
