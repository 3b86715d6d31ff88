package ecs

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/berth-dev/berth/internal/placement"
)

// viewEntry makes a cache entry of an ACTIVE instance with memory MiB free.
func viewEntry(id string, memory int) *cachedInstance {
	rec := instanceRecord{ID: id, Cluster: "c", Instance: ContainerInstance{
		ContainerInstanceArn: "arn:" + id, Status: "ACTIVE",
		RegisteredResources: []Resource{{Name: "CPU", IntegerValue: 4096}, {Name: "MEMORY", IntegerValue: memory}},
	}}
	return &cachedInstance{key: "instance/c/" + id, rev: 1, rec: rec, view: placementView(&rec, false)}
}

// TestClusterViewSync follows a view through the changes a placer sees
// between batches, checking after each that it matches what the cache
// holds, instance for instance.
func TestClusterViewSync(t *testing.T) {
	a, b, c := viewEntry("a", 100), viewEntry("b", 100), viewEntry("c", 100)
	req := placement.Request{CPU: 1, Memory: 10}
	var v clusterView
	for _, step := range []struct {
		name      string
		items     []*cachedInstance
		connected []bool
		reserve   int // instance to reserve req on after syncing, or -1
		wantMem   []int
	}{
		{"first sync builds the view", []*cachedInstance{a, b}, []bool{true, true}, 0, []int{100, 100}},
		{"a reserved instance is re-read", []*cachedInstance{a, b}, []bool{true, true}, -1, []int{100, 100}},
		{"a changed entry is re-read", []*cachedInstance{viewEntry("a", 50), b}, []bool{true, true}, -1, []int{50, 100}},
		{"a registration rebuilds", []*cachedInstance{a, c, b}, []bool{true, true, true}, -1, []int{100, 100, 100}},
		{"a connection change is re-read", []*cachedInstance{a, c, b}, []bool{true, false, true}, -1, []int{100, 100, 100}},
		{"a replaced instance at the same position rebuilds", []*cachedInstance{a, viewEntry("d", 70), b}, []bool{true, true, true}, -1, []int{100, 70, 100}},
	} {
		v.sync(step.items, step.connected)
		for i, it := range step.items {
			got := v.place.Instances[i]
			if got.ARN != it.view.ARN || got.Memory != step.wantMem[i] || got.Connected != step.connected[i] {
				t.Fatalf("%s: instance %d is %s (memory %d, connected %v), want %s (memory %d, connected %v)",
					step.name, i, got.ARN, got.Memory, got.Connected, it.view.ARN, step.wantMem[i], step.connected[i])
			}
		}
		if step.reserve >= 0 {
			res := v.place.Place(req, 1, rand.New(rand.NewPCG(1, 1)))
			v.reserved(res.Placed)
		}
	}
}

// BenchmarkClusterViewSync measures a batch's view upkeep: syncing to a
// snapshot of the cluster in which the few instances the last batch wrote
// changed.
func BenchmarkClusterViewSync(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			items := make([]*cachedInstance, n)
			connected := make([]bool, n)
			for i := range items {
				items[i], connected[i] = viewEntry(fmt.Sprintf("i-%05d", i), 16384), true
			}
			var v clusterView
			v.sync(items, connected)
			req := placement.Request{CPU: 1, Memory: 8}
			rng := rand.New(rand.NewPCG(1, 2))
			v.place.Place(req, 1, rng) // builds the index
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer() // making the snapshot is the cache's cost
				snapshot := append([]*cachedInstance(nil), items...)
				for _, j := range []int{i % n, (i * 7) % n, (i * 13) % n} {
					snapshot[j] = viewEntry(items[j].rec.ID, 16384-i%100)
				}
				b.StartTimer()
				v.sync(snapshot, connected)
			}
		})
	}
}
