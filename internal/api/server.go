package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// maxBody bounds a JSON request; AWS's own limits are lower for most calls.
const maxBody = 10 << 20

var apiCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "berth_api_requests_total",
	Help: "AWS API requests by service, operation and result code.",
}, []string{"service", "operation", "code"})

var apiLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "berth_api_request_seconds",
	Help:    "AWS API request latency by service and operation.",
	Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
}, []string{"service", "operation"})

func init() { prometheus.MustRegister(apiCalls, apiLatency) }

// Router is Berth's single HTTP listener: every AWS API on POST /, plus
// health, metrics and any extra routes (the agent websocket, the registry).
type Router struct {
	auth     Verifier
	log      *slog.Logger
	services map[string]*JSONService  // by target prefix
	queries  map[string]*QueryService // by signing name
	versions map[string]*QueryService // by signing name and "/" Version
	mux      *http.ServeMux
	ready    atomic.Bool
}

// NewRouter builds a router that authenticates with auth.
func NewRouter(auth Verifier, log *slog.Logger) *Router {
	r := &Router{auth: auth, log: log, services: map[string]*JSONService{}, queries: map[string]*QueryService{}, versions: map[string]*QueryService{}, mux: http.NewServeMux()}
	r.mux.HandleFunc("GET /healthz", r.healthz)
	r.mux.Handle("GET /metrics", promhttp.Handler())
	r.mux.HandleFunc("POST /{$}", r.serveAPI)
	return r
}

// AddJSON registers a JSON 1.1 service.
func (r *Router) AddJSON(s *JSONService) { r.services[s.TargetPrefix] = s }

// AddQuery registers a Query protocol service. One with a Version
// answers only requests of that version when another service has its
// signing name.
func (r *Router) AddQuery(s *QueryService) {
	if s.Version != "" {
		r.versions[s.Name+"/"+s.Version] = s
		if _, taken := r.queries[s.Name]; taken {
			return
		}
	}
	r.queries[s.Name] = s
}

// Handle registers an extra route on the listener (Go 1.22 pattern syntax).
func (r *Router) Handle(pattern string, h http.Handler) { r.mux.Handle(pattern, h) }

// AuthenticatorFor authenticates the plain HTTP routes of service (the
// agents' websockets and credentials endpoints) as the router's APIs are.
func (r *Router) AuthenticatorFor(service string) Authenticator {
	return ServiceAuthenticator(r.auth, service)
}

// SetReady flips /healthz to 200.
func (r *Router) SetReady(ok bool) { r.ready.Store(ok) }

// ServeHTTP implements http.Handler.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) { r.mux.ServeHTTP(w, req) }

func (r *Router) healthz(w http.ResponseWriter, _ *http.Request) {
	if !r.ready.Load() {
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ok\n")
}

// NewRequestID returns an AWS-style request id (a random UUID).
func NewRequestID() string { return uuid.NewString() }

// unknown is the metrics label of a service or operation the router does
// not serve, and of every request that fails authentication: a label never
// takes a name the caller sent, so the caller cannot grow the label set.
const unknown = "unknown"

func (r *Router) serveAPI(w http.ResponseWriter, req *http.Request) {
	start := time.Now()
	reqID := NewRequestID()
	w.Header().Set("x-amzn-RequestId", reqID)
	target := req.Header.Get("X-Amz-Target")
	if target == "" && isForm(req) {
		r.serveQuery(w, req, reqID, start)
		return
	}
	prefix, op, _ := strings.Cut(target, ".")
	svc := r.services[prefix]
	svcName, opLabel, signingName, faultCode := unknown, unknown, "", ""
	var h Handler
	limit := maxBody
	if svc != nil {
		svcName, signingName, h, faultCode = svc.Name, svc.Name, svc.ops[op], svc.FaultCode
		if svc.MaxBody > 0 {
			limit = svc.MaxBody
		}
	}
	result := func(code string) {
		apiCalls.WithLabelValues(svcName, opLabel, code).Inc()
		apiLatency.WithLabelValues(svcName, opLabel).Observe(time.Since(start).Seconds())
	}
	fail := func(err error) {
		e := asFault(err, faultCode)
		WriteJSONError(w, e)
		result(e.Code)
	}
	// The caller is known before its body is read: an unknown key never
	// makes the server read (or wait for) a large body.
	finish, err := r.auth.Begin(req.Context(), req, signingName)
	if err != nil {
		fail(err)
		return
	}
	body, err := readBody(req, limit, CodeSerialization)
	if err != nil {
		fail(err)
		return
	}
	p, err := finish(body)
	if err != nil {
		fail(err)
		return
	}
	if h == nil {
		fail(Errorf(CodeUnknownOperation, "Operation %q is not supported by this endpoint.", target))
		return
	}
	opLabel = op
	ctx := WithPrincipal(req.Context(), p)
	resp, err := r.call(ctx, h, body)
	if err != nil {
		e := AsError(err)
		if e.Status >= 500 {
			r.log.Error("api call failed", "service", svcName, "operation", op, "requestId", reqID, "err", err)
		}
		fail(e)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if err := writeJSON(w, resp); err != nil {
		fail(err)
		return
	}
	result("OK")
	r.log.Debug("api call", "service", svcName, "operation", op, "requestId", reqID, "took", time.Since(start))
}

// maxDrain is how much of a too-large body the router reads and drops so
// that a client that writes its whole body before reading the answer (as
// most HTTP clients do) gets the 413 rather than a reset connection. A body
// longer still is answered at once and its connection closed.
const maxDrain = 64 << 20

// readBody reads a request body of at most limit bytes. A longer one, by
// its Content-Length or as it arrives, is a 413 with code. It runs only
// once the caller is known (Verifier.Begin).
func readBody(req *http.Request, limit int, code string) ([]byte, error) {
	tooLarge := &Error{Code: code, Message: "Request body is too large.", Status: http.StatusRequestEntityTooLarge}
	if req.ContentLength > int64(limit) {
		if req.ContentLength <= int64(limit)+maxDrain {
			io.Copy(io.Discard, req.Body)
		}
		return nil, tooLarge
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, int64(limit)+1))
	if err != nil {
		return nil, Errorf(code, "could not read request body: %v", err)
	}
	if len(body) > limit {
		io.Copy(io.Discard, io.LimitReader(req.Body, maxDrain))
		return nil, tooLarge
	}
	return body, nil
}

// call runs a handler, turning a panic into a ServerException so one bad
// request cannot take the server down.
func (r *Router) call(ctx context.Context, h Handler, body []byte) (resp any, err error) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("handler panic", "panic", p)
			err = &Error{Code: CodeServerException, Message: "An internal error occurred.", Status: http.StatusInternalServerError}
		}
	}()
	return h(ctx, body)
}
