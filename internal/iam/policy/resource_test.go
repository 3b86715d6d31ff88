package policy

import (
	"strings"
	"testing"
)

const repoARN = "arn:aws:ecr:us-east-1:123456789012:repository/app"

// repoPolicy is an ECR repository policy letting principal pull.
func repoPolicy(principal string) string {
	return stmts(`{"Sid":"Pull","Effect":"Allow","Principal":` + principal + `,"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],"Resource":"*"}`)
}

func TestEvaluateResourcePolicies(t *testing.T) {
	pull := func(p Principal) Request {
		return Request{Action: "ecr:BatchGetImage", Resource: repoARN, Principal: p}
	}
	allowPull := stmts(`{"Sid":"Id","Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"*"}`)
	denyPull := stmts(`{"Sid":"IdDeny","Effect":"Deny","Action":"ecr:*","Resource":"*"}`)
	sessionPolicy := stmts(`{"Sid":"Sess","Effect":"Allow","Action":"ecs:*","Resource":"*"}`)
	tests := []struct {
		name     string
		req      Request
		identity []string
		resource []string
		session  []string
		boundary []string
		want     Result
		sid      string
		typ      PolicyType
	}{
		{"user named, no identity policy", pull(user("alice")), nil,
			[]string{repoPolicy(`{"AWS":"arn:aws:iam::123456789012:user/alice"}`)}, nil, nil, Allow, "Pull", ResourcePolicy},
		{"other user named", pull(user("bob")), nil,
			[]string{repoPolicy(`{"AWS":"arn:aws:iam::123456789012:user/alice"}`)}, nil, nil, ImplicitDeny, "", IdentityPolicy},
		{"list of principals", pull(user("bob")), nil,
			[]string{repoPolicy(`{"AWS":["arn:aws:iam::123456789012:user/alice","arn:aws:iam::123456789012:user/bob"]}`)}, nil, nil, Allow, "Pull", ResourcePolicy},
		{"star", pull(user("bob")), nil, []string{repoPolicy(`"*"`)}, nil, nil, Allow, "Pull", ResourcePolicy},
		{"aws star", pull(user("bob")), nil, []string{repoPolicy(`{"AWS":"*"}`)}, nil, nil, Allow, "Pull", ResourcePolicy},
		{"account id delegates", pull(user("bob")), nil, []string{repoPolicy(`{"AWS":"123456789012"}`)}, nil, nil, ImplicitDeny, "", IdentityPolicy},
		{"account root delegates", pull(user("bob")), nil, []string{repoPolicy(`{"AWS":"arn:aws:iam::123456789012:root"}`)}, nil, nil, ImplicitDeny, "", IdentityPolicy},
		{"account root plus identity", pull(user("bob")), []string{allowPull}, []string{repoPolicy(`{"AWS":"arn:aws:iam::123456789012:root"}`)}, nil, nil, Allow, "Id", IdentityPolicy},
		{"identity alone suffices in one account", pull(user("bob")), []string{allowPull}, nil, nil, nil, Allow, "Id", IdentityPolicy},
		{"identity deny beats resource allow", pull(user("alice")), []string{denyPull},
			[]string{repoPolicy(`{"AWS":"arn:aws:iam::123456789012:user/alice"}`)}, nil, nil, ExplicitDeny, "IdDeny", IdentityPolicy},
		{"resource deny beats identity allow", pull(user("alice")), []string{allowPull},
			[]string{stmts(`{"Sid":"RDeny","Effect":"Deny","Principal":{"AWS":"123456789012"},"Action":"ecr:*","Resource":"*"}`)}, nil, nil, ExplicitDeny, "RDeny", ResourcePolicy},
		{"resource deny for other principal", pull(user("alice")), []string{allowPull},
			[]string{stmts(`{"Sid":"RDeny","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":"ecr:*","Resource":"*"}`)}, nil, nil, Allow, "Id", IdentityPolicy},
		{"not principal deny spares listed user", pull(user("alice")), []string{allowPull},
			[]string{stmts(`{"Sid":"NP","Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::123456789012:user/alice","123456789012"]},"Action":"ecr:*","Resource":"*"}`)}, nil, nil, Allow, "Id", IdentityPolicy},
		{"not principal deny always hits a bounded principal", pull(user("alice")), []string{allowPull},
			[]string{stmts(`{"Sid":"NP","Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::123456789012:user/alice","123456789012"]},"Action":"ecr:*","Resource":"*"}`)}, nil,
			[]string{stmts(`{"Effect":"Allow","Action":"*","Resource":"*"}`)}, ExplicitDeny, "NP", ResourcePolicy},
		{"not principal deny hits others", pull(user("bob")), []string{allowPull},
			[]string{stmts(`{"Sid":"NP","Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::123456789012:user/alice","123456789012"]},"Action":"ecr:*","Resource":"*"}`)}, nil, nil, ExplicitDeny, "NP", ResourcePolicy},
		{"not principal must list the account", pull(user("alice")), []string{allowPull},
			[]string{stmts(`{"Sid":"NP","Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"ecr:*","Resource":"*"}`)}, nil, nil, ExplicitDeny, "NP", ResourcePolicy},
		{"not principal spares session only with role and account", pull(session("ci", "run1")), []string{allowPull},
			[]string{stmts(`{"Sid":"NP","Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:sts::123456789012:assumed-role/ci/run1","arn:aws:iam::123456789012:role/ci","123456789012"]},"Action":"ecr:*","Resource":"*"}`)}, nil, nil, Allow, "Id", IdentityPolicy},
		{"not principal session without role", pull(session("ci", "run1")), []string{allowPull},
			[]string{stmts(`{"Sid":"NP","Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:sts::123456789012:assumed-role/ci/run1","123456789012"]},"Action":"ecr:*","Resource":"*"}`)}, nil, nil, ExplicitDeny, "NP", ResourcePolicy},
		{"not principal allow", pull(user("bob")), nil,
			[]string{stmts(`{"Sid":"NPA","Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"ecr:*","Resource":"*"}`)}, nil, nil, Allow, "NPA", ResourcePolicy},
		{"resource statement without principal is ignored", pull(user("bob")), nil,
			[]string{stmts(`{"Sid":"NoP","Effect":"Allow","Action":"ecr:*","Resource":"*"}`)}, nil, nil, ImplicitDeny, "", IdentityPolicy},
		{"role named allows its session", pull(session("ci", "run1")), nil,
			[]string{repoPolicy(`{"AWS":"arn:aws:iam::123456789012:role/ci"}`)}, nil, nil, Allow, "Pull", ResourcePolicy},
		{"role named, session policy caps", pull(session("ci", "run1")), nil,
			[]string{repoPolicy(`{"AWS":"arn:aws:iam::123456789012:role/ci"}`)}, []string{sessionPolicy}, nil, ImplicitDeny, "", SessionPolicy},
		{"session named, session policy does not cap", pull(session("ci", "run1")), nil,
			[]string{repoPolicy(`{"AWS":"arn:aws:sts::123456789012:assumed-role/ci/run1"}`)}, []string{sessionPolicy}, nil, Allow, "Pull", ResourcePolicy},
		{"other session of role", pull(session("ci", "run2")), nil,
			[]string{repoPolicy(`{"AWS":"arn:aws:sts::123456789012:assumed-role/ci/run1"}`)}, nil, nil, ImplicitDeny, "", IdentityPolicy},
		{"identity allow capped by session policy", pull(session("ci", "run1")), []string{allowPull}, nil, []string{sessionPolicy}, nil, ImplicitDeny, "", SessionPolicy},
		{"identity allow within session policy", Request{Action: "ecs:RunTask", Resource: "*", Principal: session("ci", "r")},
			[]string{stmts(`{"Sid":"Id","Effect":"Allow","Action":"*","Resource":"*"}`)}, nil, []string{sessionPolicy}, nil, Allow, "Id", IdentityPolicy},
		{"session policy alone grants nothing", Request{Action: "ecs:RunTask", Resource: "*", Principal: session("ci", "r")},
			nil, nil, []string{sessionPolicy}, nil, ImplicitDeny, "", IdentityPolicy},
		{"session policy deny", Request{Action: "ecs:RunTask", Resource: "*", Principal: session("ci", "r")},
			[]string{stmts(`{"Sid":"Id","Effect":"Allow","Action":"*","Resource":"*"}`)}, nil,
			[]string{stmts(`{"Sid":"SD","Effect":"Deny","Action":"ecs:RunTask","Resource":"*"}`, `{"Effect":"Allow","Action":"*","Resource":"*"}`)}, nil, ExplicitDeny, "SD", SessionPolicy},
		{"boundary caps identity", pull(user("bob")), []string{allowPull}, nil, nil, []string{sessionPolicy}, ImplicitDeny, "", PermissionsBoundary},
		{"boundary allows", pull(user("bob")), []string{allowPull}, nil, nil, []string{stmts(`{"Effect":"Allow","Action":"ecr:*","Resource":"*"}`)}, Allow, "Id", IdentityPolicy},
		{"boundary alone grants nothing", pull(user("bob")), nil, nil, nil, []string{stmts(`{"Effect":"Allow","Action":"ecr:*","Resource":"*"}`)}, ImplicitDeny, "", IdentityPolicy},
		{"user named bypasses boundary", pull(user("alice")), nil,
			[]string{repoPolicy(`{"AWS":"arn:aws:iam::123456789012:user/alice"}`)}, nil, []string{sessionPolicy}, Allow, "Pull", ResourcePolicy},
		{"boundary deny", pull(user("alice")), nil,
			[]string{repoPolicy(`{"AWS":"arn:aws:iam::123456789012:user/alice"}`)}, nil, []string{denyPull}, ExplicitDeny, "IdDeny", PermissionsBoundary},
		{"service principal", Request{Action: "ecr:BatchGetImage", Resource: repoARN, Principal: Principal{Service: "codebuild.amazonaws.com"}}, nil,
			[]string{repoPolicy(`{"Service":["codebuild.amazonaws.com"]}`)}, nil, nil, Allow, "Pull", ResourcePolicy},
		{"other service", Request{Action: "ecr:BatchGetImage", Resource: repoARN, Principal: Principal{Service: "lambda.amazonaws.com"}}, nil,
			[]string{repoPolicy(`{"Service":"codebuild.amazonaws.com"}`)}, nil, nil, ImplicitDeny, "", IdentityPolicy},
		{"service is not an aws principal", Request{Action: "ecr:BatchGetImage", Resource: repoARN, Principal: Principal{Service: "codebuild.amazonaws.com"}}, nil,
			[]string{repoPolicy(`{"AWS":"*"}`)}, nil, nil, ImplicitDeny, "", IdentityPolicy},
		{"resource policy resource element", pull(user("alice")), nil,
			[]string{stmts(`{"Sid":"R","Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":"arn:aws:ecr:*:*:repository/other"}`)}, nil, nil, ImplicitDeny, "", IdentityPolicy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []Option
			if tt.session != nil {
				opts = append(opts, WithSessionPolicies(docs(t, tt.session...)...))
			}
			if tt.boundary != nil {
				opts = append(opts, WithPermissionsBoundary(docs(t, tt.boundary...)...))
			}
			d := Evaluate(tt.req, docs(t, tt.identity...), docs(t, tt.resource...), opts...)
			checkDecision(t, d, tt.want, tt.sid)
			if d.Type != tt.typ {
				t.Errorf("Type = %v, want %v", d.Type, tt.typ)
			}
		})
	}
}

