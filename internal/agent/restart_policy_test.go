package agent

import (
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/acs"
)

func TestShouldRestart(t *testing.T) {
	now := time.Now()
	on := &acs.RestartPolicy{Enabled: true, IgnoredExitCodes: []int{0, 42}, RestartAttemptPeriod: 60}
	for _, tt := range []struct {
		name    string
		rp      *acs.RestartPolicy
		code    int
		started time.Time
		want    bool
	}{
		{"no policy", nil, 1, now.Add(-time.Hour), false},
		{"disabled", &acs.RestartPolicy{RestartAttemptPeriod: 60}, 1, now.Add(-time.Hour), false},
		{"failed after the period", on, 1, now.Add(-61 * time.Second), true},
		{"exactly the period", on, 137, now.Add(-60 * time.Second), true},
		{"failed too soon", on, 1, now.Add(-59 * time.Second), false},
		{"ignored exit code", on, 42, now.Add(-time.Hour), false},
		{"ignored success", on, 0, now.Add(-time.Hour), false},
		{"never started", on, 1, time.Time{}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := shouldRestart(tt.rp, tt.code, tt.started, now); got != tt.want {
				t.Fatalf("shouldRestart = %v, want %v", got, tt.want)
			}
		})
	}
}
