package lb

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// waitHealthy waits until every target of a group is healthy.
func waitHealthy(t *testing.T, p *Plane, group string, keys ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		h, _ := p.Health(group)
		ok := true
		for _, k := range keys {
			ok = ok && h[k].State == StateHealthy
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("health %v", h)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func certOf(arn string, c testutil.Issued, ca *testutil.CA) Certificate {
	return Certificate{ARN: arn, CertPEM: append(append([]byte{}, c.CertPEM...), ca.PEM...), KeyPEM: c.KeyPEM}
}

// TestHTTPSListener: an HTTPS listener terminates TLS with the certificate
// the client's server name picks (the default one otherwise), speaks
// HTTP/2 to clients that offer it and HTTP/1.1 to the others, tells the
// target the client used https on the listener's port, and serves a
// changed certificate to new handshakes without closing its socket.
func TestHTTPSListener(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "proto=%s port=%s", r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Forwarded-Port"))
	}))
	defer backend.Close()
	ca := testutil.NewCA(t, "Test CA")
	def, api := ca.Issue(t, false, "www.example.com"), ca.Issue(t, true, "api.example.com")
	p := New(Options{CheckInterval: 50 * time.Millisecond, Log: quiet()})
	defer p.Close()
	port := freePort(t)
	addr := backend.Listener.Addr().String()
	g := TargetGroup{ARN: "tg", Protocol: "HTTP", Health: HealthCheck{Enabled: true, Protocol: "HTTP", Path: "/", Timeout: time.Second, Healthy: 2, Unhealthy: 2, Matcher: "200"},
		Targets: []Target{{Key: "t", Addr: addr, HealthAddr: addr}}}
	cfg := func(apiCert testutil.Issued) Config {
		return Config{Groups: []TargetGroup{g}, Listeners: []Listener{{ARN: "l", Protocol: "HTTPS", Port: port,
			TLS:   &TLS{Certificates: []Certificate{certOf("def", def, ca), certOf("api", apiCert, ca)}, Protocols: []string{"TLSv1.2", "TLSv1.3"}},
			Rules: []Rule{{Action: Action{Type: "forward", Forward: []Weighted{{Group: "tg", Weight: 1}}}}}}}}
	}
	if err := p.Apply(cfg(api)); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, p, "tg", "t")
	target := fmt.Sprintf("127.0.0.1:%d", port)
	get := func(name string, h2 bool) (*http.Response, string) {
		t.Helper()
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: name}, ForceAttemptHTTP2: h2}
		if !h2 {
			tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
		}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + target + "/")
		if err != nil {
			t.Fatalf("GET as %s: %v", name, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	for _, tc := range []struct {
		name, wantCN, wantProto string
		h2                      bool
	}{
		{"www.example.com", "www.example.com", "HTTP/2.0", true},
		{"api.example.com", "api.example.com", "HTTP/2.0", true},
		{"api.example.com", "api.example.com", "HTTP/1.1", false},
	} {
		resp, body := get(tc.name, tc.h2)
		if cn := resp.TLS.PeerCertificates[0].Subject.CommonName; cn != tc.wantCN || resp.Proto != tc.wantProto {
			t.Errorf("as %s (h2 %v): certificate %s over %s, want %s over %s", tc.name, tc.h2, cn, resp.Proto, tc.wantCN, tc.wantProto)
		}
		if want := fmt.Sprintf("proto=https port=%d", port); body != want {
			t.Errorf("target saw %q, want %q", body, want)
		}
	}
	// A name no certificate has, or none: the default certificate.
	for _, name := range []string{"other.example.org", ""} {
		c, err := tls.Dial("tcp", target, &tls.Config{ServerName: name, InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		if cn := c.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "www.example.com" {
			t.Errorf("server name %q got %s, want the default certificate", name, cn)
		}
		c.Close()
	}
	// Re-imported: the next handshake gets the new certificate.
	renewed := ca.Issue(t, false, "api.example.com")
	if err := p.Apply(cfg(renewed)); err != nil {
		t.Fatal(err)
	}
	resp, _ := get("api.example.com", true)
	if got := resp.TLS.PeerCertificates[0].SerialNumber; got.Cmp(renewed.Cert.SerialNumber) != 0 {
		t.Fatalf("serial %v after the change, want %v", got, renewed.Cert.SerialNumber)
	}
}

// TestTLSListener: a TLS (network) listener decrypts and passes the bytes
// to a TCP target, offers its ALPN policy's protocols, and refuses the
// protocol versions its policy leaves out.
func TestTLSListener(t *testing.T) {
	ca := testutil.NewCA(t, "Test CA")
	cert := ca.Issue(t, false, "tcp.example.com")
	p := New(Options{CheckInterval: 50 * time.Millisecond, Log: quiet()})
	defer p.Close()
	port := freePort(t)
	addr := testutil.LineEcho(t, "plain")
	err := p.Apply(Config{Groups: []TargetGroup{{ARN: "tg", Protocol: "TCP", Health: HealthCheck{Enabled: true, Protocol: "TCP", Timeout: time.Second, Healthy: 2, Unhealthy: 2},
		Targets: []Target{{Key: "t", Addr: addr, HealthAddr: addr}}}},
		Listeners: []Listener{{ARN: "l", Protocol: "TLS", Port: port,
			TLS:   &TLS{Certificates: []Certificate{certOf("c", cert, ca)}, Protocols: []string{"TLSv1.2"}, Ciphers: []string{"ECDHE-RSA-AES128-GCM-SHA256"}, ALPN: []string{"h2", "http/1.1"}},
			Rules: []Rule{{Action: Action{Type: "forward", Forward: []Weighted{{Group: "tg", Weight: 1}}}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, p, "tg", "t")
	target := fmt.Sprintf("127.0.0.1:%d", port)
	c, err := tls.Dial("tcp", target, &tls.Config{RootCAs: ca.Pool(), ServerName: "tcp.example.com", NextProtos: []string{"http/1.1", "h2"}})
	if err != nil {
		t.Fatal(err)
	}
	st := c.ConnectionState()
	if st.Version != tls.VersionTLS12 || st.CipherSuite != tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 || st.NegotiatedProtocol != "h2" {
		t.Errorf("version %x, suite %x, ALPN %q", st.Version, st.CipherSuite, st.NegotiatedProtocol)
	}
	fmt.Fprintf(c, "secret\n")
	b, _ := io.ReadAll(c)
	c.Close()
	if string(b) != "plain:secret\n" {
		t.Fatalf("target answered %q", b)
	}
	// TLS 1.3 only, or a suite outside the policy: no handshake.
	for _, cfg := range []*tls.Config{
		{RootCAs: ca.Pool(), ServerName: "tcp.example.com", MinVersion: tls.VersionTLS13},
		{RootCAs: ca.Pool(), ServerName: "tcp.example.com", MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384}},
	} {
		if c, err := tls.Dial("tcp", target, cfg); err == nil {
			c.Close()
			t.Errorf("handshake with %+v succeeded", cfg)
		}
	}
}

// TestTLSTargetGroup: a TLS listener forwarding to a TLS target group
// encrypts again towards the target (whose certificate, like AWS, it does
// not verify): the target, which speaks only TLS, answers.
func TestTLSTargetGroup(t *testing.T) {
	ca := testutil.NewCA(t, "Test CA")
	front, back := ca.Issue(t, false, "front.example.com"), ca.Issue(t, true, "10.0.0.1.internal")
	backPair, err := tls.X509KeyPair(back.CertPEM, back.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	addr := testutil.LineEchoTLS(t, "tls-target", &tls.Config{Certificates: []tls.Certificate{backPair}})
	p := New(Options{CheckInterval: 50 * time.Millisecond, Log: quiet()})
	defer p.Close()
	port := freePort(t)
	err = p.Apply(Config{Groups: []TargetGroup{{ARN: "tg", Protocol: "TLS", Health: HealthCheck{Enabled: true, Protocol: "TCP", Timeout: time.Second, Healthy: 2, Unhealthy: 2},
		Targets: []Target{{Key: "t", Addr: addr, HealthAddr: addr}}}},
		Listeners: []Listener{{ARN: "l", Protocol: "TLS", Port: port, TLS: &TLS{Certificates: []Certificate{certOf("c", front, ca)}},
			Rules: []Rule{{Action: Action{Type: "forward", Forward: []Weighted{{Group: "tg", Weight: 1}}}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, p, "tg", "t")
	c, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{RootCAs: ca.Pool(), ServerName: "front.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "hi\n")
	if b, _ := io.ReadAll(c); string(b) != "tls-target:hi\n" {
		t.Fatalf("target answered %q", b)
	}
}

// TestHTTPSTargetGroup: an application listener forwarding to an HTTPS
// target group speaks TLS to its targets, and checks them over HTTPS.
func TestHTTPSTargetGroup(t *testing.T) {
	backend := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "tls=%v", r.TLS != nil)
	}))
	defer backend.Close()
	p := New(Options{CheckInterval: 50 * time.Millisecond, Log: quiet()})
	defer p.Close()
	port := freePort(t)
	addr := backend.Listener.Addr().String()
	err := p.Apply(Config{Groups: []TargetGroup{{ARN: "tg", Protocol: "HTTPS", Health: HealthCheck{Enabled: true, Protocol: "HTTPS", Path: "/", Timeout: time.Second, Healthy: 2, Unhealthy: 2, Matcher: "200"},
		Targets: []Target{{Key: "t", Addr: addr, HealthAddr: addr}}}},
		Listeners: []Listener{{ARN: "l", Protocol: "HTTP", Port: port, Rules: []Rule{{Action: Action{Type: "forward", Forward: []Weighted{{Group: "tg", Weight: 1}}}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, p, "tg", "t")
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); string(b) != "tls=true" {
		t.Fatalf("target answered %q", b)
	}
}
