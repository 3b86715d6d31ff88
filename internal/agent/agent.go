package agent

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth-dev/berth/internal/agent/dockerrt"
	"github.com/berth-dev/berth/internal/instancetype"
)

// Version is the agent version reported at registration.
var Version = "1.0.0-berth"

// Labels the agent puts on every container besides the standard ECS ones;
// they let a restarted agent adopt its containers without local state.
const (
	labelTaskArn       = "com.amazonaws.ecs.task-arn"
	labelCluster       = "com.amazonaws.ecs.cluster"
	labelContainerName = "com.amazonaws.ecs.container-name"
	labelFamily        = "com.amazonaws.ecs.task-definition-family"
	labelVersion       = "com.amazonaws.ecs.task-definition-version"
	labelInstance      = "berth.container-instance-arn"
	// LabelEC2Instance names the EC2 instance a container ran on, so its
	// host can remove the instance's containers when it stops.
	LabelEC2Instance    = "berth.ec2-instance-id"
	labelEssential      = "berth.essential"
	labelStopTimeout    = "berth.stop-timeout"
	defaultPollInterval = 15 * time.Second
)

// Agent is a running node agent.
type Agent struct {
	cfg   Config
	log   *slog.Logger
	rt    Runtime
	hooks []TaskHook // set up and tear down what a task's containers share
	// pauses are the spare pause containers of a TaskENI instance.
	pauses *pausePool
	// attachments are interface attachment reports waiting to be sent.
	attachments chan attachmentReport
	ecs         *ecs.Client
	creds       aws.CredentialsProvider
	// registry supplies ECR credentials for images of the cluster's registry.
	registry *registryAuth

	instanceArn string
	ec2ID       string
	// bridge is Docker's default bridge; endpointReady is set once the
	// task endpoint's network rules are in place (task roles and metadata
	// work), and endpointClient calls the server for it.
	bridge         dockerrt.Bridge
	endpointReady  bool
	endpointClient *http.Client
	// socketPath is the unix socket on which the host endpoint reaches
	// this agent for its containers.
	socketPath string
	// state is the identity kept in the data dir; its instance id names
	// the instance role's session.
	state persisted

	mu    sync.Mutex
	tasks map[string]*task
	// shipping holds the ids of the containers whose output is being
	// delivered to CloudWatch Logs.
	shipping map[string]bool
	// shippers are the running log shippers, which Run waits for: a
	// batch in flight when the agent stops is finished and recorded, so
	// the next agent does not ship it again.
	shippers sync.WaitGroup
	kick     chan struct{} // wakes the reporter
	// healthKick wakes the health publisher when a container's Docker
	// health changes.
	healthKick chan struct{}
}

// persisted is what the agent keeps in its data dir.
type persisted struct {
	ContainerInstanceArn string `json:"containerInstanceArn"`
	Ec2InstanceID        string `json:"ec2InstanceId"`
	Cluster              string `json:"cluster"`
}

// New prepares an agent; Run starts it.
func New(cfg Config, log *slog.Logger) *Agent {
	a := &Agent{cfg: cfg, log: log, tasks: map[string]*task{}, kick: make(chan struct{}, 1), healthKick: make(chan struct{}, 1),
		attachments: make(chan attachmentReport, 1024)}
	var creds aws.CredentialsProvider = credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)
	if cfg.InstanceProfile != "" {
		creds = roleCredentials(&instanceRole{endpoint: cfg.Endpoint, region: cfg.Region, profile: cfg.InstanceProfile,
			launch: creds, instanceID: func() string { return a.state.Ec2InstanceID }, client: &http.Client{Timeout: 30 * time.Second}})
	}
	a.creds = creds
	a.endpointClient = &http.Client{Timeout: 30 * time.Second}
	a.ecs = ecs.New(ecs.Options{Region: cfg.Region, Credentials: creds, BaseEndpoint: aws.String(cfg.Endpoint), RetryMaxAttempts: 3})
	a.registry = newRegistryAuth(cfg, creds)
	return a
}

// Run registers the instance and serves until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	rt, err := dockerrt.New(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()
	a.useRuntime(rt)
	info, err := a.rt.Info(ctx)
	if err != nil {
		return err
	}
	a.prepareEndpoint(ctx)
	a.state = a.loadState()
	if a.state.Cluster != "" && a.state.Cluster != a.cfg.Cluster {
		a.state = persisted{} // joined another cluster before: start afresh
	}
	if id := a.cfg.EC2.ID; id != "" && a.state.Ec2InstanceID != id {
		a.state = persisted{Ec2InstanceID: id} // an EC2 instance's id is its own
	}
	if a.state.Ec2InstanceID == "" {
		a.state.Ec2InstanceID = "i-" + randomHex(17)
	}
	if err := a.register(ctx, info); err != nil {
		return err
	}
	a.log = a.log.With("containerInstance", a.instanceArn)
	if err := a.adopt(ctx); err != nil {
		return fmt.Errorf("adopt running containers: %w", err)
	}
	if a.pauses != nil {
		a.pauses.log = a.log
		go a.pauses.run(ctx)
	}
	go a.sendAttachmentReports(ctx)
	go a.watchDocker(ctx)
	go a.reportLoop(ctx)
	go a.tcsLoop(ctx)
	err = a.acsLoop(ctx)
	a.shippers.Wait()
	return err
}

