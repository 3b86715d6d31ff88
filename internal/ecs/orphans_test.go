package ecs

import (
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/berth-dev/berth/internal/store"
)

// TestTasksOnAGoneInstanceAreStopped: when an instance goes — force
// deregistered, or its agent lost past the grace period — the server marks
// its tasks (a service's and a standalone one) STOPPED with the stop's
// cause, releases their reservations, the service replaces them elsewhere
// and the collector removes them.
func TestTasksOnAGoneInstanceAreStopped(t *testing.T) {
	for _, tc := range []struct {
		name     string
		gone     func(s *sched, a ContainerInstance)
		code     string
		reasonOf func(a ContainerInstance) string
	}{
		{
			name: "force deregistered",
			gone: func(s *sched, a ContainerInstance) {
				if _, err := s.svc.DeregisterContainerInstance(s.ctx, &DeregisterContainerInstanceInput{Cluster: s.cluster, ContainerInstance: a.ContainerInstanceArn, Force: ptr(true)}); err != nil {
					s.t.Fatal(err)
				}
			},
			code: "UserInitiated",
			reasonOf: func(a ContainerInstance) string {
				return "Task stopped because its container instance " + a.ContainerInstanceArn + " was deregistered."
			},
		},
		{
			name: "agent lost",
			gone: func(s *sched, a ContainerInstance) {
				s.st.Client().Delete(s.ctx, s.svc.keys.connected(lastSegment(a.ContainerInstanceArn)))
				s.pass() // starts the grace period
				s.now = s.now.Add(2 * time.Minute)
			},
			code: "TerminationNotice",
			reasonOf: func(a ContainerInstance) string {
				return "Host EC2 (instance " + a.Ec2InstanceId + ") stopped/terminated."
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			cluster := e.cluster("gone")
			a := e.instance(cluster, 1024, 1024)
			aID := lastSegment(a.ContainerInstanceArn)
			e.simpleTaskDef("app", 128, 128)
			s := newSched(e, cluster)
			if _, err := e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: cluster, ServiceName: "app", TaskDefinition: "app", DesiredCount: ptr(2)}); err != nil {
				t.Fatal(err)
			}
			s.converge("app", 0, 200, nil)
			e.run(cluster, "app", 1)
			s.agents(nil)
			b := e.instance(cluster, 1024, 1024)

			tc.gone(s, a)
			s.pass()
			onA := 0
			for _, tk := range s.tasks() {
				if tk.InstanceID != aID {
					continue
				}
				onA++
				if tk.Task.LastStatus != "STOPPED" || tk.Task.DesiredStatus != "STOPPED" || tk.Task.StoppedAt == nil {
					t.Fatalf("task %s on the gone instance: last %s desired %s stoppedAt %v; want STOPPED", tk.ID, tk.Task.LastStatus, tk.Task.DesiredStatus, tk.Task.StoppedAt)
				}
				if tk.Task.StopCode != tc.code || tk.Task.StoppedReason != tc.reasonOf(a) {
					t.Fatalf("task %s stopped with %q %q, want %q %q", tk.ID, tk.Task.StopCode, tk.Task.StoppedReason, tc.code, tc.reasonOf(a))
				}
			}
			if onA != 3 {
				t.Fatalf("%d tasks on the gone instance, want 3", onA)
			}
			inst, err := store.Get[instanceRecord](e.ctx, e.st, e.svc.keys.instance(cluster, aID))
			if err != nil {
				t.Fatal(err)
			}
			if u := inst.Value.Usage; u.tasks() != 0 || u.CPU != 0 || u.Memory != 0 {
				t.Fatalf("the gone instance still holds %+v", u)
			}
			if resp, _ := e.st.Client().Get(e.ctx, e.svc.keys.assignments(aID), clientv3.WithPrefix(), clientv3.WithCountOnly()); resp != nil && resp.Count != 0 {
				t.Fatalf("%d assignments left on the gone instance", resp.Count)
			}
			// The service replaces its two tasks on B.
			s.agents(nil)
			s.pass()
			if running, pending, _ := s.live("app"); running+pending != 2 {
				t.Fatalf("service has %d running and %d pending, want 2 replacements", running, pending)
			}
			for _, tk := range s.tasks() {
				if tk.Task.DesiredStatus == "RUNNING" && tk.InstanceID != lastSegment(b.ContainerInstanceArn) {
					t.Fatalf("task %s wanted on %s", tk.ID, tk.InstanceID)
				}
			}
			n, err := e.svc.CollectStoppedTasks(e.ctx, time.Now().Add(2*StoppedTaskRetention), StoppedTaskRetention)
			if err != nil || n != 3 {
				t.Fatalf("collected %d stopped tasks (%v), want the gone instance's 3", n, err)
			}
		})
	}
}
