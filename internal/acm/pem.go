package acm

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/api"
)

// parsed is an imported certificate read back from its PEM.
type parsed struct {
	leaf         *x509.Certificate
	keyAlgorithm string
}

func invalid(format string, args ...any) error {
	return api.Errorf(codeValidation, format, args...)
}

// certificates decodes every CERTIFICATE block of a PEM document; any
// other content is refused.
func certificates(field string, data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := bytes.TrimSpace(data)
	for len(rest) > 0 {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil || b.Type != "CERTIFICATE" {
			return nil, invalid("Unable to parse %s. Please ensure the %s is in PEM format.", field, field)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, invalid("Unable to parse %s. Please ensure the %s is in PEM format.", field, field)
		}
		out = append(out, c)
		rest = bytes.TrimSpace(rest)
	}
	if len(out) == 0 {
		return nil, invalid("Unable to parse %s. Please ensure the %s is in PEM format.", field, field)
	}
	return out, nil
}

// validate checks an import as ACM does: one PEM certificate, an
// unencrypted PEM key of a supported algorithm that matches it, a chain
// that holds its issuer unless it is self-signed, and a validity period
// that includes now.
func validate(certPEM, keyPEM, chainPEM []byte, now time.Time) (parsed, error) {
	certs, err := certificates("certificate", certPEM)
	if err != nil {
		return parsed{}, err
	}
	if len(certs) > 1 {
		return parsed{}, invalid("The certificate field contains more than one certificate. You can specify only one certificate in this field.")
	}
	leaf := certs[0]
	kb, _ := pem.Decode(bytes.TrimSpace(keyPEM))
	switch {
	case kb == nil || !strings.HasSuffix(kb.Type, "PRIVATE KEY"):
		return parsed{}, invalid("Unable to parse key. Please ensure the key is in PEM format.")
	case kb.Type == "ENCRYPTED PRIVATE KEY" || kb.Headers["Proc-Type"] != "":
		return parsed{}, invalid("The private key is encrypted. You can import only an unencrypted private key.")
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		if strings.Contains(err.Error(), "does not match") {
			return parsed{}, invalid("The private key does not match the public key in the certificate.")
		}
		return parsed{}, invalid("Unable to parse key. Please ensure the key is in PEM format.")
	}
	alg, err := keyAlgorithm(pair.PrivateKey)
	if err != nil {
		return parsed{}, err
	}
	if leaf.Issuer.String() == "" {
		return parsed{}, invalid("The certificate's Issuer field must not be empty.")
	}
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return parsed{}, invalid("The certificate is not valid at the current date and time: it is valid from %s to %s.",
			leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if err := checkChain(leaf, chainPEM); err != nil {
		return parsed{}, err
	}
	return parsed{leaf: leaf, keyAlgorithm: alg}, nil
}

// checkChain verifies the certificate against its chain (the chain's
// certificates are trusted as given, at the certificate's own validity);
// a self-signed certificate needs none.
func checkChain(leaf *x509.Certificate, chainPEM []byte) error {
	if len(bytes.TrimSpace(chainPEM)) == 0 {
		if leaf.CheckSignatureFrom(leaf) == nil {
			return nil
		}
		return invalid("The certificate is not self-signed: the certificate chain that issued it must be imported with it.")
	}
	chain, err := certificates("certificate chain", chainPEM)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	for _, c := range chain {
		roots.AddCert(c)
	}
	_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: leaf.NotBefore.Add(time.Second),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil && leaf.CheckSignatureFrom(leaf) != nil {
		return invalid("Could not validate the certificate with the certificate chain.")
	}
	return nil
}

// keyAlgorithm names a private key as ACM's KeyAlgorithm enum does.
func keyAlgorithm(key any) (string, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		switch bits := k.N.BitLen(); bits {
		case 1024, 2048, 3072, 4096:
			return fmt.Sprintf("RSA_%d", bits), nil
		}
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			return "EC_prime256v1", nil
		case elliptic.P384():
			return "EC_secp384r1", nil
		case elliptic.P521():
			return "EC_secp521r1", nil
		}
	}
	return "", invalid("The private key is not supported: ACM imports RSA keys of 1024, 2048, 3072 or 4096 bits and EC keys on P-256, P-384 or P-521.")
}

