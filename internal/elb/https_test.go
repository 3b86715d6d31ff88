package elb

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkacm "github.com/aws/aws-sdk-go-v2/service/acm"
	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"

	"github.com/berth-dev/berth/internal/testutil"
)

// importCert imports a certificate issued by ca into Certificate Manager.
func (e *env) importCert(t *testing.T, ca *testutil.CA, c testutil.Issued) string {
	t.Helper()
	out := must[*sdkacm.ImportCertificateOutput](t)(e.acm.ImportCertificate(context.Background(), &sdkacm.ImportCertificateInput{
		Certificate: c.CertPEM, PrivateKey: c.KeyPEM, CertificateChain: ca.PEM}))
	return aws.ToString(out.CertificateArn)
}

// eventually waits up to 10s for ok.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fetch asks https://127.0.0.1:port/ as www.example.com, trusting ca,
// with TLS versions from min to max; it returns the served certificate's
// serial and the answer, "" when the request fails.
func fetch(ca *testutil.CA, port int32, min, max uint16) (serial, body string) {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "www.example.com", MinVersion: min, MaxVersion: max}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(fmt.Sprintf("https://127.0.0.1:%d/", port))
	if err != nil {
		return "", ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.TLS.PeerCertificates[0].SerialNumber.String(), string(b)
}

