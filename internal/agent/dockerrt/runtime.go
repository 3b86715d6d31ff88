// Package dockerrt runs ECS containers on the Docker Engine API.
//
// It is a thin layer over github.com/moby/moby/client that speaks in the
// terms the Berth agent needs (a flat ContainerSpec in, a flat State out) and
// hides Engine API details such as port maps, API-version negotiation and
// JSON progress streams. It does no task bookkeeping of its own: everything it
// returns is read from the daemon.
//
// The client negotiates the API version with the daemon, so it works with
// every Engine from 20.10 (API 1.41) on. The daemon is located from the
// environment (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH,
// DOCKER_API_VERSION), falling back to the local socket.
package dockerrt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync/atomic"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// Runtime runs containers on one Docker daemon. It is safe for concurrent
// use; create it with New and release it with Close.
type Runtime struct {
	cli *client.Client
	// noStorageLimits is set once the storage driver refused a size.
	noStorageLimits atomic.Bool
}

// New connects to the Docker daemon described by the environment (see the
// package documentation), negotiates the API version and returns a Runtime.
// It fails, naming the daemon address, if the daemon does not answer.
func New(ctx context.Context) (*Runtime, error) {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("dockerrt: configure docker client: %w", err)
	}
	return NewWithClient(ctx, cli)
}

// NewWithClient is like New but uses an existing client, which the Runtime
// then owns (Close closes it). It pings the daemon to negotiate the API
// version up front, so that a missing daemon is reported here rather than by
// the first real call.
func NewWithClient(ctx context.Context, cli *client.Client) (*Runtime, error) {
	// Negotiate explicitly: the client would otherwise negotiate lazily on the
	// first request and, should that ping fail, silently keep its newest API
	// version, which older daemons (20.10 speaks 1.41) reject.
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("dockerrt: docker daemon at %s is not reachable: %w", cli.DaemonHost(), err)
	}
	return &Runtime{cli: cli}, nil
}

// Close releases the connections to the daemon. Containers are unaffected.
func (r *Runtime) Close() error {
	return r.cli.Close()
}

// Client returns the underlying Engine API client, for operations this
// package does not wrap (logs, stats, exec). Do not close it.
func (r *Runtime) Client() *client.Client {
	return r.cli
}

// Info describes the Docker host, as the agent reports it when registering a
// container instance.
type Info struct {
	NCPU            int    // number of CPUs the daemon sees
	MemTotal        int64  // total memory, in bytes
	ServerVersion   string // Engine version, e.g. "20.10.24"
	APIVersion      string // negotiated Engine API version in use, e.g. "1.41"
	OSType          string // "linux" or "windows"
	Architecture    string // as uname -m, e.g. "x86_64", "aarch64"
	OperatingSystem string // e.g. "Debian GNU/Linux 12 (bookworm)"
	KernelVersion   string
	CgroupDriver    string // "cgroupfs" or "systemd"
}

// Info returns facts about the Docker host.
func (r *Runtime) Info(ctx context.Context) (Info, error) {
	res, err := r.cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return Info{}, fmt.Errorf("dockerrt: docker info: %w", err)
	}
	in := res.Info
	return Info{
		NCPU:            in.NCPU,
		MemTotal:        in.MemTotal,
		ServerVersion:   in.ServerVersion,
		APIVersion:      r.cli.ClientVersion(),
		OSType:          in.OSType,
		Architecture:    in.Architecture,
		OperatingSystem: in.OperatingSystem,
		KernelVersion:   in.KernelVersion,
		CgroupDriver:    in.CgroupDriver,
	}, nil
}

// IsNotFound reports whether err means the container or image does not
// exist.
func IsNotFound(err error) bool {
	return err != nil && cerrdefs.IsNotFound(err)
}

// IsConflict reports whether err means the request conflicts with the
// container's current state, typically because the container name is
// already in use (Create) or a removal is already in progress (Remove).
func IsConflict(err error) bool {
	return err != nil && cerrdefs.IsConflict(err)
}

// PullError is returned by EnsureImage when an image cannot be pulled. Its
// message carries the daemon's reason (for example "pull access denied for
// ..., repository does not exist or may require 'docker login'" or
// "manifest unknown"), which the agent reports as the ECS stopped reason
// "CannotPullContainerError: <message>".
type PullError struct {
	Image string // the image reference that was pulled
	Err   error  // the daemon's or the client's error
}

// Error implements error.
func (e *PullError) Error() string {
	return fmt.Sprintf("pull %s: %v", e.Image, e.Err)
}

// Unwrap returns the underlying error, so IsNotFound and errors.Is work.
func (e *PullError) Unwrap() error { return e.Err }

// IsPullError reports whether err is (or wraps) a *PullError.
func IsPullError(err error) bool {
	var pe *PullError
	return errors.As(err, &pe)
}

// Bridge is Docker's default bridge network as seen from the host.
type Bridge struct {
	Gateway   string // the host's address on it, e.g. 172.17.0.1
	Interface string // the Linux bridge, e.g. docker0
}

// DefaultBridge describes the "bridge" network that containers in bridge
// mode join.
func (r *Runtime) DefaultBridge(ctx context.Context) (Bridge, error) {
	res, err := r.cli.NetworkInspect(ctx, "bridge", client.NetworkInspectOptions{})
	if err != nil {
		return Bridge{}, fmt.Errorf("dockerrt: inspect the bridge network: %w", err)
	}
	b := Bridge{Interface: res.Network.Options["com.docker.network.bridge.name"]}
	if b.Interface == "" {
		b.Interface = "docker0"
	}
	for _, c := range res.Network.IPAM.Config {
		if c.Gateway.Is4() {
			b.Gateway = c.Gateway.String()
			break
		}
	}
	if b.Gateway == "" {
		// A daemon that found its bridge already addressed (it was
		// restarted, or the bridge was set up beforehand) leaves the
		// gateway out of the network's IPAM configuration; the gateway is
		// then the bridge's own address.
		b.Gateway = interfaceIPv4(b.Interface)
	}
	if b.Gateway == "" {
		return b, fmt.Errorf("dockerrt: the bridge network has no IPv4 gateway, and interface %s no IPv4 address", b.Interface)
	}
	return b, nil
}

// interfaceIPv4 returns the first IPv4 address of the named interface, or
// "" when it has none or does not exist.
func interfaceIPv4(name string) string {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return ""
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}

// Stats returns one sample of a container's resource usage, as the Engine
// API's GET /containers/{id}/stats?stream=false answers it.
func (r *Runtime) Stats(ctx context.Context, id string) (json.RawMessage, error) {
	res, err := r.cli.ContainerStats(ctx, id, client.ContainerStatsOptions{})
	if err != nil {
		return nil, fmt.Errorf("dockerrt: stats of %s: %w", id, err)
	}
	defer res.Body.Close()
	var raw json.RawMessage
	if err := json.NewDecoder(res.Body).Decode(&raw); err != nil {
		return nil, fmt.Errorf("dockerrt: stats of %s: %w", id, err)
	}
	return raw, nil
}
