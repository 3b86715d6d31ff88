package ecr

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// Page sizes of GET /v2/_catalog: ECR serves the catalog from its
// repository list, whose pages hold at most 1000 names.
const (
	catalogPage    = 100
	catalogMaxPage = 1000
)

// serveCatalog answers GET /v2/_catalog[?n=&last=] with the names of the
// account's repositories, in order, paginated with a Link header as the
// distribution API does. The registry library would list what its storage
// holds, which includes deleted repositories and misses new empty ones.
func (s *Service) serveCatalog(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		registryError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "The operation is unsupported.")
		return
	}
	if err := s.authorize(r.Context(), "DescribeRepositories", "*"); err != nil {
		registryError(w, http.StatusForbidden, "DENIED", api.AsError(err).Message)
		return
	}
	n := catalogPage
	if v := r.URL.Query().Get("n"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 0 {
			registryError(w, http.StatusBadRequest, "PAGINATION_NUMBER_INVALID", fmt.Sprintf("Invalid number of results requested: '%s'", v))
			return
		}
		if n > catalogMaxPage {
			registryError(w, http.StatusBadRequest, "UNSUPPORTED", fmt.Sprintf("Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value less than or equal to %d'", catalogMaxPage))
			return
		}
	}
	items, err := store.List[repoRecord](r.Context(), s.store, s.prefix+"repo/")
	if err != nil {
		s.log.Error("registry: list repositories", "err", err)
		registryError(w, http.StatusInternalServerError, "UNKNOWN", "unknown error")
		return
	}
	last := r.URL.Query().Get("last")
	names := []string{}
	for _, it := range items {
		if name := it.Value.Repository.RepositoryName; name > last {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if len(names) > n {
		names = names[:n]
		if n > 0 {
			next := url.Values{"n": {strconv.Itoa(n)}, "last": {names[n-1]}}
			w.Header().Set("Link", fmt.Sprintf(`</v2/_catalog?%s>; rel="next"`, next.Encode()))
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string][]string{"repositories": names})
}
