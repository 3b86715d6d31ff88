package elb

import (
	"context"
	"strings"

	"github.com/berth-dev/berth/internal/api"
)

// certificateExists checks that an SSLCertificateId names a certificate
// of Certificate Manager. IAM server certificates are not kept by Berth:
// their ARNs are CertificateNotFound too.
func (s *Service) certificateExists(ctx context.Context, arn string) error {
	ok := false
	if s.cfg.Certificates != nil && strings.HasPrefix(arn, "arn:aws:acm:") {
		var err error
		if ok, err = s.cfg.Certificates.Exists(ctx, arn); err != nil {
			return err
		}
	}
	if !ok {
		return api.Errorf(codeCertificateNotFound, "Certificate '%s' not found: the SSLCertificateId must be the ARN of a certificate imported into Certificate Manager", arn)
	}
	return nil
}

// CertificateUsers lists the Classic load balancers whose listeners serve
// a certificate, as Certificate Manager's InUseBy names them.
func (s *Service) CertificateUsers(ctx context.Context, certificateARN string) ([]string, error) {
	lbs, err := s.named(ctx, nil)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range lbs {
		for _, l := range r.Listeners {
			if l.SSLCertificateId == certificateARN {
				out = append(out, s.arn(r.Name))
				break
			}
		}
	}
	return out, nil
}
