package elbv2

import (
	"context"
	"slices"

	"github.com/berth-dev/berth/internal/acm"
	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// Certificates is where the certificates of HTTPS and TLS listeners come
// from: Certificate Manager.
type Certificates interface {
	// Exists reports whether an ARN names a certificate.
	Exists(ctx context.Context, arn string) (bool, error)
	// Prefix is where the certificates are stored, for the data plane
	// to watch: a re-imported certificate is served at once.
	Prefix() string
	// PairsAt returns every certificate with its key at a revision.
	PairsAt(ctx context.Context, rev int64) (map[string]acm.Pair, error)
}

const (
	codeCertificateNotFound = "CertificateNotFound"
	codeTooManyCertificates = "TooManyCertificates"
	codeSSLPolicyNotFound   = "SSLPolicyNotFound"
	codeALPNPolicyNotFound  = "ALPNPolicyNotFound"
	// maxCertificates is AWS's quota of certificates per listener, the
	// default one not counted.
	maxCertificates = 25
)

// Certificate is ELBv2's Certificate shape.
type Certificate struct {
	CertificateArn string
	IsDefault      *bool `xml:",omitempty"`
}

// secure reports whether a listener protocol terminates TLS.
func secure(protocol string) bool { return protocol == "HTTPS" || protocol == "TLS" }

// checkCertificates checks that every certificate ARN names a certificate.
func (s *Service) checkCertificates(ctx context.Context, certs []Certificate) error {
	for _, c := range certs {
		if c.CertificateArn == "" {
			return validation("A certificate ARN must be specified")
		}
		ok := false
		if s.cfg.Certificates != nil {
			var err error
			if ok, err = s.cfg.Certificates.Exists(ctx, c.CertificateArn); err != nil {
				return err
			}
		}
		if !ok {
			return api.Errorf(codeCertificateNotFound, "Certificate '%s' not found", c.CertificateArn)
		}
	}
	return nil
}

// tlsSettings are the parts of a listener that only HTTPS and TLS
// listeners have, as a request gives them.
type tlsSettings struct {
	Certificates []Certificate
	SslPolicy    string
	AlpnPolicy   []string
}

// apply checks a request's TLS settings for a listener of protocol and
// sets them on l: an HTTPS or TLS listener needs a default certificate
// (given now or kept from before) and gets the default policy; any other
// protocol takes none and loses those it had.
func (s *Service) applyTLS(ctx context.Context, l *listenerRecord, protocol string, in tlsSettings) error {
	if !secure(protocol) {
		if len(in.Certificates) > 0 || in.SslPolicy != "" {
			return invalidConfig("Certificates and an SSL policy can be specified only for HTTPS and TLS listeners")
		}
		if len(in.AlpnPolicy) > 0 {
			return invalidConfig("An ALPN policy can be specified only for TLS listeners")
		}
		l.DefaultCertificate, l.Certificates, l.SslPolicy, l.AlpnPolicy = "", nil, "", ""
		return nil
	}
	switch {
	case len(in.Certificates) > 1:
		return api.Errorf(codeTooManyCertificates, "A listener can have only one default certificate: specify one certificate, and add more with AddListenerCertificates")
	case len(in.Certificates) == 1:
		if err := s.checkCertificates(ctx, in.Certificates); err != nil {
			return err
		}
		l.DefaultCertificate = in.Certificates[0].CertificateArn
	case l.DefaultCertificate == "":
		return validation("A certificate must be specified for %s listeners", protocol)
	}
	if in.SslPolicy != "" {
		if _, ok := policyNamed(in.SslPolicy); !ok {
			return api.Errorf(codeSSLPolicyNotFound, "SSL policy '%s' not found", in.SslPolicy)
		}
		l.SslPolicy = in.SslPolicy
	}
	if l.SslPolicy == "" {
		l.SslPolicy = defaultSSLPolicy
	}
	if len(in.AlpnPolicy) > 0 {
		if protocol != "TLS" {
			return invalidConfig("An ALPN policy can be specified only for TLS listeners")
		}
		if len(in.AlpnPolicy) > 1 {
			return validation("Only one ALPN policy can be specified")
		}
		if !slices.Contains(alpnPolicies, in.AlpnPolicy[0]) {
			return api.Errorf(codeALPNPolicyNotFound, "ALPN policy '%s' not found", in.AlpnPolicy[0])
		}
		l.AlpnPolicy = in.AlpnPolicy[0]
	}
	if protocol != "TLS" {
		l.AlpnPolicy = ""
	}
	return nil
}

// alpnPolicies are the ALPN policies of TLS listeners.
var alpnPolicies = []string{"HTTP1Only", "HTTP2Only", "HTTP2Optional", "HTTP2Preferred", "None"}

// alpnProtocols are the protocols a TLS listener offers for its ALPN
// policy, in preference order.
func alpnProtocols(policy string) []string {
	switch policy {
	case "HTTP1Only":
		return []string{"http/1.1"}
	case "HTTP2Only":
		return []string{"h2"}
	case "HTTP2Optional":
		return []string{"http/1.1", "h2"}
	case "HTTP2Preferred":
		return []string{"h2", "http/1.1"}
	}
	return nil
}

// CertificateUsers lists the listeners that serve a certificate, as
// Certificate Manager's InUseBy names them.
func (s *Service) CertificateUsers(ctx context.Context, certificateARN string) ([]string, error) {
	lbs, err := store.List[lbRecord](ctx, s.store, s.keys.balancers())
	if err != nil {
		return nil, err
	}
	var out []string
	for _, it := range lbs {
		for _, l := range it.Value.Listeners {
			if l.DefaultCertificate == certificateARN || slices.Contains(l.Certificates, certificateARN) {
				out = append(out, l.ARN)
			}
		}
	}
	return out, nil
}

type ListenerCertificatesInput struct {
	ListenerArn  string
	Certificates []Certificate
}

type CertificatesOutput struct {
	Certificates api.Members[Certificate]
}

// AddListenerCertificates adds certificates a listener serves to clients
// whose server name (SNI) they match.
func (s *Service) AddListenerCertificates(ctx context.Context, in *ListenerCertificatesInput) (*CertificatesOutput, error) {
	it, _, err := s.findListener(ctx, in.ListenerArn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "AddListenerCertificates", in.ListenerArn); err != nil {
		return nil, err
	}
	if len(in.Certificates) == 0 {
		return nil, check.Null("certificates")
	}
	if err := s.checkCertificates(ctx, in.Certificates); err != nil {
		return nil, err
	}
	out := &CertificatesOutput{}
	err = s.mutate(ctx, it.Value.ARN, func(r *lbRecord) error {
		l := r.listener(in.ListenerArn)
		if l == nil {
			return api.Errorf(codeListenerNotFound, "Listener '%s' not found", in.ListenerArn)
		}
		if !secure(l.Protocol) {
			return invalidConfig("Certificates can be added only to HTTPS and TLS listeners")
		}
		out.Certificates = nil
		for _, c := range in.Certificates {
			if !slices.Contains(l.Certificates, c.CertificateArn) && c.CertificateArn != l.DefaultCertificate {
				l.Certificates = append(l.Certificates, c.CertificateArn)
			}
			out.Certificates = append(out.Certificates, Certificate{CertificateArn: c.CertificateArn})
		}
		if len(l.Certificates) > maxCertificates {
			return api.Errorf(codeTooManyCertificates, "You've reached the limit on the number of certificates per load balancer listener (%d)", maxCertificates)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RemoveListenerCertificates removes certificates a listener serves by
// SNI; its default certificate cannot be removed.
func (s *Service) RemoveListenerCertificates(ctx context.Context, in *ListenerCertificatesInput) (*struct{}, error) {
	it, _, err := s.findListener(ctx, in.ListenerArn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "RemoveListenerCertificates", in.ListenerArn); err != nil {
		return nil, err
	}
	if len(in.Certificates) == 0 {
		return nil, check.Null("certificates")
	}
	return nil, s.mutate(ctx, it.Value.ARN, func(r *lbRecord) error {
		l := r.listener(in.ListenerArn)
		if l == nil {
			return api.Errorf(codeListenerNotFound, "Listener '%s' not found", in.ListenerArn)
		}
		for _, c := range in.Certificates {
			if c.CertificateArn == l.DefaultCertificate {
				return api.Errorf(codeNotPermitted, "The default certificate '%s' cannot be removed from listener '%s'; set another with ModifyListener first", c.CertificateArn, l.ARN)
			}
			l.Certificates = slices.DeleteFunc(l.Certificates, func(a string) bool { return a == c.CertificateArn })
		}
		return nil
	})
}

type DescribeListenerCertificatesInput struct {
	ListenerArn string
	Marker      string
	PageSize    int
}

type DescribeListenerCertificatesOutput struct {
	Certificates api.Members[Certificate]
	NextMarker   string `xml:",omitempty"`
}

// DescribeListenerCertificates lists a listener's certificates, the
// default one first.
func (s *Service) DescribeListenerCertificates(ctx context.Context, in *DescribeListenerCertificatesInput) (*DescribeListenerCertificatesOutput, error) {
	it, i, err := s.findListener(ctx, in.ListenerArn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "DescribeListenerCertificates", in.ListenerArn); err != nil {
		return nil, err
	}
	l := it.Value.Listeners[i]
	var all []Certificate
	yes, no := true, false
	if l.DefaultCertificate != "" {
		all = append(all, Certificate{CertificateArn: l.DefaultCertificate, IsDefault: &yes})
	}
	for _, c := range l.Certificates {
		all = append(all, Certificate{CertificateArn: c, IsDefault: &no})
	}
	recs, next, err := page(all, func(c Certificate) string { return c.CertificateArn }, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	return &DescribeListenerCertificatesOutput{Certificates: api.Members[Certificate](orEmpty(recs)), NextMarker: next}, nil
}
