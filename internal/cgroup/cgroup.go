// Package cgroup gives each of Berth's instances a parent control group
// with its instance type's vCPUs and memory as limits: Docker puts every
// container of the instance under it (--cgroup-parent), so the kernel
// holds the instance to its size whatever its tasks ask for, as an EC2
// instance is held to its hardware. Both cgroup v1 (cgroupfs) and v2 are
// handled.
package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Root is where the control groups are mounted.
var Root = "/sys/fs/cgroup"

// Parent is an instance's parent control group.
type Parent struct {
	// Path is the group's path below the hierarchy root, as Docker's
	// --cgroup-parent takes it (e.g. /berth/i-0abc).
	Path string
}

// cpuPeriod is the CFS period limits are expressed in (100ms).
const cpuPeriod = 100000

// V2 reports whether the host uses the unified (v2) hierarchy.
func V2() bool {
	_, err := os.Stat(filepath.Join(Root, "cgroup.controllers"))
	return err == nil
}

// Ensure creates (or updates) the parent group path with vcpu CPUs and
// memMiB MiB of memory as its limits.
func Ensure(path string, vcpu, memMiB int) (Parent, error) {
	return EnsureUnits(path, vcpu*1024, memMiB)
}

// EnsureUnits is Ensure with the CPU limit in ECS's CPU units (1024 to a
// vCPU), as a task's task-level cpu is given.
func EnsureUnits(path string, cpuUnits, memMiB int) (Parent, error) {
	if !strings.HasPrefix(path, "/") || strings.Contains(path, "..") {
		return Parent{}, fmt.Errorf("cgroup path %q must be absolute and plain", path)
	}
	if cpuUnits < 1 || memMiB < 1 {
		return Parent{}, fmt.Errorf("cgroup %s: cpu %d and memory %d must be positive", path, cpuUnits, memMiB)
	}
	quota := strconv.Itoa(max(cpuUnits*cpuPeriod/1024, 1000))
	mem := strconv.FormatInt(int64(memMiB)<<20, 10)
	if V2() {
		// Controllers must be enabled down the tree for the limits to apply.
		dir := Root
		for _, part := range strings.Split(strings.Trim(path, "/"), "/") {
			if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+cpu +memory"), 0o644); err != nil && dir != Root {
				return Parent{}, fmt.Errorf("enable controllers in %s: %w", dir, err)
			}
			dir = filepath.Join(dir, part)
			if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
				return Parent{}, err
			}
		}
		if err := write(dir, "cpu.max", quota+" "+strconv.Itoa(cpuPeriod)); err != nil {
			return Parent{}, err
		}
		if err := write(dir, "memory.max", mem); err != nil {
			return Parent{}, err
		}
		return Parent{Path: path}, nil
	}
	for _, ctl := range []struct{ controller, file, value string }{
		{"cpu", "cpu.cfs_period_us", strconv.Itoa(cpuPeriod)},
		{"cpu", "cpu.cfs_quota_us", quota},
		{"memory", "memory.limit_in_bytes", mem},
	} {
		dir := filepath.Join(Root, ctl.controller, path)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return Parent{}, err
		}
		if err := write(dir, ctl.file, ctl.value); err != nil {
			return Parent{}, err
		}
	}
	return Parent{Path: path}, nil
}

func write(dir, file, value string) error {
	if err := os.WriteFile(filepath.Join(dir, file), []byte(value), 0o644); err != nil {
		return fmt.Errorf("set %s/%s to %s: %w", dir, file, value, err)
	}
	return nil
}

// Remove deletes the parent group once no container is left in it; a
// missing group is no error.
func Remove(path string) error {
	var dirs []string
	if V2() {
		dirs = []string{filepath.Join(Root, path)}
	} else {
		for _, c := range []string{"cpu", "memory"} {
			dirs = append(dirs, filepath.Join(Root, c, path))
		}
	}
	var errs []error
	for _, d := range dirs {
		if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
