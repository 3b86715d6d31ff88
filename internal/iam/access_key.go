package iam

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// maxAccessKeys is IAM's limit of access keys per user.
const maxAccessKeys = 2

// accessKey is the stored record of a user's access key.
type accessKey struct {
	ID         string    `json:"id"`
	Secret     string    `json:"secret"`
	UserName   string    `json:"userName"`
	UserARN    string    `json:"userArn"`
	UserID     string    `json:"userId"`
	Status     string    `json:"status"` // Active or Inactive
	CreateDate time.Time `json:"createDate"`
}

// AccessKey is the IAM AccessKey shape (with its secret, returned once).
type AccessKey struct {
	UserName        string
	AccessKeyId     string
	Status          string
	SecretAccessKey string
	CreateDate      time.Time
}

// AccessKeyMetadata is an access key without its secret.
type AccessKeyMetadata struct {
	UserName    string
	AccessKeyId string
	Status      string
	CreateDate  time.Time
}

type UserNameInput struct {
	UserName string
}

type CreateAccessKeyOutput struct {
	AccessKey AccessKey
}

// userFor resolves an optional UserName: without one, IAM acts on the
// calling user.
func userFor(ctx context.Context, name string) (string, error) {
	if name != "" {
		return name, nil
	}
	p := api.PrincipalFrom(ctx)
	if p.Root || p.UserID == "" || p.UserID[:4] != "AIDA" {
		return "", validationError("Must specify userName when calling with non-User credentials")
	}
	return lastSegment(p.ARN), nil
}

// CreateAccessKey issues a new Active key for a user, at most two per user.
func (s *Service) CreateAccessKey(ctx context.Context, in *UserNameInput) (*CreateAccessKeyOutput, error) {
	name, err := userFor(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	if err := s.authorizeOn(ctx, "CreateAccessKey", kindUser, name, nil); err != nil {
		return nil, err
	}
	k := accessKey{ID: newID("AKIA", 16), Secret: newSecret(), Status: "Active", CreateDate: s.nowUTC()}
	err = s.updateEntity(ctx, kindUser, name, func(e *entity, txn *store.Txn) error {
		if len(e.AccessKeys) >= maxAccessKeys {
			return limitExceeded("Cannot exceed quota for AccessKeysPerUser: %d", maxAccessKeys)
		}
		k.UserName, k.UserARN, k.UserID = e.Name, e.ARN, e.ID
		e.AccessKeys = append(e.AccessKeys, k.ID)
		txn.IfAbsent(keysPrefix+k.ID).Put(keysPrefix+k.ID, k)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &CreateAccessKeyOutput{AccessKey: AccessKey{UserName: k.UserName, AccessKeyId: k.ID, Status: k.Status, SecretAccessKey: k.Secret, CreateDate: k.CreateDate}}, nil
}

type ListAccessKeysInput struct {
	UserName string
	Marker   string
	MaxItems *int32
}

type ListAccessKeysOutput struct {
	AccessKeyMetadata api.Members[AccessKeyMetadata]
	IsTruncated       bool
	Marker            string `xml:",omitempty"`
}

// ListAccessKeys lists a user's keys without their secrets.
func (s *Service) ListAccessKeys(ctx context.Context, in *ListAccessKeysInput) (*ListAccessKeysOutput, error) {
	name, err := userFor(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	if err := s.authorizeOn(ctx, "ListAccessKeys", kindUser, name, nil); err != nil {
		return nil, err
	}
	it, err := s.getEntity(ctx, kindUser, name)
	if err != nil {
		return nil, err
	}
	var keys []AccessKeyMetadata
	for _, id := range it.Value.AccessKeys {
		k, err := store.Get[accessKey](ctx, s.store, keysPrefix+id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		keys = append(keys, AccessKeyMetadata{UserName: k.Value.UserName, AccessKeyId: k.Value.ID, Status: k.Value.Status, CreateDate: k.Value.CreateDate})
	}
	items, truncated, marker, err := page(keys, func(k AccessKeyMetadata) string { return k.AccessKeyId }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &ListAccessKeysOutput{AccessKeyMetadata: append(api.Members[AccessKeyMetadata]{}, items...), IsTruncated: truncated, Marker: marker}, nil
}

type UpdateAccessKeyInput struct {
	UserName    string
	AccessKeyId string
	Status      string
}

// UpdateAccessKey makes a key Active or Inactive; an Inactive key
// authenticates nobody until made Active again.
func (s *Service) UpdateAccessKey(ctx context.Context, in *UpdateAccessKeyInput) (*struct{}, error) {
	if in.Status != "Active" && in.Status != "Inactive" {
		return nil, check.Fail("status", in.Status, "Member must satisfy enum value set: [Active, Inactive]")
	}
	_, k, err := s.userKey(ctx, "UpdateAccessKey", in.UserName, in.AccessKeyId)
	if err != nil {
		return nil, err
	}
	_, err = store.Update(ctx, s.store, keysPrefix+k.ID, func(r *accessKey) error {
		r.Status = in.Status
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, noSuchEntity("The Access Key with id %s cannot be found.", in.AccessKeyId)
	}
	return nil, err
}

type DeleteAccessKeyInput struct {
	UserName    string
	AccessKeyId string
}

// DeleteAccessKey removes a key; requests signed with it fail at once.
func (s *Service) DeleteAccessKey(ctx context.Context, in *DeleteAccessKeyInput) (*struct{}, error) {
	name, k, err := s.userKey(ctx, "DeleteAccessKey", in.UserName, in.AccessKeyId)
	if err != nil {
		return nil, err
	}
	return nil, s.updateEntity(ctx, kindUser, name, func(e *entity, txn *store.Txn) error {
		i := slices.Index(e.AccessKeys, k.ID)
		if i < 0 {
			return noSuchEntity("The Access Key with id %s cannot be found.", k.ID)
		}
		e.AccessKeys = slices.Delete(e.AccessKeys, i, i+1)
		txn.Delete(keysPrefix + k.ID)
		return nil
	})
}

// userKey authorizes action and loads a key that must belong to the user.
func (s *Service) userKey(ctx context.Context, action, userName, keyID string) (string, accessKey, error) {
	name, err := userFor(ctx, userName)
	if err != nil {
		return "", accessKey{}, err
	}
	if err := s.authorizeOn(ctx, action, kindUser, name, nil); err != nil {
		return "", accessKey{}, err
	}
	if _, err := s.getEntity(ctx, kindUser, name); err != nil {
		return "", accessKey{}, err
	}
	it, err := store.Get[accessKey](ctx, s.store, keysPrefix+keyID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !equalFold(it.Value.UserName, name)) {
		return "", accessKey{}, noSuchEntity("The Access Key with id %s cannot be found.", keyID)
	}
	return name, it.Value, err
}
