package agent

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/berth-dev/berth/internal/acs"
	"github.com/berth-dev/berth/internal/agent/dockerrt"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/internal/vpc"
)

// spareIDs are the pool's spares now.
func spareIDs(p *pausePool) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.spares)
}

// TestPausePool: an instance with a pool of two keeps two started spares;
// an awsvpc task takes one as its pause container (its interface in the
// spare's namespace, reachable), the pool starts another, a restarted
// agent takes over the waiting spares but not the taken one, and the
// task's clean-up removes the taken spare; found by its name even without
// the task's payload. A task whose interface names DNS servers gets a
// pause container of its own.
func TestPausePool(t *testing.T) {
	instance := "arn:aws:ecs:us-east-1:123456789012:container-instance/eni-test/" + randomHex(8)
	a, rt := eniTestAgent(t, instance)
	a.cfg.PausePool = 2
	a.useRuntime(rt)
	image := testutil.BuildTestImage(t, "")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go a.pauses.run(ctx)
	waitFor(t, "two spares", 30*time.Second, func() bool { return len(spareIDs(a.pauses)) == 2 })
	first := spareIDs(a.pauses)
	for _, id := range first {
		st, err := rt.Inspect(ctx, id)
		if err != nil || !st.Running || st.Labels[labelPause] != pauseSpare || st.Labels[labelInstance] != instance || st.NetworkMode != "none" {
			t.Fatalf("spare %s: %+v %v", id, st, err)
		}
	}

	task := func(addr string, dns ...string) acs.Task {
		eni := acs.ElasticNetworkInterface{
			Ec2Id: "eni-0" + randomHex(8), MacAddress: "0a:58:0a:d5:0c:" + addr[len(addr)-2:], SubnetGatewayIpv4Address: "10.213.12.1/24",
			IPV4Addresses: []acs.ENIIPV4Address{{Primary: true, PrivateAddress: addr}}, DomainNameServers: dns,
		}
		t.Cleanup(func() { vpc.DetachTask(eni.Ec2Id) })
		return acs.Task{
			Arn: "arn:aws:ecs:us-east-1:123456789012:task/eni-test/" + randomHex(16), Family: "pool", Version: "1",
			DesiredStatus: statusRunning, NetworkMode: "awsvpc", ElasticNetworkInterfaces: []acs.ElasticNetworkInterface{eni},
			Containers: []acs.Container{{Name: "web", Image: image, Essential: true, Memory: 64, PortMappings: []acs.PortMapping{{ContainerPort: 8080}}}},
		}
	}
	running := func(arn string) func() bool {
		return func() bool {
			a.mu.Lock()
			defer a.mu.Unlock()
			tk := a.tasks[arn]
			return tk != nil && tk.status == statusRunning
		}
	}
	def := task("10.213.12.10")
	a.mergePayload(ctx, []acs.Task{def})
	waitFor(t, "the task to run", 60*time.Second, running(def.Arn))
	pause, err := rt.Inspect(ctx, pauseName(def.Arn, &def))
	if err != nil || !slices.Contains(first, pause.ID) {
		t.Fatalf("the task's pause container %s (%v) is none of the spares %v", pause.ID, err, first)
	}
	waitFor(t, "the task at 10.213.12.10:8080", 10*time.Second, func() bool { _, ok := get("http://10.213.12.10:8080/"); return ok })
	waitFor(t, "the pool full again", 30*time.Second, func() bool {
		ids := spareIDs(a.pauses)
		return len(ids) == 2 && !slices.Contains(ids, pause.ID)
	})

	// Without the payload, the taken spare is found by the task's id.
	found, err := rt.List(ctx, map[string]string{labelPause: pauseSpare, labelInstance: instance})
	if err != nil || len(found) != 3 {
		t.Fatalf("spares, waiting and taken: %d (%v), want 3", len(found), err)
	}
	var hook *eniHook
	for _, h := range a.hooks {
		if e, ok := h.(*eniHook); ok {
			hook = e
		}
	}
	taken, err := hook.takenSpare(ctx, def.Arn, nil)
	if err != nil || len(taken) != 1 || taken[0].ID != pause.ID {
		t.Fatalf("takenSpare without a payload: %+v %v", taken, err)
	}

	// A restarted agent takes over the two waiting spares only.
	b, _ := eniTestAgent(t, instance)
	b.cfg.PausePool = 2
	b.useRuntime(rt)
	b.pauses.adopt(ctx)
	if got, want := slices.Sorted(slices.Values(spareIDs(b.pauses))), slices.Sorted(slices.Values(spareIDs(a.pauses))); !slices.Equal(got, want) {
		t.Fatalf("the restarted agent's spares %v, want %v", got, want)
	}

	// A task whose interface names DNS servers starts its own.
	own := task("10.213.12.11", "10.213.12.2")
	a.mergePayload(ctx, []acs.Task{own})
	waitFor(t, "the DNS task to run", 60*time.Second, running(own.Arn))
	if st, err := rt.Inspect(ctx, pauseName(own.Arn, &own)); err != nil || st.Labels[labelPause] != own.Arn {
		t.Fatalf("the DNS task's pause container %+v %v: want one of its own", st.Labels, err)
	}

	stop := def
	stop.DesiredStatus = statusStopped
	a.mergePayload(ctx, []acs.Task{stop})
	waitFor(t, "the task to be cleaned up", 30*time.Second, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.tasks[def.Arn] == nil
	})
	if _, err := rt.Inspect(ctx, pause.ID); !dockerrt.IsNotFound(err) {
		t.Fatalf("the taken spare is left after the task's clean-up (%v)", err)
	}
	if _, err := netlink.LinkByName(vpc.TaskLinkName(def.ElasticNetworkInterfaces[0].Ec2Id)); err == nil {
		t.Fatal("the task's interface is left after its clean-up")
	}
	for _, id := range spareIDs(a.pauses) {
		if st, err := rt.Inspect(ctx, id); err != nil || !st.Running {
			t.Fatalf("a waiting spare went with the task: %v", err)
		}
	}
}
