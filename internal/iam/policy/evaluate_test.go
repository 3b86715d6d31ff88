package policy

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

const clusterARN = "arn:aws:ecs:us-east-1:123456789012:cluster/prod"

func TestEvaluateIdentity(t *testing.T) {
	tests := []struct {
		name     string
		identity []string
		req      Request
		want     Result
		sid      string // deciding statement, when one
	}{
		{"no policies", nil, request("ecs:ListClusters", "*", nil), ImplicitDeny, ""},
		{"allow exact", []string{stmts(`{"Sid":"A","Effect":"Allow","Action":"ecs:ListClusters","Resource":"*"}`)},
			request("ecs:ListClusters", "*", nil), Allow, "A"},
		{"action case-insensitive", []string{stmts(`{"Sid":"A","Effect":"Allow","Action":"ECS:listclusters","Resource":"*"}`)},
			request("ecs:ListClusters", "*", nil), Allow, "A"},
		{"action wildcard service", []string{stmts(`{"Sid":"A","Effect":"Allow","Action":"ecs:*","Resource":"*"}`)},
			request("ecs:RunTask", clusterARN, nil), Allow, "A"},
		{"action wildcard prefix", []string{stmts(`{"Sid":"A","Effect":"Allow","Action":"ecr:Batch*","Resource":"*"}`)},
			request("ecr:BatchGetImage", "*", nil), Allow, "A"},
		{"action wildcard prefix no match", []string{stmts(`{"Sid":"A","Effect":"Allow","Action":"ecr:Batch*","Resource":"*"}`)},
			request("ecr:PutImage", "*", nil), ImplicitDeny, ""},
		{"action question mark", []string{stmts(`{"Sid":"A","Effect":"Allow","Action":"ecs:?unTask","Resource":"*"}`)},
			request("ecs:RunTask", "*", nil), Allow, "A"},
		{"action star all", []string{stmts(`{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"}`)},
			request("iam:CreateUser", "*", nil), Allow, "A"},
		{"other service", []string{stmts(`{"Sid":"A","Effect":"Allow","Action":"ecs:*","Resource":"*"}`)},
			request("ecr:PutImage", "*", nil), ImplicitDeny, ""},
		{"resource exact", []string{stmts(`{"Sid":"A","Effect":"Allow","Action":"ecs:*","Resource":"` + clusterARN + `"}`)},
			request("ecs:DescribeClusters", clusterARN, nil), Allow, "A"},
		{"resource case-sensitive", []string{stmts(`{"Sid":"A","Effect":"Allow","Action":"ecs:*","Resource":"arn:aws:ecs:us-east-1:123456789012:cluster/Prod"}`)},
			request("ecs:DescribeClusters", clusterARN, nil), ImplicitDeny, ""},
		{"resource wildcard", []string{stmts(`{"Sid":"A","Effect":"Allow","Action":"ecs:*","Resource":"arn:aws:ecs:*:123456789012:cluster/*"}`)},
			request("ecs:DescribeClusters", clusterARN, nil), Allow, "A"},
		{"resource wildcard other type", []string{stmts(`{"Sid":"A","Effect":"Allow","Action":"ecs:*","Resource":"arn:aws:ecs:*:123456789012:service/*"}`)},
			request("ecs:DescribeClusters", clusterARN, nil), ImplicitDeny, ""},
		{"specific resource does not match star", []string{stmts(`{"Sid":"A","Effect":"Allow","Action":"ecs:*","Resource":"` + clusterARN + `"}`)},
			request("ecs:ListClusters", "*", nil), ImplicitDeny, ""},
		{"resource list", []string{stmts(`{"Sid":"A","Effect":"Allow","Action":"ecs:*","Resource":["arn:aws:ecs:us-east-1:123456789012:cluster/dev","` + clusterARN + `"]}`)},
			request("ecs:DescribeClusters", clusterARN, nil), Allow, "A"},
		{"deny overrides allow", []string{
			stmts(`{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"}`),
			stmts(`{"Sid":"D","Effect":"Deny","Action":"ecs:DeleteCluster","Resource":"*"}`)},
			request("ecs:DeleteCluster", clusterARN, nil), ExplicitDeny, "D"},
		{"deny before allow in one document", []string{
			stmts(`{"Sid":"D","Effect":"Deny","Action":"ecs:Delete*","Resource":"*"}`, `{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"}`)},
			request("ecs:DeleteService", "*", nil), ExplicitDeny, "D"},
		{"deny of other action", []string{
			stmts(`{"Sid":"D","Effect":"Deny","Action":"ecs:Delete*","Resource":"*"}`, `{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"}`)},
			request("ecs:CreateService", "*", nil), Allow, "A"},
		{"notaction allows the rest", []string{stmts(`{"Sid":"A","Effect":"Allow","NotAction":"iam:*","Resource":"*"}`)},
			request("ecs:RunTask", "*", nil), Allow, "A"},
		{"notaction excludes listed", []string{stmts(`{"Sid":"A","Effect":"Allow","NotAction":["iam:*","sts:*"],"Resource":"*"}`)},
			request("iam:CreateUser", "*", nil), ImplicitDeny, ""},
		{"notaction deny", []string{
			stmts(`{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"}`, `{"Sid":"D","Effect":"Deny","NotAction":"ecr:*","Resource":"*"}`)},
			request("ecs:RunTask", "*", nil), ExplicitDeny, "D"},
		{"notaction deny spares listed", []string{
			stmts(`{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"}`, `{"Sid":"D","Effect":"Deny","NotAction":"ecr:*","Resource":"*"}`)},
			request("ecr:PutImage", "*", nil), Allow, "A"},
		{"notresource allows the rest", []string{stmts(`{"Sid":"A","Effect":"Allow","Action":"ecs:*","NotResource":"` + clusterARN + `"}`)},
			request("ecs:DescribeClusters", "arn:aws:ecs:us-east-1:123456789012:cluster/dev", nil), Allow, "A"},
		{"notresource excludes listed", []string{stmts(`{"Sid":"A","Effect":"Allow","Action":"ecs:*","NotResource":"arn:aws:ecs:*:*:cluster/p*"}`)},
			request("ecs:DescribeClusters", clusterARN, nil), ImplicitDeny, ""},
		{"notresource deny", []string{
			stmts(`{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"}`, `{"Sid":"D","Effect":"Deny","Action":"ecs:*","NotResource":"arn:aws:ecs:*:*:cluster/dev"}`)},
			request("ecs:DescribeClusters", clusterARN, nil), ExplicitDeny, "D"},
		{"condition gates allow", []string{stmts(`{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}`)},
			request("ecs:RunTask", "*", map[string][]string{"aws:SecureTransport": {"false"}}), ImplicitDeny, ""},
		{"condition gates deny", []string{
			stmts(`{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"}`, `{"Sid":"D","Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`)},
			request("ecs:RunTask", "*", map[string][]string{"aws:SourceIp": {"10.1.2.3"}}), Allow, "A"},
		{"condition deny applies", []string{
			stmts(`{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"}`, `{"Sid":"D","Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`)},
			request("ecs:RunTask", "*", map[string][]string{"aws:SourceIp": {"192.168.1.1"}}), ExplicitDeny, "D"},
		{"root without policies", nil, Request{Action: "iam:CreateUser", Resource: "*", Principal: root()}, Allow, ""},
		{"root denied explicitly", []string{stmts(`{"Sid":"D","Effect":"Deny","Action":"*","Resource":"*"}`)},
			Request{Action: "iam:CreateUser", Resource: "*", Principal: root()}, ExplicitDeny, "D"},
		{"principal ignored in identity policy", []string{stmts(`{"Sid":"A","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":"*","Resource":"*"}`)},
			request("ecs:RunTask", "*", nil), Allow, "A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Evaluate(tt.req, docs(t, tt.identity...), nil)
			checkDecision(t, d, tt.want, tt.sid)
		})
	}
}

