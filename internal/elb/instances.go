package elb

import (
	"context"
	"slices"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/ec2"
	"github.com/berth-dev/berth/internal/lb"
)

type InstancesInput struct {
	LoadBalancerName string
	Instances        []Instance
}

type InstancesOutput struct {
	Instances api.Members[Instance]
}

// RegisterInstancesWithLoadBalancer adds EC2 instances of the load
// balancer's VPC; one registered already (or draining) is registered.
func (s *Service) RegisterInstancesWithLoadBalancer(ctx context.Context, in *InstancesInput) (*InstancesOutput, error) {
	ids, err := s.instanceIDs(ctx, "RegisterInstancesWithLoadBalancer", in)
	if err != nil {
		return nil, err
	}
	r, err := s.register(ctx, in.LoadBalancerName, ids)
	if err != nil {
		return nil, err
	}
	return s.registered(r), nil
}

// register adds instances, each of the load balancer's VPC.
func (s *Service) register(ctx context.Context, name string, ids []string) (lbRecord, error) {
	cur, err := s.balancer(ctx, name)
	if err != nil {
		return lbRecord{}, err
	}
	for _, id := range ids {
		inst, err := s.ec2.Instance(ctx, id)
		if err != nil {
			return lbRecord{}, api.Errorf(codeInvalidInstance, "The requested instance(s) could not be found: '%s'", id)
		}
		if inst.VpcID != cur.Value.VpcID {
			return lbRecord{}, api.Errorf(codeInvalidInstance, "EC2 instance %s is not in the same VPC as ELB.", id)
		}
	}
	return s.mutate(ctx, name, func(r *lbRecord) error {
		for _, id := range ids {
			if i := slices.IndexFunc(r.Instances, func(x instanceRef) bool { return x.ID == id }); i >= 0 {
				r.Instances[i].Draining = nil
				continue
			}
			r.Instances = append(r.Instances, instanceRef{ID: id})
		}
		if len(r.Instances) > maxInstances {
			return invalidConfig("A load balancer can have at most %d instances", maxInstances)
		}
		return nil
	})
}

// DeregisterInstancesFromLoadBalancer removes instances. With connection
// draining enabled an instance takes no new connections and leaves once
// the draining timeout is over; without, it leaves at once.
func (s *Service) DeregisterInstancesFromLoadBalancer(ctx context.Context, in *InstancesInput) (*InstancesOutput, error) {
	ids, err := s.instanceIDs(ctx, "DeregisterInstancesFromLoadBalancer", in)
	if err != nil {
		return nil, err
	}
	r, err := s.deregister(ctx, in.LoadBalancerName, ids, true)
	if err != nil {
		return nil, err
	}
	return s.registered(r), nil
}

// deregister removes instances, or starts their draining; one not
// registered is InvalidInstance when strict, else skipped.
func (s *Service) deregister(ctx context.Context, name string, ids []string, strict bool) (lbRecord, error) {
	now := s.now().UTC()
	return s.mutate(ctx, name, func(r *lbRecord) error {
		r.prune(now)
		for _, id := range ids {
			i := slices.IndexFunc(r.Instances, func(x instanceRef) bool { return x.ID == id && !x.draining(now) })
			if i < 0 && !strict {
				continue
			}
			if i < 0 {
				return api.Errorf(codeInvalidInstance, "The instance %s is not registered with load balancer '%s'", id, r.Name)
			}
			if !r.Attributes.ConnectionDraining.Enabled {
				r.Instances = slices.Delete(r.Instances, i, i+1)
				continue
			}
			until := now.Add(time.Duration(r.Attributes.ConnectionDraining.Timeout) * time.Second)
			r.Instances[i].Draining = &until
		}
		return nil
	})
}

// prune drops the instances whose draining is over.
func (r *lbRecord) prune(now time.Time) {
	r.Instances = slices.DeleteFunc(r.Instances, func(i instanceRef) bool { return i.Draining != nil && !i.draining(now) })
}

