package ec2

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// An instance's identity document is what EC2's metadata service gives
// the instance: its id, account, region, zone, type, image and address,
// with a signature by the region's key. The ECS agent registers with both,
// and ECS believes an instance id only with a valid signature: a caller
// cannot register a container instance as an EC2 instance it is not. The
// key is an ed25519 key made once per account and region, kept in etcd.

// IdentityDocument is the instance identity document's shape.
type IdentityDocument struct {
	AccountID        string `json:"accountId"`
	Architecture     string `json:"architecture"`
	AvailabilityZone string `json:"availabilityZone"`
	ImageID          string `json:"imageId"`
	InstanceID       string `json:"instanceId"`
	InstanceType     string `json:"instanceType"`
	PendingTime      string `json:"pendingTime"`
	PrivateIP        string `json:"privateIp"`
	Region           string `json:"region"`
	Version          string `json:"version"`
}

func (k keys) identityKey() string { return k.prefix + "identity-key" }

// identityKey returns the region's signing key, making it at first use.
func (s *Service) identityKey(ctx context.Context) (ed25519.PrivateKey, error) {
	it, err := store.Get[[]byte](ctx, s.store, s.keys.identityKey())
	if err == nil && len(it.Value) == ed25519.PrivateKeySize {
		return ed25519.PrivateKey(it.Value), nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	err = s.store.Commit(ctx, store.NewTxn().IfAbsent(s.keys.identityKey()).Put(s.keys.identityKey(), []byte(priv)))
	if errors.Is(err, store.ErrConflict) {
		return s.identityKey(ctx) // another server made it first
	}
	return priv, err
}

// InstanceIdentity returns an instance's identity document and its
// signature (base64), as its metadata service would.
func (s *Service) InstanceIdentity(ctx context.Context, r InstanceRecord) (doc, signature string, err error) {
	key, err := s.identityKey(ctx)
	if err != nil {
		return "", "", err
	}
	img, _ := s.Image(r.ImageID)
	b, err := json.Marshal(IdentityDocument{AccountID: s.cfg.Account, Architecture: cmpOr(img.Architecture, "x86_64"), AvailabilityZone: r.Zone,
		ImageID: r.ImageID, InstanceID: r.ID, InstanceType: r.InstanceType, PendingTime: r.Launched.Format("2006-01-02T15:04:05Z"),
		PrivateIP: r.PrivateIP, Region: s.cfg.Region, Version: "2017-09-30"})
	if err != nil {
		return "", "", err
	}
	return string(b), base64.StdEncoding.EncodeToString(ed25519.Sign(key, b)), nil
}

// VerifyIdentity checks an identity document's signature and returns the
// instance id it vouches for; an instance of this account that is not
// terminated.
func (s *Service) VerifyIdentity(ctx context.Context, doc, signature string) (string, error) {
	invalid := api.InvalidParameter("The instance identity document signature is not valid for this document.")
	key, err := s.identityKey(ctx)
	if err != nil {
		return "", err
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil || !ed25519.Verify(key.Public().(ed25519.PublicKey), []byte(doc), sig) {
		return "", invalid
	}
	var d IdentityDocument
	if err := json.Unmarshal([]byte(doc), &d); err != nil || d.AccountID != s.cfg.Account {
		return "", invalid
	}
	it, err := get[InstanceRecord](ctx, s, "instance", d.InstanceID, instanceNotFound(d.InstanceID))
	if err != nil {
		return "", err
	}
	if it.Value.State == StateTerminated || it.Value.State == StateShuttingDown {
		return "", api.InvalidParameter("The instance %s is %s.", d.InstanceID, it.Value.State)
	}
	return d.InstanceID, nil
}

// IsInstance reports whether id names an EC2 instance of this account.
func (s *Service) IsInstance(ctx context.Context, id string) (bool, error) {
	return s.store.Exists(ctx, s.keys.res("instance", id))
}
