package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
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
