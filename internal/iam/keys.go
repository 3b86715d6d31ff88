package iam

import (
	"context"
	"errors"
	"strings"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/auth"
	"github.com/berth-dev/berth/internal/store"
)

var _ auth.KeyResolver = (*Service)(nil)

// ResolveKey implements auth.KeyResolver: AKIA... ids are users' access
// keys, ASIA... ids role sessions. Each takes one read.
func (s *Service) ResolveKey(ctx context.Context, id string) (auth.Key, bool, error) {
	if strings.HasPrefix(id, "ASIA") {
		it, err := store.Get[session](ctx, s.store, sessionsPrefix+id)
		if errors.Is(err, store.ErrNotFound) {
			return auth.Key{}, false, nil
		}
		if err != nil {
			return auth.Key{}, false, err
		}
		if it.Value.RoleARN != "" {
			s.sessions.put(id, newSessionExtras(it.Value), it.Value.Expiration, s.now())
		}
		return it.Value.key(s.account), true, nil
	}
	it, err := store.Get[accessKey](ctx, s.store, keysPrefix+id)
	if errors.Is(err, store.ErrNotFound) {
		return auth.Key{}, false, nil
	}
	if err != nil {
		return auth.Key{}, false, err
	}
	k := it.Value
	return auth.Key{
		SecretAccessKey: k.Secret,
		Inactive:        k.Status != "Active",
		Principal:       api.Principal{Account: s.account, ARN: k.UserARN, AccessKeyID: k.ID, UserID: k.UserID},
	}, true, nil
}
