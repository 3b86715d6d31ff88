package elb

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	sdkv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	typesv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/berth-dev/berth/internal/ec2"
)

// freePort is a port nothing listens on now.
func freePort(t testing.TB) int32 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

func httpListener(port, instancePort int32) types.Listener {
	return types.Listener{Protocol: aws.String("HTTP"), LoadBalancerPort: port, InstancePort: aws.Int32(instancePort)}
}

// create makes a load balancer in the default VPC's first zone.
func (e *env) create(t testing.TB, name string, ls ...types.Listener) *sdk.CreateLoadBalancerOutput {
	t.Helper()
	return must[*sdk.CreateLoadBalancerOutput](t)(e.elb.CreateLoadBalancer(context.Background(), &sdk.CreateLoadBalancerInput{
		LoadBalancerName: aws.String(name), Listeners: ls, AvailabilityZones: []string{testRegion + "a"}}))
}

func (e *env) describe(t testing.TB, name string) types.LoadBalancerDescription {
	t.Helper()
	out := must[*sdk.DescribeLoadBalancersOutput](t)(e.elb.DescribeLoadBalancers(context.Background(), &sdk.DescribeLoadBalancersInput{LoadBalancerNames: []string{name}}))
	return out.LoadBalancerDescriptions[0]
}

// TestCreateDescribeDelete: a load balancer made by zone is in the default
// VPC's subnet of the zone and default group, with AWS's DNS name, default
// health check and listeners; creating it again answers the same name;
// deleting it frees its port and interfaces, and deleting it again succeeds.
func TestCreateDescribeDelete(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	port := freePort(t)
	out := e.create(t, "web", httpListener(port, 8080))
	if !regexp.MustCompile(`^web-\d{10}\.us-east-1\.elb\.amazonaws\.com$`).MatchString(aws.ToString(out.DNSName)) {
		t.Fatalf("DNS name %q", aws.ToString(out.DNSName))
	}
	d := e.describe(t, "web")
	subs := must[[]string](t)(e.ec2.DefaultSubnets(ctx))
	def := must[string](t)(e.ec2.VpcDefaultGroup(ctx, aws.ToString(d.VPCId)))
	if aws.ToString(d.DNSName) != aws.ToString(out.DNSName) || !slices.Equal(d.AvailabilityZones, []string{testRegion + "a"}) ||
		!slices.Equal(d.Subnets, subs[:1]) || !slices.Equal(d.SecurityGroups, []string{def}) || aws.ToString(d.Scheme) != "internet-facing" {
		t.Fatalf("description %+v", d)
	}
	if l := d.ListenerDescriptions[0].Listener; aws.ToString(l.Protocol) != "HTTP" || aws.ToString(l.InstanceProtocol) != "HTTP" || aws.ToInt32(l.InstancePort) != 8080 || l.LoadBalancerPort != port {
		t.Fatalf("listener %+v", l)
	}
	if h := d.HealthCheck; aws.ToString(h.Target) != "TCP:8080" || aws.ToInt32(h.Interval) != 30 || aws.ToInt32(h.Timeout) != 5 ||
		aws.ToInt32(h.UnhealthyThreshold) != 2 || aws.ToInt32(h.HealthyThreshold) != 10 {
		t.Fatalf("health check %+v", h)
	}
	// The same again: the same load balancer.
	if again := e.create(t, "web", httpListener(port, 8080)); aws.ToString(again.DNSName) != aws.ToString(out.DNSName) {
		t.Fatalf("created again: %q", aws.ToString(again.DNSName))
	}
	// Its interface, in its group, requester-managed.
	nis := must[*sdkec2.DescribeNetworkInterfacesOutput](t)(e.ec2c.DescribeNetworkInterfaces(ctx, &sdkec2.DescribeNetworkInterfacesInput{
		Filters: []ec2types.Filter{{Name: aws.String("description"), Values: []string{"ELB web"}}}}))
	if len(nis.NetworkInterfaces) != 1 || aws.ToString(nis.NetworkInterfaces[0].RequesterId) != ec2.RequesterELB ||
		aws.ToString(nis.NetworkInterfaces[0].Groups[0].GroupId) != def {
		t.Fatalf("interfaces %+v", nis.NetworkInterfaces)
	}
	for range 2 {
		must[*sdk.DeleteLoadBalancerOutput](t)(e.elb.DeleteLoadBalancer(ctx, &sdk.DeleteLoadBalancerInput{LoadBalancerName: aws.String("web")}))
	}
	_, err := e.elb.DescribeLoadBalancers(ctx, &sdk.DescribeLoadBalancersInput{LoadBalancerNames: []string{"web"}})
	if code(err) != "LoadBalancerNotFound" || !strings.Contains(err.Error(), "There is no ACTIVE Load Balancer named 'web'") {
		t.Fatalf("describe a deleted one: %v", err)
	}
	if ok, _ := e.st.Exists(ctx, e.v2svc.PortKey(int(port))); ok {
		t.Fatal("the port is still claimed")
	}
	nis = must[*sdkec2.DescribeNetworkInterfacesOutput](t)(e.ec2c.DescribeNetworkInterfaces(ctx, &sdkec2.DescribeNetworkInterfacesInput{
		Filters: []ec2types.Filter{{Name: aws.String("description"), Values: []string{"ELB web"}}}}))
	if len(nis.NetworkInterfaces) != 0 {
		t.Fatalf("interfaces left: %d", len(nis.NetworkInterfaces))
	}
}

