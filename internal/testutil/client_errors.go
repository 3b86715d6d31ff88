package testutil

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/api"
)

// fixedPrincipal authenticates every request as one principal.
type fixedPrincipal api.Principal

func (p fixedPrincipal) Begin(context.Context, *http.Request, string) (func([]byte) (api.Principal, error), error) {
	return func([]byte) (api.Principal, error) { return api.Principal(p), nil }, nil
}

// ClientErrorsOnly sends every body to every operation of js (but those
// in skip) through a router that takes each request as p's, and fails t
// on any 5xx: bad input must get a 4xx AWS error. prepare runs before each
// request, to restore what a delete operation removed.
func ClientErrorsOnly(t *testing.T, js *api.JSONService, p api.Principal, bodies []string, prepare func(), skip ...string) {
	t.Helper()
	r := api.NewRouter(fixedPrincipal(p), slog.New(slog.NewTextHandler(io.Discard, nil)))
	r.AddJSON(js)
	for _, op := range js.Operations() {
		if slices.Contains(skip, op) {
			continue
		}
		for _, body := range bodies {
			prepare()
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			req.Header.Set("X-Amz-Target", js.TargetPrefix+"."+op)
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			if w.Code >= 500 {
				t.Errorf("%s %s: %d %s", op, body, w.Code, w.Body)
			}
		}
	}
}
