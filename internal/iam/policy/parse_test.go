package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name  string
		doc   string
		check func(t *testing.T, d *Document)
	}{
		{"statement object, strings", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecs:ListClusters","Resource":"*"}}`,
			func(t *testing.T, d *Document) {
				s := d.Statements[0]
				if len(d.Statements) != 1 || s.Effect != EffectAllow || s.Action[0] != "ecs:ListClusters" || s.Resource[0] != "*" {
					t.Errorf("got %+v", s)
				}
			}},
		{"statement array, arrays", stmts(`{"Sid":"A1","Effect":"Deny","NotAction":["iam:*","sts:*"],"NotResource":["arn:aws:iam::123456789012:user/x"]}`),
			func(t *testing.T, d *Document) {
				s := d.Statements[0]
				if s.Sid != "A1" || len(s.NotAction) != 2 || s.Action != nil || len(s.NotResource) != 1 {
					t.Errorf("got %+v", s)
				}
			}},
		{"2008 version", `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
			func(t *testing.T, d *Document) {
				if d.Version != Version2008 || d.Statements[0].variables {
					t.Errorf("2008 document substitutes variables")
				}
			}},
		{"no version", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
			func(t *testing.T, d *Document) {
				if d.Version != "" || d.Statements[0].variables {
					t.Errorf("version-less document substitutes variables")
				}
			}},
		{"principal star", stmts(`{"Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":"*"}`),
			func(t *testing.T, d *Document) {
				if !d.Statements[0].Principal.Any || !d.HasPrincipal() {
					t.Errorf("got %+v", d.Statements[0].Principal)
				}
			}},
		{"principal object", stmts(`{"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:role/r","*"],"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}`),
			func(t *testing.T, d *Document) {
				p := d.Statements[0].Principal
				if len(p.AWS) != 3 || p.Service[0] != "ecs-tasks.amazonaws.com" || p.Any {
					t.Errorf("got %+v", p)
				}
			}},
		{"not principal", stmts(`{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":"*","Resource":"*"}`),
			func(t *testing.T, d *Document) {
				if d.Statements[0].NotPrincipal == nil || !d.HasPrincipal() {
					t.Errorf("NotPrincipal not kept")
				}
			}},
		{"no principal", stmts(`{"Effect":"Allow","Action":"*","Resource":"*"}`),
			func(t *testing.T, d *Document) {
				if d.HasPrincipal() {
					t.Errorf("HasPrincipal true")
				}
			}},
		{"condition scalars", stmts(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"s3:max-keys":10},"StringEquals":{"aws:username":["a","b"]}}}`),
			func(t *testing.T, d *Document) {
				cs := d.Statements[0].Condition
				if len(cs) != 3 {
					t.Fatalf("conditions %+v", cs)
				}
				got := map[string][]string{}
				for _, c := range cs {
					got[c.Operator+" "+c.Key] = c.Values
				}
				if got["Bool aws:SecureTransport"][0] != "true" || got["NumericLessThan s3:max-keys"][0] != "10" ||
					len(got["StringEquals aws:username"]) != 2 {
					t.Errorf("got %v", got)
				}
			}},
		{"id element", `{"Version":"2012-10-17","Id":"doc-1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
			func(t *testing.T, d *Document) {
				if d.ID != "doc-1" {
					t.Errorf("ID %q", d.ID)
				}
			}},
		{"whitespace and set operators", "\n {\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"ForAllValues:StringLike\":{\"aws:TagKeys\":\"team*\"},\"StringEqualsIfExists\":{\"ecs:cluster\":\"x\"},\"Null\":{\"aws:RequestTag/a\":\"false\"}}}]} \n",
			func(t *testing.T, d *Document) {
				for _, c := range d.Statements[0].Condition {
					switch c.Operator {
					case "ForAllValues:StringLike":
						if c.set != setAllValues || c.op.kind != kindStringLike {
							t.Errorf("%s parsed as %+v", c.Operator, c)
						}
					case "StringEqualsIfExists":
						if !c.ifExists || c.op.kind != kindString {
							t.Errorf("%s parsed as %+v", c.Operator, c)
						}
					}
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, mustParse(t, tt.doc)) })
	}
}

