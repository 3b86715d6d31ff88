package iam

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/store"
)

// entityKind tells users, roles and groups apart; all three carry inline
// and attached policies, which is why they share one record type.
type entityKind string

const (
	kindUser  entityKind = "user"
	kindRole  entityKind = "role"
	kindGroup entityKind = "group"
)

// entity is the stored record of a user, role or group. Inline policies
// and attachments live in the record so that its permissions change in one
// conditional write; group membership is kept on both sides (a user's
// Groups, a group's Users) and changed in one transaction.
type entity struct {
	Kind       entityKind        `json:"kind"`
	Name       string            `json:"name"`
	ID         string            `json:"id"`
	ARN        string            `json:"arn"`
	Path       string            `json:"path"`
	CreateDate time.Time         `json:"createDate"`
	Tags       []Tag             `json:"tags,omitempty"`
	Inline     map[string]string `json:"inline,omitempty"`   // policy name → document
	Attached   []string          `json:"attached,omitempty"` // managed policy ARNs
	// Users only.
	AccessKeys []string `json:"accessKeys,omitempty"`
	Groups     []string `json:"groups,omitempty"` // group names
	// Groups only.
	Users []string `json:"users,omitempty"` // member user names
	// Roles only.
	TrustPolicy        string `json:"trustPolicy,omitempty"`
	Description        string `json:"description,omitempty"`
	MaxSessionDuration int32  `json:"maxSessionDuration,omitempty"`
}

func entityKey(kind entityKind, name string) string {
	return kind.prefix() + strings.ToLower(name)
}

func (k entityKind) prefix() string {
	switch k {
	case kindUser:
		return usersPrefix
	case kindGroup:
		return groupsPrefix
	}
	return rolesPrefix
}

// pick returns the one of a request's user, role and group names that
// names an entity of the kind.
func (k entityKind) pick(user, role, group string) string {
	switch k {
	case kindUser:
		return user
	case kindGroup:
		return group
	}
	return role
}

func (k entityKind) title() string { return string(k) }

// noun is the kind as IAM action names spell it: "User", "Role", "Group".
func (k entityKind) noun() string { return strings.ToUpper(string(k[:1])) + string(k[1:]) }

// maxName is the longest name IAM accepts for the kind.
func (k entityKind) maxName() int {
	if k == kindGroup {
		return 128
	}
	return 64
}

// nameField is the request parameter naming an entity of the kind.
func (k entityKind) nameField() string { return k.noun() + "Name" }

// arnOf is the ARN an action on a user, role or group is authorized
// against: the stored one, with its path, or for a name that does not
// exist the ARN it would have at path "/".
func (s *Service) arnOf(ctx context.Context, kind entityKind, name string) string {
	if it, err := s.getEntity(ctx, kind, name); err == nil {
		return it.Value.ARN
	}
	return "arn:aws:iam::" + s.account + ":" + string(kind) + "/" + name
}

// getEntity loads a user, role or group, or NoSuchEntity.
func (s *Service) getEntity(ctx context.Context, kind entityKind, name string) (store.Item[entity], error) {
	it, err := store.Get[entity](ctx, s.store, entityKey(kind, name))
	if errors.Is(err, store.ErrNotFound) {
		return it, noSuchEntity("The %s with name %s cannot be found.", kind.title(), name)
	}
	return it, err
}

// updateEntity applies fn to a user, role or group and writes it back if it did
// not change meanwhile; fn may add writes (and conditions) to txn.
func (s *Service) updateEntity(ctx context.Context, kind entityKind, name string, fn func(e *entity, txn *store.Txn) error) error {
	return store.Retry(ctx, func() error {
		it, err := s.getEntity(ctx, kind, name)
		if err != nil {
			return err
		}
		txn := store.NewTxn().IfRev(it.Key, it.Rev)
		if err := fn(&it.Value, txn); err != nil {
			return err
		}
		return s.store.Commit(ctx, txn.Put(it.Key, it.Value))
	})
}

// deleteEntity removes a user, role or group once nothing depends on it any more.
func (s *Service) deleteEntity(ctx context.Context, kind entityKind, name string) error {
	it, err := s.getEntity(ctx, kind, name)
	if err != nil {
		return err
	}
	e := it.Value
	switch {
	case len(e.AccessKeys) > 0:
		return deleteConflict("Cannot delete entity, must delete access keys first.")
	case len(e.Inline) > 0:
		return deleteConflict("Cannot delete entity, must delete policies first.")
	case len(e.Attached) > 0:
		return deleteConflict("Cannot delete entity, must detach all policies first.")
	case len(e.Groups) > 0 || len(e.Users) > 0:
		return deleteConflict("Cannot delete entity, must remove users from group first.")
	}
	err = s.store.Commit(ctx, store.NewTxn().IfRev(it.Key, it.Rev).Delete(it.Key))
	if errors.Is(err, store.ErrConflict) {
		// It changed meanwhile (a key or policy was added); decide again.
		return s.deleteEntity(ctx, kind, name)
	}
	return err
}

// listEntities returns the users, roles or groups under pathPrefix, by name.
func (s *Service) listEntities(ctx context.Context, kind entityKind, pathPrefix string) ([]entity, error) {
	items, err := store.List[entity](ctx, s.store, kind.prefix())
	if err != nil {
		return nil, err
	}
	out := make([]entity, 0, len(items))
	for _, it := range items {
		if strings.HasPrefix(it.Value.Path, pathPrefix) {
			out = append(out, it.Value)
		}
	}
	slices.SortFunc(out, func(a, b entity) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return out, nil
}

// page cuts a list for Marker/MaxItems paging. The marker is the key of
// the last item returned (see store.PageAfter), so a page resumes after it
// whatever was created or deleted meanwhile; key must be unique in items.
func page[T any](items []T, key func(T) string, marker string, maxItems *int32) ([]T, bool, string, error) {
	var after *string
	if marker != "" {
		k, err := store.DecodeCursor(marker)
		if err != nil {
			return nil, false, "", validationError("Invalid Marker.")
		}
		after = &k
	}
	limit := 100
	if maxItems != nil {
		if *maxItems < 1 || *maxItems > 1000 {
			return nil, false, "", check.Range("maxItems", int(*maxItems), 1, 1000)
		}
		limit = int(*maxItems)
	}
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = key(it)
	}
	idx, last, err := store.PageAfter(keys, after, false, limit)
	if err != nil {
		return nil, false, "", validationError("Invalid Marker.")
	}
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = items[j]
	}
	if last == nil {
		return out, false, "", nil
	}
	return out, true, store.EncodeCursor(*last), nil
}

// byName is the paging key of entities listed by name: IAM names are
// unique regardless of case, and listed in that order.
func byName(e entity) string { return strings.ToLower(e.Name) }
