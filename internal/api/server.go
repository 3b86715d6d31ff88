package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

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
	auth     Authenticator
	log      *slog.Logger
	services map[string]*JSONService  // by target prefix
	queries  map[string]*QueryService // by signing name
	mux      *http.ServeMux
	ready    atomic.Bool
}

// NewRouter builds a router that authenticates with auth.
func NewRouter(auth Authenticator, log *slog.Logger) *Router {
	r := &Router{auth: auth, log: log, services: map[string]*JSONService{}, queries: map[string]*QueryService{}, mux: http.NewServeMux()}
	r.mux.HandleFunc("GET /healthz", r.healthz)
	r.mux.Handle("GET /metrics", promhttp.Handler())
	r.mux.HandleFunc("POST /{$}", r.serveAPI)
	return r
}

// AddJSON registers a JSON 1.1 service.
func (r *Router) AddJSON(s *JSONService) { r.services[s.TargetPrefix] = s }

// AddQuery registers a Query protocol service.
func (r *Router) AddQuery(s *QueryService) { r.queries[s.Name] = s }

// Handle registers an extra route on the listener (Go 1.22 pattern syntax).
func (r *Router) Handle(pattern string, h http.Handler) { r.mux.Handle(pattern, h) }

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
func NewRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

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
	svcName := "unknown"
	if svc != nil {
		svcName = svc.Name
	}
	result := func(code string) {
		apiCalls.WithLabelValues(svcName, op, code).Inc()
		apiLatency.WithLabelValues(svcName, op).Observe(time.Since(start).Seconds())
	}
	limit := maxBody
	if svc != nil && svc.MaxBody > 0 {
		limit = svc.MaxBody
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, int64(limit)+1))
	if err != nil {
		WriteJSONError(w, Errorf(CodeSerialization, "could not read request body: %v", err))
		result(CodeSerialization)
		return
	}
	if len(body) > limit {
		WriteJSONError(w, &Error{Code: CodeSerialization, Message: "Request body is too large.", Status: http.StatusRequestEntityTooLarge})
		result(CodeSerialization)
		return
	}
	p, err := r.auth.Authenticate(req.Context(), req, body)
	if err != nil {
		e := AsError(err)
		WriteJSONError(w, e)
		result(e.Code)
		return
	}
	var h Handler
	if svc != nil {
		h = svc.ops[op]
	}
	if h == nil {
		e := Errorf(CodeUnknownOperation, "Operation %q is not supported by this endpoint.", target)
		WriteJSONError(w, e)
		result(e.Code)
		return
	}
	ctx := WithPrincipal(req.Context(), p)
	resp, err := r.call(ctx, h, body)
	if err != nil {
		e := AsError(err)
		if e.Status >= 500 {
			r.log.Error("api call failed", "service", svcName, "operation", op, "requestId", reqID, "err", err)
		}
		WriteJSONError(w, e)
		result(e.Code)
		return
	}
	out, err := encodeJSON(resp)
	if err != nil {
		WriteJSONError(w, AsError(err))
		result(CodeServerException)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Write(out)
	result("OK")
	r.log.Debug("api call", "service", svcName, "operation", op, "requestId", reqID, "took", time.Since(start))
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
