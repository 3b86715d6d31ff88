package policy

import (
	"testing"
	"time"
)

// condCase evaluates one condition block against a request context.
type condCase struct {
	name string
	cond string // the Condition element's JSON
	ctx  map[string][]string
	want bool
}

func runConditions(t *testing.T, cases []condCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			d := mustParse(t, stmts(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":`+tt.cond+`}`))
			got := Evaluate(request("ecs:RunTask", "*", tt.ctx), []*Document{d}, nil).Allowed()
			if got != tt.want {
				t.Errorf("%s with %v = %v, want %v", tt.cond, tt.ctx, got, tt.want)
			}
		})
	}
}

func kv(pairs ...string) map[string][]string {
	m := map[string][]string{}
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i]] = append(m[pairs[i]], pairs[i+1])
	}
	return m
}

func TestStringConditions(t *testing.T) {
	runConditions(t, []condCase{
		{"equals", `{"StringEquals":{"aws:username":"alice"}}`, kv("aws:username", "alice"), true},
		{"equals is case-sensitive", `{"StringEquals":{"aws:username":"Alice"}}`, kv("aws:username", "alice"), false},
		{"equals any of values", `{"StringEquals":{"aws:username":["bob","alice"]}}`, kv("aws:username", "alice"), true},
		{"equals missing key", `{"StringEquals":{"aws:userid":"AIDA1"}}`, nil, false},
		{"equals empty value list is absent", `{"StringEquals":{"aws:username":"alice"}}`, map[string][]string{"aws:username": {}}, false},
		{"key names case-insensitive (policy)", `{"StringEquals":{"AWS:UserName":"alice"}}`, kv("aws:username", "alice"), true},
		{"key names case-insensitive (context)", `{"StringEquals":{"aws:username":"alice"}}`, kv("AWS:USERNAME", "alice"), true},
		{"not equals", `{"StringNotEquals":{"aws:username":"bob"}}`, kv("aws:username", "alice"), true},
		{"not equals same", `{"StringNotEquals":{"aws:username":"alice"}}`, kv("aws:username", "alice"), false},
		{"not equals is NOR", `{"StringNotEquals":{"aws:username":["bob","alice"]}}`, kv("aws:username", "alice"), false},
		{"not equals missing key is true", `{"StringNotEquals":{"aws:userid":"AIDA1"}}`, nil, true},
		{"equals ignore case", `{"StringEqualsIgnoreCase":{"aws:username":"ALICE"}}`, kv("aws:username", "alice"), true},
		{"not equals ignore case", `{"StringNotEqualsIgnoreCase":{"aws:username":"ALICE"}}`, kv("aws:username", "alice"), false},
		{"not equals ignore case other", `{"StringNotEqualsIgnoreCase":{"aws:username":"BOB"}}`, kv("aws:username", "alice"), true},
		{"like star", `{"StringLike":{"ecs:cluster":"arn:aws:ecs:*:cluster/prod-*"}}`, kv("ecs:cluster", "arn:aws:ecs:us-east-1:123456789012:cluster/prod-a"), true},
		{"like question", `{"StringLike":{"aws:username":"al?ce"}}`, kv("aws:username", "alice"), true},
		{"like no match", `{"StringLike":{"aws:username":"bo*"}}`, kv("aws:username", "alice"), false},
		{"like case-sensitive", `{"StringLike":{"aws:username":"A*"}}`, kv("aws:username", "alice"), false},
		{"not like", `{"StringNotLike":{"aws:username":"bo*"}}`, kv("aws:username", "alice"), true},
		{"not like match", `{"StringNotLike":{"aws:username":["bo*","al*"]}}`, kv("aws:username", "alice"), false},
		{"not like missing", `{"StringNotLike":{"aws:username":"bo*"}}`, nil, true},
		{"keys AND", `{"StringEquals":{"aws:username":"alice","ecs:cluster":"prod"}}`, kv("aws:username", "alice", "ecs:cluster", "dev"), false},
		{"keys AND both", `{"StringEquals":{"aws:username":"alice","ecs:cluster":"prod"}}`, kv("aws:username", "alice", "ecs:cluster", "prod"), true},
		{"operators AND", `{"StringEquals":{"aws:username":"alice"},"StringLike":{"ecs:cluster":"d*"}}`, kv("aws:username", "alice", "ecs:cluster", "prod"), false},
		{"tag key", `{"StringEquals":{"aws:ResourceTag/team":"infra"}}`, kv("aws:resourcetag/TEAM", "infra"), true},
		{"request tag", `{"StringEquals":{"aws:RequestTag/env":["dev","test"]}}`, kv("aws:RequestTag/env", "prod"), false},
		{"number value as text", `{"StringEquals":{"ecs:count":5}}`, kv("ecs:count", "5"), true},
		{"multi-valued context without set op", `{"StringEquals":{"aws:TagKeys":"a"}}`, kv("aws:TagKeys", "b", "aws:TagKeys", "a"), true},
		{"multi-valued context negated without set op", `{"StringNotEquals":{"aws:TagKeys":"a"}}`, kv("aws:TagKeys", "b", "aws:TagKeys", "a"), false},
	})
}

