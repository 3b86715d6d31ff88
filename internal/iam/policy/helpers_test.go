package policy

import (
	"strings"
	"testing"
)

const acct = "123456789012"

// mustParse parses doc or fails the test.
func mustParse(t testing.TB, doc string) *Document {
	t.Helper()
	d, err := Parse(doc)
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	return d
}

// stmts wraps statement JSON objects into a 2012-10-17 document.
func stmts(s ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(s, ",") + `]}`
}

func user(name string) Principal {
	return Principal{ARN: "arn:aws:iam::" + acct + ":user/" + name, Account: acct}
}

func session(role, name string) Principal {
	return Principal{
		ARN:     "arn:aws:sts::" + acct + ":assumed-role/" + role + "/" + name,
		Account: acct,
		RoleARN: "arn:aws:iam::" + acct + ":role/" + role,
	}
}

func root() Principal { return Principal{ARN: "arn:aws:iam::" + acct + ":root", Account: acct} }

// request builds a request from alice by default.
func request(action, resource string, ctx map[string][]string) Request {
	return Request{Action: action, Resource: resource, Principal: user("alice"), Context: ctx}
}

func docs(t testing.TB, s ...string) []*Document {
	t.Helper()
	var out []*Document
	for _, d := range s {
		out = append(out, mustParse(t, d))
	}
	return out
}