func (s *Service) instanceIDs(ctx context.Context, action string, in *InstancesInput) ([]string, error) {
	if err := s.authorizeName(ctx, action, in.LoadBalancerName); err != nil {
		return nil, err
	}
	if len(in.Instances) == 0 {
		return nil, check.Null("instances")
	}
	var ids []string
	for i, inst := range in.Instances {
		if inst.InstanceId == "" {
			return nil, check.Null("instances." + itoa(i+1) + ".member.instanceId")
		}
		if !slices.Contains(ids, inst.InstanceId) {
			ids = append(ids, inst.InstanceId)
		}
	}
	return ids, nil
}

// registered answers the instances taking traffic.
func (s *Service) registered(r lbRecord) *InstancesOutput {
	return &InstancesOutput{Instances: r.serving(s.now())}
}

// serving are the instances taking traffic at now (not draining).
func (r lbRecord) serving(now time.Time) api.Members[Instance] {
	out := api.Members[Instance]{}
	for _, i := range r.Instances {
		if !i.draining(now) {
			out = append(out, Instance{InstanceId: i.ID})
		}
	}
	return out
}

type InstanceState struct {
	InstanceId  string
	State       string
	ReasonCode  string
	Description string
}

type DescribeInstanceHealthOutput struct {
	InstanceStates api.Members[InstanceState]
}

// AWS's instance states and descriptions.
const (
	inService    = "InService"
	outOfService = "OutOfService"

	descRegistering   = "Instance registration is still in progress."
	descDeregistering = "Instance deregistration currently in progress."
	descFailed        = "Instance has failed at least the UnhealthyThreshold number of health checks consecutively."
)

// DescribeInstanceHealth answers the health of the registered instances,
// or of those asked for (one not registered is InvalidInstance), as this
// server's health checks last found it.
func (s *Service) DescribeInstanceHealth(ctx context.Context, in *InstancesInput) (*DescribeInstanceHealthOutput, error) {
	if err := s.authorizeName(ctx, "DescribeInstanceHealth", in.LoadBalancerName); err != nil {
		return nil, err
	}
	states, _, err := s.instanceHealth(ctx, in.LoadBalancerName, in.Instances)
	if err != nil {
		return nil, err
	}
	return &DescribeInstanceHealthOutput{InstanceStates: api.Members[InstanceState](states)}, nil
}

// instanceHealth is the health of the registered instances, or of those
// asked for, with the load balancer.
func (s *Service) instanceHealth(ctx context.Context, name string, want []Instance) ([]InstanceState, lbRecord, error) {
	it, err := s.balancer(ctx, name)
	if err != nil {
		return nil, lbRecord{}, err
	}
	r, now := it.Value, s.now()
	r.prune(now)
	refs := r.Instances
	if len(want) > 0 {
		refs = nil
		for _, w := range want {
			i := slices.IndexFunc(r.Instances, func(x instanceRef) bool { return x.ID == w.InstanceId })
			if i < 0 {
				return nil, r, api.Errorf(codeInvalidInstance, "Could not find EC2 instance %s registered with load balancer '%s'", w.InstanceId, r.Name)
			}
			refs = append(refs, r.Instances[i])
		}
	}
	health, served := s.cfg.Plane.Health(healthGroup(s.arn(r.Name), r))
	out := []InstanceState{}
	for _, ref := range refs {
		st := InstanceState{InstanceId: ref.ID, State: outOfService, ReasonCode: "ELB", Description: descRegistering}
		inst, err := s.ec2.Instance(ctx, ref.ID)
		switch h := health[ref.ID]; {
		case ref.draining(now):
			st.Description = descDeregistering
		case err != nil || inst.State != ec2.StateRunning:
			state := "terminated"
			if err == nil {
				state = inst.State
			}
			st.ReasonCode, st.Description = "Instance", "Instance is in "+state+" state."
		case !served:
		case h.State == lb.StateHealthy:
			st.State, st.ReasonCode, st.Description = inService, "N/A", "N/A"
		case h.State == lb.StateUnhealthy:
			st.ReasonCode, st.Description = "Instance", descFailed
		}
		out = append(out, st)
	}
	return out, r, nil
}
