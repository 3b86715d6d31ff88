package lb

import (
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// listener is an open listener: its sockets and its current routing table,
// swapped whole when the rules or targets change.
type listener struct {
	port     int
	protocol string
	lns      []net.Listener
	// pcs are a UDP or TCP_UDP listener's UDP sockets.
	pcs   []net.PacketConn
	table atomic.Pointer[table]
	// ingress are the clients admitted; nil admits everyone.
	ingress atomic.Pointer[Ingress]
	// tls is an HTTPS or TLS listener's configuration of the moment.
	tls  atomic.Pointer[tls.Config]
	http *http.Server
	wg   sync.WaitGroup
	// conns are a TCP listener's open connections, closed with it.
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// table is a listener's rules resolved to the groups they forward to.
type table struct {
	port int
	xff  string
	// proto is the scheme clients used: http or https.
	proto  string
	routes []route
}

type route struct {
	rule   Rule
	groups []weighted
	total  int
}

type weighted struct {
	g      *group
	weight int
}

// pick chooses a target group by weight.
func (r *route) pick() *group {
	if len(r.groups) == 1 {
		return r.groups[0].g
	}
	if r.total <= 0 {
		return nil
	}
	n := rand.IntN(r.total)
	for _, w := range r.groups {
		if n < w.weight {
			return w.g
		}
		n -= w.weight
	}
	return nil
}

func (l *listener) close() {
	if l.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if l.http.Shutdown(ctx) != nil {
			l.http.Close()
		}
	}
	for _, ln := range l.lns {
		ln.Close()
	}
	for _, pc := range l.pcs {
		pc.Close()
	}
	l.mu.Lock()
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
}

// handler serves an application listener.
type handler struct {
	plane *Plane
	l     *listener
}

// targetKey carries the chosen target from ServeHTTP to the proxy.
type targetKey struct{}

type forwardInfo struct {
	addr   string
	source string
	port   int
	xff    string
	proto  string
	// tls says the target speaks HTTPS; auth, when set, authenticates it.
	tls  bool
	auth *targetAuth
	// sticky is the group's stickiness, key the target's: the response
	// binds the client to it.
	sticky *Stickiness
	key    string
	// groupSticky binds the client to group, the target group, for
	// that long.
	group       string
	groupSticky time.Duration
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := h.l.table.Load()
	for i := range t.routes {
		rt := &t.routes[i]
		if !matches(rt.rule.Conditions, r) {
			continue
		}
		switch rt.rule.Action.Type {
		case "fixed-response":
			fixed(w, rt.rule.Action.Fixed)
		case "redirect":
			redirect(w, r, rt.rule.Action.Redirect, t.port, t.proto)
		default:
			var g *group
			if rt.rule.Action.GroupStickiness > 0 {
				g = h.plane.stickyGroup(rt, r)
			}
			if g == nil {
				g = rt.pick()
			}
			if g == nil {
				http.Error(w, "503 Service Temporarily Unavailable", http.StatusServiceUnavailable)
				return
			}
			var tgt *target
			st := rt.rule.Action.Stickiness
			if st == nil {
				st = g.sticky.Load()
			}
			if st != nil {
				tgt = h.plane.stickyTarget(g, st, r)
			}
			if tgt == nil {
				tgt = g.next()
			}
			if tgt == nil {
				http.Error(w, "503 Service Temporarily Unavailable", http.StatusServiceUnavailable)
				return
			}
			tgt.outstanding.Add(1)
			defer tgt.outstanding.Add(-1)
			ctx := context.WithValue(r.Context(), targetKey{}, forwardInfo{addr: tgt.addr, source: tgt.source, port: t.port, xff: t.xff, proto: t.proto,
				tls: g.tls.Load(), auth: g.auth.Load(), sticky: st, key: tgt.key, group: g.arn, groupSticky: rt.rule.Action.GroupStickiness})
			h.plane.proxy.ServeHTTP(w, r.WithContext(ctx))
		}
		return
	}
	http.Error(w, "404 Not Found", http.StatusNotFound)
}

// newProxy is the reverse proxy of every application listener: the target
// travels in the request's context; the headers are the load balancer's.
func newProxy(tr http.RoundTripper, log *slog.Logger) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Transport:  tr,
		BufferPool: &buffers{},
		Rewrite: func(pr *httputil.ProxyRequest) {
			fi := pr.In.Context().Value(targetKey{}).(forwardInfo)
			scheme := "http"
			if fi.tls {
				scheme = "https"
			}
			pr.SetURL(&url.URL{Scheme: scheme, Host: fi.addr})
			pr.Out.Host = pr.In.Host
			client, _, _ := net.SplitHostPort(pr.In.RemoteAddr)
			switch fi.xff {
			case "preserve":
				pr.Out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
			case "remove":
			default:
				if prior := pr.In.Header.Values("X-Forwarded-For"); len(prior) > 0 {
					client = strings.Join(prior, ", ") + ", " + client
				}
				pr.Out.Header.Set("X-Forwarded-For", client)
			}
			pr.Out.Header.Set("X-Forwarded-Proto", fi.proto)
			pr.Out.Header.Set("X-Forwarded-Port", strconv.Itoa(fi.port))
			pr.Out.Header.Set("X-Amzn-Trace-Id", traceID(pr.In.Header.Get("X-Amzn-Trace-Id")))
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				http.Error(w, "504 Gateway Time-out", http.StatusGatewayTimeout)
				return
			}
			if !errors.Is(err, context.Canceled) {
				log.Debug("load balancer: target failed", "err", err)
			}
			http.Error(w, "502 Bad Gateway", http.StatusBadGateway)
		},
	}
}

