package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/moby/moby/client"

	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/internal/vpc"
)

// Timeouts of the harness. The machine may have only 2 cores, so they are
// generous; a test that hits one fails with the state it last saw.
const (
	buildTimeout    = 5 * time.Minute  // go build ./cmd/berth
	startTimeout    = 60 * time.Second // berth up until /healthz and berth.env
	stopTimeout     = 20 * time.Second // SIGTERM to the process group until SIGKILL
	cliTimeout      = 90 * time.Second // one aws CLI invocation
	instanceTimeout = 60 * time.Second // both instances registered and connected
	taskTimeout     = 60 * time.Second // a task reaching RUNNING or STOPPED
)

// ecsClusterLabel is the Docker label the agent puts on every container it
// creates for an ECS task (as Amazon's agent does).
const ecsClusterLabel = "com.amazonaws.ecs.cluster"

var (
	// tmpRoot holds the berth binary and the data dirs of every Berth this
	// test process starts; TestMain removes it.
	tmpRoot string

	buildOnce = sync.OnceValues(buildBerth)

	sharedMu    sync.Mutex
	sharedBerth *Berth
	sharedErr   error
	sharedUsers = map[*testing.T]bool{} // tests that got the shared Berth
)

func TestMain(m *testing.M) {
	var err error
	tmpRoot, err = os.MkdirTemp("", "berth-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(2)
	}
	code := m.Run()
	sharedMu.Lock()
	if sharedBerth != nil {
		if err := sharedBerth.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: stopping the shared berth:", err)
		}
	}
	sharedMu.Unlock()
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

// buildBerth compiles ./cmd/berth once per test process.
func buildBerth() (string, error) {
	root, err := testutil.RepoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(tmpRoot, "bin", "berth")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("go toolchain not found: %w", err)
	}
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, "./cmd/berth")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/berth: %w\n%s", err, out)
	}
	return bin, nil
}

// Berth is one running `berth up` with its own data dir, port and account.
type Berth struct {
	Endpoint  string
	Region    string
	AccountID string
	AccessKey string
	SecretKey string
	DataDir   string
	LogPath   string
	// Env is berth.env as written by berth up.
	Env map[string]string

	bin      string
	listen   string
	launched bool // berth up was started at least once
	cmd      *exec.Cmd
	exited   chan struct{} // closed when cmd has exited
	logF     *os.File

	// vpcCIDR, vpcBridge and vpcChains keep this Berth's instance
	// addresses and security-group chains apart from other Berths'
	// running on this machine at the same time.
	vpcCIDR, vpcBridge, vpcChains string

	mu       sync.Mutex
	taskARNs map[string]bool // tasks the tests started, for container cleanup
	stopped  bool
}

// shared returns the Berth shared by the tests of this package, starting it
// on first use. Every test that uses it gets the tail of its log when it
// fails.
func shared(t *testing.T) *Berth {
	t.Helper()
	sharedMu.Lock()
	if sharedBerth == nil && sharedErr == nil {
		sharedBerth, sharedErr = start()
	}
	b, err := sharedBerth, sharedErr
	first := !sharedUsers[t]
	sharedUsers[t] = true
	sharedMu.Unlock()
	if err != nil {
		t.Fatalf("start berth up: %v", err)
	}
	if first {
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("last lines of berth's log (%s):\n%s", b.LogPath, b.LogTail(60))
			}
		})
	}
	return b
}

// startBerth starts a Berth of the test's own, stopped when the test ends.
func startBerth(t *testing.T) *Berth {
	t.Helper()
	b, err := start()
	if err != nil {
		t.Fatalf("start berth up: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last lines of berth's log (%s):\n%s", b.LogPath, b.LogTail(60))
		}
		if err := b.Stop(); err != nil {
			t.Errorf("stop berth: %v", err)
		}
	})
	return b
}

