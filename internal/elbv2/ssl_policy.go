package elbv2

import (
	"context"
	"slices"

	"github.com/berth-dev/berth/internal/api"
)

// defaultSSLPolicy is the policy of HTTPS and TLS listeners created
// without one through the API, as AWS documents.
const defaultSSLPolicy = "ELBSecurityPolicy-2016-08"

// sslPolicy is one of AWS's predefined security policies.
type sslPolicy struct {
	name      string
	protocols []string
	ciphers   []string
}

// The policies' cipher lists, by their OpenSSL names, in AWS's order.
var (
	tls13Ciphers = []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}
	// ecdheGCM are the forward-secret AEAD suites.
	ecdheGCM = []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384"}
	// ecdheSHA2 are the forward-secret suites with SHA-2 MACs.
	ecdheSHA2 = []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256",
		"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384"}
	// ecdheAll adds the SHA-1 suites, in the 2016-08 policy's order.
	ecdheAll = []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256",
		"ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
		"ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA", "ECDHE-ECDSA-AES256-SHA"}
	rsaSHA2   = []string{"AES128-GCM-SHA256", "AES128-SHA256", "AES256-GCM-SHA384", "AES256-SHA256"}
	rsaAll    = []string{"AES128-GCM-SHA256", "AES128-SHA256", "AES128-SHA", "AES256-GCM-SHA384", "AES256-SHA256", "AES256-SHA"}
	classic   = concat(ecdheAll, rsaAll)
	tls10to12 = []string{"TLSv1", "TLSv1.1", "TLSv1.2"}
)

func concat(lists ...[]string) []string { return slices.Concat(lists...) }

// sslPolicies are the predefined policies of application and network
// load balancers (AWS's documented tables; the post-quantum and FIPS
// variants are not offered: Go's suites cannot tell them apart).
var sslPolicies = []sslPolicy{
	{"ELBSecurityPolicy-2016-08", tls10to12, classic},
	{"ELBSecurityPolicy-TLS13-1-2-2021-06", []string{"TLSv1.2", "TLSv1.3"}, concat(tls13Ciphers, ecdheSHA2)},
	{"ELBSecurityPolicy-TLS13-1-2-Res-2021-06", []string{"TLSv1.2", "TLSv1.3"}, concat(tls13Ciphers, ecdheGCM)},
	{"ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06", []string{"TLSv1.2", "TLSv1.3"}, concat(tls13Ciphers, ecdheSHA2, rsaSHA2)},
	{"ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06", []string{"TLSv1.2", "TLSv1.3"}, concat(tls13Ciphers, ecdheAll, rsaAll)},
	{"ELBSecurityPolicy-TLS13-1-1-2021-06", []string{"TLSv1.1", "TLSv1.2", "TLSv1.3"}, concat(tls13Ciphers, classic)},
	{"ELBSecurityPolicy-TLS13-1-0-2021-06", []string{"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}, concat(tls13Ciphers, classic)},
	{"ELBSecurityPolicy-TLS13-1-3-2021-06", []string{"TLSv1.3"}, tls13Ciphers},
	{"ELBSecurityPolicy-TLS-1-0-2015-04", tls10to12, concat(classic, []string{"DES-CBC3-SHA"})},
	{"ELBSecurityPolicy-TLS-1-1-2017-01", []string{"TLSv1.1", "TLSv1.2"}, classic},
	{"ELBSecurityPolicy-TLS-1-2-2017-01", []string{"TLSv1.2"}, concat(ecdheSHA2, rsaSHA2)},
	{"ELBSecurityPolicy-TLS-1-2-Ext-2018-06", []string{"TLSv1.2"}, classic},
	{"ELBSecurityPolicy-FS-2018-06", tls10to12, ecdheAll},
	{"ELBSecurityPolicy-FS-1-1-2019-08", []string{"TLSv1.1", "TLSv1.2"}, ecdheAll},
	{"ELBSecurityPolicy-FS-1-2-2019-08", []string{"TLSv1.2"}, ecdheAll},
	{"ELBSecurityPolicy-FS-1-2-Res-2019-08", []string{"TLSv1.2"}, ecdheSHA2},
	{"ELBSecurityPolicy-FS-1-2-Res-2020-10", []string{"TLSv1.2"}, ecdheGCM},
}

func policyNamed(name string) (sslPolicy, bool) {
	i := slices.IndexFunc(sslPolicies, func(p sslPolicy) bool { return p.name == name })
	if i < 0 {
		return sslPolicy{}, false
	}
	return sslPolicies[i], true
}

type DescribeSSLPoliciesInput struct {
	Names            []string
	LoadBalancerType string
	Marker           string
	PageSize         int
}

// SslPolicy is ELBv2's SslPolicy shape.
type SslPolicy struct {
	Name                       string
	SslProtocols               api.Members[string]
	Ciphers                    api.Members[Cipher]
	SupportedLoadBalancerTypes api.Members[string]
}

// Cipher is ELBv2's Cipher shape.
type Cipher struct {
	Name     string
	Priority int
}

type DescribeSSLPoliciesOutput struct {
	SslPolicies api.Members[SslPolicy]
	NextMarker  string `xml:",omitempty"`
}

// DescribeSSLPolicies describes the predefined policies, or those named.
func (s *Service) DescribeSSLPolicies(ctx context.Context, in *DescribeSSLPoliciesInput) (*DescribeSSLPoliciesOutput, error) {
	if err := s.authorize(ctx, "DescribeSSLPolicies", "*"); err != nil {
		return nil, err
	}
	if in.LoadBalancerType != "" {
		if err := check.Enum("loadBalancerType", in.LoadBalancerType, typeApplication, typeNetwork, "gateway"); err != nil {
			return nil, err
		}
	}
	var all []SslPolicy
	for _, p := range sslPolicies {
		if len(in.Names) > 0 && !slices.Contains(in.Names, p.name) || in.LoadBalancerType == "gateway" {
			continue
		}
		sp := SslPolicy{Name: p.name, SslProtocols: p.protocols, SupportedLoadBalancerTypes: api.Members[string]{typeApplication, typeNetwork}}
		for i, c := range p.ciphers {
			sp.Ciphers = append(sp.Ciphers, Cipher{Name: c, Priority: i + 1})
		}
		all = append(all, sp)
	}
	for _, n := range in.Names {
		if _, ok := policyNamed(n); !ok {
			return nil, api.Errorf(codeSSLPolicyNotFound, "One or more SSL policies not found: '%s'", n)
		}
	}
	recs, next, err := page(all, func(p SslPolicy) string { return p.Name }, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	return &DescribeSSLPoliciesOutput{SslPolicies: api.Members[SslPolicy](orEmpty(recs)), NextMarker: next}, nil
}
