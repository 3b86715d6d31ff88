package ecs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/berth-dev/berth/internal/acs"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// ACSOptions tune the agent connections.
type ACSOptions struct {
	// Heartbeat is how often a HeartbeatMessage is sent (AWS: about 30 s).
	Heartbeat time.Duration
	// LeaseTTL bounds how long an instance stays agentConnected after the
	// serving process dies.
	LeaseTTL time.Duration
}

// acsHub owns this process's etcd lease, on which every connection's
// "connected" marker lives, so the markers vanish if the process dies. If
// the lease is lost (etcd unreachable past its TTL) a new one is granted
// and the live connections' markers are written again.
type acsHub struct {
	ctx   context.Context // ends when the server shuts down
	opts  ACSOptions
	store *store.Store
	log   interface{ Warn(string, ...any) }

	mu      sync.Mutex
	session *store.Session    // nil when lost
	markers map[string]string // live connection's marker key -> connection id
}

// StartACS prepares the agent connection service; it runs until ctx ends.
func (s *Service) StartACS(ctx context.Context, opts ACSOptions) error {
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 30 * time.Second
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 15 * time.Second
	}
	s.hub = &acsHub{ctx: ctx, opts: opts, store: s.store, log: s.log, markers: map[string]string{}}
	if _, err := s.hub.currentLease(); err != nil {
		return fmt.Errorf("grant agent-connection lease: %w", err)
	}
	return nil
}

// currentLease returns the live lease, starting a session (a lease kept
// alive) when there is none.
func (h *acsHub) currentLease() (store.Lease, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.session != nil {
		return h.session.Lease(), nil
	}
	sess, err := h.store.NewSession(h.ctx, h.opts.LeaseTTL)
	if err != nil {
		return 0, err
	}
	h.session = sess
	go func() {
		<-sess.Done()
		// The keep-alive ended: the lease is gone or going. Forget it so
		// the next marker write starts a new one.
		h.mu.Lock()
		if h.session == sess {
			h.session = nil
		}
		h.mu.Unlock()
		if h.ctx.Err() == nil {
			h.log.Warn("agent-connection lease lost; renewing")
			h.rewriteMarkers()
		}
	}()
	return sess.Lease(), nil
}

// forget drops the session whose lease a write found gone.
func (h *acsHub) forget(lease store.Lease) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.session != nil && h.session.Lease() == lease {
		h.session.Close()
		h.session = nil
	}
}

// mark writes a connection's marker on the current lease.
func (h *acsHub) mark(key, connID string) error {
	lease, err := h.currentLease()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(h.ctx, 5*time.Second)
	defer cancel()
	if err := h.store.Commit(ctx, store.NewTxn().PutLeased(key, connID, lease)); err != nil {
		h.forget(lease) // most likely "requested lease not found"
		return err
	}
	h.mu.Lock()
	h.markers[key] = connID
	h.mu.Unlock()
	return nil
}

// unmark clears a connection's marker unless a newer connection replaced it.
func (h *acsHub) unmark(key, connID string) {
	h.mu.Lock()
	if h.markers[key] == connID {
		delete(h.markers, key)
	}
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	raw, _ := json.Marshal(connID)
	h.store.Commit(ctx, store.NewTxn().IfValue(key, raw).Delete(key))
}

