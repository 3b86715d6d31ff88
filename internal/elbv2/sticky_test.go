package elbv2

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/berth-dev/berth/internal/lb"
)

// TestStickinessAttributes: a target group's stickiness attributes become
// the data plane's sticky sessions.
func TestStickinessAttributes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		protocol string
		attrs    map[string]string
		want     *lb.Stickiness
	}{
		{"off by default", "HTTP", nil, nil},
		{"enabled: lb_cookie for a day", "HTTP", map[string]string{"stickiness.enabled": "true"}, &lb.Stickiness{Type: "lb_cookie", Duration: 24 * time.Hour}},
		{"lb_cookie duration", "HTTP", map[string]string{"stickiness.enabled": "true", "stickiness.lb_cookie.duration_seconds": "60"},
			&lb.Stickiness{Type: "lb_cookie", Duration: time.Minute}},
		{"app_cookie", "HTTP", map[string]string{"stickiness.enabled": "true", "stickiness.type": "app_cookie",
			"stickiness.app_cookie.cookie_name": "SESSION", "stickiness.app_cookie.duration_seconds": "120"},
			&lb.Stickiness{Type: "app_cookie", CookieName: "SESSION", Duration: 2 * time.Minute}},
		{"set but disabled", "HTTP", map[string]string{"stickiness.enabled": "false", "stickiness.type": "app_cookie"}, nil},
		{"network: source_ip", "TCP", map[string]string{"stickiness.enabled": "true"}, &lb.Stickiness{Type: "source_ip"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := stickiness(tgRecord{Protocol: tc.protocol, Attributes: tc.attrs})
			if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
				t.Fatalf("stickiness %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestStickySessionsThroughTheAPI: with stickiness.enabled a client with
// a cookie jar stays on one target; a forward action's target group
// stickiness is kept and shown, and refused without its duration.
func TestStickySessionsThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, b := backend(t, "a"), backend(t, "b")
	url, listener, tg := e.alb(t, a, b)
	_, pa := hostPort(t, a)
	_, pb := hostPort(t, b)
	waitFor(t, func() bool { h := e.health(t, tg); return h[pa] == "healthy/" && h[pb] == "healthy/" })
	must[*sdk.ModifyTargetGroupAttributesOutput](t)(e.elb.ModifyTargetGroupAttributes(ctx, &sdk.ModifyTargetGroupAttributesInput{TargetGroupArn: &tg,
		Attributes: []types.TargetGroupAttribute{{Key: aws.String("stickiness.enabled"), Value: aws.String("true")},
			{Key: aws.String("stickiness.lb_cookie.duration_seconds"), Value: aws.String("300")}}}))
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	// The data plane takes the change within its next pass.
	waitFor(t, func() bool {
		_, _, h := get(t, &http.Client{}, url+"/")
		return len(h.Values("Set-Cookie")) > 0
	})
	_, first, _ := get(t, c, url+"/")
	for range 8 {
		if _, name, _ := get(t, c, url+"/"); name != first {
			t.Fatalf("a client bound to %s was sent to %s", first, name)
		}
	}

	vpc := aws.ToString(must[*sdk.DescribeTargetGroupsOutput](t)(e.elb.DescribeTargetGroups(ctx, &sdk.DescribeTargetGroupsInput{TargetGroupArns: []string{tg}})).TargetGroups[0].VpcId)
	other := aws.ToString(must[*sdk.CreateTargetGroupOutput](t)(e.elb.CreateTargetGroup(ctx, &sdk.CreateTargetGroupInput{Name: aws.String("other"), TargetType: types.TargetTypeEnumIp,
		Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: &vpc})).TargetGroups[0].TargetGroupArn)
	forward := func(st *types.TargetGroupStickinessConfig) error {
		_, err := e.elb.ModifyListener(ctx, &sdk.ModifyListenerInput{ListenerArn: &listener, DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward,
			ForwardConfig: &types.ForwardActionConfig{TargetGroups: []types.TargetGroupTuple{{TargetGroupArn: &tg, Weight: aws.Int32(1)}, {TargetGroupArn: &other, Weight: aws.Int32(1)}},
				TargetGroupStickinessConfig: st}}}})
		return err
	}
	wantCode(t, forward(&types.TargetGroupStickinessConfig{Enabled: aws.Bool(true)}), "ValidationError")
	wantCode(t, forward(&types.TargetGroupStickinessConfig{Enabled: aws.Bool(true), DurationSeconds: aws.Int32(604801)}), "ValidationError")
	if err := forward(&types.TargetGroupStickinessConfig{Enabled: aws.Bool(true), DurationSeconds: aws.Int32(30)}); err != nil {
		t.Fatal(err)
	}
	l := must[*sdk.DescribeListenersOutput](t)(e.elb.DescribeListeners(ctx, &sdk.DescribeListenersInput{ListenerArns: []string{listener}})).Listeners[0]
	if st := l.DefaultActions[0].ForwardConfig.TargetGroupStickinessConfig; st == nil || !aws.ToBool(st.Enabled) || aws.ToInt32(st.DurationSeconds) != 30 {
		t.Fatalf("target group stickiness %+v", st)
	}
}

// TestSlowStartAttribute: slow_start.duration_seconds is the data plane's
// slow start; a network group has none.
func TestSlowStartAttribute(t *testing.T) {
	for _, tc := range []struct {
		protocol string
		attrs    map[string]string
		want     time.Duration
	}{
		{"HTTP", nil, 0},
		{"HTTP", map[string]string{"slow_start.duration_seconds": "30"}, 30 * time.Second},
		{"TCP", nil, 0},
	} {
		if got := slowStart(tgRecord{Protocol: tc.protocol, Attributes: tc.attrs}); got != tc.want {
			t.Errorf("%s %v: slow start %v, want %v", tc.protocol, tc.attrs, got, tc.want)
		}
	}
}
