package dockerrt

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// PortMapping publishes a container port on the host.
type PortMapping struct {
	ContainerPort int    // port inside the container, 1-65535
	HostPort      int    // port on the host; 0 lets Docker pick one from its ephemeral range
	Protocol      string // "tcp" (default when empty) or "udp"
	HostIP        string // host address to bind; "" binds all addresses
}

// HealthCheck is a Docker health check, as in an ECS container definition.
type HealthCheck struct {
	// Test is the probe: {"CMD", exe, args...}, {"CMD-SHELL", "command"} or
	// {"NONE"}. A Test that does not start with one of those keywords is
	// taken as an exec form and gets "CMD" prepended.
	Test []string
	// Interval, Timeout and StartPeriod of zero mean Docker's defaults
	// (30s, 30s, 0s).
	Interval, Timeout, StartPeriod time.Duration
	// Retries is the number of consecutive failures after which the
	// container is unhealthy; 0 means Docker's default (3).
	Retries int
}

// Ulimit is a resource limit (see setrlimit(2)); Name is e.g. "nofile".
type Ulimit struct {
	Name       string
	Soft, Hard int64
}

// Mount attaches a host path or a volume to the container.
type Mount struct {
	// Source is the host path of a bind mount, or the volume name of a
	// volume mount ("" creates an anonymous volume).
	Source string
	// Target is the path inside the container.
	Target   string
	ReadOnly bool
	// Type is "bind", "volume" or "tmpfs". When empty it is "bind" if
	// Source is an absolute path and "volume" otherwise.
	Type string
}

// ContainerSpec describes a container to create. Zero values mean the image's
// or Docker's defaults.
type ContainerSpec struct {
	Name                 string            // Docker container name; "" lets Docker generate one
	Image                string            // image reference; must be present locally (see EnsureImage)
	Entrypoint, Cmd      []string          // nil = image default
	Env                  []string          // "KEY=VALUE"
	WorkingDir, User     string            // "" = image default
	Labels               map[string]string // container labels
	CPUShares            int64             // relative CPU weight (ECS cpu units); 0 = Docker's default (1024), 1 is raised to Docker's minimum of 2
	MemoryMiB            int64             // hard memory limit in MiB; 0 = none
	MemoryReservationMiB int64             // soft memory limit in MiB; 0 = none
	Ports                []PortMapping     // published ports; in "host" and "none" modes they are only exposed, not published, and in "container:" mode ignored
	NetworkMode          string            // "bridge" (default), "host", "none", "container:<id>" or a network name
	StopTimeout          time.Duration     // grace period between SIGTERM and SIGKILL, stored on the container; rounded up to whole seconds; 0 = Docker's default (10s)
	ReadonlyRootfs       bool
	Privileged           bool
	CgroupParent         string       // parent control group (an instance's); "" = Docker's default
	HealthCheck          *HealthCheck // nil = image default
	Ulimits              []Ulimit
	Mounts               []Mount
	Links                []string // legacy links, "name:alias" of other Docker containers (bridge mode only)
	VolumesFrom          []string // containers to take volumes from, "name[:ro|:rw]"
	DNSServers           []string // IP addresses of DNS servers
	ExtraHosts           []string // extra /etc/hosts entries, "host:ip"
	LogDriver            string   // "" = daemon default
	LogOptions           map[string]string
	Linux                LinuxSettings // sysctls, capabilities, devices, tmpfs, ...
	// StorageGiB limits the container's writable layer (Docker's
	// --storage-opt size) where the storage driver can; 0 = no limit.
	// See Runtime.Create.
	StorageGiB int
}

// Create creates (but does not start) a container from spec and returns its
// ID. The image must already be present (see EnsureImage). A name that is
// already taken fails with an error for which IsConflict reports true.
//
// A StorageGiB limit the storage driver cannot hold (overlay2 but on xfs
// with project quotas, among others) is dropped: the container is
// created without it, and later ones are not asked for it;
// StorageLimits tells which.
func (r *Runtime) Create(ctx context.Context, spec ContainerSpec) (string, error) {
	if spec.StorageGiB > 0 && r.noStorageLimits.Load() {
		spec.StorageGiB = 0
	}
	opts, err := createOptions(spec)
	if err != nil {
		return "", fmt.Errorf("dockerrt: create container %q: %w", spec.Name, err)
	}
	res, err := r.cli.ContainerCreate(ctx, opts)
	if err != nil && spec.StorageGiB > 0 && strings.Contains(err.Error(), "storage-opt") {
		r.noStorageLimits.Store(true)
		spec.StorageGiB = 0
		return r.Create(ctx, spec)
	}
	if err != nil {
		return "", fmt.Errorf("dockerrt: create container %q: %w", spec.Name, err)
	}
	return res.ID, nil
}

