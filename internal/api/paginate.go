package api

import (
	"encoding/base64"
	"sort"
)

// Paginate returns the page of sorted items after nextToken, at most
// maxResults long (default and upper bound limit), and the token for the next
// page. Tokens are opaque to clients: the last item returned, encoded.
func Paginate(items []string, nextToken *string, maxResults *int, limit int) ([]string, *string, error) {
	n := limit
	if maxResults != nil {
		if *maxResults < 1 || *maxResults > limit {
			return nil, nil, InvalidParameter("maxResults must be between 1 and %d.", limit)
		}
		n = *maxResults
	}
	start := 0
	if nextToken != nil && *nextToken != "" {
		after, err := base64.RawURLEncoding.DecodeString(*nextToken)
		if err != nil {
			return nil, nil, InvalidParameter("Invalid nextToken.")
		}
		start = sort.SearchStrings(items, string(after))
		if start < len(items) && items[start] == string(after) {
			start++
		}
	}
	end := min(start+n, len(items))
	page := items[start:end]
	if end < len(items) && len(page) > 0 {
		tok := base64.RawURLEncoding.EncodeToString([]byte(page[len(page)-1]))
		return page, &tok, nil
	}
	return page, nil, nil
}
