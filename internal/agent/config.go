// Package agent is Berth's node agent: it registers a container instance,
// receives task assignments over the ACS websocket and runs them with Docker.
package agent

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// EC2Instance is what an instance's agent knows of its EC2 instance, as
// the ECS agent reads it from the instance metadata.
type EC2Instance struct {
	// ID is the instance id (i-...); the agent registers with it.
	ID string
	// PrivateIP is the instance's address: published host ports bind
	// to it, and networkBindings report it.
	PrivateIP string
	// ImageID, SubnetID and VpcID are reported as ecs.ami-id,
	// ecs.subnet-id and ecs.vpc-id.
	ImageID, SubnetID, VpcID string
	// CgroupParent is the instance's parent control group, which holds
	// its containers to its instance type's size.
	CgroupParent string
	// IdentityDocument and IdentitySignature are the instance's signed
	// identity document, as its metadata service gives them; the agent
	// registers with them.
	IdentityDocument, IdentitySignature string
}

// Config is the agent's configuration.
type Config struct {
	// Endpoint is the Berth server URL (ECS_BACKEND_HOST).
	Endpoint string
	// Cluster to join (ECS_CLUSTER), default "default".
	Cluster string
	// Region signs requests (AWS_DEFAULT_REGION).
	Region string
	// AccessKeyID, SecretAccessKey and SessionToken are the credentials
	// the agent acts with.
	AccessKeyID, SecretAccessKey, SessionToken string
	// InstanceProfile, when set, makes the agent act as the role of this
	// IAM instance profile; the credentials above then only obtain the
	// role's credentials (they need iam:PassRole on the role).
	InstanceProfile string
	// DataDir keeps the registration across restarts (ECS_DATADIR).
	DataDir string
	// InstanceType, when set, fixes the registered CPU and memory; otherwise
	// the host's are used.
	InstanceType string
	// AvailabilityZone is reported as ecs.availability-zone.
	AvailabilityZone string
	// EC2 describes the EC2 instance the agent runs for, when it was
	// launched with RunInstances: its id, address and network.
	EC2 EC2Instance
	// Attributes are custom attributes (ECS_INSTANCE_ATTRIBUTES).
	Attributes map[string]string
	// ReservedMemory MiB is held back from tasks (ECS_RESERVED_MEMORY).
	ReservedMemory int
	// ReservedPorts are never given to tasks (ECS_RESERVED_PORTS).
	ReservedPorts []int
	// StopTimeout is the default SIGTERM→SIGKILL grace (ECS_CONTAINER_STOP_TIMEOUT).
	StopTimeout time.Duration
	// CleanupWait is how long stopped containers are kept (ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION).
	CleanupWait time.Duration
	// TaskENI gives each awsvpc task the network interface of its payload
	// in a network namespace of its own (ECS_ENABLE_TASK_ENI); it needs
	// root. Without it awsvpc tasks run in bridge mode.
	TaskENI bool
	// PausePool is how many started pause containers a TaskENI instance
	// keeps for the next awsvpc tasks (BERTH_PAUSE_POOL; 2 when unset,
	// 0 keeps none).
	PausePool int
	// Host is what tasks may take from the host (ECS_DISABLE_PRIVILEGED,
	// BERTH_PROTECTED_HOST_PATHS, BERTH_DISABLE_HOST_NAMESPACES,
	// BERTH_DISABLE_CAPABILITY_ADD).
	Host HostPolicy
}

