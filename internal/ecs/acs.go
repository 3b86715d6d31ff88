package ecs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/berth-dev/berth/internal/acs"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	clientv3 "go.etcd.io/etcd/client/v3"

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
// "connected" marker lives.
type acsHub struct {
	ctx   context.Context // ends when the server shuts down
	opts  ACSOptions
	mu    sync.Mutex
	lease clientv3.LeaseID
}

// StartACS starts the lease that backs agentConnected markers; it runs until ctx ends.
func (s *Service) StartACS(ctx context.Context, opts ACSOptions) error {
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 30 * time.Second
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 15 * time.Second
	}
	cli := s.store.Client()
	grant, err := cli.Grant(ctx, int64(opts.LeaseTTL/time.Second))
	if err != nil {
		return fmt.Errorf("grant agent-connection lease: %w", err)
	}
	ka, err := cli.KeepAlive(ctx, grant.ID)
	if err != nil {
		return fmt.Errorf("keep agent-connection lease alive: %w", err)
	}
	go func() {
		for range ka {
		}
	}()
	s.hub = &acsHub{ctx: ctx, opts: opts, lease: grant.ID}
	return nil
}

var upgrader = websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 64 << 10}

// ACSHandler serves GET /ws: an agent's SigV4-signed websocket on which it
// receives task assignments (ecs:Poll).
func (s *Service) ACSHandler(auth api.Authenticator) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail := func(e *api.Error) {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(e.Status)
			json.NewEncoder(w).Encode(map[string]string{"__type": e.Code, "message": e.Message})
		}
		p, err := auth.Authenticate(r.Context(), r, nil)
		if err != nil {
			fail(api.AsError(err))
			return
		}
		ctx := api.WithPrincipal(r.Context(), p)
		q := r.URL.Query()
		cluster := clusterName(q.Get("clusterArn"))
		inst, found, err := s.findInstance(ctx, cluster, q.Get("containerInstanceArn"))
		if err != nil {
			fail(api.AsError(err))
			return
		}
		if !found {
			fail(api.Errorf("InvalidInstanceException", "Container instance %s is not registered in cluster %s.", q.Get("containerInstanceArn"), cluster))
			return
		}
		if inst.Value.Instance.Status == "INACTIVE" {
			fail(api.Errorf("InactiveInstanceException", "Container instance %s is inactive.", inst.Value.Instance.ContainerInstanceArn))
			return
		}
		if err := s.authorize(ctx, "Poll", inst.Value.Instance.ContainerInstanceArn); err != nil {
			fail(api.AsError(err))
			return
		}
		if s.hub == nil {
			fail(api.AsError(errors.New("agent communication service is not started")))
			return
		}
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		sess := &acsSession{svc: s, conn: conn, inst: inst.Value, connID: api.NewRequestID()}
		sess.serve(api.WithPrincipal(s.hub.ctx, p))
	})
}

// TelemetryHandler serves the TCS websocket: it accepts the agent's metrics and discards them.
func (s *Service) TelemetryHandler(auth api.Authenticator) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := auth.Authenticate(r.Context(), r, nil); err != nil {
			e := api.AsError(err)
			http.Error(w, e.Message, e.Status)
			return
		}
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
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
	if _, err := s.store.Client().Put(ctx, ckey, a.connID, clientv3.WithLease(hub.lease)); err != nil {
		log.Error("mark agent connected", "err", err)
		return
	}
	defer func() {
		// Only clear the marker if a newer connection has not replaced it.
		dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer dcancel()
		s.store.Client().Txn(dctx).If(clientv3.Compare(clientv3.Value(ckey), "=", a.connID)).Then(clientv3.OpDelete(ckey)).Commit()
		log.Info("agent disconnected")
	}()
	log.Info("agent connected")

	go a.readLoop(ctx, cancel, hub.opts.Heartbeat)
	go a.heartbeats(ctx, hub.opts.Heartbeat)
	if err := a.streamAssignments(ctx); err != nil && ctx.Err() == nil {
		log.Warn("assignment stream ended", "err", err)
	}
}

// readLoop consumes acknowledgements; silence longer than three heartbeats ends the session.
func (a *acsSession) readLoop(ctx context.Context, cancel context.CancelFunc, heartbeat time.Duration) {
	defer cancel()
	for {
		a.conn.SetReadDeadline(time.Now().Add(3*heartbeat + 10*time.Second))
		_, r, err := a.conn.NextReader()
		if err != nil {
			return
		}
		var frame struct {
			Type    string          `json:"type"`
			Message json.RawMessage `json:"message"`
		}
		if err := json.NewDecoder(io.LimitReader(r, 1<<20)).Decode(&frame); err != nil {
			continue
		}
		a.svc.log.Debug("acs frame from agent", "type", frame.Type)
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
	resp, err := s.store.Client().Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return err
	}
	var ids []assignment
	for _, kv := range resp.Kvs {
		var as assignment
		if json.Unmarshal(kv.Value, &as) == nil {
			ids = append(ids, as)
		}
	}
	if err := a.sendTasks(ctx, ids); err != nil {
		return err
	}
	// The manifest tells a (re)connecting agent which tasks exist at all, so
	// it stops containers of tasks the cluster no longer knows.
	manifest := acs.TaskManifestMessage{
		ContainerInstanceArn: a.inst.Instance.ContainerInstanceArn, ClusterArn: s.arn("cluster/" + a.inst.Cluster),
		Tasks: []acs.TaskIdentifier{}, GeneratedAt: time.Now().UnixMilli(), MessageId: api.NewRequestID(), Timeline: resp.Header.Revision,
	}
	for _, x := range ids {
		manifest.Tasks = append(manifest.Tasks, acs.TaskIdentifier{
			TaskArn: s.arn("task/" + x.Cluster + "/" + x.TaskID), TaskClusterArn: s.arn("cluster/" + x.Cluster), DesiredStatus: x.DesiredStatus,
		})
	}
	if err := a.send(acs.TypeTaskManifest, manifest); err != nil {
		return err
	}
	wch := s.store.Client().Watch(clientv3.WithRequireLeader(ctx), prefix, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1))
	for wr := range wch {
		if err := wr.Err(); err != nil {
			return err
		}
		var changed []assignment
		for _, ev := range wr.Events {
			if ev.Type != clientv3.EventTypePut {
				continue
			}
			var as assignment
			if json.Unmarshal(ev.Kv.Value, &as) == nil {
				changed = append(changed, as)
			}
		}
		if err := a.sendTasks(ctx, changed); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (a *acsSession) sendTasks(ctx context.Context, as []assignment) error {
	if len(as) == 0 {
		return nil
	}
	s := a.svc
	msg := acs.PayloadMessage{
		ContainerInstanceArn: a.inst.Instance.ContainerInstanceArn, ClusterArn: s.arn("cluster/" + a.inst.Cluster),
		GeneratedAt: time.Now().UnixMilli(), MessageId: api.NewRequestID(), Tasks: []acs.Task{},
	}
	for _, x := range as {
		it, err := store.Get[taskRecord](ctx, s.store, s.keys.task(x.Cluster, x.TaskID))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		td, err := s.taskDefinitionOf(ctx, &it.Value)
		if err != nil {
			return err
		}
		msg.Tasks = append(msg.Tasks, s.acsTask(&it.Value, &td))
	}
	if len(msg.Tasks) == 0 {
		return nil
	}
	a.seq++
	msg.SeqNum = a.seq
	return a.send(acs.TypePayload, msg)
}
