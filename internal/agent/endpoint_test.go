package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/berth-dev/berth/internal/acs"
	"github.com/berth-dev/berth/internal/agent/dockerrt"
)

func TestFromTask(t *testing.T) {
	bridge := []dockerrt.State{{NetworkMode: "bridge", IPv4: []string{"172.17.0.5"}}, {NetworkMode: "bridge", IPv4: []string{"172.17.0.6"}}}
	host := []dockerrt.State{{NetworkMode: "host"}}
	for _, tt := range []struct {
		name   string
		remote string
		cs     []dockerrt.State
		want   bool
	}{
		{"the task's first container", "172.17.0.5:40000", bridge, true},
		{"the task's second container", "172.17.0.6:40000", bridge, true},
		{"another container on the bridge", "172.17.0.7:40000", bridge, false},
		{"the host, for a bridge task", "127.0.0.1:40000", bridge, false},
		{"the host, for a host-mode task", "127.0.0.1:40000", host, true},
		{"another address, for a host-mode task", "203.0.113.9:40000", host, false},
		{"garbage", "nonsense", bridge, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := fromTask(tt.remote, tt.cs); got != tt.want {
				t.Fatalf("fromTask(%s) = %v, want %v", tt.remote, got, tt.want)
			}
		})
	}
}

func TestContainerEndpoint(t *testing.T) {
	a := &Agent{bridge: dockerrt.Bridge{Gateway: "172.17.0.1", Interface: "docker0"}}
	for _, tt := range []struct{ endpoint, mode, want string }{
		{"http://127.0.0.1:4600", "bridge", "http://172.17.0.1:4600"},
		{"http://localhost:4600", "bridge", "http://172.17.0.1:4600"},
		{"http://127.0.0.1:4600", "host", "http://127.0.0.1:4600"},
		{"https://berth.example.com:443", "bridge", "https://berth.example.com:443"},
		{"http://10.0.0.5:4600", "bridge", "http://10.0.0.5:4600"},
	} {
		a.cfg.Endpoint = tt.endpoint
		if got := a.containerEndpoint(tt.mode); got != tt.want {
			t.Errorf("containerEndpoint(%s, %s) = %s, want %s", tt.endpoint, tt.mode, got, tt.want)
		}
	}
}

// TestTaskEnvironment: the definition's variables win over the defaults
// the agent adds, except the endpoint variables it owns; a task without a
// role gets no credentials URI.
func TestTaskEnvironment(t *testing.T) {
	a := &Agent{cfg: Config{Region: "eu-west-1", Endpoint: "http://127.0.0.1:4600", AvailabilityZone: "eu-west-1a"},
		bridge: dockerrt.Bridge{Gateway: "172.17.0.1"}, endpointReady: true}
	tk := &task{arn: "arn:aws:ecs:eu-west-1:123456789012:task/c/abc", pullStartedAt: time.Unix(100, 0), pullStoppedAt: time.Unix(101, 0)}
	def := &acs.Task{Cpu: 0.5, Memory: 512, Group: "service:web", RoleCredentials: &acs.IAMRoleCredentials{CredentialsId: "cred-1"}}
	c := &container{def: &acs.Container{Name: "app", ContainerArn: "arn:c", Environment: map[string]string{
		"AWS_REGION": "us-west-2", "ECS_CONTAINER_METADATA_URI_V4": "mine", "APP": "1"}}}
	labels := map[string]string{}
	env := a.taskEnvironment(tk, def, c, "bridge", labels)
	for k, want := range map[string]string{
		"APP": "1", "AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "eu-west-1", "AWS_ENDPOINT_URL": "http://172.17.0.1:4600",
		"AWS_EXECUTION_ENV": "AWS_ECS_EC2", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/cred-1",
		"ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/" + labels[labelMetadataID],
	} {
		if env[k] != want {
			t.Errorf("%s = %q, want %q", k, env[k], want)
		}
	}
	if len(labels[labelMetadataID]) != 43 || labels[labelCredentialsID] != "cred-1" || labels[labelTaskCPU] != "0.5" ||
		labels[labelTaskMemory] != "512" || labels[labelService] != "web" || labels[labelZone] != "eu-west-1a" || labels[labelContainerArn] != "arn:c" {
		t.Errorf("labels = %v", labels)
	}
	def.RoleCredentials = nil
	env = a.taskEnvironment(tk, def, c, "bridge", map[string]string{})
	if _, ok := env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]; ok {
		t.Errorf("a task without a role got a credentials URI")
	}
	a.endpointReady = false
	if env = a.taskEnvironment(tk, def, c, "host", map[string]string{}); env["ECS_CONTAINER_METADATA_URI_V4"] != "mine" || env["AWS_ENDPOINT_URL"] != "http://127.0.0.1:4600" {
		t.Errorf("without the task endpoint: %v", env)
	}
}

