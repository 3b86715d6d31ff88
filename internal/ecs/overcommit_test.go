package ecs

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// TestNoOvercommitUnderConcurrency is the CI-sized version of
// 'berth bench placement --verify': 16 clients place thousands of tasks,
// some with a fixed host port, until the cluster is full. The store must
// then show no instance over-committed in CPU, memory or ports, every
// reservation matching a live task, and no capacity left unused for
// another task (the retries never give up on a placement that fits).
func TestNoOvercommitUnderConcurrency(t *testing.T) {
	if testing.Short() {
		t.Skip("places thousands of tasks")
	}
	e := newEnv(t)
	cl := e.cluster("crowd")
	const instances = 100
	for range instances {
		e.instance(cl, 2048, 4096)
	}
	small := e.simpleTaskDef("crowd-small", 64, 128) // 32 fit on an empty instance
	web := e.taskDef("crowd-web", withPorts(container("web", 16, 32), [2]int{80, 8080}))

	const workers = 16
	var placed, calls atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				td, count := small.TaskDefinitionArn, 10
				if (w+i)%4 == 0 {
					td, count = web.TaskDefinitionArn, 2
				}
				out, err := e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: cl, TaskDefinition: td, Count: ptr(count)})
				calls.Add(1)
				if err != nil {
					errs <- err
					return
				}
				placed.Add(int64(len(out.Tasks)))
				if len(out.Tasks) < count && len(out.Failures) == 0 {
					errs <- fmt.Errorf("placed %d of %d without a failure", len(out.Tasks), count)
					return
				}
				if td == small.TaskDefinitionArn && len(out.Failures) > 0 {
					return // full for the small task: this client is done
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if placed.Load() < 3000 {
		t.Fatalf("placed only %d tasks in %d calls", placed.Load(), calls.Load())
	}
	audit, err := e.svc.VerifyPlacements(e.ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range audit.Problems {
		t.Error(p)
	}
	if audit.Instances != instances || int64(audit.Reservations) != placed.Load() || int64(audit.Tasks) != placed.Load() {
		t.Fatalf("store holds %d instances, %d tasks, %d reservations; RunTask placed %d", audit.Instances, audit.Tasks, audit.Reservations, placed.Load())
	}
	// Nothing that fits was turned away: a fresh call finds no room.
	if out := e.run(cl, small.TaskDefinitionArn, 1); len(out.Tasks) != 0 {
		t.Fatalf("a small task still fit after the clients gave up: %s", out.Tasks[0].ContainerInstanceArn)
	}
	t.Logf("%d tasks in %d calls on %d instances", placed.Load(), calls.Load(), instances)
}
