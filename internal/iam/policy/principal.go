package policy

import (
	"encoding/json"
	"fmt"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"strings"
)

// Principal is who makes a request, as the authenticator resolved it.
type Principal struct {
	// ARN is the caller's own ARN: an IAM user, the account root
	// (arn:aws:iam::123456789012:root), or an assumed-role session
	// (arn:aws:sts::123456789012:assumed-role/name/session).
	ARN string
	// Account is the caller's 12-digit account ID.
	Account string
	// RoleARN is the IAM role ARN (with its path) behind an assumed-role
	// session; empty for users and the root. A Principal naming the role
	// matches its sessions.
	RoleARN string
	// Service is set instead of ARN when an AWS service acts as itself,
	// e.g. "ecs-tasks.amazonaws.com" assuming a task role.
	Service string
}

// grant is how a Principal element matched a request's principal. Its
// order matters: a stronger grant wins when several entries match.
type grant uint8

const (
	grantNone grant = iota
	// grantAccount: the element names the caller's account, which
	// delegates to the account's identity policies and grants nothing alone.
	grantAccount
	// grantRole: the element names the caller's role or everyone ("*"), so
	// session policies and permissions boundaries still cap the grant.
	grantRole
	// grantDirect: the element names exactly this user, session or service.
	grantDirect
)

func parsePrincipals(elem string, raw json.RawMessage) (*Principals, *MalformedError) {
	var star string
	if json.Unmarshal(raw, &star) == nil {
		if star != "*" {
			return nil, malformed("Invalid principal in policy: %s must be \"*\" or an object.", elem)
		}
		return &Principals{Any: true}, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || len(m) == 0 {
		return nil, malformed("Invalid principal in policy: %s must be \"*\" or an object such as {\"AWS\": \"arn:aws:iam::123456789012:root\"}.", elem)
	}
	p := &Principals{}
	for _, k := range sortedKeys(m) {
		vals, err := parseStrings(elem+"."+k, m[k])
		if err != nil {
			return nil, err
		}
		if len(vals) == 0 {
			return nil, malformed("Invalid principal in policy: %s %q lists no principals.", elem, k)
		}
		switch k {
		case "AWS":
			for _, v := range vals {
				if !validAWSPrincipal(v) {
					return nil, malformed("Invalid principal in policy: \"AWS\":%q", v)
				}
			}
			p.AWS = vals
		case "Service":
			p.Service = vals
		case "Federated":
			p.Federated = vals
		case "CanonicalUser":
			p.CanonicalUser = vals
		default:
			return nil, malformed("Invalid principal in policy: unknown principal type %q.", k)
		}
	}
	return p, nil
}

// validAWSPrincipal accepts "*", a 12-digit account ID, or an IAM/STS ARN
// without wildcards (AWS allows no partial wildcards in principals).
func validAWSPrincipal(v string) bool {
	if v == "*" || isAccountID(v) {
		return true
	}
	if strings.ContainsAny(v, "*?") {
		return false
	}
	a, err := arn.Parse(v)
	return err == nil && (a.Service == "iam" || a.Service == "sts") && isAccountID(a.AccountID) && a.Resource != ""
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// match returns the strongest grant any entry of p gives principal.
func (p *Principals) match(pr *Principal) grant {
	if p.Any {
		return grantRole
	}
	best := grantNone
	if pr.Service != "" {
		for _, s := range p.Service {
			if s == pr.Service {
				return grantDirect
			}
		}
		return grantNone
	}
	for _, v := range p.AWS {
		g := grantNone
		switch {
		case v == "*":
			g = grantRole
		case pr.ARN != "" && v == pr.ARN:
			g = grantDirect
		case pr.RoleARN != "" && v == pr.RoleARN:
			g = grantRole
		case pr.Account != "" && (v == pr.Account || v == rootARN(pr.Account)):
			g = grantAccount
			if pr.ARN == rootARN(pr.Account) {
				g = grantDirect // the root is the account itself
			}
		}
		if g > best {
			best = g
		}
	}
	return best
}

// excludes reports whether a NotPrincipal element lists every identity the
// request carries. AWS matches NotPrincipal against the caller's ARN, its
// role and its account separately, so a Deny with NotPrincipal spares a
// role session only when the session, the role and the account are listed.
func (p *Principals) excludes(pr *Principal) bool {
	if pr.Service != "" {
		return contains(p.Service, pr.Service)
	}
	if pr.ARN == "" || !contains(p.AWS, pr.ARN) {
		return false
	}
	if pr.RoleARN != "" && !contains(p.AWS, pr.RoleARN) {
		return false
	}
	if pr.Account != "" && pr.ARN != rootARN(pr.Account) &&
		!contains(p.AWS, pr.Account) && !contains(p.AWS, rootARN(pr.Account)) {
		return false
	}
	return true
}

func rootARN(account string) string { return "arn:aws:iam::" + account + ":root" }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// PrincipalFromARN builds a Principal from how a caller is named: an IAM
// user or role ARN, the account root ARN, an assumed-role session ARN, a
// bare account ID (the root), or a service principal such as
// ecs-tasks.amazonaws.com. A session ARN does not carry its role's path,
// so its RoleARN is path-less; set RoleARN from the stored role when the
// role has a path.
func PrincipalFromARN(s string) (Principal, error) {
	if isAccountID(s) {
		return Principal{ARN: rootARN(s), Account: s}, nil
	}
	if !strings.HasPrefix(s, "arn:") {
		if strings.HasSuffix(s, ".amazonaws.com") {
			return Principal{Service: s}, nil
		}
		return Principal{}, fmt.Errorf("principal %q is neither an ARN, an account ID nor a service principal", s)
	}
	a, err := arn.Parse(s)
	if err != nil || !isAccountID(a.AccountID) || a.Resource == "" {
		return Principal{}, fmt.Errorf("principal %q is not an IAM or STS ARN with an account ID", s)
	}
	p := Principal{ARN: s, Account: a.AccountID}
	switch {
	case a.Service == "iam":
		return p, nil
	case a.Service == "sts" && strings.HasPrefix(a.Resource, "assumed-role/"):
		role, _, ok := strings.Cut(strings.TrimPrefix(a.Resource, "assumed-role/"), "/")
		if !ok || role == "" {
			return Principal{}, fmt.Errorf("assumed-role ARN %q has no role and session name", s)
		}
		p.RoleARN = "arn:" + a.Partition + ":iam::" + p.Account + ":role/" + role
		return p, nil
	case a.Service == "sts":
		return p, nil
	}
	return Principal{}, fmt.Errorf("principal %q is not an IAM or STS ARN", s)
}