// domains are a certificate's domain name (its common name, else its
// first DNS name) and subject alternative names (the domain name first).
func domains(c *x509.Certificate) (string, []string) {
	name := c.Subject.CommonName
	if name == "" && len(c.DNSNames) > 0 {
		name = c.DNSNames[0]
	}
	sans := []string{}
	if name != "" {
		sans = append(sans, name)
	}
	for _, d := range c.DNSNames {
		if d != name {
			sans = append(sans, d)
		}
	}
	return name, sans
}

// serial is a serial number as ACM writes it: hex bytes joined by colons.
func serial(c *x509.Certificate) string {
	b := c.SerialNumber.Bytes()
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02x", x)
	}
	return strings.Join(parts, ":")
}

// keyUsages name a certificate's key usages as ACM's KeyUsageName enum.
func keyUsages(c *x509.Certificate) []string {
	names := []struct {
		bit  x509.KeyUsage
		name string
	}{{x509.KeyUsageDigitalSignature, "DIGITAL_SIGNATURE"}, {x509.KeyUsageContentCommitment, "NON_REPUDIATION"},
		{x509.KeyUsageKeyEncipherment, "KEY_ENCIPHERMENT"}, {x509.KeyUsageDataEncipherment, "DATA_ENCIPHERMENT"},
		{x509.KeyUsageKeyAgreement, "KEY_AGREEMENT"}, {x509.KeyUsageCertSign, "CERTIFICATE_SIGNING"},
		{x509.KeyUsageCRLSign, "CRL_SIGNING"}, {x509.KeyUsageEncipherOnly, "ENCIPHER_ONLY"}, {x509.KeyUsageDecipherOnly, "DECIPHER_ONLY"}}
	var out []string
	for _, n := range names {
		if c.KeyUsage&n.bit != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// extKeyUsages name a certificate's extended key usages as ACM's
// ExtendedKeyUsageName enum.
func extKeyUsages(c *x509.Certificate) []string {
	names := map[x509.ExtKeyUsage]string{x509.ExtKeyUsageServerAuth: "TLS_WEB_SERVER_AUTHENTICATION",
		x509.ExtKeyUsageClientAuth: "TLS_WEB_CLIENT_AUTHENTICATION", x509.ExtKeyUsageCodeSigning: "CODE_SIGNING",
		x509.ExtKeyUsageEmailProtection: "EMAIL_PROTECTION", x509.ExtKeyUsageTimeStamping: "TIME_STAMPING",
		x509.ExtKeyUsageOCSPSigning: "OCSP_SIGNING", x509.ExtKeyUsageIPSECEndSystem: "IPSEC_END_SYSTEM",
		x509.ExtKeyUsageIPSECTunnel: "IPSEC_TUNNEL", x509.ExtKeyUsageIPSECUser: "IPSEC_USER", x509.ExtKeyUsageAny: "ANY"}
	var out []string
	for _, u := range c.ExtKeyUsage {
		if n, ok := names[u]; ok {
			out = append(out, n)
		}
	}
	return out
}

// signatureAlgorithm names the signature as ACM does, e.g. SHA256WITHRSA.
func signatureAlgorithm(c *x509.Certificate) string {
	name := c.SignatureAlgorithm.String() // "SHA256-RSA", "ECDSA-SHA256", "SHA256-RSAPSS"
	if hash, ok := strings.CutPrefix(name, "ECDSA-"); ok {
		return hash + "WITHECDSA"
	}
	return strings.ToUpper(strings.Replace(name, "-", "WITH", 1))
}