// TestPagination: pages of PageSize in name order, a bad marker and page
// size refused.
func TestPagination(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, n := range []string{"c", "a", "b"} {
		e.create(t, n, httpListener(freePort(t), 80))
	}
	var names []string
	var marker *string
	for pages := 0; ; pages++ {
		out := must[*sdk.DescribeLoadBalancersOutput](t)(e.elb.DescribeLoadBalancers(ctx, &sdk.DescribeLoadBalancersInput{PageSize: aws.Int32(2), Marker: marker}))
		for _, d := range out.LoadBalancerDescriptions {
			names = append(names, aws.ToString(d.LoadBalancerName))
		}
		if marker = out.NextMarker; marker == nil || pages > 3 {
			break
		}
	}
	if !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Fatalf("pages %v", names)
	}
	limits := must[*sdk.DescribeAccountLimitsOutput](t)(e.elb.DescribeAccountLimits(ctx, &sdk.DescribeAccountLimitsInput{PageSize: aws.Int32(2)}))
	if len(limits.Limits) != 2 || aws.ToString(limits.Limits[1].Name) != "classic-load-balancers" || aws.ToString(limits.Limits[1].Max) != "20" || limits.NextMarker == nil {
		t.Fatalf("limits %+v", limits)
	}
	for _, in := range []*sdk.DescribeLoadBalancersInput{{PageSize: aws.Int32(401)}, {Marker: aws.String("%%not a marker")}} {
		if _, err := e.elb.DescribeLoadBalancers(ctx, in); code(err) != "ValidationError" {
			t.Errorf("%+v: %v", in, err)
		}
	}
}

