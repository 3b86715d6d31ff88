package elb

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/berth-dev/berth/internal/acm"
	"github.com/berth-dev/berth/internal/controller"
	"github.com/berth-dev/berth/internal/ec2"
	"github.com/berth-dev/berth/internal/elbv2"
	"github.com/berth-dev/berth/internal/lb"
	"github.com/berth-dev/berth/internal/store"
)

// PlaneSource is the part of the shared data plane this package feeds.
const PlaneSource = "classic"

// resync is how often the controller reads everything again when no
// change wakes it: draining instances leave at their deadline.
const resync = 5 * time.Second

// Controllers is the data plane controller, on every server, as ELBv2's:
// each server binds its machine's listeners and checks the instances'
// health itself.
func (s *Service) Controllers() []controller.Controller {
	return []controller.Controller{controller.Every("elb-classic-data-plane", s.runPlane)}
}

// runPlane applies the stored load balancers to the data plane, again on
// every change to them or to EC2's instances.
func (s *Service) runPlane(ctx context.Context) error {
	for {
		rev, err := s.applyOnce(ctx)
		if err != nil {
			return err
		}
		prefixes := []string{s.prefix, s.ec2.InstancesPrefix(), s.ec2.GroupsPrefix(), s.ec2.InterfacesPrefix()}
		if s.cfg.Certificates != nil {
			prefixes = append(prefixes, s.cfg.Certificates.Prefix()) // a re-imported certificate is served at once
		}
		s.store.WaitChange(ctx, rev, resync, prefixes...)
		if ctx.Err() != nil {
			return nil
		}
	}
}

// applyOnce reads the records at one revision and applies them.
func (s *Service) applyOnce(ctx context.Context) (int64, error) {
	lbs, rev, err := store.ListRev[lbRecord](ctx, s.store, s.prefix)
	if err != nil {
		return 0, err
	}
	insts, _, err := store.ListAt[ec2.InstanceRecord](ctx, s.store, s.ec2.InstancesPrefix(), rev)
	if err != nil {
		return 0, err
	}
	groups, err := s.ec2.GroupViewAt(ctx, rev, insts)
	if err != nil {
		return 0, err
	}
	var pairs map[string]acm.Pair
	if s.cfg.Certificates != nil {
		if pairs, err = s.cfg.Certificates.PairsAt(ctx, rev); err != nil {
			return 0, err
		}
	}
	err = s.cfg.Plane.ApplySource(PlaneSource, s.planeConfig(lbs, insts, groups, pairs))
	if msg := fmt.Sprint(err); err != nil && msg != s.lastApplyErr {
		s.log.Warn("Classic load balancer data plane", "err", err)
		s.lastApplyErr = msg
	} else if err == nil {
		s.lastApplyErr = ""
	}
	return rev, nil
}

// groupKey names the data plane's group of a load balancer's instances at
// one instance port (all its listeners reach the port with TLS or all
// without: see checkInstancePorts).
func groupKey(arn string, port int) string { return arn + "/instance-port/" + strconv.Itoa(port) }

// planeProtocols are the data plane's names of the Classic protocols, for
// listeners and for groups (whose HTTPS and TLS speak TLS to instances).
var planeProtocols = map[string]string{"HTTP": "HTTP", "HTTPS": "HTTPS", "TCP": "TCP", "SSL": "TLS"}

// healthGroup is the group whose checks DescribeInstanceHealth reads: the
// first listener's, or, without listeners, one that only checks health.
func healthGroup(arn string, r lbRecord) string {
	if len(r.Listeners) > 0 {
		return groupKey(arn, r.Listeners[0].InstancePort)
	}
	return arn + "/health"
}

// planeConfig turns the records into this source's data plane
// configuration: per load balancer, a group of its instances per instance
// port, all checked by its health check, and a listener per listener.
func (s *Service) planeConfig(lbs []store.Item[lbRecord], insts []store.Item[ec2.InstanceRecord], groups ec2.GroupView, pairs map[string]acm.Pair) lb.Config {
	running := map[string]ec2.InstanceRecord{}
	for _, it := range insts {
		if it.Value.State == ec2.StateRunning {
			running[it.Value.ID] = it.Value
		}
	}
	var cfg lb.Config
	for _, it := range lbs {
		r := it.Value
		arn := s.arn(r.Name)
		t, _ := parseTarget(r.HealthCheck.Target)
		hc := lb.HealthCheck{Enabled: true, Protocol: planeProtocols[t.protocol], Path: t.path, Matcher: "200",
			Interval: time.Duration(r.HealthCheck.Interval) * time.Second, Timeout: time.Duration(r.HealthCheck.Timeout) * time.Second,
			Healthy: r.HealthCheck.HealthyThreshold, Unhealthy: r.HealthCheck.UnhealthyThreshold}
		group := func(key string, port int, protocol string) lb.TargetGroup {
			g := lb.TargetGroup{ARN: key, Protocol: protocol, Health: hc}
			for _, ref := range r.Instances {
				inst, ok := running[ref.ID]
				if !ok || ref.Draining != nil {
					continue // draining: no new connections
				}
				g.Targets = append(g.Targets, lb.Target{Key: ref.ID, Addr: net.JoinHostPort(inst.PrivateIP, strconv.Itoa(port)),
					HealthAddr: net.JoinHostPort(inst.PrivateIP, strconv.Itoa(t.port)), Source: source(r, inst.Zone)})
			}
			return g
		}
		if len(r.Listeners) == 0 {
			cfg.Groups = append(cfg.Groups, group(healthGroup(arn, r), t.port, "TCP"))
		}
		made := map[int]bool{}
		for _, l := range r.Listeners {
			key := groupKey(arn, l.InstancePort)
			if !made[l.InstancePort] {
				made[l.InstancePort] = true
				g := group(key, l.InstancePort, planeProtocols[l.InstanceProtocol])
				g.ProxyProtocol, g.TargetKeys = proxyProtocol(r, l.InstancePort), targetKeys(r, l.InstancePort)
				cfg.Groups = append(cfg.Groups, g)
			}
			cfg.Listeners = append(cfg.Listeners, lb.Listener{ARN: arn + "/listener/" + strconv.Itoa(l.LoadBalancerPort),
				Protocol: planeProtocols[l.Protocol], Port: l.LoadBalancerPort, IdleTimeout: time.Duration(r.Attributes.IdleTimeout) * time.Second,
				Ingress: elbv2.Ingress(groups, r.SecurityGroups, l.LoadBalancerPort), TLS: planeTLS(r, l, pairs),
				Rules: []lb.Rule{{Action: lb.Action{Type: "forward", Forward: []lb.Weighted{{Group: key, Weight: 1}},
					Stickiness: planeStickiness(r, l)}}}})
		}
	}
	return cfg
}

