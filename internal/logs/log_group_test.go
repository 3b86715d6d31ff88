package logs

import (
	"slices"
	"testing"

	"github.com/berth-dev/berth/internal/api"
)

func TestLogGroupLifecycle(t *testing.T) {
	e := newEnv(t)
	e.createGroup("/ecs/app")
	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"create again", func() error {
			_, err := e.svc.CreateLogGroup(e.ctx, &CreateLogGroupInput{LogGroupName: "/ecs/app"})
			return err
		}, codeAlreadyExists},
		{"bad name", func() error {
			_, err := e.svc.CreateLogGroup(e.ctx, &CreateLogGroupInput{LogGroupName: "bad:name"})
			return err
		}, api.CodeInvalidParameterException},
		{"aws/ prefix", func() error {
			_, err := e.svc.CreateLogGroup(e.ctx, &CreateLogGroupInput{LogGroupName: "aws/x"})
			return err
		}, api.CodeInvalidParameterException},
		{"delete missing", func() error {
			_, err := e.svc.DeleteLogGroup(e.ctx, &DeleteLogGroupInput{LogGroupName: "/ecs/none"})
			return err
		}, codeNotFound},
		{"retention invalid", func() error {
			_, err := e.svc.PutRetentionPolicy(e.ctx, &PutRetentionPolicyInput{LogGroupName: "/ecs/app", RetentionInDays: 2})
			return err
		}, api.CodeInvalidParameterException},
		{"retention missing group", func() error {
			_, err := e.svc.PutRetentionPolicy(e.ctx, &PutRetentionPolicyInput{LogGroupName: "/ecs/none", RetentionInDays: 7})
			return err
		}, codeNotFound},
		{"stream in missing group", func() error {
			_, err := e.svc.CreateLogStream(e.ctx, &CreateLogStreamInput{LogGroupName: "/ecs/none", LogStreamName: "s"})
			return err
		}, codeNotFound},
		{"stream name with colon", func() error {
			_, err := e.svc.CreateLogStream(e.ctx, &CreateLogStreamInput{LogGroupName: "/ecs/app", LogStreamName: "a:b"})
			return err
		}, api.CodeInvalidParameterException},
		{"delete missing stream", func() error {
			_, err := e.svc.DeleteLogStream(e.ctx, &DeleteLogStreamInput{LogGroupName: "/ecs/app", LogStreamName: "none"})
			return err
		}, codeNotFound},
		{"describe streams of missing group", func() error {
			_, err := e.svc.DescribeLogStreams(e.ctx, &DescribeLogStreamsInput{LogGroupName: "/ecs/none"})
			return err
		}, codeNotFound},
		{"name and identifier", func() error {
			_, err := e.svc.DescribeLogStreams(e.ctx, &DescribeLogStreamsInput{LogGroupName: "/ecs/app", LogGroupIdentifier: "/ecs/app"})
			return err
		}, api.CodeInvalidParameterException},
		{"order by time with prefix", func() error {
			_, err := e.svc.DescribeLogStreams(e.ctx, &DescribeLogStreamsInput{LogGroupName: "/ecs/app", OrderBy: "LastEventTime", LogStreamNamePrefix: "a"})
			return err
		}, api.CodeInvalidParameterException},
		{"limit too high", func() error {
			_, err := e.svc.DescribeLogGroups(e.ctx, &DescribeLogGroupsInput{Limit: ptr(51)})
			return err
		}, api.CodeInvalidParameterException},
		{"bad token", func() error {
			_, err := e.svc.DescribeLogGroups(e.ctx, &DescribeLogGroupsInput{NextToken: ptr("!!")})
			return err
		}, api.CodeInvalidParameterException},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errCode(tt.call()); got != tt.code {
				t.Errorf("code = %q, want %q", got, tt.code)
			}
		})
	}

	e.createStream("/ecs/app", "s1")
	if _, err := e.svc.CreateLogStream(e.ctx, &CreateLogStreamInput{LogGroupName: "/ecs/app", LogStreamName: "s1"}); errCode(err) != codeAlreadyExists {
		t.Errorf("CreateLogStream twice: %v, want %s", err, codeAlreadyExists)
	}
	if _, err := e.svc.PutRetentionPolicy(e.ctx, &PutRetentionPolicyInput{LogGroupName: "/ecs/app", RetentionInDays: 7}); err != nil {
		t.Fatal(err)
	}
	out, err := e.svc.DescribeLogGroups(e.ctx, &DescribeLogGroupsInput{})
	if err != nil || len(out.LogGroups) != 1 {
		t.Fatalf("DescribeLogGroups = %+v, %v", out, err)
	}
	g := out.LogGroups[0]
	if g.RetentionInDays == nil || *g.RetentionInDays != 7 || g.Arn != "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/app:*" || g.CreationTime != testNow.UnixMilli() {
		t.Errorf("log group = %+v", g)
	}
	if _, err := e.svc.DeleteRetentionPolicy(e.ctx, &DeleteRetentionPolicyInput{LogGroupName: "/ecs/app"}); err != nil {
		t.Fatal(err)
	}
	out, _ = e.svc.DescribeLogGroups(e.ctx, &DescribeLogGroupsInput{})
	if out.LogGroups[0].RetentionInDays != nil {
		t.Errorf("retention after DeleteRetentionPolicy = %d", *out.LogGroups[0].RetentionInDays)
	}

	// Deleting the group takes its streams and events; a group of the
	// same name starts empty.
	e.put("/ecs/app", "s1", []int64{0}, "hello")
	if _, err := e.svc.DeleteLogGroup(e.ctx, &DeleteLogGroupInput{LogGroupName: "/ecs/app"}); err != nil {
		t.Fatal(err)
	}
	if keys, _ := e.st.Keys(e.ctx, e.svc.keys.prefix); len(keys) != 0 {
		t.Errorf("keys left after DeleteLogGroup: %v", keys)
	}
}

