package policy

import "testing"

const roleARN = "arn:aws:iam::123456789012:role/app/task-role"

func trustDoc(principal string, extra ...string) string {
	s := []string{`{"Sid":"Trust","Effect":"Allow","Principal":` + principal + `,"Action":"sts:AssumeRole"}`}
	return stmts(append(s, extra...)...)
}

func TestAssumeRole(t *testing.T) {
	allowAssume := stmts(`{"Sid":"Id","Effect":"Allow","Action":"sts:AssumeRole","Resource":"` + roleARN + `"}`)
	tests := []struct {
		name      string
		trust     string
		who       Principal
		identity  []string
		ctx       map[string][]string
		want      Result
		typ       PolicyType
		trusts    bool
		delegated bool
	}{
		{"user named", trustDoc(`{"AWS":"arn:aws:iam::123456789012:user/alice"}`), user("alice"), nil, nil, Allow, TrustPolicy, true, false},
		{"other user", trustDoc(`{"AWS":"arn:aws:iam::123456789012:user/alice"}`), user("bob"), []string{allowAssume}, nil, ImplicitDeny, TrustPolicy, false, false},
		{"account needs identity policy", trustDoc(`{"AWS":"123456789012"}`), user("bob"), nil, nil, ImplicitDeny, IdentityPolicy, true, true},
		{"account with identity policy", trustDoc(`{"AWS":"arn:aws:iam::123456789012:root"}`), user("bob"), []string{allowAssume}, nil, Allow, IdentityPolicy, true, true},
		{"root via account", trustDoc(`{"AWS":"123456789012"}`), root(), nil, nil, Allow, TrustPolicy, true, false},
		{"other account", trustDoc(`{"AWS":"210987654321"}`), user("bob"), []string{allowAssume}, nil, ImplicitDeny, TrustPolicy, false, false},
		{"role session named by role", trustDoc(`{"AWS":"arn:aws:iam::123456789012:role/ci"}`), session("ci", "build-7"), nil, nil, Allow, TrustPolicy, true, false},
		{"service", trustDoc(`{"Service":"ecs-tasks.amazonaws.com"}`), Principal{Service: "ecs-tasks.amazonaws.com"}, nil, nil, Allow, TrustPolicy, true, false},
		{"other service", trustDoc(`{"Service":"ecs-tasks.amazonaws.com"}`), Principal{Service: "ec2.amazonaws.com"}, nil, nil, ImplicitDeny, TrustPolicy, false, false},
		{"everyone", trustDoc(`"*"`), user("bob"), nil, nil, Allow, TrustPolicy, true, false},
		{"identity allow without trust", trustDoc(`{"Service":"ecs-tasks.amazonaws.com"}`), user("bob"), []string{allowAssume}, nil, ImplicitDeny, TrustPolicy, false, false},
		{"trust deny", trustDoc(`"*"`, `{"Sid":"No","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":"sts:*"}`), user("bob"), nil, nil, ExplicitDeny, TrustPolicy, false, false},
		{"identity deny", trustDoc(`{"AWS":"arn:aws:iam::123456789012:user/bob"}`), user("bob"),
			[]string{stmts(`{"Sid":"D","Effect":"Deny","Action":"sts:AssumeRole","Resource":"*"}`)}, nil, ExplicitDeny, IdentityPolicy, true, false},
		{"trust condition met", stmts(`{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}`),
			user("bob"), []string{allowAssume}, kv("aws:MultiFactorAuthPresent", "true"), Allow, IdentityPolicy, true, true},
		{"trust condition unmet", stmts(`{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}`),
			user("bob"), []string{allowAssume}, nil, ImplicitDeny, TrustPolicy, false, false},
		{"trust for other action", stmts(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity"}`), user("bob"), nil, nil, ImplicitDeny, TrustPolicy, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trust := mustParse(t, tt.trust)
			if err := trust.Validate(KindTrust); err != nil {
				t.Fatalf("trust policy invalid: %v", err)
			}
			req := Request{Resource: roleARN, Principal: tt.who, Context: tt.ctx}
			d := AssumeRole(req, trust, docs(t, tt.identity...))
			checkDecision(t, d, tt.want, "")
			if d.Type != tt.typ {
				t.Errorf("Type = %v, want %v", d.Type, tt.typ)
			}
			ok, delegated := Trusts(trust, req)
			if ok != tt.trusts || delegated != tt.delegated {
				t.Errorf("Trusts = %v, %v; want %v, %v", ok, delegated, tt.trusts, tt.delegated)
			}
		})
	}
}

func TestPrincipalFromARN(t *testing.T) {
	tests := []struct {
		in      string
		want    Principal
		wantErr bool
	}{
		{"123456789012", root(), false},
		{"arn:aws:iam::123456789012:root", root(), false},
		{"arn:aws:iam::123456789012:user/alice", user("alice"), false},
		{"arn:aws:iam::123456789012:role/ci", Principal{ARN: "arn:aws:iam::123456789012:role/ci", Account: acct}, false},
		{"arn:aws:sts::123456789012:assumed-role/ci/run1", session("ci", "run1"), false},
		{"ecs-tasks.amazonaws.com", Principal{Service: "ecs-tasks.amazonaws.com"}, false},
		{"arn:aws:sts::123456789012:assumed-role/ci", Principal{}, true},
		{"arn:aws:ecs:us-east-1:123456789012:cluster/x", Principal{}, true},
		{"arn:aws:iam::12345:user/x", Principal{}, true},
		{"bob", Principal{}, true},
	}
	for _, tt := range tests {
		got, err := PrincipalFromARN(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("PrincipalFromARN(%q) = %+v, %v; want %+v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
