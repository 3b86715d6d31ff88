package policy_test

import (
	"fmt"

	"github.com/berth-dev/berth/internal/iam/policy"
)

func ExampleEvaluate() {
	doc, err := policy.Parse(`{
		"Version": "2012-10-17",
		"Statement": [
			{"Effect": "Allow", "Action": "ecs:*", "Resource": "*"},
			{"Sid": "KeepProd", "Effect": "Deny", "Action": "ecs:DeleteCluster",
			 "Resource": "arn:aws:ecs:*:*:cluster/prod*"}
		]
	}`)
	if err != nil {
		panic(err)
	}
	if err := doc.Validate(policy.KindIdentity); err != nil {
		panic(err)
	}
	alice, _ := policy.PrincipalFromARN("arn:aws:iam::123456789012:user/alice")
	req := policy.Request{
		Action:    "ecs:DeleteCluster",
		Resource:  "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
		Principal: alice,
	}
	d := policy.Evaluate(req, []*policy.Document{doc}, nil)
	fmt.Println(d.Result, d.Statement.Sid)
	fmt.Println(d.Message(req))
	// Output:
	// ExplicitDeny KeepProd
	// User: arn:aws:iam::123456789012:user/alice is not authorized to perform: ecs:DeleteCluster on resource: arn:aws:ecs:us-east-1:123456789012:cluster/prod with an explicit deny in an identity-based policy
}

func ExampleAssumeRole() {
	trust, _ := policy.Parse(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)
	tasks, _ := policy.PrincipalFromARN("ecs-tasks.amazonaws.com")
	d := policy.AssumeRole(policy.Request{Resource: "arn:aws:iam::123456789012:role/app", Principal: tasks}, trust, nil)
	fmt.Println(d.Allowed(), d.Type)
	// Output: true trust policy
}
