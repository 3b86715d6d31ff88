package api

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
)

// TestQueryVersions: two services under one signing name are told apart
// by Version, whichever registers first; a version neither names goes to
// the one without a Version, and so do errors before the form is read.
func TestQueryVersions(t *testing.T) {
	service := func(ns, version, answer string) *QueryService {
		q := NewQueryService("shared", ns)
		q.Version = version
		q.Handle("Which", QueryOp(func(context.Context, *struct{}) (*struct{ Answer string }, error) {
			return &struct{ Answer string }{answer}, nil
		}))
		return q
	}
	for _, order := range []string{"versioned first", "versioned last"} {
		t.Run(order, func(t *testing.T) {
			r := NewRouter(anyone{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
			v1, v2 := service("https://v1/", "2012-06-01", "classic"), service("https://v2/", "", "v2")
			if order == "versioned first" {
				r.AddQuery(v1)
				r.AddQuery(v2)
			} else {
				r.AddQuery(v2)
				r.AddQuery(v1)
			}
			for _, tc := range []struct{ form, want string }{
				{"Action=Which&Version=2012-06-01", `<WhichResponse xmlns="https://v1/"><WhichResult><Answer>classic</Answer>`},
				{"Action=Which&Version=2015-12-01", `<WhichResponse xmlns="https://v2/"><WhichResult><Answer>v2</Answer>`},
				{"Action=Which", `<Answer>v2</Answer>`},
				{"Action=Nope&Version=2012-06-01", `<ErrorResponse xmlns="https://v1/">`},
			} {
				if w := callQuery(r, "shared", tc.form); !strings.Contains(w.Body.String(), tc.want) {
					t.Errorf("%s: %s, want %s", tc.form, w.Body, tc.want)
				}
			}
		})
	}
}