// rewriteMarkers puts every live connection's marker on a fresh lease,
// retrying until etcd answers again.
func (h *acsHub) rewriteMarkers() {
	for h.ctx.Err() == nil {
		h.mu.Lock()
		live := make(map[string]string, len(h.markers))
		for k, v := range h.markers {
			live[k] = v
		}
		h.mu.Unlock()
		failed := false
		for k, v := range live {
			if err := h.mark(k, v); err != nil {
				failed = true
				break
			}
		}
		if !failed {
			return
		}
		select {
		case <-h.ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// upgrader takes ACS connections. Their write buffers come from a pool
// shared by all connections, so that thousands of mostly idle agents do
// not each hold one between messages.
var upgrader = websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 64 << 10, WriteBufferPool: &sync.Pool{}}

// agentRequest authenticates an agent's websocket request, finds the
// container instance its query names (clusterKey, instanceKey) and
// authorizes action on it. On failure it answers the request itself.
func (s *Service) agentRequest(w http.ResponseWriter, r *http.Request, auth api.Authenticator, clusterKey, instanceKey, action string) (context.Context, api.Principal, store.Item[instanceRecord], bool) {
	var none store.Item[instanceRecord]
	p, err := auth.Authenticate(r.Context(), r, nil)
	if err != nil {
		api.WriteJSONError(w, api.AsError(err))
		return nil, p, none, false
	}
	ctx := api.WithPrincipal(r.Context(), p)
	q := r.URL.Query()
	cluster := clusterName(q.Get(clusterKey))
	inst, found, err := s.findInstance(ctx, cluster, q.Get(instanceKey))
	if err != nil {
		api.WriteJSONError(w, api.AsError(err))
		return nil, p, none, false
	}
	if !found {
		api.WriteJSONError(w, api.Errorf("InvalidInstanceException", "Container instance %s is not registered in cluster %s.", q.Get(instanceKey), cluster))
		return nil, p, none, false
	}
	if err := s.authorize(ctx, action, inst.Value.Instance.ContainerInstanceArn); err != nil {
		api.WriteJSONError(w, api.AsError(err))
		return nil, p, none, false
	}
	if err := actsAs(ctx, action, &inst.Value); err != nil {
		api.WriteJSONError(w, api.AsError(err))
		return nil, p, none, false
	}
	if s.hub == nil {
		api.WriteJSONError(w, api.AsError(errors.New("agent communication service is not started")))
		return nil, p, none, false
	}
	return ctx, p, inst, true
}

// ACSHandler serves GET /ws: an agent's SigV4-signed websocket on which it
// receives task assignments (ecs:Poll).
func (s *Service) ACSHandler(auth api.Authenticator) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, p, inst, ok := s.agentRequest(w, r, auth, "clusterArn", "containerInstanceArn", "Poll")
		if !ok {
			return
		}
		fail := func(e *api.Error) { api.WriteJSONError(w, e) }
		if inst.Value.Instance.Status == "INACTIVE" {
			fail(api.Errorf("InactiveInstanceException", "Container instance %s is inactive.", inst.Value.Instance.ContainerInstanceArn))
			return
		}
		// Mark the agent connected before upgrading: if that fails the
		// agent gets an HTTP error and backs off, instead of a dropped
		// websocket it would retry at once.
		sess := &acsSession{svc: s, inst: inst.Value, connID: api.NewRequestID()}
		sess.creds = newSessionCredentials(r.URL.Query())
		if !receivesKeys(p, &inst.Value) {
			// Allowed to poll, not to act as the instance: its tasks are
			// sent without their roles' keys or credentials ids.
			sess.creds, sess.keyless = nil, true
		}
		ckey := s.keys.connected(inst.Value.ID)
		if err := s.hub.mark(ckey, sess.connID); err != nil {
			s.log.Warn("mark agent connected", "containerInstance", inst.Value.Instance.ContainerInstanceArn, "err", err)
			fail(&api.Error{Code: "ServerException", Message: "The agent connection could not be recorded; retry later.", Status: http.StatusServiceUnavailable})
			return
		}
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			s.hub.unmark(ckey, sess.connID)
			return
		}
		sess.conn = conn
		s.recordVersion(ctx, inst.Key, r.URL.Query())
		sess.serve(api.WithPrincipal(s.hub.ctx, p))
	})
}

