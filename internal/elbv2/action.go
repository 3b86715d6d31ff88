package elbv2

import (
	"regexp"
	"slices"
	"strings"

	"github.com/berth-dev/berth/internal/api"
)

// Action is ELBv2's Action shape, as given and as described.
type Action struct {
	Type                string
	TargetGroupArn      string               `xml:",omitempty" json:",omitempty"`
	Order               *int                 `xml:",omitempty" json:",omitempty"`
	RedirectConfig      *RedirectConfig      `xml:",omitempty" json:",omitempty"`
	FixedResponseConfig *FixedResponseConfig `xml:",omitempty" json:",omitempty"`
	ForwardConfig       *ForwardConfig       `xml:",omitempty" json:",omitempty"`
}

type ForwardConfig struct {
	TargetGroups                api.Members[TargetGroupTuple]
	TargetGroupStickinessConfig *StickinessConfig `xml:",omitempty" json:",omitempty"`
}

type TargetGroupTuple struct {
	TargetGroupArn string
	Weight         *int `xml:",omitempty" json:",omitempty"`
}

type StickinessConfig struct {
	Enabled         *bool
	DurationSeconds *int `xml:",omitempty" json:",omitempty"`
}

type RedirectConfig struct {
	Protocol   string `xml:",omitempty" json:",omitempty"`
	Port       string `xml:",omitempty" json:",omitempty"`
	Host       string `xml:",omitempty" json:",omitempty"`
	Path       string `xml:",omitempty" json:",omitempty"`
	Query      string `xml:",omitempty" json:",omitempty"`
	StatusCode string
}

type FixedResponseConfig struct {
	MessageBody string `xml:",omitempty" json:",omitempty"`
	StatusCode  string
	ContentType string `xml:",omitempty" json:",omitempty"`
}

var fixedStatus = regexp.MustCompile(`^(2|4|5)\d\d$`)

var fixedContentTypes = []string{"text/plain", "text/css", "text/html", "application/javascript", "application/json"}

// normalizeActions checks a list of actions for a load balancer of lbType
// and returns them as ELBv2 describes them: in order, with a forward to one
// group written both ways (TargetGroupArn and ForwardConfig).
func normalizeActions(field string, acts []Action, lbType string) ([]Action, error) {
	if len(acts) == 0 {
		return nil, check.Null(field)
	}
	if len(acts) > 1 {
		return nil, api.Errorf(codeTooManyActions, "Berth's load balancers take one action per rule (forward, redirect or fixed-response); %d were given", len(acts))
	}
	out := make([]Action, 0, len(acts))
	for i, a := range acts {
		if a.Order != nil {
			if err := check.Range(field+".member."+itoa(i+1)+".member.order", *a.Order, 1, 50000); err != nil {
				return nil, err
			}
		}
		order := i + 1
		if a.Order != nil {
			order = *a.Order
		}
		a.Order = &order
		switch a.Type {
		case "forward":
			if err := normalizeForward(&a, lbType); err != nil {
				return nil, err
			}
		case "redirect", "fixed-response":
			if lbType == typeNetwork {
				return nil, api.Errorf(codeInvalidAction, "Action type '%s' is not valid for a network load balancer; its listeners forward", a.Type)
			}
			if a.TargetGroupArn != "" || a.ForwardConfig != nil {
				return nil, api.Errorf(codeInvalidAction, "A %s action cannot name target groups", a.Type)
			}
			if a.Type == "redirect" {
				if err := checkRedirect(a); err != nil {
					return nil, err
				}
			} else if err := checkFixed(a); err != nil {
				return nil, err
			}
		case "authenticate-oidc", "authenticate-cognito":
			return nil, api.Errorf(codeInvalidAction, "Action type '%s' is not supported by Berth", a.Type)
		default:
			return nil, check.Enum(field+".member."+itoa(i+1)+".member.type", a.Type, "forward", "authenticate-oidc", "authenticate-cognito", "redirect", "fixed-response")
		}
		out = append(out, a)
	}
	return out, nil
}

