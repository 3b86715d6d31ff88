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
	token := ""
	if nextToken != nil {
		token = *nextToken
	}
	page, next, err := store.Page(items, func(s string) string { return s }, token, n)
	if err != nil {
		return nil, nil, InvalidParameter("Invalid nextToken.")
	}
	if next == "" {
		return page, nil, nil
	}
	return page, &next, nil
}