// LoadConfigFile reads an ecs.config-style file of KEY=VALUE lines into the
// environment lookup, without overriding variables already set. A missing
// file is not an error.
func LoadConfigFile(path string) (map[string]string, error) {
	vals := map[string]string{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return vals, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s: line %q is not KEY=VALUE", path, line)
		}
		vals[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return vals, sc.Err()
}

// ApplyECSEnv fills unset fields from ECS_* settings, looked up first in the
// environment and then in the config file values, as the ECS agent does.
func (c *Config) ApplyECSEnv(file map[string]string) error {
	get := func(k string) string {
		if v, ok := os.LookupEnv(k); ok {
			return v
		}
		return file[k]
	}
	setIfEmpty := func(dst *string, keys ...string) {
		for _, k := range keys {
			if *dst == "" {
				*dst = get(k)
			}
		}
	}
	setIfEmpty(&c.Endpoint, "ECS_BACKEND_HOST", "AWS_ENDPOINT_URL_ECS", "AWS_ENDPOINT_URL")
	setIfEmpty(&c.Cluster, "ECS_CLUSTER")
	setIfEmpty(&c.Region, "AWS_DEFAULT_REGION", "AWS_REGION")
	setIfEmpty(&c.AccessKeyID, "AWS_ACCESS_KEY_ID")
	setIfEmpty(&c.SecretAccessKey, "AWS_SECRET_ACCESS_KEY")
	setIfEmpty(&c.SessionToken, "AWS_SESSION_TOKEN")
	setIfEmpty(&c.InstanceProfile, "ECS_INSTANCE_PROFILE")
	setIfEmpty(&c.DataDir, "ECS_DATADIR")
	if c.Cluster == "" {
		c.Cluster = "default"
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if v := get("ECS_INSTANCE_ATTRIBUTES"); v != "" {
		attrs := map[string]string{}
		if err := json.Unmarshal([]byte(v), &attrs); err != nil {
			return fmt.Errorf("ECS_INSTANCE_ATTRIBUTES must be a JSON object of strings: %w", err)
		}
		if c.Attributes == nil {
			c.Attributes = map[string]string{}
		}
		for k, v := range attrs {
			if _, set := c.Attributes[k]; !set {
				c.Attributes[k] = v
			}
		}
	}
	if v := get("ECS_RESERVED_MEMORY"); v != "" && c.ReservedMemory == 0 {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("ECS_RESERVED_MEMORY: %w", err)
		}
		c.ReservedMemory = n
	}
	for key, dst := range map[string]*bool{"ECS_DISABLE_PRIVILEGED": &c.Host.DisablePrivileged, "ECS_ENABLE_TASK_ENI": &c.TaskENI,
		"BERTH_DISABLE_HOST_NAMESPACES": &c.Host.DisableHostNamespaces, "BERTH_DISABLE_CAPABILITY_ADD": &c.Host.DisableCapAdd} {
		if v := get(key); v != "" && !*dst {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%s must be true or false: %w", key, err)
			}
			*dst = b
		}
	}
	if c.TaskENI && c.PausePool == 0 {
		c.PausePool = defaultPausePool
		if v := get("BERTH_PAUSE_POOL"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > maxPausePool {
				return fmt.Errorf("BERTH_PAUSE_POOL must be a number from 0 to %d", maxPausePool)
			}
			c.PausePool = n
		}
	}
	if v := get("BERTH_PROTECTED_HOST_PATHS"); v != "" && c.Host.ProtectedPaths == nil {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				if !filepath.IsAbs(p) {
					return fmt.Errorf("BERTH_PROTECTED_HOST_PATHS: %q is not an absolute path", p)
				}
				c.Host.ProtectedPaths = append(c.Host.ProtectedPaths, p)
			}
		}
	}
	if v := get("ECS_RESERVED_PORTS"); v != "" && c.ReservedPorts == nil {
		if err := json.Unmarshal([]byte(v), &c.ReservedPorts); err != nil {
			return fmt.Errorf("ECS_RESERVED_PORTS must be a JSON list of ports: %w", err)
		}
	}
	for key, dst := range map[string]*time.Duration{"ECS_CONTAINER_STOP_TIMEOUT": &c.StopTimeout, "ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION": &c.CleanupWait} {
		if v := get(key); v != "" && *dst == 0 {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			*dst = d
		}
	}
	if c.StopTimeout == 0 {
		c.StopTimeout = 30 * time.Second
	}
	if c.CleanupWait == 0 {
		c.CleanupWait = 3 * time.Hour
	}
	if c.Endpoint == "" {
		return fmt.Errorf("no endpoint: pass --endpoint or set ECS_BACKEND_HOST")
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return fmt.Errorf("no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	return nil
}
