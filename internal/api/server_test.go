package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type anyone struct{}

func (anyone) Begin(context.Context, *http.Request, string) (func([]byte) (Principal, error), error) {
	return func([]byte) (Principal, error) { return Principal{Root: true}, nil }, nil
}

type echoIn struct{ Data string }

// TestErrorFieldsAndMaxBody checks that error members beyond the message
// reach the wire and that a service may accept bodies above the default.
func TestErrorFieldsAndMaxBody(t *testing.T) {
	r := NewRouter(anyone{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	small := NewJSONService("small", "Small")
	big := NewJSONService("big", "Big")
	big.MaxBody = 2 * maxBody
	fail := Op(func(_ context.Context, in *echoIn) (*struct{}, error) {
		return nil, Errorf("InvalidLayerPartException", "bad part").With("lastValidByteReceived", 41)
	})
	ok := Op(func(_ context.Context, in *echoIn) (*struct{}, error) { return &struct{}{}, nil })
	small.Handle("Fail", fail)
	small.Handle("Echo", ok)
	big.Handle("Echo", ok)
	r.AddJSON(small)
	r.AddJSON(big)
	call := func(target, body string) (int, map[string]any) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", target)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		var out map[string]any
		json.Unmarshal(w.Body.Bytes(), &out)
		return w.Code, out
	}
	if code, out := call("Small.Fail", "{}"); code != 400 || out["__type"] != "InvalidLayerPartException" || out["lastValidByteReceived"] != float64(41) {
		t.Fatalf("error with fields: %d %v", code, out)
	}
	large := `{"Data":"` + strings.Repeat("x", maxBody+10) + `"}`
	if code, _ := call("Small.Echo", large); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("large body on the default limit: %d, want 413", code)
	}
	if code, out := call("Big.Echo", large); code != 200 {
		t.Fatalf("large body on a raised limit: %d %v", code, out)
	}
}

type answer struct {
	Text  string  `json:"text"`
	Value float64 `json:"value"`
}

// TestResponseEncoding checks what a successful call's answer looks like on
// the wire (one JSON value and a newline, HTML characters unescaped, as AWS
// sends them, whatever its size), and that an answer that cannot be encoded
// is a whole error, with nothing of the answer before it.
func TestResponseEncoding(t *testing.T) {
	r := NewRouter(anyone{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	svc := NewJSONService("svc", "Svc")
	svc.Handle("Small", Op(func(context.Context, *echoIn) (*answer, error) { return &answer{Text: "a<b&c>", Value: 1}, nil }))
	large := strings.Repeat("x", 3<<20)
	svc.Handle("Large", Op(func(context.Context, *echoIn) (*answer, error) { return &answer{Text: large}, nil }))
	svc.Handle("NaN", Op(func(context.Context, *echoIn) (*answer, error) {
		return &answer{Text: "partial", Value: math.NaN()}, nil
	}))
	r.AddJSON(svc)
	tests := []struct {
		target   string
		code     int
		body     string
		jsonType string
	}{
		{"Svc.Small", 200, `{"text":"a<b&c>","value":1}` + "\n", "application/x-amz-json-1.1"},
		{"Svc.Large", 200, `{"text":"` + large + `","value":0}` + "\n", "application/x-amz-json-1.1"},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
		req.Header.Set("X-Amz-Target", tt.target)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != tt.code || w.Body.String() != tt.body || w.Header().Get("Content-Type") != tt.jsonType {
			t.Errorf("%s: %d %s %.80q, want %d %s %.80q", tt.target, w.Code, w.Header().Get("Content-Type"), w.Body.String(), tt.code, tt.jsonType, tt.body)
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "Svc.NaN")
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || w.Code < 500 || out["__type"] == nil || strings.Contains(w.Body.String(), "partial") {
		t.Errorf("unencodable answer: %d %q (%v), want a whole 5xx error", w.Code, w.Body.String(), err)
	}
}