func TestDescribeLogGroupsPages(t *testing.T) {
	e := newEnv(t)
	names := []string{"/a/1", "/a/2", "/a/3", "/b/1", "/b/2"}
	for _, n := range names {
		e.createGroup(n)
	}
	tests := []struct {
		prefix string
		limit  int
		want   [][]string
	}{
		{"", 2, [][]string{{"/a/1", "/a/2"}, {"/a/3", "/b/1"}, {"/b/2"}}},
		{"/a", 3, [][]string{{"/a/1", "/a/2", "/a/3"}}},
		{"/b/", 1, [][]string{{"/b/1"}, {"/b/2"}}},
		{"/c", 1, [][]string{{}}},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			var tok *string
			for i, want := range tt.want {
				out, err := e.svc.DescribeLogGroups(e.ctx, &DescribeLogGroupsInput{LogGroupNamePrefix: tt.prefix, Limit: ptr(tt.limit), NextToken: tok})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, g := range out.LogGroups {
					got = append(got, g.LogGroupName)
				}
				if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
					t.Errorf("page %d = %v, want %v", i, got, want)
				}
				if last := i == len(tt.want)-1; last != (out.NextToken == nil) {
					t.Errorf("page %d: nextToken %v, last page %v", i, out.NextToken, last)
				}
				tok = out.NextToken
			}
		})
	}
}

func TestDescribeLogStreamsOrder(t *testing.T) {
	e := newEnv(t)
	e.createGroup("g")
	for _, s := range []string{"b", "a", "c"} {
		e.createStream("g", s)
	}
	// Last event times: c oldest, a newest, b none.
	e.put("g", "c", []int64{-2000}, "x")
	e.put("g", "a", []int64{-1000}, "x")
	tests := []struct {
		orderBy    string
		descending bool
		prefix     string
		want       []string
	}{
		{"", false, "", []string{"a", "b", "c"}},
		{"LogStreamName", true, "", []string{"c", "b", "a"}},
		{"LastEventTime", false, "", []string{"b", "c", "a"}},
		{"LastEventTime", true, "", []string{"a", "c", "b"}},
		{"", false, "b", []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.orderBy+"/"+tt.prefix, func(t *testing.T) {
			var got []string
			var tok *string
			for {
				out, err := e.svc.DescribeLogStreams(e.ctx, &DescribeLogStreamsInput{LogGroupName: "g", OrderBy: tt.orderBy,
					Descending: tt.descending, LogStreamNamePrefix: tt.prefix, Limit: ptr(1), NextToken: tok})
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range out.LogStreams {
					got = append(got, s.LogStreamName)
				}
				if tok = out.NextToken; tok == nil {
					break
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("streams = %v, want %v", got, tt.want)
			}
		})
	}
	out, _ := e.svc.DescribeLogStreams(e.ctx, &DescribeLogStreamsInput{LogGroupIdentifier: "arn:aws:logs:us-east-1:123456789012:log-group:g:*", LogStreamNamePrefix: "a"})
	if len(out.LogStreams) != 1 || out.LogStreams[0].LastEventTimestamp != testNow.UnixMilli()-1000 || out.LogStreams[0].Arn != "arn:aws:logs:us-east-1:123456789012:log-group:g:log-stream:a" {
		t.Errorf("stream a by group ARN = %+v", out.LogStreams)
	}
}
