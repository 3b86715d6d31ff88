package simagent

import (
	"sync/atomic"
	"testing"
)

// TestCountDistinctTasks: a task sent twice (a reconnect's initial payload,
// a later change of desired status) reaches the agent once.
func TestCountDistinctTasks(t *testing.T) {
	var shared atomic.Int64
	a := &Agent{seen: map[string]struct{}{}, counter: &shared}
	a.count([]payloadTask{{Arn: "t1", DesiredStatus: "RUNNING"}, {Arn: "t2", DesiredStatus: "RUNNING"}})
	a.count([]payloadTask{{Arn: "t1", DesiredStatus: "STOPPED"}, {Arn: "t3", DesiredStatus: "RUNNING"}})
	if a.Received() != 3 || shared.Load() != 3 {
		t.Fatalf("received %d, shared count %d; want 3 and 3", a.Received(), shared.Load())
	}
}
