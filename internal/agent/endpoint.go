package agent

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/acs"
	"github.com/berth-dev/berth/internal/agent/dockerrt"
	"github.com/berth-dev/berth/internal/vpc"
)

// The task endpoint of a host: what containers reach at 169.254.170.2, as
// on an ECS container instance. It serves the task role credentials
// (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, /v2/credentials/<id>) and the
// task metadata endpoint v4 (ECS_CONTAINER_METADATA_URI_V4). Like the ECS
// agent it listens on 127.0.0.1:51679, reached through the iptables rules
// ecs-init installs (DNAT from the bridge, REDIRECT for host-mode
// containers, route_localnet on the bridge so DNAT to loopback is routed).
//
// One endpoint serves a whole host, shared by all the agents on it (which
// may belong to different clusters and even different Berth servers):
// every agent tries to bind the address and the others retry, so the
// endpoint moves to another agent if the one serving it stops. It keeps no
// state. It finds the container a request is about by its labels in
// Docker, checks that a credentials request comes from that task's own
// containers, and hands the request to the agent that started the
// container, on that agent's unix socket (label berth.agent-socket). That
// agent answers metadata from Docker and credentials from its server,
// asking with its own credentials.
const (
	// EndpointIP is the link-local address containers use.
	EndpointIP = "169.254.170.2"
	// endpointAddr is where the endpoint listens on the host.
	endpointAddr = "127.0.0.1:51679"

	labelCredentialsID = "berth.task-credentials-id"
	labelMetadataID    = "berth.metadata-id"
	labelContainerArn  = "berth.container-arn"
	labelTaskCPU       = "berth.task-cpu"
	labelTaskMemory    = "berth.task-memory"
	labelPullStarted   = "berth.pull-started-at"
	labelPullStopped   = "berth.pull-stopped-at"
	labelZone          = "berth.availability-zone"
	labelService       = "berth.service-name"
	labelAgentSocket   = "berth.agent-socket"
	// labelENIAddress is an awsvpc task container's address: its
	// namespace's, which Docker does not know.
	labelENIAddress = "berth.eni-address"
)

// endpointRules are the iptables rules of the task endpoint on a bridge:
// table, chain, rule. The first three are ecs-init's: the DNAT and
// REDIRECT to the loopback listener, and a DROP that keeps other hosts
// from reaching it through route_localnet. route_localnet also lets a
// container that can change its routes (NET_ADMIN) send packets for
// 127.0.0.0/8 to the bridge; the last rule drops every such packet that
// the task endpoint's DNAT did not address, so a container reaches no
// loopback service of the host (berth etcd, the API, anything else).
// Every filter rule is a DROP, so their order among themselves does not
// matter.
func endpointRules(bridgeInterface string) [][]string {
	return [][]string{
		{"nat", "PREROUTING", "-d", EndpointIP + "/32", "-p", "tcp", "-m", "tcp", "--dport", "80", "-j", "DNAT", "--to-destination", endpointAddr},
		{"nat", "OUTPUT", "-d", EndpointIP + "/32", "-p", "tcp", "-m", "tcp", "--dport", "80", "-j", "REDIRECT", "--to-ports", "51679"},
		{"filter", "INPUT", "--dst", "127.0.0.0/8", "!", "--src", "127.0.0.0/8", "-p", "tcp", "-m", "tcp", "--dport", "51679",
			"-m", "conntrack", "!", "--ctstate", "RELATED,ESTABLISHED,DNAT", "-j", "DROP"},
		{"filter", "INPUT", "-i", bridgeInterface, "--dst", "127.0.0.0/8", "-m", "conntrack", "!", "--ctstate", "DNAT", "-j", "DROP"},
		// The same for awsvpc tasks, whose interfaces' host ends are vpc.TaskLinkName's.
		{"filter", "INPUT", "-i", vpc.TaskLinkPrefix + "+", "--dst", "127.0.0.0/8", "-m", "conntrack", "!", "--ctstate", "DNAT", "-j", "DROP"},
	}
}

