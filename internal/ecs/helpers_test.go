package ecs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

const (
	testAccount = "123456789012"
	testRegion  = "us-east-1"
)

// rootPrincipal is the account's root user, which api.RootOnly lets do anything.
var rootPrincipal = api.Principal{Account: testAccount, ARN: "arn:aws:iam::" + testAccount + ":root", Root: true}

// env is one Service on a real embedded etcd, with a context carrying the
// root principal.
type env struct {
	t   testing.TB
	st  *store.Store
	svc *Service
	ctx context.Context
}

// openStore starts an embedded etcd in a temporary directory.
func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newEnv opens a store and builds the service the way the server does.
func newEnv(t testing.TB) *env {
	t.Helper()
	st := openStore(t)
	svc := New(Config{Region: testRegion, Account: testAccount, Endpoint: "http://127.0.0.1:1"}, st, api.RootOnly{}, quietLogger())
	return &env{t: t, st: st, svc: svc, ctx: api.WithPrincipal(context.Background(), rootPrincipal)}
}

// with returns a copy of e reporting to t, for sub-tests sharing the store.
func (e *env) with(t testing.TB) *env {
	c := *e
	c.t = t
	return &c
}

func arn(resource string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:%s", testRegion, testAccount, resource)
}

// errCode returns the AWS error code of err, "" for nil and "<not api.Error>"
// for anything else.
func errCode(err error) string {
	if err == nil {
		return ""
	}
	var e *api.Error
	if !errors.As(err, &e) {
		return "<not api.Error: " + err.Error() + ">"
	}
	return e.Code
}

// wantCode fails unless err is an *api.Error with the given code and a 4xx status.
func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := errCode(err); got != code {
		t.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
	var e *api.Error
	errors.As(err, &e)
	if e.Status < 400 || e.Status > 499 {
		t.Fatalf("error %v has status %d, want 4xx", err, e.Status)
	}
}

func must[T any](t testing.TB) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

// snapshot returns every ECS key and value in the store, for checking that
// a rejected call wrote nothing.
func (e *env) snapshot() map[string]string {
	e.t.Helper()
	resp, err := e.st.Client().Get(context.Background(), e.svc.keys.prefix, clientv3.WithPrefix())
	if err != nil {
		e.t.Fatalf("snapshot: %v", err)
	}
	out := make(map[string]string, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		out[string(kv.Key)] = string(kv.Value)
	}
	return out
}

// unchanged fails if the store differs from before, listing what changed.
func (e *env) unchanged(before map[string]string) {
	e.t.Helper()
	after := e.snapshot()
	if maps.Equal(before, after) {
		return
	}
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if before[k] != after[k] {
			diffs = append(diffs, fmt.Sprintf("  %s:\n    before %q\n    after  %q", k, before[k], after[k]))
		}
	}
	e.t.Fatalf("the call changed the store:\n%s", strings.Join(diffs, "\n"))
}

// rejected runs call, requires it to fail with code and to leave the store unchanged.
func (e *env) rejected(code string, call func() error) {
	e.t.Helper()
	before := e.snapshot()
	wantCode(e.t, call(), code)
	e.unchanged(before)
}

// cluster creates a cluster and returns its name.
func (e *env) cluster(name string) string {
	e.t.Helper()
	if _, err := e.svc.CreateCluster(e.ctx, &CreateClusterInput{ClusterName: name}); err != nil {
		e.t.Fatalf("create cluster %s: %v", name, err)
	}
	return name
}

// container returns a container definition with the given cpu and hard memory limit.
func container(name string, cpu, memory int) ContainerDefinition {
	return ContainerDefinition{Name: name, Image: "busybox:latest", Cpu: cpu, Memory: ptr(memory)}
}

// withPorts adds tcp port mappings containerPort:hostPort.
func withPorts(c ContainerDefinition, pairs ...[2]int) ContainerDefinition {
	for _, p := range pairs {
		c.PortMappings = append(c.PortMappings, PortMapping{ContainerPort: ptr(p[0]), HostPort: ptr(p[1])})
	}
	return c
}

// taskDef registers a task definition and returns it.
func (e *env) taskDef(family string, containers ...ContainerDefinition) *TaskDefinition {
	e.t.Helper()
	out, err := e.svc.RegisterTaskDefinition(e.ctx, &RegisterTaskDefinitionInput{Family: family, ContainerDefinitions: containers})
	if err != nil {
		e.t.Fatalf("register task definition %s: %v", family, err)
	}
	return out.TaskDefinition
}

// simpleTaskDef registers family with one container of cpu/memory.
func (e *env) simpleTaskDef(family string, cpu, memory int) *TaskDefinition {
	e.t.Helper()
	return e.taskDef(family, container("app", cpu, memory))
}

