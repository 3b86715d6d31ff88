package lb

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// TargetHealth is a target's health as ELBv2's DescribeTargetHealth
// words it.
type TargetHealth struct {
	State, Reason, Description string
}

// AWS's target states and reason codes.
const (
	StateInitial     = "initial"
	StateHealthy     = "healthy"
	StateUnhealthy   = "unhealthy"
	StateUnavailable = "unavailable"

	ReasonRegistration    = "Elb.RegistrationInProgress"
	ReasonInitialChecking = "Elb.InitialHealthChecking"
	ReasonTimeout         = "Target.Timeout"
	ReasonCodeMismatch    = "Target.ResponseCodeMismatch"
	ReasonFailedChecks    = "Target.FailedHealthChecks"
	ReasonChecksDisabled  = "Target.HealthCheckDisabled"
)

// group is a served target group: its targets, their health checks and
// the round robin over the healthy ones.
type group struct {
	arn      string
	log      *slog.Logger
	hc       atomic.Pointer[HealthCheck]
	override time.Duration
	// lor picks the target with the fewest requests in flight.
	lor atomic.Bool
	// sticky is the group's sticky sessions; nil: none.
	sticky atomic.Pointer[Stickiness]
	// slowStart is the group's slow start duration, in nanoseconds.
	slowStart atomic.Int64
	// tls makes a group's connections to targets TLS (protocol TLS or
	// HTTPS), without verifying the targets' certificates, as AWS does not.
	tls atomic.Bool
	// proxy sends targets a PROXY protocol header first (TCP and TLS
	// listeners).
	proxy atomic.Bool
	// auth authenticates the targets (TargetKeys); nil: any certificate.
	auth atomic.Pointer[targetAuth]
	// targets is the current list, replaced whole on a change.
	targets atomic.Pointer[[]*target]
	rr      atomic.Uint64
	mu      sync.Mutex
}

// target is one target and its health.
type target struct {
	key, addr, healthAddr string
	source                string
	outstanding           atomic.Int64
	routable              atomic.Bool
	// healthySince is when the target last turned healthy (Unix
	// nanoseconds), for slow start.
	healthySince atomic.Int64
	stopCh       chan struct{}

	mu             sync.Mutex
	health         TargetHealth
	passes, faults int
}

func newGroup(g TargetGroup, override time.Duration, log *slog.Logger) *group {
	ng := &group{arn: g.ARN, log: log, override: override}
	empty := []*target{}
	ng.targets.Store(&empty)
	ng.update(g, override)
	return ng
}

// update takes a group's new settings and targets: health states of
// targets that stay are kept.
func (g *group) update(cfg TargetGroup, override time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	hc := cfg.Health
	if override > 0 {
		hc.Interval = override
		if hc.Timeout > override {
			hc.Timeout = override
		}
	}
	g.hc.Store(&hc)
	g.lor.Store(cfg.LeastOutstanding)
	g.sticky.Store(cfg.Stickiness)
	g.slowStart.Store(int64(cfg.SlowStart))
	g.tls.Store(cfg.Protocol == "TLS" || cfg.Protocol == "HTTPS")
	g.proxy.Store(cfg.ProxyProtocol)
	g.auth.Store(newTargetAuth(cfg.TargetKeys))
	old := map[string]*target{}
	for _, t := range *g.targets.Load() {
		old[t.key+"@"+t.addr+"@"+t.healthAddr+"@"+t.source] = t
	}
	next := make([]*target, 0, len(cfg.Targets))
	for _, t := range cfg.Targets {
		id := t.Key + "@" + t.Addr + "@" + t.HealthAddr + "@" + t.Source
		if cur, ok := old[id]; ok {
			next = append(next, cur)
			delete(old, id)
			continue
		}
		nt := &target{key: t.Key, addr: t.Addr, healthAddr: t.HealthAddr, source: t.Source, stopCh: make(chan struct{}),
			health: TargetHealth{State: StateInitial, Reason: ReasonRegistration, Description: "Target registration is in progress"}}
		next = append(next, nt)
		go g.check(nt)
	}
	for _, t := range old {
		close(t.stopCh)
	}
	g.targets.Store(&next)
}

func (g *group) stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, t := range *g.targets.Load() {
		close(t.stopCh)
	}
	empty := []*target{}
	g.targets.Store(&empty)
}

// next is the next target, round robin (or least outstanding requests)
// over the healthy ones; when none is healthy, round robin over all of
// them (a load balancer fails open).
func (g *group) next() *target {
	all := *g.targets.Load()
	if len(all) == 0 {
		return nil
	}
	n := g.rr.Add(1)
	healthy := 0
	for _, t := range all {
		if t.routable.Load() {
			healthy++
		}
	}
	if healthy == 0 {
		return all[n%uint64(len(all))]
	}
	if g.lor.Load() {
		// The fewest in flight; among equals, the round robin's turn.
		var best *target
		for i := range all {
			t := all[(n+uint64(i))%uint64(len(all))]
			if t.routable.Load() && (best == nil || t.outstanding.Load() < best.outstanding.Load()) {
				best = t
			}
		}
		return best
	}
	k := n % uint64(healthy)
	for i, t := range all {
		if t.routable.Load() {
			if k == 0 {
				return g.ramp(all, i)
			}
			k--
		}
	}
	return nil
}