// setupEndpointNetwork makes 169.254.170.2:80 reach endpointAddr from
// containers on the bridge and from the host. It is idempotent and safe to
// run from several agents at once (they take a lock file in turn).
func setupEndpointNetwork(bridge dockerrt.Bridge) error {
	// O_NOFOLLOW: the lock lives in a shared directory, where another user
	// could have put a symlink to a file of root's in its place.
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "berth-task-endpoint.lock"), os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	sysctl := filepath.Join("/proc/sys/net/ipv4/conf", bridge.Interface, "route_localnet")
	if err := os.WriteFile(sysctl, []byte("1"), 0o644); err != nil {
		return fmt.Errorf("enable route_localnet on %s: %w", bridge.Interface, err)
	}
	for _, r := range endpointRules(bridge.Interface) {
		table, chain, rule := r[0], r[1], r[2:]
		if exec.Command("iptables", append([]string{"-w", "-t", table, "-C", chain}, rule...)...).Run() == nil {
			continue // already there
		}
		op := "-A"
		if table == "filter" {
			op = "-I" // ahead of any ACCEPT
		}
		if out, err := exec.Command("iptables", append([]string{"-w", "-t", table, op, chain}, rule...)...).CombinedOutput(); err != nil {
			return fmt.Errorf("iptables -t %s %s %s: %v: %s", table, op, chain, err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// serveEndpoint binds the task endpoint when no other agent on the host
// holds it, and tries again every few seconds, until ctx ends.
func (a *Agent) serveEndpoint(ctx context.Context) {
	srv := &http.Server{Handler: a.endpointHandler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	logged := false
	for ctx.Err() == nil {
		ln, err := net.Listen("tcp", endpointAddr)
		if err == nil {
			a.log.Info("serving the task endpoint for this host", "address", endpointAddr, "via", EndpointIP+":80")
			logged = false
			srv.Serve(ln)
			continue
		}
		if !logged && !errors.Is(err, syscall.EADDRINUSE) {
			a.log.Warn("cannot listen for the task endpoint; retrying", "address", endpointAddr, "err", err)
			logged = true
		}
		select {
		case <-ctx.Done():
		case <-time.After(3 * time.Second):
		}
	}
}

// endpointHandler is the host's shared endpoint: it routes each request
// to the agent that owns the container.
func (a *Agent) endpointHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/credentials/{id}", func(w http.ResponseWriter, r *http.Request) {
		a.route(w, r, labelCredentialsID, true)
	})
	metadata := func(w http.ResponseWriter, r *http.Request) { a.route(w, r, labelMetadataID, false) }
	mux.HandleFunc("GET /v4/{id}", metadata)
	mux.HandleFunc("GET /v4/{id}/{what...}", metadata)
	return mux
}

// ownHandler answers for this agent's own containers, on its unix socket.
func (a *Agent) ownHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/credentials/{id}", a.serveCredentials)
	mux.HandleFunc("GET /v4/{id}", a.serveMetadata)
	mux.HandleFunc("GET /v4/{id}/{what...}", a.serveMetadata)
	return mux
}

// route finds the container labelled with the request's id and passes the
// request to its agent; with checkOrigin, only the task's own containers
// are answered.
func (a *Agent) route(w http.ResponseWriter, r *http.Request, label string, checkOrigin bool) {
	notFound := func() {
		if checkOrigin {
			endpointError(w, http.StatusBadRequest, "InvalidIdInRequest", "CredentialsV2Request: Credentials not found")
			return
		}
		endpointError(w, http.StatusNotFound, "NotFound", "V4 container metadata handler: unable to get container ID from request")
	}
	id := r.PathValue("id")
	if id == "" {
		notFound()
		return
	}
	cs, err := a.rt.List(r.Context(), map[string]string{label: id})
	if err != nil {
		endpointError(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	if len(cs) == 0 || checkOrigin && !fromTask(r.RemoteAddr, cs) {
		notFound()
		return
	}
	owner := cs[0].Labels[labelAgentSocket]
	if owner == "" || owner == a.socketPath {
		a.ownHandler().ServeHTTP(w, r)
		return
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", "agent"
		},
		// One connection per request: the transport is the request's own,
		// so a kept-alive connection would never be reused or closed.
		Transport: &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", owner)
		}},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			endpointError(w, http.StatusServiceUnavailable, "AgentUnavailable", "the agent running this task does not answer: "+err.Error())
		},
	}
	proxy.ServeHTTP(w, r)
}

// serveOwn answers the host endpoint's requests for this agent's
// containers on a unix socket in its data dir, until ctx ends.
func (a *Agent) serveOwn(ctx context.Context) error {
	os.Remove(a.socketPath)
	ln, err := net.Listen("unix", a.socketPath)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a.ownHandler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	go srv.Serve(ln)
	return nil
}

