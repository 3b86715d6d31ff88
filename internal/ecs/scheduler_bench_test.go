package ecs

import (
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// BenchmarkSchedulerPass measures one scheduler pass over 1,000 services of
// 10 tasks each (10,000 RUNNING tasks on 200 instances) at steady state:
// the cost the leader pays every second even when nothing changes. The
// setup itself reports the launch of all 10,000 tasks by passes (tasks/s and
// etcd writes/s).
func BenchmarkSchedulerPass(b *testing.B) {
	const services, perService, instances = 1000, 10, 200
	e := newEnv(b)
	cluster := e.cluster("bench")
	for range instances {
		e.instance(cluster, 64*1024, 256*1024)
	}
	e.simpleTaskDef("app", 10, 16)
	for i := range services {
		if _, err := e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: cluster, ServiceName: fmt.Sprintf("svc-%04d", i), TaskDefinition: "app", DesiredCount: ptr(perService)}); err != nil {
			b.Fatal(err)
		}
	}
	s := newSched(e, cluster)
	revBefore := e.revision()
	start := time.Now()
	s.pass()
	launch := time.Since(start)
	writes := e.revision() - revBefore
	if n := len(s.tasks()); n != services*perService {
		b.Fatalf("%d tasks after the first pass, want %d", n, services*perService)
	}
	b.Logf("first pass launched %d tasks in %v: %.0f tasks/s, %d etcd revisions (%.0f writes/s)",
		services*perService, launch.Round(time.Millisecond), float64(services*perService)/launch.Seconds(), writes, float64(writes)/launch.Seconds())
	s.agents(nil)
	s.now = s.now.Add(time.Minute)
	s.pass() // counts, steady state
	revSteady := e.revision()
	b.ResetTimer()
	for b.Loop() {
		s.pass()
	}
	b.StopTimer()
	if w := e.revision() - revSteady; w != 0 {
		b.Fatalf("steady passes wrote %d revisions, want 0", w)
	}
	if svc := s.service("svc-0000"); svc.RunningCount != perService {
		b.Fatalf("svc-0000 running %d", svc.RunningCount)
	}
}

// revision returns the store's current revision.
func (e *env) revision() int64 {
	resp, err := e.st.Client().Get(e.ctx, "/", clientv3.WithCountOnly())
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.Header.Revision
}
