package logs

import (
	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// page returns the indexes of the page of sortKeys (sorted ascending) that
// follows token, in ascending or descending order, at most n long, and the
// token of the next page (nil on the last). A token is the last sort key
// returned, encoded, so pages stay consistent while items come and go.
func page(sortKeys []string, descending bool, token *string, n int) ([]int, *string, error) {
	var after *string
	if token != nil {
		key, err := store.DecodeCursor(*token)
		if err != nil || *token == "" {
			return nil, nil, api.InvalidParameter("The specified nextToken is invalid.")
		}
		after = &key
	}
	idx, last, err := store.PageAfter(sortKeys, after, descending, n)
	if err != nil {
		return nil, nil, api.InvalidParameter("The specified nextToken is invalid.")
	}
	if last == nil {
		return idx, nil, nil
	}
	tok := store.EncodeCursor(*last)
	return idx, &tok, nil
}
