package api_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/auth"
)

var wireAccount = auth.Account{ID: "123456789012", RootAccessKeyID: "AKIAWIRETEST00000001", RootSecretAccessKey: "wireTestSecret/0123456789abcdefghijklmnop"}

// wireRouter is a router with the real authenticator (region us-east-1),
// an echo JSON service "Echo" signed as "echo", and a Query service "iam".
func wireRouter() *api.Router {
	r := api.NewRouter(auth.NewAuthenticator(wireAccount, "us-east-1"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	js := api.NewJSONService("echo", "Echo")
	js.Handle("Echo", api.Op(func(_ context.Context, in *struct{ Data string }) (*struct{ Data string }, error) {
		return &struct{ Data string }{in.Data}, nil
	}))
	r.AddJSON(js)
	q := api.NewQueryService("iam", "https://iam.amazonaws.com/doc/2010-05-08/")
	q.Handle("ListUsers", func(context.Context, url.Values) (any, error) { return nil, nil })
	r.AddQuery(q)
	return r
}

// sign signs req as id/secret for service in us-east-1; payloadHash is
// what the signature covers (the body's hash for a well-formed request).
func sign(t *testing.T, req *http.Request, id, secret, service, payloadHash string) {
	t.Helper()
	creds := aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash, service, "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// countingReader yields n bytes of 'x' and counts what was read.
type countingReader struct {
	left int64
	read atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, io.EOF
	}
	n := int64(len(p))
	if n > c.left {
		n = c.left
	}
	for i := range p[:n] {
		p[i] = 'x'
	}
	c.left -= n
	c.read.Add(n)
	return int(n), nil
}

// TestUnknownKeyBodyNotRead checks that a request signed with an unknown
// key, or for the wrong service, is refused before one byte of its (10 MB)
// body is read, and over a real listener answered while the client is
// still sending.
func TestUnknownKeyBodyNotRead(t *testing.T) {
	r := wireRouter()
	tests := []struct {
		name, id, service, target, wantCode string
	}{
		{"unknown key", "AKIANOBODY0000000000", "echo", "Echo.Echo", "UnrecognizedClientException"},
		{"wrong service", wireAccount.RootAccessKeyID, "ecs", "Echo.Echo", "InvalidSignatureException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := &countingReader{left: 10 << 20}
			req := httptest.NewRequest(http.MethodPost, "/", body)
			req.ContentLength = 10 << 20
			req.Header.Set("X-Amz-Target", tt.target)
			sign(t, req, tt.id, "whatever", tt.service, strings.Repeat("0", 64))
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), tt.wantCode) {
				t.Fatalf("answer %d %s, want 403 %s", w.Code, w.Body, tt.wantCode)
			}
			if n := body.read.Load(); n != 0 {
				t.Fatalf("read %d bytes of the body of a refused caller", n)
			}
		})
	}

	// Over TCP: the client sends the headers and 1 MB, then stalls; the
	// answer comes anyway.
	srv := httptest.NewServer(r)
	defer srv.Close()
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() {
		pw.Write(bytes.Repeat([]byte("x"), 1<<20))
		// and nothing more until the test ends
	}()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", pr)
	req.ContentLength = 10 << 20
	req.Header.Set("X-Amz-Target", "Echo.Echo")
	sign(t, req, "AKIANOBODY0000000000", "whatever", "echo", strings.Repeat("0", 64))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("no answer while the body was still coming: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403", resp.StatusCode)
	}
}

