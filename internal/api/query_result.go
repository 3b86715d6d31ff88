package api

import (
	"context"
	"errors"

	"github.com/berth-dev/berth/internal/store"
)

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

// MarkerPage is the page of items (known by key) after marker, at most
// pageSize long (max when 0), and the next page's marker, as Elastic Load
// Balancing's Describe calls page. A page size out of 1..max or a marker
// that is not one is a ValidationError.
func MarkerPage[T any](items []T, key func(T) string, marker string, pageSize, max int) ([]T, string, error) {
	limit := max
	if pageSize != 0 {
		if err := QueryValidation.Range("pageSize", pageSize, 1, max); err != nil {
			return nil, "", err
		}
		limit = pageSize
	}
	out, next, err := store.Page(items, key, marker, limit)
	if errors.Is(err, store.ErrBadCursor) {
		return nil, "", Errorf(CodeValidation, "The marker '%s' is not valid", marker)
	}
	return out, next, err
}
