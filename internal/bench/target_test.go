package bench

import (
	"io"
	"strings"
	"testing"
	"time"
)

func ms(ns ...int) []time.Duration {
	var d []time.Duration
	for _, n := range ns {
		d = append(d, time.Duration(n)*time.Millisecond)
	}
	return d
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []time.Duration
		want time.Duration
	}{
		{"one", ms(7), 7 * time.Millisecond},
		{"odd, unsorted", ms(9, 1, 5), 5 * time.Millisecond},
		{"even takes the upper middle", ms(4, 1, 3, 2), 3 * time.Millisecond},
		{"repeats", ms(2, 2, 8), 2 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := append([]time.Duration(nil), c.in...)
			if got := median(in); got != c.want {
				t.Errorf("median(%v) = %s, want %s", c.in, got, c.want)
			}
			for i := range in {
				if in[i] != c.in[i] {
					t.Fatalf("median sorted its argument: %v", in)
				}
			}
		})
	}
}

func TestReport(t *testing.T) {
	for _, c := range []struct {
		what string
		in   []time.Duration
		want string
	}{
		{"one", ms(5), "one                    n=1 min=5ms median=5ms p90=5ms p99=5ms max=5ms\n"},
		{"ten", ms(10, 9, 8, 7, 6, 5, 4, 3, 2, 1), "ten                    n=10 min=1ms median=6ms p90=10ms p99=10ms max=10ms\n"},
		{"rounds to µs", []time.Duration{1234567, 2345678}, "rounds to µs           n=2 min=1.235ms median=2.346ms p90=2.346ms p99=2.346ms max=2.346ms\n"},
		{"two hundred", func() []time.Duration {
			var d []time.Duration
			for i := 200; i >= 1; i-- {
				d = append(d, time.Duration(i)*time.Millisecond)
			}
			return d
		}(), "two hundred            n=200 min=1ms median=101ms p90=181ms p99=199ms max=200ms\n"},
	} {
		var b strings.Builder
		report(&b, c.what, c.in)
		if b.String() != c.want {
			t.Errorf("report(%q, %v) =\n%q\nwant\n%q", c.what, c.in, b.String(), c.want)
		}
	}
}

func TestMBPS(t *testing.T) {
	for _, c := range []struct {
		size int64
		d    time.Duration
		want float64
	}{
		{200e6, 2 * time.Second, 100},
		{1e6, 500 * time.Millisecond, 2},
		{0, time.Second, 0},
	} {
		if got := mbps(c.size, c.d); got != c.want {
			t.Errorf("mbps(%d, %s) = %v, want %v", c.size, c.d, got, c.want)
		}
	}
}

func TestResultReports(t *testing.T) {
	for _, c := range []struct {
		name   string
		report func(io.Writer)
		want   string
	}{
		{"runtask", RunTaskResult{Berth: ms(300, 100, 200), Docker: ms(50, 100, 150)}.Report, "" +
			"RunTask→RUNNING        n=3 min=100ms median=200ms p90=300ms p99=300ms max=300ms\n" +
			"docker create+start    n=3 min=50ms median=100ms p90=150ms p99=150ms max=150ms\n" +
			"ratio of medians: 2.00\n"},
		{"service, both", ServiceResult{Desired: 10, Replaced: ms(1), Converged: ms(2), Completed: ms(3)}.Report, "" +
			"kill→replacement       n=1 min=1ms median=1ms p90=1ms p99=1ms max=1ms\n" +
			"rollout 10 tasks       n=1 min=2ms median=2ms p90=2ms p99=2ms max=2ms\n" +
			"rollout COMPLETED      n=1 min=3ms median=3ms p90=3ms p99=3ms max=3ms\n"},
		{"service, no kills", ServiceResult{Desired: 2, Converged: ms(2), Completed: ms(3)}.Report, "" +
			"rollout 2 tasks        n=1 min=2ms median=2ms p90=2ms p99=2ms max=2ms\n" +
			"rollout COMPLETED      n=1 min=3ms median=3ms p90=3ms p99=3ms max=3ms\n"},
		{"service, nothing timed", ServiceResult{Desired: 2}.Report, ""},
	} {
		var b strings.Builder
		c.report(&b)
		if b.String() != c.want {
			t.Errorf("%s: got\n%s\nwant\n%s", c.name, b.String(), c.want)
		}
	}
}
