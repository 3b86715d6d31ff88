package agent

import (
	"context"
	"strings"

	"github.com/berth-dev/berth/internal/acs"
	"github.com/berth-dev/berth/internal/cgroup"
)

// A task whose definition sets task-level cpu and memory gets a control
// group of its own with those limits, under its instance's, and its
// containers go in it, as the ECS agent does on Linux: the kernel holds
// the whole task to its size (a Fargate task to its Fargate size),
// whatever its containers ask for.

// taskCgroup is the task's control group, or "" when the instance has
// none or the task sets no task-level limits.
func taskCgroup(instanceParent, taskArn string, def *acs.Task) string {
	if instanceParent == "" || def == nil || def.Cpu <= 0 || def.Memory <= 0 {
		return ""
	}
	return strings.TrimSuffix(instanceParent, "/") + "/" + lastSegment(taskArn)
}

// cgroupHook makes and removes tasks' control groups.
type cgroupHook struct{ parent string }

func (cgroupHook) Name() string { return "task control group" }

// Prerun creates the task's group with its limits.
func (h cgroupHook) Prerun(_ context.Context, taskArn string, def *acs.Task) error {
	path := taskCgroup(h.parent, taskArn, def)
	if path == "" {
		return nil
	}
	_, err := cgroup.EnsureUnits(path, int(def.Cpu*1024+0.5), def.Memory)
	return err
}

// Postrun removes the group once the task's containers are gone.
func (h cgroupHook) Postrun(_ context.Context, taskArn string, _ *acs.Task) error {
	if h.parent == "" {
		return nil
	}
	return cgroup.Remove(strings.TrimSuffix(h.parent, "/") + "/" + lastSegment(taskArn))
}

var _ TaskHook = cgroupHook{}
