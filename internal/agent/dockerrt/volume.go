package dockerrt

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

// RemoveVolume removes the named volume. Removing a volume that does not
// exist is not an error; a volume a container still uses is not removed
// (IsConflict(err) is true).
func (r *Runtime) RemoveVolume(ctx context.Context, name string) error {
	_, err := r.cli.VolumeRemove(ctx, name, client.VolumeRemoveOptions{})
	if err != nil && !IsNotFound(err) {
		return fmt.Errorf("dockerrt: remove volume %s: %w", name, err)
	}
	return nil
}
