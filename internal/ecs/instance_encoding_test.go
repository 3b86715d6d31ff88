package ecs

import (
	"encoding/json"
	"testing"
)

func TestEncodeInstanceRecordMatchesEncodingJSON(t *testing.T) {
	inst := ContainerInstance{ContainerInstanceArn: "arn:i1", Status: "ACTIVE", Attributes: []Attribute{{Name: "a", Value: ptr("b")}},
		RegisteredResources: []Resource{intResource("CPU", 1024)}}
	for _, tc := range []struct {
		name  string
		tasks map[string]reservation
	}{
		{"no map", nil},
		{"empty", map[string]reservation{}},
		{"several, sorted by id", map[string]reservation{
			"t2": {CPU: 256, Memory: 512, Status: "PENDING", Group: "family:web"},
			"t1": {CPU: -1, Memory: 1 << 30, Ports: []int{80, 8080}, PortsUDP: []int{53}, Status: "RUNNING"},
			"t3": {},
		}},
		{"strings needing escapes", map[string]reservation{`id"<&>`: {Status: "PENDING", Group: `odd "group" ü` + "\x01\\"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := instanceRecord{ID: "i1", Cluster: "c", Instance: inst, Tasks: tc.tasks}
			reg, err := (&cachedInstance{rec: rec}).registrationJSON()
			if err != nil {
				t.Fatal(err)
			}
			got := encodeInstanceRecord(&rec, reg)
			want, _ := json.Marshal(&rec)
			if string(got) != string(want) {
				t.Fatalf("encoded\n%s\nwant\n%s", got, want)
			}
		})
	}
}
