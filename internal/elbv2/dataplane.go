package elbv2

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/berth-dev/berth/internal/acm"
	"github.com/berth-dev/berth/internal/controller"
	"github.com/berth-dev/berth/internal/ec2"
	"github.com/berth-dev/berth/internal/lb"
	"github.com/berth-dev/berth/internal/store"
)

// resync is how often the data plane controller reads everything again
// when no change wakes it: draining targets leave at their deadline.
const resync = 5 * time.Second

// Controllers is the data plane controller, on every server: each server
// binds its machine's listeners (127.0.0.1:<port> by default) and checks
// the targets' health itself, as each of AWS's load balancer nodes does,
// so that a listener answers on every machine and no leader change
// interrupts traffic.
func (s *Service) Controllers() []controller.Controller {
	return []controller.Controller{controller.Every("elbv2-data-plane", s.runPlane)}
}

// runPlane applies the stored load balancers to the data plane, again on
// every change to them, their target groups or EC2's instances.
func (s *Service) runPlane(ctx context.Context) error {
	for {
		rev, err := s.applyOnce(ctx)
		if err != nil {
			return err
		}
		// A re-imported certificate is served at once.
		prefixes := []string{s.keys.prefix, s.ec2.InstancesPrefix(), s.ec2.GroupsPrefix(), s.ec2.InterfacesPrefix()}
		if s.cfg.Certificates != nil {
			prefixes = append(prefixes, s.cfg.Certificates.Prefix())
		}
		s.store.WaitChange(ctx, rev, resync, prefixes...)
		if ctx.Err() != nil {
			return nil
		}
	}
}

// applyOnce reads the records at one revision and applies them.
func (s *Service) applyOnce(ctx context.Context) (int64, error) {
	lbs, rev, err := store.ListRev[lbRecord](ctx, s.store, s.keys.balancers())
	if err != nil {
		return 0, err
	}
	tgs, _, err := store.ListAt[tgRecord](ctx, s.store, s.keys.groups(), rev)
	if err != nil {
		return 0, err
	}
	insts, _, err := store.ListAt[ec2.InstanceRecord](ctx, s.store, s.ec2.InstancesPrefix(), rev)
	if err != nil {
		return 0, err
	}
	var pairs map[string]acm.Pair
	if s.cfg.Certificates != nil {
		if pairs, err = s.cfg.Certificates.PairsAt(ctx, rev); err != nil {
			return 0, err
		}
	}
	groups, err := s.ec2.GroupViewAt(ctx, rev, insts)
	if err != nil {
		return 0, err
	}
	cfg := s.planeConfig(lbs, tgs, insts, pairs, groups)
	// A listener that cannot bind is retried at every pass, and said once.
	err = s.plane.ApplySource(PlaneSource, cfg)
	if msg := fmt.Sprint(err); err != nil && msg != s.lastApplyErr {
		s.log.Warn("load balancer data plane", "err", err)
		s.lastApplyErr = msg
	} else if err == nil {
		s.lastApplyErr = ""
	}
	if rev > s.applied.Load() {
		s.applied.Store(rev)
	}
	return rev, nil
}

// stickiness is a target group's sticky sessions for the data plane, nil
// when off. A network load balancer's source_ip stickiness is its
// listeners' own (they keep a client on one target while it is healthy).
func stickiness(g tgRecord) *lb.Stickiness {
	specs := tgAttributes(g)
	if attr(specs, g.Attributes, "stickiness.enabled") != "true" {
		return nil
	}
	st := &lb.Stickiness{Type: attr(specs, g.Attributes, "stickiness.type")}
	duration := "stickiness.lb_cookie.duration_seconds"
	switch st.Type {
	case "app_cookie":
		st.CookieName, duration = attr(specs, g.Attributes, "stickiness.app_cookie.cookie_name"), "stickiness.app_cookie.duration_seconds"
	case "source_ip":
		return st
	}
	secs, _ := strconv.Atoi(attr(specs, g.Attributes, duration))
	st.Duration = time.Duration(secs) * time.Second
	return st
}