// TestBadInput: each refused call answers AWS's code, and writes nothing:
// no load balancer appears, its settings and claimed ports stay.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	port := freePort(t)
	e.create(t, "web", httpListener(port, 80))
	albPort := freePort(t)
	// An application load balancer holding a port.
	subs := must[[]string](t)(e.ec2.DefaultSubnets(ctx))
	alb := must[*sdkv2.CreateLoadBalancerOutput](t)(e.elbv2.CreateLoadBalancer(ctx, &sdkv2.CreateLoadBalancerInput{Name: aws.String("alb"), Subnets: subs[:2]}))
	tg := must[*sdkv2.CreateTargetGroupOutput](t)(e.elbv2.CreateTargetGroup(ctx, &sdkv2.CreateTargetGroupInput{Name: aws.String("tg"),
		Protocol: typesv2.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: alb.LoadBalancers[0].VpcId}))
	forward := []typesv2.Action{{Type: typesv2.ActionTypeEnumForward, TargetGroupArn: tg.TargetGroups[0].TargetGroupArn}}
	must[*sdkv2.CreateListenerOutput](t)(e.elbv2.CreateListener(ctx, &sdkv2.CreateListenerInput{LoadBalancerArn: alb.LoadBalancers[0].LoadBalancerArn,
		Protocol: typesv2.ProtocolEnumHttp, Port: aws.Int32(albPort), DefaultActions: forward}))
	create := func(mod func(*sdk.CreateLoadBalancerInput)) func() error {
		return func() error {
			in := &sdk.CreateLoadBalancerInput{LoadBalancerName: aws.String("new"), Listeners: []types.Listener{httpListener(freePort(t), 80)},
				AvailabilityZones: []string{testRegion + "a"}}
			mod(in)
			_, err := e.elb.CreateLoadBalancer(ctx, in)
			return err
		}
	}
	for _, tc := range []struct {
		name, code, says string
		call             func() error
	}{
		{"HTTPS listener without a certificate", "ValidationError", "Secure Listeners need to specify a SSLCertificateId", create(func(in *sdk.CreateLoadBalancerInput) {
			in.Listeners[0].Protocol = aws.String("HTTPS")
		})},
		{"SSL instance protocol under HTTP", "InvalidConfigurationRequest", "not compatible", create(func(in *sdk.CreateLoadBalancerInput) {
			in.Listeners[0].InstanceProtocol = aws.String("SSL")
		})},
		{"layers differ", "InvalidConfigurationRequest", "not compatible", create(func(in *sdk.CreateLoadBalancerInput) {
			in.Listeners[0].InstanceProtocol = aws.String("TCP")
		})},
		{"unknown protocol", "UnsupportedProtocol", "", create(func(in *sdk.CreateLoadBalancerInput) { in.Listeners[0].Protocol = aws.String("UDP") })},
		{"port AWS refuses", "ValidationError", "LoadBalancerPort 81", create(func(in *sdk.CreateLoadBalancerInput) { in.Listeners[0].LoadBalancerPort = 81 })},
		{"instance port 0", "ValidationError", "", create(func(in *sdk.CreateLoadBalancerInput) { in.Listeners[0].InstancePort = aws.Int32(0) })},
		{"one port twice", "DuplicateListener", "", create(func(in *sdk.CreateLoadBalancerInput) { in.Listeners = append(in.Listeners, in.Listeners[0]) })},
		{"a Classic load balancer's port", "DuplicateListener", "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/web", create(func(in *sdk.CreateLoadBalancerInput) {
			in.Listeners[0].LoadBalancerPort = port
		})},
		{"an application load balancer's port", "DuplicateListener", "loadbalancer/app/alb/", create(func(in *sdk.CreateLoadBalancerInput) {
			in.Listeners[0].LoadBalancerPort = albPort
		})},
		{"subnets and zones", "ValidationError", "", create(func(in *sdk.CreateLoadBalancerInput) { in.Subnets = subs[:1] })},
		{"neither", "ValidationError", "", create(func(in *sdk.CreateLoadBalancerInput) { in.AvailabilityZones = nil })},
		{"unknown zone", "ValidationError", "", create(func(in *sdk.CreateLoadBalancerInput) { in.AvailabilityZones = []string{"mars-1a"} })},
		{"unknown subnet", "SubnetNotFound", "", create(func(in *sdk.CreateLoadBalancerInput) {
			in.AvailabilityZones, in.Subnets = nil, []string{"subnet-00000000000000000"}
		})},
		{"unknown group", "InvalidSecurityGroup", "", create(func(in *sdk.CreateLoadBalancerInput) { in.SecurityGroups = []string{"sg-00000000000000000"} })},
		{"bad scheme", "InvalidScheme", "", create(func(in *sdk.CreateLoadBalancerInput) { in.Scheme = aws.String("public") })},
		{"bad name", "ValidationError", "", create(func(in *sdk.CreateLoadBalancerInput) { in.LoadBalancerName = aws.String("-bad") })},
		{"duplicate tag keys", "DuplicateTagKeys", "", create(func(in *sdk.CreateLoadBalancerInput) {
			in.Tags = []types.Tag{{Key: aws.String("k")}, {Key: aws.String("k")}}
		})},
		{"same name, other settings", "DuplicateLoadBalancerName", "", create(func(in *sdk.CreateLoadBalancerInput) { in.LoadBalancerName = aws.String("web") })},
		{"ALB listener on a Classic port", "DuplicateListener", "loadbalancer/web", func() error {
			_, err := e.elbv2.CreateListener(ctx, &sdkv2.CreateListenerInput{LoadBalancerArn: alb.LoadBalancers[0].LoadBalancerArn,
				Protocol: typesv2.ProtocolEnumHttp, Port: aws.Int32(port), DefaultActions: forward})
			return err
		}},
		{"Classic listener on an ALB port", "DuplicateListener", "", func() error {
			_, err := e.elb.CreateLoadBalancerListeners(ctx, &sdk.CreateLoadBalancerListenersInput{LoadBalancerName: aws.String("web"),
				Listeners: []types.Listener{httpListener(albPort, 80)}})
			return err
		}},
		{"listener differing on its port", "DuplicateListener", "different InstancePort", func() error {
			_, err := e.elb.CreateLoadBalancerListeners(ctx, &sdk.CreateLoadBalancerListenersInput{LoadBalancerName: aws.String("web"),
				Listeners: []types.Listener{httpListener(port, 81)}})
			return err
		}},
		{"unknown load balancer", "LoadBalancerNotFound", "There is no ACTIVE Load Balancer named 'nope'", func() error {
			_, err := e.elb.ConfigureHealthCheck(ctx, &sdk.ConfigureHealthCheckInput{LoadBalancerName: aws.String("nope"),
				HealthCheck: &types.HealthCheck{Target: aws.String("TCP:80"), Interval: aws.Int32(30), Timeout: aws.Int32(5), HealthyThreshold: aws.Int32(2), UnhealthyThreshold: aws.Int32(2)}})
			return err
		}},
		{"unknown instance", "InvalidInstance", "i-0000000000000000f", func() error {
			_, err := e.elb.RegisterInstancesWithLoadBalancer(ctx, &sdk.RegisterInstancesWithLoadBalancerInput{LoadBalancerName: aws.String("web"),
				Instances: []types.Instance{{InstanceId: aws.String("i-0000000000000000f")}}})
			return err
		}},
		{"deregister one not registered", "InvalidInstance", "", func() error {
			_, err := e.elb.DeregisterInstancesFromLoadBalancer(ctx, &sdk.DeregisterInstancesFromLoadBalancerInput{LoadBalancerName: aws.String("web"),
				Instances: []types.Instance{{InstanceId: aws.String("i-0000000000000000f")}}})
			return err
		}},
		{"health of one not registered", "InvalidInstance", "", func() error {
			_, err := e.elb.DescribeInstanceHealth(ctx, &sdk.DescribeInstanceHealthInput{LoadBalancerName: aws.String("web"),
				Instances: []types.Instance{{InstanceId: aws.String("i-0000000000000000f")}}})
			return err
		}},
		{"detach the last subnet", "InvalidConfigurationRequest", "", func() error {
			_, err := e.elb.DetachLoadBalancerFromSubnets(ctx, &sdk.DetachLoadBalancerFromSubnetsInput{LoadBalancerName: aws.String("web"), Subnets: subs[:1]})
			return err
		}},
		{"a group of no VPC", "InvalidSecurityGroup", "", func() error {
			_, err := e.elb.ApplySecurityGroupsToLoadBalancer(ctx, &sdk.ApplySecurityGroupsToLoadBalancerInput{LoadBalancerName: aws.String("web"), SecurityGroups: []string{"sg-1"}})
			return err
		}},
		{"unknown additional attribute", "LoadBalancerAttributeNotFound", "", func() error {
			_, err := e.elb.ModifyLoadBalancerAttributes(ctx, &sdk.ModifyLoadBalancerAttributesInput{LoadBalancerName: aws.String("web"),
				LoadBalancerAttributes: &types.LoadBalancerAttributes{AdditionalAttributes: []types.AdditionalAttribute{{Key: aws.String("x.y"), Value: aws.String("1")}}}})
			return err
		}},
		{"idle timeout 0", "ValidationError", "", func() error {
			_, err := e.elb.ModifyLoadBalancerAttributes(ctx, &sdk.ModifyLoadBalancerAttributesInput{LoadBalancerName: aws.String("web"),
				LoadBalancerAttributes: &types.LoadBalancerAttributes{ConnectionSettings: &types.ConnectionSettings{IdleTimeout: aws.Int32(0)}}})
			return err
		}},
		{"access log without a bucket", "InvalidConfigurationRequest", "", func() error {
			_, err := e.elb.ModifyLoadBalancerAttributes(ctx, &sdk.ModifyLoadBalancerAttributesInput{LoadBalancerName: aws.String("web"),
				LoadBalancerAttributes: &types.LoadBalancerAttributes{AccessLog: &types.AccessLog{Enabled: true}}})
			return err
		}},
		{"eleven tags", "TooManyTags", "", func() error {
			var tags []types.Tag
			for i := range 11 {
				tags = append(tags, types.Tag{Key: aws.String(fmt.Sprint("k", i))})
			}
			_, err := e.elb.AddTags(ctx, &sdk.AddTagsInput{LoadBalancerNames: []string{"web"}, Tags: tags})
			return err
		}},
		{"tags of an unknown one among known", "LoadBalancerNotFound", "", func() error {
			_, err := e.elb.AddTags(ctx, &sdk.AddTagsInput{LoadBalancerNames: []string{"web", "nope"}, Tags: []types.Tag{{Key: aws.String("k")}}})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if code(err) != tc.code || !strings.Contains(fmt.Sprint(err), tc.says) {
				t.Fatalf("error = %v, want %s saying %q", err, tc.code, tc.says)
			}
		})
	}
	// Nothing was written.
	all := must[*sdk.DescribeLoadBalancersOutput](t)(e.elb.DescribeLoadBalancers(ctx, &sdk.DescribeLoadBalancersInput{}))
	if len(all.LoadBalancerDescriptions) != 1 {
		t.Fatalf("load balancers %d", len(all.LoadBalancerDescriptions))
	}
	d := all.LoadBalancerDescriptions[0]
	if len(d.ListenerDescriptions) != 1 || len(d.Instances) != 0 || len(d.Subnets) != 1 {
		t.Fatalf("web changed: %+v", d)
	}
	tags := must[*sdk.DescribeTagsOutput](t)(e.elb.DescribeTags(ctx, &sdk.DescribeTagsInput{LoadBalancerNames: []string{"web"}}))
	if len(tags.TagDescriptions[0].Tags) != 0 {
		t.Fatalf("tags written: %+v", tags.TagDescriptions[0].Tags)
	}
	keys, _ := e.st.Keys(ctx, strings.TrimSuffix(e.v2svc.PortKey(0), "0"))
	if len(keys) != 2 {
		t.Fatalf("claimed ports %v", keys)
	}
}