// traceID keeps a client's X-Amzn-Trace-Id or starts one in AWS's form:
// Root=1-<epoch seconds, 8 hex>-<96 random bits, 24 hex>.
func traceID(in string) string {
	if strings.Contains(in, "Root=") {
		return in
	}
	var b [12]byte
	crand.Read(b[:])
	return fmt.Sprintf("Root=1-%08x-%s", time.Now().Unix(), hex.EncodeToString(b[:]))
}

// fixed writes a fixed-response action's answer.
func fixed(w http.ResponseWriter, f *FixedResponse) {
	ct := f.ContentType
	if ct == "" {
		ct = "text/plain; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(f.StatusCode)
	io.WriteString(w, f.Body)
}

// redirect answers a redirect action; the parts left at their #{...}
// defaults keep the request's.
func redirect(w http.ResponseWriter, r *http.Request, rd *Redirect, port int, scheme string) {
	host, reqPort, err := net.SplitHostPort(r.Host)
	if err != nil {
		host, reqPort = r.Host, strconv.Itoa(port)
	}
	sub := strings.NewReplacer("#{protocol}", scheme, "#{host}", host, "#{port}", reqPort,
		"#{path}", strings.TrimPrefix(r.URL.Path, "/"), "#{query}", r.URL.RawQuery)
	proto := strings.ToLower(sub.Replace(or(rd.Protocol, "#{protocol}")))
	h := sub.Replace(or(rd.Host, "#{host}"))
	p := sub.Replace(or(rd.Port, "#{port}"))
	path := sub.Replace(or(rd.Path, "/#{path}"))
	q := sub.Replace(or(rd.Query, "#{query}"))
	u := url.URL{Scheme: proto, Host: h, Path: path, RawQuery: q}
	if !(proto == "http" && p == "80") && !(proto == "https" && p == "443") {
		u.Host = net.JoinHostPort(h, p)
	}
	w.Header().Set("Location", u.String())
	w.WriteHeader(rd.StatusCode)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// serveTCP is a network listener: each connection goes whole to one
// target, bytes copied both ways until either side closes. A TLS
// listener's connections are decrypted first: a client that fails its
// handshake never reaches a target.
func (l *listener) serveTCP(ln net.Listener, log *slog.Logger) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			l.track(c, true)
			defer l.track(c, false)
			defer c.Close()
			if tc, ok := c.(*tls.Conn); ok {
				ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
				err := tc.HandshakeContext(ctx)
				cancel()
				if err != nil {
					return
				}
			}
			tgt, g := l.pickTarget(c.RemoteAddr())
			if tgt == nil {
				return
			}
			raw, err := dialFrom(context.Background(), tgt.addr, tgt.source, 10*time.Second)
			if err != nil {
				log.Debug("load balancer: target unreachable", "target", tgt.addr, "err", err)
				return
			}
			l.track(raw, true)
			defer l.track(raw, false)
			defer raw.Close()
			if g.proxy.Load() {
				if _, err := io.WriteString(raw, proxyHeader(c)); err != nil {
					return
				}
			}
			up := raw
			if g.tls.Load() {
				tc := tls.Client(raw, g.auth.Load().tlsConfig())
				ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
				err := tc.HandshakeContext(ctx)
				cancel()
				if err != nil {
					log.Debug("load balancer: TLS to the target failed", "target", tgt.addr, "err", err)
					return
				}
				up = tc
			}
			tgt.outstanding.Add(1)
			defer tgt.outstanding.Add(-1)
			done := make(chan struct{}, 2)
			go func() { io.Copy(up, c); closeWrite(up); done <- struct{}{} }()
			go func() { io.Copy(c, up); closeWrite(c); done <- struct{}{} }()
			<-done
			<-done
		}()
	}
}

