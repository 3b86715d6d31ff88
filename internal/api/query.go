package api

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
)

// QueryHandler serves one action of an AWS Query service: it receives the
// decoded form parameters and returns the value encoded as <ActionResult>,
// or nil for actions without a result.
type QueryHandler func(ctx context.Context, params url.Values) (any, error)

// QueryService is an AWS Query protocol service (IAM, STS): form-encoded
// Action=...&Version=... requests, XML responses. The router finds it by
// the service name of the request's SigV4 credential scope.
type QueryService struct {
	// Name is the SigV4 signing name, e.g. "iam".
	Name string
	// Namespace is the xmlns of responses, e.g. "https://iam.amazonaws.com/doc/2010-05-08/".
	Namespace string
	// FaultCode is the code an internal error is answered with, as the
	// service names it (IAM's ServiceFailure, STS's InternalFailure).
	FaultCode string
	// Dialect is the protocol's layout: AWSQuery unless EC2Query.
	Dialect Dialect
	// Version, when set, is the one API version this service answers
	// under a signing name another service shares: Classic ELB's
	// 2012-06-01 beside ELBv2 under elasticloadbalancing. The service
	// without a Version answers the name's other versions.
	Version string
	ops     map[string]QueryHandler
}

// NewQueryService returns an empty Query service.
func NewQueryService(name, namespace string) *QueryService {
	return &QueryService{Name: name, Namespace: namespace, ops: map[string]QueryHandler{}}
}

// Handle registers the handler for an action.
func (s *QueryService) Handle(action string, h QueryHandler) { s.ops[action] = h }

// Actions lists the registered action names.
func (s *QueryService) Actions() []string {
	names := make([]string, 0, len(s.ops))
	for n := range s.ops {
		names = append(names, n)
	}
	return names
}

// Call runs an action in-process with form parameters, as the router does
// once the request is authenticated (the principal travels in ctx).
func (s *QueryService) Call(ctx context.Context, action string, params url.Values) (any, error) {
	h, ok := s.ops[action]
	if !ok {
		return nil, Errorf(CodeInvalidAction, "Could not find operation %s for version %s", action, params.Get("Version"))
	}
	return h(ctx, params)
}

// Query error codes of the protocol itself.
const (
	CodeValidation    = "ValidationError"
	CodeInvalidAction = "InvalidAction"
)

// QueryOp adapts a typed function to a QueryHandler: the form parameters
// are decoded into Req (see DecodeQuery). A nil *Resp means no result element.
func QueryOp[Req any, Resp any](fn func(context.Context, *Req) (*Resp, error)) QueryHandler {
	return typedOp(DecodeQuery, fn)
}

func typedOp[Req any, Resp any](decode func(url.Values, any) error, fn func(context.Context, *Req) (*Resp, error)) QueryHandler {
	return func(ctx context.Context, params url.Values) (any, error) {
		req := new(Req)
		if err := decode(params, req); err != nil {
			return nil, err
		}
		resp, err := fn(ctx, req)
		if err != nil || resp == nil {
			return nil, err
		}
		return resp, nil
	}
}

// DecodeQuery fills the struct v points to from Query form parameters.
// A field's parameter name is its `query` tag or its Go name; nested
// structs are "Name.Field", lists "Name.member.N" (N from 1) and lists of
// structs "Name.member.N.Field", as the AWS SDKs serialize them. Fields may
// be strings, bools, integers, pointers to them, structs and slices.
// A value that does not parse is a ValidationError.
func DecodeQuery(params url.Values, v any) error {
	return queryDecoder{member: ".member."}.decode(params, v)
}

// queryDecoder decodes a Query form into a struct. member is what lies
// between a list's name and an item's index: ".member." for awsQuery
// (IAM, STS), "." for EC2's flattened lists.
//
// used, when set, collects the parameters the struct consumed, so that a
// strict dialect can refuse the rest.
type queryDecoder struct {
	member string
	used   map[string]bool
}

func (d queryDecoder) decode(params url.Values, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("DecodeQuery: want a pointer to a struct, got %T", v)
	}
	return d.decodeStruct(params, "", rv.Elem())
}

func (d queryDecoder) decodeStruct(params url.Values, prefix string, v reflect.Value) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct && f.IsExported() {
			// An embedded struct's fields are the outer struct's.
			if err := d.decodeStruct(params, prefix, v.Field(i)); err != nil {
				return err
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		name := f.Name
		if tag := f.Tag.Get("query"); tag == "-" {
			continue
		} else if tag != "" {
			name = tag
		}
		if err := d.decodeValue(params, prefix+name, v.Field(i)); err != nil {
			return err
		}
	}
	return nil
}