func TestARNConditions(t *testing.T) {
	role := "arn:aws:iam::123456789012:role/app/deployer"
	runConditions(t, []condCase{
		{"arn equals", `{"ArnEquals":{"aws:SourceArn":"` + role + `"}}`, kv("aws:SourceArn", role), true},
		{"arn equals wildcard", `{"ArnEquals":{"aws:SourceArn":"arn:aws:iam::*:role/app/*"}}`, kv("aws:SourceArn", role), true},
		{"arn like", `{"ArnLike":{"aws:SourceArn":"arn:aws:iam::123456789012:role/*"}}`, kv("aws:SourceArn", role), true},
		{"arn like case-sensitive", `{"ArnLike":{"aws:SourceArn":"arn:aws:iam::123456789012:ROLE/*"}}`, kv("aws:SourceArn", role), false},
		{"arn like segment-wise", `{"ArnLike":{"aws:SourceArn":"arn:aws:*:123456789012:role/*"}}`, kv("aws:SourceArn", role), false},
		{"arn like not an arn", `{"ArnLike":{"aws:SourceArn":"arn:aws:iam::*"}}`, kv("aws:SourceArn", "deployer"), false},
		{"arn not equals", `{"ArnNotEquals":{"aws:SourceArn":"arn:aws:iam::123456789012:role/other"}}`, kv("aws:SourceArn", role), true},
		{"arn not like", `{"ArnNotLike":{"aws:SourceArn":"arn:aws:iam::*:role/app/*"}}`, kv("aws:SourceArn", role), false},
		{"arn not like missing", `{"ArnNotLike":{"aws:SourceArn":"arn:aws:iam::*:role/app/*"}}`, nil, true},
		{"arn like principal arn derived", `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::123456789012:user/a*"}}`, nil, true},
	})
}

func TestNumericConditions(t *testing.T) {
	runConditions(t, []condCase{
		{"equals", `{"NumericEquals":{"ecs:count":"10"}}`, kv("ecs:count", "10"), true},
		{"equals float forms", `{"NumericEquals":{"ecs:count":10}}`, kv("ecs:count", "10.0"), true},
		{"equals other", `{"NumericEquals":{"ecs:count":10}}`, kv("ecs:count", "11"), false},
		{"not equals", `{"NumericNotEquals":{"ecs:count":10}}`, kv("ecs:count", "11"), true},
		{"not equals same", `{"NumericNotEquals":{"ecs:count":[9,10]}}`, kv("ecs:count", "10"), false},
		{"less than", `{"NumericLessThan":{"ecs:count":10}}`, kv("ecs:count", "9"), true},
		{"less than equal edge", `{"NumericLessThan":{"ecs:count":10}}`, kv("ecs:count", "10"), false},
		{"less than equals", `{"NumericLessThanEquals":{"ecs:count":10}}`, kv("ecs:count", "10"), true},
		{"greater than", `{"NumericGreaterThan":{"ecs:count":10}}`, kv("ecs:count", "10.5"), true},
		{"greater than edge", `{"NumericGreaterThan":{"ecs:count":10}}`, kv("ecs:count", "10"), false},
		{"greater than equals", `{"NumericGreaterThanEquals":{"ecs:count":10}}`, kv("ecs:count", "10"), true},
		{"negative", `{"NumericLessThan":{"ecs:count":-1}}`, kv("ecs:count", "-2"), true},
		{"context not a number", `{"NumericLessThan":{"ecs:count":10}}`, kv("ecs:count", "ten"), false},
		{"missing key", `{"NumericLessThan":{"ecs:count":10}}`, nil, false},
		{"missing key ifexists", `{"NumericLessThanIfExists":{"ecs:count":10}}`, nil, true},
		{"present key ifexists", `{"NumericLessThanIfExists":{"ecs:count":10}}`, kv("ecs:count", "11"), false},
	})
}

