package testutil

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"testing"
)

// LineEcho is a TCP server on 127.0.0.1 answering each connection's first
// line as "<name>:<line>", then closing; it returns its address.
func LineEcho(t testing.TB, name string) string { return LineEchoTLS(t, name, nil) }

// LineEchoTLS is LineEcho over TLS with cfg (plain TCP when nil).
func LineEchoTLS(t testing.TB, name string, cfg *tls.Config) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	serve(t, ln, func(c net.Conn) {
		defer c.Close()
		line, _ := bufio.NewReader(c).ReadString('\n')
		fmt.Fprintf(c, "%s:%s", name, line)
	})
	return ln.Addr().String()
}

// UDPEcho is a UDP server on 127.0.0.1 answering each datagram as
// "<name>|<sender's address>|<datagram>", with a TCP listener on the same
// port for health checks (which accepts and closes); it returns the
// address.
func UDPEcho(t testing.TB, name string) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	serve(t, ln, func(c net.Conn) { c.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo([]byte(name+"|"+from.String()+"|"+string(buf[:n])), from)
		}
	}()
	return pc.LocalAddr().String()
}

// serve hands each connection of ln to handle, each in its own goroutine,
// until the test ends and closes ln.
func serve(t testing.TB, ln net.Listener, handle func(net.Conn)) {
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
}