// start builds berth (once) and runs `berth up` with a fresh data dir, a
// free port, two instances, a 2s heartbeat, a random account id and random
// root credentials. It retries when the port was taken in the meantime.
func start() (*Berth, error) {
	bin, err := buildOnce()
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		b, err := startOnce(bin)
		if err == nil {
			return b, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func startOnce(bin string) (*Berth, error) {
	dataDir, err := os.MkdirTemp(tmpRoot, "data-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	b := &Berth{
		Region:    "us-east-1",
		AccountID: fmt.Sprintf("%012d", 100000000000+rand.Int64N(900000000000)),
		AccessKey: "AKIAE2E" + randomString("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 13),
		SecretKey: randomString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 40),
		DataDir:   dataDir,
		LogPath:   filepath.Join(dataDir, "berth.log"),
		bin:       bin,
		listen:    fmt.Sprintf("127.0.0.1:%d", port),
		taskARNs:  map[string]bool{},
		vpcCIDR:   fmt.Sprintf("10.%d.0.0/16", 100+rand.IntN(150)),
		vpcBridge: "be2e" + randomString("0123456789abcdef", 8),
		vpcChains: "E2E" + randomString("0123456789ABCDEF", 8),
	}
	if err := b.launch(); err != nil {
		b.Stop()
		return nil, err
	}
	return b, nil
}

// launch runs berth up on b's data dir and port and waits until it is
// ready. Its output is appended to b.LogPath.
func (b *Berth) launch() error {
	logF, err := os.OpenFile(b.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	b.logF = logF
	b.exited = make(chan struct{})
	logLevel := os.Getenv("BERTH_E2E_LOG_LEVEL")
	if logLevel == "" {
		logLevel = "info"
	}
	b.cmd = exec.Command(b.bin, "up",
		"--data-dir", b.DataDir,
		"--listen", b.listen,
		"--instances", "2",
		"--instance-type", "t3.medium",
		"--cluster", "default",
		"--heartbeat", "2s",
		"--region", b.Region,
		"--account-id", b.AccountID,
		"--log-level", logLevel,
		"--default-vpc-cidr", b.vpcCIDR,
		"--vpc-bridge", b.vpcBridge,
		"--vpc-chain-prefix", b.vpcChains,
	)
	b.cmd.Env = withoutAWSEnv(os.Environ())
	if !b.launched {
		// Root credentials are taken from the environment on the first
		// start only; later starts must find them in the store.
		b.cmd.Env = append(b.cmd.Env,
			"BERTH_ROOT_ACCESS_KEY_ID="+b.AccessKey,
			"BERTH_ROOT_SECRET_ACCESS_KEY="+b.SecretKey)
	}
	b.cmd.Stdout, b.cmd.Stderr = logF, logF
	// Its own process group, so that kill reaches berth up and its agents;
	// and killed with the test process should that die first (a -timeout
	// panic skips every cleanup). The agents die with berth up.
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	upsBefore := strings.Count(b.readLog(), "Berth is up.")
	if err := b.cmd.Start(); err != nil {
		logF.Close()
		b.cmd = nil
		return fmt.Errorf("start %s up: %w", b.bin, err)
	}
	b.launched = true
	cmd, exited := b.cmd, b.exited
	go func() {
		cmd.Wait()
		close(exited)
	}()
	if err := b.waitReady(upsBefore); err != nil {
		return fmt.Errorf("%w\nlog (%s):\n%s", err, b.LogPath, b.LogTail(40))
	}
	return nil
}

// waitReady waits until /healthz answers 200 and berth.env is complete, then
// checks that what berth up wrote and printed matches what it was given.
func (b *Berth) waitReady(upsBefore int) error {
	deadline := time.Now().Add(startTimeout)
	healthz := "http://" + b.listen + "/healthz"
	hc := &http.Client{Timeout: 2 * time.Second}
	var last string
	for {
		select {
		case <-b.exited:
			return fmt.Errorf("berth up exited before it was ready: %v", b.cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("berth up not ready within %v: %s", startTimeout, last)
		}
		resp, err := hc.Get(healthz)
		if err != nil {
			last = err.Error()
		} else {
			resp.Body.Close()
			last = "GET /healthz: " + resp.Status
			if resp.StatusCode == http.StatusOK {
				env, err := readEnvFile(filepath.Join(b.DataDir, "berth.env"))
				if err == nil && env["BERTH_ACCOUNT_ID"] != "" && env["AWS_ENDPOINT_URL"] != "" {
					b.Env = env
					break
				}
				last = fmt.Sprintf("berth.env not complete yet: %v", err)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	want := map[string]string{
		"AWS_ACCESS_KEY_ID":     b.AccessKey,
		"AWS_SECRET_ACCESS_KEY": b.SecretKey,
		"AWS_REGION":            b.Region,
		"AWS_DEFAULT_REGION":    b.Region,
		"AWS_ENDPOINT_URL":      "http://" + b.listen,
		"BERTH_ACCOUNT_ID":      b.AccountID,
	}
	for k, v := range want {
		if b.Env[k] != v {
			return fmt.Errorf("berth.env: %s=%q, want %q", k, b.Env[k], v)
		}
	}
	b.Endpoint = b.Env["AWS_ENDPOINT_URL"]
	// "Berth is up." is printed right after berth.env is written.
	for time.Now().Before(deadline) && strings.Count(b.readLog(), "Berth is up.") <= upsBefore {
		time.Sleep(50 * time.Millisecond)
	}
	// The secret key is printed at the first start only.
	if log := b.readLog(); strings.Count(log, "Berth is up.") <= upsBefore || !strings.Contains(log, b.AccessKey) ||
		upsBefore == 0 && !strings.Contains(log, b.SecretKey) {
		return errors.New(`berth up did not print "Berth is up." with its credentials`)
	}
	return nil
}

// Stop ends berth up and its agents, then removes the Docker containers
// this Berth's agents created. It is safe to call more than once.
func (b *Berth) Stop() error {
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		return nil
	}
	b.stopped = true
	b.mu.Unlock()

	if b.Endpoint != "" && b.cmd != nil {
		// Learn every task this Berth knows while it still answers.
		b.collectTasks()
	}
	return errors.Join(b.kill(), b.removeContainers(), b.removeNetwork())
}

// removeNetwork takes this Berth's instance addresses, bridge and
// security-group chains off the machine.
func (b *Berth) removeNetwork() error {
	if os.Geteuid() != 0 {
		return nil
	}
	h, err := vpc.NewHost(b.vpcBridge, vpc.WithChainPrefix(b.vpcChains))
	if err != nil {
		return err
	}
	return h.Close()
}

// Restart stops berth up, leaving its containers running, and starts it
// again on the same data dir and port.
func (b *Berth) Restart() error {
	if err := b.kill(); err != nil {
		return err
	}
	return b.launch()
}

// kill sends SIGTERM to berth up's process group (berth up and its agents)
// and SIGKILL after stopTimeout.
func (b *Berth) kill() error {
	if b.cmd == nil || b.cmd.Process == nil {
		return nil
	}
	var err error
	pgid := b.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(stopTimeout):
		err = fmt.Errorf("berth up did not exit within %v of SIGTERM; killed", stopTimeout)
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-b.exited
	}
	// Agents die with berth up; make sure no straggler of the group lives on.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	b.cmd = nil
	b.logF.Close()
	return err
}

// Crash kills berth up alone with SIGKILL, as a power cut or OOM kill
// would (its agents follow through their parent-death signal), and starts
// it again on the same data dir.
func (b *Berth) Crash() error {
	if err := syscall.Kill(b.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		return err
	}
	<-b.exited
	_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	b.cmd = nil
	b.logF.Close()
	return b.launch()
}

// Pid is berth up's process id.
func (b *Berth) Pid() int { return b.cmd.Process.Pid }

// TrackTask records a task ARN a test started, so that Stop removes its
// containers even if the agent labels them in a way the account id does
// not reveal.
func (b *Berth) TrackTask(arn string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.taskARNs[arn] = true
}

// collectTasks adds every task of every cluster to the tracked ARNs.
func (b *Berth) collectTasks() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := b.ECS()
	clusters, err := c.ListClusters(ctx, &ecs.ListClustersInput{})
	if err != nil {
		return
	}
	for _, cl := range clusters.ClusterArns {
		for _, status := range []string{"RUNNING", "STOPPED"} {
			p := ecs.NewListTasksPaginator(c, &ecs.ListTasksInput{Cluster: aws.String(cl), DesiredStatus: ecstypes.DesiredStatus(status)})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					break
				}
				for _, arn := range page.TaskArns {
					b.TrackTask(arn)
				}
			}
		}
	}
}

// removeContainers force-removes the containers created for this Berth's
// tasks: those carrying the ECS cluster label whose labels name this run's
// (random) account id or one of its task ids. Other containers, including
// other runs' ECS containers, are left alone.
func (b *Berth) removeContainers() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil // no Docker configured: nothing can have been created
	}
	defer cli.Close()
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return nil // no Docker daemon: nothing can have been created
	}
	res, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", ecsClusterLabel)})
	if err != nil {
		return fmt.Errorf("list ECS containers: %w", err)
	}
	b.mu.Lock()
	var ids []string
	for arn := range b.taskARNs {
		ids = append(ids, lastSegment(arn))
	}
	b.mu.Unlock()
	var errs []error
	for _, c := range res.Items {
		if !b.owns(c.Labels, ids) {
			continue
		}
		if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !strings.Contains(err.Error(), "No such container") {
			errs = append(errs, fmt.Errorf("remove container %s %v: %w", c.ID[:12], c.Names, err))
		}
	}
	return errors.Join(errs...)
}

