package ecs

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/api"
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

// TestInstanceCacheRetriesAFailedFirstLoad: the first placement's request
// goes away while the cache loads; the failure is that request's, and the
// next placement loads the cache and places.
func TestInstanceCacheRetriesAFailedFirstLoad(t *testing.T) {
	e := newEnv(t)
	cluster := e.cluster("first-load")
	e.instance(cluster, 1024, 1024)
	e.simpleTaskDef("app", 128, 128)
	gone, cancel := context.WithCancel(e.ctx)
	cancel()
	if err := e.svc.cache.start(gone); err == nil {
		t.Fatal("load with a cancelled context succeeded")
	}
	if out := e.run(cluster, "app", 1); len(out.Tasks) != 1 {
		t.Fatalf("RunTask after a failed first load: %+v", out)
	}
}

// TestInstanceCacheResyncsWhenItsWatchEnds: the cache's watch starts from
// a revision that is compacted away meanwhile (as when the watch falls
// behind compaction), so etcd ends it with ErrCompacted. The cache reloads
// — seeing the instance registered and the one removed meanwhile — and
// follows again.
func TestInstanceCacheResyncsWhenItsWatchEnds(t *testing.T) {
	e := newEnv(t)
	cluster := e.cluster("resync")
	a := e.instance(cluster, 1024, 1024)
	var loads atomic.Int32
	registered := make(chan ContainerInstance, 1)
	e.svc.cache.onLoaded = func(rev int64) {
		if loads.Add(1) > 1 {
			return
		}
		// The cache follows nothing until this hook returns, so the agent
		// is marked connected without env.connect's wait for the cache.
		b := e.instance(cluster, 2048, 2048, instanceOpts{disconnected: true})
		if _, err := e.st.Client().Put(e.ctx, e.svc.keys.connected(lastSegment(b.ContainerInstanceArn)), "test-conn"); err != nil {
			t.Error(err)
		}
		registered <- b
		if _, err := e.st.Client().Delete(e.ctx, e.svc.keys.instance(cluster, lastSegment(a.ContainerInstanceArn))); err != nil {
			t.Error(err)
		}
		resp, err := e.st.Client().Put(e.ctx, "/compact-mark", "x")
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := e.st.Client().Compact(e.ctx, resp.Header.Revision); err != nil {
			t.Error(err)
		}
	}
	if err := e.svc.cache.start(e.ctx); err != nil {
		t.Fatal(err)
	}
	ids := func() []string {
		items, conn := e.svc.cache.snapshot(cluster)
		var out []string
		for i, it := range items {
			out = append(out, fmt.Sprintf("%s:%v", it.rec.ID, conn[i]))
		}
		return out
	}
	waitFor := func(what string, want []string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !slices.Equal(ids(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: cache holds %v, want %v (loads: %d)", what, ids(), want, loads.Load())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	b := <-registered
	waitFor("after the compacted watch", []string{lastSegment(b.ContainerInstanceArn) + ":true"})
	if loads.Load() < 2 {
		t.Fatalf("the cache loaded %d times, want a reload", loads.Load())
	}
	// Following again: a new instance and a lost agent show up.
	c := e.instance(cluster, 512, 512)
	e.st.Client().Delete(e.ctx, e.svc.keys.connected(lastSegment(b.ContainerInstanceArn)))
	want := []string{lastSegment(b.ContainerInstanceArn) + ":false", lastSegment(c.ContainerInstanceArn) + ":true"}
	slices.Sort(want)
	waitFor("after the resync", want)
}

// TestPlacementSeesAnotherServersInstance: an instance that registered and
// connected through another server a moment ago is placed on at once,
// whether or not this server's watch has delivered it yet: a placement
// that finds no room catches the cache up to the store before it answers.
func TestPlacementSeesAnotherServersInstance(t *testing.T) {
	a := newEnv(t)
	b := &env{t: t, st: a.st, ctx: a.ctx, svc: New(Config{Region: testRegion, Account: testAccount, Endpoint: "http://127.0.0.1:1"}, a.st, api.RootOnly{}, quietLogger())}
	a.cluster("shared")
	a.simpleTaskDef("web", 128, 128)
	if err := a.svc.cache.start(a.ctx); err != nil { // following the empty cluster
		t.Fatal(err)
	}
	for i := range 20 {
		ci := b.instance("shared", 128, 128)
		out := a.run("shared", "web", 1)
		if len(out.Tasks) != 1 || out.Tasks[0].ContainerInstanceArn != ci.ContainerInstanceArn {
			t.Fatalf("round %d: RunTask right after %s registered elsewhere: %+v", i, ci.ContainerInstanceArn, out)
		}
	}
}
