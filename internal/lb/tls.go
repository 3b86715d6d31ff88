package lb

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
)

// TLS is how an HTTPS or TLS listener terminates TLS.
type TLS struct {
	// Certificates are served by the client's server name (SNI); the
	// first is the default, for clients that name none or no match.
	Certificates []Certificate
	// Protocols are the policy's versions: TLSv1, TLSv1.1, TLSv1.2, TLSv1.3.
	Protocols []string
	// Ciphers are the policy's ciphers by their OpenSSL names, in order
	// of preference.
	Ciphers []string
	// ALPN are the protocols a TLS (network) listener offers, in order of
	// preference; none, no ALPN. HTTPS listeners always offer h2 and
	// http/1.1.
	ALPN []string
}

// Certificate is a certificate (with its chain) and its private key, in PEM.
type Certificate struct {
	ARN             string
	CertPEM, KeyPEM []byte
}

// versions are the policies' protocol names as Go's versions.
var versions = map[string]uint16{"TLSv1": tls.VersionTLS10, "TLSv1.1": tls.VersionTLS11, "TLSv1.2": tls.VersionTLS12, "TLSv1.3": tls.VersionTLS13}

// cipherNames maps the policies' OpenSSL cipher names to their IANA
// names, which Go's suites carry. Where Go differs from the policies:
//   - Go implements no CBC suite with SHA-384 (ECDHE-*-AES256-SHA384) and
//     no AES256-SHA256: they are left out, so a client offering only
//     those is refused where AWS would accept it;
//   - TLS 1.3's suites (TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384,
//     TLS_CHACHA20_POLY1305_SHA256) cannot be chosen in Go: a policy with
//     TLSv1.3 gets all three, which are exactly what AWS's TLS 1.3
//     policies list;
//   - Go's order of preference is its own (it prefers AES-GCM or
//     ChaCha20 by the hardware), not the policy's priority.
var cipherNames = map[string]string{
	"ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
	"ECDHE-RSA-AES128-GCM-SHA256":   "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	"ECDHE-ECDSA-AES128-SHA256":     "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
	"ECDHE-RSA-AES128-SHA256":       "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
	"ECDHE-ECDSA-AES128-SHA":        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
	"ECDHE-RSA-AES128-SHA":          "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
	"ECDHE-ECDSA-AES256-GCM-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
	"ECDHE-RSA-AES256-GCM-SHA384":   "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
	"ECDHE-RSA-AES256-SHA":          "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
	"ECDHE-ECDSA-AES256-SHA":        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
	"ECDHE-ECDSA-CHACHA20-POLY1305": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
	"ECDHE-RSA-CHACHA20-POLY1305":   "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
	"AES128-GCM-SHA256":             "TLS_RSA_WITH_AES_128_GCM_SHA256",
	"AES128-SHA256":                 "TLS_RSA_WITH_AES_128_CBC_SHA256",
	"AES128-SHA":                    "TLS_RSA_WITH_AES_128_CBC_SHA",
	"AES256-GCM-SHA384":             "TLS_RSA_WITH_AES_256_GCM_SHA384",
	"AES256-SHA":                    "TLS_RSA_WITH_AES_256_CBC_SHA",
	"DES-CBC3-SHA":                  "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
}

// suiteIDs are Go's suites (secure and insecure) by IANA name.
var suiteIDs = func() map[string]uint16 {
	out := map[string]uint16{}
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		out[s.Name] = s.ID
	}
	return out
}()

// suites are Go's suites for a policy's ciphers, in the policy's order;
// those Go lacks are left out (see cipherNames).
func suites(ciphers []string) []uint16 {
	var out []uint16
	for _, c := range ciphers {
		if id, ok := suiteIDs[cipherNames[c]]; ok {
			out = append(out, id)
		}
	}
	return out
}

// keyPair is a parsed certificate and the digest of the PEM it came from.
type keyPair struct {
	sum  [32]byte
	cert *tls.Certificate
}

// keyPairs parses a listener's certificates, reusing those parsed before
// whose PEM has not changed (cache, by ARN); ok is false when the default
// certificate cannot be used.
func keyPairs(certs []Certificate, cache map[string]keyPair) ([]*tls.Certificate, error) {
	var out []*tls.Certificate
	for i, c := range certs {
		sum := sha256.Sum256(bytes.Join([][]byte{c.CertPEM, c.KeyPEM}, []byte{0}))
		kp, ok := cache[c.ARN]
		if !ok || kp.sum != sum {
			pair, err := tls.X509KeyPair(c.CertPEM, c.KeyPEM)
			if err != nil {
				if i == 0 {
					return nil, fmt.Errorf("default certificate %s: %w", c.ARN, err)
				}
				continue // an SNI certificate that cannot be used is not served
			}
			kp = keyPair{sum: sum, cert: &pair}
			cache[c.ARN] = kp
		}
		out = append(out, kp.cert)
	}
	if len(out) == 0 {
		return nil, errors.New("no certificate")
	}
	return out, nil
}

// serverConfig is the TLS configuration of a listener: its policy's
// versions and suites, its certificates chosen by SNI, its ALPN.
func serverConfig(protocol string, t *TLS, certs []*tls.Certificate) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, MaxVersion: tls.VersionTLS10, CipherSuites: suites(t.Ciphers)}
	for _, p := range t.Protocols {
		if v, ok := versions[p]; ok {
			cfg.MinVersion, cfg.MaxVersion = min(cfg.MinVersion, v), max(cfg.MaxVersion, v)
		}
	}
	if cfg.MinVersion > cfg.MaxVersion { // no known protocol: Go's defaults
		cfg.MinVersion, cfg.MaxVersion = 0, 0
	}
	cfg.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if hello.ServerName != "" {
			// An exact name first, then a wildcard: the most specific match.
			for _, c := range certs {
				if c.Leaf != nil && slices.Contains(c.Leaf.DNSNames, hello.ServerName) {
					return c, nil
				}
			}
			for _, c := range certs {
				if hello.SupportsCertificate(c) == nil {
					return c, nil
				}
			}
		}
		return certs[0], nil
	}
	switch protocol {
	case "HTTPS":
		cfg.NextProtos = []string{"h2", "http/1.1"}
	default:
		cfg.NextProtos = slices.Clone(t.ALPN)
	}
	return cfg
}