// TestHTTPSListener: HTTPS and SSL listeners need a certificate of
// Certificate Manager and get the default security policy; they
// terminate TLS with it (plain HTTP and TCP to the instance), answer
// only the protocols of the listener's SSL negotiation policy, and serve
// the certificate SetLoadBalancerListenerSSLCertificate gives them from
// the next handshake.
func TestHTTPSListener(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	vpc, subnets := e.loopbackVPC(t)
	a := startBackend(t, "a", "127.0.0.1:0")
	e.instance(t, "i-0000000000000000a", vpc, subnets[0], "127.0.0.1")
	ca := testutil.NewCA(t, "Test CA")
	www := ca.Issue(t, false, "www.example.com")
	wwwArn := e.importCert(t, ca, www)
	missing := "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
	port, sslPort, httpPort := freePort(t), freePort(t), freePort(t)
	https := func(p int32, cert string) types.Listener {
		return types.Listener{Protocol: aws.String("HTTPS"), LoadBalancerPort: p, InstancePort: aws.Int32(int32(a.port)), SSLCertificateId: aws.String(cert)}
	}
	create := func(ls ...types.Listener) error {
		_, err := e.elb.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{LoadBalancerName: aws.String("secure"), Listeners: ls, Subnets: subnets})
		return err
	}
	secureBack := https(port, wwwArn)
	secureBack.InstanceProtocol = aws.String("HTTPS")
	plainCert := httpListener(httpPort, int32(a.port))
	plainCert.SSLCertificateId = aws.String(wwwArn)
	for _, tc := range []struct {
		name, code string
		err        error
	}{
		{"unknown certificate", "CertificateNotFound", create(https(port, missing))},
		{"IAM server certificate", "CertificateNotFound", create(https(port, "arn:aws:iam::123456789012:server-certificate/www"))},
		{"certificate on HTTP", "InvalidConfigurationRequest", create(plainCert)},
		{"one instance port with and without TLS", "InvalidConfigurationRequest", create(secureBack, httpListener(httpPort, int32(a.port)))},
	} {
		if code(tc.err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, tc.err, tc.code)
		}
	}
	ssl := types.Listener{Protocol: aws.String("SSL"), LoadBalancerPort: sslPort, InstancePort: aws.Int32(int32(a.port)), SSLCertificateId: aws.String(wwwArn)}
	if err := create(https(port, wwwArn), ssl, httpListener(httpPort, int32(a.port))); err != nil {
		t.Fatal(err)
	}
	must[*sdk.RegisterInstancesWithLoadBalancerOutput](t)(e.elb.RegisterInstancesWithLoadBalancer(ctx, &sdk.RegisterInstancesWithLoadBalancerInput{
		LoadBalancerName: aws.String("secure"), Instances: []types.Instance{{InstanceId: aws.String("i-0000000000000000a")}}}))
	d := e.describe(t, "secure")
	def := []string{"ELBSecurityPolicy-2016-08"}
	if l := d.ListenerDescriptions; !slices.Equal(l[0].PolicyNames, def) || !slices.Equal(l[1].PolicyNames, def) || len(l[2].PolicyNames) != 0 ||
		aws.ToString(l[0].Listener.InstanceProtocol) != "HTTP" || aws.ToString(l[1].Listener.InstanceProtocol) != "TCP" ||
		!slices.Equal(d.Policies.OtherPolicies, def) {
		t.Fatalf("listeners %+v, policies %v", l, d.Policies.OtherPolicies)
	}
	lbArn := "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/secure"
	if c := must[*sdkacm.DescribeCertificateOutput](t)(e.acm.DescribeCertificate(ctx, &sdkacm.DescribeCertificateInput{CertificateArn: &wwwArn})); !slices.Equal(c.Certificate.InUseBy, []string{lbArn}) {
		t.Fatalf("InUseBy %v", c.Certificate.InUseBy)
	}

	// The HTTPS listener serves the certificate, TLS 1.1 too under the
	// default policy; the SSL one passes the decrypted bytes through.
	eventually(t, "the HTTPS listener answers with the certificate", func() bool {
		serial, body := fetch(ca, port, tls.VersionTLS12, tls.VersionTLS13)
		return serial == www.Cert.SerialNumber.String() && body == "a"
	})
	if _, body := fetch(ca, port, tls.VersionTLS10, tls.VersionTLS11); body != "a" {
		t.Fatal("TLS 1.1 refused under ELBSecurityPolicy-2016-08")
	}
	eventually(t, "the SSL listener passes through", func() bool {
		serial, body := fetch(ca, sslPort, tls.VersionTLS12, tls.VersionTLS13)
		return serial == www.Cert.SerialNumber.String() && body == "a"
	})

	// A TLS 1.2 policy refuses TLS 1.1.
	must[*sdk.CreateLoadBalancerPolicyOutput](t)(e.elb.CreateLoadBalancerPolicy(ctx, &sdk.CreateLoadBalancerPolicyInput{LoadBalancerName: aws.String("secure"),
		PolicyName: aws.String("tls12"), PolicyTypeName: aws.String("SSLNegotiationPolicyType"),
		PolicyAttributes: attrs("Reference-Security-Policy", "ELBSecurityPolicy-TLS-1-2-2017-01")}))
	must[*sdk.SetLoadBalancerPoliciesOfListenerOutput](t)(e.elb.SetLoadBalancerPoliciesOfListener(ctx, &sdk.SetLoadBalancerPoliciesOfListenerInput{
		LoadBalancerName: aws.String("secure"), LoadBalancerPort: port, PolicyNames: []string{"tls12"}}))
	eventually(t, "TLS 1.1 refused under ELBSecurityPolicy-TLS-1-2-2017-01", func() bool {
		_, body := fetch(ca, port, tls.VersionTLS10, tls.VersionTLS11)
		return body == ""
	})
	if _, body := fetch(ca, port, tls.VersionTLS12, tls.VersionTLS12); body != "a" {
		t.Fatal("TLS 1.2 refused under ELBSecurityPolicy-TLS-1-2-2017-01")
	}

	// A new certificate, from the next handshake.
	next := ca.Issue(t, true, "www.example.com")
	nextArn := e.importCert(t, ca, next)
	setCert := func(lbName string, p int32, cert string) error {
		_, err := e.elb.SetLoadBalancerListenerSSLCertificate(ctx, &sdk.SetLoadBalancerListenerSSLCertificateInput{LoadBalancerName: aws.String(lbName),
			LoadBalancerPort: p, SSLCertificateId: aws.String(cert)})
		return err
	}
	for _, tc := range []struct {
		name, code string
		err        error
	}{
		{"unknown certificate", "CertificateNotFound", setCert("secure", port, missing)},
		{"no such listener", "ListenerNotFound", setCert("secure", freePort(t), nextArn)},
		{"HTTP listener", "InvalidConfigurationRequest", setCert("secure", httpPort, nextArn)},
		{"unknown load balancer", "LoadBalancerNotFound", setCert("nope", port, nextArn)},
		{"no certificate", "ValidationError", setCert("secure", port, "")},
	} {
		if code(tc.err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, tc.err, tc.code)
		}
	}
	if err := setCert("secure", port, nextArn); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new certificate is served", func() bool {
		serial, body := fetch(ca, port, tls.VersionTLS12, tls.VersionTLS13)
		return serial == next.Cert.SerialNumber.String() && body == "a"
	})
	if serial, _ := fetch(ca, sslPort, tls.VersionTLS12, tls.VersionTLS13); serial != www.Cert.SerialNumber.String() {
		t.Fatalf("the SSL listener's certificate changed too (%s)", serial)
	}
	// The SSL listener still serves the first certificate: ACM keeps it.
	if _, err := e.acm.DeleteCertificate(ctx, &sdkacm.DeleteCertificateInput{CertificateArn: &wwwArn}); code(err) != "ResourceInUseException" {
		t.Fatalf("deleting a certificate in use: %v", err)
	}
	if got := aws.ToString(e.describe(t, "secure").ListenerDescriptions[0].Listener.SSLCertificateId); got != nextArn {
		t.Fatalf("SSLCertificateId %s, want %s", got, nextArn)
	}
}

