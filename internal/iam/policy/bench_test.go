package policy

import (
	"fmt"
	"testing"
)

// BenchmarkEvaluate evaluates a request for a principal with 10 attached
// policies of 20 statements each, with conditions and variables, where the
// allowing statement is the last one and nothing denies.
func BenchmarkEvaluate(b *testing.B) {
	var identity []*Document
	for p := range 10 {
		var s []string
		for i := range 20 {
			s = append(s, fmt.Sprintf(`{"Sid":"P%dS%d","Effect":"%s","Action":["ecs:Describe%d*","ecr:Batch%d*","logs:Put%d"],`+
				`"Resource":["arn:aws:ecs:*:123456789012:cluster/team-%d-*","arn:aws:ecs:*:123456789012:service/${aws:username}/%d"],`+
				`"Condition":{"StringEquals":{"aws:ResourceTag/team":"team-%d"},"IpAddress":{"aws:SourceIp":"10.%d.0.0/16"}}}`,
				p, i, map[bool]string{true: "Deny", false: "Allow"}[i%5 == 4], i, i, i, p, i, p, i))
		}
		if p == 9 {
			s[19] = `{"Sid":"Run","Effect":"Allow","Action":"ecs:RunTask","Resource":"arn:aws:ecs:*:123456789012:cluster/${aws:username}-*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}`
		}
		identity = append(identity, mustParse(b, stmts(s...)))
	}
	req := Request{
		Action:    "ecs:RunTask",
		Resource:  "arn:aws:ecs:us-east-1:123456789012:cluster/alice-prod",
		Principal: user("alice"),
		Context: map[string][]string{
			"aws:username":         {"alice"},
			"aws:SourceIp":         {"10.9.1.2"},
			"aws:SecureTransport":  {"true"},
			"aws:ResourceTag/team": {"team-9"},
		},
	}
	if d := Evaluate(req, identity, nil); !d.Allowed() || d.Statement.Sid != "Run" {
		b.Fatalf("benchmark request not allowed by its statement: %+v", d)
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(req, identity, nil)
	}
}
