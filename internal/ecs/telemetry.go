package ecs

import (
	"context"
	"errors"
	"net/http"

	"github.com/berth-dev/berth/internal/acs"
	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// telemetryAcks maps each TCS publish request to the acknowledgement the
// agent waits for.
var telemetryAcks = map[string]string{
	acs.TypePublishMetrics:        acs.TypeAckPublishMetric,
	acs.TypePublishHealth:         acs.TypeAckPublishHealth,
	acs.TypePublishInstanceStatus: acs.TypeAckInstanceStatus,
}

// maxTelemetryFrame bounds one TCS frame; the agent splits health reports
// into requests of ten tasks, far below it.
const maxTelemetryFrame = 1 << 20

// TelemetryHandler serves the TCS websocket (GET /tcs/ws?cluster=...&
// containerInstance=...): it records the container health the agent
// publishes on the instance's tasks, acknowledges every publish request
// (metrics and instance status are not stored) and sends heartbeats so the
// agent keeps the connection open.
func (s *Service) TelemetryHandler(auth api.Authenticator) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, p, inst, ok := s.agentRequest(w, r, auth, "cluster", "containerInstance", "StartTelemetrySession")
		if !ok {
			return
		}
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		conn.SetReadLimit(maxTelemetryFrame)
		sess := &acsSession{svc: s, conn: conn, inst: inst.Value, connID: api.NewRequestID()}
		defer conn.Close()
		ctx, cancel := context.WithCancel(api.WithPrincipal(s.hub.ctx, p))
		defer cancel()
		go func() {
			<-ctx.Done()
			conn.Close()
		}()
		go sess.heartbeats(ctx, s.hub.opts.Heartbeat)
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			frame, err := acs.Decode(data)
			if err != nil {
				continue
			}
			ack, ok := telemetryAcks[frame.Type]
			if !ok {
				continue
			}
			if frame.Type == acs.TypePublishHealth {
				var req acs.PublishHealthRequest
				if err := frame.Into(&req); err != nil {
					s.log.Debug("undecodable health report", "containerInstance", inst.Value.Instance.ContainerInstanceArn, "err", err)
				} else {
					s.recordHealth(ctx, inst.Value, req)
				}
			}
			if err := sess.send(ack, struct{}{}); err != nil {
				return
			}
		}
	})
}

// recordHealth applies an agent's health report to the tasks of its
// instance; reports about other instances' tasks are ignored.
func (s *Service) recordHealth(ctx context.Context, inst instanceRecord, req acs.PublishHealthRequest) {
	for _, th := range req.Tasks {
		if err := s.recordTaskHealth(ctx, inst, th); err != nil && ctx.Err() == nil {
			s.log.Warn("record task health", "task", th.TaskArn, "err", err)
		}
	}
}

// recordTaskHealth writes one task's container health, and the task health
// derived from it, when either changed. The write is conditional on the
// task's revision and retried on a concurrent change.
func (s *Service) recordTaskHealth(ctx context.Context, inst instanceRecord, th acs.TaskHealth) error {
	for attempt := 0; attempt < 5; attempt++ {
		it, found, err := s.findTask(ctx, inst.Cluster, th.TaskArn)
		if err != nil {
			return err
		}
		if !found || it.Value.InstanceID != inst.ID || it.Value.Task.TaskArn != th.TaskArn || it.Value.Task.LastStatus == "STOPPED" {
			return nil
		}
		td, err := s.taskDefinitionOf(ctx, &it.Value)
		if err != nil {
			return err
		}
		rec := it.Value
		rec.Task.Containers = append([]Container(nil), rec.Task.Containers...)
		if !applyHealth(&rec.Task, th.Containers, essentialContainers(&td)) {
			return nil
		}
		err = s.commitTaskChange(ctx, it, &rec, rec.Task.LastStatus)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err == nil {
			s.log.Info("task health", "task", rec.Task.TaskArn, "health", rec.Task.HealthStatus)
		}
		return err
	}
	return store.ErrConflict
}