func checkDecision(t *testing.T, d Decision, want Result, sid string) {
	t.Helper()
	if d.Result != want {
		t.Fatalf("Result = %v (%+v), want %v", d.Result, d, want)
	}
	if sid != "" && (d.Statement == nil || d.Statement.Sid != sid) {
		t.Errorf("deciding statement %+v, want Sid %q", d.Statement, sid)
	}
	if d.Allowed() != (want == Allow) {
		t.Errorf("Allowed() = %v", d.Allowed())
	}
}

func TestDecisionMessages(t *testing.T) {
	req := request("ecs:RunTask", clusterARN, nil)
	d := Evaluate(req, nil, nil)
	want := "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: ecs:RunTask on resource: " +
		clusterARN + " because no identity-based policy allows the ecs:RunTask action"
	if got := d.Message(req); got != want {
		t.Errorf("Message =\n%q\nwant\n%q", got, want)
	}
	deny := Evaluate(req, nil, docs(t, stmts(`{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}`)))
	if got := deny.Reason(req.Action); got != "with an explicit deny in a resource-based policy" {
		t.Errorf("Reason = %q", got)
	}
	if deny.Policy != 0 || deny.Document == nil {
		t.Errorf("deny does not point at its document: %+v", deny)
	}
	allow := Evaluate(req, docs(t, stmts(`{"Effect":"Allow","Action":"*","Resource":"*"}`)), nil)
	if allow.Message(req) != "" || allow.Reason(req.Action) != "" {
		t.Errorf("allow has a message")
	}
	if !strings.Contains(Evaluate(req, nil, nil, WithSessionPolicies()).Reason("x"), "identity-based") {
		t.Errorf("empty session option changes the reason")
	}
}