// TestOversizeBody checks that a known caller's body over the limit gets a
// clean 413 with the protocol's error shape, also when the client writes
// the whole body before reading the answer (the connection is not reset).
func TestOversizeBody(t *testing.T) {
	srv := httptest.NewServer(wireRouter())
	defer srv.Close()
	const size = 10<<20 + 16<<20 // over the 10 MiB limit by more than any socket buffer
	tests := []struct {
		name, target, contentType, wantType string
		chunked                             bool
	}{
		{"json", "Echo.Echo", "application/x-amz-json-1.1", "application/x-amz-json-1.1", false},
		{"json chunked", "Echo.Echo", "application/x-amz-json-1.1", "application/x-amz-json-1.1", true},
		{"query", "", "application/x-www-form-urlencoded", "text/xml", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			service := "echo"
			if tt.target == "" {
				service = "iam"
			}
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", nil)
			req.Header.Set("Content-Type", tt.contentType)
			if tt.target != "" {
				req.Header.Set("X-Amz-Target", tt.target)
			}
			sign(t, req, wireAccount.RootAccessKeyID, wireAccount.RootSecretAccessKey, service, strings.Repeat("0", 64))
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			// Write the whole request first, as most clients do, then read.
			var head bytes.Buffer
			fmt.Fprintf(&head, "POST / HTTP/1.1\r\nHost: %s\r\n", req.Host)
			for k, vs := range req.Header {
				for _, v := range vs {
					fmt.Fprintf(&head, "%s: %s\r\n", k, v)
				}
			}
			if tt.chunked {
				head.WriteString("Transfer-Encoding: chunked\r\n\r\n")
			} else {
				fmt.Fprintf(&head, "Content-Length: %d\r\n\r\n", size)
			}
			if _, err := conn.Write(head.Bytes()); err != nil {
				t.Fatal(err)
			}
			chunk := bytes.Repeat([]byte("x"), 1<<20)
			for sent := 0; sent < size; sent += len(chunk) {
				if tt.chunked {
					fmt.Fprintf(conn, "%x\r\n", len(chunk))
				}
				if _, err := conn.Write(chunk); err != nil {
					t.Fatalf("writing the body after %d bytes: %v (connection reset)", sent, err)
				}
				if tt.chunked {
					io.WriteString(conn, "\r\n")
				}
			}
			if tt.chunked {
				io.WriteString(conn, "0\r\n\r\n")
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), req)
			if err != nil {
				t.Fatalf("reading the answer: %v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge || resp.Header.Get("Content-Type") != tt.wantType {
				t.Fatalf("answer %d %s %s, want 413 %s", resp.StatusCode, resp.Header.Get("Content-Type"), b, tt.wantType)
			}
			if tt.target != "" {
				var e map[string]string
				if err := json.Unmarshal(b, &e); err != nil || e["__type"] != "SerializationException" {
					t.Fatalf("error body %s, want SerializationException", b)
				}
			} else if !strings.Contains(string(b), "<Code>ValidationError</Code>") {
				t.Fatalf("error body %s, want a ValidationError document", b)
			}
		})
	}
}

// apiLabelSets returns the label sets berth_api_requests_total has now.
func apiLabelSets(t *testing.T) map[string]bool {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sets := map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != "berth_api_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var parts []string
			for _, l := range m.GetLabel() {
				parts = append(parts, l.GetName()+"="+l.GetValue())
			}
			sets[strings.Join(parts, ",")] = true
		}
	}
	return sets
}

// TestMetricsLabelsBounded sends 100 random targets, Query actions and
// failed signatures naming random operations, and checks that the request
// counter gains only the few `unknown` label sets, never a name sent.
func TestMetricsLabelsBounded(t *testing.T) {
	r := wireRouter()
	send := func(target, form, id, secret, service string) {
		body := []byte("{}")
		if form != "" {
			body = []byte(form)
		}
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		if form != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req.Header.Set("X-Amz-Target", target)
		}
		sign(t, req, id, secret, service, hashOf(body))
		r.ServeHTTP(httptest.NewRecorder(), req)
	}
	root, secret := wireAccount.RootAccessKeyID, wireAccount.RootSecretAccessKey
	// One of each before counting, so the label sets that may exist do.
	send("Nope.Nope", "", root, secret, "echo")
	send("Echo.Nope", "", root, secret, "echo")
	send("Echo.Echo", "", "AKIANOBODY0000000000", "x", "echo")
	send("", "Action=Nope", root, secret, "iam")
	send("", "Action=Nope", "AKIANOBODY0000000000", "x", "iam")
	send("Echo.Nope", "", root, "wrong", "echo")
	send("", "Action=Nope", root, "wrong", "iam")
	before := apiLabelSets(t)
	for i := range 100 {
		name := fmt.Sprintf("R%d%x", i, rand.Uint64())
		switch i % 5 {
		case 0:
			send(name+"."+name, "", root, secret, "echo") // unknown service
		case 1:
			send("Echo."+name, "", root, secret, "echo") // unknown operation
		case 2:
			send("Echo."+name, "", "AKIANOBODY0000000000", "x", "echo") // unknown key
		case 3:
			send("", "Action="+name, root, secret, "iam") // unknown action
		case 4:
			send("Echo."+name, "", root, "wrong", "echo") // bad signature
		}
	}
	after := apiLabelSets(t)
	for set := range after {
		if !before[set] {
			t.Errorf("new label set %s", set)
		}
		if strings.Contains(set, "=R") {
			t.Errorf("label set %s carries a name the caller sent", set)
		}
	}
}

