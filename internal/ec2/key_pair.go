package ec2

import (
	"context"
	"crypto/ed25519"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// keyPairRecord is a key pair as stored: only its public half. The
// private key of a created pair is returned once and never kept.
type keyPairRecord struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Type        string    `json:"type"`
	Fingerprint string    `json:"fingerprint"`
	PublicKey   string    `json:"publicKey"` // OpenSSH authorized_keys form
	Created     time.Time `json:"created"`
	Tags        []Tag     `json:"tags,omitempty"`
}

// keyNameKey indexes key pairs by name, so a name is taken once.
func (k keys) keyName(name string) string { return k.prefix + "key-pair-name/" + name }

func keyPairNotFound(name string) error {
	return api.Errorf("InvalidKeyPair.NotFound", "The key pair '%s' does not exist", name)
}

type CreateKeyPairInput struct {
	KeyName           string
	KeyType           string
	KeyFormat         string
	DryRun            bool
	TagSpecifications []TagSpecification `query:"TagSpecification"`
}

type CreateKeyPairOutput struct {
	KeyFingerprint string         `xml:"keyFingerprint"`
	KeyMaterial    string         `xml:"keyMaterial"`
	KeyName        string         `xml:"keyName"`
	KeyPairID      string         `xml:"keyPairId"`
	Tags           api.Items[Tag] `xml:"tagSet,omitempty"`
}

// CreateKeyPair creates an RSA (2048-bit, PKCS#1 PEM) or ED25519
// (OpenSSH) key pair and returns its private key, which Berth does not keep.
func (s *Service) CreateKeyPair(ctx context.Context, in *CreateKeyPairInput) (*CreateKeyPairOutput, error) {
	if err := s.authorize(ctx, "CreateKeyPair", s.arn("key-pair", cmpOr(in.KeyName, "*")), in.DryRun); err != nil {
		return nil, err
	}
	if err := validKeyName(in.KeyName); err != nil {
		return nil, err
	}
	if in.KeyFormat != "" && in.KeyFormat != "pem" {
		return nil, invalidValue("Value (%s) for parameter keyFormat is invalid. Berth returns keys in the pem format.", in.KeyFormat)
	}
	tags, err := specTags(in.TagSpecifications, "key-pair")
	if err != nil {
		return nil, err
	}
	r := keyPairRecord{ID: newID("key"), Name: in.KeyName, Type: cmpOr(in.KeyType, "rsa"), Created: s.now().UTC(), Tags: tags}
	var material string
	switch r.Type {
	case "rsa":
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		material = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
		// A created RSA pair's fingerprint is the SHA-1 of its PKCS#8
		// private key, as EC2 computes it.
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		sum := sha1.Sum(der)
		r.Fingerprint = colonHex(sum[:])
		pub, err := ssh.NewPublicKey(&key.PublicKey)
		if err != nil {
			return nil, err
		}
		r.PublicKey = authorizedKey(pub, in.KeyName)
	case "ed25519":
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		block, err := ssh.MarshalPrivateKey(priv, "")
		if err != nil {
			return nil, err
		}
		material = string(pem.EncodeToMemory(block))
		spub, err := ssh.NewPublicKey(pub)
		if err != nil {
			return nil, err
		}
		r.Fingerprint = sha256Fingerprint(spub)
		r.PublicKey = authorizedKey(spub, in.KeyName)
	default:
		return nil, invalidValue("Value (%s) for parameter keyType is invalid. Valid values are rsa and ed25519.", in.KeyType)
	}
	if err := s.putKeyPair(ctx, r); err != nil {
		return nil, err
	}
	return &CreateKeyPairOutput{KeyFingerprint: r.Fingerprint, KeyMaterial: strings.TrimSuffix(material, "\n"), KeyName: r.Name, KeyPairID: r.ID, Tags: tags}, nil
}

func (s *Service) putKeyPair(ctx context.Context, r keyPairRecord) error {
	txn := store.NewTxn().IfAbsent(s.keys.keyName(r.Name)).Put(s.keys.keyName(r.Name), r.ID).Put(s.keys.res("key-pair", r.ID), r)
	err := s.store.Commit(ctx, txn)
	if errors.Is(err, store.ErrConflict) {
		return api.Errorf("InvalidKeyPair.Duplicate", "The keypair '%s' already exists.", r.Name)
	}
	return err
}

