// Package testutil holds helpers shared by Berth's tests, end-to-end harnesses
// and benchmarks: building the test workload image (test/testapp) and gating
// tests on a reachable Docker daemon.
package testutil

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
)

// DefaultTestImage is the tag BuildTestImage uses when given an empty tag.
const DefaultTestImage = "berth-testapp:test"

// ModulePath is the Go module path of the repository; RepoRoot uses it to
// recognise the right go.mod.
const ModulePath = "github.com/berth-dev/berth"

// contentLabel is the image label holding a digest of the binary and the
// Dockerfile. BuildImage skips the Docker build when an image with the same
// tag and digest already exists, so repeated and concurrent test processes
// neither rebuild nor leave dangling images behind.
const contentLabel = "dev.berth.testapp.content-sha256"

// dockerfile is the recipe for the test image. The binary is static, so the
// image needs nothing but the binary itself.
const dockerfile = `FROM scratch
COPY testapp /testapp
EXPOSE 8080
ENTRYPOINT ["/testapp"]
`

// RepoRoot returns the directory of the repository's go.mod. It walks up from
// the working directory and, failing that, from this source file's directory.
func RepoRoot() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for {
			if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && isModule(data) {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("testutil: cannot find the go.mod of module %s above the working directory", ModulePath)
}

func isModule(gomod []byte) bool {
	for line := range strings.Lines(string(gomod)) {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`) == ModulePath
		}
	}
	return false
}

// BuildImage compiles test/testapp as a static Linux binary for the Docker
// daemon's architecture and builds it into a FROM-scratch image tagged tag
// (DefaultTestImage when tag is empty), using the Engine API's classic
// builder. The daemon is found through the usual environment (DOCKER_HOST,
// ...). If an image with the same tag and content already exists the build is
// skipped.
func BuildImage(ctx context.Context, tag string) error {
	if tag == "" {
		tag = DefaultTestImage
	}
	root, err := RepoRoot()
	if err != nil {
		return err
	}

	cli, err := newClient(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()

	info, err := cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return fmt.Errorf("testutil: docker info: %w", err)
	}
	if ost := info.Info.OSType; ost != "" && ost != "linux" {
		return fmt.Errorf("testutil: docker daemon runs %s containers; the test image needs linux", ost)
	}
	goarch := goArch(info.Info.Architecture)

	tmp, err := os.MkdirTemp("", "berth-testapp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "testapp")

	// "go test" puts its own GOROOT/bin first in PATH, so this finds the
	// toolchain that runs the tests.
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("testutil: go toolchain not found: %w", err)
	}
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./test/testapp")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("testutil: go build ./test/testapp (GOARCH=%s): %w\n%s", goarch, err, out)
	}
	binData, err := os.ReadFile(bin)
	if err != nil {
		return err
	}

	sum := sha256.New()
	sum.Write(binData)
	sum.Write([]byte(dockerfile))
	digest := hex.EncodeToString(sum.Sum(nil))

	if img, err := cli.ImageInspect(ctx, tag); err == nil {
		if img.Config != nil && img.Config.Labels[contentLabel] == digest {
			return nil // up to date
		}
	} else if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("testutil: inspect image %s: %w", tag, err)
	}

	buildCtx, err := tarContext(map[string]tarFile{
		"Dockerfile": {data: []byte(dockerfile + "LABEL " + contentLabel + "=" + digest + "\n"), mode: 0o644},
		"testapp":    {data: binData, mode: 0o755},
	})
	if err != nil {
		return err
	}
	res, err := cli.ImageBuild(ctx, buildCtx, client.ImageBuildOptions{
		Tags:        []string{tag},
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1, // BuildKit needs a session; the classic builder is enough here.
	})
	if err != nil {
		return fmt.Errorf("testutil: docker build %s: %w", tag, err)
	}
	defer res.Body.Close()
	return readBuildOutput(res.Body, tag)
}

// readBuildOutput drains a build's JSON message stream and returns the
// first error it reports, together with the build log for context.
func readBuildOutput(r io.Reader, tag string) error {
	var log strings.Builder
	dec := json.NewDecoder(r)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("testutil: docker build %s: reading output: %w\n%s", tag, err, log.String())
		}
		log.WriteString(m.Stream)
		if m.Error != nil {
			return fmt.Errorf("testutil: docker build %s: %s\n%s", tag, m.Error.Message, log.String())
		}
	}
}

type tarFile struct {
	data []byte
	mode int64
}

func tarContext(files map[string]tarFile) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	for name, f := range files {
		hdr := &tar.Header{Name: name, Mode: f.mode, Size: int64(len(f.data)), ModTime: now, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}

// goArch maps the daemon's `uname -m` style architecture to a GOARCH value.
func goArch(arch string) string {
	switch arch {
	case "x86_64", "amd64":
		return "amd64"
	case "aarch64", "arm64":
		return "arm64"
	case "armv7l", "armv6l", "arm":
		return "arm"
	case "i386", "i686", "386":
		return "386"
	case "ppc64le", "s390x", "riscv64":
		return arch
	}
	return runtime.GOARCH
}

// newClient connects to the daemon from the environment and negotiates the
// API version, failing when no daemon answers.
func newClient(ctx context.Context) (*client.Client, error) {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("testutil: docker client: %w", err)
	}
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("testutil: docker daemon at %s does not answer: %w", cli.DaemonHost(), err)
	}
	return cli, nil
}

var (
	buildsMu sync.Mutex
	builds   = map[string]func() error{}
)

// BuildTestImage builds the test/testapp image tagged tag (DefaultTestImage
// when empty) at most once per test process and returns the tag. It skips
// the test, like RequireDocker, when no Docker daemon answers, and fails the
// test if the build fails.
func BuildTestImage(t testing.TB, tag string) string {
	t.Helper()
	RequireDocker(t)
	if tag == "" {
		tag = DefaultTestImage
	}
	buildsMu.Lock()
	once, ok := builds[tag]
	if !ok {
		once = sync.OnceValue(func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			return BuildImage(ctx, tag)
		})
		builds[tag] = once
	}
	buildsMu.Unlock()
	if err := once(); err != nil {
		t.Fatalf("build test image %s: %v", tag, err)
	}
	return tag
}

// RequireDockerEnv is the environment variable that turns a missing Docker
// daemon from a skipped test into a failed one (set it to "1" in CI).
const RequireDockerEnv = "BERTH_REQUIRE_DOCKER"

var dockerAvailable = sync.OnceValue(func() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cli, err := newClient(ctx)
	if err != nil {
		return err
	}
	return cli.Close()
})

// RequireDocker skips the test when no Docker daemon answers (DOCKER_HOST or
// the default socket). When BERTH_REQUIRE_DOCKER=1 it fails the test instead.
func RequireDocker(t testing.TB) {
	t.Helper()
	err := dockerAvailable()
	if err == nil {
		return
	}
	if os.Getenv(RequireDockerEnv) == "1" {
		t.Fatalf("Docker daemon required (%s=1) but unavailable: %v", RequireDockerEnv, err)
	}
	t.Skipf("skipping: needs a Docker daemon: %v (set %s=1 to fail instead of skipping)", err, RequireDockerEnv)
}