// proxyHeader is the PROXY protocol (version 1) line that tells a target
// which client a connection is from and where it reached the load
// balancer; it precedes the connection's bytes (and TLS to the target).
func proxyHeader(c net.Conn) string {
	src, _ := c.RemoteAddr().(*net.TCPAddr)
	dst, _ := c.LocalAddr().(*net.TCPAddr)
	if src == nil || dst == nil {
		return "PROXY UNKNOWN\r\n"
	}
	family := "TCP4"
	if src.IP.To4() == nil || dst.IP.To4() == nil {
		family = "TCP6"
	}
	return fmt.Sprintf("PROXY %s %s %s %d %d\r\n", family, src.IP, dst.IP, src.Port, dst.Port)
}

// pickTarget chooses a network listener's target for a new connection or
// flow of client: its forward action's group, then the group's next
// target, or with source_ip stickiness the healthy target client's
// address hashes to (the same one while the healthy targets are the
// same).
func (l *listener) pickTarget(client net.Addr) (*target, *group) {
	t := l.table.Load()
	for i := range t.routes {
		if t.routes[i].rule.Action.Type != "forward" {
			continue
		}
		g := t.routes[i].pick()
		if g == nil {
			return nil, nil
		}
		if st := g.sticky.Load(); st != nil && st.Type == "source_ip" {
			if tgt := g.bySource(client); tgt != nil {
				return tgt, g
			}
		}
		return g.next(), g
	}
	return nil, nil
}

func (l *listener) track(c net.Conn, open bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conns == nil {
		l.conns = map[net.Conn]struct{}{}
	}
	if open {
		l.conns[c] = struct{}{}
	} else {
		delete(l.conns, c)
	}
}

// handshakeTimeout bounds a TLS listener's handshakes.
const handshakeTimeout = 10 * time.Second

// closeWrite half-closes a connection (TCP, or TLS with close_notify).
func closeWrite(c net.Conn) {
	if hc, ok := c.(interface{ CloseWrite() error }); ok {
		hc.CloseWrite()
	}
}

// buffers lends the proxy its copy buffers, so that a response body's copy
// allocates none.
type buffers struct{ pool sync.Pool }

func (b *buffers) Get() []byte {
	if v := b.pool.Get(); v != nil {
		return *v.(*[]byte)
	}
	return make([]byte, 32<<10)
}

func (b *buffers) Put(buf []byte) { b.pool.Put(&buf) }
