package bench

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestPlacementDeliversAndFills runs the placement benchmark on a small
// cluster: the clock stops only once the agents hold every placed task,
// the default workload fills the instances so that both memory and host
// ports turn tasks away, and the audit finds nothing over-committed.
func TestPlacementDeliversAndFills(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane")
	}
	const instances = 24
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := Placement(ctx, PlacementConfig{Instances: instances, Concurrency: 4, Verify: true, DeliveryTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r)
	if r.Calls != instances/2 {
		t.Errorf("made %d calls, want %d (five tasks offered per instance)", r.Calls, instances/2)
	}
	if r.Placed+r.Unplaced != int64(r.Calls*TasksPerCall) {
		t.Errorf("placed %d + unplaced %d != %d tasks asked for", r.Placed, r.Unplaced, r.Calls*TasksPerCall)
	}
	if r.Unplaced == 0 || r.Failures["RESOURCE:MEMORY"] == 0 || r.Failures["RESOURCE:PORTS"] == 0 {
		t.Errorf("the workload did not fill the cluster: unplaced %d, failures %v", r.Unplaced, r.Failures)
	}
	// Four tasks fill an instance, whichever mix of the two it got.
	if r.Audit == nil || r.Audit.Tasks != 4*instances || r.Audit.Instances != instances || len(r.Audit.Problems) != 0 {
		t.Errorf("audit %+v, want %d tasks on %d instances and no problems", r.Audit, 4*instances, instances)
	}
	if r.Delivered < r.Returned {
		t.Errorf("delivered in %s, before the last call returned in %s", r.Delivered, r.Returned)
	}
}

// TestPlacementsPrintsRunsAndMedian checks the lines a series writes: per
// size, an audit line and a result line per run, then the median run.
func TestPlacementsPrintsRunsAndMedian(t *testing.T) {
	if testing.Short() {
		t.Skip("starts control planes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var b strings.Builder
	if err := Placements(ctx, &b, []int{2, 3}, 2, PlacementConfig{Concurrency: 2, Verify: true, DeliveryTimeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	want := []string{"verify: 2 ", "instances=2 ", "verify: 2 ", "instances=2 ", "median of 2: instances=2 ",
		"verify: 3 ", "instances=3 ", "verify: 3 ", "instances=3 ", "median of 2: instances=3 "}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), b.String())
	}
	for i, prefix := range want {
		if !strings.HasPrefix(lines[i], prefix) {
			t.Errorf("line %d = %q, want it to start %q", i+1, lines[i], prefix)
		}
	}
}

// TestPlacementResultLine checks the figures a result line gives: the
// delivered rate, which ends the clock, and beside it the rate counted when
// the last call returned.
func TestPlacementResultLine(t *testing.T) {
	tests := []struct {
		name string
		r    PlacementResult
		want []string
	}{
		{"delivered after return",
			PlacementResult{Instances: 100, Calls: 50, Placed: 400, Unplaced: 100, Failures: map[string]int64{"RESOURCE:MEMORY": 3},
				Returned: 100 * time.Millisecond, Delivered: 200 * time.Millisecond, CPU: 40 * time.Millisecond},
			[]string{"instances=100 ", "placed=400 unplaced=100 (failures RESOURCE:MEMORY=3)", "returned in 100ms, delivered in 200ms",
				": 2000 delivered placements/s (4000/s counted at RunTask's return), 100 µs CPU per placement"}},
		{"delivered as it returned",
			PlacementResult{Instances: 3, Placed: 10, Failures: map[string]int64{}, Returned: time.Second, Delivered: time.Second},
			[]string{": 10 delivered placements/s (10/s counted at RunTask's return)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := tt.r.String()
			for _, w := range tt.want {
				if !strings.Contains(line, w) {
					t.Errorf("%q does not contain %q", line, w)
				}
			}
		})
	}
}
