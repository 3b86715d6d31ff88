package ecs

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/api"
)

// tasks builds live tasks from a compact spec: each letter is one task,
// "N" current and running, "n" current and pending, "O" old (stale) and
// running, "o" old and pending, "U" current but running unhealthy, "P"
// and "Q" as "N" and "O" but protected from scale-in.
func tasksOf(spec string) []liveTask {
	var ts []liveTask
	for i, c := range spec {
		t := liveTask{ID: fmt.Sprintf("%c%d", c, i), Order: i}
		switch c {
		case 'N':
			t.Current, t.Running, t.Healthy = true, true, true
		case 'n':
			t.Current = true
		case 'O':
			t.Running, t.Healthy = true, true
		case 'o':
		case 'U':
			t.Running = true
		case 'P':
			t.Current, t.Running, t.Healthy, t.Protected = true, true, true, true
		case 'Q':
			t.Running, t.Healthy, t.Protected = true, true, true
		}
		ts = append(ts, t)
	}
	return ts
}

func TestPlanReplica(t *testing.T) {
	for _, tc := range []struct {
		name            string
		desired, lo, hi int
		tasks           string
		start           int
		stop            []string
	}{
		{"fresh service starts all", 3, 100, 200, "", 3, nil},
		{"steady does nothing", 3, 100, 200, "NNN", 0, nil},
		{"pending count toward desired", 3, 100, 200, "Nnn", 0, nil},
		{"replaces a stopped task", 3, 100, 200, "NN", 1, nil},
		{"scale in stops pending first", 2, 100, 200, "NnN", 0, []string{"n1"}},
		{"scale to zero", 0, 100, 200, "NN", 0, []string{"N0", "N1"}},
		// min 100 / max 200: start all new first, old stop once new run.
		{"roll 100/200 starts new first", 4, 100, 200, "OOOO", 4, nil},
		{"roll 100/200 keeps old while new pend", 4, 100, 200, "OOOOnnnn", 0, nil},
		{"roll 100/200 stops old once new run", 4, 100, 200, "OOOONNNN", 0, []string{"O0", "O1", "O2", "O3"}},
		{"roll 100/200 partial", 4, 100, 200, "OOOONNnn", 0, []string{"O0", "O1"}},
		// min 50 / max 100: stop half first, then start.
		{"roll 50/100 stops half", 4, 50, 100, "OOOO", 0, []string{"O0", "O1"}},
		{"roll 50/100 refills", 4, 50, 100, "OO", 2, nil},
		{"roll 50/100 continues", 4, 50, 100, "OONN", 0, []string{"O0", "O1"}},
		// min 50 / max 200 with 10 tasks: 10 new start while 5 old stop.
		{"roll 50/200 ten: new start, half the old stop", 10, 50, 200, "OOOOOOOOOO", 10, []string{"O0", "O1", "O2", "O3", "O4"}},
		{"old pending go at once", 2, 100, 200, "oo", 2, []string{"o0", "o1"}},
		{"min 0 stops every old task", 2, 0, 100, "OO", 0, []string{"O0", "O1"}},
		{"unhealthy is replaced and stopped", 2, 100, 200, "NU", 1, []string{"U1"}},
		{"max bounds starts", 3, 100, 150, "OOO", 1, nil},
		{"rounding: max floors, min ceils", 3, 50, 150, "OOO", 1, []string{"O0"}},
		// Task scale-in protection.
		{"scale in passes over protected", 1, 100, 200, "PNN", 0, []string{"N1", "N2"}},
		{"scale to zero keeps protected", 0, 100, 200, "PN", 0, []string{"N1"}},
		{"roll keeps protected old tasks", 2, 100, 200, "QONN", 0, []string{"O1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Unhealthy running tasks are not current for the scheduler.
			ts := tasksOf(tc.tasks)
			for i := range ts {
				if ts[i].Running && !ts[i].Healthy {
					ts[i].Current = false
				}
			}
			got := planReplica(tc.desired, tc.lo, tc.hi, ts)
			slices.Sort(got.Stop)
			if got.Start != tc.start || !slices.Equal(got.Stop, tc.stop) {
				t.Fatalf("plan = start %d stop %v, want start %d stop %v", got.Start, got.Stop, tc.start, tc.stop)
			}
			// The bounds hold after the plan.
			after := len(ts) - len(got.Stop) + got.Start
			if max := tc.desired * tc.hi / 100; got.Start > 0 && after > max {
				t.Errorf("%d tasks after the plan, above maximumPercent's %d", after, max)
			}
		})
	}
}

func TestCircuitBreakerThreshold(t *testing.T) {
	for desired, want := range map[int]int{0: 3, 1: 3, 4: 3, 7: 4, 10: 5, 399: 200, 1000: 200} {
		if got := circuitBreakerThreshold(desired); got != want {
			t.Errorf("threshold(%d) = %d, want %d", desired, got, want)
		}
	}
}

func TestBackoffCountsQuickFailuresOnly(t *testing.T) {
	at := func(s int) *api.Timestamp { return api.At(time.Unix(1_700_000_000+int64(s), 0)) }
	for _, tc := range []struct {
		name             string
		started, stopped *api.Timestamp
		quick            bool
	}{
		{"never started", nil, at(5), true},
		{"exited after 1 s", at(0), at(1), true},
		{"ran a minute", at(0), at(60), false},
	} {
		tk := &taskRecord{Task: Task{StartedAt: tc.started, StoppedAt: tc.stopped}}
		if got := quickFailure(tk); got != tc.quick {
			t.Errorf("%s: quickFailure = %v, want %v", tc.name, got, tc.quick)
		}
	}
	for failures, want := range map[int]time.Duration{0: 0, 2: 0, 3: 5 * time.Second, 4: 10 * time.Second, 20: 5 * time.Minute} {
		if got := backoff(failures); got != want {
			t.Errorf("backoff(%d) = %v, want %v", failures, got, want)
		}
	}
}