// TestHealthCheckValidation: AWS's bounds on a health check.
func TestHealthCheckValidation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create(t, "web", httpListener(freePort(t), 80))
	hc := func(target string, interval, timeout, healthy, unhealthy int32) *types.HealthCheck {
		return &types.HealthCheck{Target: aws.String(target), Interval: aws.Int32(interval), Timeout: aws.Int32(timeout),
			HealthyThreshold: aws.Int32(healthy), UnhealthyThreshold: aws.Int32(unhealthy)}
	}
	for _, tc := range []struct {
		hc   *types.HealthCheck
		code string
		want string
	}{
		{hc("http:8080/health", 10, 5, 3, 2), "", "HTTP:8080/health"},
		{hc("https:443/", 10, 5, 3, 2), "", "HTTPS:443/"},
		{hc("SSL:443", 10, 5, 3, 2), "", "SSL:443"},
		{hc("TCP:80", 5, 2, 2, 10), "", "TCP:80"},
		{hc("HTTP:80", 10, 5, 3, 2), "ValidationError", ""},
		{hc("TCP:80/x", 10, 5, 3, 2), "ValidationError", ""},
		{hc("TCP:0", 10, 5, 3, 2), "ValidationError", ""},
		{hc("TCP80", 10, 5, 3, 2), "ValidationError", ""},
		{hc("HTTPS:443", 10, 5, 3, 2), "ValidationError", ""},
		{hc("SSL:443/x", 10, 5, 3, 2), "ValidationError", ""},
		{hc("UDP:53", 10, 5, 3, 2), "ValidationError", ""},
		{hc("TCP:80", 4, 2, 3, 2), "ValidationError", ""},
		{hc("TCP:80", 10, 1, 3, 2), "ValidationError", ""},
		{hc("TCP:80", 10, 10, 3, 2), "ValidationError", ""},
		{hc("TCP:80", 10, 5, 11, 2), "ValidationError", ""},
		{hc("TCP:80", 10, 5, 3, 1), "ValidationError", ""},
	} {
		out, err := e.elb.ConfigureHealthCheck(ctx, &sdk.ConfigureHealthCheckInput{LoadBalancerName: aws.String("web"), HealthCheck: tc.hc})
		if code(err) != tc.code {
			t.Errorf("%s %d/%d: %v, want %q", aws.ToString(tc.hc.Target), aws.ToInt32(tc.hc.Interval), aws.ToInt32(tc.hc.Timeout), err, tc.code)
			continue
		}
		if err == nil && aws.ToString(out.HealthCheck.Target) != tc.want {
			t.Errorf("target %q, want %q", aws.ToString(out.HealthCheck.Target), tc.want)
		}
	}
	if h := e.describe(t, "web").HealthCheck; aws.ToString(h.Target) != "TCP:80" || aws.ToInt32(h.UnhealthyThreshold) != 10 {
		t.Fatalf("stored %+v", h)
	}
}

