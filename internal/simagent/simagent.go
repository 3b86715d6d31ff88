// Package simagent is a no-op ECS agent for scale simulation and
// benchmarks: it speaks the real protocol (RegisterContainerInstance, the
// SigV4-signed ACS websocket, SubmitTaskStateChange) but runs nothing.
// It never replaces the real agent in behavioural tests.
package simagent

import (
	"context"
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
	conn        *websocket.Conn
	wmu         sync.Mutex
	// seen holds the ARN of every task a payload has brought; only the
	// read loop touches it.
	seen     map[string]struct{}
	received atomic.Int64
	counter  *atomic.Int64
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
	// Received, when set, is incremented (as Agent.Received is) once for
	// each distinct task the agent receives, so that many agents can share
	// one count.
	Received *atomic.Int64
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
		seen: map[string]struct{}{}, counter: opts.Received}
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

// Received is the number of distinct tasks (by ARN) the agent has been
// sent, whatever their desired status: a task reaches an agent when its
// first payload does.
func (a *Agent) Received() int64 { return a.received.Load() }

// Close disconnects the agent.
func (a *Agent) Close() error { return a.conn.Close() }

func (a *Agent) serve(ctx context.Context) {
	defer a.conn.Close()
	for {
		_, data, err := a.conn.ReadMessage()
		if err != nil {
			return
		}
		frame, err := acs.Decode(data)
		if err != nil {
			continue
		}
		switch frame.Type {
		case acs.TypePayload:
			// Only what a no-op agent uses is decoded: a full payload
			// costs the benchmark's one process more than the placement.
			var m payload
			frame.Into(&m)
			a.count(m.Tasks)
			a.write(acs.Frame{Type: acs.TypeAck, Message: acs.AckRequest{Cluster: a.cluster, ContainerInstance: a.InstanceArn, MessageId: m.MessageId}})
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
			frame.Into(&m)
			a.write(acs.Frame{Type: acs.TypeHeartbeatAck, Message: acs.HeartbeatAckRequest{MessageId: m.MessageId}})
		}
	}
}

// payload is the part of an acs.PayloadMessage a simulated agent reads.
type payload struct {
	MessageId string        `json:"messageId"`
	Tasks     []payloadTask `json:"tasks"`
}

type payloadTask struct {
	Arn           string `json:"arn"`
	DesiredStatus string `json:"desiredStatus"`
}

// count records the tasks of a payload the agent had not seen before.
func (a *Agent) count(tasks []payloadTask) {
	for _, t := range tasks {
		if _, dup := a.seen[t.Arn]; dup {
			continue
		}
		a.seen[t.Arn] = struct{}{}
		a.received.Add(1)
		if a.counter != nil {
			a.counter.Add(1)
		}
	}
}
