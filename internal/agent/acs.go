package agent

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/berth-dev/berth/internal/acs"
)

// errInactive means the server no longer knows this instance.
type errInactive struct{ msg string }

func (e errInactive) Error() string { return e.msg }

// acsLoop keeps an ACS connection open, reconnecting with back-off.
func (a *Agent) acsLoop(ctx context.Context) error {
	backoff := 250 * time.Millisecond
	for ctx.Err() == nil {
		start := time.Now()
		err := a.acsSession(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if ie, ok := err.(errInactive); ok {
			// The registration is gone: forget it so the next start registers anew.
			a.saveState(persisted{Ec2InstanceID: a.loadState().Ec2InstanceID})
			return fmt.Errorf("container instance is no longer registered: %s", ie.msg)
		}
		if time.Since(start) > time.Minute {
			backoff = 250 * time.Millisecond
		}
		a.log.Warn("ACS connection ended; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 15*time.Second)
	}
	return nil
}

// acsSession discovers the poll endpoint, opens the signed websocket and
// handles frames until the connection ends.
func (a *Agent) acsSession(ctx context.Context) error {
	out, err := a.ecs.DiscoverPollEndpoint(ctx, &ecs.DiscoverPollEndpointInput{
		Cluster: aws.String(a.cfg.Cluster), ContainerInstance: aws.String(a.instanceArn),
	})
	if err != nil {
		return fmt.Errorf("discover poll endpoint: %w", err)
	}
	q := url.Values{}
	q.Set("clusterArn", a.cfg.Cluster)
	q.Set("containerInstanceArn", a.instanceArn)
	q.Set("agentHash", "berth")
	q.Set("agentVersion", Version)
	q.Set("seqNum", "1")
	q.Set("protocolVersion", "2")
	// Containers get role credentials from the host's task endpoint,
	// which asks the server for them; no keys on this connection.
	q.Set("sendCredentials", "false")
	q.Set("taskCredentials", "endpoint")
	httpURL := strings.TrimSuffix(aws.ToString(out.Endpoint), "/") + "/ws?" + q.Encode()
	creds, err := a.creds.Retrieve(ctx)
	if err != nil {
		return err
	}
	conn, resp, err := acs.Dial(ctx, httpURL, creds, a.cfg.Region)
	if err != nil {
		if resp != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if strings.Contains(string(body), "InactiveInstanceException") || strings.Contains(string(body), "InvalidInstanceException") {
				return errInactive{msg: string(body)}
			}
			return fmt.Errorf("connect to ACS: %s: %s", resp.Status, body)
		}
		return fmt.Errorf("connect to ACS: %w", err)
	}
	defer conn.Close()
	a.log.Info("connected to ACS", "endpoint", aws.ToString(out.Endpoint))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-ctx.Done()
		conn.Close()
	}()
	var wmu sync.Mutex
	send := func(typ string, msg any) error {
		wmu.Lock()
		defer wmu.Unlock()
		conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		return conn.WriteJSON(acs.Frame{Type: typ, Message: msg})
	}
	// Re-report every task's state after (re)connecting: reports sent while
	// the server was away may have been lost.
	a.markAllDirty()
	for {
		conn.SetReadDeadline(time.Now().Add(5 * time.Minute))
		_, data, err := conn.ReadMessage()
		if err != nil {
			return err
		}
		frame, err := acs.Decode(data)
		if err != nil {
			a.log.Warn("undecodable ACS frame", "err", err)
			continue
		}
		switch frame.Type {
		case acs.TypePayload:
			var m acs.PayloadMessage
			if err := frame.Into(&m); err != nil {
				a.log.Warn("bad PayloadMessage", "err", err)
				continue
			}
			a.applyPayload(ctx, m.Tasks)
			if err := send(acs.TypeAck, acs.AckRequest{Cluster: a.cfg.Cluster, ContainerInstance: a.instanceArn, MessageId: m.MessageId}); err != nil {
				return err
			}
		case acs.TypeTaskManifest:
			var m acs.TaskManifestMessage
			if err := frame.Into(&m); err != nil {
				continue
			}
			a.applyManifest(ctx, m.Tasks)
			if err := send(acs.TypeAck, acs.AckRequest{Cluster: a.cfg.Cluster, ContainerInstance: a.instanceArn, MessageId: m.MessageId}); err != nil {
				return err
			}
		case acs.TypeHeartbeat:
			var m acs.HeartbeatMessage
			frame.Into(&m)
			if err := send(acs.TypeHeartbeatAck, acs.HeartbeatAckRequest{MessageId: m.MessageId}); err != nil {
				return err
			}
		case acs.TypeClose:
			return fmt.Errorf("server closed the session: %s", frame.Message)
		case acs.TypeError:
			return fmt.Errorf("server error: %s", frame.Message)
		default:
			a.log.Debug("ignoring ACS frame", "type", frame.Type)
		}
	}
}
