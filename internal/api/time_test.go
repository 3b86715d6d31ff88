package api

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTimestampRoundTrip(t *testing.T) {
	orig := Timestamp{time.Date(2026, 11, 25, 12, 0, 0, 123_000_000, time.UTC)}
	ts := orig
	for i := 0; i < 5; i++ {
		b, err := json.Marshal(ts)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &ts); err != nil {
			t.Fatal(err)
		}
	}
	if !ts.Equal(orig.Time) {
		t.Fatalf("after 5 round trips %s, want %s", ts.Time, orig.Time)
	}
	for _, in := range []string{`"2026-11-25T12:00:00.123Z"`, `1795608000.123`} {
		var got Timestamp
		if err := json.Unmarshal([]byte(in), &got); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got.UnixMilli()%1000 != 123 {
			t.Fatalf("%s decoded to %s", in, got.Time)
		}
	}
	var bad Timestamp
	if err := json.Unmarshal([]byte(`"yesterday"`), &bad); err == nil {
		t.Fatal("accepted a non-timestamp")
	}
}
