package api

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Dialect is how a Query service lays out its lists, results and errors.
type Dialect int

const (
	// AWSQuery is the Query protocol of IAM, STS, Auto Scaling and ELBv2:
	// "Name.member.N" lists, <ActionResult> inside <ActionResponse>,
	// <ErrorResponse> errors.
	AWSQuery Dialect = iota
	// EC2Query is EC2's: flattened "Name.N" lists, the result's members
	// directly inside <ActionResponse> after <requestId>, and
	// <Response><Errors><Error> errors.
	EC2Query
)

// NewEC2QueryService returns an empty Query service of the EC2 dialect.
func NewEC2QueryService(name, namespace string) *QueryService {
	s := NewQueryService(name, namespace)
	s.Dialect = EC2Query
	return s
}

// DecodeEC2Query is DecodeQuery for the EC2 dialect: a list is "Name.N"
// and a list of structs "Name.N.Field", as the SDKs serialize EC2 calls.
// As EC2 does, it refuses a parameter v has no field for
// (UnknownParameter), so that no input is silently ignored.
func DecodeEC2Query(params url.Values, v any) error {
	return decodeStrict(params, v, ".", "UnknownParameter", "The parameter %s is not recognized")
}

// DecodeStrictQuery is DecodeQuery that refuses, with a ValidationError, a
// parameter v has no field for: the services that answer it (Auto
// Scaling) accept more of AWS's parameters than Berth acts on, and none
// is silently ignored.
func DecodeStrictQuery(params url.Values, v any) error {
	return decodeStrict(params, v, ".member.", CodeValidation, "The parameter %s is not supported by Berth.")
}

func decodeStrict(params url.Values, v any, member, code, format string) error {
	d := queryDecoder{member: member, used: map[string]bool{"Action": true, "Version": true}}
	if err := d.decode(params, v); err != nil {
		return err
	}
	var unknown []string
	for k := range params {
		if !d.used[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return Errorf(code, format, unknown[0])
	}
	return nil
}

// EC2Op adapts a typed function to a QueryHandler of the EC2 dialect, as
// QueryOp does for awsQuery.
func EC2Op[Req any, Resp any](fn func(context.Context, *Req) (*Resp, error)) QueryHandler {
	return typedOp(DecodeEC2Query, fn)
}

// StrictQueryOp is QueryOp with DecodeStrictQuery.
func StrictQueryOp[Req any, Resp any](fn func(context.Context, *Req) (*Resp, error)) QueryHandler {
	return typedOp(DecodeStrictQuery, fn)
}

// Items is a list encoded the EC2 way: one <item> element per entry
// inside the field's element, which is present even when the list is empty.
type Items[T any] []T

// MarshalXML implements xml.Marshaler.
func (m Items[T]) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	for _, item := range m {
		if err := e.EncodeElement(item, xml.StartElement{Name: xml.Name{Local: "item"}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// encodeEC2 renders a successful EC2 response:
// <ActionResponse xmlns=NS><requestId>...</requestId>result members...
func encodeEC2(action, namespace, reqID string, result any) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<%sResponse xmlns="%s"><requestId>`, action, namespace)
	xml.EscapeText(&b, []byte(reqID))
	b.WriteString("</requestId>")
	if result != nil {
		// The result's own element is dropped: its members are the
		// response's children. (Result types carry no XMLName or attributes.)
		var inner bytes.Buffer
		enc := xml.NewEncoder(&inner)
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: "r"}}); err != nil {
			return nil, fmt.Errorf("encode %s result: %w", action, err)
		}
		if err := enc.Flush(); err != nil {
			return nil, err
		}
		b.Write(bytes.TrimSuffix(bytes.TrimPrefix(inner.Bytes(), []byte("<r>")), []byte("</r>")))
	}
	fmt.Fprintf(&b, "</%sResponse>", action)
	return b.Bytes(), nil
}

// ec2Codes renames the codes of authentication and authorization
// failures to EC2's.
var ec2Codes = map[string]string{
	"UnrecognizedClientException":         "AuthFailure",
	"InvalidSignatureException":           "SignatureDoesNotMatch",
	"IncompleteSignatureException":        "IncompleteSignature",
	"MissingAuthenticationTokenException": "MissingAuthenticationToken",
	"ExpiredTokenException":               "RequestExpired",
	CodeAccessDenied:                      "UnauthorizedOperation",
	CodeValidation:                        "InvalidParameterValue",
}

// ec2Error is EC2's error document.
type ec2Error struct {
	XMLName xml.Name `xml:"Response"`
	Errors  struct {
		Error struct {
			Code    string
			Message string
		}
	}
	RequestID string
}

func encodeEC2Error(reqID string, e *Error) ([]byte, int) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	var doc ec2Error
	doc.Errors.Error.Code = e.Code
	doc.Errors.Error.Message = e.Message
	if c, ok := ec2Codes[e.Code]; ok {
		doc.Errors.Error.Code = c
	}
	switch doc.Errors.Error.Code {
	case "AuthFailure":
		status = http.StatusUnauthorized
	case "SignatureDoesNotMatch", "RequestExpired":
		status = http.StatusForbidden
	case "UnauthorizedOperation":
		status = http.StatusForbidden
		if !strings.HasPrefix(e.Message, "You are not authorized") {
			doc.Errors.Error.Message = "You are not authorized to perform this operation. " + e.Message
		}
	}
	doc.RequestID = reqID
	b, _ := xml.Marshal(doc)
	return append([]byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"), b...), status
}
