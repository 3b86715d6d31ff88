package api

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Timestamp is an AWS JSON timestamp: seconds since the epoch as a number
// with millisecond precision on the wire.
type Timestamp struct{ time.Time }

// Now returns the current time as a Timestamp, truncated to milliseconds as AWS reports it.
func Now() *Timestamp { return &Timestamp{time.Now().UTC().Truncate(time.Millisecond)} }

// At wraps t; a zero t gives nil so the field is omitted.
func At(t time.Time) *Timestamp {
	if t.IsZero() {
		return nil
	}
	return &Timestamp{t.UTC().Truncate(time.Millisecond)}
}

// MarshalJSON writes epoch seconds.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	ms := t.UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)), nil
}

// UnmarshalJSON accepts epoch seconds (number) or an RFC 3339 string.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("invalid timestamp %s", b)
		}
		// Round to the millisecond the wire carries, so decoding what was
		// encoded gives the same instant back.
		t.Time = time.UnixMilli(int64(math.Round(f * 1000))).UTC()
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("invalid timestamp %s", b)
	}
	p, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("invalid timestamp %q", s)
	}
	t.Time = p.UTC()
	return nil
}