func validKeyName(name string) error {
	if name == "" {
		return missing("KeyName")
	}
	if len(name) > 255 {
		return invalidValue("Value (%s) for parameter keyName is invalid. Length exceeds maximum of 255.", name)
	}
	for _, c := range name {
		if c < 0x20 || c > 0x7e {
			return invalidValue("Value (%s) for parameter keyName is invalid. Key names may contain only ASCII characters.", name)
		}
	}
	return nil
}

func colonHex(b []byte) string {
	h := hex.EncodeToString(b)
	var sb strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(h[i : i+2])
	}
	return sb.String()
}

// sha256Fingerprint is an ED25519 key's fingerprint as EC2 reports it:
// the base64 SHA-256 of its wire form, as OpenSSH prints it (with padding).
func sha256Fingerprint(k ssh.PublicKey) string {
	sum := sha256.Sum256(k.Marshal())
	return base64.StdEncoding.EncodeToString(sum[:])
}

func authorizedKey(k ssh.PublicKey, name string) string {
	return strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(k)), "\n") + " " + name
}

type ImportKeyPairInput struct {
	KeyName           string
	PublicKeyMaterial string // base64, as a Query blob
	DryRun            bool
	TagSpecifications []TagSpecification `query:"TagSpecification"`
}

type ImportKeyPairOutput struct {
	KeyFingerprint string         `xml:"keyFingerprint"`
	KeyName        string         `xml:"keyName"`
	KeyPairID      string         `xml:"keyPairId"`
	Tags           api.Items[Tag] `xml:"tagSet,omitempty"`
}

// ImportKeyPair registers the public half of an RSA or ED25519 key in
// OpenSSH authorized_keys form.
func (s *Service) ImportKeyPair(ctx context.Context, in *ImportKeyPairInput) (*ImportKeyPairOutput, error) {
	if err := s.authorize(ctx, "ImportKeyPair", s.arn("key-pair", cmpOr(in.KeyName, "*")), in.DryRun); err != nil {
		return nil, err
	}
	if err := validKeyName(in.KeyName); err != nil {
		return nil, err
	}
	if in.PublicKeyMaterial == "" {
		return nil, missing("PublicKeyMaterial")
	}
	raw, err := base64.StdEncoding.DecodeString(in.PublicKeyMaterial)
	if err != nil {
		raw = []byte(in.PublicKeyMaterial)
	}
	badKey := api.Errorf("InvalidKey.Format", "Key is not in valid OpenSSH public key format")
	pub, _, _, _, err := ssh.ParseAuthorizedKey(raw)
	if err != nil {
		return nil, badKey
	}
	tags, err := specTags(in.TagSpecifications, "key-pair")
	if err != nil {
		return nil, err
	}
	r := keyPairRecord{ID: newID("key"), Name: in.KeyName, Created: s.now().UTC(), Tags: tags, PublicKey: authorizedKey(pub, in.KeyName)}
	switch pub.Type() {
	case ssh.KeyAlgoRSA:
		// An imported RSA key's fingerprint is the MD5 of its DER public key.
		ck, ok := pub.(ssh.CryptoPublicKey)
		if !ok {
			return nil, badKey
		}
		der, err := x509.MarshalPKIXPublicKey(ck.CryptoPublicKey())
		if err != nil {
			return nil, badKey
		}
		sum := md5.Sum(der)
		r.Type, r.Fingerprint = "rsa", colonHex(sum[:])
	case ssh.KeyAlgoED25519:
		r.Type, r.Fingerprint = "ed25519", sha256Fingerprint(pub)
	default:
		return nil, api.Errorf("InvalidKey.Format", "Key type %s is not supported; import an RSA or ED25519 key.", pub.Type())
	}
	if err := s.putKeyPair(ctx, r); err != nil {
		return nil, err
	}
	return &ImportKeyPairOutput{KeyFingerprint: r.Fingerprint, KeyName: r.Name, KeyPairID: r.ID, Tags: tags}, nil
}

type DescribeKeyPairsInput struct {
	DryRun           bool
	Filters          []Filter `query:"Filter"`
	KeyNames         []string `query:"KeyName"`
	KeyPairIds       []string `query:"KeyPairId"`
	IncludePublicKey bool
}

