package elbv2

import (
	"strconv"
	"strings"
)

// A target group's health check: its settings as stored, the parameters
// that set them, AWS's defaults and ranges.

type healthCheck struct {
	Enabled   bool   `json:"enabled"`
	Protocol  string `json:"protocol"`
	Port      string `json:"port"`
	Path      string `json:"path,omitempty"`
	Interval  int    `json:"interval"`
	Timeout   int    `json:"timeout"`
	Healthy   int    `json:"healthy"`
	Unhealthy int    `json:"unhealthy"`
	Matcher   string `json:"matcher,omitempty"`
}

type Matcher struct {
	HttpCode string
}

// HealthSettings are the health check parameters of CreateTargetGroup and
// ModifyTargetGroup.
type HealthSettings struct {
	HealthCheckProtocol        string
	HealthCheckPort            string
	HealthCheckEnabled         *bool
	HealthCheckPath            string
	HealthCheckIntervalSeconds *int
	HealthCheckTimeoutSeconds  *int
	HealthyThresholdCount      *int
	UnhealthyThresholdCount    *int
	Matcher                    *Matcher
}

// network reports whether a target group protocol is a network load
// balancer's; their groups are checked over TCP by default (UDP groups
// only over TCP or HTTP, as AWS requires).
func network(p string) bool { return p == "TCP" || p == "TLS" || p == "UDP" || p == "TCP_UDP" }

// defaultHealth is AWS's health check of a target group of protocol p.
func defaultHealth(p string) healthCheck {
	if network(p) {
		return healthCheck{Enabled: true, Protocol: "TCP", Port: "traffic-port", Interval: 30, Timeout: 10, Healthy: 5, Unhealthy: 2}
	}
	hc := healthCheck{Enabled: true, Protocol: "HTTP", Port: "traffic-port", Path: "/", Interval: 30, Timeout: 6, Healthy: 5, Unhealthy: 2, Matcher: "200"}
	if p == "HTTPS" {
		hc.Protocol = "HTTPS"
	}
	return hc
}

// webCheck reports whether a health check protocol is HTTP or HTTPS,
// which take a path and a matcher.
func webCheck(p string) bool { return p == "HTTP" || p == "HTTPS" }

// applyHealth sets the health check parameters given, within AWS's ranges.
func applyHealth(hc *healthCheck, protocol string, in HealthSettings) error {
	if in.HealthCheckEnabled != nil {
		hc.Enabled = *in.HealthCheckEnabled
	}
	if in.HealthCheckProtocol != "" && in.HealthCheckProtocol != hc.Protocol {
		switch {
		case in.HealthCheckProtocol == "HTTP" && network(protocol):
			hc.Protocol, hc.Path, hc.Matcher = "HTTP", "/", "200-399"
			if in.HealthCheckTimeoutSeconds == nil {
				hc.Timeout = 6
			}
		case in.HealthCheckProtocol == "TCP" && network(protocol):
			hc.Protocol, hc.Path, hc.Matcher = "TCP", "", ""
		case in.HealthCheckProtocol == "HTTPS" || in.HealthCheckProtocol == "HTTP" && !network(protocol):
			// HTTP and HTTPS checks trade places; a TCP check made one
			// gets AWS's path and codes.
			if hc.Protocol == "TCP" {
				hc.Path, hc.Matcher = "/", "200-399"
				if in.HealthCheckTimeoutSeconds == nil {
					hc.Timeout = 6
				}
			}
			hc.Protocol = in.HealthCheckProtocol
		default:
			if err := check.Enum("healthCheckProtocol", in.HealthCheckProtocol, "HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP", "GENEVE"); err != nil {
				return err
			}
			return validation("Health check protocol '%s' is not supported for target groups with the %s protocol", in.HealthCheckProtocol, protocol)
		}
	}
	if in.HealthCheckPort != "" {
		if in.HealthCheckPort != "traffic-port" {
			n, err := strconv.Atoi(in.HealthCheckPort)
			if err != nil || n < 1 || n > 65535 {
				return validation("Health check port '%s' must be 'traffic-port' or a port from 1 to 65535", in.HealthCheckPort)
			}
		}
		hc.Port = in.HealthCheckPort
	}
	if in.HealthCheckPath != "" {
		if !webCheck(hc.Protocol) {
			return validation("A health check path can only be specified for HTTP and HTTPS health checks")
		}
		if len(in.HealthCheckPath) > 1024 || !strings.HasPrefix(in.HealthCheckPath, "/") {
			return validation("Health check path '%s' must start with '/' and be at most 1024 characters", in.HealthCheckPath)
		}
		hc.Path = in.HealthCheckPath
	}
	for _, v := range []struct {
		field  string
		in     *int
		out    *int
		lo, hi int
	}{
		{"healthCheckIntervalSeconds", in.HealthCheckIntervalSeconds, &hc.Interval, 5, 300},
		{"healthCheckTimeoutSeconds", in.HealthCheckTimeoutSeconds, &hc.Timeout, 2, 120},
		{"healthyThresholdCount", in.HealthyThresholdCount, &hc.Healthy, 2, 10},
		{"unhealthyThresholdCount", in.UnhealthyThresholdCount, &hc.Unhealthy, 2, 10},
	} {
		if v.in == nil {
			continue
		}
		if err := check.Range(v.field, *v.in, v.lo, v.hi); err != nil {
			return err
		}
		*v.out = *v.in
	}
	if hc.Timeout >= hc.Interval {
		return validation("Health check timeout '%d' must be smaller than the interval '%d'", hc.Timeout, hc.Interval)
	}
	if in.Matcher != nil {
		if !webCheck(hc.Protocol) {
			return validation("A matcher can only be specified for HTTP and HTTPS health checks")
		}
		hi := 499
		if network(protocol) {
			hi = 599
		}
		if err := checkMatcher(in.Matcher.HttpCode, hi); err != nil {
			return err
		}
		hc.Matcher = in.Matcher.HttpCode
	}
	return nil
}

// checkMatcher accepts "200", "200,202" and "200-299" within 200..hi.
func checkMatcher(m string, hi int) error {
	bad := validation("Health check matcher HTTP code '%s' must be within '200-%d'", m, hi)
	if m == "" {
		return bad
	}
	for _, part := range strings.Split(m, ",") {
		lo, up, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 200 || a > hi {
			return bad
		}
		if isRange {
			b, err := strconv.Atoi(up)
			if err != nil || b < a || b > hi {
				return bad
			}
		}
	}
	return nil
}