// StorageLimits reports whether the storage driver holds containers to
// ContainerSpec.StorageGiB: false once it has refused a limit.
func (r *Runtime) StorageLimits() bool { return !r.noStorageLimits.Load() }

// createOptions translates spec into the Engine API's create request.
func createOptions(spec ContainerSpec) (client.ContainerCreateOptions, error) {
	if spec.Image == "" {
		return client.ContainerCreateOptions{}, fmt.Errorf("image is required")
	}
	cfg := &container.Config{
		Image:      spec.Image,
		Entrypoint: spec.Entrypoint,
		Cmd:        spec.Cmd,
		Env:        spec.Env,
		WorkingDir: spec.WorkingDir,
		User:       spec.User,
		Labels:     maps.Clone(spec.Labels),
	}
	if spec.StopTimeout > 0 {
		secs := ceilSeconds(spec.StopTimeout)
		cfg.StopTimeout = &secs
	}
	if hc := spec.HealthCheck; hc != nil {
		test := hc.Test
		if len(test) > 0 {
			switch test[0] {
			case "CMD", "CMD-SHELL", "NONE":
			default:
				test = append([]string{"CMD"}, test...)
			}
		}
		cfg.Healthcheck = &container.HealthConfig{
			Test:        test,
			Interval:    hc.Interval,
			Timeout:     hc.Timeout,
			StartPeriod: hc.StartPeriod,
			Retries:     hc.Retries,
		}
	}

	netMode := spec.NetworkMode
	if netMode == "" {
		netMode = "bridge"
	}
	hc := &container.HostConfig{
		NetworkMode:    container.NetworkMode(netMode),
		ReadonlyRootfs: spec.ReadonlyRootfs,
		Privileged:     spec.Privileged,
		Links:          spec.Links,
		VolumesFrom:    spec.VolumesFrom,
		ExtraHosts:     spec.ExtraHosts,
		LogConfig:      container.LogConfig{Type: spec.LogDriver, Config: spec.LogOptions},
	}
	if spec.StorageGiB > 0 {
		hc.StorageOpt = map[string]string{"size": fmt.Sprintf("%dG", spec.StorageGiB)}
	}

	hc.CPUShares = spec.CPUShares
	if hc.CPUShares == 1 {
		hc.CPUShares = 2 // the kernel's minimum; Docker rejects 1
	}
	if spec.MemoryMiB < 0 || spec.MemoryReservationMiB < 0 || spec.CPUShares < 0 {
		return client.ContainerCreateOptions{}, fmt.Errorf("negative cpu or memory")
	}
	hc.Memory = spec.MemoryMiB << 20
	hc.MemoryReservation = spec.MemoryReservationMiB << 20
	for _, u := range spec.Ulimits {
		hc.Ulimits = append(hc.Ulimits, &container.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}

	for _, s := range spec.DNSServers {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return client.ContainerCreateOptions{}, fmt.Errorf("dns server %q: %w", s, err)
		}
		hc.DNS = append(hc.DNS, ip)
	}

	for _, m := range spec.Mounts {
		typ := m.Type
		if typ == "" {
			typ = "volume"
			if strings.HasPrefix(m.Source, "/") {
				typ = "bind"
			}
		}
		switch mount.Type(typ) {
		case mount.TypeBind, mount.TypeVolume, mount.TypeTmpfs:
		default:
			return client.ContainerCreateOptions{}, fmt.Errorf("mount %s: unsupported type %q", m.Target, typ)
		}
		hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.Type(typ), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}

	joined := strings.HasPrefix(netMode, "container:")
	publish := netMode != "host" && netMode != "none" && !joined
	for _, p := range spec.Ports {
		port, binding, err := portBinding(p)
		if err != nil {
			return client.ContainerCreateOptions{}, err
		}
		if joined {
			continue // Docker refuses even exposing ports in another's namespace
		}
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = network.PortSet{}
		}
		cfg.ExposedPorts[port] = struct{}{}
		if publish {
			if hc.PortBindings == nil {
				hc.PortBindings = network.PortMap{}
			}
			hc.PortBindings[port] = append(hc.PortBindings[port], binding)
		}
	}

	hc.CgroupParent = spec.CgroupParent
	spec.Linux.apply(cfg, hc)
	return client.ContainerCreateOptions{Name: spec.Name, Config: cfg, HostConfig: hc}, nil
}