// present reports whether any parameter is key itself or lies under key.
func present(params url.Values, key string) bool {
	if _, ok := params[key]; ok {
		return true
	}
	for k := range params {
		if strings.HasPrefix(k, key+".") {
			return true
		}
	}
	return false
}

func (d queryDecoder) decodeValue(params url.Values, key string, v reflect.Value) error {
	switch v.Kind() {
	case reflect.Pointer:
		if !present(params, key) {
			return nil
		}
		elem := reflect.New(v.Type().Elem())
		if err := d.decodeValue(params, key, elem.Elem()); err != nil {
			return err
		}
		v.Set(elem)
		return nil
	case reflect.Struct:
		return d.decodeStruct(params, key+".", v)
	case reflect.Slice:
		if _, ok := params[key]; ok && d.used != nil {
			d.used[key] = true // "Name=": how the SDKs send an empty list
		}
		for n := 1; ; n++ {
			member := key + d.member + strconv.Itoa(n)
			if !present(params, member) {
				return nil
			}
			elem := reflect.New(v.Type().Elem()).Elem()
			if err := d.decodeValue(params, member, elem); err != nil {
				return err
			}
			v.Set(reflect.Append(v, elem))
		}
	}
	raw, ok := params[key]
	if !ok || len(raw) == 0 {
		return nil
	}
	if d.used != nil {
		d.used[key] = true
	}
	s := raw[0]
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return Errorf(CodeValidation, "Invalid value for %s: %q is not a boolean.", key, s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return Errorf(CodeValidation, "Invalid value for %s: %q is not an integer.", key, s)
		}
		v.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return Errorf(CodeValidation, "Invalid value for %s: %q is not a number.", key, s)
		}
		v.SetFloat(f)
	default:
		return fmt.Errorf("DecodeQuery: unsupported field kind %s for %s", v.Kind(), key)
	}
	return nil
}

// Members is a list encoded the Query way: one <member> element per item
// inside the field's element, which is present even when the list is empty.
type Members[T any] []T

// MarshalXML implements xml.Marshaler.
func (m Members[T]) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	for _, item := range m {
		if err := e.EncodeElement(item, xml.StartElement{Name: xml.Name{Local: "member"}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// encodeQuery renders a successful response:
// <ActionResponse xmlns=NS><ActionResult>...</ActionResult><ResponseMetadata>...
func encodeQuery(action, namespace, reqID string, result any) ([]byte, error) {
	var b strings.Builder
	fmt.Fprintf(&b, `<%sResponse xmlns="%s">`, action, namespace)
	if result != nil {
		enc := xml.NewEncoder(&b)
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			return nil, fmt.Errorf("encode %s result: %w", action, err)
		}
		if err := enc.Flush(); err != nil {
			return nil, err
		}
	}
	b.WriteString("<ResponseMetadata><RequestId>")
	xml.EscapeText(&b, []byte(reqID))
	fmt.Fprintf(&b, "</RequestId></ResponseMetadata></%sResponse>", action)
	return []byte(b.String()), nil
}

// queryError is the XML error document of the Query protocol.
type queryError struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Namespace string   `xml:"xmlns,attr,omitempty"`
	Error     struct {
		Type    string
		Code    string
		Message string
	}
	RequestID string `xml:"RequestId"`
}

// queryCodes renames the codes JSON services use for authentication and
// authorization failures to what Query services (IAM, STS) answer.
var queryCodes = map[string]string{
	"UnrecognizedClientException":         "InvalidClientTokenId",
	"InvalidSignatureException":           "SignatureDoesNotMatch",
	"IncompleteSignatureException":        "IncompleteSignature",
	"MissingAuthenticationTokenException": "MissingAuthenticationToken",
	"ExpiredTokenException":               "ExpiredToken",
	CodeAccessDenied:                      "AccessDenied",
}

func encodeQueryError(namespace, reqID string, e *Error) ([]byte, int) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	var doc queryError
	doc.Namespace = namespace
	doc.Error.Type = "Sender"
	if status >= 500 {
		doc.Error.Type = "Receiver"
	}
	doc.Error.Code = e.Code
	if c, ok := queryCodes[e.Code]; ok {
		doc.Error.Code = c
	}
	if doc.Error.Code == "InvalidClientTokenId" || doc.Error.Code == "SignatureDoesNotMatch" || doc.Error.Code == "ExpiredToken" || doc.Error.Code == "AccessDenied" {
		status = http.StatusForbidden
	}
	doc.Error.Message = e.Message
	doc.RequestID = reqID
	b, _ := xml.Marshal(doc)
	return b, status
}
