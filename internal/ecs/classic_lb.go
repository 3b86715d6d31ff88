package ecs

import (
	"fmt"
	"strings"
)

// A service's loadBalancers entry may name a Classic load balancer
// (loadBalancerName) instead of a target group. ECS then registers the
// task's EC2 instance with it, and the load balancer forwards to the
// instance at its listeners' instance port: the task needs a static host
// port. ECS's pass treats the load balancer as a target group whose
// "ARN" is the load balancer's, which LoadBalancing tells apart.

// classicARN is the ARN of a Classic load balancer.
func (s *Service) classicARN(name string) string {
	return fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:loadbalancer/%s", s.cfg.Region, s.cfg.Account, name)
}

// ClassicName is the name of the Classic load balancer of arn; ok is
// false for a target group's ARN.
func ClassicName(arn string) (name string, ok bool) {
	_, name, ok = strings.Cut(arn, ":loadbalancer/")
	return name, ok && !strings.Contains(name, "/")
}

// lbRef is what a loadBalancers entry registers with: its target group,
// or its Classic load balancer's ARN.
func (s *Service) lbRef(lb LoadBalancer) string {
	if lb.LoadBalancerName != "" {
		return s.classicARN(lb.LoadBalancerName)
	}
	return lb.TargetGroupArn
}

// resolved are a service's loadBalancers with each one's lbRef in
// TargetGroupArn, as the load balancer pass registers them.
func (s *Service) resolved(lbs []LoadBalancer) []LoadBalancer {
	out := make([]LoadBalancer, len(lbs))
	for i, lb := range lbs {
		out[i] = lb
		out[i].TargetGroupArn = s.lbRef(lb)
	}
	return out
}

// lbWhere words where targets are, as ECS's events do: "(target-group
// ARN)" or "(elb NAME)".
func lbWhere(ref string) string {
	if name, ok := ClassicName(ref); ok {
		return "(elb " + name + ")"
	}
	return "(target-group " + ref + ")"
}

// lbTargetsIn words registered targets: "N targets in (target-group
// ARN)", or "N instances in (elb NAME)".
func lbTargetsIn(n int, ref string) string {
	if _, ok := ClassicName(ref); ok {
		return fmt.Sprintf("%d instances in %s", n, lbWhere(ref))
	}
	return fmt.Sprintf("%d targets in %s", n, lbWhere(ref))
}
