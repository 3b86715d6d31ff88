package api

import "context"

// ResultQueryOp is StrictQueryOp answering every success with its result
// element, empty or not (a nil *Resp is an empty one), as the SDKs of
// Elastic Load Balancing (both versions) expect.
func ResultQueryOp[Req, Resp any](fn func(context.Context, *Req) (*Resp, error)) QueryHandler {
	return StrictQueryOp(func(ctx context.Context, in *Req) (*Resp, error) {
		out, err := fn(ctx, in)
		if err == nil && out == nil {
			out = new(Resp)
		}
		return out, err
	})
}
