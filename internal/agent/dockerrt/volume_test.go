package dockerrt_test

import (
	"testing"

	"github.com/berth-dev/berth/internal/agent/dockerrt"
	"github.com/moby/moby/client"
)

// TestRemoveVolume checks that a volume in use is kept (a conflict), that
// it goes once its container has, and that removing it again is no error.
func TestRemoveVolume(t *testing.T) {
	t.Parallel()
	rt, image := setup(t)
	vol := "berth-test-volume-" + randHex(6)
	id := create(t, rt, image, dockerrt.ContainerSpec{Mounts: []dockerrt.Mount{{Type: "volume", Source: vol, Target: "/data"}}})
	t.Cleanup(func() { _ = rt.RemoveVolume(t.Context(), vol) })

	if err := rt.RemoveVolume(t.Context(), vol); !dockerrt.IsConflict(err) {
		t.Errorf("RemoveVolume in use: %v, want conflict", err)
	}
	if err := rt.Remove(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := rt.RemoveVolume(t.Context(), vol); err != nil {
			t.Errorf("RemoveVolume: %v, want nil", err)
		}
	}
	if _, err := rt.Client().VolumeInspect(t.Context(), vol, client.VolumeInspectOptions{}); !dockerrt.IsNotFound(err) {
		t.Errorf("the volume is still there: %v", err)
	}
}
