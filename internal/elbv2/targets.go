package elbv2

import (
	"context"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/ec2"
	"github.com/berth-dev/berth/internal/lb"
)

// targetRecord is a registered target; Deregistered is set while it
// drains.
type targetRecord struct {
	ID           string     `json:"id"`
	Port         int        `json:"port"`
	Zone         string     `json:"zone,omitempty"`
	Registered   time.Time  `json:"registered"`
	Deregistered *time.Time `json:"deregistered,omitempty"`
}

func (t targetRecord) key() string { return t.ID + ":" + strconv.Itoa(t.Port) }

// delay is a target group's deregistration delay.
func (g tgRecord) delay() time.Duration {
	n, _ := strconv.Atoi(attr(tgAttributes(g), g.Attributes, "deregistration_delay.timeout_seconds"))
	return time.Duration(n) * time.Second
}

// draining reports whether a deregistered target still drains at now.
func (g tgRecord) draining(t targetRecord, now time.Time) bool {
	return t.Deregistered != nil && now.Before(t.Deregistered.Add(g.delay()))
}

// prune drops the targets whose draining is over.
func (g *tgRecord) prune(now time.Time) {
	g.Targets = slices.DeleteFunc(g.Targets, func(t targetRecord) bool { return t.Deregistered != nil && !g.draining(t, now) })
}

type TargetDescription struct {
	Id               string
	Port             *int
	AvailabilityZone string `xml:",omitempty"`
}

type TargetsInput struct {
	TargetGroupArn string
	Targets        []TargetDescription
}

// RegisterTargets registers targets: running instances of the target
// group's VPC (instance type) or IPv4 addresses inside the VPC (ip type),
// on the group's port unless one is given.
func (s *Service) RegisterTargets(ctx context.Context, in *TargetsInput) (*struct{}, error) {
	if len(in.Targets) == 0 {
		return nil, check.Null("targets")
	}
	return nil, s.register(ctx, "RegisterTargets", in.TargetGroupArn, in.Targets)
}

// register registers targets in a group, authorizing action on it unless
// action is empty (ECS's calls on behalf of its services).
func (s *Service) register(ctx context.Context, action, arn string, targets []TargetDescription) error {
	return s.updateGroup(ctx, action, arn, func(g *tgRecord) error {
		now := s.now().UTC()
		g.prune(now)
		for _, d := range targets {
			t, err := s.checkTarget(ctx, *g, d)
			if err != nil {
				return err
			}
			i := slices.IndexFunc(g.Targets, func(o targetRecord) bool { return o.key() == t.key() })
			if i >= 0 {
				g.Targets[i].Deregistered = nil
				continue
			}
			t.Registered = now
			g.Targets = append(g.Targets, t)
		}
		if len(g.Targets) > maxTargetsPerGroup {
			return api.Errorf(codeTooManyTargets, "You've reached the limit on the number of targets per target group (%d)", maxTargetsPerGroup)
		}
		return nil
	})
}

// checkTarget refuses a target the group cannot take.
func (s *Service) checkTarget(ctx context.Context, g tgRecord, d TargetDescription) (targetRecord, error) {
	t := targetRecord{ID: d.Id, Port: g.Port, Zone: d.AvailabilityZone}
	if d.Id == "" {
		return t, check.Null("targets.member.id")
	}
	if d.Port != nil {
		if err := check.Range("port", *d.Port, 1, 65535); err != nil {
			return t, err
		}
		t.Port = *d.Port
	}
	if g.TargetType == "ip" {
		ip, err := netip.ParseAddr(d.Id)
		if err != nil || !ip.Is4() {
			return t, api.Errorf(codeInvalidTarget, "The IP address '%s' is not a valid IPv4 address", d.Id)
		}
		cidr, err := s.ec2.VpcCIDR(ctx, g.VpcID)
		if err != nil {
			return t, err
		}
		if p, err := netip.ParsePrefix(cidr); err != nil || !p.Contains(ip) {
			return t, api.Errorf(codeInvalidTarget, "The IP address '%s' is not within the CIDR of the target group's VPC '%s' (%s)", d.Id, g.VpcID, cidr)
		}
		if t.Zone == "" {
			if t.Zone, err = s.ec2.AddressZone(ctx, g.VpcID, ip); err != nil {
				return t, err
			}
		}
		return t, nil
	}
	if !strings.HasPrefix(d.Id, "i-") {
		return t, api.Errorf(codeInvalidTarget, "The following targets are not valid instance IDs: '%s'", d.Id)
	}
	inst, err := s.ec2.Instance(ctx, d.Id)
	if err != nil {
		return t, api.Errorf(codeInvalidTarget, "The following targets are not valid instances: '%s'", d.Id)
	}
	if inst.VpcID != g.VpcID {
		return t, api.Errorf(codeInvalidTarget, "The following targets are not in the target group VPC '%s': '%s'", g.VpcID, d.Id)
	}
	if inst.State != ec2.StateRunning {
		return t, api.Errorf(codeInvalidTarget, "The following targets are not in a running state and cannot be registered: '%s'", d.Id)
	}
	if t.Zone == "" {
		t.Zone = inst.Zone
	}
	return t, nil
}

