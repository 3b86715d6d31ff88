package placement

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkPlace10 measures one RunTask's placement decision (10 tasks)
// over clusters of growing size, with the default service strategies.
func BenchmarkPlace10(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			// Instances large enough never to fill, so every iteration
			// places on the same cluster and no setup is timed.
			instances := azCluster([]string{"us-east-1a", "us-east-1b", "us-east-1c"}, n/3, 1<<30, 1<<30)
			spread, _ := ParseStrategy("spread", "attribute:ecs.availability-zone")
			byID, _ := ParseStrategy("spread", "instanceId")
			member, _ := ParseConstraint("memberOf", "attribute:ecs.instance-type =~ t3.*")
			r := Request{CPU: 256, Memory: 512, Group: "service:web", Strategies: []Strategy{spread, byID}, Constraints: []Constraint{member}}
			rng := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if res := Place(instances, r, 10, rng); len(res.Placed) != 10 {
					b.Fatalf("placed %d", len(res.Placed))
				}
			}
			b.ReportMetric(float64(10*b.N)/b.Elapsed().Seconds(), "placements/s")
		})
	}
}

// BenchmarkClusterPlace10 is BenchmarkPlace10 on a Cluster, whose index is
// built once and then kept current, as the RunTask batcher keeps it.
func BenchmarkClusterPlace10(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			c := NewCluster(azCluster([]string{"us-east-1a", "us-east-1b", "us-east-1c"}, n/3, 1<<30, 1<<30))
			spread, _ := ParseStrategy("spread", "attribute:ecs.availability-zone")
			binpack, _ := ParseStrategy("binpack", "memory")
			member, _ := ParseConstraint("memberOf", "attribute:ecs.instance-type =~ t3.*")
			r := Request{CPU: 1, Memory: 8, Group: "family:bench", Strategies: []Strategy{spread, binpack}, Constraints: []Constraint{member}}
			rng := rand.New(rand.NewPCG(1, 2))
			c.Place(r, 1, rng) // builds the index
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if res := c.Place(r, 10, rng); len(res.Placed) != 10 {
					b.Fatalf("placed %d", len(res.Placed))
				}
			}
			b.ReportMetric(float64(10*b.N)/b.Elapsed().Seconds(), "placements/s")
		})
	}
}