func TestMetadataShapes(t *testing.T) {
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	labels := map[string]string{labelTaskArn: "arn:task", labelCluster: "default", labelContainerName: "web", labelFamily: "fam",
		labelVersion: "3", labelCredentialsID: "secret", labelTaskCPU: "0.25", labelTaskMemory: "512", labelZone: "us-east-1a",
		labelPullStarted: started.Format(time.RFC3339Nano), labelPullStopped: started.Format(time.RFC3339Nano), "team": "a"}
	running := dockerrt.State{ID: "d1", Name: "ecs-fam-3-web-x", Image: "img", ImageID: "sha256:1", Labels: labels, Running: true,
		StartedAt: started, NetworkMode: "default", IPv4: []string{"172.17.0.9"}, MemoryMiB: 128, CPUShares: 256, Health: "healthy",
		Ports: []dockerrt.PortMapping{{ContainerPort: 8080, HostPort: 32768, Protocol: "tcp", HostIP: "0.0.0.0"}}}
	exited := running
	exited.ID, exited.Running, exited.FinishedAt, exited.ExitCode, exited.Health = "d2", false, started.Add(time.Minute), 3, ""

	m := containerMetadata(running, nil)
	b, _ := json.Marshal(m)
	var got map[string]any
	json.Unmarshal(b, &got)
	for k, want := range map[string]any{"DockerId": "d1", "Name": "web", "DockerName": "ecs-fam-3-web-x", "KnownStatus": "RUNNING",
		"DesiredStatus": "RUNNING", "Type": "NORMAL", "ImageID": "sha256:1"} {
		if got[k] != want {
			t.Errorf("container %s = %v, want %v", k, got[k], want)
		}
	}
	if _, leaked := m.Labels[labelCredentialsID]; leaked || m.Labels["team"] != "a" {
		t.Errorf("labels = %v", m.Labels)
	}
	if m.Limits.CPU != 256 || m.Limits.Memory != 128 || m.Networks[0].NetworkMode != "bridge" || m.Health.Status != "HEALTHY" || m.Ports[0].HostPort != 32768 {
		t.Errorf("container metadata = %+v", m)
	}
	if s := containerMetadata(exited, nil); s.KnownStatus != "STOPPED" || s.ExitCode == nil || *s.ExitCode != 3 || s.FinishedAt == nil {
		t.Errorf("exited container = %+v", s)
	}

	task := taskMetadata(running, []dockerrt.State{running, exited}, nil)
	if task.TaskARN != "arn:task" || task.Revision != "3" || task.KnownStatus != "RUNNING" || task.Limits.CPU != 0.25 ||
		task.Limits.Memory != 512 || len(task.Containers) != 2 || task.PullStartedAt == nil || task.AvailabilityZone != "us-east-1a" {
		t.Errorf("task metadata = %+v", task)
	}
	if all := taskMetadata(exited, []dockerrt.State{exited}, nil); all.KnownStatus != "STOPPED" || all.LaunchType != "EC2" {
		t.Errorf("task of exited containers = %+v", all)
	}

	// An awsvpc Fargate task's containers share its interface.
	def := &acs.Task{LaunchType: "FARGATE", NetworkMode: "awsvpc", EphemeralStorageGiB: 21, ElasticNetworkInterfaces: []acs.ElasticNetworkInterface{{
		Ec2Id: "eni-1", MacAddress: "0a:58:ac:1f:00:0a", SubnetGatewayIpv4Address: "172.31.16.1/20", PrivateDNSName: "ip-172-31-16-10.ec2.internal",
		IPV4Addresses: []acs.ENIIPV4Address{{Primary: true, PrivateAddress: "172.31.16.10"}}}}}
	joined := running
	joined.NetworkMode, joined.IPv4 = "container:0123abcd", nil
	n := containerMetadata(joined, def).Networks
	want := MetadataNetwork{NetworkMode: "awsvpc", IPv4Addresses: []string{"172.31.16.10"}, AttachmentIndex: new(int), MACAddress: "0a:58:ac:1f:00:0a",
		IPv4SubnetCIDRBlock: "172.31.16.0/20", PrivateDNSName: "ip-172-31-16-10.ec2.internal", SubnetGatewayIpv4Address: "172.31.16.1/20"}
	if len(n) != 1 || !reflect.DeepEqual(n[0], want) {
		t.Errorf("awsvpc networks = %+v, want %+v", n, want)
	}
	if fg := taskMetadata(joined, []dockerrt.State{joined}, def); fg.LaunchType != "FARGATE" {
		t.Errorf("a Fargate task's launch type %q", fg.LaunchType)
	}
	if d := clockDrift(); d == nil || d.ClockErrorBound < 0 || (d.ClockSynchronizationStatus != "SYNCHRONIZED" && d.ClockSynchronizationStatus != "NOT_SYNCHRONIZED") {
		t.Errorf("clock drift %+v", d)
	}
}

