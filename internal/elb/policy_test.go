package elb

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
)

// publicKey is a new public key as PublicKeyPolicyType takes it: DER
// (PKIX) in base64.
func publicKey(t *testing.T) string {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func attrs(kv ...string) []types.PolicyAttribute {
	var out []types.PolicyAttribute
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, types.PolicyAttribute{AttributeName: aws.String(kv[i]), AttributeValue: aws.String(kv[i+1])})
	}
	return out
}

// TestPolicyTypesAndPredefined: DescribeLoadBalancerPolicyTypes lists
// the six types with their attributes; DescribeLoadBalancerPolicies
// without a load balancer lists the predefined security policies.
func TestPolicyTypesAndPredefined(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	all := must[*sdk.DescribeLoadBalancerPolicyTypesOutput](t)(e.elb.DescribeLoadBalancerPolicyTypes(ctx, &sdk.DescribeLoadBalancerPolicyTypesInput{}))
	var names []string
	for _, pt := range all.PolicyTypeDescriptions {
		names = append(names, aws.ToString(pt.PolicyTypeName))
	}
	want := []string{"AppCookieStickinessPolicyType", "BackendServerAuthenticationPolicyType", "LBCookieStickinessPolicyType",
		"ProxyProtocolPolicyType", "PublicKeyPolicyType", "SSLNegotiationPolicyType"}
	if !slices.Equal(names, want) {
		t.Fatalf("policy types %v, want %v", names, want)
	}
	pp := must[*sdk.DescribeLoadBalancerPolicyTypesOutput](t)(e.elb.DescribeLoadBalancerPolicyTypes(ctx, &sdk.DescribeLoadBalancerPolicyTypesInput{
		PolicyTypeNames: []string{"ProxyProtocolPolicyType"}}))
	if a := pp.PolicyTypeDescriptions[0].PolicyAttributeTypeDescriptions; len(a) != 1 || aws.ToString(a[0].AttributeName) != "ProxyProtocol" ||
		aws.ToString(a[0].AttributeType) != "Boolean" || aws.ToString(a[0].Cardinality) != "ONE" {
		t.Fatalf("ProxyProtocolPolicyType attributes %+v", a)
	}
	if _, err := e.elb.DescribeLoadBalancerPolicyTypes(ctx, &sdk.DescribeLoadBalancerPolicyTypesInput{PolicyTypeNames: []string{"NoSuchType"}}); code(err) != "PolicyTypeNotFound" {
		t.Fatalf("unknown type: %v", err)
	}
	pre := must[*sdk.DescribeLoadBalancerPoliciesOutput](t)(e.elb.DescribeLoadBalancerPolicies(ctx, &sdk.DescribeLoadBalancerPoliciesInput{
		PolicyNames: []string{"ELBSecurityPolicy-TLS-1-2-2017-01"}}))
	if len(pre.PolicyDescriptions) != 1 || aws.ToString(pre.PolicyDescriptions[0].PolicyTypeName) != "SSLNegotiationPolicyType" {
		t.Fatalf("predefined %+v", pre.PolicyDescriptions)
	}
	got := map[string]string{}
	for _, a := range pre.PolicyDescriptions[0].PolicyAttributeDescriptions {
		got[aws.ToString(a.AttributeName)] = aws.ToString(a.AttributeValue)
	}
	if got["Protocol-TLSv1.2"] != "true" || got["Protocol-TLSv1"] != "false" || got["ECDHE-RSA-AES128-GCM-SHA256"] != "true" || got["AES128-SHA"] != "false" {
		t.Fatalf("ELBSecurityPolicy-TLS-1-2-2017-01 attributes %v", got)
	}
	every := must[*sdk.DescribeLoadBalancerPoliciesOutput](t)(e.elb.DescribeLoadBalancerPolicies(ctx, &sdk.DescribeLoadBalancerPoliciesInput{}))
	if len(every.PolicyDescriptions) < 4 || aws.ToString(every.PolicyDescriptions[0].PolicyName) != "ELBSecurityPolicy-2016-08" {
		t.Fatalf("predefined policies %d, first %s", len(every.PolicyDescriptions), aws.ToString(every.PolicyDescriptions[0].PolicyName))
	}
	if _, err := e.elb.DescribeLoadBalancerPolicies(ctx, &sdk.DescribeLoadBalancerPoliciesInput{PolicyNames: []string{"nope"}}); code(err) != "PolicyNotFound" {
		t.Fatalf("unknown predefined policy: %v", err)
	}
}