// TestTLSToInstances: an HTTPS or SSL instance protocol makes the load
// balancer speak TLS to the instances, from an HTTP and a TCP listener;
// SSL and HTTPS health checks speak TLS too.
func TestTLSToInstances(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	vpc, subnets := e.loopbackVPC(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			io.WriteString(w, "tls")
		}
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // TCP health checks
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, portText, _ := strings.Cut(srv.Listener.Addr().String(), ":")
	ip, _ := strconv.Atoi(portText)
	e.instance(t, "i-0000000000000000a", vpc, subnets[0], "127.0.0.1")
	httpPort, tcpPort := freePort(t), freePort(t)
	must[*sdk.CreateLoadBalancerOutput](t)(e.elb.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{LoadBalancerName: aws.String("back"), Subnets: subnets,
		Listeners: []types.Listener{
			{Protocol: aws.String("HTTP"), LoadBalancerPort: httpPort, InstanceProtocol: aws.String("HTTPS"), InstancePort: aws.Int32(int32(ip))},
			{Protocol: aws.String("TCP"), LoadBalancerPort: tcpPort, InstanceProtocol: aws.String("SSL"), InstancePort: aws.Int32(int32(ip))},
		}}))
	must[*sdk.RegisterInstancesWithLoadBalancerOutput](t)(e.elb.RegisterInstancesWithLoadBalancer(ctx, &sdk.RegisterInstancesWithLoadBalancerInput{
		LoadBalancerName: aws.String("back"), Instances: []types.Instance{{InstanceId: aws.String("i-0000000000000000a")}}}))
	// SSL and HTTPS health checks: a TLS handshake, an HTTPS request; a
	// plain port fails the handshake.
	plain := startBackend(t, "plain", "127.0.0.1:0")
	for _, tc := range []struct{ target, state string }{
		{fmt.Sprintf("SSL:%d", ip), "InService"},
		{fmt.Sprintf("SSL:%d", plain.port), "OutOfService"},
		{fmt.Sprintf("HTTPS:%d/", ip), "InService"},
	} {
		must[*sdk.ConfigureHealthCheckOutput](t)(e.elb.ConfigureHealthCheck(ctx, &sdk.ConfigureHealthCheckInput{LoadBalancerName: aws.String("back"),
			HealthCheck: &types.HealthCheck{Target: aws.String(tc.target), Interval: aws.Int32(5), Timeout: aws.Int32(2),
				HealthyThreshold: aws.Int32(2), UnhealthyThreshold: aws.Int32(2)}}))
		eventually(t, tc.target+" makes the instance "+tc.state, func() bool {
			out := must[*sdk.DescribeInstanceHealthOutput](t)(e.elb.DescribeInstanceHealth(ctx, &sdk.DescribeInstanceHealthInput{LoadBalancerName: aws.String("back")}))
			return len(out.InstanceStates) == 1 && aws.ToString(out.InstanceStates[0].State) == tc.state
		})
	}
	for _, p := range []int32{httpPort, tcpPort} {
		eventually(t, fmt.Sprintf("port %d reaches the instance over TLS", p), func() bool {
			resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(fmt.Sprintf("http://127.0.0.1:%d/", p))
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return string(b) == "tls"
		})
	}
}

