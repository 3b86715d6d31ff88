package api

import (
	"context"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// isForm reports whether a request carries a Query protocol form body.
func isForm(req *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded"
}

// signingService returns the service name of the request's SigV4
// credential scope (".../region/SERVICE/aws4_request"), from the
// Authorization header or a presigned X-Amz-Credential parameter.
func signingService(req *http.Request) string {
	cred := req.URL.Query().Get("X-Amz-Credential")
	if h := req.Header.Get("Authorization"); h != "" {
		_, rest, ok := strings.Cut(h, "Credential=")
		if !ok {
			return ""
		}
		cred, _, _ = strings.Cut(rest, ",")
	}
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[3]
}

// serveQuery serves an AWS Query request: the form names the Action, the
// credential scope the service. Errors are XML ErrorResponse documents.
func (r *Router) serveQuery(w http.ResponseWriter, req *http.Request, reqID string, start time.Time) {
	svc := r.queries[signingService(req)]
	svcName, namespace, signingName, label, faultCode := unknown, "", "", unknown, ""
	dialect := AWSQuery
	if svc != nil {
		svcName, namespace, signingName, faultCode, dialect = svc.Name, svc.Namespace, svc.Name, svc.FaultCode, svc.Dialect
	}
	result := func(code string) {
		apiCalls.WithLabelValues(svcName, label, code).Inc()
		apiLatency.WithLabelValues(svcName, label).Observe(time.Since(start).Seconds())
	}
	fail := func(err error) {
		e := asFault(err, faultCode)
		b, status := encodeQueryError(namespace, reqID, e)
		if dialect == EC2Query {
			b, status = encodeEC2Error(reqID, e)
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		w.Write(b)
		result(e.Code)
	}
	finish, err := r.auth.Begin(req.Context(), req, signingName)
	if err != nil {
		fail(err)
		return
	}
	body, err := readBody(req, maxBody, CodeValidation)
	if err != nil {
		fail(err)
		return
	}
	params, err := url.ParseQuery(string(body))
	if err != nil {
		fail(Errorf(CodeValidation, "Malformed form body: %v", err))
		return
	}
	action := params.Get("Action")
	if v := r.versions[signingName+"/"+params.Get("Version")]; v != nil && svc != nil {
		// Services sharing a signing name are told apart by the version.
		svc = v
		svcName, namespace, faultCode, dialect = svc.Name, svc.Namespace, svc.FaultCode, svc.Dialect
	}
	if svc == nil {
		// The scope names no Query service; IAM and STS share this
		// endpoint, so the action tells which one the caller meant, and
		// the signature is refused as scoped to the wrong service.
		for _, owner := range r.queries {
			if _, ok := owner.ops[action]; ok {
				if _, err := r.auth.Begin(req.Context(), req, owner.Name); err != nil {
					fail(err)
					return
				}
			}
		}
	}
	p, err := finish(body)
	if err != nil {
		fail(err)
		return
	}
	var h QueryHandler
	if svc != nil {
		h = svc.ops[action]
	}
	if h == nil {
		if dialect == EC2Query {
			fail(Errorf(CodeInvalidAction, "The action %s is not valid for this web service.", action))
			return
		}
		fail(Errorf(CodeInvalidAction, "Could not find operation %s for version %s", action, params.Get("Version")))
		return
	}
	label = action
	ctx := WithPrincipal(req.Context(), p)
	resp, err := r.call(ctx, func(ctx2 context.Context, _ []byte) (any, error) { return h(ctx2, params) }, body)
	if err != nil {
		e := AsError(err)
		if e.Status >= 500 {
			r.log.Error("api call failed", "service", svcName, "operation", action, "requestId", reqID, "err", err)
		}
		fail(e)
		return
	}
	encode := encodeQuery
	if dialect == EC2Query {
		encode = encodeEC2
	}
	out, err := encode(action, namespace, reqID, resp)
	if err != nil {
		fail(err)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Write(out)
	result("OK")
	r.log.Debug("api call", "service", svcName, "operation", action, "requestId", reqID, "took", time.Since(start))
}