// source is the address the load balancer's connections to an instance
// in zone come from: its interface in that zone, else its first.
func source(r lbRecord, zone string) string {
	for _, i := range r.Interfaces {
		if i.Zone == zone {
			return i.IP
		}
	}
	if len(r.Interfaces) > 0 {
		return r.Interfaces[0].IP
	}
	return ""
}

// listenerPolicy is the policy of a listener of one of types, if any.
func listenerPolicy(r lbRecord, l Listener, types ...string) (policyRecord, bool) {
	for _, n := range r.ListenerPolicies[l.LoadBalancerPort] {
		if p, err := r.policy(n); err == nil && slices.Contains(types, p.Type) {
			return p, true
		}
	}
	return policyRecord{}, false
}

// planeTLS is an HTTPS or SSL listener's certificate and the protocols
// and ciphers of its SSL negotiation policy (the default policy's when it
// has none); nil for other listeners. A certificate no longer in
// Certificate Manager is named without its key: the data plane refuses
// the listener and says so.
func planeTLS(r lbRecord, l Listener, pairs map[string]acm.Pair) *lb.TLS {
	if !secure(l.Protocol) {
		return nil
	}
	p, ok := listenerPolicy(r, l, typeSSL)
	if !ok {
		p = predefinedRecord(defaultSSLPolicy)
	}
	tls := policyTLS(p)
	out := &lb.TLS{Protocols: tls.protocols, Ciphers: tls.ciphers, Certificates: []lb.Certificate{{ARN: l.SSLCertificateId}}}
	if pair, ok := pairs[l.SSLCertificateId]; ok {
		out.Certificates[0].CertPEM, out.Certificates[0].KeyPEM = pair.CertificatePEM, pair.KeyPEM
	}
	return out
}

// stickyCookie is the cookie Classic load balancers bind clients with.
const stickyCookie = "AWSELB"

// planeStickiness is the sticky sessions of a listener's stickiness
// policy, by the cookie AWSELB; nil without one.
func planeStickiness(r lbRecord, l Listener) *lb.Stickiness {
	p, ok := listenerPolicy(r, l, typeLBCookie, typeAppCookie)
	if !ok {
		return nil
	}
	if p.Type == typeAppCookie {
		return &lb.Stickiness{Type: "app_cookie", Cookie: stickyCookie, CookieName: p.attr("CookieName")}
	}
	secs, _ := strconv.ParseInt(p.attr("CookieExpirationPeriod"), 10, 64)
	return &lb.Stickiness{Type: "lb_cookie", Cookie: stickyCookie, Duration: time.Duration(secs) * time.Second}
}

// proxyProtocol reports whether an instance port's policies turn the
// proxy protocol on: its TCP and SSL listeners' connections then start
// with a PROXY header (HTTP and HTTPS listeners send X-Forwarded-For).
func proxyProtocol(r lbRecord, port int) bool {
	for _, n := range r.BackendPolicies[port] {
		if p, err := r.policy(n); err == nil && p.Type == typeProxy && p.attr("ProxyProtocol") == "true" {
			return true
		}
	}
	return false
}

// targetKeys are the public keys an instance port's back-end server
// authentication policy accepts (DER); none without one.
func targetKeys(r lbRecord, port int) [][]byte {
	var out [][]byte
	for _, n := range r.BackendPolicies[port] {
		p, err := r.policy(n)
		if err != nil || p.Type != typeBackendAuth {
			continue
		}
		for _, kn := range attrValues(p, "PublicKeyPolicyName") {
			if k, err := r.policy(kn); err == nil {
				if der, err := base64.StdEncoding.DecodeString(k.attr("PublicKey")); err == nil {
					out = append(out, der)
				}
			}
		}
	}
	return out
}
