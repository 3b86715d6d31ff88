package logs

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/store"
)

// TestNamesThatArePrefixesDoNotCollide checks that groups and streams
// whose names are prefixes of each other (ECS names its streams
// "prefix/container/task-id", and groups like /ecs/web and /ecs/web/x are
// common) keep their records and events apart: reading, listing and
// deleting one never reaches another.
func TestNamesThatArePrefixesDoNotCollide(t *testing.T) {
	groups := []string{"/ecs/web", "/ecs/web/x"}
	streams := []string{"a", "a/b", "a/b/c", "ecs/web/0123abcd", "a b"}
	type ref struct{ group, stream string }
	cases := []struct {
		name string
		del  func(e *env) error
		gone func(r ref) bool
	}{
		{"nothing deleted", func(*env) error { return nil }, func(ref) bool { return false }},
		{"DeleteLogStream a", func(e *env) error {
			_, err := e.svc.DeleteLogStream(e.ctx, &DeleteLogStreamInput{LogGroupName: "/ecs/web", LogStreamName: "a"})
			return err
		}, func(r ref) bool { return r == ref{"/ecs/web", "a"} }},
		{"DeleteLogStream a/b", func(e *env) error {
			_, err := e.svc.DeleteLogStream(e.ctx, &DeleteLogStreamInput{LogGroupName: "/ecs/web", LogStreamName: "a/b"})
			return err
		}, func(r ref) bool { return r == ref{"/ecs/web", "a/b"} }},
		{"DeleteLogGroup /ecs/web", func(e *env) error {
			_, err := e.svc.DeleteLogGroup(e.ctx, &DeleteLogGroupInput{LogGroupName: "/ecs/web"})
			return err
		}, func(r ref) bool { return r.group == "/ecs/web" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			for _, g := range groups {
				e.createGroup(g)
				for i, s := range streams {
					e.createStream(g, s)
					e.put(g, s, []int64{int64(i)}, g+"|"+s)
				}
			}
			if err := tc.del(e); err != nil {
				t.Fatalf("delete: %v", err)
			}
			for _, g := range groups {
				var left []string
				for _, s := range streams {
					out, err := e.svc.GetLogEvents(e.ctx, &GetLogEventsInput{LogGroupName: g, LogStreamName: s, StartFromHead: true})
					switch {
					case tc.gone(ref{g, s}):
						if errCode(err) != codeNotFound {
							t.Errorf("GetLogEvents %s %s after delete: %v, want %s", g, s, err, codeNotFound)
						}
					case err != nil:
						t.Errorf("GetLogEvents %s %s: %v", g, s, err)
					default:
						left = append(left, g+"|"+s)
						if got, want := messages(out.Events), []string{g + "|" + s}; !slices.Equal(got, want) {
							t.Errorf("GetLogEvents %s %s = %q, want %q", g, s, got, want)
						}
					}
				}
				if tc.gone(ref{g, ""}) { // the group itself was deleted
					continue
				}
				filtered, err := e.svc.FilterLogEvents(e.ctx, &FilterLogEventsInput{LogGroupName: g})
				if err != nil {
					t.Fatalf("FilterLogEvents %s: %v", g, err)
				}
				got := messages(filtered.Events)
				slices.Sort(got)
				slices.Sort(left)
				if !slices.Equal(got, left) {
					t.Errorf("FilterLogEvents %s = %q, want %q", g, got, left)
				}
				described, err := e.svc.DescribeLogStreams(e.ctx, &DescribeLogStreamsInput{LogGroupName: g, LogStreamNamePrefix: "a"})
				if err != nil {
					t.Fatalf("DescribeLogStreams %s: %v", g, err)
				}
				var names, want []string
				for _, s := range described.LogStreams {
					names = append(names, s.LogStreamName)
					if s.StoredBytes == 0 {
						t.Errorf("DescribeLogStreams %s: %s has no stored bytes", g, s.LogStreamName)
					}
				}
				for _, s := range streams {
					if strings.HasPrefix(s, "a") && !tc.gone(ref{g, s}) {
						want = append(want, s)
					}
				}
				slices.Sort(want)
				if !slices.Equal(names, want) {
					t.Errorf("DescribeLogStreams %s prefix a = %q, want %q", g, names, want)
				}
			}
		})
	}
}

// TestMigrateKeys checks that batches stored under the keys of earlier
// builds ("<group>:<stream>/<suffix>") are readable after MigrateKeys,
// each by its own stream, and that a second run moves nothing.
func TestMigrateKeys(t *testing.T) {
	e := newEnv(t)
	e.createGroup("/ecs/web")
	streams := []string{"a", "a/b", "a/b/c"}
	for i, s := range streams {
		e.createStream("/ecs/web", s)
		e.put("/ecs/web", s, []int64{int64(i)}, s)
	}
	// Rewrite every batch key into the old form.
	keys, err := e.st.Keys(e.ctx, e.svc.keys.allBatches())
	if err != nil {
		t.Fatal(err)
	}
	items, err := store.GetMany[json.RawMessage](e.ctx, e.st, keys)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		i := len(it.Key) - batchSuffixLen - 1
		if err := e.st.Commit(e.ctx, store.NewTxn().Delete(it.Key).PutJSON(it.Key[:i]+"/"+it.Key[i+1:], it.Value)); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []int{len(streams), 0} {
		n, err := e.svc.MigrateKeys(e.ctx)
		if err != nil || n != want {
			t.Fatalf("MigrateKeys = %d, %v; want %d", n, err, want)
		}
	}
	for _, s := range streams {
		out, err := e.svc.GetLogEvents(e.ctx, &GetLogEventsInput{LogGroupName: "/ecs/web", LogStreamName: s, StartFromHead: true})
		if err != nil {
			t.Fatalf("GetLogEvents %s: %v", s, err)
		}
		if got := messages(out.Events); !slices.Equal(got, []string{s}) {
			t.Errorf("GetLogEvents %s = %q after migration", s, got)
		}
	}
}
