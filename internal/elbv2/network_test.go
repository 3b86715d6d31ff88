package elbv2

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestNetworkListenersUDPAndTLS: UDP and TLS target groups are checked
// over TCP (never UDP), and only listeners of a protocol that carries
// theirs forward to them; a UDP
// listener carries datagrams both ways; a TLS listener decrypts for a TCP
// group and negotiates its ALPN policy's protocol.
func TestNetworkListenersUDPAndTLS(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	vpc, subnets := e.loopbackVPC(t)
	nlb := must[*sdk.CreateLoadBalancerOutput](t)(e.elb.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{Name: aws.String("net"),
		Type: types.LoadBalancerTypeEnumNetwork, Subnets: subnets})).LoadBalancers[0]
	group := func(name string, protocol types.ProtocolEnum, addr string) string {
		t.Helper()
		g := must[*sdk.CreateTargetGroupOutput](t)(e.elb.CreateTargetGroup(ctx, &sdk.CreateTargetGroupInput{Name: aws.String(name), TargetType: types.TargetTypeEnumIp,
			Protocol: protocol, Port: aws.Int32(53), VpcId: &vpc, HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2)})).TargetGroups[0]
		if g.HealthCheckProtocol != types.ProtocolEnumTcp {
			t.Fatalf("%s group health check over %s, want TCP", protocol, g.HealthCheckProtocol)
		}
		host, port, _ := net.SplitHostPort(addr)
		n, _ := strconv.Atoi(port)
		must[*sdk.RegisterTargetsOutput](t)(e.elb.RegisterTargets(ctx, &sdk.RegisterTargetsInput{TargetGroupArn: g.TargetGroupArn,
			Targets: []types.TargetDescription{{Id: &host, Port: aws.Int32(int32(n))}}}))
		return aws.ToString(g.TargetGroupArn)
	}
	udpTG := group("dns", types.ProtocolEnumUdp, testutil.UDPEcho(t, "udp"))
	tcpTG := group("tcp", types.ProtocolEnumTcp, testutil.LineEcho(t, "tcp"))
	_, err := e.elb.ModifyTargetGroup(ctx, &sdk.ModifyTargetGroupInput{TargetGroupArn: &udpTG, HealthCheckProtocol: types.ProtocolEnumUdp})
	wantCode(t, err, "ValidationError")

	listen := func(protocol types.ProtocolEnum, tg string, in *sdk.CreateListenerInput) (int32, error) {
		port := int32(freePort(t))
		in.LoadBalancerArn, in.Protocol, in.Port = nlb.LoadBalancerArn, protocol, &port
		in.DefaultActions = []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: &tg}}
		_, err := e.elb.CreateListener(ctx, in)
		return port, err
	}
	_, err = listen(types.ProtocolEnumUdp, tcpTG, &sdk.CreateListenerInput{})
	wantCode(t, err, "IncompatibleProtocols")
	udpPort := must[int32](t)(listen(types.ProtocolEnumUdp, udpTG, &sdk.CreateListenerInput{}))

	ca := testutil.NewCA(t, "Test CA")
	cert := e.importCert(t, ca, ca.Issue(t, false, "tcp.example.com"), nil)
	certs := []types.Certificate{{CertificateArn: &cert}}
	_, err = listen(types.ProtocolEnumTls, tcpTG, &sdk.CreateListenerInput{Certificates: certs, AlpnPolicy: []string{"HTTP3Only"}})
	wantCode(t, err, "ALPNPolicyNotFound")
	// A TLS group (TLS to the targets) only behind a TLS listener.
	tlsTG := group("tls", types.ProtocolEnumTls, testutil.LineEcho(t, "unused"))
	_, err = listen(types.ProtocolEnumTcp, tlsTG, &sdk.CreateListenerInput{})
	wantCode(t, err, "IncompatibleProtocols")
	must[int32](t)(listen(types.ProtocolEnumTls, tlsTG, &sdk.CreateListenerInput{Certificates: certs}))
	tlsPort := must[int32](t)(listen(types.ProtocolEnumTls, tcpTG, &sdk.CreateListenerInput{Certificates: certs, AlpnPolicy: []string{"HTTP2Preferred"},
		SslPolicy: aws.String("ELBSecurityPolicy-TLS13-1-2-2021-06")}))

	// Datagrams through the UDP listener, once its target is healthy.
	waitFor(t, func() bool {
		c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", udpPort))
		if err != nil {
			return false
		}
		defer c.Close()
		c.Write([]byte("query"))
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		buf := make([]byte, 512)
		n, err := c.Read(buf)
		return err == nil && strings.HasPrefix(string(buf[:n]), "udp|") && strings.HasSuffix(string(buf[:n]), "|query")
	})
	// A TLS client's bytes reach the TCP target decrypted.
	var got, alpn string
	var version uint16
	waitFor(t, func() bool {
		c, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tlsPort), &tls.Config{RootCAs: ca.Pool(), ServerName: "tcp.example.com", NextProtos: []string{"http/1.1", "h2"}})
		if err != nil {
			return false
		}
		defer c.Close()
		fmt.Fprintf(c, "hello\n")
		b, _ := io.ReadAll(c)
		got, alpn, version = string(b), c.ConnectionState().NegotiatedProtocol, c.ConnectionState().Version
		return got != ""
	})
	if got != "tcp:hello\n" || alpn != "h2" || version != tls.VersionTLS13 {
		t.Fatalf("through the TLS listener: %q, ALPN %q, version %x", got, alpn, version)
	}
	ls := must[*sdk.DescribeListenersOutput](t)(e.elb.DescribeListeners(ctx, &sdk.DescribeListenersInput{LoadBalancerArn: nlb.LoadBalancerArn})).Listeners
	for _, l := range ls {
		if aws.ToInt32(l.Port) == tlsPort && (len(l.AlpnPolicy) != 1 || l.AlpnPolicy[0] != "HTTP2Preferred" || aws.ToString(l.SslPolicy) != "ELBSecurityPolicy-TLS13-1-2-2021-06") {
			t.Fatalf("TLS listener = %+v", l)
		}
	}
}
