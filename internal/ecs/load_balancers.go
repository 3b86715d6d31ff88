package ecs

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/berth-dev/berth/internal/api"
)

// A service with loadBalancers has its tasks registered with target
// groups, as ECS does: CreateService and UpdateService check each
// (targetGroupArn, containerName, containerPort) against Elastic Load
// Balancing and the task definition; the leader registers each RUNNING
// task (lb_targets.go), deregisters it and lets it drain before the
// scheduler's stop reaches its agent, and replaces a task whose target
// turns unhealthy once the health check grace period is over.

// LoadBalancing is Elastic Load Balancing as ECS uses it, on behalf of
// the service (no caller's permissions are checked: ECS acts with its
// service-linked role).
type LoadBalancing interface {
	// TargetGroup describes a target group, or returns an error with
	// code TargetGroupNotFound.
	TargetGroup(ctx context.Context, arn string) (TargetGroupInfo, error)
	// RegisterTargets registers targets; registering one again is a no-op.
	RegisterTargets(ctx context.Context, arn string, targets []LBTarget) error
	// DeregisterTargets starts the targets' draining; a target that is not
	// registered (or already draining) is skipped.
	DeregisterTargets(ctx context.Context, arn string, targets []LBTarget) error
	// TargetHealth is the health of the targets, as DescribeTargetHealth
	// says it.
	TargetHealth(ctx context.Context, arn string, targets []LBTarget) ([]LBTargetHealth, error)
}

// TargetGroupInfo is what ECS needs to know of a target group.
type TargetGroupInfo struct {
	ARN, Name, TargetType, Protocol, VpcID string
	// LoadBalancers forward to the group; ECS refuses a group without one.
	LoadBalancers []string
	// DeregistrationDelay is how long a deregistered target drains.
	DeregistrationDelay time.Duration
}

// LBTarget is a target: an instance id or an IP address, and a port.
type LBTarget struct {
	ID   string `json:"id"`
	Port int    `json:"port"`
}

// LBTargetHealth is one target's state (initial, healthy, unhealthy,
// unused, draining, unavailable) with ELB's reason code and description.
type LBTargetHealth struct {
	Target                     LBTarget
	State, Reason, Description string
}

// maxServiceLoadBalancers is ECS's limit of load balancers per service.
const maxServiceLoadBalancers = 5

// checkLoadBalancers checks a service's loadBalancers against ELB and the
// task definition it runs, with ECS's messages.
func (s *Service) checkLoadBalancers(ctx context.Context, lbs []LoadBalancer, td *TaskDefinition) error {
	if len(lbs) == 0 {
		return nil
	}
	if len(lbs) > maxServiceLoadBalancers {
		return api.InvalidParameter("loadBalancers can have at most %d items.", maxServiceLoadBalancers)
	}
	if s.cfg.LoadBalancing == nil {
		return api.InvalidParameter("loadBalancers need Berth's Elastic Load Balancing, which this server does not run.")
	}
	seen := map[string]bool{}
	for _, lb := range lbs {
		if lb.LoadBalancerName != "" && lb.TargetGroupArn != "" {
			return api.InvalidParameter("loadBalancerName and targetGroupArn cannot both be specified.")
		}
		if lb.LoadBalancerName == "" && lb.TargetGroupArn == "" {
			return api.InvalidParameter("Target Group Arn can not be blank.")
		}
		if lb.ContainerName == "" {
			return api.InvalidParameter("Container Name can not be blank.")
		}
		if lb.ContainerPort == nil {
			return api.InvalidParameter("Container Port can not be blank.")
		}
		key := s.lbRef(lb) + "|" + lb.ContainerName + "|" + strconv.Itoa(*lb.ContainerPort)
		if seen[key] {
			return api.InvalidParameter("The load balancer with targetGroupArn %s, containerName %s and containerPort %d is given twice.", s.lbRef(lb), lb.ContainerName, *lb.ContainerPort)
		}
		seen[key] = true
		if lb.LoadBalancerName != "" {
			if err := s.checkClassic(ctx, lb, td); err != nil {
				return err
			}
			continue
		}
		g, err := s.cfg.LoadBalancing.TargetGroup(ctx, lb.TargetGroupArn)
		var ae *api.Error
		if errors.As(err, &ae) && (ae.Code == "TargetGroupNotFound" || ae.Code == api.CodeValidation) {
			return api.InvalidParameter("Unable to find the target group with targetGroupArn %s.", lb.TargetGroupArn)
		}
		if err != nil {
			return err
		}
		if len(g.LoadBalancers) == 0 {
			return api.InvalidParameter("The target group with targetGroupArn %s does not have an associated load balancer.", lb.TargetGroupArn)
		}
		mode := networkMode(td)
		if want := targetTypeFor(mode); g.TargetType != want {
			return api.InvalidParameter("The provided target group %s has target type %s, which is incompatible with the %s network mode specified in the task definition.", lb.TargetGroupArn, g.TargetType, mode)
		}
		if _, err := mappedPort(td, lb); err != nil {
			return err
		}
	}
	return nil
}

