package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
)

// RegistryConfig sets up the registry benchmark.
type RegistryConfig struct {
	Target
	// SizeMB is the image's size in MB (10^6 bytes) of random data, split
	// into Layers layers.
	SizeMB, Layers int
	// Runs is the number of push/pull rounds.
	Runs int
}

// registryTarget is one registry under test: where to push and the
// docker config dir holding its login.
type registryTarget struct {
	name, repo, config string
	push, pull         []time.Duration
}

// Registry times, cfg.Runs times, docker push and docker pull of a new
// image of random data through Berth's registry (an ECR repository, token
// login) and through a plain registry of the same library (filesystem
// storage, no authentication) that it starts on a free localhost port. The
// two take turns going first. It writes a line per run, then the MB/s of
// each registry's medians and their ratio. Needs the docker CLI.
func Registry(ctx context.Context, w io.Writer, cfg RegistryConfig) error {
	client, size, layers, runs := cfg.ecr(), int64(cfg.SizeMB)*1e6, cfg.Layers, cfg.Runs
	work, err := os.MkdirTemp("", "berth-bench-registry-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	plainHost, stop, err := startPlainRegistry(ctx, work+"/plain")
	if err != nil {
		return err
	}
	defer stop()
	berth, cleanup, err := berthTarget(ctx, client, work+"/docker-config")
	if err != nil {
		return err
	}
	defer cleanup()
	plain := &registryTarget{name: "plain registry", repo: plainHost + "/bench/registry", config: work + "/docker-config"}
	targets := []*registryTarget{berth, plain}

	for run := 0; run < runs; run++ {
		image := fmt.Sprintf("berth-bench-registry:%d", run)
		if err := buildRandomImage(ctx, work+"/build", image, size, layers); err != nil {
			return err
		}
		order := targets
		if run%2 == 1 {
			order = []*registryTarget{targets[1], targets[0]}
		}
		refs := []string{image}
		for _, t := range order {
			ref := fmt.Sprintf("%s:%d", t.repo, run)
			refs = append(refs, ref)
			if err := dockerCLI(ctx, t.config, "tag", image, ref); err != nil {
				return err
			}
			d, err := timeDocker(ctx, t.config, "push", ref)
			if err != nil {
				return err
			}
			t.push = append(t.push, d)
		}
		for _, t := range order {
			if err := dockerCLI(ctx, "", append([]string{"rmi", "-f"}, refs...)...); err != nil {
				return err
			}
			d, err := timeDocker(ctx, t.config, "pull", fmt.Sprintf("%s:%d", t.repo, run))
			if err != nil {
				return err
			}
			t.pull = append(t.pull, d)
		}
		dockerCLI(ctx, "", append([]string{"rmi", "-f"}, refs...)...)
		fmt.Fprintf(w, "run %d: push %s %.0f MB/s, %s %.0f MB/s; pull %s %.0f MB/s, %s %.0f MB/s\n", run+1,
			berth.name, mbps(size, berth.push[run]), plain.name, mbps(size, plain.push[run]),
			berth.name, mbps(size, berth.pull[run]), plain.name, mbps(size, plain.pull[run]))
	}
	fmt.Fprintf(w, "image: %d MB of random data in %d layers; %d runs; MB/s of the medians\n", size/1e6, layers, runs)
	for _, op := range []struct {
		name string
		of   func(*registryTarget) []time.Duration
	}{{"docker push", func(t *registryTarget) []time.Duration { return t.push }}, {"docker pull", func(t *registryTarget) []time.Duration { return t.pull }}} {
		b, p := mbps(size, median(op.of(berth))), mbps(size, median(op.of(plain)))
		fmt.Fprintf(w, "%-12s Berth %6.1f MB/s   plain registry %6.1f MB/s   Berth/plain %.2f\n", op.name, b, p, b/p)
	}
	return nil
}

// berthTarget creates a repository in Berth and logs Docker in to it with
// a registry token, in its own docker config dir.
func berthTarget(ctx context.Context, client *ecr.Client, config string) (*registryTarget, func(), error) {
	name := fmt.Sprintf("bench/registry-%d", time.Now().UnixNano())
	repo, err := client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(name)})
	if err != nil {
		return nil, nil, fmt.Errorf("create repository: %w", err)
	}
	cleanup := func() {
		client.DeleteRepository(context.Background(), &ecr.DeleteRepositoryInput{RepositoryName: aws.String(name), Force: true})
	}
	tok, err := client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("get authorization token: %w", err)
	}
	data := tok.AuthorizationData[0]
	password, err := decodePassword(aws.ToString(data.AuthorizationToken))
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	uri := aws.ToString(repo.Repository.RepositoryUri)
	host, _, _ := strings.Cut(uri, "/")
	login := exec.CommandContext(ctx, "docker", "--config", config, "login", "--username", "AWS", "--password-stdin", host)
	login.Stdin = strings.NewReader(password)
	if out, err := login.CombinedOutput(); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("docker login %s: %w\n%s", host, err, out)
	}
	return &registryTarget{name: "Berth", repo: uri, config: config}, cleanup, nil
}

// timeDocker times one docker CLI command.
func timeDocker(ctx context.Context, config string, args ...string) (time.Duration, error) {
	start := time.Now()
	err := dockerCLI(ctx, config, args...)
	return time.Since(start), err
}

// dockerCLI runs the docker CLI, with config as its config dir when set.
func dockerCLI(ctx context.Context, config string, args ...string) error {
	if config != "" {
		args = append([]string{"--config", config}, args...)
	}
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("docker %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}
