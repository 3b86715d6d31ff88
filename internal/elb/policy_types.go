package elb

import (
	"slices"
	"strconv"
)

// The policy types of Classic load balancers, as AWS describes them.
const (
	typeAppCookie   = "AppCookieStickinessPolicyType"
	typeLBCookie    = "LBCookieStickinessPolicyType"
	typeSSL         = "SSLNegotiationPolicyType"
	typeProxy       = "ProxyProtocolPolicyType"
	typeBackendAuth = "BackendServerAuthenticationPolicyType"
	typePublicKey   = "PublicKeyPolicyType"
)

// attrType is one attribute a policy type takes.
type attrType struct {
	name, typ, description, def, cardinality string
}

// policyType is a policy type with its attributes.
type policyType struct {
	name, description string
	attrs             []attrType
}

// sslProtocols are the protocols an SSL negotiation policy enables or not.
var sslProtocols = []string{"Protocol-TLSv1", "Protocol-TLSv1.1", "Protocol-TLSv1.2"}

// sslCiphers are the ciphers an SSL negotiation policy enables or not, by
// their OpenSSL names. The data plane (Go's TLS) lacks the CBC suites
// with SHA-384 and AES256-SHA256: a policy may name them, and a client
// offering only those is refused.
var sslCiphers = []string{
	"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256",
	"ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
	"ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA", "ECDHE-ECDSA-AES256-SHA",
	"AES128-GCM-SHA256", "AES128-SHA256", "AES128-SHA", "AES256-GCM-SHA384", "AES256-SHA256", "AES256-SHA", "DES-CBC3-SHA",
}

// unservable are the ciphers of sslCiphers the data plane cannot use.
var unservable = []string{"ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384", "AES256-SHA256"}

const (
	attrReference   = "Reference-Security-Policy"
	attrCipherOrder = "Server-Defined-Cipher-Order"
)

var policyTypes = func() []policyType {
	ssl := []attrType{{attrReference, "String", "The name of a predefined security policy this policy is a copy of.", "", "ZERO_OR_ONE"}}
	for _, p := range sslProtocols {
		ssl = append(ssl, attrType{p, "Boolean", "Whether the protocol is accepted.", "false", "ZERO_OR_ONE"})
	}
	ssl = append(ssl, attrType{attrCipherOrder, "Boolean", "Whether the server's order of ciphers is preferred to the client's.", "false", "ZERO_OR_ONE"})
	for _, c := range sslCiphers {
		ssl = append(ssl, attrType{c, "Boolean", "Whether the cipher is accepted.", "false", "ZERO_OR_ONE"})
	}
	return []policyType{
		{typeAppCookie, "Stickiness policy with session lifetimes controlled by the lifetime of the application-generated cookie. This policy can be associated only with HTTP/HTTPS listeners.",
			[]attrType{{"CookieName", "String", "", "", "ONE"}}},
		{typeBackendAuth, "Policy that controls authentication to back-end server(s) and contains one or more policies, such as an instance of a PublicKeyPolicyType. This policy can be associated only with back-end servers that are using HTTPS/SSL.",
			[]attrType{{"PublicKeyPolicyName", "PolicyName", "", "", "ONE_OR_MORE"}}},
		{typeLBCookie, "Stickiness policy with session lifetimes controlled by the browser (user-agent) or a specified expiration period. This policy can be associated only with HTTP/HTTPS listeners.",
			[]attrType{{"CookieExpirationPeriod", "Long", "", "", "ZERO_OR_ONE"}}},
		{typeProxy, "Policy that controls whether to include the IP address and port of the originating request for TCP messages. This policy operates on TCP listeners only.",
			[]attrType{{"ProxyProtocol", "Boolean", "", "", "ONE"}}},
		{typePublicKey, "Policy containing a list of public keys to accept when authenticating the back-end server(s). This policy cannot be applied directly to back-end servers or listeners but must be part of a BackendServerAuthenticationPolicyType.",
			[]attrType{{"PublicKey", "String", "", "", "ONE"}}},
		{typeSSL, "Listener policy that defines the ciphers and protocols that will be accepted by the load balancer. This policy can be associated only with HTTPS/SSL listeners.", ssl},
	}
}()

func policyTypeNamed(name string) (policyType, bool) {
	i := slices.IndexFunc(policyTypes, func(t policyType) bool { return t.name == name })
	if i < 0 {
		return policyType{}, false
	}
	return policyTypes[i], true
}

// securityPolicy is one of AWS's predefined security policies of Classic
// load balancers: the protocols and ciphers it enables.
type securityPolicy struct {
	name      string
	protocols []string
	ciphers   []string
}

// defaultSSLPolicy is the policy of HTTPS and SSL listeners made without
// one, as AWS documents.
const defaultSSLPolicy = "ELBSecurityPolicy-2016-08"

var (
	ecdheSHA2 = []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256",
		"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384"}
	rsaSHA2   = []string{"AES128-GCM-SHA256", "AES128-SHA256", "AES256-GCM-SHA384", "AES256-SHA256"}
	ciphers16 = slices.DeleteFunc(slices.Clone(sslCiphers), func(c string) bool { return c == "DES-CBC3-SHA" })
)

// securityPolicies are the predefined policies DescribeLoadBalancerPolicies
// lists (AWS's documented table; the older ones, whose ciphers Go lacks,
// are not offered).
var securityPolicies = []securityPolicy{
	{"ELBSecurityPolicy-2016-08", sslProtocols, ciphers16},
	{"ELBSecurityPolicy-TLS-1-1-2017-01", []string{"Protocol-TLSv1.1", "Protocol-TLSv1.2"}, ciphers16},
	{"ELBSecurityPolicy-TLS-1-2-2017-01", []string{"Protocol-TLSv1.2"}, slices.Concat(ecdheSHA2, rsaSHA2)},
	{"ELBSecurityPolicy-2015-05", sslProtocols, sslCiphers},
}

func securityPolicyNamed(name string) (securityPolicy, bool) {
	i := slices.IndexFunc(securityPolicies, func(p securityPolicy) bool { return p.name == name })
	if i < 0 {
		return securityPolicy{}, false
	}
	return securityPolicies[i], true
}

// attributes are a predefined policy's attributes as AWS lists them:
// every protocol and cipher, enabled or not, and the server's order.
func (p securityPolicy) attributes() []PolicyAttribute {
	var out []PolicyAttribute
	for _, proto := range sslProtocols {
		out = append(out, PolicyAttribute{proto, strconv.FormatBool(slices.Contains(p.protocols, proto))})
	}
	out = append(out, PolicyAttribute{attrCipherOrder, "true"})
	for _, c := range sslCiphers {
		out = append(out, PolicyAttribute{c, strconv.FormatBool(slices.Contains(p.ciphers, c))})
	}
	return out
}

// predefinedRecord is a predefined policy as a load balancer's policy of
// the same name, which names it as its reference.
func predefinedRecord(name string) policyRecord {
	p, _ := securityPolicyNamed(name)
	return policyRecord{Name: name, Type: typeSSL, Attributes: append([]PolicyAttribute{{attrReference, name}}, p.attributes()...)}
}
