package ecs

import (
	"context"
	"testing"

	"github.com/berth-dev/berth/internal/api"
)

// TestAccountSettings: account defaults and a principal's own values,
// listed as set or as effective; containerInsights is the default of new
// clusters; the settings AWS no longer lets change, bad names and values,
// and another principal's settings for a non-root caller are refused.
func TestAccountSettings(t *testing.T) {
	e := newEnv(t)
	alice := "arn:aws:iam::" + testAccount + ":user/alice"
	must[*SettingOutput](t)(e.svc.PutAccountSettingDefault(e.ctx, &PutAccountSettingInput{Name: "containerInsights", Value: "enhanced"}))
	must[*SettingOutput](t)(e.svc.PutAccountSetting(e.ctx, &PutAccountSettingInput{Name: "awsvpcTrunking", Value: "enabled", PrincipalArn: alice}))
	e.cluster("insights")
	c := must[*DescribeClustersOutput](t)(e.svc.DescribeClusters(e.ctx, &DescribeClustersInput{Clusters: []string{"insights"}, Include: []string{"SETTINGS"}}))
	if got := c.Clusters[0].Settings; len(got) != 1 || got[0].Value != "enhanced" {
		t.Fatalf("new cluster settings %+v, want containerInsights enhanced from the account default", got)
	}
	own := must[*ListAccountSettingsOutput](t)(e.svc.ListAccountSettings(e.ctx, &ListAccountSettingsInput{PrincipalArn: alice}))
	if len(own.Settings) != 1 || own.Settings[0].Name != "awsvpcTrunking" || own.Settings[0].Value != "enabled" {
		t.Fatalf("alice's own settings %+v", own.Settings)
	}
	eff := must[*ListAccountSettingsOutput](t)(e.svc.ListAccountSettings(e.ctx, &ListAccountSettingsInput{PrincipalArn: alice, EffectiveSettings: true, MaxResults: ptr(10)}))
	values := map[string]string{}
	for _, st := range eff.Settings {
		values[st.Name] = st.Value
	}
	if values["awsvpcTrunking"] != "enabled" || values["containerInsights"] != "enhanced" || values["taskLongArnFormat"] != "enabled" || eff.NextToken != nil || len(values) != 9 {
		t.Fatalf("alice's effective settings %v (next %v)", values, eff.NextToken)
	}
	must[*SettingOutput](t)(e.svc.DeleteAccountSetting(e.ctx, &DeleteAccountSettingInput{Name: "awsvpcTrunking", PrincipalArn: alice}))
	eff = must[*ListAccountSettingsOutput](t)(e.svc.ListAccountSettings(e.ctx, &ListAccountSettingsInput{PrincipalArn: alice, Name: "awsvpcTrunking", EffectiveSettings: true}))
	if len(eff.Settings) != 1 || eff.Settings[0].Value != "disabled" {
		t.Fatalf("after delete %+v, want AWS's default", eff.Settings)
	}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"long ARNs are always on", func() error {
			_, err := e.svc.PutAccountSetting(e.ctx, &PutAccountSettingInput{Name: "taskLongArnFormat", Value: "disabled"})
			return err
		}},
		{"unknown setting", func() error {
			_, err := e.svc.PutAccountSetting(e.ctx, &PutAccountSettingInput{Name: "speed", Value: "fast"})
			return err
		}},
		{"bad value", func() error {
			_, err := e.svc.PutAccountSetting(e.ctx, &PutAccountSettingInput{Name: "containerInsights", Value: "maybe"})
			return err
		}},
		{"account-wide only", func() error {
			_, err := e.svc.PutAccountSetting(e.ctx, &PutAccountSettingInput{Name: "fargateTaskRetirementWaitPeriod", Value: "14", PrincipalArn: alice})
			return err
		}},
		{"nothing to delete", func() error {
			_, err := e.svc.DeleteAccountSetting(e.ctx, &DeleteAccountSettingInput{Name: "awsvpcTrunking", PrincipalArn: alice})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { e.with(t).rejected("InvalidParameterException", tc.call) })
	}
	// A user may change only its own settings (bob is allowed every ECS
	// action here; the check is ECS's own).
	e.svc.authz = allowAll{}
	bob := api.WithPrincipal(e.ctx, api.Principal{Account: testAccount, ARN: "arn:aws:iam::" + testAccount + ":user/bob"})
	if _, err := e.svc.PutAccountSetting(bob, &PutAccountSettingInput{Name: "awsvpcTrunking", Value: "enabled", PrincipalArn: alice}); errCode(err) != "ClientException" {
		t.Fatalf("bob setting alice's setting: %v", err)
	}
	mine := must[*SettingOutput](t)(e.svc.PutAccountSetting(bob, &PutAccountSettingInput{Name: "awsvpcTrunking", Value: "enabled"}))
	if mine.Setting.PrincipalArn != "arn:aws:iam::"+testAccount+":user/bob" {
		t.Fatalf("bob's own setting %+v", mine.Setting)
	}
}

// allowAll is an authorizer that lets every caller do everything.
type allowAll struct{}

func (allowAll) Authorize(context.Context, api.Principal, string, string) error { return nil }
