package policy

import (
	"errors"
	"testing"
	"time"
)

// FuzzParse parses arbitrary documents: Parse must never panic, must
// return only *MalformedError, and a document it accepts must validate and
// evaluate, as any kind of policy, without panicking.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		stmts(`{"Sid":"A","Effect":"Allow","Action":["ecs:*","ecr:Batch*"],"Resource":"arn:aws:ecs:*:123456789012:cluster/${aws:username}"}`),
		stmts(`{"Effect":"Deny","NotAction":"iam:*","NotResource":["arn:aws:iam::*:user/${aws:username, 'x'}","${*}"]}`),
		stmts(`{"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:role/r"],"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}`),
		stmts(`{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:user/a"},"Action":"*","Resource":"*"}`),
		stmts(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAllValues:StringLike":{"aws:TagKeys":["a*","b?"]},"ForAnyValue:NumericLessThan":{"ecs:n":[1,2.5]},"DateGreaterThanIfExists":{"aws:CurrentTime":"2020-01-01T00:00:00Z"},"IpAddress":{"aws:SourceIp":["10.0.0.0/8","::1"]},"Null":{"aws:username":false},"Bool":{"aws:SecureTransport":true},"ArnNotLike":{"aws:SourceArn":"arn:aws:*:*:*:*"},"StringNotEqualsIgnoreCase":{"aws:username":"${aws:userid}"}}}`),
		`{"Version":"2008-10-17","Id":"x","Statement":{"Effect":"Allow","Principal":"*","Action":"ecr:*"}}`,
		`{"Statement":[]}`,
		`{`,
		``,
	} {
		f.Add(seed)
	}
	reqs := []Request{
		{Action: "ecs:RunTask", Resource: "arn:aws:ecs:us-east-1:123456789012:cluster/alice", Principal: user("alice"),
			Context: map[string][]string{"aws:username": {"alice"}, "aws:TagKeys": {"a1", "b2"}, "ecs:n": {"0"}, "aws:SourceIp": {"10.0.0.1"}, "aws:SourceArn": {"x"}},
			Time:    time.Unix(1700000000, 0)},
		{Action: "sts:AssumeRole", Resource: "*", Principal: session("r", "s")},
		{Action: "ecr:GetAuthorizationToken", Resource: "*", Principal: Principal{Service: "ecs-tasks.amazonaws.com"}},
		{Action: "iam:CreateUser", Resource: "*", Principal: root()},
	}
	f.Fuzz(func(t *testing.T, doc string) {
		d, err := Parse(doc)
		if err != nil {
			var me *MalformedError
			if !errors.As(err, &me) || me.Message == "" {
				t.Fatalf("Parse error %T %q is not a *MalformedError with a message", err, err)
			}
			return
		}
		d.HasPrincipal()
		for _, k := range []Kind{KindIdentity, KindResource, KindTrust} {
			_ = d.Validate(k)
		}
		list := []*Document{d}
		for _, req := range reqs {
			a := Evaluate(req, list, list, WithSessionPolicies(d), WithPermissionsBoundary(d))
			_ = a.Message(req)
			_ = AssumeRole(req, d, list)
			Trusts(d, req)
		}
	})
}
