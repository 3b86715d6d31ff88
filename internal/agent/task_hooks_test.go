package agent

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/berth-dev/berth/internal/acs"
)

// removalRecordingRuntime is a fake Runtime for this unit test only: it
// records container and volume removals, in order, and any other call
// panics (the embedded interface is nil). Every other agent test runs
// real Docker.
type removalRecordingRuntime struct {
	Runtime
	mu      sync.Mutex
	removed []string
}

func (r *removalRecordingRuntime) Remove(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.removed = append(r.removed, "container "+id)
	return nil
}

func (r *removalRecordingRuntime) RemoveVolume(_ context.Context, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.removed = append(r.removed, "volume "+name)
	return nil
}

// TestCleanupRemovesTaskVolumes checks that cleaning up a task removes its
// own Docker volumes (ecs-<task id>-<volume>), once each and after its
// containers, and leaves shared volumes and host paths alone.
func TestCleanupRemovesTaskVolumes(t *testing.T) {
	rt := &removalRecordingRuntime{}
	a := &Agent{cfg: Config{DataDir: t.TempDir()}, log: slog.New(slog.NewTextHandler(io.Discard, nil)), tasks: map[string]*task{}}
	a.useRuntime(rt)

	mount := func(vols ...string) []acs.MountPoint {
		var mps []acs.MountPoint
		for _, v := range vols {
			mps = append(mps, acs.MountPoint{SourceVolume: v, ContainerPath: "/" + v})
		}
		return mps
	}
	def := &acs.Task{
		Arn: "arn:aws:ecs:us-east-1:123456789012:task/c/abc123",
		Volumes: []acs.Volume{
			{Name: "scratch"},
			{Name: "data", DockerVolumeConfiguration: &acs.DockerVolumeConfiguration{Scope: "task"}},
			{Name: "cache", DockerVolumeConfiguration: &acs.DockerVolumeConfiguration{Scope: "shared"}},
			{Name: "host", Host: &acs.HostVolumeProperties{SourcePath: "/srv"}},
		},
		Containers: []acs.Container{
			{Name: "web", MountPoints: mount("scratch", "data", "cache", "host")},
			{Name: "side", MountPoints: mount("scratch")},
		},
	}
	tk := &task{arn: def.Arn, def: def, status: statusStopped,
		containers: []*container{{name: "web", id: "c1"}, {name: "side", id: "c2"}}}
	a.tasks[tk.arn] = tk

	a.scheduleCleanup(context.Background(), tk)

	want := []string{"container c1", "container c2", "volume ecs-abc123-scratch", "volume ecs-abc123-data"}
	if !slices.Equal(rt.removed, want) {
		t.Fatalf("removed %q, want %q", rt.removed, want)
	}
	if _, ok := a.tasks[tk.arn]; ok {
		t.Fatal("the task is still known after its clean-up")
	}
}