func TestResourceVariables(t *testing.T) {
	userRes := func(name string) string { return "arn:aws:iam::123456789012:user/" + name }
	tests := []struct {
		name     string
		resource string // the policy's Resource element value
		req      Request
		want     bool
	}{
		{"username", "arn:aws:iam::123456789012:user/${aws:username}",
			Request{Action: "iam:CreateAccessKey", Resource: userRes("alice"), Principal: user("alice"), Context: kv("aws:username", "alice")}, true},
		{"username other user", "arn:aws:iam::123456789012:user/${aws:username}",
			Request{Action: "iam:CreateAccessKey", Resource: userRes("bob"), Principal: user("alice"), Context: kv("aws:username", "alice")}, false},
		{"variable name case-insensitive", "arn:aws:iam::123456789012:user/${AWS:UserName}",
			Request{Action: "iam:CreateAccessKey", Resource: userRes("alice"), Principal: user("alice"), Context: kv("aws:username", "alice")}, true},
		{"unresolved variable matches nothing", "arn:aws:iam::123456789012:user/${aws:username}",
			Request{Action: "iam:CreateAccessKey", Resource: "arn:aws:iam::123456789012:user/${aws:username}", Principal: session("ci", "x")}, false},
		{"userid", "arn:aws:s3:::bucket/${aws:userid}/*",
			Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::bucket/AIDAEXAMPLE/x", Principal: user("alice"), Context: kv("aws:userid", "AIDAEXAMPLE")}, true},
		{"principal arn derived", "${aws:PrincipalArn}",
			Request{Action: "iam:GetUser", Resource: userRes("alice"), Principal: user("alice")}, true},
		{"principal arn of session is the role", "${aws:PrincipalArn}",
			Request{Action: "iam:GetRole", Resource: "arn:aws:iam::123456789012:role/ci", Principal: session("ci", "s")}, true},
		{"default value", "arn:aws:ecs:us-east-1:123456789012:cluster/${aws:PrincipalTag/team, 'shared'}",
			Request{Action: "ecs:RunTask", Resource: "arn:aws:ecs:us-east-1:123456789012:cluster/shared", Principal: user("alice")}, true},
		{"default value unused", "arn:aws:ecs:us-east-1:123456789012:cluster/${aws:PrincipalTag/team, 'shared'}",
			Request{Action: "ecs:RunTask", Resource: "arn:aws:ecs:us-east-1:123456789012:cluster/infra", Principal: user("alice"), Context: kv("aws:PrincipalTag/team", "infra")}, true},
		{"multi-valued key is no variable", "arn:aws:ecs:us-east-1:123456789012:cluster/${aws:TagKeys}",
			Request{Action: "ecs:RunTask", Resource: "arn:aws:ecs:us-east-1:123456789012:cluster/a", Principal: user("alice"), Context: kv("aws:TagKeys", "a", "aws:TagKeys", "b")}, false},
		{"literal star", "arn:aws:s3:::bucket/${*}",
			Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::bucket/*", Principal: user("alice")}, true},
		{"variable and wildcard", "arn:aws:ecs:*:123456789012:service/${aws:username}-*/*",
			Request{Action: "ecs:UpdateService", Resource: "arn:aws:ecs:us-east-1:123456789012:service/alice-dev/web", Principal: user("alice"), Context: kv("aws:username", "alice")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustParse(t, stmts(`{"Effect":"Allow","Action":"*","Resource":"`+tt.resource+`"}`))
			if got := Evaluate(tt.req, []*Document{d}, nil).Allowed(); got != tt.want {
				t.Errorf("Allowed = %v, want %v", got, tt.want)
			}
		})
	}
	// Version 2008-10-17 (or none) takes ${...} literally.
	d := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:iam::123456789012:user/${aws:username}"}}`)
	req := Request{Action: "iam:GetUser", Resource: userRes("${aws:username}"), Principal: user("alice"), Context: kv("aws:username", "alice")}
	if !Evaluate(req, []*Document{d}, nil).Allowed() {
		t.Errorf("version-less document substituted a variable")
	}
}

func TestWildcardMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"", "", true},
		{"", "a", false},
		{"a*", "a", true},
		{"a*b", "axxb", true},
		{"a*b", "axxbc", false},
		{"a*b*c", "abbbc", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a?c", "aéc", true},
		{"*é", "xxé", true},
		{"arn:aws:ecs:*:cluster/*", "arn:aws:ecs:us-east-1:1:cluster/x", true},
		{"**", "abc", true},
		{"*?", "", false},
	}
	for _, tt := range tests {
		if got := wildcardMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("wildcardMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
		if strings.Contains(tt.s, ":") {
			continue // ARN matching differs from plain wildcards across colons
		}
		if got := matchResourceARN(tt.pattern, tt.s); got != tt.want {
			t.Errorf("matchResourceARN(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestMatchResourceARN(t *testing.T) {
	const task = "arn:aws:ecs:us-east-1:123456789012:task/prod/abc"
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"arn:aws:ecs:*:123456789012:task/*", task, true},
		{"arn:aws:ecs:us-*-1:123456789012:task/*", task, true},
		{"arn:aws:ecs:us-*-1:123456789012:task/*", "arn:aws:ecs:us-east:x-1:123456789012:task/a", false},
		{"arn:aws:ecs:*", task, true},
		{"arn:aws:ecs:us-east-?:*:task/prod/*", task, true},
		{"arn:aws:ecs:us-east-1?123456789012:task/*", task, false},
		{"arn:aws:ecs:*-1:*:task/p*d/abc", task, true},
		{"arn:aws:ecs:*-1:*:task/p*d/abc", "arn:aws:ecs:us-east-1:1:task/p:d/abc", false},
		{"arn:aws:logs:*:*:log-group:app:*", "arn:aws:logs:us-east-1:1:log-group:app:log-stream:x", true},
		{"arn:aws:s3:::bucket/a*b", "arn:aws:s3:::bucket/a/x/b", true},
		{"arn:aws:s3:::bucket/a*b", "arn:aws:s3:::bucket/a:x/b", false},
		{"arn:aws:s3:::bucket/é?", "arn:aws:s3:::bucket/éé", true},
	}
	for _, tt := range tests {
		if got := matchResourceARN(tt.pattern, tt.s); got != tt.want {
			t.Errorf("matchResourceARN(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
	long := "arn:aws:s3:::b/" + strings.Repeat("a?", 100)
	if !matchResourceARN(long, "arn:aws:s3:::b/"+strings.Repeat("ab", 100)) {
		t.Errorf("long pattern does not match")
	}
}

func TestDerivedUsername(t *testing.T) {
	d := docs(t, stmts(`{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::123456789012:user/${aws:username}"}`))
	p := user("team/alice")
	if !Evaluate(Request{Action: "iam:GetUser", Resource: "arn:aws:iam::123456789012:user/alice", Principal: p}, d, nil).Allowed() {
		t.Errorf("aws:username not derived from the user ARN")
	}
	if Evaluate(Request{Action: "iam:GetRole", Resource: "arn:aws:iam::123456789012:user/ci", Principal: session("ci", "x")}, d, nil).Allowed() {
		t.Errorf("aws:username derived for a role session")
	}
}
