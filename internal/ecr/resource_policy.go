package ecr

import (
	"context"
	"errors"
	"strings"

	"github.com/berth-dev/berth/internal/store"
)

// RepositoryPolicy returns the repository policy of the repository with
// the given ARN, "" when it has none or does not exist; the IAM authorizer
// evaluates it as the repository's resource policy.
func (s *Service) RepositoryPolicy(ctx context.Context, arn string) (string, error) {
	name, ok := strings.CutPrefix(arn, s.repoArn(""))
	if !ok || name == "" {
		return "", nil
	}
	it, err := store.Get[repoRecord](ctx, s.store, s.repoKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return it.Value.Policy, nil
}