// TestEvaluateConcurrently shares parsed documents between goroutines, as
// the API layer does; run under -race it proves evaluation never writes.
func TestEvaluateConcurrently(t *testing.T) {
	identity := docs(t, stmts(`{"Effect":"Allow","Action":"ecs:*","Resource":"arn:aws:ecs:*:*:cluster/${aws:username}-*","Condition":{"ForAnyValue:StringLike":{"aws:TagKeys":"t*"}}}`))
	done := make(chan bool)
	for g := range 4 {
		go func() {
			ok := true
			for i := range 200 {
				req := Request{Action: "ecs:RunTask", Resource: "arn:aws:ecs:us-east-1:123456789012:cluster/alice-" + itoa(i),
					Principal: user("alice"), Context: map[string][]string{"AWS:TagKeys": {"team", itoa(g)}}}
				ok = ok && Evaluate(req, identity, identity).Allowed()
			}
			done <- ok
		}()
	}
	for range 4 {
		if !<-done {
			t.Errorf("a concurrent evaluation was denied")
		}
	}
}

// TestActionIndex: a long action list matched through its vendor index
// decides as the plain scan does.
func TestActionIndex(t *testing.T) {
	actions := []string{"ecr:Get*", "ecr:BatchGetImage", "ecs:Describe*", "ecs:List*", "s3:Get*", "iam:Get*", "iam:List*",
		"logs:Describe*", "sts:GetCallerIdentity", "ec2:Describe*", "ecr:List*", "ecs:Poll", "s3:List*", "s3-object-lambda:Get*",
		"cloudwatch:Get*", "ECR:Describe?mages", "elasticloadbalancing:Describe*"}
	for _, withStar := range []bool{false, true} {
		list := actions
		if withStar {
			list = append(slices.Clone(actions), "*")
		}
		doc, err := Parse(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":` + jsonList(list) + `,"Resource":"*"}]}`)
		if err != nil {
			t.Fatal(err)
		}
		s := doc.Statements[0]
		if s.byVendor == nil {
			t.Fatalf("a list of %d actions is not indexed", len(list))
		}
		for _, a := range []string{"ecr:getauthorizationtoken", "ecr:describeimages", "ecr:describeimagez", "ecr:putimage", "ecs:runtask",
			"ecs:describetasks", "s3:putobject", "s3-object-lambda:getobject", "sts:assumerole", "iam:createuser", "lambda:invoke", "ecs:poll"} {
			if got, want := s.matchesAction(a), matchAction(s.actions, a); got != want {
				t.Errorf("star %v, %s: indexed %v, scan %v", withStar, a, got, want)
			}
		}
	}
}

func jsonList(xs []string) string {
	b, _ := json.Marshal(xs)
	return string(b)
}
