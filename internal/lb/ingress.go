package lb

import (
	"net"
	"net/netip"
)

// Ingress are the clients a load balancer's security groups let in on a
// listener's port, by transport. A client not in them is refused before
// anything is read from it: its connection is closed at accept, its
// datagrams dropped, as a security group drops packets.
type Ingress struct {
	TCP, UDP []netip.Prefix
}

// admits reports whether a client may use the listener over network
// ("tcp" or "udp"); a listener without Ingress admits everyone.
func (l *listener) admits(network string, client net.Addr) bool {
	in := l.ingress.Load()
	if in == nil {
		return true
	}
	var a netip.Addr
	switch c := client.(type) {
	case *net.TCPAddr:
		a = c.AddrPort().Addr()
	case *net.UDPAddr:
		a = c.AddrPort().Addr()
	default:
		return false
	}
	a = a.Unmap()
	allowed := in.TCP
	if network == "udp" {
		allowed = in.UDP
	}
	for _, p := range allowed {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// guarded is a TCP listener that closes the connections of clients its
// load balancer's groups do not admit, at once.
type guarded struct {
	net.Listener
	l *listener
}

func (g guarded) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err != nil || g.l.admits("tcp", c.RemoteAddr()) {
			return c, err
		}
		c.Close()
	}
}