// slowStart is a target group's slow start duration (0: off).
func slowStart(g tgRecord) time.Duration {
	secs, _ := strconv.Atoi(attr(tgAttributes(g), g.Attributes, "slow_start.duration_seconds"))
	return time.Duration(secs) * time.Second
}

// planeConfig turns the records into the data plane's configuration.
func (s *Service) planeConfig(lbs []store.Item[lbRecord], tgs []store.Item[tgRecord], insts []store.Item[ec2.InstanceRecord], pairs map[string]acm.Pair,
	groups ec2.GroupView) lb.Config {
	addr := map[string]string{}
	for _, it := range insts {
		if it.Value.State == ec2.StateRunning {
			addr[it.Value.ID] = it.Value.PrivateIP
		}
	}
	balancers := map[string]*lbRecord{}
	for i := range lbs {
		balancers[lbs[i].Value.ARN] = &lbs[i].Value
	}
	var cfg lb.Config
	for _, it := range tgs {
		g := it.Value
		if len(g.LoadBalancers) == 0 {
			continue
		}
		pg := lb.TargetGroup{ARN: g.ARN, Protocol: g.Protocol, Health: lb.HealthCheck{Enabled: g.HealthCheck.Enabled,
			Protocol: g.HealthCheck.Protocol, Path: g.HealthCheck.Path, Matcher: g.HealthCheck.Matcher,
			Interval: time.Duration(g.HealthCheck.Interval) * time.Second, Timeout: time.Duration(g.HealthCheck.Timeout) * time.Second,
			Healthy: g.HealthCheck.Healthy, Unhealthy: g.HealthCheck.Unhealthy},
			LeastOutstanding: attr(tgAttributes(g), g.Attributes, "load_balancing.algorithm.type") == "least_outstanding_requests",
			Stickiness:       stickiness(g), SlowStart: slowStart(g)}
		for _, t := range g.Targets {
			if t.Deregistered != nil {
				continue // draining: no new traffic
			}
			ip := t.ID
			if g.TargetType == "instance" {
				if ip = addr[t.ID]; ip == "" {
					continue
				}
			}
			hport := t.Port
			if n, err := strconv.Atoi(g.HealthCheck.Port); err == nil {
				hport = n
			}
			pg.Targets = append(pg.Targets, lb.Target{Key: t.key(), Addr: net.JoinHostPort(ip, strconv.Itoa(t.Port)),
				HealthAddr: net.JoinHostPort(ip, strconv.Itoa(hport)), Source: source(g, balancers, t.Zone)})
		}
		cfg.Groups = append(cfg.Groups, pg)
	}
	for _, it := range lbs {
		r := it.Value
		idle, _ := strconv.Atoi(attr(lbAttributes(r), r.Attributes, "idle_timeout.timeout_seconds"))
		for _, l := range r.Listeners {
			pl := lb.Listener{ARN: l.ARN, Protocol: l.Protocol, Port: l.Port, IdleTimeout: time.Duration(idle) * time.Second,
				XFF: attr(lbAttributes(r), r.Attributes, "routing.http.xff_header_processing.mode"), TLS: planeTLS(l, pairs),
				Ingress: Ingress(groups, r.SecurityGroups, l.Port)}
			rs := slices.Clone(l.Rules)
			slices.SortFunc(rs, func(a, b ruleRecord) int { return a.Priority - b.Priority })
			for _, rule := range rs {
				pl.Rules = append(pl.Rules, lb.Rule{Conditions: planeConditions(rule.Conditions), Action: planeAction(rule.Actions)})
			}
			pl.Rules = append(pl.Rules, lb.Rule{Action: planeAction(l.DefaultActions)})
			cfg.Listeners = append(cfg.Listeners, pl)
		}
	}
	return cfg
}

// Ingress are the clients a load balancer's security groups admit on a
// listener's port; nil, admitting everyone, for one without groups (a
// network load balancer made without any).
func Ingress(groups ec2.GroupView, sgs []string, port int) *lb.Ingress {
	if len(sgs) == 0 {
		return nil
	}
	tcp, udp := groups.Admitted(sgs, port)
	return &lb.Ingress{TCP: tcp, UDP: udp}
}