// TestFaultCodes checks that an internal error (a plain error or a panic)
// is answered with the service's own internal-error shape when it names
// one, and that client errors keep their code.
func TestFaultCodes(t *testing.T) {
	r := api.NewRouter(auth.NewAuthenticator(wireAccount, "us-east-1"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	handlers := map[string]api.Handler{
		"Plain": func(context.Context, []byte) (any, error) { return nil, errors.New("etcd is gone") },
		"Panic": func(context.Context, []byte) (any, error) { panic("bug") },
		"Bad":   func(context.Context, []byte) (any, error) { return nil, api.InvalidParameter("bad") },
	}
	logs := api.NewJSONService("logs", "Logs_20140328")
	logs.FaultCode = "ServiceUnavailableException"
	ecs := api.NewJSONService("ecs", "ECS")
	for name, h := range handlers {
		logs.Handle(name, h)
		ecs.Handle(name, h)
	}
	r.AddJSON(logs)
	r.AddJSON(ecs)
	for _, q := range []struct{ name, fault string }{{"iam", "ServiceFailure"}, {"sts", "InternalFailure"}} {
		qs := api.NewQueryService(q.name, "https://"+q.name+".amazonaws.com/doc/")
		qs.FaultCode = q.fault
		qs.Handle("Plain", func(context.Context, url.Values) (any, error) { return nil, errors.New("etcd is gone") })
		qs.Handle("Panic", func(context.Context, url.Values) (any, error) { panic("bug") })
		r.AddQuery(qs)
	}
	tests := []struct {
		service, target, action string
		wantStatus              int
		wantCode                string
	}{
		{"logs", "Logs_20140328.Plain", "", 500, "ServiceUnavailableException"},
		{"logs", "Logs_20140328.Panic", "", 500, "ServiceUnavailableException"},
		{"logs", "Logs_20140328.Bad", "", 400, "InvalidParameterException"},
		{"ecs", "ECS.Plain", "", 500, "ServerException"},
		{"ecs", "ECS.Panic", "", 500, "ServerException"},
		{"iam", "", "Plain", 500, "ServiceFailure"},
		{"iam", "", "Panic", 500, "ServiceFailure"},
		{"sts", "", "Plain", 500, "InternalFailure"},
	}
	for _, tt := range tests {
		t.Run(tt.service+" "+tt.target+tt.action, func(t *testing.T) {
			body := []byte("{}")
			if tt.action != "" {
				body = []byte("Action=" + tt.action + "&Version=2010-05-08")
			}
			req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			if tt.target != "" {
				req.Header.Set("X-Amz-Target", tt.target)
			} else {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			sign(t, req, wireAccount.RootAccessKeyID, wireAccount.RootSecretAccessKey, tt.service, hashOf(body))
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			got := w.Body.String()
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d %s, want %d", w.Code, got, tt.wantStatus)
			}
			if tt.target != "" {
				var e map[string]any
				json.Unmarshal(w.Body.Bytes(), &e)
				if e["__type"] != tt.wantCode {
					t.Fatalf("__type %v, want %s", e["__type"], tt.wantCode)
				}
			} else if !strings.Contains(got, "<Type>Receiver</Type><Code>"+tt.wantCode+"</Code>") {
				t.Fatalf("error document %s, want Receiver %s", got, tt.wantCode)
			}
		})
	}
}
