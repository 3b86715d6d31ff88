package elb

import (
	"context"
	"strconv"
	"strings"
)

// HealthCheck is a load balancer's health check of its instances.
type HealthCheck struct {
	// Target is PROTOCOL:PORT, with a path for HTTP: "HTTP:80/health",
	// "TCP:80".
	Target             string
	Interval           int
	Timeout            int
	UnhealthyThreshold int
	HealthyThreshold   int
}

// target splits a health check target into protocol, port and path.
type target struct {
	protocol string
	port     int
	path     string
}

// parseTarget reads a health check target as AWS checks it.
func parseTarget(s string) (target, error) {
	bad := func(why string) (target, error) {
		return target{}, validation("HealthCheck Target '%s' is not valid: %s", s, why)
	}
	proto, rest, ok := strings.Cut(s, ":")
	if !ok {
		return bad("it must be PROTOCOL:PORT, with a path for HTTP and HTTPS, as HTTP:80/index.html or TCP:80")
	}
	t := target{protocol: strings.ToUpper(proto)}
	portText := rest
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		portText, t.path = rest[:i], rest[i:]
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 {
		return bad("the port must be from 1 to 65535")
	}
	t.port = port
	switch t.protocol {
	case "HTTP", "HTTPS":
		if t.path == "" {
			return bad("an " + t.protocol + " target needs a path, as " + t.protocol + ":80/")
		}
	case "TCP", "SSL":
		if t.path != "" {
			return bad("a " + t.protocol + " target has no path")
		}
	default:
		return bad("the protocol must be HTTP, HTTPS, TCP or SSL")
	}
	if len(s) > 1024 {
		return bad("it is longer than 1024 characters")
	}
	return t, nil
}

// checkHealthCheck validates a health check with AWS's bounds.
func checkHealthCheck(h HealthCheck) (HealthCheck, error) {
	if h.Target == "" {
		return h, check.Null("healthCheck.target")
	}
	t, err := parseTarget(h.Target)
	if err != nil {
		return h, err
	}
	h.Target = t.protocol + ":" + strconv.Itoa(t.port) + t.path
	for _, f := range []struct {
		name   string
		v      int
		lo, hi int
	}{
		{"healthCheck.interval", h.Interval, 5, 300},
		{"healthCheck.timeout", h.Timeout, 2, 60},
		{"healthCheck.unhealthyThreshold", h.UnhealthyThreshold, 2, 10},
		{"healthCheck.healthyThreshold", h.HealthyThreshold, 2, 10},
	} {
		if err := check.Range(f.name, f.v, f.lo, f.hi); err != nil {
			return h, err
		}
	}
	if h.Timeout >= h.Interval {
		return h, validation("HealthCheck Timeout must be less than Interval")
	}
	return h, nil
}

type ConfigureHealthCheckInput struct {
	LoadBalancerName string
	HealthCheck      HealthCheck
}

type ConfigureHealthCheckOutput struct {
	HealthCheck HealthCheck
}

// ConfigureHealthCheck replaces the load balancer's health check.
func (s *Service) ConfigureHealthCheck(ctx context.Context, in *ConfigureHealthCheckInput) (*ConfigureHealthCheckOutput, error) {
	if err := s.authorizeName(ctx, "ConfigureHealthCheck", in.LoadBalancerName); err != nil {
		return nil, err
	}
	h, err := checkHealthCheck(in.HealthCheck)
	if err != nil {
		return nil, err
	}
	if _, err := s.mutate(ctx, in.LoadBalancerName, func(r *lbRecord) error {
		r.HealthCheck = h
		return nil
	}); err != nil {
		return nil, err
	}
	return &ConfigureHealthCheckOutput{HealthCheck: h}, nil
}