// mappedPort is the port mapping of a load balancer's container port.
func mappedPort(td *TaskDefinition, lb LoadBalancer) (PortMapping, error) {
	i := slices.IndexFunc(td.ContainerDefinitions, func(c ContainerDefinition) bool { return c.Name == lb.ContainerName })
	if i < 0 {
		return PortMapping{}, api.InvalidParameter("The container %s does not exist in the task definition.", lb.ContainerName)
	}
	j := slices.IndexFunc(td.ContainerDefinitions[i].PortMappings, func(p PortMapping) bool {
		return p.ContainerPort != nil && *p.ContainerPort == *lb.ContainerPort
	})
	if j < 0 {
		return PortMapping{}, api.InvalidParameter("The container %s did not have a container port %d defined.", lb.ContainerName, *lb.ContainerPort)
	}
	return td.ContainerDefinitions[i].PortMappings[j], nil
}

// checkClassic checks a loadBalancers entry naming a Classic load
// balancer: it exists, the tasks run on instances (not awsvpc), and the
// container port has a static host port, since a Classic load balancer
// forwards to one instance port.
func (s *Service) checkClassic(ctx context.Context, lb LoadBalancer, td *TaskDefinition) error {
	_, err := s.cfg.LoadBalancing.TargetGroup(ctx, s.classicARN(lb.LoadBalancerName))
	var ae *api.Error
	if errors.As(err, &ae) && (ae.Code == "LoadBalancerNotFound" || ae.Code == api.CodeValidation) {
		return api.InvalidParameter("Unable to find the load balancer with loadBalancerName %s.", lb.LoadBalancerName)
	}
	if err != nil {
		return err
	}
	if mode := networkMode(td); mode == "awsvpc" {
		return api.InvalidParameter("Classic Load Balancers are not supported with the awsvpc network mode specified in the task definition: name a targetGroupArn of an ip target group instead of loadBalancerName %s.", lb.LoadBalancerName)
	}
	pm, err := mappedPort(td, lb)
	if err != nil {
		return err
	}
	if networkMode(td) == "bridge" && (pm.HostPort == nil || *pm.HostPort == 0) {
		return api.InvalidParameter("The container %s uses a dynamic host port for container port %d; a Classic Load Balancer (%s) needs a static hostPort: set one, or use a target group.", lb.ContainerName, *lb.ContainerPort, lb.LoadBalancerName)
	}
	return nil
}

// networkMode is a task definition's network mode; bridge when unset.
func networkMode(td *TaskDefinition) string {
	if td.NetworkMode == "" {
		return "bridge"
	}
	return td.NetworkMode
}

// targetTypeFor is the target type a network mode's tasks register as:
// their own address (awsvpc), else their instance and host port.
func targetTypeFor(mode string) string {
	if mode == "awsvpc" {
		return "ip"
	}
	return "instance"
}
