package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestBenchPlacementDeliversAndFills: a small run counts as placed only
// what reached the simulated agents, overfills the cluster (failures for
// memory and the fixed host port), and its audit finds no over-commit.
func TestBenchPlacementDeliversAndFills(t *testing.T) {
	var out bytes.Buffer
	if err := benchPlacement(t.Context(), &out, 6, 40, 4, true, ""); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	text := out.String()
	m := regexp.MustCompile(`placed=(\d+) failures=(\d+) delivered in`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no delivered placements line:\n%s", text)
	}
	placed, _ := strconv.Atoi(m[1])
	failed, _ := strconv.Atoi(m[2])
	// ECS reports a failure per refusing instance and reason, not per task.
	if placed == 0 || placed >= 400 || failed == 0 {
		t.Fatalf("placed %d of 400 tasks with %d failures: want some of each\n%s", placed, failed, text)
	}
	for _, reason := range []string{"RESOURCE:MEMORY", "RESOURCE:PORTS"} {
		if !strings.Contains(text, "failures "+reason) {
			t.Errorf("no %s failures: the workload did not fill the instances\n%s", reason, text)
		}
	}
	if !strings.Contains(text, "0 problems") {
		t.Fatalf("verify found problems:\n%s", text)
	}
}