// TestInstanceRoleRefresh: the instance role's credentials are fetched
// again before they expire, signed with the launch credentials.
func TestInstanceRoleRefresh(t *testing.T) {
	var calls atomic.Int32
	expiry := time.Now().Add(20 * time.Minute) // inside the 15 min window after 5 min
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if r.URL.Path != "/berth/instance-credentials" || r.URL.Query().Get("instanceProfile") != "prof" ||
			r.URL.Query().Get("instanceId") != "i-0abc" || r.Header.Get("Authorization") == "" {
			http.Error(w, `{"__type":"ValidationException","message":"bad request"}`, http.StatusBadRequest)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"Code": "Success", "AccessKeyId": "ASIA" + string(rune('0'+n)),
			"SecretAccessKey": "s", "Token": "t", "Expiration": expiry})
	}))
	defer srv.Close()
	launch := credentials.NewStaticCredentialsProvider("AKIALAUNCH", "secret", "")
	p := roleCredentials(&instanceRole{endpoint: srv.URL, region: "us-east-1", profile: "prof", launch: launch,
		instanceID: func() string { return "i-0abc" }, client: srv.Client()})
	ctx := context.Background()
	first, err := p.Retrieve(ctx)
	if err != nil || first.AccessKeyID != "ASIA1" || !first.CanExpire {
		t.Fatalf("first Retrieve = %+v, %v", first, err)
	}
	// Credentials 20 minutes from expiry may be renewed at once or kept,
	// depending on the jitter; ones 5 minutes from expiry must be renewed.
	expiry = time.Now().Add(5 * time.Minute)
	p.(*aws.CredentialsCache).Invalidate()
	p.Retrieve(ctx)
	before := calls.Load()
	if again, err := p.Retrieve(ctx); err != nil || calls.Load() != before+1 || again.AccessKeyID == "" {
		t.Fatalf("credentials 5 minutes from expiry were not renewed: calls %d → %d, %v", before, calls.Load(), err)
	}

	denied := roleCredentials(&instanceRole{endpoint: srv.URL, region: "us-east-1", profile: "other", launch: launch,
		instanceID: func() string { return "i-0abc" }, client: srv.Client()})
	if _, err := denied.Retrieve(ctx); err == nil {
		t.Fatal("a refused request gave credentials")
	}
}
