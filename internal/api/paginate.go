package api

import "github.com/berth-dev/berth/internal/store"

// Paginate returns the page of sorted items after nextToken, at most
// maxResults long (default and upper bound limit), and the token for the next
// page. Tokens are opaque to clients: the last item returned, encoded (see
// store.PageAfter).
func Paginate(items []string, nextToken *string, maxResults *int, limit int) ([]string, *string, error) {
	n := limit
	if maxResults != nil {
		if *maxResults < 1 || *maxResults > limit {
			return nil, nil, InvalidParameter("maxResults must be between 1 and %d.", limit)
		}
		n = *maxResults
	}
	var after *string
	if nextToken != nil && *nextToken != "" {
		key, err := store.DecodeCursor(*nextToken)
		if err != nil {
			return nil, nil, InvalidParameter("Invalid nextToken.")
		}
		after = &key
	}
	idx, last, err := store.PageAfter(items, after, false, n)
	if err != nil {
		return nil, nil, InvalidParameter("Invalid nextToken.")
	}
	page := make([]string, len(idx))
	for i, j := range idx {
		page[i] = items[j]
	}
	if last == nil {
		return page, nil, nil
	}
	tok := store.EncodeCursor(*last)
	return page, &tok, nil
}
