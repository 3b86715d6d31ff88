package lb

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"sync"
)

// Back-end authentication. A target group with TargetKeys accepts, over
// TLS, only targets whose certificate carries one of those public keys
// (a Classic load balancer's BackendServerAuthenticationPolicyType);
// other groups accept any certificate, as AWS's load balancers do. Its
// requests use their own pool of connections, one per set of keys, so
// that a connection no key vouched for never carries them.

// targetAuth is a group's TLS configuration towards its targets and the
// name of its key set.
type targetAuth struct {
	id  string
	cfg *tls.Config
}

// newTargetAuth is the authentication of keys (DER, PKIX); nil for none.
func newTargetAuth(keys [][]byte) *targetAuth {
	if len(keys) == 0 {
		return nil
	}
	ks := slices.Clone(keys)
	slices.SortFunc(ks, bytes.Compare)
	sum := sha256.New()
	for _, k := range ks {
		sum.Write(k)
	}
	verify := func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return errors.New("lb: the target presented no certificate")
		}
		leaf, err := x509.ParseCertificate(raw[0])
		if err != nil {
			return err
		}
		for _, k := range ks {
			if bytes.Equal(k, leaf.RawSubjectPublicKeyInfo) {
				return nil
			}
		}
		return errors.New("lb: the target's public key is not one its group accepts")
	}
	return &targetAuth{id: hex.EncodeToString(sum.Sum(nil)), cfg: &tls.Config{InsecureSkipVerify: true, VerifyPeerCertificate: verify}}
}

// tlsConfig is the configuration of TLS to a group's targets.
func (a *targetAuth) tlsConfig() *tls.Config {
	if a == nil {
		return targetTLS
	}
	return a.cfg
}

// transports sends each proxied request through the shared pool, or the
// pool of its group's key set.
type transports struct {
	plain *http.Transport
	mu    sync.Mutex
	byKey map[string]*http.Transport
}

func (t *transports) RoundTrip(r *http.Request) (*http.Response, error) {
	fi, _ := r.Context().Value(targetKey{}).(forwardInfo)
	if fi.auth == nil {
		return t.plain.RoundTrip(r)
	}
	t.mu.Lock()
	tr := t.byKey[fi.auth.id]
	if tr == nil {
		tr = t.plain.Clone()
		tr.TLSClientConfig = fi.auth.cfg
		t.byKey[fi.auth.id] = tr
	}
	t.mu.Unlock()
	return tr.RoundTrip(r)
}

// closeIdle closes every pool's idle connections.
func (t *transports) closeIdle() {
	t.plain.CloseIdleConnections()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tr := range t.byKey {
		tr.CloseIdleConnections()
	}
}