func portBinding(p PortMapping) (network.Port, network.PortBinding, error) {
	proto := strings.ToLower(p.Protocol)
	if proto == "" {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return network.Port{}, network.PortBinding{}, fmt.Errorf("port %d: unsupported protocol %q", p.ContainerPort, p.Protocol)
	}
	if p.ContainerPort < 1 || p.ContainerPort > math.MaxUint16 {
		return network.Port{}, network.PortBinding{}, fmt.Errorf("container port %d out of range", p.ContainerPort)
	}
	if p.HostPort < 0 || p.HostPort > math.MaxUint16 {
		return network.Port{}, network.PortBinding{}, fmt.Errorf("host port %d out of range", p.HostPort)
	}
	port, _ := network.PortFrom(uint16(p.ContainerPort), network.IPProtocol(proto))
	var b network.PortBinding
	if p.HostPort != 0 {
		b.HostPort = strconv.Itoa(p.HostPort)
	}
	if p.HostIP != "" {
		ip, err := netip.ParseAddr(p.HostIP)
		if err != nil {
			return network.Port{}, network.PortBinding{}, fmt.Errorf("port %d: host ip: %w", p.ContainerPort, err)
		}
		b.HostIP = ip
	}
	return port, b, nil
}

// ceilSeconds rounds d up to whole seconds, as the Engine API counts them.
func ceilSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

// Start starts a created (or stopped) container. Starting a running
// container is not an error.
func (r *Runtime) Start(ctx context.Context, id string) error {
	if _, err := r.cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("dockerrt: start container %s: %w", id, err)
	}
	return nil
}

// Stop sends SIGTERM (or the image's STOPSIGNAL) and SIGKILL after timeout,
// like docker stop, and returns once the container has exited. timeout is
// rounded up to whole seconds; 0 kills at once, and a negative timeout uses
// the container's StopTimeout (Docker's default is 10s). Stopping a container
// that is not running is not an error. ctx must outlive the timeout.
func (r *Runtime) Stop(ctx context.Context, id string, timeout time.Duration) error {
	var opts client.ContainerStopOptions
	if timeout >= 0 {
		secs := ceilSeconds(timeout)
		opts.Timeout = &secs
	}
	if _, err := r.cli.ContainerStop(ctx, id, opts); err != nil {
		return fmt.Errorf("dockerrt: stop container %s: %w", id, err)
	}
	return nil
}

// WritableSize is the size in bytes of what a container wrote to its
// own layer. Docker walks the layer to count it: not for hot paths.
func (r *Runtime) WritableSize(ctx context.Context, id string) (int64, error) {
	res, err := r.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{Size: true})
	if err != nil {
		return 0, fmt.Errorf("dockerrt: inspect container %s: %w", id, err)
	}
	if res.Container.SizeRw == nil {
		return 0, nil
	}
	return *res.Container.SizeRw, nil
}

// Rename gives a container a new name; a name that is taken fails with
// an error for which IsConflict reports true.
func (r *Runtime) Rename(ctx context.Context, id, name string) error {
	if _, err := r.cli.ContainerRename(ctx, id, client.ContainerRenameOptions{NewName: name}); err != nil {
		return fmt.Errorf("dockerrt: rename container %s to %q: %w", id, name, err)
	}
	return nil
}

// Remove removes a container, killing it first if it runs, together with its
// anonymous volumes. Removing a container that does not exist is not an
// error.
func (r *Runtime) Remove(ctx context.Context, id string) error {
	_, err := r.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !IsNotFound(err) {
		return fmt.Errorf("dockerrt: remove container %s: %w", id, err)
	}
	return nil
}