// acsSession is one agent connection.
type acsSession struct {
	svc    *Service
	conn   *websocket.Conn
	inst   instanceRecord
	connID string
	wmu    sync.Mutex
	seq    int
	// creds delivers task role credentials to agents that keep them
	// themselves (see sessionCredentials); nil for Berth's agents.
	creds *sessionCredentials
	// keyless is set when the caller is neither the instance nor its
	// registrant: payloads carry no role credentials at all.
	keyless bool
}

func (a *acsSession) send(typ string, msg any) error {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	a.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return a.conn.WriteJSON(acs.Frame{Type: typ, Message: msg})
}

func (a *acsSession) serve(ctx context.Context) {
	s, hub := a.svc, a.svc.hub
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer a.conn.Close()
	log := s.log.With("containerInstance", a.inst.Instance.ContainerInstanceArn, "conn", a.connID)
	ckey := s.keys.connected(a.inst.ID)
	defer func() {
		hub.unmark(ckey, a.connID)
		log.Info("agent disconnected")
	}()
	log.Info("agent connected")

	go a.readLoop(ctx, cancel, hub.opts.Heartbeat)
	go a.heartbeats(ctx, hub.opts.Heartbeat)
	if a.creds != nil {
		go a.refreshCredentials(ctx)
	}
	if err := a.streamAssignments(ctx); err != nil && ctx.Err() == nil {
		log.Warn("assignment stream ended", "err", err)
	}
}

// readLoop consumes the agent's frames: acknowledgements, and stop
// verifications it must answer. Silence longer than three heartbeats ends
// the session.
func (a *acsSession) readLoop(ctx context.Context, cancel context.CancelFunc, heartbeat time.Duration) {
	defer cancel()
	for {
		a.conn.SetReadDeadline(time.Now().Add(3*heartbeat + 10*time.Second))
		_, r, err := a.conn.NextReader()
		if err != nil {
			return
		}
		data, err := io.ReadAll(io.LimitReader(r, 1<<20))
		if err != nil {
			return
		}
		frame, err := acs.Decode(data)
		if err != nil {
			continue
		}
		if frame.Type == acs.TypeTaskStopVerification {
			var m acs.TaskStopVerificationMessage
			if frame.Into(&m) == nil {
				if err := a.verifyStops(ctx, m); err != nil {
					a.svc.log.Warn("answer stop verification", "err", err)
				}
			}
		}
	}
}

// verifyStops confirms which of the agent's stop candidates may stop: those
// the cluster does not run on this instance.
func (a *acsSession) verifyStops(ctx context.Context, m acs.TaskStopVerificationMessage) error {
	ack := acs.TaskStopVerificationAck{GeneratedAt: time.Now().UnixMilli(), MessageId: m.MessageId, StopTasks: []acs.TaskIdentifier{}}
	for _, c := range m.StopCandidates {
		cluster := clusterName(c.TaskClusterArn)
		if cluster == "" {
			cluster = a.inst.Cluster
		}
		it, found, err := a.svc.findTask(ctx, cluster, c.TaskArn)
		if err != nil {
			return err
		}
		if !found || it.Value.InstanceID != a.inst.ID || it.Value.agentDesiredStatus() == "STOPPED" {
			ack.StopTasks = append(ack.StopTasks, acs.TaskIdentifier{TaskArn: c.TaskArn, TaskClusterArn: c.TaskClusterArn, DesiredStatus: "STOPPED"})
		}
	}
	return a.send(acs.TypeTaskStopVerificationAck, ack)
}

// recordVersion stores the agent and Docker versions an agent announces on
// its ACS connection; current ECS agents send them there rather than at
// registration.
func (s *Service) recordVersion(ctx context.Context, key string, q url.Values) {
	v := VersionInfo{AgentVersion: q.Get("agentVersion"), AgentHash: q.Get("agentHash"), DockerVersion: q.Get("dockerVersion")}
	if v.AgentVersion == "" {
		return
	}
	_, err := store.Update(ctx, s.store, key, func(r *instanceRecord) error {
		if r.Instance.VersionInfo == v {
			return errReadOnly
		}
		r.Instance.VersionInfo = v
		return nil
	})
	if err != nil && !errors.Is(err, errReadOnly) {
		s.log.Warn("record agent version", "err", err)
	}
}

