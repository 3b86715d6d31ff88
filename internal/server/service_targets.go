package server

import (
	"context"

	"github.com/berth-dev/berth/internal/ecs"
	"github.com/berth-dev/berth/internal/elbv2"
)

// serviceTargets is ELBv2 as ECS registers its services' tasks with it:
// ECS knows nothing of the ELB packages, only its LoadBalancing interface.
type serviceTargets struct{ elb *elbv2.Service }

var _ ecs.LoadBalancing = serviceTargets{}

func (t serviceTargets) TargetGroup(ctx context.Context, arn string) (ecs.TargetGroupInfo, error) {
	g, err := t.elb.ServiceTargetGroup(ctx, arn)
	return ecs.TargetGroupInfo{ARN: g.ARN, Name: g.Name, TargetType: g.TargetType, Protocol: g.Protocol, VpcID: g.VpcID,
		LoadBalancers: g.LoadBalancers, DeregistrationDelay: g.DeregistrationDelay}, err
}

func (t serviceTargets) RegisterTargets(ctx context.Context, arn string, targets []ecs.LBTarget) error {
	return t.elb.RegisterServiceTargets(ctx, arn, descriptions(targets))
}

func (t serviceTargets) DeregisterTargets(ctx context.Context, arn string, targets []ecs.LBTarget) error {
	return t.elb.DeregisterServiceTargets(ctx, arn, descriptions(targets))
}

func (t serviceTargets) TargetHealth(ctx context.Context, arn string, targets []ecs.LBTarget) ([]ecs.LBTargetHealth, error) {
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

func descriptions(targets []ecs.LBTarget) []elbv2.TargetDescription {
	out := make([]elbv2.TargetDescription, len(targets))
	for i, t := range targets {
		out[i] = elbv2.TargetDescription{Id: t.ID, Port: &t.Port}
	}
	return out
}