func TestDateConditions(t *testing.T) {
	now := "2026-11-25T12:00:00Z"
	runConditions(t, []condCase{
		{"equals iso", `{"DateEquals":{"aws:CurrentTime":"2026-11-25T12:00:00Z"}}`, kv("aws:CurrentTime", now), true},
		{"equals epoch vs iso", `{"DateEquals":{"aws:CurrentTime":"1795608000"}}`, kv("aws:CurrentTime", now), true},
		{"equals offset", `{"DateEquals":{"aws:CurrentTime":"2026-11-25T13:00:00+01:00"}}`, kv("aws:CurrentTime", now), true},
		{"not equals", `{"DateNotEquals":{"aws:CurrentTime":"2026-11-25T12:00:01Z"}}`, kv("aws:CurrentTime", now), true},
		{"less than", `{"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}`, kv("aws:CurrentTime", now), true},
		{"less than date only", `{"DateLessThan":{"aws:CurrentTime":"2026-11-25"}}`, kv("aws:CurrentTime", now), false},
		{"less than equals", `{"DateLessThanEquals":{"aws:CurrentTime":"2026-11-25T12:00:00Z"}}`, kv("aws:CurrentTime", now), true},
		{"greater than", `{"DateGreaterThan":{"aws:CurrentTime":"2026-11-25"}}`, kv("aws:CurrentTime", now), true},
		{"greater than epoch context", `{"DateGreaterThan":{"aws:EpochTime":"2026-01-01T00:00:00Z"}}`, kv("aws:EpochTime", "1795608000"), true},
		{"greater than equals", `{"DateGreaterThanEquals":{"aws:CurrentTime":"2026-11-25T12:00:00.000Z"}}`, kv("aws:CurrentTime", now), true},
		{"window", `{"DateGreaterThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"},"DateLessThan":{"aws:CurrentTime":"2026-06-30T00:00:00Z"}}`, kv("aws:CurrentTime", now), false},
		{"context not a date", `{"DateLessThan":{"aws:CurrentTime":"2027-01-01"}}`, kv("aws:CurrentTime", "soon"), false},
	})
}

