package elbv2

import (
	"context"

	"github.com/berth-dev/berth/internal/lb"
)

// What the Classic API (internal/elb) shares with ELBv2 on a server.

// PlaneSource is the part of the data plane's configuration ELBv2's
// controller applies (lb.Plane.ApplySource).
const PlaneSource = "elbv2"

// Plane is this server's data plane, which the Classic API's controller
// feeds too, as another source.
func (s *Service) Plane() *lb.Plane { return s.plane }

// PortKey is the store key claiming a listener port on this machine. ELBv2
// and Classic listeners claim ports in one namespace: each listener binds
// 127.0.0.1:<port>, so two load balancers of either kind cannot share a
// port. (AWS has no such limit: each of its load balancers has its own
// addresses.) The key holds the claiming load balancer's ARN.
func (s *Service) PortKey(port int) string { return s.keys.port(port) }

// ProbePort refuses, as InvalidConfigurationRequest, a port no listener
// of Berth's holds and this machine cannot bind.
func (s *Service) ProbePort(ctx context.Context, port int) error {
	return s.probeUnlessOurs(ctx, port, "TCP") // Classic listeners are all TCP
}

// ListenAddresses are the addresses every listener binds.
func (s *Service) ListenAddresses() []string { return s.cfg.Listen }
