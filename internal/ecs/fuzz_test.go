package ecs

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// wantClientError fails unless err is nil or an *api.Error with a 4xx status.
func wantClientError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var e *api.Error
	if !errors.As(err, &e) {
		t.Fatalf("error is %T, not *api.Error: %v", err, err)
	}
	if e.Status < 400 || e.Status > 499 || e.Code == "" {
		t.Fatalf("error %q has status %d, want a 4xx client error", e.Code, e.Status)
	}
}

var registerSeeds = []string{
	`{"family":"linux","containerDefinitions":[{"name":"app","image":"x","memory":64,"systemControls":[{"namespace":"net.core.somaxconn","value":"1024"}],"linuxParameters":{"capabilities":{"add":["NET_ADMIN"],"drop":["MKNOD"]},"devices":[{"hostPath":"/dev/fuse","permissions":["read"]}],"initProcessEnabled":true,"sharedMemorySize":64,"tmpfs":[{"containerPath":"/run","size":8,"mountOptions":["noexec"]}],"maxSwap":0,"swappiness":10},"resourceRequirements":[{"type":"GPU","value":"1"}],"restartPolicy":{"enabled":true,"ignoredExitCodes":[0],"restartAttemptPeriod":60},"dnsSearchDomains":["a.local"],"dockerSecurityOptions":["no-new-privileges"],"interactive":true,"pseudoTerminal":true}]}`,
	`{"family":"web","containerDefinitions":[{"name":"app","image":"nginx","memory":128,"portMappings":[{"containerPort":80}]}]}`,
	`{"family":"vpc","networkMode":"awsvpc","cpu":"1 vCPU","memory":"2 GB","requiresCompatibilities":["FARGATE"],"containerDefinitions":[{"name":"a","image":"x","essential":true}]}`,
	`{"family":"host","networkMode":"host","containerDefinitions":[{"name":"a","image":"x","memoryReservation":64,"portMappings":[{"containerPort":9000,"hostPort":9000,"protocol":"udp"}],
	  "healthCheck":{"command":["CMD","true"],"interval":10},"dependsOn":[{"containerName":"b","condition":"START"}]},{"name":"b","image":"y","memory":32,"essential":false}]}`,
	`{"family":"vol","volumes":[{"name":"data","host":{"sourcePath":"/srv"}}],"containerDefinitions":[{"name":"a","image":"x","memory":64,"mountPoints":[{"sourceVolume":"data","containerPath":"/data"}],"links":["a"]}]}`,
	`{"family":"big","cpu":"999999999999999999999999999999999999999","memory":"512","containerDefinitions":[{"name":"a","image":"x"}]}`,
	`{"family":"huge","containerDefinitions":[{"name":"a","image":"x","memory":4611686018427387904},{"name":"b","image":"x","memory":4611686018427387904}]}`,
	`{"family":"","containerDefinitions":[]}`,
	`{"family":"x","containerDefinitions":[{"name":"a"}]}`,
	`{"family":"x","containerDefinitions":[{"name":"a","image":"x","memory":"lots"}]}`,
	`{"family":"x","containerDefinitions":[{"name":"a","image":"x","memory":64,"portMappings":[{}]}]}`,
	`{"family":"x","containerDefinitions":[null]}`,
	`{"family":"x","networkMode":"bridge","containerDefinitions":[{"name":"a","image":"x","memory":64,"healthCheck":{"command":["CMD"],"retries":0}}]}`,
	`{`, `null`, `[]`, `""`, `{"family":1}`,
}

// FuzzRegisterTaskDefinition decodes arbitrary bodies as RegisterTaskDefinition
// does and validates them: it must never panic, must fail only with 4xx
// *api.Errors, and what it accepts must be sane to place.
func FuzzRegisterTaskDefinition(f *testing.F) {
	for _, s := range registerSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in RegisterTaskDefinitionInput
		if err := api.Decode(body, &in); err != nil {
			wantClientError(t, err)
			if errCode(err) != api.CodeSerialization {
				t.Fatalf("decode error code %q", errCode(err))
			}
			return
		}
		td, err := normalizeTaskDefinition(&in)
		if err != nil {
			wantClientError(t, err)
			return
		}
		checkTaskDefinition(t, td)
	})
}

// checkTaskDefinition asserts the invariants of an accepted task definition.
func checkTaskDefinition(t *testing.T, td *TaskDefinition) {
	t.Helper()
	if !nameRE.MatchString(td.Family) || td.Status != "ACTIVE" || len(td.ContainerDefinitions) == 0 || len(td.Compatibilities) == 0 {
		t.Fatalf("accepted task definition %+v", td)
	}
	if td.Cpu != "" {
		if v, err := strconv.Atoi(td.Cpu); err != nil || v < 128 || v > 196608 {
			t.Fatalf("accepted task cpu %q, outside 128-196608", td.Cpu)
		}
	}
	if td.Memory != "" {
		if v, err := strconv.Atoi(td.Memory); err != nil || v < 6 {
			t.Fatalf("accepted task memory %q", td.Memory)
		}
	}
	names := map[string]bool{}
	essential := false
	for _, c := range td.ContainerDefinitions {
		if c.Name == "" || names[c.Name] || c.Essential == nil || c.Image == "" {
			t.Fatalf("accepted container %+v", c)
		}
		names[c.Name] = true
		essential = essential || *c.Essential
		for _, pm := range c.PortMappings {
			if pm.ContainerPort == nil || pm.HostPort == nil || *pm.HostPort < 0 || *pm.HostPort > 65535 {
				t.Fatalf("accepted port mapping %+v", pm)
			}
			if (td.NetworkMode == "host" || td.NetworkMode == "awsvpc") && *pm.HostPort != *pm.ContainerPort {
				t.Fatalf("%s mode with hostPort %d != containerPort %d", td.NetworkMode, *pm.HostPort, *pm.ContainerPort)
			}
		}
	}
	if !essential {
		t.Fatal("accepted a task definition without an essential container")
	}
	req, res := requirements(td, &TaskOverride{})
	if req.CPU < 0 || req.Memory < 0 || res.CPU != req.CPU || res.Memory != req.Memory {
		t.Fatalf("accepted task definition needs negative resources: %+v", req)
	}
	if _, err := json.Marshal(td); err != nil {
		t.Fatalf("accepted task definition does not encode: %v", err)
	}
}