func (b *Berth) owns(labels map[string]string, taskIDs []string) bool {
	if _, ok := labels[ecsClusterLabel]; !ok {
		return false
	}
	for _, v := range labels {
		if strings.Contains(v, ":"+b.AccountID+":") {
			return true
		}
		for _, id := range taskIDs {
			if id != "" && strings.Contains(v, id) {
				return true
			}
		}
	}
	return false
}

func (b *Berth) readLog() string {
	data, _ := os.ReadFile(b.LogPath)
	return string(data)
}

// LogTail returns the last n lines of berth up's output (its agents'
// included).
func (b *Berth) LogTail(n int) string {
	lines := strings.Split(strings.TrimRight(b.readLog(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ECS returns an aws-sdk-go-v2 ECS client for this Berth, with static
// credentials and the endpoint as BaseEndpoint.
func (b *Berth) ECS() *ecs.Client {
	return b.ECSWith(b.AccessKey, b.SecretKey)
}

// ECSWith is ECS with the given credentials.
func (b *Berth) ECSWith(accessKey, secretKey string) *ecs.Client {
	cfg := aws.Config{
		Region:      b.Region,
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
	}
	return ecs.NewFromConfig(cfg, func(o *ecs.Options) {
		o.BaseEndpoint = aws.String(b.Endpoint)
	})
}

// CLIResult is the outcome of one aws CLI run.
type CLIResult struct {
	Args     []string
	Stdout   string
	Stderr   string
	ExitCode int
}

func (r CLIResult) String() string {
	return fmt.Sprintf("aws %s\nexit code: %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.Args, " "), r.ExitCode, r.Stdout, r.Stderr)
}

// JSON decodes stdout into v, failing the test when it is not JSON.
func (r CLIResult) JSON(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Stdout), v); err != nil {
		t.Fatalf("decode the output of %v: %v", r, err)
	}
}

// MustSucceed fails the test unless the command exited 0, and returns r.
func (r CLIResult) MustSucceed(t *testing.T) CLIResult {
	t.Helper()
	if r.ExitCode != 0 {
		t.Fatalf("command failed:\n%v", r)
	}
	return r
}

// MustFail fails the test unless the command exited with code and its
// stderr names errCode (an AWS error code such as ClientException).
func (r CLIResult) MustFail(t *testing.T, code int, errCode string) CLIResult {
	t.Helper()
	if r.ExitCode != code || !strings.Contains(r.Stderr, errCode) {
		t.Fatalf("want exit code %d and %s in stderr, got:\n%v", code, errCode, r)
	}
	return r
}

// CLI is one aws CLI binary.
type CLI struct {
	Name string // "v2" or "v1"
	Path string
	// ServiceErrorExit is the exit code for an error the service returned:
	// 254 for CLI v2, 255 for CLI v1.
	ServiceErrorExit int
}

// cliV2 is Debian's aws CLI v2.
var cliV2 = CLI{Name: "v2", Path: "/usr/bin/aws", ServiceErrorExit: 254}

// requireCLIv2 skips the test when /usr/bin/aws (Debian's awscli package,
// version 2) is missing; scripts/deps.sh installs it.
func requireCLIv2(t *testing.T) CLI {
	t.Helper()
	if v := cliVersion(cliV2.Path); !strings.HasPrefix(v, "aws-cli/2.") {
		if os.Getenv(testutil.RequireDockerEnv) == "1" {
			t.Fatalf("aws CLI v2 not found at %s (got %q); run scripts/deps.sh", cliV2.Path, v)
		}
		t.Skipf("aws CLI v2 not found at %s (got %q); run scripts/deps.sh", cliV2.Path, v)
	}
	return cliV2
}

var findCLIv1 = sync.OnceValue(func() string {
	var candidates []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		candidates = append(candidates, filepath.Join(dir, "aws"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, ".pyenv", "shims", "aws"), filepath.Join(home, ".local", "bin", "aws"))
	}
	for _, p := range candidates {
		if strings.HasPrefix(cliVersion(p), "aws-cli/1.") {
			return p
		}
	}
	return ""
})

// requireCLIv1 returns the aws CLI v1 found on PATH, in pyenv's shims or in
// ~/.local/bin (where scripts/deps.sh puts pip's awscli), skipping the test
// when there is none: v1 is a pip package, which Debian does not ship.
func requireCLIv1(t *testing.T) CLI {
	t.Helper()
	p := findCLIv1()
	if p == "" {
		t.Skip("no aws CLI v1 on PATH, in ~/.pyenv/shims or in ~/.local/bin (scripts/deps.sh installs it with pip where it can)")
	}
	return CLI{Name: "v1", Path: p, ServiceErrorExit: 255}
}

var cliVersions sync.Map

func cliVersion(path string) string {
	if v, ok := cliVersions.Load(path); ok {
		return v.(string)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").CombinedOutput()
	v := ""
	if err == nil {
		v = strings.TrimSpace(string(out))
	}
	cliVersions.Store(path, v)
	return v
}

// Run runs the CLI against b with b's credentials.
func (b *Berth) Run(t *testing.T, cli CLI, args ...string) CLIResult {
	t.Helper()
	return b.RunWith(t, cli, b.AccessKey, b.SecretKey, args...)
}

// RunWith runs `aws --endpoint-url E --region R --output json ARGS...` with
// the given credentials, no shared config or credentials files and no pager.
func (b *Berth) RunWith(t *testing.T, cli CLI, accessKey, secretKey string, args ...string) CLIResult {
	t.Helper()
	full := append([]string{"--endpoint-url", b.Endpoint, "--region", b.Region, "--output", "json"}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli.Path, full...)
	home := t.TempDir()
	cmd.Dir = home
	cmd.Env = append(withoutAWSEnv(os.Environ()),
		"AWS_ACCESS_KEY_ID="+accessKey,
		"AWS_SECRET_ACCESS_KEY="+secretKey,
		"AWS_DEFAULT_REGION="+b.Region,
		"AWS_REGION="+b.Region,
		"AWS_PAGER=",
		"AWS_CONFIG_FILE="+filepath.Join(home, "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "no-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CLI_AUTO_PROMPT=off",
		"AWS_MAX_ATTEMPTS=2",
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := CLIResult{Args: full, Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		r.ExitCode = ee.ExitCode()
	default:
		t.Fatalf("run aws CLI %s: %v\n%v", cli.Name, err, r)
	}
	return r
}

// awsv2 runs Debian's aws CLI v2 against the shared Berth.
func awsv2(t *testing.T, args ...string) CLIResult {
	t.Helper()
	return shared(t).Run(t, requireCLIv2(t), args...)
}

// awsv1 runs the aws CLI v1 on PATH against the shared Berth.
func awsv1(t *testing.T, args ...string) CLIResult {
	t.Helper()
	return shared(t).Run(t, requireCLIv1(t), args...)
}

// withoutAWSEnv drops AWS_* variables so that the developer's own AWS
// settings (profiles, endpoints, credentials) cannot leak into a test.
func withoutAWSEnv(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		return strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "BERTH_ROOT_")
	})
}

func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s: bad line %q", path, line)
		}
		env[k] = strings.Trim(v, `"'`)
	}
	return env, sc.Err()
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