func TestParseRejects(t *testing.T) {
	allow := `"Effect":"Allow","Action":"*","Resource":"*"`
	tests := []struct {
		name, doc, want string
	}{
		{"empty", "", "empty"},
		{"not json", "{", "Syntax errors"},
		{"trailing data", `{"Statement":[{` + allow + `}]} x`, "Syntax errors"},
		{"array top", `[]`, "Syntax errors"},
		{"null top", `null`, "Syntax errors"},
		{"bad version", `{"Version":"2020-01-01","Statement":[{` + allow + `}]}`, "Version"},
		{"numeric version", `{"Version":2012,"Statement":[{` + allow + `}]}`, "Version"},
		{"unknown top element", `{"Version":"2012-10-17","Statment":[{` + allow + `}]}`, `unknown element "Statment"`},
		{"no statement", `{"Version":"2012-10-17"}`, "at least one Statement"},
		{"empty statements", `{"Version":"2012-10-17","Statement":[]}`, "at least one Statement"},
		{"statement string", `{"Version":"2012-10-17","Statement":"x"}`, "must be an object"},
		{"no effect", stmts(`{"Action":"*","Resource":"*"}`), "Missing required field Effect"},
		{"bad effect", stmts(`{"Effect":"allow","Action":"*","Resource":"*"}`), "Invalid effect"},
		{"no action", stmts(`{"Effect":"Allow","Resource":"*"}`), "must contain actions"},
		{"empty action list", stmts(`{"Effect":"Allow","Action":[],"Resource":"*"}`), "must contain actions"},
		{"empty action", stmts(`{"Effect":"Allow","Action":"","Resource":"*"}`), "must not be empty"},
		{"action and notaction", stmts(`{"Effect":"Allow","Action":"*","NotAction":"*","Resource":"*"}`), "both Action and NotAction"},
		{"action without vendor", stmts(`{"Effect":"Allow","Action":"ListClusters","Resource":"*"}`), "prefaced by a vendor"},
		{"action number", stmts(`{"Effect":"Allow","Action":5,"Resource":"*"}`), "string or an array"},
		{"resource and notresource", stmts(`{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}`), "both Resource and NotResource"},
		{"empty resource list", stmts(`{"Effect":"Allow","Action":"*","Resource":[]}`), "must contain resources"},
		{"empty notresource list", stmts(`{"Effect":"Allow","Action":"*","NotResource":[]}`), "must contain resources"},
		{"empty principal list", stmts(`{"Effect":"Allow","Action":"*","Principal":{"AWS":[]}}`), "lists no principals"},
		{"wildcard principal arn", stmts(`{"Effect":"Allow","Action":"*","Principal":{"AWS":"arn:aws:iam::123456789012:user/*"}}`), "Invalid principal"},
		{"resource not arn", stmts(`{"Effect":"Allow","Action":"*","Resource":"cluster/x"}`), "ARN format"},
		{"principal and notprincipal", stmts(`{"Effect":"Allow","Action":"*","Principal":"*","NotPrincipal":{"AWS":"123456789012"}}`), "both Principal and NotPrincipal"},
		{"principal bad string", stmts(`{"Effect":"Allow","Action":"*","Principal":"me"}`), "Invalid principal"},
		{"principal bad aws", stmts(`{"Effect":"Allow","Action":"*","Principal":{"AWS":"bob"}}`), `Invalid principal in policy: "AWS":"bob"`},
		{"principal unknown type", stmts(`{"Effect":"Allow","Action":"*","Principal":{"Robot":"x"}}`), "unknown principal type"},
		{"principal empty", stmts(`{"Effect":"Allow","Action":"*","Principal":{}}`), "Invalid principal"},
		{"notprincipal star", stmts(`{"Effect":"Deny","Action":"*","NotPrincipal":"*"}`), "NotPrincipal"},
		{"unknown statement element", stmts(`{` + allow + `,"Resources":"*"}`), `unknown statement element "Resources"`},
		{"duplicate sid", stmts(`{"Sid":"a",`+allow+`}`, `{"Sid":"a",`+allow+`}`), "must be unique"},
		{"bad operator", stmts(`{` + allow + `,"Condition":{"StringEqualz":{"aws:username":"a"}}}`), "Invalid Condition type : StringEqualz"},
		{"bad set operator", stmts(`{` + allow + `,"Condition":{"ForSomeValues:StringEquals":{"aws:username":"a"}}}`), "Invalid Condition type"},
		{"null ifexists", stmts(`{` + allow + `,"Condition":{"NullIfExists":{"aws:username":"true"}}}`), "Invalid Condition type"},
		{"condition key without vendor", stmts(`{` + allow + `,"Condition":{"StringEquals":{"username":"a"}}}`), "prefaced by a vendor"},
		{"condition empty values", stmts(`{` + allow + `,"Condition":{"StringEquals":{"aws:username":[]}}}`), "must not be empty"},
		{"condition object value", stmts(`{` + allow + `,"Condition":{"StringEquals":{"aws:username":{"a":1}}}}`), "condition values"},
		{"condition not object", stmts(`{` + allow + `,"Condition":"x"}`), "Condition must map"},
		{"numeric not number", stmts(`{` + allow + `,"Condition":{"NumericEquals":{"s3:max-keys":"ten"}}}`), "not a number"},
		{"date not date", stmts(`{` + allow + `,"Condition":{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}}`), "not an ISO 8601 date"},
		{"ip not ip", stmts(`{` + allow + `,"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}`), "not an IP address"},
		{"bool not bool", stmts(`{` + allow + `,"Condition":{"Bool":{"aws:SecureTransport":"yes"}}}`), "true or false"},
		{"null not bool", stmts(`{` + allow + `,"Condition":{"Null":{"aws:username":"maybe"}}}`), "true or false"},
		{"too large", `{"Statement":[{` + allow + `,"Sid":"` + strings.Repeat("a", MaxDocumentBytes) + `"}]}`, "larger than"},
		{"too many statements", stmts(strings.Repeat(`{`+allow+`},`, MaxStatements) + `{` + allow + `}`), "more than 1000 statements"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.doc)
			if err == nil {
				t.Fatalf("Parse accepted %s", tt.doc)
			}
			var me *MalformedError
			if !errors.As(err, &me) || me.Code() != CodeMalformedPolicyDocument {
				t.Fatalf("error %T %v is not a *MalformedError", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestParseNamesStatementInError(t *testing.T) {
	_, err := Parse(stmts(`{"Effect":"Allow","Action":"*","Resource":"*"}`, `{"Effect":"Allow","Resource":"*"}`))
	if err == nil || !strings.HasPrefix(err.Error(), "Statement 2: ") {
		t.Errorf("error %v does not name statement 2", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		kind Kind
		want string // "" for valid
	}{
		{"identity ok", stmts(`{"Sid":"Read1","Effect":"Allow","Action":"ecs:Describe*","Resource":"*"}`), KindIdentity, ""},
		{"identity with principal", stmts(`{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}`), KindIdentity, "Policy document should not specify a principal."},
		{"identity without resource", stmts(`{"Effect":"Allow","Action":"*"}`), KindIdentity, "Policy statement must contain resources."},
		{"identity sid not alphanumeric", stmts(`{"Sid":"a-b","Effect":"Allow","Action":"*","Resource":"*"}`), KindIdentity, "alpha-numeric"},
		{"resource ok", stmts(`{"Sid":"pull-from-ci","Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"ecr:BatchGetImage","Resource":"*"}`), KindResource, ""},
		{"resource without principal", stmts(`{"Effect":"Allow","Action":"*","Resource":"*"}`), KindResource, "Missing required field Principal"},
		{"trust ok", stmts(`{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}`), KindTrust, ""},
		{"trust without principal", stmts(`{"Effect":"Allow","Action":"sts:AssumeRole"}`), KindTrust, "Missing required field Principal"},
		{"trust with resource", stmts(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}`), KindTrust, "Has prohibited field Resource"},
		{"trust with non sts action", stmts(`{"Effect":"Allow","Principal":"*","Action":"ecs:RunTask"}`), KindTrust, "STS actions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := mustParse(t, tt.doc).Validate(tt.kind)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCharCount(t *testing.T) {
	if n := CharCount("{ \"a\" :\n\t1 }"); n != 7 {
		t.Errorf("CharCount = %d, want 7", n)
	}
}