// DeregisterTargets deregisters targets: they get no new traffic and
// drain for the group's deregistration delay.
func (s *Service) DeregisterTargets(ctx context.Context, in *TargetsInput) (*struct{}, error) {
	if len(in.Targets) == 0 {
		return nil, check.Null("targets")
	}
	return nil, s.deregister(ctx, "DeregisterTargets", in.TargetGroupArn, in.Targets)
}

// deregister starts the targets' draining, authorizing action on the
// group unless action is empty (ECS's calls on behalf of its services,
// which skip targets that are not registered).
func (s *Service) deregister(ctx context.Context, action, arn string, targets []TargetDescription) error {
	return s.updateGroup(ctx, action, arn, func(g *tgRecord) error {
		now := s.now().UTC()
		g.prune(now)
		for _, d := range targets {
			port := g.Port
			if d.Port != nil {
				port = *d.Port
			}
			key := d.Id + ":" + strconv.Itoa(port)
			i := slices.IndexFunc(g.Targets, func(o targetRecord) bool { return o.key() == key })
			if i < 0 && action == "" {
				continue
			}
			if i < 0 {
				return api.Errorf(codeInvalidTarget, "The following targets are not registered in target group '%s': 'Id: %s, Port: %d'", g.ARN, d.Id, port)
			}
			if g.Targets[i].Deregistered == nil {
				g.Targets[i].Deregistered = &now
			}
		}
		if len(g.LoadBalancers) == 0 {
			g.prune(now.Add(g.delay())) // an unused group has nothing to drain
		}
		return nil
	})
}

type TargetHealthDescription struct {
	Target          TargetDescription
	HealthCheckPort string
	TargetHealth    TargetHealth
}

type TargetHealth struct {
	State       string
	Reason      string `xml:",omitempty"`
	Description string `xml:",omitempty"`
}

type DescribeTargetHealthOutput struct {
	TargetHealthDescriptions api.Members[TargetHealthDescription]
}

// DescribeTargetHealth says each target's health as this server's data
// plane last checked it, or why it is not checked.
func (s *Service) DescribeTargetHealth(ctx context.Context, in *TargetsInput) (*DescribeTargetHealthOutput, error) {
	it, err := s.targetGroup(ctx, in.TargetGroupArn)
	if err != nil {
		return nil, err
	}
	g := it.Value
	if err := s.authorize(ctx, "DescribeTargetHealth", g.ARN); err != nil {
		return nil, err
	}
	return s.describeHealth(ctx, g, in.Targets), nil
}

// describeHealth describes the health of a group's targets: the given
// ones, or all registered.
func (s *Service) describeHealth(ctx context.Context, g tgRecord, targets []TargetDescription) *DescribeTargetHealthOutput {
	now := s.now()
	g.prune(now)
	live, _ := s.plane.Health(g.ARN)
	out := &DescribeTargetHealthOutput{TargetHealthDescriptions: api.Members[TargetHealthDescription]{}}
	describe := func(t targetRecord, registered bool) {
		port := t.Port
		d := TargetHealthDescription{Target: TargetDescription{Id: t.ID, Port: &port, AvailabilityZone: t.Zone}, HealthCheckPort: g.HealthCheck.Port}
		if d.HealthCheckPort == "traffic-port" {
			d.HealthCheckPort = strconv.Itoa(t.Port)
		}
		d.TargetHealth = s.health(ctx, g, t, registered, live)
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, d)
	}
	if len(targets) == 0 {
		for _, t := range g.Targets {
			describe(t, true)
		}
		return out
	}
	for _, d := range targets {
		port := g.Port
		if d.Port != nil {
			port = *d.Port
		}
		want := targetRecord{ID: d.Id, Port: port, Zone: d.AvailabilityZone}
		i := slices.IndexFunc(g.Targets, func(o targetRecord) bool { return o.key() == want.key() })
		if i >= 0 {
			describe(g.Targets[i], true)
		} else {
			describe(want, false)
		}
	}
	return out
}

// health is one target's state and reason.
func (s *Service) health(ctx context.Context, g tgRecord, t targetRecord, registered bool, live map[string]lb.TargetHealth) TargetHealth {
	switch {
	case !registered:
		return TargetHealth{State: "unused", Reason: "Target.NotRegistered", Description: "Target is not registered to the target group"}
	case t.Deregistered != nil:
		return TargetHealth{State: "draining", Reason: "Target.DeregistrationInProgress", Description: "Target deregistration is in progress"}
	case len(g.LoadBalancers) == 0:
		return TargetHealth{State: "unused", Reason: "Target.NotInUse", Description: "Target group is not configured to receive traffic from the load balancer"}
	}
	if g.TargetType == "instance" {
		inst, err := s.ec2.Instance(ctx, t.ID)
		if err != nil || inst.State != ec2.StateRunning {
			state := ec2.StateTerminated
			if err == nil {
				state = inst.State
			}
			return TargetHealth{State: "unused", Reason: "Target.InvalidState", Description: "Target is in the " + state + " state"}
		}
	}
	if h, ok := live[t.key()]; ok {
		return TargetHealth{State: h.State, Reason: h.Reason, Description: h.Description}
	}
	return TargetHealth{State: "initial", Reason: lb.ReasonRegistration, Description: "Target registration is in progress"}
}
