package agent

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/berth-dev/berth/internal/acs"
	"github.com/berth-dev/berth/internal/agent/dockerrt"
)

// defaultStartTimeout bounds how long a container waits for its dependencies.
const defaultStartTimeout = 3 * time.Minute

// startTask pulls, creates and starts a task's containers in dependency
// order, then marks it RUNNING. Any failure stops the task with the reason
// ECS reports (CannotPullContainerError, ...).
func (a *Agent) startTask(ctx context.Context, t *task) {
	a.mu.Lock()
	def := t.def
	cs := append([]*container(nil), t.containers...)
	t.pullStartedAt = time.Now()
	a.mu.Unlock()
	log := a.log.With("task", t.arn)

	if name, err := a.cfg.Host.check(def); err != nil {
		c := cs[0]
		for _, x := range cs {
			if x.def.Name == name {
				c = x
			}
		}
		a.failTask(ctx, t, c, "CannotCreateContainerError: "+err.Error())
		return
	}
	pullAs, err := a.executionRole(ctx, t.arn, def)
	if err != nil {
		a.failTask(ctx, t, cs[0], "CannotPullContainerError: "+err.Error())
		return
	}
	for _, c := range cs {
		if err := a.pull(ctx, c.def.Image, pullAs, log); err != nil {
			a.failTask(ctx, t, c, "CannotPullContainerError: "+err.Error())
			return
		}
	}
	a.mu.Lock()
	t.pullStoppedAt = time.Now()
	t.dirty = true
	a.mu.Unlock()
	a.kickReporter()

	if err := a.prerun(ctx, t, def); err != nil {
		a.failTask(ctx, t, nil, "ResourceInitializationError: "+err.Error())
		return
	}
	for _, c := range cs {
		id, err := a.createContainer(ctx, t, def, c)
		if err != nil {
			a.failTask(ctx, t, c, "CannotCreateContainerError: "+err.Error())
			return
		}
		a.mu.Lock()
		c.id = id
		a.mu.Unlock()
	}
	if err := a.startInOrder(ctx, t, cs); err != nil {
		log.Warn("task failed to start", "err", err)
		return
	}
	// Read the containers' state (host ports above all) before reporting
	// RUNNING, so a RUNNING task always shows its network bindings.
	a.checkTask(ctx, t)
	a.mu.Lock()
	running := t.status == statusPending
	if running {
		t.status = statusRunning
	}
	t.dirty = true
	a.mu.Unlock()
	a.kickReporter()
	if running {
		log.Info("task running")
	}
}

// pull makes the image present. Images named with a registry host are
// pulled every time (falling back to a cached copy if the pull fails);
// other images are used from the local cache when present.
// With as set (the task's execution role), registry credentials are
// that role's.
func (a *Agent) pull(ctx context.Context, image string, as aws.CredentialsProvider, log interface{ Info(string, ...any) }) error {
	progress := func(line string) { log.Info("pull "+image, "progress", line) }
	always := hasRegistryHost(image)
	auth := ""
	switch {
	case always && as != nil:
		var err error
		if auth, err = a.registry.forImageAs(ctx, image, as); err != nil {
			return fmt.Errorf("registry credentials of the task's execution role: %w", err)
		}
	case always:
		auth = a.registry.forImage(ctx, image)
	}
	err := a.rt.EnsureImage(ctx, image, auth, always, progress)
	if err != nil && always {
		if cached := a.rt.EnsureImage(ctx, image, "", false, nil); cached == nil {
			log.Info("pull failed; using the cached image", "image", image, "err", err)
			return nil
		}
	}
	return err
}

func hasRegistryHost(image string) bool {
	first, _, found := strings.Cut(image, "/")
	return found && (strings.ContainsAny(first, ".:") || first == "localhost")
}

