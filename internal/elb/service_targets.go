package elb

import (
	"context"
	"slices"
	"time"

	"github.com/berth-dev/berth/internal/api"
)

// What ECS uses of the Classic API, on behalf of services whose
// loadBalancers name a Classic load balancer (no caller's permissions are
// checked: ECS acts with its service-linked role).

// ServiceLoadBalancer is what ECS needs to know of a load balancer.
type ServiceLoadBalancer struct {
	ARN, Name, VpcID string
	// Draining is how long a deregistered instance drains (0 without
	// connection draining).
	Draining time.Duration
	// InstancePorts are the ports its listeners forward to.
	InstancePorts []int
}

// ServiceLoadBalancer describes a load balancer, or LoadBalancerNotFound.
func (s *Service) ServiceLoadBalancer(ctx context.Context, name string) (ServiceLoadBalancer, error) {
	it, err := s.balancer(ctx, name)
	if err != nil {
		return ServiceLoadBalancer{}, err
	}
	return serviceShape(s.arn(name), it.Value), nil
}

func serviceShape(arn string, r lbRecord) ServiceLoadBalancer {
	out := ServiceLoadBalancer{ARN: arn, Name: r.Name, VpcID: r.VpcID}
	if d := r.Attributes.ConnectionDraining; d.Enabled {
		out.Draining = time.Duration(d.Timeout) * time.Second
	}
	for _, l := range r.Listeners {
		if !slices.Contains(out.InstancePorts, l.InstancePort) {
			out.InstancePorts = append(out.InstancePorts, l.InstancePort)
		}
	}
	return out
}

// RegisterServiceInstances registers instances; one registered already is
// no change.
func (s *Service) RegisterServiceInstances(ctx context.Context, name string, ids []string) error {
	_, err := s.register(ctx, name, ids)
	return err
}

// DeregisterServiceInstances deregisters instances (they drain as the
// load balancer's connection draining says); one not registered, or a
// load balancer that is gone, is skipped.
func (s *Service) DeregisterServiceInstances(ctx context.Context, name string, ids []string) error {
	_, err := s.deregister(ctx, name, ids, false)
	if err != nil && api.AsError(err).Code == codeNotFound {
		return nil
	}
	return err
}

// ServiceInstanceHealth is the health of the registered instances in
// ELBv2's target words (initial, healthy, unhealthy, draining) with the
// Classic API's reason code and description, and the load balancer.
func (s *Service) ServiceInstanceHealth(ctx context.Context, name string) ([]ServiceInstanceState, ServiceLoadBalancer, error) {
	states, r, err := s.instanceHealth(ctx, name, nil)
	if err != nil {
		return nil, ServiceLoadBalancer{}, err
	}
	out := make([]ServiceInstanceState, 0, len(states))
	for _, st := range states {
		state := "initial"
		switch {
		case st.State == inService:
			state = "healthy"
		case st.Description == descDeregistering:
			state = "draining"
		case st.ReasonCode == "Instance":
			state = "unhealthy"
		}
		out = append(out, ServiceInstanceState{InstanceState: st, TargetState: state})
	}
	return out, serviceShape(s.arn(name), r), nil
}

// ServiceInstanceState is an instance's state with its ELBv2 word.
type ServiceInstanceState struct {
	InstanceState
	TargetState string
}