type KeyPairInfo struct {
	KeyPairID      string         `xml:"keyPairId"`
	KeyFingerprint string         `xml:"keyFingerprint"`
	KeyName        string         `xml:"keyName"`
	KeyType        string         `xml:"keyType"`
	Tags           api.Items[Tag] `xml:"tagSet,omitempty"`
	PublicKey      string         `xml:"publicKey,omitempty"`
	CreateTime     string         `xml:"createTime"`
}

type DescribeKeyPairsOutput struct {
	KeyPairs api.Items[KeyPairInfo] `xml:"keySet"`
}

// DescribeKeyPairs lists key pairs by name, id and filters.
func (s *Service) DescribeKeyPairs(ctx context.Context, in *DescribeKeyPairsInput) (*DescribeKeyPairsOutput, error) {
	if err := s.authorize(ctx, "DescribeKeyPairs", "*", in.DryRun); err != nil {
		return nil, err
	}
	ids := append([]string(nil), in.KeyPairIds...)
	for _, name := range in.KeyNames {
		it, err := store.Get[string](ctx, s.store, s.keys.keyName(name))
		if errors.Is(err, store.ErrNotFound) {
			return nil, keyPairNotFound(name)
		}
		if err != nil {
			return nil, err
		}
		ids = append(ids, it.Value)
	}
	items, err := describe[keyPairRecord](ctx, s, "key-pair", ids, func(id string) error {
		return api.Errorf("InvalidKeyPair.NotFound", "The key pair ID '%s' does not exist", id)
	})
	if err != nil {
		return nil, err
	}
	out := &DescribeKeyPairsOutput{KeyPairs: api.Items[KeyPairInfo]{}}
	for _, r := range items {
		k := KeyPairInfo{KeyPairID: r.ID, KeyFingerprint: r.Fingerprint, KeyName: r.Name, KeyType: r.Type, Tags: r.Tags,
			CreateTime: r.Created.Format("2006-01-02T15:04:05.000Z")}
		if in.IncludePublicKey {
			k.PublicKey = r.PublicKey
		}
		keep, err := matchFilters(in.Filters, withTags(func(name string) ([]string, bool) {
			switch name {
			case "key-pair-id":
				return []string{r.ID}, true
			case "key-name":
				return []string{r.Name}, true
			case "fingerprint":
				return []string{r.Fingerprint}, true
			case "key-type":
				return []string{r.Type}, true
			}
			return nil, false
		}, r.Tags))
		if err != nil {
			return nil, err
		}
		if keep {
			out.KeyPairs = append(out.KeyPairs, k)
		}
	}
	return out, nil
}

type DeleteKeyPairInput struct {
	KeyName   string
	KeyPairId string
	DryRun    bool
}

type DeleteKeyPairOutput struct {
	Return    bool   `xml:"return"`
	KeyPairID string `xml:"keyPairId,omitempty"`
}

// DeleteKeyPair deletes a key pair by name or id; as in EC2, deleting
// one that does not exist succeeds.
func (s *Service) DeleteKeyPair(ctx context.Context, in *DeleteKeyPairInput) (*DeleteKeyPairOutput, error) {
	if in.KeyName == "" && in.KeyPairId == "" {
		return nil, missing("KeyName or KeyPairId")
	}
	if err := s.authorize(ctx, "DeleteKeyPair", s.arn("key-pair", cmpOr(in.KeyName, in.KeyPairId)), in.DryRun); err != nil {
		return nil, err
	}
	id := in.KeyPairId
	if id == "" {
		it, err := store.Get[string](ctx, s.store, s.keys.keyName(in.KeyName))
		if errors.Is(err, store.ErrNotFound) {
			return &DeleteKeyPairOutput{Return: true}, nil
		}
		if err != nil {
			return nil, err
		}
		id = it.Value
	}
	it, err := store.Get[keyPairRecord](ctx, s.store, s.keys.res("key-pair", id))
	if errors.Is(err, store.ErrNotFound) {
		return &DeleteKeyPairOutput{Return: true}, nil
	}
	if err != nil {
		return nil, err
	}
	txn := store.NewTxn().IfRev(it.Key, it.Rev).Delete(it.Key).Delete(s.keys.keyName(it.Value.Name))
	if err := s.store.Commit(ctx, txn); err != nil && !errors.Is(err, store.ErrConflict) {
		return nil, err
	}
	return &DeleteKeyPairOutput{Return: true, KeyPairID: id}, nil
}