// TestTagsAttributesAndNetwork: tags, attributes, security groups,
// subnets and zones change, each as asked.
func TestTagsAttributesAndNetwork(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create(t, "web", httpListener(freePort(t), 80))
	must[*sdk.AddTagsOutput](t)(e.elb.AddTags(ctx, &sdk.AddTagsInput{LoadBalancerNames: []string{"web"},
		Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("b"), Value: aws.String("2")}}}))
	must[*sdk.RemoveTagsOutput](t)(e.elb.RemoveTags(ctx, &sdk.RemoveTagsInput{LoadBalancerNames: []string{"web"}, Tags: []types.TagKeyOnly{{Key: aws.String("a")}}}))
	tags := must[*sdk.DescribeTagsOutput](t)(e.elb.DescribeTags(ctx, &sdk.DescribeTagsInput{LoadBalancerNames: []string{"web"}}))
	if ts := tags.TagDescriptions[0].Tags; len(ts) != 1 || aws.ToString(ts[0].Key) != "b" || aws.ToString(ts[0].Value) != "2" {
		t.Fatalf("tags %+v", ts)
	}

	attrs := must[*sdk.DescribeLoadBalancerAttributesOutput](t)(e.elb.DescribeLoadBalancerAttributes(ctx, &sdk.DescribeLoadBalancerAttributesInput{LoadBalancerName: aws.String("web")}))
	if a := attrs.LoadBalancerAttributes; a.ConnectionDraining.Enabled || aws.ToInt32(a.ConnectionDraining.Timeout) != 300 ||
		aws.ToInt32(a.ConnectionSettings.IdleTimeout) != 60 || a.CrossZoneLoadBalancing.Enabled || a.AccessLog.Enabled {
		t.Fatalf("default attributes %+v", a)
	}
	must[*sdk.ModifyLoadBalancerAttributesOutput](t)(e.elb.ModifyLoadBalancerAttributes(ctx, &sdk.ModifyLoadBalancerAttributesInput{LoadBalancerName: aws.String("web"),
		LoadBalancerAttributes: &types.LoadBalancerAttributes{ConnectionDraining: &types.ConnectionDraining{Enabled: true, Timeout: aws.Int32(20)},
			ConnectionSettings: &types.ConnectionSettings{IdleTimeout: aws.Int32(30)}, CrossZoneLoadBalancing: &types.CrossZoneLoadBalancing{Enabled: true},
			AccessLog:            &types.AccessLog{Enabled: true, S3BucketName: aws.String("logs"), EmitInterval: aws.Int32(5)},
			AdditionalAttributes: []types.AdditionalAttribute{{Key: aws.String("elb.http.desyncmitigationmode"), Value: aws.String("strictest")}}}}))
	attrs = must[*sdk.DescribeLoadBalancerAttributesOutput](t)(e.elb.DescribeLoadBalancerAttributes(ctx, &sdk.DescribeLoadBalancerAttributesInput{LoadBalancerName: aws.String("web")}))
	if a := attrs.LoadBalancerAttributes; !a.ConnectionDraining.Enabled || aws.ToInt32(a.ConnectionDraining.Timeout) != 20 ||
		aws.ToInt32(a.ConnectionSettings.IdleTimeout) != 30 || !a.CrossZoneLoadBalancing.Enabled || aws.ToString(a.AccessLog.S3BucketName) != "logs" ||
		aws.ToInt32(a.AccessLog.EmitInterval) != 5 || len(a.AdditionalAttributes) != 1 || aws.ToString(a.AdditionalAttributes[0].Value) != "strictest" {
		t.Fatalf("attributes %+v", a)
	}

	// A new group: the interfaces are made again in it.
	vpc := aws.ToString(e.describe(t, "web").VPCId)
	sg := must[*sdkec2.CreateSecurityGroupOutput](t)(e.ec2c.CreateSecurityGroup(ctx, &sdkec2.CreateSecurityGroupInput{GroupName: aws.String("lb"),
		Description: aws.String("lb"), VpcId: aws.String(vpc)}))
	applied := must[*sdk.ApplySecurityGroupsToLoadBalancerOutput](t)(e.elb.ApplySecurityGroupsToLoadBalancer(ctx, &sdk.ApplySecurityGroupsToLoadBalancerInput{
		LoadBalancerName: aws.String("web"), SecurityGroups: []string{aws.ToString(sg.GroupId)}}))
	if !slices.Equal(applied.SecurityGroups, []string{aws.ToString(sg.GroupId)}) {
		t.Fatalf("groups %v", applied.SecurityGroups)
	}
	interfaces := func() []ec2types.NetworkInterface {
		return must[*sdkec2.DescribeNetworkInterfacesOutput](t)(e.ec2c.DescribeNetworkInterfaces(ctx, &sdkec2.DescribeNetworkInterfacesInput{
			Filters: []ec2types.Filter{{Name: aws.String("description"), Values: []string{"ELB web"}}}})).NetworkInterfaces
	}
	if nis := interfaces(); len(nis) != 1 || aws.ToString(nis[0].Groups[0].GroupId) != aws.ToString(sg.GroupId) {
		t.Fatalf("interfaces %+v", nis)
	}
	// Zones and subnets.
	subs := must[[]string](t)(e.ec2.DefaultSubnets(ctx))
	zones := must[*sdk.EnableAvailabilityZonesForLoadBalancerOutput](t)(e.elb.EnableAvailabilityZonesForLoadBalancer(ctx, &sdk.EnableAvailabilityZonesForLoadBalancerInput{
		LoadBalancerName: aws.String("web"), AvailabilityZones: []string{testRegion + "b"}}))
	if !slices.Equal(zones.AvailabilityZones, []string{testRegion + "a", testRegion + "b"}) || len(interfaces()) != 2 {
		t.Fatalf("zones %v, %d interfaces", zones.AvailabilityZones, len(interfaces()))
	}
	detached := must[*sdk.DetachLoadBalancerFromSubnetsOutput](t)(e.elb.DetachLoadBalancerFromSubnets(ctx, &sdk.DetachLoadBalancerFromSubnetsInput{
		LoadBalancerName: aws.String("web"), Subnets: subs[:1]}))
	if !slices.Equal(detached.Subnets, subs[1:2]) || len(interfaces()) != 1 {
		t.Fatalf("subnets %v, %d interfaces", detached.Subnets, len(interfaces()))
	}
	attached := must[*sdk.AttachLoadBalancerToSubnetsOutput](t)(e.elb.AttachLoadBalancerToSubnets(ctx, &sdk.AttachLoadBalancerToSubnetsInput{
		LoadBalancerName: aws.String("web"), Subnets: subs[:1]}))
	if !slices.Equal(attached.Subnets, subs[:2]) || len(interfaces()) != 2 {
		t.Fatalf("subnets %v, %d interfaces", attached.Subnets, len(interfaces()))
	}
	disabled := must[*sdk.DisableAvailabilityZonesForLoadBalancerOutput](t)(e.elb.DisableAvailabilityZonesForLoadBalancer(ctx, &sdk.DisableAvailabilityZonesForLoadBalancerInput{
		LoadBalancerName: aws.String("web"), AvailabilityZones: []string{testRegion + "b"}}))
	if !slices.Equal(disabled.AvailabilityZones, []string{testRegion + "a"}) || len(interfaces()) != 1 {
		t.Fatalf("zones %v", disabled.AvailabilityZones)
	}
}