func (a *acsSession) heartbeats(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.send(acs.TypeHeartbeat, acs.HeartbeatMessage{Healthy: true, MessageId: api.NewRequestID()}); err != nil {
				a.conn.Close()
				return
			}
		}
	}
}

// streamAssignments sends every current assignment, then each change, as
// PayloadMessages.
func (a *acsSession) streamAssignments(ctx context.Context) error {
	s := a.svc
	prefix := s.keys.assignments(a.inst.ID)
	items, rev, err := store.ListRev[assignment](ctx, s.store, prefix)
	if err != nil {
		return err
	}
	ids := make([]assignment, len(items))
	for i, it := range items {
		ids[i] = it.Value
	}
	if err := a.sendTasks(ctx, ids, true); err != nil {
		return err
	}
	// The manifest tells a (re)connecting agent which tasks exist at all, so
	// it stops containers of tasks the cluster no longer knows.
	manifest := acs.TaskManifestMessage{
		ContainerInstanceArn: a.inst.Instance.ContainerInstanceArn, ClusterArn: s.arn("cluster/" + a.inst.Cluster),
		Tasks: []acs.TaskIdentifier{}, GeneratedAt: time.Now().UnixMilli(), MessageId: api.NewRequestID(), Timeline: rev,
	}
	for _, x := range ids {
		manifest.Tasks = append(manifest.Tasks, acs.TaskIdentifier{
			TaskArn: s.arn("task/" + x.Cluster + "/" + x.TaskID), TaskClusterArn: s.arn("cluster/" + x.Cluster), DesiredStatus: x.DesiredStatus,
		})
	}
	if err := a.send(acs.TypeTaskManifest, manifest); err != nil {
		return err
	}
	for ch := range s.store.Watch(ctx, prefix, rev+1) {
		if ch.Err != nil {
			return ch.Err
		}
		var changed []assignment
		for _, ev := range ch.Events {
			if ev.Delete {
				continue
			}
			var as assignment
			if json.Unmarshal(ev.Value, &as) == nil {
				changed = append(changed, as)
			}
		}
		if err := a.sendTasks(ctx, changed, false); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// sendTasks sends the tasks of assignments in a PayloadMessage; initial
// marks the tasks sent when the connection opens.
func (a *acsSession) sendTasks(ctx context.Context, as []assignment, initial bool) error {
	if len(as) == 0 {
		return nil
	}
	s := a.svc
	msg := acs.PayloadMessage{
		ContainerInstanceArn: a.inst.Instance.ContainerInstanceArn, ClusterArn: s.arn("cluster/" + a.inst.Cluster),
		GeneratedAt: time.Now().UnixMilli(), MessageId: api.NewRequestID(), Tasks: []acs.Task{},
	}
	keys := make([]string, len(as))
	for i, x := range as {
		keys[i] = s.keys.task(x.Cluster, x.TaskID)
	}
	tasks, err := store.GetMany[taskRecord](ctx, s.store, keys)
	if err != nil {
		return err
	}
	for _, it := range tasks {
		td, err := s.taskDefinitionOf(ctx, &it.Value)
		if err != nil {
			return err
		}
		t := s.acsTask(&it.Value, &td)
		if a.creds != nil {
			a.creds.payload(ctx, s, &it.Value, &t, initial)
		}
		if a.keyless {
			t.RoleCredentials, t.ExecutionRoleCredentials = nil, nil
		}
		msg.Tasks = append(msg.Tasks, t)
	}
	if len(msg.Tasks) == 0 {
		return nil
	}
	a.seq++
	msg.SeqNum = a.seq
	return a.send(acs.TypePayload, msg)
}
