package dockerrt_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/agent/dockerrt"
	"github.com/moby/moby/client"
)

// fakeEngine serves just enough of the Engine API (as Docker 20.10 does) to
// exercise EnsureImage's pull paths without a registry.
func fakeEngine(t *testing.T) *dockerrt.Runtime {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/_ping":
			w.Header().Set("Api-Version", "1.41")
			w.Header().Set("Ostype", "linux")
			fmt.Fprint(w, "OK")
		case strings.HasPrefix(r.URL.Path, "/v1.41/images/") && strings.HasSuffix(r.URL.Path, "/json"):
			name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1.41/images/"), "/json")
			if name == "example.com/present:1" {
				fmt.Fprint(w, `{"Id":"sha256:1"}`)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"message":"no such image: %s: No such image: %s"}`, name, name)
		case r.URL.Path == "/v1.41/images/create" && r.Method == http.MethodPost:
			ref := r.URL.Query().Get("fromImage") + ":" + r.URL.Query().Get("tag")
			if got := r.Header.Get("X-Registry-Auth"); ref == "example.com/private:1" && got != "c2VjcmV0" {
				t.Errorf("X-Registry-Auth = %q", got)
			}
			w.Header().Set("Content-Type", "application/json")
			switch ref {
			case "example.com/denied:1":
				w.WriteHeader(http.StatusNotFound)
				fmt.Fprint(w, `{"message":"pull access denied for example.com/denied, repository does not exist or may require 'docker login': denied: requested access to the resource is denied"}`)
			case "example.com/broken:1":
				fmt.Fprint(w, `{"status":"Pulling from broken","id":"1"}`+"\n")
				fmt.Fprint(w, `{"errorDetail":{"message":"manifest unknown: manifest unknown"},"error":"manifest unknown: manifest unknown"}`+"\n")
			default:
				for _, l := range []string{
					`{"status":"Pulling from private","id":"1"}`,
					`{"status":"Pulling fs layer","progressDetail":{},"id":"aaa"}`,
					`{"status":"Downloading","progressDetail":{"current":100,"total":40000000},"id":"aaa"}`,
					`{"status":"Downloading","progressDetail":{"current":200,"total":40000000},"id":"aaa"}`,
					`{"status":"Pull complete","progressDetail":{},"id":"aaa"}`,
					`{"status":"Digest: sha256:abc"}`,
					`{"status":"Status: Downloaded newer image for example.com/private:1"}`,
				} {
					fmt.Fprintln(w, l)
				}
			}
		default:
			t.Errorf("unexpected request %s %s", r.Method, r.URL)
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	cli, err := client.New(client.WithHost("tcp://" + srv.Listener.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	rt, err := dockerrt.NewWithClient(t.Context(), cli)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	return rt
}

func TestEnsureImagePullPaths(t *testing.T) {
	rt := fakeEngine(t)
	tests := []struct {
		image        string
		alwaysPull   bool
		wantErr      string
		wantNotFound bool
		wantLines    []string
	}{
		{image: "example.com/present:1"},
		{image: "example.com/denied:1", wantErr: "pull access denied for example.com/denied", wantNotFound: true},
		{image: "example.com/broken:1", wantErr: "manifest unknown", wantLines: []string{"1: Pulling from broken"}},
		{image: "example.com/private:1", wantLines: []string{
			"1: Pulling from private",
			"aaa: Pulling fs layer",
			"aaa: Pull complete",
			"Digest: sha256:abc",
			"Status: Downloaded newer image for example.com/private:1",
		}},
		{image: "example.com/present:1", alwaysPull: true, wantLines: []string{"1: Pulling from private", "aaa: Pulling fs layer", "aaa: Pull complete", "Digest: sha256:abc", "Status: Downloaded newer image for example.com/private:1"}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s always=%v", tc.image, tc.alwaysPull), func(t *testing.T) {
			var lines []string
			err := rt.EnsureImage(t.Context(), tc.image, "c2VjcmV0", tc.alwaysPull, func(s string) { lines = append(lines, s) })
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !dockerrt.IsPullError(err) {
					t.Fatalf("err = %v, want PullError containing %q", err, tc.wantErr)
				}
				if dockerrt.IsNotFound(err) != tc.wantNotFound {
					t.Errorf("IsNotFound(%v) = %v", err, !tc.wantNotFound)
				}
			}
			if strings.Join(lines, "\n") != strings.Join(tc.wantLines, "\n") {
				t.Errorf("progress:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(tc.wantLines, "\n"))
			}
		})
	}
}
