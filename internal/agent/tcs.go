package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/berth-dev/berth/internal/acs"
)

// healthPublishInterval is how often the full health report is re-sent even
// when nothing changed, as the ECS agent does; a report lost with a broken
// connection is repaired by the next one.
const healthPublishInterval = 20 * time.Second

// tcsLoop keeps a telemetry (TCS) connection open and publishes container
// health on it, reconnecting with back-off. Nothing else depends on it: with
// TCS down the agent runs tasks as usual and health simply goes unreported.
func (a *Agent) tcsLoop(ctx context.Context) {
	since := healthSince{}
	backoff := time.Second
	for ctx.Err() == nil {
		start := time.Now()
		err := a.tcsSession(ctx, since)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			backoff = time.Second
		}
		a.log.Warn("TCS connection ended; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Minute)
	}
}

// tcsSession opens the signed telemetry websocket and publishes health
// whenever it changes and every healthPublishInterval, until the connection
// fails.
func (a *Agent) tcsSession(ctx context.Context, since healthSince) error {
	out, err := a.ecs.DiscoverPollEndpoint(ctx, &ecs.DiscoverPollEndpointInput{
		Cluster: aws.String(a.cfg.Cluster), ContainerInstance: aws.String(a.instanceArn),
	})
	if err != nil {
		return fmt.Errorf("discover telemetry endpoint: %w", err)
	}
	endpoint := aws.ToString(out.TelemetryEndpoint)
	if endpoint == "" {
		return errors.New("the server announced no telemetry endpoint")
	}
	q := url.Values{}
	q.Set("cluster", a.cfg.Cluster)
	q.Set("containerInstance", a.instanceArn)
	q.Set("agentVersion", Version)
	q.Set("agentHash", "berth")
	creds, err := a.creds.Retrieve(ctx)
	if err != nil {
		return err
	}
	conn, resp, err := acs.Dial(ctx, strings.TrimSuffix(endpoint, "/")+"/ws?"+q.Encode(), creds, a.cfg.Region)
	if err != nil {
		if resp != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			return fmt.Errorf("connect to TCS: %s: %s", resp.Status, body)
		}
		return fmt.Errorf("connect to TCS: %w", err)
	}
	defer conn.Close()
	a.log.Info("connected to TCS", "endpoint", endpoint)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The server only sends heartbeats and acknowledgements; reading them
	// is how a dead connection is noticed.
	readErr := make(chan error, 1)
	go func() {
		defer cancel()
		for {
			conn.SetReadDeadline(time.Now().Add(5 * time.Minute))
			if _, _, err := conn.ReadMessage(); err != nil {
				readErr <- err
				return
			}
		}
	}()
	go func() {
		<-ctx.Done()
		conn.Close()
	}()

	tick := time.NewTicker(healthPublishInterval)
	defer tick.Stop()
	last := ""
	for {
		report := a.healthReport(since)
		sig, _ := json.Marshal(report)
		if string(sig) != last {
			for _, req := range a.healthRequests(report) {
				conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
				if err := conn.WriteJSON(acs.Frame{Type: acs.TypePublishHealth, Message: req}); err != nil {
					return fmt.Errorf("publish health: %w", err)
				}
			}
			last = string(sig)
		}
		select {
		case <-ctx.Done():
			select {
			case err := <-readErr:
				return err
			default:
				return ctx.Err()
			}
		case <-a.healthKick:
		case <-tick.C:
			last = "" // re-send the full report
		}
	}
}
