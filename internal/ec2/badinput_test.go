package ec2

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/api"
)

// rootVerifier lets every request through as the account's root.
type rootVerifier struct{}

func (rootVerifier) Begin(context.Context, *http.Request, string) (func([]byte) (api.Principal, error), error) {
	return func([]byte) (api.Principal, error) {
		return api.Principal{Account: testAccount.ID, ARN: testAccount.RootARN(), Root: true}, nil
	}, nil
}

// TestBadInputIsAClientError sends malformed forms to every action: each
// answers 2xx or 4xx with an EC2 error document, never 5xx.
func TestBadInputIsAClientError(t *testing.T) {
	e := newEnv(t)
	router := api.NewRouter(rootVerifier{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	q := e.svc.QueryService()
	router.AddQuery(q)
	forms := []string{
		"", "VpcId=x", "VpcId=vpc-00000000000000000", "CidrBlock=abc", "CidrBlock=10.0.0.0%2F40", "CidrBlock=::1%2F64",
		"MaxResults=0", "MaxResults=abc", "MaxResults=99999999999999999999", "NextToken=!!", "NextToken=eA", "Filter.1.Name=", "Filter.1.Name=tag:x&Filter.1.Value.1=*",
		"VpcId.1=&SubnetId.1=&GroupId.1=&KeyName.1=&KeyPairId.1=", "GroupName=default", "GroupName=x&GroupDescription=y&VpcId=nope",
		"GroupId=sg-x&IpPermissions.1.IpProtocol=tcp", "GroupName=default&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=99999999999",
		"GroupName=default&IpPermissions.1.IpProtocol=-1&IpPermissions.1.Groups.1.GroupId=sg-nope",
		"GroupName=default&IpPermissions.1.IpProtocol=-1&IpPermissions.1.Groups.1.GroupName=nope",
		"GroupName=default&IpProtocol=icmp&FromPort=300&CidrIp=0.0.0.0%2F0", "GroupName=default&SecurityGroupRuleId.1=sgr-x",
		"ResourceId.1=foo&Tag.1.Key=a", "ResourceId.1=vpc-1&Tag.1.Key=", "ResourceId.1=vpc-1&Tag.1.Key=aws:x",
		"KeyName=" + strings.Repeat("k", 300), "KeyName=a&KeyType=dsa", "KeyName=a&KeyFormat=ppk", "KeyName=a&PublicKeyMaterial=%25%25",
		"KeyName=%01", "TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=a&CidrBlock=10.0.0.0%2F16",
		"ZoneName.1=nowhere", "RegionName.1=mars-1", "AvailabilityZone=us-east-1z&VpcId=x&CidrBlock=10.0.0.0%2F24",
		"InstanceTenancy=dedicated&CidrBlock=10.0.0.0%2F16", "DryRun=maybe",
	}
	for _, action := range q.Actions() {
		for _, form := range forms {
			body := "Action=" + action + "&Version=2016-11-15&" + form
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=x")
			w := httptest.NewRecorder()
			router.ServeHTTP(w, req)
			if w.Code >= 500 {
				t.Errorf("%s %s: %d %s", action, form, w.Code, w.Body)
			}
			if w.Code >= 400 && !strings.Contains(w.Body.String(), "<Response><Errors><Error><Code>") {
				t.Errorf("%s %s: %d without an EC2 error document: %s", action, form, w.Code, w.Body)
			}
		}
	}
}
