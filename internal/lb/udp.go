package lb

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// UDP listeners keep a flow per client address and port: the first
// datagram picks a target and opens a socket towards it; the target's
// answers go back to the client through the listener's socket; a flow no
// datagram crossed for the idle timeout closes, as AWS's network load
// balancers time UDP flows out.
const (
	// UDPIdleTimeout is how long a UDP flow lives without a datagram
	// either way (AWS's is 120 seconds).
	UDPIdleTimeout = 120 * time.Second
	// MaxUDPFlows bounds the flows of one listener socket; datagrams of
	// new clients beyond it are dropped until flows time out.
	MaxUDPFlows = 4096
)

// udpLimits bound a listener socket's flows.
type udpLimits struct {
	idle time.Duration
	max  int
}

// udpFlow is one client's flow to its target.
type udpFlow struct {
	up   net.Conn
	tgt  *target
	last atomic.Int64 // unix nanoseconds of the last datagram either way
}

func (f *udpFlow) touch() { f.last.Store(time.Now().UnixNano()) }

func (f *udpFlow) idleFor() time.Duration {
	return time.Duration(time.Now().UnixNano() - f.last.Load())
}

// udpFlows are a listener socket's flows by client address.
type udpFlows struct {
	mu    sync.Mutex
	flows map[string]*udpFlow
}

// serveUDP serves a UDP socket of a network listener until it closes,
// then closes its flows.
func (l *listener) serveUDP(pc net.PacketConn, lim udpLimits, log *slog.Logger) {
	fs := &udpFlows{flows: map[string]*udpFlow{}}
	defer func() {
		fs.mu.Lock()
		for _, f := range fs.flows {
			f.up.Close()
		}
		fs.mu.Unlock()
	}()
	buf := make([]byte, 64<<10)
	for {
		n, client, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // a transient error of one datagram
		}
		if !l.admits("udp", client) {
			continue // the load balancer's groups drop it
		}
		f := l.flow(fs, pc, client, lim, log)
		if f == nil {
			continue // no target, or too many flows: dropped
		}
		f.touch()
		f.up.Write(buf[:n])
	}
}

// flow returns a client's flow, opening it towards a target if new.
func (l *listener) flow(fs *udpFlows, pc net.PacketConn, client net.Addr, lim udpLimits, log *slog.Logger) *udpFlow {
	key := client.String()
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f := fs.flows[key]; f != nil {
		return f
	}
	if len(fs.flows) >= lim.max {
		return nil
	}
	tgt, _ := l.pickTarget(client)
	if tgt == nil {
		return nil
	}
	up, err := dialUDPFrom(tgt.addr, tgt.source)
	if err != nil {
		log.Debug("load balancer: UDP target unreachable", "target", tgt.addr, "err", err)
		return nil
	}
	f := &udpFlow{up: up, tgt: tgt}
	f.touch()
	fs.flows[key] = f
	tgt.outstanding.Add(1)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer tgt.outstanding.Add(-1)
		l.answer(pc, client, f, lim.idle)
		fs.mu.Lock()
		if fs.flows[key] == f {
			delete(fs.flows, key)
		}
		fs.mu.Unlock()
		up.Close()
	}()
	return f
}

// answer passes a target's datagrams back to the client until the flow
// has been idle for the timeout or its socket closes.
func (l *listener) answer(pc net.PacketConn, client net.Addr, f *udpFlow, idle time.Duration) {
	buf := make([]byte, 64<<10)
	for {
		f.up.SetReadDeadline(time.Now().Add(idle - f.idleFor()))
		n, err := f.up.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) && f.idleFor() < idle {
				continue // the client sent meanwhile: the flow lives on
			}
			if errors.Is(err, syscall.ECONNREFUSED) {
				continue // an ICMP error for one datagram; later ones may pass
			}
			return
		}
		f.touch()
		if _, err := pc.WriteTo(buf[:n], client); errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// dialUDPFrom connects a UDP socket to a target from the local address
// source, as dialFrom does for TCP.
func dialUDPFrom(addr, source string) (net.Conn, error) {
	var d net.Dialer
	if ip := net.ParseIP(source); ip != nil {
		d.LocalAddr = &net.UDPAddr{IP: ip}
		c, err := d.DialContext(context.Background(), "udp", addr)
		if !errors.Is(err, syscall.EADDRNOTAVAIL) {
			return c, err
		}
		d.LocalAddr = nil
	}
	return d.DialContext(context.Background(), "udp", addr)
}