// TestBackendServerAuthentication: an instance port with a back-end
// server authentication policy is reached, from HTTP and TCP listeners,
// only while the instance's certificate carries one of the policy's
// public keys.
func TestBackendServerAuthentication(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	vpc, subnets := e.loopbackVPC(t)
	ca := testutil.NewCA(t, "Test CA")
	issued := ca.Issue(t, true, "instance.example.com")
	pair, err := tls.X509KeyPair(issued.CertPEM, issued.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "tls") }))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes and TCP health checks
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, portText, _ := strings.Cut(srv.Listener.Addr().String(), ":")
	ip, _ := strconv.Atoi(portText)
	e.instance(t, "i-0000000000000000a", vpc, subnets[0], "127.0.0.1")
	httpPort, tcpPort := freePort(t), freePort(t)
	name := aws.String("authed")
	must[*sdk.CreateLoadBalancerOutput](t)(e.elb.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{LoadBalancerName: name, Subnets: subnets,
		Listeners: []types.Listener{
			{Protocol: aws.String("HTTP"), LoadBalancerPort: httpPort, InstanceProtocol: aws.String("HTTPS"), InstancePort: aws.Int32(int32(ip))},
			{Protocol: aws.String("TCP"), LoadBalancerPort: tcpPort, InstanceProtocol: aws.String("SSL"), InstancePort: aws.Int32(int32(ip))},
		}}))
	must[*sdk.RegisterInstancesWithLoadBalancerOutput](t)(e.elb.RegisterInstancesWithLoadBalancer(ctx, &sdk.RegisterInstancesWithLoadBalancerInput{
		LoadBalancerName: name, Instances: []types.Instance{{InstanceId: aws.String("i-0000000000000000a")}}}))
	for _, kv := range [][2]string{
		{"its-key", base64.StdEncoding.EncodeToString(issued.Cert.RawSubjectPublicKeyInfo)},
		{"other-key", publicKey(t)},
	} {
		must[*sdk.CreateLoadBalancerPolicyOutput](t)(e.elb.CreateLoadBalancerPolicy(ctx, &sdk.CreateLoadBalancerPolicyInput{LoadBalancerName: name,
			PolicyName: aws.String(kv[0]), PolicyTypeName: aws.String("PublicKeyPolicyType"), PolicyAttributes: attrs("PublicKey", kv[1])}))
		must[*sdk.CreateLoadBalancerPolicyOutput](t)(e.elb.CreateLoadBalancerPolicy(ctx, &sdk.CreateLoadBalancerPolicyInput{LoadBalancerName: name,
			PolicyName: aws.String("auth-" + kv[0]), PolicyTypeName: aws.String("BackendServerAuthenticationPolicyType"),
			PolicyAttributes: attrs("PublicKeyPolicyName", kv[0])}))
	}
	answer := func(p int32) string {
		// A new connection each time: the TCP listener's connection to
		// the instance lives as long as the client's.
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", p))
		if err != nil {
			return "no answer"
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, b)
	}
	for _, tc := range []struct {
		policy  string
		reaches bool
	}{
		{"", true},
		{"auth-other-key", false},
		{"auth-its-key", true},
	} {
		names := []string{}
		if tc.policy != "" {
			names = append(names, tc.policy)
		}
		must[*sdk.SetLoadBalancerPoliciesForBackendServerOutput](t)(e.elb.SetLoadBalancerPoliciesForBackendServer(ctx, &sdk.SetLoadBalancerPoliciesForBackendServerInput{
			LoadBalancerName: name, InstancePort: aws.Int32(int32(ip)), PolicyNames: names}))
		for _, p := range []int32{httpPort, tcpPort} {
			eventually(t, fmt.Sprintf("policy %q: port %d reaches the instance: %v", tc.policy, p, tc.reaches), func() bool {
				return (answer(p) == "200 tls") == tc.reaches
			})
		}
	}
}
