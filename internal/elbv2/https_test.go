package elbv2

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkacm "github.com/aws/aws-sdk-go-v2/service/acm"
	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/berth-dev/berth/internal/testutil"
)

// importCert imports a certificate issued by ca into ACM.
func (e *env) importCert(t *testing.T, ca *testutil.CA, c testutil.Issued, arn *string) string {
	t.Helper()
	out := must[*sdkacm.ImportCertificateOutput](t)(e.acm.ImportCertificate(context.Background(), &sdkacm.ImportCertificateInput{
		Certificate: c.CertPEM, PrivateKey: c.KeyPEM, CertificateChain: ca.PEM, CertificateArn: arn}))
	return aws.ToString(out.CertificateArn)
}

// handshake connects to 127.0.0.1:port as name, trusting ca, and returns
// the served certificate's serial and the backend's answer; "" when the
// request fails.
func handshake(ca *testutil.CA, port int32, name string) (serial, body, proto string) {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: name}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(fmt.Sprintf("https://127.0.0.1:%d/", port))
	if err != nil {
		return "", "", ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.TLS.PeerCertificates[0].SerialNumber.String(), string(b), resp.Proto
}

// TestHTTPSListener: an HTTPS listener needs an imported certificate and
// a known policy; it serves its default certificate and those added by
// SNI over HTTP/2, tells ACM it uses them, serves a re-imported
// certificate without a restart, and made HTTP lets them go.
func TestHTTPSListener(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	srv := backend(t, "web")
	_, lport := hostPort(t, srv)
	_, listener, tg := e.alb(t, srv)
	waitFor(t, func() bool { return e.health(t, tg)[lport] == "healthy/" })
	lbArn := must[*sdk.DescribeListenersOutput](t)(e.elb.DescribeListeners(ctx, &sdk.DescribeListenersInput{ListenerArns: []string{listener}})).Listeners[0].LoadBalancerArn
	ca := testutil.NewCA(t, "Test CA")
	www := ca.Issue(t, false, "www.example.com")
	wwwArn := e.importCert(t, ca, www, nil)
	api := ca.Issue(t, true, "api.example.com")
	apiArn := e.importCert(t, ca, api, nil)
	port := int32(freePort(t))
	fwd := []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: &tg}}
	https := func(certs []types.Certificate, policy *string) (*sdk.CreateListenerOutput, error) {
		return e.elb.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: lbArn, Protocol: types.ProtocolEnumHttps, Port: &port,
			DefaultActions: fwd, Certificates: certs, SslPolicy: policy})
	}
	missing := "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
	for _, tc := range []struct {
		name   string
		certs  []types.Certificate
		policy *string
		want   string
	}{
		{"no certificate", nil, nil, "ValidationError"},
		{"unknown certificate", []types.Certificate{{CertificateArn: &missing}}, nil, "CertificateNotFound"},
		{"two default certificates", []types.Certificate{{CertificateArn: &wwwArn}, {CertificateArn: &apiArn}}, nil, "TooManyCertificates"},
		{"unknown policy", []types.Certificate{{CertificateArn: &wwwArn}}, aws.String("ELBSecurityPolicy-1999"), "SSLPolicyNotFound"},
	} {
		_, err := https(tc.certs, tc.policy)
		if code(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
	l := must[*sdk.CreateListenerOutput](t)(https([]types.Certificate{{CertificateArn: &wwwArn}}, nil)).Listeners[0]
	if aws.ToString(l.SslPolicy) != "ELBSecurityPolicy-2016-08" || len(l.Certificates) != 1 || aws.ToString(l.Certificates[0].CertificateArn) != wwwArn {
		t.Fatalf("listener = %+v", l)
	}
	larn := aws.ToString(l.ListenerArn)
	var serial, body, proto string
	waitFor(t, func() bool {
		serial, body, proto = handshake(ca, port, "www.example.com")
		return serial != ""
	})
	if serial != www.Cert.SerialNumber.String() || body != "web" || proto != "HTTP/2.0" {
		t.Fatalf("www: serial %s, body %q over %s", serial, body, proto)
	}
	// A certificate added by SNI.
	must[*sdk.AddListenerCertificatesOutput](t)(e.elb.AddListenerCertificates(ctx, &sdk.AddListenerCertificatesInput{ListenerArn: &larn,
		Certificates: []types.Certificate{{CertificateArn: &apiArn}}}))
	lc := must[*sdk.DescribeListenerCertificatesOutput](t)(e.elb.DescribeListenerCertificates(ctx, &sdk.DescribeListenerCertificatesInput{ListenerArn: &larn}))
	if len(lc.Certificates) != 2 || !aws.ToBool(lc.Certificates[0].IsDefault) || aws.ToString(lc.Certificates[1].CertificateArn) != apiArn || aws.ToBool(lc.Certificates[1].IsDefault) {
		t.Fatalf("listener certificates = %+v", lc.Certificates)
	}
	waitFor(t, func() bool {
		s, _, _ := handshake(ca, port, "api.example.com")
		return s == api.Cert.SerialNumber.String()
	})
	// Rules on an HTTPS listener, and redirects that keep its scheme.
	must[*sdk.CreateRuleOutput](t)(e.elb.CreateRule(ctx, &sdk.CreateRuleInput{ListenerArn: &larn, Priority: aws.Int32(1),
		Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/old"}}},
		Actions:    []types.Action{{Type: types.ActionTypeEnumRedirect, RedirectConfig: &types.RedirectActionConfig{Path: aws.String("/new"), StatusCode: types.RedirectActionStatusCodeEnumHttp301}}}}))
	waitFor(t, func() bool {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "www.example.com"}}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr, Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(fmt.Sprintf("https://127.0.0.1:%d/old", port))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 301 && resp.Header.Get("Location") == fmt.Sprintf("https://127.0.0.1:%d/new", port)
	})
	// ACM knows the listener uses its certificates, and keeps them.
	d := must[*sdkacm.DescribeCertificateOutput](t)(e.acm.DescribeCertificate(ctx, &sdkacm.DescribeCertificateInput{CertificateArn: &apiArn}))
	if !slices.Equal(d.Certificate.InUseBy, []string{larn}) {
		t.Fatalf("InUseBy = %v", d.Certificate.InUseBy)
	}
	if _, err := e.acm.DeleteCertificate(ctx, &sdkacm.DeleteCertificateInput{CertificateArn: &wwwArn}); code(err) != "ResourceInUseException" {
		t.Fatalf("delete a used certificate: %v", err)
	}
	if _, err := e.elb.RemoveListenerCertificates(ctx, &sdk.RemoveListenerCertificatesInput{ListenerArn: &larn,
		Certificates: []types.Certificate{{CertificateArn: &wwwArn}}}); code(err) != "OperationNotPermitted" {
		t.Fatalf("remove the default certificate: %v", err)
	}
	// Re-imported, the default certificate is served at the next handshake.
	renewed := ca.Issue(t, false, "www.example.com")
	e.importCert(t, ca, renewed, &wwwArn)
	waitFor(t, func() bool {
		s, _, _ := handshake(ca, port, "www.example.com")
		return s == renewed.Cert.SerialNumber.String()
	})
	// Made HTTP, the listener lets its certificates go.
	if _, err := e.elb.ModifyListener(ctx, &sdk.ModifyListenerInput{ListenerArn: &larn, Protocol: types.ProtocolEnumHttp,
		Certificates: []types.Certificate{{CertificateArn: &wwwArn}}}); code(err) != "InvalidConfigurationRequest" {
		t.Fatalf("HTTP with a certificate: %v", err)
	}
	m := must[*sdk.ModifyListenerOutput](t)(e.elb.ModifyListener(ctx, &sdk.ModifyListenerInput{ListenerArn: &larn, Protocol: types.ProtocolEnumHttp})).Listeners[0]
	if len(m.Certificates) != 0 || aws.ToString(m.SslPolicy) != "" {
		t.Fatalf("HTTP listener = %+v", m)
	}
	if _, err := e.elb.ModifyListener(ctx, &sdk.ModifyListenerInput{ListenerArn: &larn, Protocol: types.ProtocolEnumHttps}); code(err) != "ValidationError" {
		t.Fatalf("HTTPS again without a certificate: %v", err)
	}
	must[*sdkacm.DeleteCertificateOutput](t)(e.acm.DeleteCertificate(ctx, &sdkacm.DeleteCertificateInput{CertificateArn: &wwwArn}))
	waitFor(t, func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

// TestSSLPolicies: the predefined policies by name and type; an unknown
// name is SSLPolicyNotFound.
func TestSSLPolicies(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	out := must[*sdk.DescribeSSLPoliciesOutput](t)(e.elb.DescribeSSLPolicies(ctx, &sdk.DescribeSSLPoliciesInput{Names: []string{"ELBSecurityPolicy-2016-08", "ELBSecurityPolicy-TLS13-1-3-2021-06"}}))
	if len(out.SslPolicies) != 2 {
		t.Fatalf("policies = %+v", out.SslPolicies)
	}
	p := out.SslPolicies[0]
	if aws.ToString(p.Name) != "ELBSecurityPolicy-2016-08" || !slices.Equal(p.SslProtocols, []string{"TLSv1", "TLSv1.1", "TLSv1.2"}) ||
		aws.ToString(p.Ciphers[0].Name) != "ECDHE-ECDSA-AES128-GCM-SHA256" || aws.ToInt32(p.Ciphers[0].Priority) != 1 || len(p.Ciphers) != 18 ||
		!slices.Equal(p.SupportedLoadBalancerTypes, []string{"application", "network"}) {
		t.Fatalf("2016-08 = %+v", p)
	}
	if q := out.SslPolicies[1]; !slices.Equal(q.SslProtocols, []string{"TLSv1.3"}) || len(q.Ciphers) != 3 {
		t.Fatalf("TLS13-1-3 = %+v", q)
	}
	all := must[*sdk.DescribeSSLPoliciesOutput](t)(e.elb.DescribeSSLPolicies(ctx, &sdk.DescribeSSLPoliciesInput{LoadBalancerType: types.LoadBalancerTypeEnumNetwork}))
	if len(all.SslPolicies) != len(sslPolicies) {
		t.Fatalf("%d network policies, want %d", len(all.SslPolicies), len(sslPolicies))
	}
	if _, err := e.elb.DescribeSSLPolicies(ctx, &sdk.DescribeSSLPoliciesInput{Names: []string{"nope"}}); code(err) != "SSLPolicyNotFound" {
		t.Fatalf("unknown policy: %v", err)
	}
}

// TestHTTPSTargetGroup: an HTTPS target group is checked over HTTPS by
// default, fits an application load balancer, and its targets are
// reached over TLS; a network load balancer refuses it.
func TestHTTPSTargetGroup(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "tls=%v", r.TLS != nil) }))
	t.Cleanup(srv.Close)
	host, tport := hostPort(t, srv)
	vpc, subnets := e.loopbackVPC(t)
	alb := must[*sdk.CreateLoadBalancerOutput](t)(e.elb.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{Name: aws.String("web"), Subnets: subnets})).LoadBalancers[0]
	nlb := must[*sdk.CreateLoadBalancerOutput](t)(e.elb.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{Name: aws.String("net"),
		Type: types.LoadBalancerTypeEnumNetwork, Subnets: subnets})).LoadBalancers[0]
	g := must[*sdk.CreateTargetGroupOutput](t)(e.elb.CreateTargetGroup(ctx, &sdk.CreateTargetGroupInput{Name: aws.String("secure"), TargetType: types.TargetTypeEnumIp,
		Protocol: types.ProtocolEnumHttps, Port: aws.Int32(443), VpcId: &vpc, HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2)})).TargetGroups[0]
	if g.HealthCheckProtocol != types.ProtocolEnumHttps || aws.ToString(g.ProtocolVersion) != "HTTP1" {
		t.Fatalf("group = %+v", g)
	}
	tg := aws.ToString(g.TargetGroupArn)
	must[*sdk.RegisterTargetsOutput](t)(e.elb.RegisterTargets(ctx, &sdk.RegisterTargetsInput{TargetGroupArn: &tg,
		Targets: []types.TargetDescription{{Id: &host, Port: &tport}}}))
	fwd := []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: &tg}}
	_, err := e.elb.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: nlb.LoadBalancerArn, Protocol: types.ProtocolEnumTcp,
		Port: aws.Int32(int32(freePort(t))), DefaultActions: fwd})
	wantCode(t, err, "IncompatibleProtocols")
	port := int32(freePort(t))
	must[*sdk.CreateListenerOutput](t)(e.elb.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: alb.LoadBalancerArn, Protocol: types.ProtocolEnumHttp,
		Port: &port, DefaultActions: fwd}))
	waitFor(t, func() bool { return e.health(t, tg)[tport] == "healthy/" })
	if status, body, _ := get(t, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/", port)); status != 200 || body != "tls=true" {
		t.Fatalf("through the listener: %d %q", status, body)
	}
}