func TestCurrentTimeFromRequest(t *testing.T) {
	d := docs(t, stmts(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"},"NumericGreaterThan":{"aws:EpochTime":1700000000}}}`))
	req := request("ecs:RunTask", "*", nil)
	if Evaluate(req, d, nil).Allowed() {
		t.Errorf("allowed without a time")
	}
	req.Time = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	if !Evaluate(req, d, nil).Allowed() {
		t.Errorf("denied with Time set")
	}
	req.Context = kv("aws:CurrentTime", "2027-02-01T00:00:00Z")
	if Evaluate(req, d, nil).Allowed() {
		t.Errorf("context aws:CurrentTime does not take precedence over Time")
	}
}

func TestBoolBinaryIPConditions(t *testing.T) {
	runConditions(t, []condCase{
		{"bool true", `{"Bool":{"aws:SecureTransport":"true"}}`, kv("aws:SecureTransport", "true"), true},
		{"bool json true", `{"Bool":{"aws:SecureTransport":true}}`, kv("aws:SecureTransport", "TRUE"), true},
		{"bool false", `{"Bool":{"aws:SecureTransport":"false"}}`, kv("aws:SecureTransport", "true"), false},
		{"bool missing", `{"Bool":{"aws:SecureTransport":"false"}}`, nil, false},
		{"bool ifexists missing", `{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}`, nil, true},
		{"binary", `{"BinaryEquals":{"ecs:blob":"QmluYXJ5VmFsdWU="}}`, kv("ecs:blob", "QmluYXJ5VmFsdWU="), true},
		{"binary other", `{"BinaryEquals":{"ecs:blob":"QmluYXJ5VmFsdWU="}}`, kv("ecs:blob", "eA=="), false},
		{"ip in cidr", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, kv("aws:SourceIp", "203.0.113.7"), true},
		{"ip outside cidr", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, kv("aws:SourceIp", "203.0.114.7"), false},
		{"ip single address", `{"IpAddress":{"aws:SourceIp":"203.0.113.7"}}`, kv("aws:SourceIp", "203.0.113.7"), true},
		{"ip unmasked cidr", `{"IpAddress":{"aws:SourceIp":"203.0.113.9/24"}}`, kv("aws:SourceIp", "203.0.113.200"), true},
		{"ip list", `{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}`, kv("aws:SourceIp", "192.168.3.4"), true},
		{"ipv6", `{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}`, kv("aws:SourceIp", "2001:db8::1"), true},
		{"ipv4-mapped context", `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, kv("aws:SourceIp", "::ffff:10.1.1.1"), true},
		{"ip not an ip", `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, kv("aws:SourceIp", "localhost"), false},
		{"not ip", `{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, kv("aws:SourceIp", "11.0.0.1"), true},
		{"not ip inside", `{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","11.0.0.0/8"]}}`, kv("aws:SourceIp", "11.0.0.1"), false},
		{"not ip missing", `{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, nil, true},
		{"ip ifexists missing", `{"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}`, nil, true},
	})
}

func TestNullAndIfExists(t *testing.T) {
	runConditions(t, []condCase{
		{"null true absent", `{"Null":{"aws:TokenIssueTime":"true"}}`, nil, true},
		{"null true present", `{"Null":{"aws:TokenIssueTime":"true"}}`, kv("aws:TokenIssueTime", "2026-01-01T00:00:00Z"), false},
		{"null false present", `{"Null":{"aws:TokenIssueTime":"false"}}`, kv("aws:TokenIssueTime", "2026-01-01T00:00:00Z"), true},
		{"null false absent", `{"Null":{"aws:TokenIssueTime":false}}`, nil, false},
		{"null empty string is absent", `{"Null":{"aws:TagKeys":"true"}}`, kv("aws:TagKeys", ""), true},
		{"null false empty string", `{"Null":{"aws:TagKeys":"false"}}`, kv("aws:TagKeys", ""), false},
		{"null empty values is absent", `{"Null":{"aws:TagKeys":"true"}}`, map[string][]string{"aws:TagKeys": {}}, true},
		{"ifexists missing", `{"StringEqualsIfExists":{"ecs:cluster":"prod"}}`, nil, true},
		{"ifexists present match", `{"StringEqualsIfExists":{"ecs:cluster":"prod"}}`, kv("ecs:cluster", "prod"), true},
		{"ifexists present mismatch", `{"StringEqualsIfExists":{"ecs:cluster":"prod"}}`, kv("ecs:cluster", "dev"), false},
		{"negated ifexists missing", `{"StringNotEqualsIfExists":{"ecs:cluster":"prod"}}`, nil, true},
		{"negated ifexists present", `{"StringNotEqualsIfExists":{"ecs:cluster":"prod"}}`, kv("ecs:cluster", "prod"), false},
		{"like ifexists", `{"StringLikeIfExists":{"ecs:cluster":"p*"}}`, kv("ecs:cluster", "prod"), true},
		{"arn ifexists", `{"ArnLikeIfExists":{"aws:SourceArn":"arn:aws:ecs:*:*:*"}}`, nil, true},
		{"date ifexists", `{"DateLessThanIfExists":{"aws:TokenIssueTime":"2020-01-01"}}`, nil, true},
		{"operator name case-insensitive", `{"stringequalsifexists":{"ecs:cluster":"prod"}}`, nil, true},
	})
}

func TestSetOperators(t *testing.T) {
	tags := kv("aws:TagKeys", "team", "aws:TagKeys", "env")
	runConditions(t, []condCase{
		{"all values subset", `{"ForAllValues:StringEquals":{"aws:TagKeys":["team","env","cost"]}}`, tags, true},
		{"all values not subset", `{"ForAllValues:StringEquals":{"aws:TagKeys":["team"]}}`, tags, false},
		{"all values missing key is true", `{"ForAllValues:StringEquals":{"aws:TagKeys":["team"]}}`, nil, true},
		{"all values empty string is true", `{"ForAllValues:StringEquals":{"aws:TagKeys":["team"]}}`, kv("aws:TagKeys", ""), true},
		{"any value empty string is false", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["team"]}}`, kv("aws:TagKeys", ""), false},
		{"all values empty set is true", `{"ForAllValues:StringEquals":{"aws:TagKeys":["team"]}}`, map[string][]string{"aws:TagKeys": {}}, true},
		{"all values like", `{"ForAllValues:StringLike":{"aws:TagKeys":["t*","e*"]}}`, tags, true},
		{"all values not like", `{"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}}`, kv("aws:TagKeys", "key2:audit"), true},
		{"all values not like one matches", `{"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}}`, kv("aws:TagKeys", "key1:legal", "aws:TagKeys", "key2"), false},
		{"all values not like missing", `{"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}}`, nil, true},
		{"any value one matches", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["env","x"]}}`, tags, true},
		{"any value none match", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["x","y"]}}`, tags, false},
		{"any value missing key is false", `{"ForAnyValue:StringEquals":{"aws:TagKeys":"env"}}`, nil, false},
		{"any value empty set is false", `{"ForAnyValue:StringEquals":{"aws:TagKeys":"env"}}`, map[string][]string{"aws:TagKeys": {}}, false},
		{"any value negated", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"env"}}`, tags, true},
		{"any value negated all listed", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["env","team"]}}`, tags, false},
		{"any value negated missing", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"env"}}`, nil, false},
		{"any value ifexists missing", `{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":"env"}}`, nil, true},
		{"all values ifexists missing", `{"ForAllValues:StringEqualsIfExists":{"aws:TagKeys":"env"}}`, nil, true},
		{"set operator case-insensitive", `{"forallvalues:StringEquals":{"aws:TagKeys":["team","env"]}}`, tags, true},
		{"any value numeric", `{"ForAnyValue:NumericGreaterThan":{"ecs:ports":1024}}`, kv("ecs:ports", "80", "ecs:ports", "8080"), true},
		{"all values numeric", `{"ForAllValues:NumericGreaterThan":{"ecs:ports":1024}}`, kv("ecs:ports", "80", "ecs:ports", "8080"), false},
		{"all values ip", `{"ForAllValues:IpAddress":{"ecs:ips":"10.0.0.0/8"}}`, kv("ecs:ips", "10.0.0.1", "ecs:ips", "10.9.9.9"), true},
		{"any value arn", `{"ForAnyValue:ArnLike":{"ecs:arns":"arn:aws:ecs:*:*:cluster/*"}}`, kv("ecs:arns", "x", "ecs:arns", clusterARN), true},
		{"all values null-check combo", `{"ForAllValues:StringEquals":{"aws:TagKeys":"team"},"Null":{"aws:TagKeys":"false"}}`, nil, false},
	})
}

func TestConditionVariables(t *testing.T) {
	runConditions(t, []condCase{
		{"string equals variable", `{"StringEquals":{"aws:ResourceTag/owner":"${aws:username}"}}`, kv("aws:username", "alice", "aws:ResourceTag/owner", "alice"), true},
		{"string equals variable mismatch", `{"StringEquals":{"aws:ResourceTag/owner":"${aws:username}"}}`, kv("aws:username", "alice", "aws:ResourceTag/owner", "bob"), false},
		{"variable unresolved", `{"StringEquals":{"aws:ResourceTag/owner":"${aws:userid}"}}`, kv("aws:ResourceTag/owner", "${aws:userid}"), false},
		{"variable unresolved negated", `{"StringNotEquals":{"aws:ResourceTag/owner":"${aws:userid}"}}`, kv("aws:ResourceTag/owner", "bob"), true},
		{"username derived from the user", `{"StringEquals":{"aws:username":"alice"}}`, nil, true},
		{"variable default", `{"StringEquals":{"aws:ResourceTag/owner":"${aws:userid, 'nobody'}"}}`, kv("aws:ResourceTag/owner", "nobody"), true},
		{"variable in like", `{"StringLike":{"ecs:cluster":"${aws:username}-*"}}`, kv("aws:username", "alice", "ecs:cluster", "alice-dev"), true},
		{"principal tag variable", `{"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}}`, kv("aws:PrincipalTag/team", "infra", "aws:ResourceTag/team", "infra"), true},
		{"numeric ignores variables", `{"StringEquals":{"ecs:x":"${*}"}}`, kv("ecs:x", "*"), true},
	})
	d := mustParse(t, `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"ecs:x":"${aws:username}"}}}}`)
	if !Evaluate(request("ecs:RunTask", "*", kv("aws:username", "alice", "ecs:x", "${aws:username}")), []*Document{d}, nil).Allowed() {
		t.Errorf("2008-10-17 document substituted a variable")
	}
}
