package agent

import (
	"slices"
	"testing"
	"time"
)

// TestRetryBackoff: a shipper retries after 1s, then twice as long each
// time, never longer than shipRetry.
func TestRetryBackoff(t *testing.T) {
	next := retryBackoff()
	var got []time.Duration
	for range 8 {
		got = append(got, next())
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, shipRetry, shipRetry, shipRetry}
	if !slices.Equal(got, want) {
		t.Fatalf("waits %v, want %v", got, want)
	}
}
