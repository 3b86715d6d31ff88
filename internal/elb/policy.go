package elb

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/api"
)

// policyRecord is a load balancer's policy as stored: its type and
// attributes, as given (an SSL policy with a reference gets the
// referenced policy's attributes).
type policyRecord struct {
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Attributes []PolicyAttribute `json:"attributes,omitempty"`
}

// attr is the value of a policy's attribute, "" when it has none.
func (p policyRecord) attr(name string) string {
	for _, a := range p.Attributes {
		if a.AttributeName == name {
			return a.AttributeValue
		}
	}
	return ""
}

// PolicyAttribute is one attribute of a policy.
type PolicyAttribute struct {
	AttributeName  string
	AttributeValue string
}

type AppCookieStickinessPolicy struct {
	PolicyName string
	CookieName string
}

type LBCookieStickinessPolicy struct {
	PolicyName             string
	CookieExpirationPeriod *int64 `xml:",omitempty"`
}

type BackendServerDescription struct {
	InstancePort int
	PolicyNames  api.Members[string]
}

// maxPolicies bounds a load balancer's policies (Berth's bound: AWS
// documents none).
const maxPolicies = 100

// policyNames: what AWS accepts as a policy name.
var policyNames = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,255}$`)

// cookieToken: the characters of a cookie's name (RFC 6265's token).
var cookieToken = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,255}$")

// describePolicies sorts a load balancer's policies into Describe's
// three lists.
func describePolicies(r lbRecord) (api.Members[AppCookieStickinessPolicy], api.Members[LBCookieStickinessPolicy], api.Members[string]) {
	app, lbc, other := api.Members[AppCookieStickinessPolicy]{}, api.Members[LBCookieStickinessPolicy]{}, api.Members[string]{}
	for _, p := range r.Policies {
		switch p.Type {
		case typeAppCookie:
			app = append(app, AppCookieStickinessPolicy{PolicyName: p.Name, CookieName: p.attr("CookieName")})
		case typeLBCookie:
			d := LBCookieStickinessPolicy{PolicyName: p.Name}
			if n, err := strconv.ParseInt(p.attr("CookieExpirationPeriod"), 10, 64); err == nil {
				d.CookieExpirationPeriod = &n
			}
			lbc = append(lbc, d)
		default:
			other = append(other, p.Name)
		}
	}
	return app, lbc, other
}

// addPolicy checks a policy's name and adds it to the load balancer.
func (s *Service) addPolicy(ctx context.Context, action, lbName string, p policyRecord) error {
	if err := s.authorizeName(ctx, action, lbName); err != nil {
		return err
	}
	if p.Name == "" {
		return check.Null("policyName")
	}
	if !policyNames.MatchString(p.Name) {
		return validation("PolicyName '%s' is not valid: use 1 to 255 letters, digits, hyphens, periods or underscores", p.Name)
	}
	_, err := s.mutate(ctx, lbName, func(r *lbRecord) error {
		if slices.ContainsFunc(r.Policies, func(o policyRecord) bool { return o.Name == p.Name }) {
			return api.Errorf(codeDuplicatePolicy, "Policy '%s' already exists for load balancer '%s'", p.Name, r.Name)
		}
		if len(r.Policies) >= maxPolicies {
			return api.Errorf(codeTooManyPolicies, "Load balancer '%s' has %d policies, the most it can have", r.Name, maxPolicies)
		}
		if err := checkPolicy(*r, &p); err != nil {
			return err
		}
		r.Policies = append(r.Policies, p)
		return nil
	})
	return err
}

type CreateLBCookieStickinessPolicyInput struct {
	LoadBalancerName       string
	PolicyName             string
	CookieExpirationPeriod *int64
}

// CreateLBCookieStickinessPolicy makes a policy that binds a client to an
// instance by the load balancer's cookie AWSELB, for the period or, with
// none, the browser session.
func (s *Service) CreateLBCookieStickinessPolicy(ctx context.Context, in *CreateLBCookieStickinessPolicyInput) (*struct{}, error) {
	p := policyRecord{Name: in.PolicyName, Type: typeLBCookie}
	if in.CookieExpirationPeriod != nil {
		p.Attributes = []PolicyAttribute{{"CookieExpirationPeriod", strconv.FormatInt(*in.CookieExpirationPeriod, 10)}}
	}
	return nil, s.addPolicy(ctx, "CreateLBCookieStickinessPolicy", in.LoadBalancerName, p)
}

type CreateAppCookieStickinessPolicyInput struct {
	LoadBalancerName string
	PolicyName       string
	CookieName       string
}

// CreateAppCookieStickinessPolicy makes a policy that binds a client to
// an instance once the instance set the application's cookie, for as
// long as that cookie lives.
func (s *Service) CreateAppCookieStickinessPolicy(ctx context.Context, in *CreateAppCookieStickinessPolicyInput) (*struct{}, error) {
	if in.CookieName == "" {
		return nil, check.Null("cookieName")
	}
	p := policyRecord{Name: in.PolicyName, Type: typeAppCookie, Attributes: []PolicyAttribute{{"CookieName", in.CookieName}}}
	return nil, s.addPolicy(ctx, "CreateAppCookieStickinessPolicy", in.LoadBalancerName, p)
}

type CreateLoadBalancerPolicyInput struct {
	LoadBalancerName string
	PolicyName       string
	PolicyTypeName   string
	PolicyAttributes []PolicyAttribute
}

// CreateLoadBalancerPolicy makes a policy of any type with its
// attributes.
func (s *Service) CreateLoadBalancerPolicy(ctx context.Context, in *CreateLoadBalancerPolicyInput) (*struct{}, error) {
	if in.PolicyTypeName == "" {
		return nil, check.Null("policyTypeName")
	}
	if _, ok := policyTypeNamed(in.PolicyTypeName); !ok {
		return nil, api.Errorf(codePolicyTypeNotFound, "There is no policy type named '%s'", in.PolicyTypeName)
	}
	p := policyRecord{Name: in.PolicyName, Type: in.PolicyTypeName, Attributes: in.PolicyAttributes}
	return nil, s.addPolicy(ctx, "CreateLoadBalancerPolicy", in.LoadBalancerName, p)
}

// checkPolicy checks a policy's attributes against its type (names,
// cardinality, values) and, for an SSL policy with a reference, sets the
// referenced policy's attributes.
func checkPolicy(r lbRecord, p *policyRecord) error {
	pt, _ := policyTypeNamed(p.Type)
	count := map[string]int{}
	for _, a := range p.Attributes {
		i := slices.IndexFunc(pt.attrs, func(t attrType) bool { return t.name == a.AttributeName })
		if i < 0 {
			return invalidConfig("Attribute '%s' is not an attribute of policy type %s", a.AttributeName, p.Type)
		}
		count[a.AttributeName]++
		t := pt.attrs[i]
		if count[a.AttributeName] > 1 && (t.cardinality == "ONE" || t.cardinality == "ZERO_OR_ONE") {
			return invalidConfig("Attribute '%s' can be given only once", a.AttributeName)
		}
		if err := checkValue(r, t, a.AttributeValue); err != nil {
			return err
		}
	}
	for _, t := range pt.attrs {
		if count[t.name] == 0 && (t.cardinality == "ONE" || t.cardinality == "ONE_OR_MORE") {
			return invalidConfig("Policy type %s needs the attribute '%s'", p.Type, t.name)
		}
	}
	if p.Type != typeSSL {
		return nil
	}
	if ref := p.attr(attrReference); ref != "" {
		if len(p.Attributes) > 1 {
			return invalidConfig("A policy with a %s takes its protocols and ciphers from it: give no other attribute", attrReference)
		}
		sp, _ := securityPolicyNamed(ref)
		p.Attributes = append(p.Attributes, sp.attributes()...)
		return nil
	}
	tls := policyTLS(*p)
	if len(tls.protocols) == 0 {
		return invalidConfig("An SSL negotiation policy must enable at least one protocol (Protocol-TLSv1, Protocol-TLSv1.1 or Protocol-TLSv1.2)")
	}
	if !slices.ContainsFunc(tls.ciphers, func(c string) bool { return !slices.Contains(unservable, c) }) {
		return invalidConfig("An SSL negotiation policy must enable at least one cipher Berth can serve (not only %s)", strings.Join(unservable, ", "))
	}
	return nil
}

// checkValue checks one attribute's value by its type.
func checkValue(r lbRecord, t attrType, v string) error {
	bad := func(why string) error {
		return invalidConfig("Attribute '%s' value '%s' is not valid: %s", t.name, v, why)
	}
	switch {
	case t.typ == "Boolean":
		if v != "true" && v != "false" {
			return bad("it is true or false")
		}
	case t.typ == "Long":
		if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 || n > math.MaxInt32 {
			return bad("it is a number of seconds, from 0 to 2147483647")
		}
	case t.typ == "PolicyName":
		if !slices.ContainsFunc(r.Policies, func(p policyRecord) bool { return p.Name == v && p.Type == typePublicKey }) {
			return api.Errorf(codePolicyNotFound, "There is no %s policy named '%s' on load balancer '%s'", typePublicKey, v, r.Name)
		}
	case t.name == "CookieName":
		if !cookieToken.MatchString(v) {
			return bad("a cookie name is 1 to 255 characters of an HTTP token")
		}
	case t.name == attrReference:
		if _, ok := securityPolicyNamed(v); !ok {
			return bad("it is not a predefined security policy (DescribeLoadBalancerPolicies lists them)")
		}
	case t.name == "PublicKey":
		der, err := base64.StdEncoding.DecodeString(v)
		if err == nil {
			_, err = x509.ParsePKIXPublicKey(der)
		}
		if err != nil {
			return bad("it is a public key, DER in base64")
		}
	}
	return nil
}

// sslPolicy is what an SSL negotiation policy enables.
type sslPolicy struct{ protocols, ciphers []string }

// policyTLS reads the protocols (TLSv1, TLSv1.1, TLSv1.2) and ciphers an
// SSL negotiation policy enables.
func policyTLS(p policyRecord) sslPolicy {
	var out sslPolicy
	for _, a := range p.Attributes {
		if a.AttributeValue != "true" {
			continue
		}
		switch {
		case strings.HasPrefix(a.AttributeName, "Protocol-"):
			out.protocols = append(out.protocols, strings.TrimPrefix(a.AttributeName, "Protocol-"))
		case slices.Contains(sslCiphers, a.AttributeName):
			out.ciphers = append(out.ciphers, a.AttributeName)
		}
	}
	return out
}

type DeleteLoadBalancerPolicyInput struct {
	LoadBalancerName string
	PolicyName       string
}

// DeleteLoadBalancerPolicy deletes a policy no listener, instance port or
// other policy uses; one that does not exist is no error.
func (s *Service) DeleteLoadBalancerPolicy(ctx context.Context, in *DeleteLoadBalancerPolicyInput) (*struct{}, error) {
	if err := s.authorizeName(ctx, "DeleteLoadBalancerPolicy", in.LoadBalancerName); err != nil {
		return nil, err
	}
	if in.PolicyName == "" {
		return nil, check.Null("policyName")
	}
	_, err := s.mutate(ctx, in.LoadBalancerName, func(r *lbRecord) error {
		inUse := func(what string) error {
			return invalidConfig("Policy '%s' of load balancer '%s' is in use by %s", in.PolicyName, r.Name, what)
		}
		for port, names := range r.ListenerPolicies {
			if slices.Contains(names, in.PolicyName) {
				return inUse("the listener on port " + itoa(port))
			}
		}
		for port, names := range r.BackendPolicies {
			if slices.Contains(names, in.PolicyName) {
				return inUse("instance port " + itoa(port))
			}
		}
		for _, p := range r.Policies {
			if p.Type == typeBackendAuth && slices.Contains(attrValues(p, "PublicKeyPolicyName"), in.PolicyName) {
				return inUse("policy " + p.Name)
			}
		}
		r.Policies = slices.DeleteFunc(r.Policies, func(p policyRecord) bool { return p.Name == in.PolicyName })
		return nil
	})
	return nil, err
}

func attrValues(p policyRecord, name string) []string {
	var out []string
	for _, a := range p.Attributes {
		if a.AttributeName == name {
			out = append(out, a.AttributeValue)
		}
	}
	return out
}
