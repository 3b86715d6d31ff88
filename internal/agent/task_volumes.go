package agent

import (
	"context"
	"errors"

	"github.com/berth-dev/berth/internal/acs"
	"github.com/berth-dev/berth/internal/agent/dockerrt"
)

// taskVolume is where the task's volume name comes from when a container
// mounts it: a host path (a bind mount), the shared Docker volume of that
// name, or else the task's own Docker volume ecs-<task id>-<name>, which
// lives as long as the task (own is true).
func taskVolume(taskArn string, def *acs.Task, name string) (m dockerrt.Mount, own bool) {
	m, own = dockerrt.Mount{Type: "volume", Source: "ecs-" + lastSegment(taskArn) + "-" + name}, true
	for _, v := range def.Volumes {
		if v.Name != name {
			continue
		}
		switch {
		case v.Host != nil && v.Host.SourcePath != "":
			m.Type, m.Source, own = "bind", v.Host.SourcePath, false
		case v.DockerVolumeConfiguration != nil && v.DockerVolumeConfiguration.Scope == "shared":
			m.Source, own = v.Name, false
		}
	}
	return m, own
}

// volumeHook owns a task's own Docker volumes. Docker creates each with the
// first container that mounts it; the hook removes them once the task's
// containers are gone, which Docker does not (it removes only anonymous
// volumes with their container).
type volumeHook struct{ rt Runtime }

func (volumeHook) Name() string { return "task volumes" }

func (volumeHook) Prerun(context.Context, string, *acs.Task) error { return nil }

func (h volumeHook) Postrun(ctx context.Context, taskArn string, def *acs.Task) error {
	if def == nil {
		return nil // adopted and never named again: its volumes are unknown
	}
	var errs []error
	seen := map[string]bool{}
	for _, c := range def.Containers {
		for _, mp := range c.MountPoints {
			m, own := taskVolume(taskArn, def, mp.SourceVolume)
			if !own || seen[m.Source] {
				continue
			}
			seen[m.Source] = true
			errs = append(errs, h.rt.RemoveVolume(ctx, m.Source))
		}
	}
	return errors.Join(errs...)
}
