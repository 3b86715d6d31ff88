package bench

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem" // the plain registry's storage
	"github.com/sirupsen/logrus"
)

// startPlainRegistry serves a registry of the same library as Berth's,
// on filesystem storage under root and without authentication, on a free
// localhost port (which Docker reaches over plain HTTP).
func startPlainRegistry(ctx context.Context, root string) (host string, stop func(), err error) {
	logrus.SetOutput(io.Discard)
	secret := make([]byte, 16)
	crand.Read(secret)
	cfg := &configuration.Configuration{
		Storage: configuration.Storage{
			"filesystem":  configuration.Parameters{"rootdirectory": root},
			"delete":      configuration.Parameters{"enabled": true},
			"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
		},
	}
	cfg.HTTP.Secret = fmt.Sprintf("%x", secret)
	cfg.Log.AccessLog.Disabled = true
	app := handlers.NewApp(ctx, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: app}
	go srv.Serve(ln)
	return fmt.Sprintf("localhost:%d", ln.Addr().(*net.TCPAddr).Port), func() { srv.Close() }, nil
}

// buildRandomImage builds image FROM scratch with layers layers of random
// (incompressible) data, size bytes in all, in a scratch context under dir.
func buildRandomImage(ctx context.Context, dir, image string, size int64, layers int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var seed [32]byte
	crand.Read(seed[:])
	rng := rand.NewChaCha8(seed)
	dockerfile := []string{"FROM scratch"}
	for i := 0; i < layers; i++ {
		name := fmt.Sprintf("layer%d", i)
		if err := writeRandom(filepath.Join(dir, name), rng, size/int64(layers)); err != nil {
			return err
		}
		dockerfile = append(dockerfile, fmt.Sprintf("COPY %s /%s", name, name))
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(strings.Join(dockerfile, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "docker", "build", "-q", "-t", image, dir)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("docker build %s: %w\n%s", image, err, out)
	}
	return nil
}

func writeRandom(path string, rng io.Reader, n int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := io.CopyN(w, rng, n); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// decodePassword takes the password out of an ECR authorizationToken,
// base64("AWS:<password>").
func decodePassword(token string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return "", fmt.Errorf("authorization token: %w", err)
	}
	password, ok := strings.CutPrefix(string(raw), "AWS:")
	if !ok {
		return "", fmt.Errorf("authorization token is not AWS:<password>")
	}
	return password, nil
}
