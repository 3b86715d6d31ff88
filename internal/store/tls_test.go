package store

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testCA issues certificates for the TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string
}

func newTestCA(t *testing.T, dir, name string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	file := filepath.Join(dir, name+".pem")
	writePEM(t, file, "CERTIFICATE", der)
	return &testCA{cert: cert, key: key, file: file}
}

// issue writes a certificate for cn (a server one when ip is set) and its
// key, and returns their files.
func (ca *testCA) issue(t *testing.T, dir, cn string, ip net.IP) (certFile, keyFile string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, cn+"-"+ca.cert.Subject.CommonName+".pem"), filepath.Join(dir, cn+"-"+ca.cert.Subject.CommonName+"-key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", kder)
	return certFile, keyFile
}

func writePEM(t *testing.T, file, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServedEtcdTLSAndAuth serves an embedded member over TLS with client
// certificates and authentication, as `berth etcd` does, and connects to
// it as `berth server --etcd-endpoints` does: only a client with a
// certificate from the right CA and the right password (or a certificate
// naming user root) gets in.
func TestServedEtcdTLSAndAuth(t *testing.T) {
	dir := t.TempDir()
	ca, rogue := newTestCA(t, dir, "berth-ca"), newTestCA(t, dir, "rogue-ca")
	srvCert, srvKey := ca.issue(t, dir, "etcd", net.IPv4(127, 0, 0, 1))
	rootCert, rootKey := ca.issue(t, dir, "root", nil)
	otherCert, otherKey := ca.issue(t, dir, "someone", nil)
	rogueCert, rogueKey := rogue.issue(t, dir, "root", nil)
	url := "https://" + freePort(t)
	member, err := Open(context.Background(), Config{DataDir: filepath.Join(dir, "member"), ClientURL: url,
		TLS: TLSFiles{CertFile: srvCert, KeyFile: srvKey, CAFile: ca.file}, Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer member.Close()
	for _, tc := range []struct {
		name     string
		url      string
		tls      TLSFiles
		user, pw string
		ok       bool
	}{
		{"certificate and password", url, TLSFiles{CertFile: rootCert, KeyFile: rootKey, CAFile: ca.file}, "root", "s3cret", true},
		{"certificate naming root", url, TLSFiles{CertFile: rootCert, KeyFile: rootKey, CAFile: ca.file}, "", "", true},
		{"wrong password", url, TLSFiles{CertFile: rootCert, KeyFile: rootKey, CAFile: ca.file}, "root", "guess", false},
		{"certificate of another user", url, TLSFiles{CertFile: otherCert, KeyFile: otherKey, CAFile: ca.file}, "", "", false},
		{"no client certificate", url, TLSFiles{CAFile: ca.file}, "root", "s3cret", false},
		{"certificate from another CA", url, TLSFiles{CertFile: rogueCert, KeyFile: rogueKey, CAFile: ca.file}, "root", "s3cret", false},
		{"server not trusted", url, TLSFiles{CertFile: rootCert, KeyFile: rootKey, CAFile: rogue.file}, "root", "s3cret", false},
		{"plain http", "http" + url[len("https"):], TLSFiles{}, "root", "s3cret", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			st, err := Open(ctx, Config{Endpoints: []string{tc.url}, TLS: tc.tls, Username: tc.user, Password: tc.pw})
			if !tc.ok {
				if err == nil {
					st.Close()
					t.Fatal("connected; want refused")
				}
				t.Logf("refused: %v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := Put(ctx, st, "/berth/tls-test", counter{N: 7}); err != nil {
				t.Fatal(err)
			}
			if it, err := Get[counter](ctx, st, "/berth/tls-test"); err != nil || it.Value.N != 7 {
				t.Fatalf("read back %+v, %v", it, err)
			}
			if u, err := st.Usage(ctx); err != nil || u.Size == 0 {
				t.Fatalf("Usage = %+v, %v", u, err)
			}
		})
	}
}
