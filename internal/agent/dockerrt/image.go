package dockerrt

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
)

// EnsureImage makes image available locally. Unless alwaysPull is set it
// returns at once when the daemon already has the image; otherwise it pulls
// it.
//
// registryAuth is passed to the daemon as the X-Registry-Auth header: a
// base64url-encoded JSON registry.AuthConfig ({"username":..,"password":..,
// "serveraddress":..}), or "" for anonymous pulls.
//
// progress, if not nil, receives human-readable lines such as
// "latest: Pulling from library/nginx", "a2abf6c4d29d: Pulling fs layer" or
// "a2abf6c4d29d: Downloading 12.3MB/40.0MB". Lines are throttled to at most
// one per layer per second, except that a layer's final line ("Pull
// complete", "Already exists") is always delivered. progress is called from
// the calling goroutine.
//
// Every failure is returned as a *PullError whose message carries the
// daemon's reason ("pull access denied ...", "manifest unknown", "connection
// refused", ...). Canceling ctx aborts the pull.
func (r *Runtime) EnsureImage(ctx context.Context, image string, registryAuth string, alwaysPull bool, progress func(string)) error {
	if !alwaysPull {
		_, err := r.cli.ImageInspect(ctx, image)
		if err == nil {
			return nil
		}
		if !IsNotFound(err) {
			return &PullError{Image: image, Err: err}
		}
	}

	resp, err := r.cli.ImagePull(ctx, image, client.ImagePullOptions{RegistryAuth: registryAuth})
	if err != nil {
		return &PullError{Image: image, Err: err}
	}
	defer resp.Close()

	th := newProgressThrottle(time.Now)
	for m, err := range resp.JSONMessages(ctx) {
		if err != nil {
			return &PullError{Image: image, Err: err}
		}
		if m.Error != nil {
			return &PullError{Image: image, Err: m.Error}
		}
		if progress != nil {
			if line, ok := th.line(m); ok {
				progress(line)
			}
		}
	}
	return nil
}

// progressThrottle turns pull messages into progress lines, at most one per
// layer (message ID) per second.
type progressThrottle struct {
	now  func() time.Time
	last map[string]time.Time
}

func newProgressThrottle(now func() time.Time) *progressThrottle {
	return &progressThrottle{now: now, last: map[string]time.Time{}}
}

// line formats m and reports whether it should be delivered now.
func (p *progressThrottle) line(m jsonstream.Message) (string, bool) {
	if m.Status == "" {
		return "", false
	}
	text := m.Status
	if pr := m.Progress; pr != nil && pr.Current > 0 && (pr.Units == "" || pr.Units == "bytes") {
		if pr.Total > 0 {
			text += " " + humanSize(pr.Current) + "/" + humanSize(pr.Total)
		} else {
			text += " " + humanSize(pr.Current)
		}
	}
	if m.ID == "" {
		return text, true // global lines: "Digest: ...", "Status: ..."
	}
	text = m.ID + ": " + text

	now := p.now()
	final := m.Status == "Pull complete" || m.Status == "Already exists"
	if last, seen := p.last[m.ID]; seen && !final && now.Sub(last) < time.Second {
		return "", false
	}
	p.last[m.ID] = now
	return text, true
}

// humanSize formats n bytes with decimal units, as the docker CLI does.
func humanSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	v := float64(n)
	for _, suffix := range []string{"kB", "MB", "GB", "TB"} {
		v /= unit
		if v < unit {
			return fmt.Sprintf("%.1f%s", v, suffix)
		}
	}
	return fmt.Sprintf("%.1fPB", v/unit)
}

// ImageExists reports whether the daemon has image.
func (r *Runtime) ImageExists(ctx context.Context, image string) (bool, error) {
	_, err := r.cli.ImageInspect(ctx, image)
	switch {
	case err == nil:
		return true, nil
	case IsNotFound(err):
		return false, nil
	}
	return false, fmt.Errorf("dockerrt: inspect image %s: %w", image, err)
}

// ImportImage makes the image ref (repository:tag) from rootfs, a tar
// stream of its one layer, as docker import does; changes are Dockerfile
// instructions applied to its configuration (`ENTRYPOINT ["/app"]`). It
// returns once the daemon has stored and tagged the image.
func (r *Runtime) ImportImage(ctx context.Context, ref string, rootfs io.Reader, changes []string) error {
	res, err := r.cli.ImageImport(ctx, client.ImageImportSource{Source: rootfs, SourceName: "-"}, ref, client.ImageImportOptions{Changes: changes})
	if err != nil {
		return fmt.Errorf("dockerrt: import %s: %w", ref, err)
	}
	defer res.Close()
	// The daemon reports a failure inside the stream it answers with.
	dec := json.NewDecoder(res)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("dockerrt: import %s: %w", ref, err)
		}
		if m.Error != nil {
			return fmt.Errorf("dockerrt: import %s: %w", ref, m.Error)
		}
	}
}
