package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/berth-dev/berth/internal/acs"
)

// taskEnvironment returns a container's environment: the task
// definition's, plus what the ECS agent gives every container, and adds
// the labels the task endpoint finds the container by.
//
//   - ECS_CONTAINER_METADATA_URI_V4, the container's task metadata URL;
//   - AWS_CONTAINER_CREDENTIALS_RELATIVE_URI when the task has a role,
//     which the AWS SDKs' default credential chains resolve against
//     169.254.170.2;
//   - AWS_EXECUTION_ENV, and AWS_REGION / AWS_DEFAULT_REGION and
//     AWS_ENDPOINT_URL (Berth as reachable from the container) unless the
//     definition sets them, so that SDKs in tasks talk to Berth.
func (a *Agent) taskEnvironment(t *task, def *acs.Task, c *container, mode string, labels map[string]string) map[string]string {
	env := maps.Clone(c.def.Environment)
	if env == nil {
		env = map[string]string{}
	}
	setDefault := func(k, v string) {
		if _, set := env[k]; !set && v != "" {
			env[k] = v
		}
	}
	setDefault("AWS_REGION", a.cfg.Region)
	setDefault("AWS_DEFAULT_REGION", a.cfg.Region)
	if mode != "none" {
		setDefault("AWS_ENDPOINT_URL", a.containerEndpoint(mode))
	}
	env["AWS_EXECUTION_ENV"] = "AWS_ECS_EC2"
	if !a.endpointReady {
		return env
	}
	metadataID := newEndpointID()
	labels[labelAgentSocket] = a.socketPath
	labels[labelMetadataID] = metadataID
	env["ECS_CONTAINER_METADATA_URI_V4"] = "http://" + EndpointIP + "/v4/" + metadataID
	if rc := def.RoleCredentials; rc != nil && rc.CredentialsId != "" {
		labels[labelCredentialsID] = rc.CredentialsId
		env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/v2/credentials/" + rc.CredentialsId
	}
	labels[labelContainerArn] = c.def.ContainerArn
	if def.Cpu > 0 {
		labels[labelTaskCPU] = strconv.FormatFloat(def.Cpu, 'f', -1, 64)
	}
	if def.Memory > 0 {
		labels[labelTaskMemory] = strconv.Itoa(def.Memory)
	}
	if !t.pullStartedAt.IsZero() {
		labels[labelPullStarted] = t.pullStartedAt.UTC().Format(time.RFC3339Nano)
		labels[labelPullStopped] = t.pullStoppedAt.UTC().Format(time.RFC3339Nano)
	}
	labels[labelZone] = a.cfg.AvailabilityZone
	if svc, ok := strings.CutPrefix(def.Group, "service:"); ok {
		labels[labelService] = svc
	}
	return env
}

// containerEndpoint is the server's URL as a container in network mode
// reaches it: a loopback endpoint becomes the Docker bridge's gateway for
// bridge-mode containers (the server listens there too).
func (a *Agent) containerEndpoint(mode string) string {
	u, err := url.Parse(a.cfg.Endpoint)
	if err != nil {
		return a.cfg.Endpoint
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	if mode == "bridge" && a.bridge.Gateway != "" && (host == "localhost" || ip != nil && ip.IsLoopback()) {
		u.Host = net.JoinHostPort(a.bridge.Gateway, u.Port())
	}
	return u.String()
}

// newEndpointID returns an unguessable id for a task endpoint URL.
func newEndpointID() string { return randomHex(32) + "-" + randomHex(10) }

// executionRole returns the credentials of the task's execution role, for
// pulling its images; nil when it has none.
func (a *Agent) executionRole(ctx context.Context, taskArn string, def *acs.Task) (aws.CredentialsProvider, error) {
	rc := def.ExecutionRoleCredentials
	if rc == nil || rc.CredentialsId == "" {
		return nil, nil
	}
	body, status, err := a.fetchTaskCredentials(ctx, taskArn, rc.CredentialsId)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("HTTP %d: %s", status, strings.TrimSpace(string(body)))
	}
	if err != nil {
		return nil, fmt.Errorf("cannot get credentials of execution role %s: %w", rc.RoleArn, err)
	}
	var c struct{ AccessKeyId, SecretAccessKey, Token string }
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, fmt.Errorf("credentials of execution role %s: %w", rc.RoleArn, err)
	}
	return credentials.NewStaticCredentialsProvider(c.AccessKeyId, c.SecretAccessKey, c.Token), nil
}
