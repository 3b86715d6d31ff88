package ecs

import (
	"context"
	"testing"
	"time"
)

// TestACSLeaseRecovers revokes the lease the agent-connected markers live
// on, as happens when etcd is unreachable past the TTL: the hub must grant
// a new lease and put the live markers back.
func TestACSLeaseRecovers(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := e.svc.StartACS(ctx, ACSOptions{LeaseTTL: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	hub := e.svc.hub
	key := e.svc.keys.connected("instance-1")
	if err := hub.mark(key, "conn-1"); err != nil {
		t.Fatal(err)
	}
	old, _ := hub.currentLease()
	if err := e.st.Revoke(ctx, old); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := e.st.Client().Get(ctx, key)
		if err == nil && len(resp.Kvs) == 1 && string(resp.Kvs[0].Value) == `"conn-1"` && resp.Kvs[0].Lease != int64(old) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("marker not restored on a new lease: %v %+v", err, resp)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A marker removed by its connection stays removed.
	hub.unmark(key, "conn-1")
	if ok := e.svc.isConnected(ctx, "instance-1"); ok {
		t.Fatal("instance still marked connected after its connection ended")
	}
}