func normalizeForward(a *Action, lbType string) error {
	if a.RedirectConfig != nil || a.FixedResponseConfig != nil {
		return api.Errorf(codeInvalidAction, "A forward action takes target groups only")
	}
	var tuples []TargetGroupTuple
	if a.ForwardConfig != nil {
		tuples = a.ForwardConfig.TargetGroups
	}
	switch {
	case a.TargetGroupArn == "" && len(tuples) == 0:
		return api.Errorf(codeInvalidAction, "A forward action must name a target group (TargetGroupArn or ForwardConfig)")
	case a.TargetGroupArn != "" && len(tuples) > 0 && (len(tuples) != 1 || tuples[0].TargetGroupArn != a.TargetGroupArn):
		return api.Errorf(codeInvalidAction, "You cannot specify both a target group ARN and a forward config with other target groups")
	case len(tuples) == 0:
		tuples = []TargetGroupTuple{{TargetGroupArn: a.TargetGroupArn}}
	}
	if len(tuples) > 5 {
		return api.Errorf(codeInvalidAction, "A forward action can name at most 5 target groups")
	}
	if lbType == typeNetwork && len(tuples) > 1 {
		return api.Errorf(codeInvalidAction, "A network load balancer's listener forwards to one target group")
	}
	seen := map[string]bool{}
	for i := range tuples {
		t := &tuples[i]
		if t.TargetGroupArn == "" {
			return api.Errorf(codeInvalidAction, "Each target group of a forward action needs its ARN")
		}
		if seen[t.TargetGroupArn] {
			return api.Errorf(codeInvalidAction, "Target group '%s' is named twice in a forward action", t.TargetGroupArn)
		}
		seen[t.TargetGroupArn] = true
		w := 1
		if t.Weight != nil {
			if *t.Weight < 0 || *t.Weight > 999 {
				return validation("Target group weight '%d' must be from 0 to 999", *t.Weight)
			}
			w = *t.Weight
		}
		t.Weight = &w
	}
	off := false
	sticky := &StickinessConfig{Enabled: &off}
	if a.ForwardConfig != nil && a.ForwardConfig.TargetGroupStickinessConfig != nil {
		st := a.ForwardConfig.TargetGroupStickinessConfig
		if st.Enabled != nil && *st.Enabled {
			if st.DurationSeconds == nil || *st.DurationSeconds < 1 || *st.DurationSeconds > 604800 {
				return validation("Target group stickiness duration must be from 1 to 604800 seconds")
			}
			sticky = st
		}
	}
	a.ForwardConfig = &ForwardConfig{TargetGroups: tuples, TargetGroupStickinessConfig: sticky}
	a.TargetGroupArn = ""
	if len(tuples) == 1 {
		a.TargetGroupArn = tuples[0].TargetGroupArn
	}
	return nil
}

func checkRedirect(a Action) error {
	r := a.RedirectConfig
	if r == nil {
		return api.Errorf(codeInvalidAction, "A redirect action needs a RedirectConfig")
	}
	if err := check.Enum("redirectConfig.statusCode", r.StatusCode, "HTTP_301", "HTTP_302"); err != nil {
		return err
	}
	if r.Protocol != "" && r.Protocol != "#{protocol}" && r.Protocol != "HTTP" && r.Protocol != "HTTPS" {
		return validation("Redirect protocol '%s' must be HTTP, HTTPS or #{protocol}", r.Protocol)
	}
	if r.Path != "" && !strings.HasPrefix(r.Path, "/") {
		return validation("Redirect path '%s' must start with '/'", r.Path)
	}
	keeps := func(v, def string) bool { return v == "" || v == def }
	if keeps(r.Protocol, "#{protocol}") && keeps(r.Port, "#{port}") && keeps(r.Host, "#{host}") && keeps(r.Path, "/#{path}") {
		return api.Errorf(codeInvalidAction, "The redirect must modify at least one of protocol, port, host or path, to avoid a redirect loop")
	}
	return nil
}

func checkFixed(a Action) error {
	f := a.FixedResponseConfig
	if f == nil {
		return api.Errorf(codeInvalidAction, "A fixed-response action needs a FixedResponseConfig")
	}
	if !fixedStatus.MatchString(f.StatusCode) {
		return check.Fail("fixedResponseConfig.statusCode", f.StatusCode, "Member must satisfy regular expression pattern: ^(2|4|5)\\d\\d$")
	}
	if f.ContentType != "" && !slices.Contains(fixedContentTypes, f.ContentType) {
		return validation("Content type '%s' must be one of %s", f.ContentType, strings.Join(fixedContentTypes, ", "))
	}
	if len(f.MessageBody) > 1024 {
		return check.Length("fixedResponseConfig.messageBody", f.MessageBody, 0, 1024)
	}
	return nil
}