func (a *Agent) statePath() string { return filepath.Join(a.cfg.DataDir, "agent-state.json") }

func (a *Agent) loadState() persisted {
	var p persisted
	if b, err := os.ReadFile(a.statePath()); err == nil {
		json.Unmarshal(b, &p)
	}
	return p
}

func (a *Agent) saveState(p persisted) error {
	if err := os.MkdirAll(a.cfg.DataDir, 0o700); err != nil {
		return err
	}
	b, _ := json.Marshal(p)
	tmp := a.statePath() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, a.statePath())
}

// register calls RegisterContainerInstance, re-using the saved ARN so a
// restarted agent keeps its identity, and retries while the server is away.
func (a *Agent) register(ctx context.Context, info dockerrt.Info) error {
	st := a.state
	cpu, mem := info.NCPU*1024, int(info.MemTotal>>20)
	instanceType := a.cfg.InstanceType
	if it, ok := instancetype.Lookup(instanceType); ok {
		cpu, mem = it.VCPU*1024, it.MemoryMiB
	}
	mem -= a.cfg.ReservedMemory
	doc, _ := json.Marshal(map[string]string{
		"instanceId": st.Ec2InstanceID, "instanceType": instanceType, "availabilityZone": a.cfg.AvailabilityZone,
		"region": a.cfg.Region, "imageId": cmp.Or(a.cfg.EC2.ImageID, "ami-berth0000000000"), "privateIp": a.cfg.EC2.PrivateIP,
	})
	if a.cfg.EC2.IdentityDocument != "" {
		doc = []byte(a.cfg.EC2.IdentityDocument)
	}
	ports := []string{"22", "2375", "2376", "51678", "51679"}
	for _, p := range a.cfg.ReservedPorts {
		ports = append(ports, strconv.Itoa(p))
	}
	in := &ecs.RegisterContainerInstanceInput{
		Cluster:                           aws.String(a.cfg.Cluster),
		InstanceIdentityDocument:          aws.String(string(doc)),
		InstanceIdentityDocumentSignature: signature(a.cfg.EC2.IdentitySignature),
		TotalResources: []ecstypes.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: int32(cpu)},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: int32(mem)},
			{Name: aws.String("PORTS"), Type: aws.String("STRINGSET"), StringSetValue: ports},
			{Name: aws.String("PORTS_UDP"), Type: aws.String("STRINGSET"), StringSetValue: []string{}},
		},
		VersionInfo: &ecstypes.VersionInfo{AgentVersion: aws.String(Version), AgentHash: aws.String("berth"), DockerVersion: aws.String("DockerVersion: " + info.ServerVersion)},
		Attributes:  a.attributes(info),
	}
	if st.ContainerInstanceArn != "" {
		in.ContainerInstanceArn = aws.String(st.ContainerInstanceArn)
	}
	backoff := time.Second
	for {
		out, err := a.ecs.RegisterContainerInstance(ctx, in)
		if err == nil {
			a.instanceArn = aws.ToString(out.ContainerInstance.ContainerInstanceArn)
			a.ec2ID = aws.ToString(out.ContainerInstance.Ec2InstanceId)
			a.log.Info("registered container instance", "cluster", a.cfg.Cluster, "containerInstance", a.instanceArn,
				"ec2InstanceId", a.ec2ID, "cpu", cpu, "memory", mem)
			return a.saveState(persisted{ContainerInstanceArn: a.instanceArn, Ec2InstanceID: st.Ec2InstanceID, Cluster: a.cfg.Cluster})
		}
		var cle *ecstypes.ClientException
		var ipe *ecstypes.InvalidParameterException
		if (errors.As(err, &cle) || errors.As(err, &ipe)) && in.ContainerInstanceArn != nil {
			// The old registration is gone (deregistered): register anew.
			a.log.Warn("previous registration rejected; registering as a new instance", "err", err)
			in.ContainerInstanceArn = nil
			continue
		}
		var cnf *ecstypes.ClusterNotFoundException
		if errors.As(err, &cnf) {
			return fmt.Errorf("cluster %q does not exist: create it with 'aws ecs create-cluster --cluster-name %s'", a.cfg.Cluster, a.cfg.Cluster)
		}
		if denied(err) {
			return fmt.Errorf("this instance may not join cluster %q: %w\n(the agent acts as %s; attach AmazonEC2ContainerServiceforEC2Role to it)", a.cfg.Cluster, err, a.actingAs())
		}
		a.log.Warn("register container instance failed; retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// prepareEndpoint sets up the host's task endpoint (169.254.170.2): its
// network rules, then serving it whenever no other agent on the host does.
// Without it the instance does not offer task IAM roles.
func (a *Agent) prepareEndpoint(ctx context.Context) {
	bridge, err := a.rt.DefaultBridge(ctx)
	if err == nil {
		a.bridge = bridge
		err = setupEndpointNetwork(bridge)
	}
	if err != nil {
		a.log.Warn("the task endpoint (169.254.170.2) is not available: this instance offers no task IAM roles or task metadata", "err", err)
		return
	}
	a.socketPath = agentSocketPath(a.cfg.DataDir)
	err = os.MkdirAll(a.cfg.DataDir, 0o700)
	if err == nil {
		err = a.serveOwn(ctx)
	}
	if err != nil {
		a.log.Warn("cannot serve the task endpoint's requests for this agent: this instance offers no task IAM roles or task metadata", "socket", a.socketPath, "err", err)
		return
	}
	a.endpointReady = true
	go a.serveEndpoint(ctx)
}

// denied reports an authorization failure, which retrying cannot mend.
func denied(err error) bool { return strings.HasPrefix(errorCode(err), "AccessDenied") }

// actingAs names the principal the agent calls the APIs as.
func (a *Agent) actingAs() string {
	if a.cfg.InstanceProfile != "" {
		return "the role of instance profile " + a.cfg.InstanceProfile
	}
	return "the access key " + a.cfg.AccessKeyID
}

// attributes are the instance's standard attributes and the capabilities
// this agent really supports; placement matches them against a task
// definition's requiresAttributes.
func (a *Agent) attributes(info dockerrt.Info) []ecstypes.Attribute {
	arch := info.Architecture
	if arch == "amd64" {
		arch = "x86_64"
	}
	attrs := map[string]string{
		"ecs.os-type": "linux", "ecs.os-family": "LINUX", "ecs.cpu-architecture": arch,
		"ecs.availability-zone": a.cfg.AvailabilityZone, "ecs.instance-type": a.cfg.InstanceType,
		"ecs.ami-id": a.cfg.EC2.ImageID, "ecs.subnet-id": a.cfg.EC2.SubnetID, "ecs.vpc-id": a.cfg.EC2.VpcID,
		"ecs.capability.container-health-check": "", "ecs.capability.container-ordering": "",
		"ecs.capability.docker-plugin.local": "",
	}
	if !a.cfg.Host.DisablePrivileged {
		attrs["com.amazonaws.ecs.capability.privileged-container"] = ""
	}
	// Log drivers built into Docker are passed through as configured.
	// awslogs output is kept in Docker's json-file log and shipped to the
	// server's CloudWatch Logs by the agent (see awslogs.go), with the
	// execution role's credentials; requiresAttributes lists these names.
	for _, d := range []string{"json-file", "none", "syslog", "journald", "gelf", "fluentd", "awslogs"} {
		attrs["com.amazonaws.ecs.capability.logging-driver."+d] = ""
	}
	attrs["ecs.capability.execution-role-awslogs"] = ""
	attrs["com.amazonaws.ecs.capability.ecr-auth"] = ""
	attrs["ecs.capability.execution-role-ecr-pull"] = ""
	if a.endpointReady {
		// Task roles need the credentials endpoint on 169.254.170.2.
		attrs["com.amazonaws.ecs.capability.task-iam-role"] = ""
		attrs["com.amazonaws.ecs.capability.task-iam-role-network-host"] = ""
	}
	if a.cfg.TaskENI {
		// awsvpc tasks get their ENI in a namespace of their own.
		attrs["ecs.capability.task-eni"] = ""
	}
	for _, v := range []string{"1.17", "1.18", "1.19", "1.20", "1.21", "1.22", "1.23", "1.24", "1.25", "1.30", "1.32", "1.35", "1.39", "1.41"} {
		attrs["com.amazonaws.ecs.capability.docker-remote-api."+v] = ""
	}
	for k, v := range a.cfg.Attributes {
		attrs[k] = v
	}
	var out []ecstypes.Attribute
	for k, v := range attrs {
		at := ecstypes.Attribute{Name: aws.String(k)}
		if v != "" {
			at.Value = aws.String(v)
		} else if k == "ecs.availability-zone" || k == "ecs.instance-type" || k == "ecs.ami-id" || k == "ecs.subnet-id" || k == "ecs.vpc-id" {
			continue
		}
		out = append(out, at)
	}
	return out
}

// signature is the identity document's signature to send, if any.
func signature(sig string) *string {
	if sig == "" {
		return nil
	}
	return aws.String(sig)
}
