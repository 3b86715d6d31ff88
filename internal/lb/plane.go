// Package lb is the load balancers' data plane: an HTTP reverse proxy per
// application listener, a TCP and UDP proxy per network listener, and active
// health checks per target group. It knows nothing of the API or the
// store: a controller hands it the whole wanted configuration (Apply) and
// reads the targets' health back (Health).
package lb

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Config is everything the data plane serves.
type Config struct {
	Listeners []Listener
	Groups    []TargetGroup
}

// Listener is one listener of a load balancer.
type Listener struct {
	// ARN identifies the listener across Applies.
	ARN string
	// Protocol is HTTP or HTTPS (an application listener), TCP, TLS, UDP
	// or TCP_UDP (a network one).
	Protocol string
	Port     int
	// Rules are matched in order; the last is the default rule, which has
	// no conditions.
	Rules []Rule
	// IdleTimeout closes idle client connections; 60s when zero.
	IdleTimeout time.Duration
	// XFF is how X-Forwarded-For is treated: append (default), preserve
	// or remove.
	XFF string
	// TLS is set for HTTPS (application) and TLS (network) listeners,
	// which terminate TLS: an HTTPS listener then speaks HTTP/2 and
	// HTTP/1.1, a TLS one passes the decrypted bytes to TCP targets.
	// Certificates and policy change in place, for new handshakes.
	TLS *TLS
	// Ingress, when set, are the clients the load balancer's security
	// groups admit; nil admits everyone (a network load balancer without
	// groups). It changes in place, for new connections.
	Ingress *Ingress
}

// Rule is a listener rule: when every condition matches, the action runs.
type Rule struct {
	Conditions []Condition
	Action     Action
}

// Condition is one condition of a rule; it matches when any value does.
type Condition struct {
	// Field is path-pattern, host-header, http-header,
	// http-request-method, query-string or source-ip.
	Field  string
	Values []string
	// Header names the header of an http-header condition.
	Header string
	// Query are the pairs of a query-string condition (an empty key
	// matches any key).
	Query []KeyValue
}

// KeyValue is one query-string pair of a condition.
type KeyValue struct{ Key, Value string }

// Action is what a rule does: forward, fixed-response or redirect.
type Action struct {
	Type string
	// Forward are the target groups of a forward action, by weight.
	Forward []Weighted
	// GroupStickiness, when set, binds a client to the target group that
	// served it for that long (AWSALBTG; see sticky.go).
	GroupStickiness time.Duration
	// Stickiness, when set, replaces the chosen group's own stickiness
	// for this action's requests: a Classic listener's stickiness policy
	// belongs to the listener, not to the instances' group.
	Stickiness *Stickiness
	// Fixed is the answer of a fixed-response action.
	Fixed *FixedResponse
	// Redirect is where a redirect action sends the client.
	Redirect *Redirect
}

// Weighted is a target group of a forward action with its weight.
type Weighted struct {
	Group  string
	Weight int
}

// FixedResponse is the answer of a fixed-response action.
type FixedResponse struct {
	StatusCode  int
	ContentType string
	Body        string
}

// Redirect is a redirect action; each part may use #{protocol}, #{host},
// #{port}, #{path} and #{query}, which keep the request's.
type Redirect struct {
	Protocol, Host, Port, Path, Query string
	StatusCode                        int
}

// TargetGroup is a target group with its routable targets.
type TargetGroup struct {
	ARN string
	// Protocol is HTTP, HTTPS or TLS (connections to targets are TLS),
	// TCP, UDP or TCP_UDP.
	Protocol string
	Health   HealthCheck
	Targets  []Target
	// LeastOutstanding sends each request to the healthy target with the
	// fewest in flight (load_balancing.algorithm.type
	// least_outstanding_requests) instead of round robin.
	LeastOutstanding bool
	// Stickiness binds clients to targets (see sticky.go); nil: none.
	Stickiness *Stickiness
	// SlowStart, when set, ramps a target that turns healthy up to its
	// full share of requests over that long (see group.next).
	SlowStart time.Duration
	// TargetKeys, when set, are the public keys (DER, PKIX) a target's
	// TLS certificate must carry one of (see backend_auth.go).
	TargetKeys [][]byte
	// ProxyProtocol makes a network listener open each connection to a
	// target with a PROXY protocol version 1 header naming the client
	// (a Classic load balancer's ProxyProtocolPolicyType).
	ProxyProtocol bool
}

// Target is one registered target.
type Target struct {
	// Key identifies the target in Health: "<id>:<port>".
	Key string
	// Addr is where traffic goes: ip:port.
	Addr string
	// HealthAddr is where health checks go: ip:port.
	HealthAddr string
	// Source is the address the load balancer's connections to the
	// target (traffic and health checks) come from: its interface's, so
	// that the target's security groups judge them by the load balancer's
	// groups. Empty, or not an address of this machine: the machine's
	// own choice.
	Source string
}