// TestPolicies: policies of each kind are made, listed in
// DescribeLoadBalancers (stickiness apart, the rest as other policies),
// set on listeners and instance ports within AWS's rules, and deleted
// once nothing uses them; every wrong request has AWS's error.
func TestPolicies(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	httpPort, tcpPort := freePort(t), freePort(t)
	e.create(t, "web", httpListener(httpPort, 8080), types.Listener{Protocol: aws.String("TCP"), LoadBalancerPort: tcpPort, InstancePort: aws.Int32(9090)})
	name := aws.String("web")
	must[*sdk.CreateLBCookieStickinessPolicyOutput](t)(e.elb.CreateLBCookieStickinessPolicy(ctx, &sdk.CreateLBCookieStickinessPolicyInput{
		LoadBalancerName: name, PolicyName: aws.String("lb-60"), CookieExpirationPeriod: aws.Int64(60)}))
	must[*sdk.CreateLBCookieStickinessPolicyOutput](t)(e.elb.CreateLBCookieStickinessPolicy(ctx, &sdk.CreateLBCookieStickinessPolicyInput{
		LoadBalancerName: name, PolicyName: aws.String("lb-session")}))
	must[*sdk.CreateAppCookieStickinessPolicyOutput](t)(e.elb.CreateAppCookieStickinessPolicy(ctx, &sdk.CreateAppCookieStickinessPolicyInput{
		LoadBalancerName: name, PolicyName: aws.String("app"), CookieName: aws.String("SESSION")}))
	policy := func(n, typ string, a ...string) func() error {
		return func() error {
			_, err := e.elb.CreateLoadBalancerPolicy(ctx, &sdk.CreateLoadBalancerPolicyInput{LoadBalancerName: name, PolicyName: aws.String(n),
				PolicyTypeName: aws.String(typ), PolicyAttributes: attrs(a...)})
			return err
		}
	}
	for _, f := range []func() error{
		policy("pp", "ProxyProtocolPolicyType", "ProxyProtocol", "true"),
		policy("tls12", "SSLNegotiationPolicyType", "Reference-Security-Policy", "ELBSecurityPolicy-TLS-1-2-2017-01"),
		policy("key", "PublicKeyPolicyType", "PublicKey", publicKey(t)),
		policy("auth", "BackendServerAuthenticationPolicyType", "PublicKeyPolicyName", "key"),
	} {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
	setListener := func(port int32, names ...string) func() error {
		return func() error {
			_, err := e.elb.SetLoadBalancerPoliciesOfListener(ctx, &sdk.SetLoadBalancerPoliciesOfListenerInput{LoadBalancerName: name,
				LoadBalancerPort: port, PolicyNames: append([]string{}, names...)})
			return err
		}
	}
	setBackend := func(port int32, names ...string) func() error {
		return func() error {
			_, err := e.elb.SetLoadBalancerPoliciesForBackendServer(ctx, &sdk.SetLoadBalancerPoliciesForBackendServerInput{LoadBalancerName: name,
				InstancePort: aws.Int32(port), PolicyNames: names})
			return err
		}
	}
	if err := setListener(httpPort, "lb-60")(); err != nil {
		t.Fatal(err)
	}
	if err := setBackend(9090, "pp")(); err != nil {
		t.Fatal(err)
	}

	d := e.describe(t, "web")
	if p := d.Policies.LBCookieStickinessPolicies; len(p) != 2 || aws.ToString(p[0].PolicyName) != "lb-60" || aws.ToInt64(p[0].CookieExpirationPeriod) != 60 ||
		p[1].CookieExpirationPeriod != nil {
		t.Fatalf("LB cookie policies %+v", p)
	}
	if p := d.Policies.AppCookieStickinessPolicies; len(p) != 1 || aws.ToString(p[0].CookieName) != "SESSION" {
		t.Fatalf("app cookie policies %+v", p)
	}
	if !slices.Equal(d.Policies.OtherPolicies, []string{"pp", "tls12", "key", "auth"}) {
		t.Fatalf("other policies %v", d.Policies.OtherPolicies)
	}
	if l := d.ListenerDescriptions[0]; !slices.Equal(l.PolicyNames, []string{"lb-60"}) || len(d.ListenerDescriptions[1].PolicyNames) != 0 {
		t.Fatalf("listener policies %v, %v", l.PolicyNames, d.ListenerDescriptions[1].PolicyNames)
	}
	if b := d.BackendServerDescriptions; len(b) != 1 || aws.ToInt32(b[0].InstancePort) != 9090 || !slices.Equal(b[0].PolicyNames, []string{"pp"}) {
		t.Fatalf("backend server descriptions %+v", b)
	}
	own := must[*sdk.DescribeLoadBalancerPoliciesOutput](t)(e.elb.DescribeLoadBalancerPolicies(ctx, &sdk.DescribeLoadBalancerPoliciesInput{
		LoadBalancerName: name, PolicyNames: []string{"tls12"}}))
	if a := own.PolicyDescriptions[0].PolicyAttributeDescriptions; len(a) < 2 || aws.ToString(a[0].AttributeName) != "Reference-Security-Policy" {
		t.Fatalf("tls12 attributes %+v", a)
	}

	for _, tc := range []struct {
		name, code, says string
		call             func() error
	}{
		{"duplicate policy", "DuplicatePolicyName", "lb-60", func() error {
			_, err := e.elb.CreateLBCookieStickinessPolicy(ctx, &sdk.CreateLBCookieStickinessPolicyInput{LoadBalancerName: name, PolicyName: aws.String("lb-60")})
			return err
		}},
		{"unknown load balancer", "LoadBalancerNotFound", "", func() error {
			_, err := e.elb.CreateAppCookieStickinessPolicy(ctx, &sdk.CreateAppCookieStickinessPolicyInput{LoadBalancerName: aws.String("nope"),
				PolicyName: aws.String("x"), CookieName: aws.String("C")})
			return err
		}},
		{"no cookie name", "ValidationError", "", func() error {
			_, err := e.elb.CreateAppCookieStickinessPolicy(ctx, &sdk.CreateAppCookieStickinessPolicyInput{LoadBalancerName: name, PolicyName: aws.String("x"), CookieName: aws.String("")})
			return err
		}},
		{"bad cookie name", "InvalidConfigurationRequest", "cookie name", func() error {
			_, err := e.elb.CreateAppCookieStickinessPolicy(ctx, &sdk.CreateAppCookieStickinessPolicyInput{LoadBalancerName: name, PolicyName: aws.String("x"), CookieName: aws.String("a b")})
			return err
		}},
		{"negative period", "InvalidConfigurationRequest", "CookieExpirationPeriod", func() error {
			_, err := e.elb.CreateLBCookieStickinessPolicy(ctx, &sdk.CreateLBCookieStickinessPolicyInput{LoadBalancerName: name, PolicyName: aws.String("x"), CookieExpirationPeriod: aws.Int64(-1)})
			return err
		}},
		{"bad policy name", "ValidationError", "PolicyName", policy("a b", "ProxyProtocolPolicyType", "ProxyProtocol", "true")},
		{"unknown policy type", "PolicyTypeNotFound", "", policy("x", "NoSuchPolicyType")},
		{"unknown attribute", "InvalidConfigurationRequest", "Colour", policy("x", "ProxyProtocolPolicyType", "ProxyProtocol", "true", "Colour", "red")},
		{"missing attribute", "InvalidConfigurationRequest", "ProxyProtocol", policy("x", "ProxyProtocolPolicyType")},
		{"attribute twice", "InvalidConfigurationRequest", "once", policy("x", "ProxyProtocolPolicyType", "ProxyProtocol", "true", "ProxyProtocol", "false")},
		{"not a boolean", "InvalidConfigurationRequest", "true or false", policy("x", "ProxyProtocolPolicyType", "ProxyProtocol", "yes")},
		{"unknown reference", "InvalidConfigurationRequest", "predefined", policy("x", "SSLNegotiationPolicyType", "Reference-Security-Policy", "ELBSecurityPolicy-1999")},
		{"reference and ciphers", "InvalidConfigurationRequest", "", policy("x", "SSLNegotiationPolicyType", "Reference-Security-Policy", "ELBSecurityPolicy-2016-08", "Protocol-TLSv1", "true")},
		{"no protocol", "InvalidConfigurationRequest", "protocol", policy("x", "SSLNegotiationPolicyType", "AES128-SHA", "true")},
		{"no servable cipher", "InvalidConfigurationRequest", "cipher", policy("x", "SSLNegotiationPolicyType", "Protocol-TLSv1.2", "true", "AES256-SHA256", "true")},
		{"bad public key", "InvalidConfigurationRequest", "public key", policy("x", "PublicKeyPolicyType", "PublicKey", "bm90IGEga2V5")},
		{"unknown public key policy", "PolicyNotFound", "nokey", policy("x", "BackendServerAuthenticationPolicyType", "PublicKeyPolicyName", "nokey")},
		{"public key policy of another type", "PolicyNotFound", "pp", policy("x", "BackendServerAuthenticationPolicyType", "PublicKeyPolicyName", "pp")},
		{"unknown policy on a listener", "PolicyNotFound", "nope", setListener(httpPort, "nope")},
		{"no such listener", "ListenerNotFound", "", setListener(freePort(t), "lb-60")},
		{"stickiness on TCP", "InvalidConfigurationRequest", "HTTP and HTTPS", setListener(tcpPort, "lb-60")},
		{"SSL policy on HTTP", "InvalidConfigurationRequest", "HTTPS and SSL", setListener(httpPort, "tls12")},
		{"two stickiness policies", "InvalidConfigurationRequest", "stickiness", setListener(httpPort, "lb-60", "app")},
		{"proxy protocol on a listener", "InvalidConfigurationRequest", "not for listeners", setListener(tcpPort, "pp")},
		{"stickiness on an instance port", "InvalidConfigurationRequest", "not for instance ports", setBackend(8080, "lb-60")},
		{"unknown policy on an instance port", "PolicyNotFound", "", setBackend(8080, "nope")},
		{"instance port 0", "ValidationError", "", setBackend(0, "pp")},
		{"delete a listener's policy", "InvalidConfigurationRequest", "listener on port", func() error {
			_, err := e.elb.DeleteLoadBalancerPolicy(ctx, &sdk.DeleteLoadBalancerPolicyInput{LoadBalancerName: name, PolicyName: aws.String("lb-60")})
			return err
		}},
		{"delete an instance port's policy", "InvalidConfigurationRequest", "instance port 9090", func() error {
			_, err := e.elb.DeleteLoadBalancerPolicy(ctx, &sdk.DeleteLoadBalancerPolicyInput{LoadBalancerName: name, PolicyName: aws.String("pp")})
			return err
		}},
		{"delete a policy another uses", "InvalidConfigurationRequest", "policy auth", func() error {
			_, err := e.elb.DeleteLoadBalancerPolicy(ctx, &sdk.DeleteLoadBalancerPolicyInput{LoadBalancerName: name, PolicyName: aws.String("key")})
			return err
		}},
		{"describe an unknown policy", "PolicyNotFound", "", func() error {
			_, err := e.elb.DescribeLoadBalancerPolicies(ctx, &sdk.DescribeLoadBalancerPoliciesInput{LoadBalancerName: name, PolicyNames: []string{"nope"}})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if code(err) != tc.code || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("err = %v, want %s saying %q", err, tc.code, tc.says)
			}
		})
	}
	if d := e.describe(t, "web"); len(d.Policies.OtherPolicies) != 4 || !slices.Equal(d.ListenerDescriptions[0].PolicyNames, []string{"lb-60"}) {
		t.Fatalf("a refused request changed the policies: %+v, %v", d.Policies, d.ListenerDescriptions[0].PolicyNames)
	}

	// Cleared, a policy can go; deleting it again is no error.
	if err := setListener(httpPort)(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		must[*sdk.DeleteLoadBalancerPolicyOutput](t)(e.elb.DeleteLoadBalancerPolicy(ctx, &sdk.DeleteLoadBalancerPolicyInput{LoadBalancerName: name, PolicyName: aws.String("lb-60")}))
	}
	d = e.describe(t, "web")
	if len(d.Policies.LBCookieStickinessPolicies) != 1 || len(d.ListenerDescriptions[0].PolicyNames) != 0 {
		t.Fatalf("after delete: %+v, listener %v", d.Policies.LBCookieStickinessPolicies, d.ListenerDescriptions[0].PolicyNames)
	}
}
