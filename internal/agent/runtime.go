package agent

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/berth-dev/berth/internal/agent/dockerrt"
)

// Runtime is what the agent asks of the container runtime: exactly the
// calls it makes, so the agent depends on behaviour, not on the Docker
// client. *dockerrt.Runtime is the one implementation; its documentation
// says what each call promises (IsNotFound and IsConflict classify the
// errors).
type Runtime interface {
	// Info describes the host, for the instance's registration.
	Info(ctx context.Context) (dockerrt.Info, error)
	// DefaultBridge is the bridge network containers join by default.
	DefaultBridge(ctx context.Context) (dockerrt.Bridge, error)
	// EnsureImage makes image present, pulling it when asked to or when
	// it is missing.
	EnsureImage(ctx context.Context, image, registryAuth string, alwaysPull bool, progress func(string)) error
	// ImageExists reports whether the daemon has image.
	ImageExists(ctx context.Context, image string) (bool, error)
	// ImportImage makes image ref from a tar of its root file system.
	ImportImage(ctx context.Context, ref string, rootfs io.Reader, changes []string) error

	// Create creates a container and returns its id.
	Create(ctx context.Context, spec dockerrt.ContainerSpec) (string, error)
	// Start starts a created or stopped container.
	Start(ctx context.Context, id string) error
	// Stop stops a container, killing it after timeout.
	Stop(ctx context.Context, id string, timeout time.Duration) error
	// Rename renames a container.
	Rename(ctx context.Context, id, name string) error
	// Remove removes a container and its anonymous volumes.
	Remove(ctx context.Context, id string) error
	// RemoveVolume removes a named volume.
	RemoveVolume(ctx context.Context, name string) error

	// Inspect returns a container's state by id or name.
	Inspect(ctx context.Context, id string) (dockerrt.State, error)
	// List returns the containers carrying all the given labels.
	List(ctx context.Context, labels map[string]string) ([]dockerrt.State, error)
	// Events streams the lifecycle events of containers with labelKey.
	Events(ctx context.Context, labelKey string) (<-chan dockerrt.Event, <-chan error)
	// Logs reads a container's output since a time.
	Logs(ctx context.Context, id string, since time.Time, follow bool) (*dockerrt.LogStream, error)
	// WritableSize is the size of what a container wrote to its layer.
	WritableSize(ctx context.Context, id string) (int64, error)
	// Stats is a container's resource usage as Docker reports it.
	Stats(ctx context.Context, id string) (json.RawMessage, error)
}

var _ Runtime = (*dockerrt.Runtime)(nil)
