package agent

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/internal/acs"
)

// HostPolicy is what an instance lets its tasks take from the host: a
// choice of the instance, as with the ECS agent's ECS_DISABLE_PRIVILEGED.
// A task that asks for more is refused before anything of it is pulled or
// created, and stops with CannotCreateContainerError naming the setting.
type HostPolicy struct {
	// DisablePrivileged refuses privileged containers
	// (ECS_DISABLE_PRIVILEGED); the instance then does not offer
	// com.amazonaws.ecs.capability.privileged-container, so placement
	// passes it by for tasks that need it.
	DisablePrivileged bool
	// ProtectedPaths are host paths no bind mount may expose
	// (BERTH_PROTECTED_HOST_PATHS, comma-separated): neither the path, nor
	// anything inside it, nor a directory that holds it. "/" protects only
	// the root itself.
	ProtectedPaths []string
	// DisableHostNamespaces refuses pidMode and ipcMode "host"
	// (BERTH_DISABLE_HOST_NAMESPACES).
	DisableHostNamespaces bool
	// DisableCapAdd refuses linuxParameters.capabilities.add
	// (BERTH_DISABLE_CAPABILITY_ADD).
	DisableCapAdd bool
}

// check returns the first container of def that the policy refuses, and
// why; "" when it refuses none.
func (p HostPolicy) check(def *acs.Task) (string, error) {
	if p.DisableHostNamespaces {
		for _, m := range []struct{ name, mode string }{{"pidMode", def.PidMode}, {"ipcMode", def.IpcMode}} {
			if m.mode == "host" && len(def.Containers) > 0 {
				return def.Containers[0].Name, fmt.Errorf("%s host is disabled on this container instance", m.name)
			}
		}
	}
	for _, c := range def.Containers {
		var host struct {
			Privileged bool
			CapAdd     []string
		}
		if c.DockerConfig.HostConfig != "" {
			if err := json.Unmarshal([]byte(c.DockerConfig.HostConfig), &host); err != nil {
				return c.Name, fmt.Errorf("dockerConfig.hostConfig: %w", err)
			}
		}
		if p.DisablePrivileged && host.Privileged {
			return c.Name, fmt.Errorf("privileged containers are disabled on this container instance (ECS_DISABLE_PRIVILEGED)")
		}
		if p.DisableCapAdd && len(host.CapAdd) > 0 {
			return c.Name, fmt.Errorf("adding capabilities (%s) is disabled on this container instance", strings.Join(host.CapAdd, ", "))
		}
		for _, mp := range c.MountPoints {
			for _, v := range def.Volumes {
				if v.Name != mp.SourceVolume || v.Host == nil || v.Host.SourcePath == "" {
					continue
				}
				if prot, ok := p.exposes(v.Host.SourcePath); ok {
					return c.Name, fmt.Errorf("the host path %s of volume %s exposes %s, which this container instance protects", v.Host.SourcePath, v.Name, prot)
				}
			}
		}
	}
	return "", nil
}

// exposes reports the protected path that mounting src would expose.
func (p HostPolicy) exposes(src string) (string, bool) {
	src = resolve(src)
	for _, prot := range p.ProtectedPaths {
		prot = resolve(prot)
		if src == prot || within(prot, src) || (prot != "/" && within(src, prot)) {
			return prot, true
		}
	}
	return "", false
}

// resolve cleans a host path and follows its symlinks where it exists, so
// a link to a protected path is seen for what it is.
func resolve(path string) string {
	path = filepath.Clean("/" + path)
	if real, err := filepath.EvalSymlinks(path); err == nil {
		return real
	}
	return path
}

// within reports whether path lies strictly inside dir.
func within(path, dir string) bool {
	if dir == "/" {
		return path != "/"
	}
	return strings.HasPrefix(path, dir+"/")
}