// HealthCheck is a target group's active health check.
type HealthCheck struct {
	Enabled bool
	// Protocol is HTTP, HTTPS, TCP (UDP groups are checked over TCP) or
	// TLS: a TLS handshake (a Classic load balancer's SSL check).
	Protocol           string
	Path               string
	Interval, Timeout  time.Duration
	Healthy, Unhealthy int
	// Matcher is the success codes: "200", "200,202", "200-299".
	Matcher string
}

// Options tune a Plane.
type Options struct {
	// Addresses are the IPs every listener binds; 127.0.0.1 when empty.
	Addresses []string
	// CheckInterval, when set, replaces every group's interval.
	CheckInterval time.Duration
	// UDPIdleTimeout and UDPMaxFlows, when set, replace UDPIdleTimeout
	// and MaxUDPFlows (tests use small ones).
	UDPIdleTimeout time.Duration
	UDPMaxFlows    int
	Log            *slog.Logger
}

// Plane is a running data plane.
type Plane struct {
	opts      Options
	transport *transports
	proxy     *httputil.ReverseProxy
	sealer    sealer // of sticky sessions' cookies

	mu        sync.Mutex
	listeners map[string]*listener
	groups    map[string]*group
	// keyPairs are the parsed certificates of the TLS listeners, by ARN.
	keyPairs map[string]keyPair
	closed   bool

	// sources are the parts of the configuration ApplySource was given.
	srcMu   sync.Mutex
	sources map[string]Config
}

// New returns a data plane serving nothing until Apply.
func New(opts Options) *Plane {
	if len(opts.Addresses) == 0 {
		opts.Addresses = []string{"127.0.0.1"}
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	p := &Plane{opts: opts, listeners: map[string]*listener{}, groups: map[string]*group{}, keyPairs: map[string]keyPair{}, sealer: newSealer()}
	// One keep-alive pool towards every target.
	plain := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			fi, _ := ctx.Value(targetKey{}).(forwardInfo)
			return dialFrom(ctx, addr, fi.source, 10*time.Second)
		},
		TLSClientConfig:     targetTLS,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     60 * time.Second,
	}
	p.transport = &transports{plain: plain, byKey: map[string]*http.Transport{}}
	p.proxy = newProxy(p.transport, opts.Log)
	p.proxy.ModifyResponse = func(resp *http.Response) error {
		fi, ok := resp.Request.Context().Value(targetKey{}).(forwardInfo)
		if ok && fi.sticky != nil {
			p.bind(resp, fi.sticky, fi.key)
		}
		if ok && fi.groupSticky > 0 {
			p.bindGroup(resp, fi.group, fi.groupSticky)
		}
		return nil
	}
	return p
}

// Apply makes the data plane serve cfg: listeners that are new (or whose
// port or protocol changed) open, gone ones close, and the rules and
// targets of the others change in place, without dropping a connection.
// Health checks start for new targets and stop for gone ones. A listener
// that cannot bind is reported in the error; the others are served.
func (p *Plane) Apply(cfg Config) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("lb: data plane closed")
	}
	// Target groups first, so that the listeners' rules find them.
	wantGroups := map[string]bool{}
	for _, g := range cfg.Groups {
		wantGroups[g.ARN] = true
		if cur, ok := p.groups[g.ARN]; ok {
			cur.update(g, p.opts.CheckInterval)
			continue
		}
		p.groups[g.ARN] = newGroup(g, p.opts.CheckInterval, p.opts.Log)
	}
	for arn, g := range p.groups {
		if !wantGroups[arn] {
			g.stop()
			delete(p.groups, arn)
		}
	}
	var errs []error
	want := map[string]bool{}
	for _, l := range cfg.Listeners {
		want[l.ARN] = true
		routes := p.routes(l)
		if cur, ok := p.listeners[l.ARN]; ok {
			if cur.port == l.Port && cur.protocol == l.Protocol {
				if err := p.setTLS(cur, l); err != nil {
					errs = append(errs, err) // the listener keeps its certificates
				}
				cur.table.Store(routes)
				cur.ingress.Store(l.Ingress)
				continue
			}
			cur.close()
			delete(p.listeners, l.ARN)
		}
		nl, err := p.open(l, routes)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.listeners[l.ARN] = nl
	}
	for arn, l := range p.listeners {
		if !want[arn] {
			l.close()
			delete(p.listeners, arn)
		}
	}
	p.forgetKeyPairs(cfg)
	return errors.Join(errs...)
}

// setTLS gives a TLS listener its current certificates and policy; the
// handshakes that follow use them.
func (p *Plane) setTLS(nl *listener, l Listener) error {
	if l.TLS == nil {
		return nil
	}
	certs, err := keyPairs(l.TLS.Certificates, p.keyPairs)
	if err != nil {
		return fmt.Errorf("lb: listener %s: %w", l.ARN, err)
	}
	nl.tls.Store(serverConfig(l.Protocol, l.TLS, certs))
	return nil
}

