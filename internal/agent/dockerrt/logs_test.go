package dockerrt_test

import (
	"io"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/agent/dockerrt"
)

func readAll(t *testing.T, ls *dockerrt.LogStream) []dockerrt.LogLine {
	t.Helper()
	defer ls.Close()
	var out []dockerrt.LogLine
	for {
		l, err := ls.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, l)
	}
}

func TestLogs(t *testing.T) {
	t.Parallel()
	rt, image := setup(t)
	tests := []struct {
		name   string
		cmd    []string
		text   string
		stderr bool
		tty    bool
	}{
		{"stdout", []string{"sleep", "0"}, "testapp: sleeping 0s", false, false},
		{"stderr", []string{"bogus"}, `testapp: unknown command "bogus"`, true, false},
		// With a TTY (pseudoTerminal) both streams come as plain stdout lines.
		{"tty", []string{"bogus"}, `testapp: unknown command "bogus"`, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id := run(t, rt, image, dockerrt.ContainerSpec{Cmd: tc.cmd, Linux: dockerrt.LinuxSettings{Tty: tc.tty}})
			waitExited(t, rt, id)
			// Following a stopped container's log ends after its last line.
			ls, err := rt.Logs(t.Context(), id, time.Time{}, true)
			if err != nil {
				t.Fatal(err)
			}
			lines := readAll(t, ls)
			if len(lines) != 1 || lines[0].Stderr != tc.stderr || len(lines[0].Text) < len(tc.text) || lines[0].Text[:len(tc.text)] != tc.text {
				t.Fatalf("lines = %+v, want one %q (stderr %v)", lines, tc.text, tc.stderr)
			}
			if age := time.Since(lines[0].Time); age < 0 || age > time.Minute {
				t.Errorf("line time %v is not recent", lines[0].Time)
			}
			// since is inclusive: from the line's own time it is read again,
			// from just after it nothing is.
			ls, _ = rt.Logs(t.Context(), id, lines[0].Time, false)
			if again := readAll(t, ls); len(again) != 1 {
				t.Errorf("since the line's time: %d lines, want 1", len(again))
			}
			ls, _ = rt.Logs(t.Context(), id, lines[0].Time.Add(time.Microsecond), false)
			if after := readAll(t, ls); len(after) != 0 {
				t.Errorf("since after the line: %+v, want none", after)
			}
		})
	}
}
