package api

import (
	"context"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

type ec2Filter struct {
	Name   string
	Values []string `query:"Value"`
}

type ec2In struct {
	VpcIds  []string    `query:"VpcId"`
	Filters []ec2Filter `query:"Filter"`
	DryRun  bool
}

func TestDecodeEC2Query(t *testing.T) {
	for _, tt := range []struct {
		name, form string
		want       ec2In
	}{
		{"empty", "", ec2In{}},
		{"flattened scalar list", "VpcId.1=vpc-a&VpcId.2=vpc-b", ec2In{VpcIds: []string{"vpc-a", "vpc-b"}}},
		{"list of structs with lists", "Filter.1.Name=cidr&Filter.1.Value.1=10.0.0.0%2F16&Filter.1.Value.2=x&Filter.2.Name=tag%3AName&Filter.2.Value.1=web",
			ec2In{Filters: []ec2Filter{{"cidr", []string{"10.0.0.0/16", "x"}}, {"tag:Name", []string{"web"}}}}},
		{"dry run", "DryRun=true", ec2In{DryRun: true}},
		{"protocol parameters", "Action=DescribeVpcs&Version=2016-11-15", ec2In{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			params, _ := url.ParseQuery(tt.form)
			var got ec2In
			if err := DecodeEC2Query(params, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

type ec2Vpc struct {
	VpcID     string `xml:"vpcId"`
	CidrBlock string `xml:"cidrBlock"`
}

type ec2Out struct {
	Vpcs Items[ec2Vpc] `xml:"vpcSet"`
}

func TestEC2Routing(t *testing.T) {
	r := NewRouter(anyone{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	svc := NewEC2QueryService("ec2", "http://ec2.amazonaws.com/doc/2016-11-15/")
	svc.Handle("DescribeVpcs", EC2Op(func(_ context.Context, in *ec2In) (*ec2Out, error) {
		out := &ec2Out{Vpcs: Items[ec2Vpc]{}}
		for _, id := range in.VpcIds {
			out.Vpcs = append(out.Vpcs, ec2Vpc{VpcID: id, CidrBlock: "10.0.0.0/16"})
		}
		return out, nil
	}))
	svc.Handle("DeleteVpc", EC2Op(func(_ context.Context, in *ec2In) (*struct {
		Return bool `xml:"return"`
	}, error) {
		if len(in.VpcIds) == 0 {
			return nil, Errorf("InvalidVpcID.NotFound", "The vpc ID '' does not exist")
		}
		return &struct {
			Return bool `xml:"return"`
		}{true}, nil
	}))
	svc.Handle("Forbidden", EC2Op(func(_ context.Context, in *ec2In) (*struct{}, error) {
		return nil, Errorf(CodeAccessDenied, "User: arn:aws:iam::1:user/u is not authorized to perform: ec2:Forbidden on resource: *")
	}))
	r.AddQuery(svc)
	for _, tt := range []struct {
		name, form string
		status     int
		body       string
	}{
		{"members directly in the response", "Action=DescribeVpcs&Version=2016-11-15&VpcId.1=vpc-1", 200,
			`<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>`},
		{"items", "Action=DescribeVpcs&VpcId.1=vpc-1&VpcId.2=vpc-2", 200,
			`<vpcSet><item><vpcId>vpc-1</vpcId><cidrBlock>10.0.0.0/16</cidrBlock></item><item><vpcId>vpc-2</vpcId>`},
		{"empty list keeps its element", "Action=DescribeVpcs", 200, `</requestId><vpcSet></vpcSet></DescribeVpcsResponse>`},
		{"scalar result", "Action=DeleteVpc&VpcId.1=vpc-1", 200, `</requestId><return>true</return></DeleteVpcResponse>`},
		{"error document", "Action=DeleteVpc", 400,
			`<Response><Errors><Error><Code>InvalidVpcID.NotFound</Code><Message>The vpc ID &#39;&#39; does not exist</Message></Error></Errors><RequestID>`},
		{"denied is UnauthorizedOperation", "Action=Forbidden", 403,
			`<Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation. User: arn:aws:iam::1:user/u`},
		{"unknown action", "Action=Nope", 400, `<Code>InvalidAction</Code><Message>The action Nope is not valid for this web service.</Message>`},
		{"bad value", "Action=DescribeVpcs&DryRun=perhaps", 400, `<Code>InvalidParameterValue</Code>`},
		{"unknown parameter", "Action=DescribeVpcs&VpcId.1=vpc-1&Colour=blue", 400, `<Code>UnknownParameter</Code><Message>The parameter Colour is not recognized</Message>`},
		{"awsQuery member lists are not EC2 lists", "Action=DescribeVpcs&VpcId.member.1=vpc-a", 400, `<Code>UnknownParameter</Code>`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := callQuery(r, "ec2", tt.form)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.body) {
				t.Fatalf("got %d %s\nwant %d containing %s", w.Code, w.Body, tt.status, tt.body)
			}
			var doc struct{ XMLName xml.Name }
			if err := xml.Unmarshal(w.Body.Bytes(), &doc); err != nil {
				t.Fatalf("not XML: %v", err)
			}
			if tt.status != http.StatusOK && doc.XMLName.Local != "Response" {
				t.Fatalf("error root %s, want Response", doc.XMLName.Local)
			}
		})
	}
}
