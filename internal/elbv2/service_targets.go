package elbv2

import (
	"context"
	"time"
)

// ECS registers the tasks of services with loadBalancers through these
// calls. ECS acts with its service-linked role, so no caller's
// permissions are checked; the targets are checked as RegisterTargets
// checks them.

// ServiceGroup is what ECS needs to know of a target group.
type ServiceGroup struct {
	ARN, Name, TargetType, Protocol, VpcID string
	LoadBalancers                          []string
	DeregistrationDelay                    time.Duration
}

// ServiceTargetGroup describes a target group for ECS, or fails with
// TargetGroupNotFound (or a validation error for an ARN that is not one).
func (s *Service) ServiceTargetGroup(ctx context.Context, arn string) (ServiceGroup, error) {
	it, err := s.targetGroup(ctx, arn)
	if err != nil {
		return ServiceGroup{}, err
	}
	g := it.Value
	return ServiceGroup{ARN: g.ARN, Name: g.Name, TargetType: g.TargetType, Protocol: g.Protocol, VpcID: g.VpcID,
		LoadBalancers: g.LoadBalancers, DeregistrationDelay: g.delay()}, nil
}

// RegisterServiceTargets registers a service task's targets.
func (s *Service) RegisterServiceTargets(ctx context.Context, arn string, targets []TargetDescription) error {
	return s.register(ctx, "", arn, targets)
}

// DeregisterServiceTargets starts the draining of a service task's
// targets; targets that are not registered are skipped.
func (s *Service) DeregisterServiceTargets(ctx context.Context, arn string, targets []TargetDescription) error {
	return s.deregister(ctx, "", arn, targets)
}

// ServiceTargetHealth is the health of a group's targets (all registered
// ones when targets is empty), as DescribeTargetHealth says it.
func (s *Service) ServiceTargetHealth(ctx context.Context, arn string, targets []TargetDescription) ([]TargetHealthDescription, error) {
	it, err := s.targetGroup(ctx, arn)
	if err != nil {
		return nil, err
	}
	return s.describeHealth(ctx, it.Value, targets).TargetHealthDescriptions, nil
}
