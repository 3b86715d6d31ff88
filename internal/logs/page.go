package logs

import (
	"encoding/base64"
	"sort"

	"github.com/berth-dev/berth/internal/api"
)

// page returns the indexes of the page of sortKeys (sorted ascending) that
// follows token, in ascending or descending order, at most n long, and the
// token of the next page (nil on the last). A token is the last sort key
// returned, encoded, so pages stay consistent while items come and go.
func page(sortKeys []string, descending bool, token *string, n int) ([]int, *string, error) {
	order := make([]int, len(sortKeys))
	for i := range order {
		order[i] = i
		if descending {
			order[i] = len(sortKeys) - 1 - i
		}
	}
	start := 0
	if token != nil {
		raw, err := base64.RawURLEncoding.DecodeString(*token)
		if err != nil || *token == "" {
			return nil, nil, api.InvalidParameter("The specified nextToken is invalid.")
		}
		after := string(raw)
		if descending {
			// First position whose key sorts before after.
			start = sort.Search(len(order), func(i int) bool { return sortKeys[order[i]] < after })
		} else {
			start = sort.Search(len(order), func(i int) bool { return sortKeys[order[i]] > after })
		}
	}
	end := min(start+n, len(order))
	out := order[start:end]
	if end < len(order) && len(out) > 0 {
		tok := base64.RawURLEncoding.EncodeToString([]byte(sortKeys[out[len(out)-1]]))
		return out, &tok, nil
	}
	return out, nil, nil
}
