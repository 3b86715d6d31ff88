package ecs

import (
	"slices"
	"testing"
)

func TestClusterEntriesStayInKeyOrder(t *testing.T) {
	entry := func(id string, rev int64) *cachedInstance {
		return &cachedInstance{key: "instance/c/" + id, rev: rev, rec: instanceRecord{ID: id}}
	}
	ce := newClusterEntries()
	for _, step := range []struct {
		op   string // "set" or "remove"
		id   string
		want []string
	}{
		{"set", "m", []string{"m"}},
		{"set", "c", []string{"c", "m"}},
		{"set", "x", []string{"c", "m", "x"}},
		{"set", "m", []string{"c", "m", "x"}}, // replaced in place
		{"remove", "c", []string{"m", "x"}},
		{"set", "a", []string{"a", "m", "x"}},
		{"remove", "nope", []string{"a", "m", "x"}},
		{"remove", "x", []string{"a", "m"}},
	} {
		if step.op == "set" {
			ce.set(entry(step.id, 2))
		} else {
			ce.remove(step.id)
		}
		var got []string
		for i, e := range ce.list {
			got = append(got, e.rec.ID)
			if ce.pos[e.rec.ID] != i {
				t.Fatalf("after %s %s: pos[%s] = %d, want %d", step.op, step.id, e.rec.ID, ce.pos[e.rec.ID], i)
			}
		}
		if !slices.Equal(got, step.want) || len(ce.pos) != len(step.want) {
			t.Fatalf("after %s %s: order %v (%d indexed), want %v", step.op, step.id, got, len(ce.pos), step.want)
		}
	}
	if ce.get("m").rev != 2 || ce.get("c") != nil {
		t.Fatalf("get: m rev %d, c %v", ce.get("m").rev, ce.get("c"))
	}
}
