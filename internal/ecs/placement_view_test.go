package ecs

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/berth-dev/berth/internal/placement"
)

// viewRecord makes the record of an ACTIVE instance with memory MiB free.
func viewRecord(id string, memory int) instanceRecord {
	return instanceRecord{ID: id, Cluster: "c", Instance: ContainerInstance{
		ContainerInstanceArn: "arn:" + id, Status: "ACTIVE",
		RegisteredResources: []Resource{{Name: "CPU", IntegerValue: 4096}, {Name: "MEMORY", IntegerValue: memory}},
	}}
}

// TestClusterViewSync follows a placer's view through the changes the
// cache sees between batches, checking after each that the view matches a
// full snapshot of the cache, instance for instance.
func TestClusterViewSync(t *testing.T) {
	svc := &Service{keys: keys{prefix: "/t/"}}
	c := newInstanceCache(svc)
	key := func(id string) string { return svc.keys.instance("c", id) }
	rev := int64(0)
	put := func(id string, memory int) {
		rev++
		c.put(key(id), viewRecord(id, memory), rev)
	}
	connect := func(id string, on bool) {
		c.mu.Lock()
		c.setConnected(id, on)
		c.mu.Unlock()
	}
	req := placement.Request{CPU: 1, Memory: 10}
	var v clusterView
	for _, step := range []struct {
		name     string
		change   func()
		reserve  bool // place req once after syncing
		rebuilt  bool
		reported int // positions the cache reports changed
	}{
		{"first sync builds the view", func() { put("a", 100); put("b", 100); connect("a", true); connect("b", true) }, true, true, 2},
		{"a reserved instance is re-read", func() {}, false, false, 1},
		{"nothing changed", func() {}, false, false, 0},
		{"a changed entry is re-read", func() { put("a", 50) }, false, false, 1},
		{"a registration rebuilds", func() { put("c", 100); connect("c", true) }, false, true, 3},
		{"a connection change is re-read", func() { connect("c", false) }, false, false, 1},
		{"a deregistration rebuilds", func() { c.remove(key("c")); put("d", 70) }, false, true, 3},
		{"an older revision changes nothing", func() { c.put(key("a"), viewRecord("a", 1), 1) }, false, false, 0},
	} {
		step.change()
		d := c.since("c", v.gen, v.stale)
		if d.full != step.rebuilt || len(d.positions) != step.reported {
			t.Fatalf("%s: delta full=%v with %d positions, want full=%v with %d", step.name, d.full, len(d.positions), step.rebuilt, step.reported)
		}
		v.sync(d)
		items, connected := c.snapshot("c")
		if len(v.place.Instances) != len(items) {
			t.Fatalf("%s: view has %d instances, cache %d", step.name, len(v.place.Instances), len(items))
		}
		for i, it := range items {
			got := v.place.Instances[i]
			if got.ARN != it.view.ARN || got.Memory != it.view.Memory || got.Connected != connected[i] {
				t.Fatalf("%s: instance %d is %s (memory %d, connected %v), want %s (memory %d, connected %v)",
					step.name, i, got.ARN, got.Memory, got.Connected, it.view.ARN, it.view.Memory, connected[i])
			}
		}
		if step.reserve {
			res := v.place.Place(req, 1, rand.New(rand.NewPCG(1, 1)))
			if len(res.Placed) != 1 {
				t.Fatalf("%s: placed %v", step.name, res.Placed)
			}
			v.reserved(res.Placed)
		}
	}
}

// BenchmarkClusterViewSync measures a batch's view upkeep in a cluster in
// which the last batch wrote three instances: asking the cache what
// changed and re-reading those.
func BenchmarkClusterViewSync(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			svc := &Service{keys: keys{prefix: "/t/"}}
			c := newInstanceCache(svc)
			rev := int64(0)
			ids := make([]string, n)
			for i := range ids {
				ids[i] = fmt.Sprintf("i-%05d", i)
				rev++
				c.put(svc.keys.instance("c", ids[i]), viewRecord(ids[i], 16384), rev)
				c.setConnected(ids[i], true)
			}
			var v clusterView
			v.sync(c.since("c", v.gen, nil))
			req := placement.Request{CPU: 1, Memory: 8}
			v.place.Place(req, 1, rand.New(rand.NewPCG(1, 2))) // builds the index
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer() // writing the records is the store's cost
				for _, j := range []int{i % n, (i * 7) % n, (i * 13) % n} {
					rev++
					c.put(svc.keys.instance("c", ids[j]), viewRecord(ids[j], 16384-i%100), rev)
				}
				b.StartTimer()
				v.sync(c.since("c", v.gen, v.stale))
			}
		})
	}
}

// TestClusterViewRefusals checks the API form of placement's failures:
// the same failures (as placement hands a kind of request until an
// instance changes) give the same answer, any others a new one.
func TestClusterViewRefusals(t *testing.T) {
	var v clusterView
	a := []placement.Failure{{ARN: "arn:1", Reason: "RESOURCE:MEMORY"}, {ARN: "arn:2", Reason: "RESOURCE:PORTS"}}
	want := []Failure{{Arn: "arn:1", Reason: "RESOURCE:MEMORY"}, {Arn: "arn:2", Reason: "RESOURCE:PORTS"}}
	first := v.refusals(a)
	if !slices.Equal(first, want) || cap(first) != len(first) {
		t.Fatalf("refusals = %v (cap %d), want %v", first, cap(first), want)
	}
	if again := v.refusals(a); &again[0] != &first[0] {
		t.Errorf("the same failures were converted again")
	}
	b := slices.Clone(a)
	b[1].Reason = "RESOURCE:CPU"
	if got := v.refusals(b); &got[0] == &first[0] || got[1].Reason != "RESOURCE:CPU" {
		t.Errorf("other failures answered %v", got)
	}
	if got := v.refusals(a[:1]); len(got) != 1 || got[0] != want[0] {
		t.Errorf("a prefix of the failures answered %v", got)
	}
	if got := v.refusals(nil); len(got) != 0 {
		t.Errorf("no failures answered %v", got)
	}
}