// uniqueName returns prefix plus a random suffix, a valid ECS name.
func uniqueName(prefix string) string {
	return prefix + "-" + randomString("abcdefghijklmnopqrstuvwxyz0123456789", 8)
}

func lastSegment(arn string) string {
	return arn[strings.LastIndex(arn, "/")+1:]
}

// eventually calls check every interval until it reports done or timeout
// passes; then it fails the test with what, describing the goal, and the
// last state check reported.
func eventually(t *testing.T, timeout, interval time.Duration, what string, check func() (done bool, state string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var state string
	for {
		var done bool
		done, state = check()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last state:\n%s", timeout, what, state)
		}
		time.Sleep(interval)
	}
}

// writeJSON writes v as JSON into a file of the test's temp dir and returns
// its file:// URL for --cli-input-json and friends.
func writeJSON(t *testing.T, name string, v any) string {
	t.Helper()
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return "file://" + p
}

// arnRE matches an ECS ARN of the given account and resource type.
func arnRE(account, resource string) *regexp.Regexp {
	return regexp.MustCompile(`^arn:aws:ecs:us-east-1:` + account + `:` + regexp.QuoteMeta(resource) + `$`)
}

// pretty renders v as indented JSON for failure messages.
func pretty(v any) string {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}

// httpGetJSON GETs url and decodes a JSON answer, retrying briefly: a
// container's port is published a moment before its server listens.
func httpGetJSON(t *testing.T, url string, v any) {
	t.Helper()
	hc := &http.Client{Timeout: 5 * time.Second}
	var last string
	eventually(t, 20*time.Second, 250*time.Millisecond, "GET "+url, func() (bool, string) {
		resp, err := hc.Get(url)
		if err != nil {
			last = err.Error()
			return false, last
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Sprintf("%s: %s", resp.Status, body)
		}
		if err := json.Unmarshal(body, v); err != nil {
			return false, fmt.Sprintf("bad JSON %q: %v", body, err)
		}
		return true, ""
	})
}