// State is a container's configuration summary and current state.
type State struct {
	ID, Name    string            // full ID; name without Docker's leading "/"
	Image       string            // image reference the container was created from
	Labels      map[string]string // container labels
	Status      string            // created, running, paused, restarting, removing, exited or dead
	Running     bool
	Pid         int  // the main process's id on the host while it runs; 0 otherwise
	ExitCode    int  // exit code of the last run; 137 after SIGKILL
	OOMKilled   bool // the last run was killed by the kernel OOM killer
	Error       string
	StartedAt   time.Time // zero if never started
	FinishedAt  time.Time // zero if never exited
	Health      string    // "" (no health check), "starting", "healthy" or "unhealthy"
	ImageID     string    // the image's content id (sha256:...)
	CreatedAt   time.Time // when the container was created
	NetworkMode string    // "bridge", "host", "none", ...
	IPv4        []string  // addresses on its networks, sorted
	MemoryMiB   int64     // hard memory limit; 0 = none
	CPUShares   int64     // relative CPU weight; 0 = Docker's default
	LogDriver   string
	LogOptions  map[string]string
	// Ports are the actual port bindings, including the host ports Docker
	// chose for dynamic mappings, while the container runs. Docker reports
	// one binding per host address family (e.g. 0.0.0.0 and ::), sorted by
	// container port, protocol and host IP. Empty in "host" network mode.
	Ports []PortMapping
}

// Inspect returns the state of the container with the given ID or name. If
// it does not exist, IsNotFound(err) is true.
func (r *Runtime) Inspect(ctx context.Context, id string) (State, error) {
	res, err := r.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return State{}, fmt.Errorf("dockerrt: inspect container %s: %w", id, err)
	}
	return stateFromInspect(res.Container), nil
}

func stateFromInspect(c container.InspectResponse) State {
	s := State{
		ID:   c.ID,
		Name: strings.TrimPrefix(c.Name, "/"),
	}
	if c.Config != nil {
		s.Image = c.Config.Image
		s.Labels = c.Config.Labels
	}
	s.ImageID = c.Image
	s.CreatedAt = parseTime(c.Created)
	if hc := c.HostConfig; hc != nil {
		s.NetworkMode = string(hc.NetworkMode)
		s.MemoryMiB = hc.Memory >> 20
		s.CPUShares = hc.CPUShares
		s.LogDriver, s.LogOptions = hc.LogConfig.Type, hc.LogConfig.Config
	}
	if ns := c.NetworkSettings; ns != nil {
		for _, n := range ns.Networks {
			if n != nil && n.IPAddress.IsValid() {
				s.IPv4 = append(s.IPv4, n.IPAddress.String())
			}
		}
		slices.Sort(s.IPv4)
	}
	if st := c.State; st != nil {
		s.Status = string(st.Status)
		s.Running = st.Running
		s.Pid = st.Pid
		s.ExitCode = st.ExitCode
		s.OOMKilled = st.OOMKilled
		s.Error = st.Error
		s.StartedAt = parseTime(st.StartedAt)
		s.FinishedAt = parseTime(st.FinishedAt)
		if st.Health != nil {
			s.Health = string(st.Health.Status)
		}
	}
	if ns := c.NetworkSettings; ns != nil {
		for port, bindings := range ns.Ports {
			for _, b := range bindings {
				hp, err := strconv.Atoi(b.HostPort)
				if err != nil {
					continue
				}
				pm := PortMapping{ContainerPort: int(port.Num()), HostPort: hp, Protocol: string(port.Proto())}
				if b.HostIP.IsValid() {
					pm.HostIP = b.HostIP.String()
				}
				s.Ports = append(s.Ports, pm)
			}
		}
		slices.SortFunc(s.Ports, func(a, b PortMapping) int {
			return cmp.Or(cmp.Compare(a.ContainerPort, b.ContainerPort),
				cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.HostIP, b.HostIP), cmp.Compare(a.HostPort, b.HostPort))
		})
	}
	return s
}

// parseTime parses the Engine's RFC 3339 timestamps; Docker's "never"
// (0001-01-01T00:00:00Z) and garbage become the zero time.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}

// List returns the containers, running or not, that carry all the given
// labels; a label with value "" matches any value. Each match is inspected,
// so every State is complete. The result is sorted by name.
func (r *Runtime) List(ctx context.Context, labels map[string]string) ([]State, error) {
	f := client.Filters{}
	for k, v := range labels {
		if v == "" {
			f.Add("label", k)
		} else {
			f.Add("label", k+"="+v)
		}
	}
	res, err := r.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("dockerrt: list containers: %w", err)
	}
	out := make([]State, 0, len(res.Items))
	for _, c := range res.Items {
		st, err := r.Inspect(ctx, c.ID)
		if IsNotFound(err) {
			continue // removed since the listing
		}
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b State) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}