// instanceOpts shape a registered container instance.
type instanceOpts struct {
	disconnected bool
	attrs        []Attribute
	ports        []string
	gpus         []string
}

// instance registers a container instance with cpu/memory and, unless
// disconnected, marks its agent connected the way an ACS connection does.
func (e *env) instance(cluster string, cpu, memory int, opts ...instanceOpts) ContainerInstance {
	e.t.Helper()
	var o instanceOpts
	if len(opts) > 0 {
		o = opts[0]
	}
	res := []Resource{{Name: "CPU", Type: "INTEGER", IntegerValue: cpu}, {Name: "MEMORY", Type: "INTEGER", IntegerValue: memory}}
	if len(o.gpus) > 0 {
		res = append(res, Resource{Name: "GPU", Type: "STRINGSET", StringSetValue: o.gpus})
	}
	if len(o.ports) > 0 {
		res = append(res, Resource{Name: "PORTS", Type: "STRINGSET", StringSetValue: o.ports})
	}
	out, err := e.svc.RegisterContainerInstance(e.ctx, &RegisterContainerInstanceInput{
		Cluster: cluster, TotalResources: res, Attributes: o.attrs,
		VersionInfo: VersionInfo{AgentVersion: "1.90.0", DockerVersion: "27.0.0"},
	})
	if err != nil {
		e.t.Fatalf("register container instance: %v", err)
	}
	if !o.disconnected {
		e.connect(lastSegment(out.ContainerInstance.ContainerInstanceArn))
	}
	return out.ContainerInstance
}

// connect writes the agent-connected marker an ACS connection would hold.
func (e *env) connect(id string) {
	e.t.Helper()
	if _, err := e.st.Client().Put(context.Background(), e.svc.keys.connected(id), "test-conn"); err != nil {
		e.t.Fatalf("mark connected: %v", err)
	}
	// Placement reads connections from the instance cache, which learns of
	// the marker through a watch: wait for it, so that a scheduler pass
	// right after this sees the agent connected.
	if !e.svc.cache.loaded.Load() {
		return
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		e.svc.cache.mu.RLock()
		seen := e.svc.cache.connected[id]
		e.svc.cache.mu.RUnlock()
		if seen {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the instance cache did not see %s connected within 5s", id)
		}
	}
}

// describeInstance returns the current view of an instance.
func (e *env) describeInstance(cluster, ref string) ContainerInstance {
	e.t.Helper()
	out, err := e.svc.DescribeContainerInstances(e.ctx, &DescribeContainerInstancesInput{Cluster: cluster, ContainerInstances: []string{ref}})
	if err != nil || len(out.ContainerInstances) != 1 {
		e.t.Fatalf("describe instance %s: %v %+v", ref, err, out)
	}
	return out.ContainerInstances[0]
}

// describeTask returns the current view of a task.
func (e *env) describeTask(cluster, ref string) Task {
	e.t.Helper()
	out, err := e.svc.DescribeTasks(e.ctx, &DescribeTasksInput{Cluster: cluster, Tasks: []string{ref}, Include: []string{"TAGS"}})
	if err != nil || len(out.Tasks) != 1 {
		e.t.Fatalf("describe task %s: %v %+v", ref, err, out)
	}
	return out.Tasks[0]
}

// run calls RunTask and fails on an error.
func (e *env) run(cluster, taskDef string, count int) *RunTaskOutput {
	e.t.Helper()
	out, err := e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: cluster, TaskDefinition: taskDef, Count: ptr(count)})
	if err != nil {
		e.t.Fatalf("RunTask %s x%d: %v", taskDef, count, err)
	}
	return out
}

// resourceValue reads an INTEGER resource from a list.
func resourceValue(rs []Resource, name string) int {
	for _, r := range rs {
		if r.Name == name {
			return r.IntegerValue
		}
	}
	return -1 << 31
}

// resourceSet reads a STRINGSET resource from a list, sorted.
func resourceSet(rs []Resource, name string) []string {
	for _, r := range rs {
		if r.Name == name {
			out := slices.Clone(r.StringSetValue)
			sort.Strings(out)
			return out
		}
	}
	return nil
}

// remaining returns an instance's remaining CPU and memory.
func remaining(ci ContainerInstance) (cpu, mem int) {
	return resourceValue(ci.RemainingResources, "CPU"), resourceValue(ci.RemainingResources, "MEMORY")
}

// checkNoOvercommit fails the test on any problem VerifyPlacements finds
// in cluster: over-committed CPU, memory or ports, or a reservation that
// does not match a live task.
func (e *env) checkNoOvercommit(cluster string) {
	e.t.Helper()
	audit, err := e.svc.VerifyPlacements(context.Background(), cluster)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, p := range audit.Problems {
		e.t.Error(p)
	}
}

// taskArns returns the ARNs of tasks.
func taskArns(ts []Task) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.TaskArn
	}
	return out
}
