// Package simagent is a no-op ECS agent for scale simulation and
// benchmarks: it speaks the real protocol (RegisterContainerInstance, the
// SigV4-signed ACS websocket, SubmitTaskStateChange) but runs nothing.
// It never replaces the real agent in behavioural tests.
package simagent

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/gorilla/websocket"

	"github.com/berth-dev/berth/internal/acs"
)

// Agent is one simulated container instance.
type Agent struct {
	// InstanceArn is the registered container instance.
	InstanceArn string
	client      *ecs.Client
	cluster     string
	silent      bool
	delivered   *atomic.Int64
	seen        map[string]bool // task ARNs received, for delivered
	conn        *websocket.Conn
	wmu         sync.Mutex
}

// Options describe the simulated instance.
type Options struct {
	Cluster     string
	CPU, Memory int32
	Attributes  map[string]string
	Region      string
	Credentials aws.Credentials
	// Dial, when set, makes the ACS connection (nil: TCP).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Silent agents acknowledge payloads but report no state changes, so
	// a benchmark measures placement alone.
	Silent bool
	// Delivered, when set, counts the distinct tasks the agent received
	// to run, so a benchmark can stop its clock when every placed task
	// has reached its agent.
	Delivered *atomic.Int64
}

// Start registers an instance and connects its ACS websocket; tasks sent to
// it are reported RUNNING or STOPPED at once, as their desired status says.
func Start(ctx context.Context, client *ecs.Client, opts Options) (*Agent, error) {
	var attrs []ecstypes.Attribute
	for k, v := range opts.Attributes {
		attrs = append(attrs, ecstypes.Attribute{Name: aws.String(k), Value: aws.String(v)})
	}
	out, err := client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{
		Cluster: aws.String(opts.Cluster), Attributes: attrs,
		TotalResources: []ecstypes.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: opts.CPU},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: opts.Memory},
		},
	})
	if err != nil {
		return nil, err
	}
	a := &Agent{InstanceArn: aws.ToString(out.ContainerInstance.ContainerInstanceArn), client: client, cluster: opts.Cluster, silent: opts.Silent,
		delivered: opts.Delivered, seen: map[string]bool{}}
	poll, err := client.DiscoverPollEndpoint(ctx, &ecs.DiscoverPollEndpointInput{Cluster: aws.String(opts.Cluster), ContainerInstance: aws.String(a.InstanceArn)})
	if err != nil {
		return nil, err
	}
	q := url.Values{"clusterArn": {opts.Cluster}, "containerInstanceArn": {a.InstanceArn}, "seqNum": {"1"}, "protocolVersion": {"2"}}
	u := aws.ToString(poll.Endpoint) + "/ws?" + q.Encode()
	conn, _, err := acs.DialVia(ctx, opts.Dial, u, opts.Credentials, opts.Region)
	if err != nil {
		return nil, fmt.Errorf("dial ACS: %w", err)
	}
	a.conn = conn
	go a.serve(ctx)
	return a, nil
}

func (a *Agent) write(f acs.Frame) {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	a.conn.WriteJSON(f)
}

// Close disconnects the agent.
func (a *Agent) Close() error { return a.conn.Close() }

func (a *Agent) serve(ctx context.Context) {
	defer a.conn.Close()
	for {
		_, data, err := a.conn.ReadMessage()
		if err != nil {
			return
		}
		var frame struct {
			Type    string          `json:"type"`
			Message json.RawMessage `json:"message"`
		}
		if json.Unmarshal(data, &frame) != nil {
			continue
		}
		switch frame.Type {
		case acs.TypePayload:
			var m acs.PayloadMessage
			json.Unmarshal(frame.Message, &m)
			a.write(acs.Frame{Type: acs.TypeAck, Message: acs.AckRequest{Cluster: a.cluster, ContainerInstance: a.InstanceArn, MessageId: m.MessageId}})
			if a.delivered != nil {
				for _, t := range m.Tasks {
					if t.DesiredStatus == "RUNNING" && !a.seen[t.Arn] {
						a.seen[t.Arn] = true
						a.delivered.Add(1)
					}
				}
			}
			if a.silent {
				continue
			}
			for _, t := range m.Tasks {
				go a.client.SubmitTaskStateChange(ctx, &ecs.SubmitTaskStateChangeInput{
					Cluster: aws.String(a.cluster), Task: aws.String(t.Arn), Status: aws.String(t.DesiredStatus),
				})
			}
		case acs.TypeHeartbeat:
			var m acs.HeartbeatMessage
			json.Unmarshal(frame.Message, &m)
			a.write(acs.Frame{Type: acs.TypeHeartbeatAck, Message: acs.HeartbeatAckRequest{MessageId: m.MessageId}})
		}
	}
}
