package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Handler serves one operation of a JSON service: it receives the raw request
// body and returns the value to encode as the response.
type Handler func(ctx context.Context, body []byte) (any, error)

// JSONService is an AWS JSON 1.1 service: operations addressed by
// X-Amz-Target "<TargetPrefix>.<Operation>".
type JSONService struct {
	// Name is the SigV4 signing name, e.g. "ecs".
	Name string
	// TargetPrefix is the X-Amz-Target prefix, e.g. "AmazonEC2ContainerServiceV20141113".
	TargetPrefix string
	// MaxBody bounds a request body when it must exceed the router's
	// default (ECR layer parts travel base64-encoded in JSON); 0 keeps it.
	MaxBody int
	// FaultCode is the code of the service's own internal-error shape
	// (Logs' ServiceUnavailableException); empty means ServerException,
	// as ECS and ECR name it.
	FaultCode string
	ops       map[string]Handler
}

// NewJSONService returns an empty service.
func NewJSONService(name, targetPrefix string) *JSONService {
	return &JSONService{Name: name, TargetPrefix: targetPrefix, ops: map[string]Handler{}}
}

// Handle registers the handler for an operation name.
func (s *JSONService) Handle(op string, h Handler) { s.ops[op] = h }

// Operations lists the registered operation names.
func (s *JSONService) Operations() []string {
	names := make([]string, 0, len(s.ops))
	for n := range s.ops {
		names = append(names, n)
	}
	return names
}

// Op adapts a typed function to a Handler: the body is decoded into Req
// (empty body means the zero request) and a decoding failure becomes
// SerializationException, as AWS answers.
func Op[Req any, Resp any](fn func(context.Context, *Req) (*Resp, error)) Handler {
	return func(ctx context.Context, body []byte) (any, error) {
		req := new(Req)
		if err := Decode(body, req); err != nil {
			return nil, err
		}
		return fn(ctx, req)
	}
}

// Decode unmarshals an AWS JSON body into v, mapping failures to
// SerializationException.
func Decode(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := te.Field
			if field == "" {
				field = "request"
			}
			return Errorf(CodeSerialization, "Unexpected value for %s: expected %s but got JSON %s", field, te.Type, te.Value)
		}
		return Errorf(CodeSerialization, "Malformed request body: %s", err.Error())
	}
	return nil
}

// encodeJSON is the response encoder; it never escapes HTML, as AWS does not.
func encodeJSON(v any) ([]byte, error) {
	var out encoded
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode response: %w", err)
	}
	return out, nil
}

// writeJSON writes v to w as encodeJSON encodes it. The encoder marshals
// the whole value before its one Write, so a value that fails to encode
// writes nothing (the caller can still answer the error), and a large
// answer goes out without a copy.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	return nil
}

// encoded keeps what a json.Encoder writes, which is one Write of the
// whole value: a copy of exactly its size, where a bytes.Buffer would grow
// (and clear) its way up to a large response (a RunTask on a full cluster
// of thousands answers a failure per instance).
type encoded []byte

func (e *encoded) Write(p []byte) (int, error) {
	*e = append(*e, p...)
	return len(p), nil
}