var runTaskSeeds = []string{
	`{"cluster":"fuzz","taskDefinition":"web"}`,
	`{"cluster":"fuzz","taskDefinition":"web:1","count":3,"startedBy":"fuzzer","group":"g"}`,
	`{"cluster":"arn:aws:ecs:us-east-1:123456789012:cluster/fuzz","taskDefinition":"arn:aws:ecs:us-east-1:123456789012:task-definition/pair:1","count":10}`,
	`{"taskDefinition":"pair","overrides":{"containerOverrides":[{"name":"a","cpu":100,"memory":300,"command":["sh"]}]}}`,
	`{"cluster":"fuzz","taskDefinition":"pair","overrides":{"cpu":"512","memory":"1024"}}`,
	`{"cluster":"fuzz","taskDefinition":"pair","overrides":{"cpu":"-4096"}}`,
	`{"cluster":"fuzz","taskDefinition":"pair","overrides":{"containerOverrides":[{"name":"a","memory":4611686018427387904},{"name":"b","memory":4611686018427387904}]}}`,
	`{"cluster":"fuzz","taskDefinition":"web","clientToken":"tok-1","count":2}`,
	`{"cluster":"fuzz","taskDefinition":"web","tags":[{"key":"a","value":"b"}],"enableECSManagedTags":true}`,
	`{"cluster":"fuzz","taskDefinition":"web","containerInstances":["x"]}`,
	`{"cluster":"fuzz","taskDefinition":"web","count":0}`,
	`{"cluster":"nope","taskDefinition":"web"}`,
	`{"cluster":"fuzz","taskDefinition":"ghost"}`,
	`{"cluster":"fuzz","taskDefinition":"web","placementStrategy":[{"type":"random"}]}`,
	`{"cluster":"fuzz","taskDefinition":"web","launchType":"FARGATE"}`,
	`{"count":"1"}`, `{`, `[]`, `null`, ``,
}

// FuzzDecodeRunTask decodes arbitrary bodies as RunTask input and runs them
// through the real Service.RunTask on an embedded store: errors must be 4xx
// *api.Errors, and no call may over-commit an instance.
func FuzzDecodeRunTask(f *testing.F) {
	for _, s := range runTaskSeeds {
		f.Add([]byte(s))
	}
	e := newEnv(f)
	for _, c := range []string{"fuzz", "default"} {
		e.cluster(c)
		e.instance(c, 2048, 2048)
		e.instance(c, 1024, 4096, instanceOpts{ports: []string{"9000"}})
		e.instance(c, 4096, 4096, instanceOpts{disconnected: true})
	}
	e.taskDef("web", withPorts(container("web", 256, 256), [2]int{80, 8080}))
	e.taskDef("pair", container("a", 128, 128), container("b", 128, 128))
	e.taskDef("sized", container("a", 0, 64))
	f.Fuzz(func(t *testing.T, body []byte) {
		e := e.with(t)
		t.Cleanup(func() { resetTasks(e) })
		var in RunTaskInput
		if err := api.Decode(body, &in); err != nil {
			wantClientError(t, err)
			return
		}
		out, err := e.svc.RunTask(e.ctx, &in)
		wantClientError(t, err)
		if err == nil {
			count := 1
			if in.Count != nil {
				count = *in.Count
			}
			if len(out.Tasks) > count {
				t.Fatalf("asked for %d tasks, got %d", count, len(out.Tasks))
			}
			for _, tk := range out.Tasks {
				if cpu, err := strconv.Atoi(tk.Cpu); err != nil || cpu < 0 {
					t.Fatalf("task cpu %q", tk.Cpu)
				}
				if mem, err := strconv.Atoi(tk.Memory); err != nil || mem < 0 {
					t.Fatalf("task memory %q", tk.Memory)
				}
			}
			if _, err := json.Marshal(out); err != nil {
				t.Fatalf("response does not encode: %v", err)
			}
		}
		for _, c := range []string{"fuzz", "default"} {
			e.checkNoOvercommit(c)
		}
	})
}

// resetTasks removes every task, assignment, token and reservation so each
// fuzz input starts from empty instances.
func resetTasks(e *env) {
	ctx := context.Background()
	cli := e.st.Client()
	for _, p := range []string{"task/", "assign/", "token/"} {
		if _, err := cli.Delete(ctx, e.svc.keys.prefix+p, clientv3.WithPrefix()); err != nil {
			e.t.Fatal(err)
		}
	}
	for _, c := range []string{"fuzz", "default"} {
		items, err := store.List[instanceRecord](ctx, e.st, e.svc.keys.instances(c))
		if err != nil {
			e.t.Fatal(err)
		}
		for _, it := range items {
			if it.Value.Usage.tasks() == 0 {
				continue
			}
			if _, err := store.Update(ctx, e.st, it.Key, func(r *instanceRecord) error { r.Usage = usage{}; return nil }); err != nil {
				e.t.Fatal(err)
			}
		}
	}
}