// startInOrder starts containers once their dependsOn conditions hold.
func (a *Agent) startInOrder(ctx context.Context, t *task, cs []*container) error {
	started := map[string]bool{}
	deadline := time.Now().Add(defaultStartTimeout)
	for len(started) < len(cs) {
		progress := false
		for _, c := range cs {
			if started[c.name] {
				continue
			}
			ok, err := a.dependenciesMet(ctx, t, c)
			if err != nil {
				a.failTask(ctx, t, c, err.Error())
				return err
			}
			if !ok {
				continue
			}
			a.mu.Lock()
			stopping := t.desired == statusStopped
			a.mu.Unlock()
			if stopping {
				return fmt.Errorf("stop requested while starting")
			}
			if err := a.rt.Start(ctx, c.id); err != nil {
				a.failTask(ctx, t, c, "CannotStartContainerError: "+err.Error())
				return err
			}
			a.mu.Lock()
			c.status = statusRunning
			a.mu.Unlock()
			if opts, ok := awslogsOf(c.def); ok {
				a.shipLogs(ctx, t.arn, c.name, c.id, opts)
			}
			started[c.name] = true
			progress = true
		}
		if !progress {
			if time.Now().After(deadline) {
				err := fmt.Errorf("timed out waiting for container dependencies")
				a.failTask(ctx, t, nil, "DependencyTimeout: "+err.Error())
				return err
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
	return nil
}

// dependenciesMet evaluates a container's dependsOn against live states.
func (a *Agent) dependenciesMet(ctx context.Context, t *task, c *container) (bool, error) {
	for _, d := range c.def.DependsOn {
		a.mu.Lock()
		dep := t.container(d.ContainerName)
		a.mu.Unlock()
		if dep == nil || dep.id == "" {
			return false, nil
		}
		st, err := a.rt.Inspect(ctx, dep.id)
		if err != nil {
			return false, nil
		}
		exited := !st.Running && !st.FinishedAt.IsZero()
		switch d.Condition {
		case "START":
			if !st.Running && !exited {
				return false, nil
			}
		case "COMPLETE":
			if !exited {
				return false, nil
			}
		case "SUCCESS":
			if !exited {
				return false, nil
			}
			if st.ExitCode != 0 {
				return false, fmt.Errorf("DependencyFailed: container %s exited with %d; %s needs SUCCESS", dep.name, st.ExitCode, c.name)
			}
		case "HEALTHY":
			if st.Health == "unhealthy" {
				return false, fmt.Errorf("DependencyFailed: container %s is unhealthy; %s needs HEALTHY", dep.name, c.name)
			}
			if st.Health != "healthy" {
				return false, nil
			}
		}
	}
	return true, nil
}

// checkTask refreshes container states from Docker; an essential container
// that exited stops the whole task.
func (a *Agent) checkTask(ctx context.Context, t *task) {
	a.mu.Lock()
	cs := append([]*container(nil), t.containers...)
	a.mu.Unlock()
	essentialExited := false
	var restart []*container
	for _, c := range cs {
		if c.id == "" {
			continue
		}
		st, err := a.rt.Inspect(ctx, c.id)
		a.mu.Lock()
		switch {
		case dockerrt.IsNotFound(err):
			if c.status != statusStopped {
				c.status, c.reason = statusStopped, "Container was removed outside of ECS"
				t.dirty = true
			}
		case err != nil:
		case st.Running:
			if c.health != st.Health {
				a.kickHealth()
			}
			if c.status != statusRunning || !samePorts(c.bindings, st.Ports) || c.health != st.Health {
				c.status, c.bindings, c.health = statusRunning, st.Ports, st.Health
				t.dirty = true
			}
		case !st.FinishedAt.IsZero():
			if c.status != statusStopped && t.desired != statusStopped && shouldRestart(c.def.RestartPolicy, st.ExitCode, st.StartedAt, time.Now()) {
				restart = append(restart, c)
				break
			}
			if c.status != statusStopped {
				code := st.ExitCode
				c.status, c.exitCode = statusStopped, &code
				if st.OOMKilled {
					c.reason = "OutOfMemoryError: Container killed due to memory usage"
				}
				t.dirty = true
			}
		}
		if c.essential && c.status == statusStopped {
			essentialExited = true
		}
		a.mu.Unlock()
	}
	for _, c := range restart {
		a.restartContainer(ctx, t, c)
	}
	a.kickReporter()
	if essentialExited {
		a.stopTask(ctx, t, "Essential container in task exited")
	}
}

func samePorts(a, b []dockerrt.PortMapping) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// failTask records why a task could not start and stops what was created.
func (a *Agent) failTask(ctx context.Context, t *task, c *container, reason string) {
	a.mu.Lock()
	if c != nil {
		c.reason = reason
	}
	if t.reason == "" {
		t.reason = reason
	}
	a.mu.Unlock()
	a.log.Warn("task failed", "task", t.arn, "reason", reason)
	a.stopTask(ctx, t, reason)
}

// stopTask stops every container (SIGTERM, then SIGKILL after its stop
// timeout) in parallel and marks the task STOPPED.
func (a *Agent) stopTask(ctx context.Context, t *task, reason string) {
	a.mu.Lock()
	if t.status == statusStopped {
		a.mu.Unlock()
		return
	}
	cs := append([]*container(nil), t.containers...)
	a.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range cs {
		if c.id == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.rt.Stop(ctx, c.id, c.stopTimeout); err != nil && !dockerrt.IsNotFound(err) {
				a.log.Warn("stop container", "container", c.dockerName, "err", err)
			}
			st, err := a.rt.Inspect(ctx, c.id)
			a.mu.Lock()
			defer a.mu.Unlock()
			if err == nil && !st.FinishedAt.IsZero() && c.exitCode == nil {
				code := st.ExitCode
				c.exitCode = &code
			}
		}()
	}
	wg.Wait()
	a.stopped(ctx, t)
	a.mu.Lock()
	for _, c := range cs {
		c.status = statusStopped
	}
	if t.reason == "" {
		t.reason = reason
	}
	t.status, t.stoppedAt, t.dirty = statusStopped, time.Now(), true
	a.mu.Unlock()
	a.kickReporter()
	a.log.Info("task stopped", "task", t.arn, "reason", t.reason)
}

// createContainer creates a container, or finds the one a previous run of
// the agent created under the same deterministic name.
func (a *Agent) createContainer(ctx context.Context, t *task, def *acs.Task, c *container) (string, error) {
	if c.id != "" {
		return c.id, nil
	}
	spec, err := a.containerSpec(t, def, c)
	if err != nil {
		return "", err
	}
	id, err := a.rt.Create(ctx, spec)
	if dockerrt.IsConflict(err) {
		st, ierr := a.rt.Inspect(ctx, spec.Name)
		if ierr != nil {
			return "", err
		}
		return st.ID, nil
	}
	return id, err
}

// dockerConfig mirrors the Docker API JSON in a payload's dockerConfig.
type dockerConfig struct {
	Labels      map[string]string `json:"Labels"`
	User        string            `json:"User"`
	WorkingDir  string            `json:"WorkingDir"`
	Hostname    string            `json:"Hostname"`
	Healthcheck *struct {
		Test                           []string
		Interval, Timeout, StartPeriod time.Duration
		Retries                        int
	} `json:"Healthcheck"`
}

type dockerHostConfig struct {
	MemoryReservation int64 `json:"MemoryReservation"`
	Ulimits           []struct {
		Name       string
		Soft, Hard int64
	} `json:"Ulimits"`
	ReadonlyRootfs bool     `json:"ReadonlyRootfs"`
	Privileged     bool     `json:"Privileged"`
	DNS            []string `json:"Dns"`
	ExtraHosts     []string `json:"ExtraHosts"`
	LogConfig      *struct {
		Type   string
		Config map[string]string
	} `json:"LogConfig"`
}

// containerSpec turns a payload container into a Docker container spec.
func (a *Agent) containerSpec(t *task, def *acs.Task, c *container) (_ dockerrt.ContainerSpec, err error) {
	cd := c.def
	var cfg dockerConfig
	var host dockerHostConfig
	if cd.DockerConfig.Config != "" {
		if err := json.Unmarshal([]byte(cd.DockerConfig.Config), &cfg); err != nil {
			return dockerrt.ContainerSpec{}, fmt.Errorf("dockerConfig.config: %w", err)
		}
	}
	if cd.DockerConfig.HostConfig != "" {
		if err := json.Unmarshal([]byte(cd.DockerConfig.HostConfig), &host); err != nil {
			return dockerrt.ContainerSpec{}, fmt.Errorf("dockerConfig.hostConfig: %w", err)
		}
	}
	labels := map[string]string{}
	for k, v := range cfg.Labels {
		// The control plane refuses reserved labels at registration; a
		// payload that still carries one (an older server) loses it here.
		if acs.ReservedLabel(k) {
			continue
		}
		labels[k] = v
	}
	labels[labelTaskArn] = t.arn
	labels[labelCluster] = a.cfg.Cluster
	labels[labelContainerName] = cd.Name
	labels[labelFamily] = def.Family
	labels[labelVersion] = def.Version
	labels[labelInstance] = a.instanceArn
	if a.cfg.EC2.ID != "" {
		labels[LabelEC2Instance] = a.cfg.EC2.ID
	}
	labels[labelEssential] = fmt.Sprint(cd.Essential)
	labels[labelStopTimeout] = c.stopTimeout.String()
	mode := def.NetworkMode
	if mode != "host" && mode != "none" {
		mode = "bridge"
	}
	// An awsvpc task's containers join its pause container's namespace
	// (see eniHook), and reach the host as bridge-mode containers do.
	pause := ""
	if eni, ok := taskENI(def); ok && a.cfg.TaskENI {
		pause = pauseName(t.arn, def)
		if len(eni.IPV4Addresses) > 0 {
			// The task endpoint knows the task's requests by this address.
			labels[labelENIAddress] = eni.IPV4Addresses[0].PrivateAddress
		}
	}
	vars := a.taskEnvironment(t, def, c, mode, labels)
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	shares := int64(cd.Cpu)
	if shares < 2 {
		shares = 2
	}
	spec := dockerrt.ContainerSpec{
		Name: c.dockerName, Image: cd.Image, Entrypoint: cd.EntryPoint, Cmd: cd.Command, Env: env,
		WorkingDir: cfg.WorkingDir, User: cfg.User, Labels: labels, CPUShares: shares,
		MemoryMiB: int64(cd.Memory), MemoryReservationMiB: host.MemoryReservation >> 20,
		NetworkMode: mode, StopTimeout: c.stopTimeout, ReadonlyRootfs: host.ReadonlyRootfs, Privileged: host.Privileged,
		DNSServers: host.DNS, ExtraHosts: host.ExtraHosts, CgroupParent: cmp.Or(taskCgroup(a.cfg.EC2.CgroupParent, t.arn, def), a.cfg.EC2.CgroupParent),
		// A Fargate task's ephemeral storage bounds each of its
		// containers' writable layers, where the storage driver can.
		StorageGiB: def.EphemeralStorageGiB,
	}
	for _, pm := range cd.PortMappings {
		// An EC2 instance's ports are its own address's.
		spec.Ports = append(spec.Ports, dockerrt.PortMapping{ContainerPort: pm.ContainerPort, HostPort: pm.HostPort, Protocol: pm.Protocol, HostIP: a.cfg.EC2.PrivateIP})
	}
	links := cd.Links
	if pause != "" {
		// Ports are reached on the ENI's address, not published; DNS
		// and hosts are the pause container's, and containers of one
		// namespace reach each other on localhost (Docker refuses ports,
		// even exposed, DNS, hosts and links in another's namespace).
		spec.NetworkMode = "container:" + pause
		spec.Ports, spec.DNSServers, spec.ExtraHosts, links = nil, nil, nil, nil
	}
	if hc := cfg.Healthcheck; hc != nil {
		spec.HealthCheck = &dockerrt.HealthCheck{Test: hc.Test, Interval: hc.Interval, Timeout: hc.Timeout, StartPeriod: hc.StartPeriod, Retries: hc.Retries}
	}
	for _, u := range host.Ulimits {
		spec.Ulimits = append(spec.Ulimits, dockerrt.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	if lc := host.LogConfig; lc != nil && lc.Type != "awslogs" {
		spec.LogDriver, spec.LogOptions = lc.Type, lc.Config
	}
	if opts, ok := awslogsOf(cd); ok {
		// Docker keeps the output (docker logs works) and the agent reads
		// it back to ship it.
		spec.LogDriver, spec.LogOptions = "json-file", maps.Clone(awslogsLogOptions)
		b, _ := json.Marshal(opts)
		spec.Labels[labelAWSLogs] = string(b)
	}
	if spec.Linux, err = linuxSettings(cd); err != nil {
		return dockerrt.ContainerSpec{}, err
	}
	for _, l := range links {
		name, alias, found := strings.Cut(l, ":")
		if !found {
			alias = name
		}
		spec.Links = append(spec.Links, dockerName(t, name)+":"+alias)
	}
	for _, vf := range cd.VolumesFrom {
		ref := dockerName(t, vf.SourceContainer)
		if vf.ReadOnly != nil && *vf.ReadOnly {
			ref += ":ro"
		}
		spec.VolumesFrom = append(spec.VolumesFrom, ref)
	}
	for _, mp := range cd.MountPoints {
		m, _ := taskVolume(t.arn, def, mp.SourceVolume)
		m.Target, m.ReadOnly = mp.ContainerPath, mp.ReadOnly != nil && *mp.ReadOnly
		spec.Mounts = append(spec.Mounts, m)
	}
	return spec, nil
}
