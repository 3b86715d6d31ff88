package ecs

import (
	"context"
	"errors"
	"slices"
	"sort"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// Account settings, as ECS keeps them: an account default for each
// setting and, over it, a value for one IAM user or role. The settings
// that change what Berth does do so: containerInsights is the default of
// new clusters; the long ARN formats are always on, as in AWS today.

// accountSetting is one setting's rule: its values and its default.
type accountSetting struct {
	values []string
	def    string
	// defaultOnly settings are set for the account, never per principal.
	defaultOnly bool
	// fixed settings cannot be turned from their default.
	fixed bool
}

var accountSettings = map[string]accountSetting{
	"serviceLongArnFormat":            {values: []string{"enabled", "disabled"}, def: "enabled", fixed: true},
	"taskLongArnFormat":               {values: []string{"enabled", "disabled"}, def: "enabled", fixed: true},
	"containerInstanceLongArnFormat":  {values: []string{"enabled", "disabled"}, def: "enabled", fixed: true},
	"awsvpcTrunking":                  {values: []string{"enabled", "disabled"}, def: "disabled"},
	"containerInsights":               {values: []string{"enabled", "disabled", "enhanced"}, def: "disabled"},
	"fargateTaskRetirementWaitPeriod": {values: []string{"0", "7", "14"}, def: "7", defaultOnly: true},
	"tagResourceAuthorization":        {values: []string{"on", "off"}, def: "on"},
	"guardDutyActivate":               {values: []string{"on", "off"}, def: "off", fixed: true},
	"defaultLogDriverMode":            {values: []string{"blocking", "non-blocking"}, def: "non-blocking", defaultOnly: true},
}

// Setting is ECS's Setting shape.
type Setting struct {
	Name         string `json:"name"`
	Value        string `json:"value"`
	PrincipalArn string `json:"principalArn"`
	Type         string `json:"type,omitempty"`
}

func (k keys) accountSetting(principal, name string) string {
	return k.prefix + "account-setting/" + principal + "/" + name
}
func (k keys) accountSettings() string { return k.prefix + "account-setting/" }

type PutAccountSettingInput struct {
	Name         string `json:"name"`
	Value        string `json:"value"`
	PrincipalArn string `json:"principalArn"`
}

type SettingOutput struct {
	Setting Setting `json:"setting"`
}

// rootARN is the account's root user, whose settings are the defaults.
func (s *Service) rootARN() string { return "arn:aws:iam::" + s.cfg.Account + ":root" }

// checkSetting validates a setting and its value.
func checkSetting(name, value string, asDefault bool) error {
	rule, ok := accountSettings[name]
	if !ok {
		names := make([]string, 0, len(accountSettings))
		for n := range accountSettings {
			names = append(names, n)
		}
		sort.Strings(names)
		return api.InvalidParameter("Invalid setting name %q: valid names are %v.", name, names)
	}
	if !slices.Contains(rule.values, value) {
		return api.InvalidParameter("Invalid value %q for setting %s: valid values are %v.", value, name, rule.values)
	}
	if rule.fixed && value != rule.def {
		return api.InvalidParameter("The %s setting can no longer be changed; it is %s for every account.", name, rule.def)
	}
	if rule.defaultOnly && !asDefault {
		return api.InvalidParameter("The %s setting can be set only as the account default (PutAccountSettingDefault).", name)
	}
	return nil
}

// PutAccountSetting sets a setting for the caller, or for principalArn
// (which only the root user may name), over the account default.
func (s *Service) PutAccountSetting(ctx context.Context, in *PutAccountSettingInput) (*SettingOutput, error) {
	principal, err := s.settingPrincipal(ctx, "PutAccountSetting", in.PrincipalArn)
	if err != nil {
		return nil, err
	}
	if err := checkSetting(in.Name, in.Value, principal == s.rootARN()); err != nil {
		return nil, err
	}
	st := Setting{Name: in.Name, Value: in.Value, PrincipalArn: principal, Type: "user"}
	if err := store.Put(ctx, s.store, s.keys.accountSetting(principal, in.Name), st); err != nil {
		return nil, err
	}
	return &SettingOutput{Setting: st}, nil
}

// PutAccountSettingDefault sets a setting's default for the account.
func (s *Service) PutAccountSettingDefault(ctx context.Context, in *PutAccountSettingInput) (*SettingOutput, error) {
	if in.PrincipalArn != "" {
		return nil, api.InvalidParameter("principalArn is not a parameter of PutAccountSettingDefault.")
	}
	if err := s.authorize(ctx, "PutAccountSettingDefault", "*"); err != nil {
		return nil, err
	}
	if err := checkSetting(in.Name, in.Value, true); err != nil {
		return nil, err
	}
	st := Setting{Name: in.Name, Value: in.Value, PrincipalArn: s.rootARN(), Type: "user"}
	if err := store.Put(ctx, s.store, s.keys.accountSetting(s.rootARN(), in.Name), st); err != nil {
		return nil, err
	}
	return &SettingOutput{Setting: st}, nil
}

type DeleteAccountSettingInput struct {
	Name         string `json:"name"`
	PrincipalArn string `json:"principalArn"`
}

// DeleteAccountSetting removes a principal's value of a setting, which
// then follows the account default again.
func (s *Service) DeleteAccountSetting(ctx context.Context, in *DeleteAccountSettingInput) (*SettingOutput, error) {
	principal, err := s.settingPrincipal(ctx, "DeleteAccountSetting", in.PrincipalArn)
	if err != nil {
		return nil, err
	}
	if _, ok := accountSettings[in.Name]; !ok {
		return nil, checkSetting(in.Name, "", false)
	}
	key := s.keys.accountSetting(principal, in.Name)
	it, err := store.Get[Setting](ctx, s.store, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.InvalidParameter("The account setting %s is not set for %s.", in.Name, principal)
	}
	if err != nil {
		return nil, err
	}
	if err := s.store.Commit(ctx, store.NewTxn().IfRev(key, it.Rev).Delete(key)); err != nil {
		return nil, err
	}
	return &SettingOutput{Setting: it.Value}, nil
}

// settingPrincipal is whose setting a call changes: the caller, or the
// principal it names, which only the root user may do for others.
func (s *Service) settingPrincipal(ctx context.Context, action, principalArn string) (string, error) {
	if err := s.authorize(ctx, action, "*"); err != nil {
		return "", err
	}
	caller := api.PrincipalFrom(ctx)
	if principalArn == "" {
		if caller.Root {
			return s.rootARN(), nil
		}
		return caller.ARN, nil
	}
	if !caller.Root && principalArn != caller.ARN {
		return "", api.ClientError("Only the root user can change the account settings of another principal.")
	}
	return principalArn, nil
}

type ListAccountSettingsInput struct {
	Name              string `json:"name"`
	Value             string `json:"value"`
	PrincipalArn      string `json:"principalArn"`
	EffectiveSettings bool   `json:"effectiveSettings"`
	NextToken         string `json:"nextToken"`
	MaxResults        *int   `json:"maxResults"`
}

type ListAccountSettingsOutput struct {
	Settings  []Setting `json:"settings"`
	NextToken *string   `json:"nextToken,omitempty"`
}

// ListAccountSettings lists the settings of a principal (the caller by
// default): those set for it, or with effectiveSettings every setting as
// it applies (its own value, else the account default, else AWS's).
func (s *Service) ListAccountSettings(ctx context.Context, in *ListAccountSettingsInput) (*ListAccountSettingsOutput, error) {
	principal, err := s.settingPrincipal(ctx, "ListAccountSettings", in.PrincipalArn)
	if err != nil {
		return nil, err
	}
	if in.Name != "" {
		if _, ok := accountSettings[in.Name]; !ok {
			return nil, checkSetting(in.Name, "", false)
		}
	}
	var all []Setting
	for name := range accountSettings {
		if in.Name != "" && name != in.Name {
			continue
		}
		st, found, err := s.effectiveSetting(ctx, principal, name, in.EffectiveSettings)
		if err != nil {
			return nil, err
		}
		if found && (in.Value == "" || st.Value == in.Value) {
			all = append(all, st)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	names := make([]string, len(all))
	for i, st := range all {
		names[i] = st.Name
	}
	var token *string
	if in.NextToken != "" {
		token = &in.NextToken
	}
	page, next, err := api.Paginate(names, token, in.MaxResults, 10)
	if err != nil {
		return nil, err
	}
	out := &ListAccountSettingsOutput{Settings: []Setting{}, NextToken: next}
	for _, st := range all {
		if slices.Contains(page, st.Name) {
			out.Settings = append(out.Settings, st)
		}
	}
	return out, nil
}

// effectiveSetting is a principal's value of a setting: its own, or
// (when effective) the account default, or AWS's default.
func (s *Service) effectiveSetting(ctx context.Context, principal, name string, effective bool) (Setting, bool, error) {
	for _, p := range []string{principal, s.rootARN()} {
		it, err := store.Get[Setting](ctx, s.store, s.keys.accountSetting(p, name))
		if err == nil {
			st := it.Value
			st.PrincipalArn = principal
			return st, true, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return Setting{}, false, err
		}
		if !effective {
			return Setting{}, false, nil
		}
	}
	return Setting{Name: name, Value: accountSettings[name].def, PrincipalArn: principal, Type: "aws_managed"}, true, nil
}
