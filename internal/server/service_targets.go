package server

import (
	"context"

	"github.com/berth-dev/berth/internal/ecs"
	"github.com/berth-dev/berth/internal/elb"
	"github.com/berth-dev/berth/internal/elbv2"
)

// serviceTargets is Elastic Load Balancing as ECS registers its services'
// tasks with it: ELBv2's target groups, and Classic load balancers, which
// ECS names by their ARNs (ecs.ClassicName). ECS knows nothing of the ELB
// packages, only its LoadBalancing interface.
type serviceTargets struct {
	elb     *elbv2.Service
	classic *elb.Service
}

var _ ecs.LoadBalancing = serviceTargets{}

func (t serviceTargets) TargetGroup(ctx context.Context, arn string) (ecs.TargetGroupInfo, error) {
	if name, ok := ecs.ClassicName(arn); ok {
		lb, err := t.classic.ServiceLoadBalancer(ctx, name)
		return ecs.TargetGroupInfo{ARN: lb.ARN, Name: lb.Name, TargetType: "instance", VpcID: lb.VpcID,
			LoadBalancers: []string{lb.ARN}, DeregistrationDelay: lb.Draining}, err
	}
	g, err := t.elb.ServiceTargetGroup(ctx, arn)
	return ecs.TargetGroupInfo{ARN: g.ARN, Name: g.Name, TargetType: g.TargetType, Protocol: g.Protocol, VpcID: g.VpcID,
		LoadBalancers: g.LoadBalancers, DeregistrationDelay: g.DeregistrationDelay}, err
}

func (t serviceTargets) RegisterTargets(ctx context.Context, arn string, targets []ecs.LBTarget) error {
	if name, ok := ecs.ClassicName(arn); ok {
		return t.classic.RegisterServiceInstances(ctx, name, instanceIDs(targets))
	}
	return t.elb.RegisterServiceTargets(ctx, arn, descriptions(targets))
}

func (t serviceTargets) DeregisterTargets(ctx context.Context, arn string, targets []ecs.LBTarget) error {
	if name, ok := ecs.ClassicName(arn); ok {
		return t.classic.DeregisterServiceInstances(ctx, name, instanceIDs(targets))
	}
	return t.elb.DeregisterServiceTargets(ctx, arn, descriptions(targets))
}

func (t serviceTargets) TargetHealth(ctx context.Context, arn string, targets []ecs.LBTarget) ([]ecs.LBTargetHealth, error) {
	if name, ok := ecs.ClassicName(arn); ok {
		return t.classicHealth(ctx, name)
	}
	hs, err := t.elb.ServiceTargetHealth(ctx, arn, descriptions(targets))
	out := make([]ecs.LBTargetHealth, 0, len(hs))
	for _, h := range hs {
		port := 0
		if h.Target.Port != nil {
			port = *h.Target.Port
		}
		out = append(out, ecs.LBTargetHealth{Target: ecs.LBTarget{ID: h.Target.Id, Port: port},
			State: h.TargetHealth.State, Reason: h.TargetHealth.Reason, Description: h.TargetHealth.Description})
	}
	return out, err
}

// classicHealth is a Classic load balancer's instances' health, as
// targets at each port its listeners forward to: a task's target is its
// instance and host port.
func (t serviceTargets) classicHealth(ctx context.Context, name string) ([]ecs.LBTargetHealth, error) {
	states, lb, err := t.classic.ServiceInstanceHealth(ctx, name)
	var out []ecs.LBTargetHealth
	for _, st := range states {
		for _, port := range lb.InstancePorts {
			out = append(out, ecs.LBTargetHealth{Target: ecs.LBTarget{ID: st.InstanceId, Port: port},
				State: st.TargetState, Reason: st.ReasonCode, Description: st.Description})
		}
	}
	return out, err
}

func descriptions(targets []ecs.LBTarget) []elbv2.TargetDescription {
	out := make([]elbv2.TargetDescription, len(targets))
	for i, t := range targets {
		out[i] = elbv2.TargetDescription{Id: t.ID, Port: &t.Port}
	}
	return out
}

func instanceIDs(targets []ecs.LBTarget) []string {
	out := make([]string, len(targets))
	for i, t := range targets {
		out[i] = t.ID
	}
	return out
}
