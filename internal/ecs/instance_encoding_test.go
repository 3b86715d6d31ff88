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
		usage usage
		by    string
	}{
		{"no tasks", usage{}, ""},
		{"registrant recorded", usage{Pending: 1}, "arn:aws:sts::123456789012:assumed-role/ecsInstanceRole/i-0abc"},
		{"several", usage{CPU: 512, Memory: 1 << 30, Ports: []int{80, 8080}, PortsUDP: []int{53}, Running: 1, Pending: 2,
			Groups: map[string]int{"family:web": 2, "service:api": 1}}, ""},
		{"strings needing escapes", usage{Pending: 1, Groups: map[string]int{`odd "group" ü` + "\x01\\<&>": 1}}, `arn:"odd"<&>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := instanceRecord{ID: "i1", Cluster: "c", RegisteredBy: tc.by, Instance: inst, Usage: tc.usage}
			reg, err := (&cachedInstance{rec: rec}).registrationJSON()
			if err != nil {
				t.Fatal(err)
			}
			got, err := encodeInstanceRecord(&rec, reg)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(&rec)
			if string(got) != string(want) {
				t.Fatalf("encoded\n%s\nwant\n%s", got, want)
			}
		})
	}
}