// ramp is slow start: all[i], the round robin's healthy pick, when it is
// past its slow start, or with the probability of the part of it that
// has passed; otherwise the next healthy target past its own (all[i]
// when there is none). A target's share of requests so grows linearly
// from nothing to its full share over the group's duration, as on AWS.
func (g *group) ramp(all []*target, i int) *target {
	d := g.slowStart.Load()
	if d <= 0 {
		return all[i]
	}
	now := time.Now().UnixNano()
	warming := func(t *target) bool {
		since := t.healthySince.Load()
		return since > 0 && now-since < d
	}
	t := all[i]
	if !warming(t) || rand.Float64() < float64(now-t.healthySince.Load())/float64(d) {
		return t
	}
	for j := 1; j < len(all); j++ {
		if o := all[(i+j)%len(all)]; o.routable.Load() && !warming(o) {
			return o
		}
	}
	return t
}

func (g *group) health() map[string]TargetHealth {
	out := map[string]TargetHealth{}
	for _, t := range *g.targets.Load() {
		t.mu.Lock()
		out[t.key] = t.health
		t.mu.Unlock()
	}
	return out
}

// check runs a target's health checks until it is removed.
func (g *group) check(t *target) {
	for {
		hc := *g.hc.Load()
		if !hc.Enabled {
			t.mu.Lock()
			t.health = TargetHealth{State: StateUnavailable, Reason: ReasonChecksDisabled, Description: "Health checks are disabled for this target group"}
			t.mu.Unlock()
			t.routable.Store(true)
		} else {
			reason, desc := probe(t.healthAddr, t.source, hc)
			t.record(hc, reason, desc)
		}
		interval := hc.Interval
		if interval <= 0 {
			interval = 30 * time.Second
		}
		select {
		case <-t.stopCh:
			return
		case <-time.After(interval):
		}
	}
}

// record moves a target's state by one check's result (reason empty: it
// passed), as the thresholds say.
func (t *target) record(hc HealthCheck, reason, desc string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if reason == "" {
		t.passes++
		t.faults = 0
	} else {
		t.faults++
		t.passes = 0
	}
	switch {
	case reason == "" && (t.health.State == StateHealthy || t.passes >= hc.Healthy):
		if t.health.State != StateHealthy {
			t.healthySince.Store(time.Now().UnixNano())
		}
		t.health = TargetHealth{State: StateHealthy}
	case reason != "" && (t.health.State == StateUnhealthy || t.faults >= hc.Unhealthy):
		t.health = TargetHealth{State: StateUnhealthy, Reason: reason, Description: desc}
	case t.health.State == StateInitial:
		t.health = TargetHealth{State: StateInitial, Reason: ReasonInitialChecking, Description: "Initial health checks in progress"}
	}
	t.routable.Store(t.health.State == StateHealthy)
}

// probe runs one health check from the address source; an empty reason
// is a pass.
func probe(addr, source string, hc HealthCheck) (reason, desc string) {
	timeout := hc.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	if hc.Protocol == "TCP" || hc.Protocol == "TLS" {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		c, err := dialFrom(ctx, addr, source, timeout)
		if err != nil {
			return failure(err)
		}
		defer c.Close()
		if hc.Protocol == "TLS" {
			if err := tls.Client(c, targetTLS).HandshakeContext(ctx); err != nil {
				return failure(err)
			}
		}
		return "", ""
	}
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), targetKey{}, forwardInfo{source: source}), timeout)
	defer cancel()
	scheme := "http://"
	if hc.Protocol == "HTTPS" {
		scheme = "https://"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+addr+or(hc.Path, "/"), nil)
	if err != nil {
		return ReasonFailedChecks, "Health checks failed"
	}
	req.Header.Set("User-Agent", "ELB-HealthChecker/2.0")
	resp, err := checkClient.Do(req)
	if err != nil {
		return failure(err)
	}
	resp.Body.Close()
	if !matchCode(hc.Matcher, resp.StatusCode) {
		return ReasonCodeMismatch, fmt.Sprintf("Health checks failed with these codes: [%d]", resp.StatusCode)
	}
	return "", ""
}

// targetTLS is how connections to HTTPS and TLS targets are encrypted:
// their certificates are not verified, as AWS's load balancers do not.
var targetTLS = &tls.Config{InsecureSkipVerify: true}

// checkClient sends health checks on fresh connections, as a load
// balancer's checker does.
var checkClient = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil, TLSClientConfig: targetTLS, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		fi, _ := ctx.Value(targetKey{}).(forwardInfo)
		return dialFrom(ctx, addr, fi.source, 10*time.Second)
	}},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func failure(err error) (string, string) {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return ReasonTimeout, "Request timed out"
	}
	return ReasonFailedChecks, "Health checks failed"
}

// matchCode reports whether code is among a matcher's codes: "200",
// "200,202" or "200-299" (empty: 200).
func matchCode(matcher string, code int) bool {
	if matcher == "" {
		matcher = "200"
	}
	for _, part := range strings.Split(matcher, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		if code >= a && code <= b {
			return true
		}
	}
	return false
}