// forgetKeyPairs drops the parsed certificates no listener serves.
func (p *Plane) forgetKeyPairs(cfg Config) {
	used := map[string]bool{}
	for _, l := range cfg.Listeners {
		if l.TLS != nil {
			for _, c := range l.TLS.Certificates {
				used[c.ARN] = true
			}
		}
	}
	for arn := range p.keyPairs {
		if !used[arn] {
			delete(p.keyPairs, arn)
		}
	}
}

// routes resolves a listener's rules against the plane's groups.
func (p *Plane) routes(l Listener) *table {
	t := &table{port: l.Port, xff: l.XFF, proto: "http"}
	if l.Protocol == "HTTPS" {
		t.proto = "https"
	}
	for _, r := range l.Rules {
		rt := route{rule: r}
		for _, w := range r.Action.Forward {
			if g, ok := p.groups[w.Group]; ok && w.Weight > 0 {
				rt.groups = append(rt.groups, weighted{g: g, weight: w.Weight})
				rt.total += w.Weight
			}
		}
		t.routes = append(t.routes, rt)
	}
	return t
}

// open binds a listener on every address.
func (p *Plane) open(l Listener, routes *table) (*listener, error) {
	nl := &listener{port: l.Port, protocol: l.Protocol}
	nl.table.Store(routes)
	nl.ingress.Store(l.Ingress)
	if err := p.setTLS(nl, l); err != nil {
		return nil, err
	}
	for _, addr := range p.opts.Addresses {
		hostPort := net.JoinHostPort(addr, strconv.Itoa(l.Port))
		if l.Protocol == "UDP" || l.Protocol == "TCP_UDP" {
			pc, err := net.ListenPacket("udp", hostPort)
			if err != nil {
				nl.close()
				return nil, fmt.Errorf("lb: listener %s: %w", l.ARN, err)
			}
			nl.pcs = append(nl.pcs, pc)
			if l.Protocol == "UDP" {
				continue
			}
		}
		raw, err := net.Listen("tcp", hostPort)
		if err != nil {
			nl.close()
			return nil, fmt.Errorf("lb: listener %s: %w", l.ARN, err)
		}
		var ln net.Listener = guarded{raw, nl}
		if l.TLS != nil {
			// Every handshake takes the listener's configuration of the
			// moment, so that certificates change without a restart.
			ln = tls.NewListener(ln, &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
				return nl.tls.Load(), nil
			}})
		}
		nl.lns = append(nl.lns, ln)
	}
	switch l.Protocol {
	case "TCP", "TLS", "UDP", "TCP_UDP":
		for _, ln := range nl.lns {
			nl.wg.Add(1)
			go func() {
				defer nl.wg.Done()
				nl.serveTCP(ln, p.opts.Log)
			}()
		}
		flows := udpLimits{idle: p.opts.UDPIdleTimeout, max: p.opts.UDPMaxFlows}
		if flows.idle <= 0 {
			flows.idle = UDPIdleTimeout
		}
		if flows.max <= 0 {
			flows.max = MaxUDPFlows
		}
		for _, pc := range nl.pcs {
			nl.wg.Add(1)
			go func() {
				defer nl.wg.Done()
				nl.serveUDP(pc, flows, p.opts.Log)
			}()
		}
	default:
		idle := l.IdleTimeout
		if idle <= 0 {
			idle = 60 * time.Second
		}
		nl.http = &http.Server{Handler: &handler{plane: p, l: nl}, ReadHeaderTimeout: 60 * time.Second, IdleTimeout: idle,
			// Failed handshakes and broken clients are theirs to mind: debug.
			ErrorLog: slog.NewLogLogger(p.opts.Log.Handler(), slog.LevelDebug)}
		for _, ln := range nl.lns {
			go nl.http.Serve(ln)
		}
	}
	p.opts.Log.Info("load balancer listener open", "listener", l.ARN, "protocol", l.Protocol, "port", l.Port)
	return nl, nil
}

// Health is the health of a target group's targets by key, as its checks
// last found it; ok is false for a group the plane does not serve.
func (p *Plane) Health(groupARN string) (map[string]TargetHealth, bool) {
	p.mu.Lock()
	g, ok := p.groups[groupARN]
	p.mu.Unlock()
	if !ok {
		return nil, false
	}
	return g.health(), true
}

// dialFrom dials a target from the local address source; when source is
// not an address of this machine (a server without the VPC bridge), from
// the machine's own choice.
func dialFrom(ctx context.Context, addr, source string, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if ip := net.ParseIP(source); ip != nil {
		d.LocalAddr = &net.TCPAddr{IP: ip}
		c, err := d.DialContext(ctx, "tcp", addr)
		if !errors.Is(err, syscall.EADDRNOTAVAIL) {
			return c, err
		}
		d.LocalAddr = nil
	}
	return d.DialContext(ctx, "tcp", addr)
}

// Close closes every listener and stops every health check.
func (p *Plane) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for arn, l := range p.listeners {
		l.close()
		delete(p.listeners, arn)
	}
	for arn, g := range p.groups {
		g.stop()
		delete(p.groups, arn)
	}
	p.transport.closeIdle()
}
