package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth-dev/berth/internal/testutil"
)

// proc is one berth process of the HA test, killed when the test ends.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
}

func startProc(t *testing.T, dir, name string, env []string, args ...string) *proc {
	t.Helper()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{name: name, log: filepath.Join(dir, name+".log")}
	f, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(withoutAWSEnv(os.Environ()), env...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go p.cmd.Wait()
	t.Cleanup(func() {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		if t.Failed() {
			data, _ := os.ReadFile(p.log)
			lines := strings.Split(string(data), "\n")
			t.Logf("last lines of %s:\n%s", name, strings.Join(lines[max(0, len(lines)-30):], "\n"))
		}
	})
	return p
}

// status GETs url and returns the HTTP status, 0 when nothing answers.
func status(url string) int {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// standalone is a Berth made of separate processes (berth etcd, berth
// server, berth agent) in a temporary directory, for tests that kill them
// one by one. Its containers are removed when the test ends.
type standalone struct {
	t       *testing.T
	dir     string
	account string
	etcdURL string
	creds   *Berth
	cluster string
	// serverEnv is added to the environment of every server.
	serverEnv []string
}

func newStandalone(t *testing.T, cluster string) *standalone {
	t.Helper()
	dir, err := os.MkdirTemp(tmpRoot, "standalone-")
	if err != nil {
		t.Fatal(err)
	}
	sa := &standalone{t: t, dir: dir, cluster: cluster,
		account: fmt.Sprintf("%012d", 100000000000+rand.Int64N(900000000000)),
		creds: &Berth{Region: "us-east-1", AccessKey: "AKIASA" + randomString("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 14),
			SecretKey: randomString("abcdefghijklmnopqrstuvwxyz0123456789", 40)}}
	// Runs last, after the agents are gone.
	t.Cleanup(func() {
		ids, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=com.amazonaws.ecs.cluster="+cluster).Output()
		for _, id := range strings.Fields(string(ids)) {
			exec.Command("docker", "rm", "-f", id).Run()
		}
	})
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	sa.etcdURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	startProc(t, dir, "etcd", nil, "etcd", "--data-dir", filepath.Join(dir, "etcd"), "--listen-client-url", sa.etcdURL)
	return sa
}

// server starts a berth server on the shared etcd and returns its URL.
func (sa *standalone) server(name string, extra ...string) (*proc, string) {
	sa.t.Helper()
	port, err := freePort()
	if err != nil {
		sa.t.Fatal(err)
	}
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	env := append([]string{"BERTH_ROOT_ACCESS_KEY_ID=" + sa.creds.AccessKey, "BERTH_ROOT_SECRET_ACCESS_KEY=" + sa.creds.SecretKey}, sa.serverEnv...)
	args := append([]string{"server", "--data-dir", filepath.Join(sa.dir, name), "--listen", listen,
		"--etcd-endpoints", sa.etcdURL, "--account-id", sa.account, "--heartbeat", "2s", "--leader-ttl", "2s"}, extra...)
	p := startProc(sa.t, sa.dir, name, env, args...)
	url := "http://" + listen
	eventually(sa.t, 60*time.Second, 200*time.Millisecond, name+" to serve", func() (bool, string) {
		return status(url+"/healthz") == 200, "not yet"
	})
	return p, url
}

// agent starts a berth agent of the cluster against the server at url; the
// same name keeps the same registration.
func (sa *standalone) agent(name, url string) *proc {
	env := []string{"AWS_ACCESS_KEY_ID=" + sa.creds.AccessKey, "AWS_SECRET_ACCESS_KEY=" + sa.creds.SecretKey}
	return startProc(sa.t, sa.dir, name, env, "agent", "--endpoint", url, "--cluster", sa.cluster,
		"--data-dir", filepath.Join(sa.dir, name), "--instance-type", "t3.medium", "--config-file", filepath.Join(sa.dir, "none"))
}

// client returns an ECS client of the root user against url.
func (sa *standalone) client(url string) *ecs.Client {
	b := &Berth{Region: sa.creds.Region, Endpoint: url}
	return b.ECSWith(sa.creds.AccessKey, sa.creds.SecretKey)
}

// containers counts running containers of the cluster by task ARN.
func (sa *standalone) containers() map[string]int {
	sa.t.Helper()
	out, err := exec.Command("docker", "ps", "--filter", "label=com.amazonaws.ecs.cluster="+sa.cluster, "--format", `{{.Label "com.amazonaws.ecs.task-arn"}}`).Output()
	if err != nil {
		sa.t.Fatal(err)
	}
	running := map[string]int{}
	for _, arn := range strings.Fields(string(out)) {
		if strings.Contains(arn, ":"+sa.account+":") {
			running[arn]++
		}
	}
	return running
}

// kill sends SIGKILL to the process (and its process group).
func (p *proc) kill(t *testing.T) {
	if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}

// TestSchedulerFailover runs two `berth server`s on one `berth etcd`, with
// agents on the follower, kills the leader with SIGKILL in the middle of a
// rolling deployment and checks that the follower takes over and finishes
// it with no task lost or started twice.
func TestSchedulerFailover(t *testing.T) {
	image := testutil.BuildTestImage(t, "")
	sa := newStandalone(t, "ha")
	leader, leaderURL := sa.server("server-a")
	eventually(t, 60*time.Second, 200*time.Millisecond, "server-a to lead", func() (bool, string) {
		return status(leaderURL+"/healthz/leader") == 200, "not yet"
	})
	_, followerURL := sa.server("server-b")
	if got := status(followerURL + "/healthz/leader"); got != http.StatusServiceUnavailable {
		t.Fatalf("server-b /healthz/leader = %d while server-a leads, want 503", got)
	}

	c := sa.client(followerURL)
	ctx := context.Background()
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("ha")}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		sa.agent(fmt.Sprintf("agent-%d", i), followerURL)
	}
	eventually(t, 60*time.Second, 500*time.Millisecond, "2 instances", func() (bool, string) {
		out, err := c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("ha")})
		return err == nil && len(out.ContainerInstanceArns) == 2, fmt.Sprint(err)
	})
	register := func(version string) string {
		out, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("ha-web"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String(image), Memory: aws.Int32(64),
				Environment:  []ecstypes.KeyValuePair{{Name: aws.String("VERSION"), Value: aws.String(version)}},
				PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080), HostPort: aws.Int32(0)}}}}})
		if err != nil {
			t.Fatal(err)
		}
		return *out.TaskDefinition.TaskDefinitionArn
	}
	v1 := register("1")
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("ha"), ServiceName: aws.String("web"), TaskDefinition: aws.String(v1),
		DesiredCount: aws.Int32(4), DeploymentConfiguration: &ecstypes.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(50), MaximumPercent: aws.Int32(200)}}); err != nil {
		t.Fatal(err)
	}
	settled := func(td string) func() (bool, string) {
		return func() (bool, string) {
			out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("ha"), Services: []string{"web"}})
			if err != nil || len(out.Services) != 1 {
				return false, fmt.Sprint(err)
			}
			s := out.Services[0]
			ok := len(s.Deployments) == 1 && s.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted &&
				s.RunningCount == 4 && s.PendingCount == 0 && *s.TaskDefinition == td
			return ok, pretty(s.Deployments)
		}
	}
	eventually(t, 90*time.Second, 500*time.Millisecond, "4 tasks of revision 1", settled(v1))

	v2 := register("2")
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("ha"), Service: aws.String("web"), TaskDefinition: aws.String(v2)}); err != nil {
		t.Fatal(err)
	}
	// Kill the leader once the rollout has started some revision 2 tasks.
	eventually(t, 30*time.Second, 100*time.Millisecond, "revision 2 tasks to be placed", func() (bool, string) {
		out, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("ha"), ServiceName: aws.String("web")})
		if err != nil || len(out.TaskArns) == 0 {
			return false, fmt.Sprint(err)
		}
		d, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("ha"), Tasks: out.TaskArns})
		if err != nil {
			return false, err.Error()
		}
		for _, tk := range d.Tasks {
			if *tk.TaskDefinitionArn == v2 {
				return true, ""
			}
		}
		return false, "none yet"
	})
	killed := time.Now()
	leader.kill(t)
	eventually(t, 30*time.Second, 100*time.Millisecond, "server-b to take over", func() (bool, string) {
		return status(followerURL+"/healthz/leader") == 200, "follower"
	})
	t.Logf("leader fail-over (SIGKILL to the new leader serving /healthz/leader): %v", time.Since(killed).Round(10*time.Millisecond))
	eventually(t, 120*time.Second, 500*time.Millisecond, "4 tasks of revision 2", settled(v2))

	// Exactly the 4 tasks run, each in exactly one container.
	list, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("ha"), ServiceName: aws.String("web")})
	if err != nil || len(list.TaskArns) != 4 {
		t.Fatalf("list-tasks after fail-over: %v %v", list, err)
	}
	running := sa.containers()
	for _, arn := range list.TaskArns {
		if running[arn] != 1 {
			t.Errorf("task %s has %d running containers, want 1", arn, running[arn])
		}
		delete(running, arn)
	}
	if len(running) != 0 {
		t.Errorf("containers running for tasks the service does not have: %v", running)
	}
}
