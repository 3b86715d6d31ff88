package ecs

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/store"
)

func TestUsageFollowsTaskLifecycle(t *testing.T) {
	web := reservation{CPU: 256, Memory: 512, Ports: []int{8080}, Group: "service:web"}
	dns := reservation{CPU: 128, Memory: 64, Ports: []int{80}, PortsUDP: []int{53}, Group: "service:web"}
	batch := reservation{CPU: 10, Memory: 20, Group: "family:batch"}
	type step struct {
		res      reservation
		from, to string // from "" adds a placed task
		changed  bool
	}
	for _, tc := range []struct {
		name  string
		steps []step
		want  usage
	}{
		{"placed tasks start pending", []step{{web, "", "", true}, {dns, "", "", true}},
			usage{CPU: 384, Memory: 576, Ports: []int{80, 8080}, PortsUDP: []int{53}, Pending: 2, Groups: map[string]int{"service:web": 2}}},
		{"running moves between counts", []step{{web, "", "", true}, {web, "PENDING", "ACTIVATING", false}, {web, "ACTIVATING", "RUNNING", true}},
			usage{CPU: 256, Memory: 512, Ports: []int{8080}, Running: 1, Groups: map[string]int{"service:web": 1}}},
		{"stopping counts as pending", []step{{web, "", "", true}, {web, "PENDING", "RUNNING", true}, {web, "RUNNING", "DEACTIVATING", true}},
			usage{CPU: 256, Memory: 512, Ports: []int{8080}, Pending: 1, Groups: map[string]int{"service:web": 1}}},
		{"stopped gives everything back", []step{{web, "", "", true}, {dns, "", "", true}, {batch, "", "", true},
			{dns, "PENDING", "RUNNING", true}, {dns, "RUNNING", "STOPPED", true}, {web, "PENDING", "STOPPED", true}},
			usage{CPU: 10, Memory: 20, Ports: []int{}, PortsUDP: []int{}, Pending: 1, Groups: map[string]int{"family:batch": 1}}},
		{"a stopped task is released once", []step{{batch, "", "", true}, {batch, "PENDING", "STOPPED", true}, {batch, "STOPPED", "STOPPED", false}},
			usage{Groups: map[string]int{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var u usage
			for i, s := range tc.steps {
				changed := true
				if s.from == "" {
					u.add(s.res)
				} else {
					changed = u.move(s.res, s.from, s.to)
				}
				if changed != s.changed {
					t.Fatalf("step %d (%s -> %s): changed = %v", i, s.from, s.to, changed)
				}
			}
			if !sameUsage(&u, &tc.want) {
				t.Fatalf("usage = %+v, want %+v", u, tc.want)
			}
		})
	}
}

func TestUsageCloneSharesNothing(t *testing.T) {
	u := usage{Ports: []int{80}, PortsUDP: []int{53}, Groups: map[string]int{"g": 1}}
	c := u.clone()
	c.add(reservation{Ports: []int{81}, PortsUDP: []int{54}, Group: "g"})
	if !reflect.DeepEqual(u, usage{Ports: []int{80}, PortsUDP: []int{53}, Groups: map[string]int{"g": 1}}) {
		t.Fatalf("changing the clone changed the original: %+v", u)
	}
}

// The audit compares each instance's recorded usage with its live tasks,
// so a usage that drifted from them is reported, not trusted.
func TestVerifyPlacementsReportsDriftedUsage(t *testing.T) {
	e := newEnv(t)
	cl := e.cluster("drift")
	ci := e.instance(cl, 1024, 1024)
	td := e.simpleTaskDef("drift", 128, 128)
	e.run(cl, td.TaskDefinitionArn, 2)
	e.checkNoOvercommit(cl)
	key := e.svc.keys.instance(cl, lastSegment(ci.ContainerInstanceArn))
	if _, err := store.Update(e.ctx, e.st, key, func(r *instanceRecord) error { r.Usage.Memory -= 128; return nil }); err != nil {
		t.Fatal(err)
	}
	audit, err := e.svc.VerifyPlacements(e.ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit.Problems) != 1 || !strings.Contains(audit.Problems[0], "but its live tasks hold") {
		t.Fatalf("problems = %q", audit.Problems)
	}
}

// A record from before usage totals lists its tasks' reservations; they
// are summed on reading, and the record writes back in the current form.
func TestInstanceRecordReadsTaskReservations(t *testing.T) {
	legacy := `{"id":"i1","cluster":"c","instance":{"containerInstanceArn":"arn:i1","status":"ACTIVE"},"tasks":{
		"t1":{"cpu":256,"memory":512,"ports":[8080],"status":"RUNNING","group":"service:web"},
		"t2":{"cpu":128,"memory":64,"ports":[80],"portsUdp":[53],"status":"PENDING","group":"service:web"},
		"t3":{"cpu":10,"memory":20,"status":"PENDING","group":"family:batch"}}}`
	var rec instanceRecord
	if err := json.Unmarshal([]byte(legacy), &rec); err != nil {
		t.Fatal(err)
	}
	want := usage{CPU: 394, Memory: 596, Ports: []int{80, 8080}, PortsUDP: []int{53}, Running: 1, Pending: 2,
		Groups: map[string]int{"service:web": 2, "family:batch": 1}}
	if rec.ID != "i1" || rec.Instance.ContainerInstanceArn != "arn:i1" || !sameUsage(&rec.Usage, &want) {
		t.Fatalf("decoded %+v", rec)
	}
	b, err := json.Marshal(&rec)
	if err != nil {
		t.Fatal(err)
	}
	var again instanceRecord
	if err := json.Unmarshal(b, &again); err != nil || !sameUsage(&again.Usage, &want) {
		t.Fatalf("round trip: %v %+v from %s", err, again.Usage, b)
	}
	if strings.Contains(string(b), `"tasks"`) {
		t.Fatalf("re-encoded with the old field: %s", b)
	}
}