// agentSocketPath is where an agent with this data dir answers the host
// endpoint; a path too long for a unix socket moves to the temp dir.
func agentSocketPath(dataDir string) string {
	p, err := filepath.Abs(filepath.Join(dataDir, "task-endpoint.sock"))
	if err == nil && len(p) < 100 {
		return p
	}
	sum := sha256.Sum256([]byte(p))
	return filepath.Join(os.TempDir(), "berth-agent-"+hex.EncodeToString(sum[:8])+".sock")
}

// endpointError answers as the ECS agent's endpoints do.
func endpointError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}

func writeEndpointJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// serveCredentials answers a container's request for its task role's
// credentials, which the host endpoint has checked comes from the task.
func (a *Agent) serveCredentials(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	notFound := func() {
		endpointError(w, http.StatusBadRequest, "InvalidIdInRequest", "CredentialsV2Request: Credentials not found")
	}
	if id == "" {
		notFound()
		return
	}
	cs, err := a.rt.List(r.Context(), map[string]string{labelCredentialsID: id})
	if err != nil {
		endpointError(w, http.StatusInternalServerError, "InternalError", "CredentialsV2Request: "+err.Error())
		return
	}
	if len(cs) == 0 {
		notFound()
		return
	}
	body, status, err := a.fetchTaskCredentials(r.Context(), cs[0].Labels[labelTaskArn], id)
	if err != nil {
		endpointError(w, http.StatusInternalServerError, "InternalError", "CredentialsV2Request: "+err.Error())
		return
	}
	if status != http.StatusOK {
		a.log.Warn("task credentials refused", "task", cs[0].Labels[labelTaskArn], "status", status, "body", string(body))
		notFound()
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// fromTask reports whether a request's source address is one of the
// containers': their bridge addresses, or the host's own addresses for
// containers in host network mode.
func fromTask(remote string, cs []dockerrt.State) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	for _, c := range cs {
		if slices.Contains(c.IPv4, ip.String()) || c.Labels[labelENIAddress] == ip.String() {
			return true
		}
		if c.NetworkMode == "host" && isLocalAddress(ip) {
			return true
		}
	}
	return false
}

func isLocalAddress(ip net.IP) bool {
	if ip.IsLoopback() {
		return true
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}

// fetchTaskCredentials asks the server for credentials of a task's role
// (the same session until half its lifetime); the request is signed as
// this agent, which must be the task's instance (or whoever registered it).
func (a *Agent) fetchTaskCredentials(ctx context.Context, taskArn, id string) ([]byte, int, error) {
	return signedGet(ctx, a.endpointClient, a.creds, "ecs", a.cfg.Region, a.cfg.Endpoint, "/berth/task-credentials",
		url.Values{"taskArn": {taskArn}, "credentialsId": {id}})
}

// ContainerMetadata is a container in the task metadata endpoint v4.
type ContainerMetadata struct {
	DockerId      string
	Name          string
	DockerName    string
	Image         string
	ImageID       string
	Ports         []MetadataPort    `json:",omitempty"`
	Labels        map[string]string `json:",omitempty"`
	DesiredStatus string
	KnownStatus   string
	ExitCode      *int `json:",omitempty"`
	Limits        MetadataLimits
	CreatedAt     *time.Time `json:",omitempty"`
	StartedAt     *time.Time `json:",omitempty"`
	FinishedAt    *time.Time `json:",omitempty"`
	Type          string
	LogDriver     string            `json:",omitempty"`
	LogOptions    map[string]string `json:",omitempty"`
	ContainerARN  string            `json:",omitempty"`
	Networks      []MetadataNetwork `json:",omitempty"`
	Health        *MetadataHealth   `json:",omitempty"`
}

// MetadataPort is a published port.
type MetadataPort struct {
	ContainerPort int
	Protocol      string
	HostPort      int
	HostIp        string `json:",omitempty"`
}

// MetadataLimits are CPU units (vCPUs at task level) and MiB of memory.
type MetadataLimits struct {
	CPU    float64 `json:",omitempty"`
	Memory int64   `json:",omitempty"`
}

// MetadataNetwork is a container network; an awsvpc task's also names
// its interface.
type MetadataNetwork struct {
	NetworkMode              string
	IPv4Addresses            []string `json:",omitempty"`
	AttachmentIndex          *int     `json:",omitempty"`
	MACAddress               string   `json:",omitempty"`
	IPv4SubnetCIDRBlock      string   `json:",omitempty"`
	DomainNameServers        []string `json:",omitempty"`
	PrivateDNSName           string   `json:",omitempty"`
	SubnetGatewayIpv4Address string   `json:",omitempty"`
}

// MetadataClockDrift is how far the host's clock may be off (a Fargate
// task's metadata).
type MetadataClockDrift struct {
	// ClockErrorBound is the kernel's maximum error estimate, in ms.
	ClockErrorBound            float64
	ReferenceTimestamp         time.Time
	ClockSynchronizationStatus string
}

// MetadataStorage is a Fargate task's ephemeral storage, in MiB: what its
// containers wrote to their layers, of what the task has.
type MetadataStorage struct {
	Utilized int64
	Reserved int64
}

// MetadataHealth is the container's health check status.
type MetadataHealth struct {
	Status string `json:"status"`
}

// TaskMetadata is the task in the task metadata endpoint v4.
type TaskMetadata struct {
	Cluster          string
	TaskARN          string
	Family           string
	Revision         string
	ServiceName      string `json:",omitempty"`
	DesiredStatus    string
	KnownStatus      string
	Limits           *MetadataLimits `json:",omitempty"`
	PullStartedAt    *time.Time      `json:",omitempty"`
	PullStoppedAt    *time.Time      `json:",omitempty"`
	AvailabilityZone string          `json:",omitempty"`
	LaunchType       string
	Containers       []ContainerMetadata
	// ClockDrift and EphemeralStorageMetrics are a Fargate task's.
	ClockDrift              *MetadataClockDrift `json:",omitempty"`
	EphemeralStorageMetrics *MetadataStorage    `json:",omitempty"`
}

// serveMetadata answers the task metadata endpoint v4: the container
// (/v4/<id>), its task (/task), their Docker stats (/stats, /task/stats).
func (a *Agent) serveMetadata(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	cs, err := a.rt.List(ctx, map[string]string{labelMetadataID: r.PathValue("id")})
	if err != nil || len(cs) == 0 {
		endpointError(w, http.StatusNotFound, "NotFound", "V4 container metadata handler: unable to get container ID from request")
		return
	}
	self := cs[0]
	task, err := a.rt.List(ctx, map[string]string{labelTaskArn: self.Labels[labelTaskArn]})
	if err != nil {
		endpointError(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	def := a.payload(self.Labels[labelTaskArn])
	switch r.PathValue("what") {
	case "":
		writeEndpointJSON(w, containerMetadata(self, def))
	case "task":
		t := taskMetadata(self, task, def)
		if t.LaunchType == "FARGATE" {
			t.ClockDrift = clockDrift()
			t.EphemeralStorageMetrics = a.ephemeralStorage(ctx, task, def)
		}
		writeEndpointJSON(w, t)
	case "stats":
		stats, err := a.rt.Stats(ctx, self.ID)
		if err != nil {
			endpointError(w, http.StatusInternalServerError, "InternalError", err.Error())
			return
		}
		writeEndpointJSON(w, stats)
	case "task/stats":
		all := map[string]json.RawMessage{}
		for _, c := range task {
			if s, err := a.rt.Stats(ctx, c.ID); err == nil {
				all[c.ID] = s
			}
		}
		writeEndpointJSON(w, all)
	default:
		http.NotFound(w, r)
	}
}

// payload is the task's latest payload, nil when the agent has none.
func (a *Agent) payload(arn string) *acs.Task {
	a.mu.Lock()
	t := a.tasks[arn]
	a.mu.Unlock()
	if t != nil && t.def != nil {
		return t.def
	}
	return a.loadTaskDef(arn)
}

// awsvpcNetwork is the metadata of an awsvpc task's interface, which all
// its containers share.
func awsvpcNetwork(eni acs.ElasticNetworkInterface) MetadataNetwork {
	n := MetadataNetwork{NetworkMode: "awsvpc", AttachmentIndex: new(int), MACAddress: eni.MacAddress, PrivateDNSName: eni.PrivateDNSName,
		DomainNameServers: eni.DomainNameServers, SubnetGatewayIpv4Address: eni.SubnetGatewayIpv4Address}
	for _, addr := range eni.IPV4Addresses {
		n.IPv4Addresses = append(n.IPv4Addresses, addr.PrivateAddress)
	}
	if gw, err := netip.ParsePrefix(eni.SubnetGatewayIpv4Address); err == nil {
		n.IPv4SubnetCIDRBlock = gw.Masked().String()
	}
	return n
}

// clockDrift is the kernel's view of the clock: its maximum error and
// whether it is synchronized (adjtimex).
func clockDrift() *MetadataClockDrift {
	var tx unix.Timex
	status := "NOT_SYNCHRONIZED"
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return nil
	}
	if state != unix.TIME_ERROR && tx.Status&unix.STA_UNSYNC == 0 {
		status = "SYNCHRONIZED"
	}
	return &MetadataClockDrift{ClockErrorBound: float64(tx.Maxerror) / 1000, ReferenceTimestamp: time.Now().UTC().Truncate(time.Second),
		ClockSynchronizationStatus: status}
}

// ephemeralStorage is what the task's containers wrote, of the task's
// ephemeral storage.
func (a *Agent) ephemeralStorage(ctx context.Context, cs []dockerrt.State, def *acs.Task) *MetadataStorage {
	m := &MetadataStorage{}
	if def != nil {
		m.Reserved = int64(def.EphemeralStorageGiB) * 1024
	}
	var bytes int64
	for _, c := range cs {
		if n, err := a.rt.WritableSize(ctx, c.ID); err == nil {
			bytes += n
		}
	}
	m.Utilized = (bytes + 1<<20 - 1) >> 20
	return m
}

func containerMetadata(c dockerrt.State, def *acs.Task) ContainerMetadata {
	m := ContainerMetadata{DockerId: c.ID, Name: c.Labels[labelContainerName], DockerName: c.Name, Image: c.Image,
		ImageID: c.ImageID, Labels: map[string]string{}, Type: "NORMAL", LogDriver: c.LogDriver, LogOptions: c.LogOptions,
		ContainerARN: c.Labels[labelContainerArn], Limits: MetadataLimits{CPU: float64(c.CPUShares), Memory: c.MemoryMiB}}
	for k, v := range c.Labels {
		if !strings.HasPrefix(k, "berth.") {
			m.Labels[k] = v
		}
	}
	m.DesiredStatus, m.KnownStatus = statusRunning, statusRunning
	switch {
	case !c.Running && !c.FinishedAt.IsZero():
		m.DesiredStatus, m.KnownStatus = statusStopped, statusStopped
		m.ExitCode = &c.ExitCode
	case !c.Running:
		m.KnownStatus = "CREATED"
	}
	m.CreatedAt, m.StartedAt, m.FinishedAt = timePtr(c.CreatedAt), timePtr(c.StartedAt), timePtr(c.FinishedAt)
	for _, p := range c.Ports {
		m.Ports = append(m.Ports, MetadataPort{ContainerPort: p.ContainerPort, Protocol: p.Protocol, HostPort: p.HostPort, HostIp: p.HostIP})
	}
	if eni, ok := taskENI(def); ok && strings.HasPrefix(c.NetworkMode, "container:") {
		m.Networks = []MetadataNetwork{awsvpcNetwork(eni)}
	} else if c.NetworkMode != "" && c.NetworkMode != "none" {
		mode := c.NetworkMode
		if mode == "default" {
			mode = "bridge"
		}
		m.Networks = []MetadataNetwork{{NetworkMode: mode, IPv4Addresses: c.IPv4}}
	}
	if c.Health != "" {
		status := map[string]string{"healthy": "HEALTHY", "unhealthy": "UNHEALTHY"}[c.Health]
		m.Health = &MetadataHealth{Status: cmp.Or(status, "UNKNOWN")}
	}
	return m
}

func taskMetadata(self dockerrt.State, cs []dockerrt.State, def *acs.Task) TaskMetadata {
	l := self.Labels
	launch := "EC2"
	if def != nil && def.LaunchType != "" {
		launch = def.LaunchType
	}
	t := TaskMetadata{Cluster: l[labelCluster], TaskARN: l[labelTaskArn], Family: l[labelFamily], Revision: l[labelVersion],
		ServiceName: l[labelService], AvailabilityZone: l[labelZone], LaunchType: launch,
		PullStartedAt: labelTime(l[labelPullStarted]), PullStoppedAt: labelTime(l[labelPullStopped])}
	cpu, _ := strconv.ParseFloat(l[labelTaskCPU], 64)
	mem, _ := strconv.ParseInt(l[labelTaskMemory], 10, 64)
	if cpu > 0 || mem > 0 {
		t.Limits = &MetadataLimits{CPU: cpu, Memory: mem}
	}
	t.DesiredStatus, t.KnownStatus = statusRunning, statusRunning
	stopped := 0
	for _, c := range cs {
		m := containerMetadata(c, def)
		if m.KnownStatus == statusStopped {
			stopped++
		}
		t.Containers = append(t.Containers, m)
	}
	if stopped == len(cs) {
		t.DesiredStatus, t.KnownStatus = statusStopped, statusStopped
	}
	return t
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func labelTime(s string) *time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil
	}
	return &t
}