// planeTLS is an HTTPS or TLS listener's certificates (those imported;
// a deleted one is not served) and policy; nil for other listeners.
func planeTLS(l listenerRecord, pairs map[string]acm.Pair) *lb.TLS {
	if !secure(l.Protocol) {
		return nil
	}
	policy, _ := policyNamed(l.SslPolicy)
	out := &lb.TLS{Protocols: policy.protocols, Ciphers: policy.ciphers, ALPN: alpnProtocols(l.AlpnPolicy)}
	for _, arn := range append([]string{l.DefaultCertificate}, l.Certificates...) {
		if p, ok := pairs[arn]; ok {
			out.Certificates = append(out.Certificates, lb.Certificate{ARN: arn, CertPEM: p.CertificatePEM, KeyPEM: p.KeyPEM})
		} else if arn == l.DefaultCertificate {
			// The data plane refuses a listener without its default
			// certificate, and says so.
			out.Certificates = append(out.Certificates, lb.Certificate{ARN: arn})
		}
	}
	return out
}

func planeConditions(conds []RuleCondition) []lb.Condition {
	out := make([]lb.Condition, 0, len(conds))
	for _, c := range conds {
		pc := lb.Condition{Field: c.Field}
		switch {
		case c.PathPatternConfig != nil:
			pc.Values = c.PathPatternConfig.Values
		case c.HostHeaderConfig != nil:
			pc.Values = c.HostHeaderConfig.Values
		case c.HttpRequestMethodConfig != nil:
			pc.Values = c.HttpRequestMethodConfig.Values
		case c.SourceIpConfig != nil:
			pc.Values = c.SourceIpConfig.Values
		case c.HttpHeaderConfig != nil:
			pc.Header, pc.Values = c.HttpHeaderConfig.HttpHeaderName, c.HttpHeaderConfig.Values
		case c.QueryStringConfig != nil:
			for _, kv := range c.QueryStringConfig.Values {
				pc.Query = append(pc.Query, lb.KeyValue{Key: kv.Key, Value: kv.Value})
			}
		}
		out = append(out, pc)
	}
	return out
}

func planeAction(acts []Action) lb.Action {
	if len(acts) == 0 {
		return lb.Action{Type: "fixed-response", Fixed: &lb.FixedResponse{StatusCode: 503}}
	}
	a := acts[len(acts)-1]
	out := lb.Action{Type: a.Type}
	switch a.Type {
	case "forward":
		for _, t := range a.ForwardConfig.TargetGroups {
			w := 1
			if t.Weight != nil {
				w = *t.Weight
			}
			out.Forward = append(out.Forward, lb.Weighted{Group: t.TargetGroupArn, Weight: w})
		}
		if st := a.ForwardConfig.TargetGroupStickinessConfig; st != nil && st.Enabled != nil && *st.Enabled && st.DurationSeconds != nil {
			out.GroupStickiness = time.Duration(*st.DurationSeconds) * time.Second
		}
	case "fixed-response":
		code, _ := strconv.Atoi(a.FixedResponseConfig.StatusCode)
		out.Fixed = &lb.FixedResponse{StatusCode: code, ContentType: a.FixedResponseConfig.ContentType, Body: a.FixedResponseConfig.MessageBody}
	case "redirect":
		r := a.RedirectConfig
		code := 301
		if r.StatusCode == "HTTP_302" {
			code = 302
		}
		out.Redirect = &lb.Redirect{Protocol: r.Protocol, Host: r.Host, Port: r.Port, Path: r.Path, Query: r.Query, StatusCode: code}
	}
	return out
}

// source is the address a group's connections to a target in zone come
// from: the interface in that zone (else the first) of the first load
// balancer forwarding to the group that has interfaces; "" when none has.
func source(g tgRecord, balancers map[string]*lbRecord, zone string) string {
	for _, arn := range g.LoadBalancers {
		r := balancers[arn]
		if r == nil || len(r.Interfaces) == 0 {
			continue
		}
		for _, i := range r.Interfaces {
			if i.Zone == zone {
				return i.IP
			}
		}
		return r.Interfaces[0].IP
	}
	return ""
}
