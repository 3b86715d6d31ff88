package acm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// certRecord is a certificate as stored, with its private key: keys
// never leave etcd but to the load balancers' data plane.
type certRecord struct {
	ID          string    `json:"id"`
	Certificate string    `json:"certificate"`
	Chain       string    `json:"chain,omitempty"`
	Key         string    `json:"key"`
	Tags        []Tag     `json:"tags,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	ImportedAt  time.Time `json:"importedAt"`
}

// Pair is a certificate with its chain and private key, in PEM, as a TLS
// listener serves it.
type Pair struct {
	ARN string
	// CertificatePEM is the certificate followed by its chain.
	CertificatePEM, KeyPEM []byte
}

// Tag is ACM's Tag shape.
type Tag struct {
	Key   string  `json:"Key"`
	Value *string `json:"Value,omitempty"`
}

// tagRules are ACM's constraints on tags.
var tagRules = api.TagRules{Code: codeInvalidTag, Field: "tags", Max: 50, Chars: true,
	TooMany: func() error {
		return api.Errorf(codeTooManyTags, "the TagSet: contains too many Tags. You can add up to 50 tags to a certificate.")
	}}

func checkTags(tags []Tag) error {
	return tagRules.Check(len(tags), func(i int) (string, string) {
		if tags[i].Value == nil {
			return tags[i].Key, ""
		}
		return tags[i].Key, *tags[i].Value
	})
}

type ImportCertificateInput struct {
	CertificateArn   string
	Certificate      []byte
	PrivateKey       []byte
	CertificateChain []byte
	Tags             []Tag
}

type ImportCertificateOutput struct {
	CertificateArn string
}

// ImportCertificate stores a certificate with its key, or replaces the
// certificate (and key) of an existing ARN, keeping its tags and uses:
// the listeners serving it pick up the new one.
func (s *Service) ImportCertificate(ctx context.Context, in *ImportCertificateInput) (*ImportCertificateOutput, error) {
	switch {
	case len(in.Certificate) == 0:
		return nil, check.Null("certificate")
	case len(in.PrivateKey) == 0:
		return nil, check.Null("privateKey")
	case len(in.Certificate) > 32768:
		return nil, check.Fail("certificate", "<certificate>", "Member must have length less than or equal to 32768")
	case len(in.PrivateKey) > 5120:
		return nil, check.Fail("privateKey", "<private key>", "Member must have length less than or equal to 5120")
	case len(in.CertificateChain) > 2097152:
		return nil, check.Fail("certificateChain", "<certificate chain>", "Member must have length less than or equal to 2097152")
	}
	if in.Tags != nil {
		if len(in.Tags) == 0 {
			return nil, check.Fail("tags", api.List, "Member must have length greater than or equal to 1")
		}
		if err := checkTags(in.Tags); err != nil {
			return nil, err
		}
	}
	now := s.now().UTC()
	if _, err := validate(in.Certificate, in.PrivateKey, in.CertificateChain, now); err != nil {
		return nil, err
	}
	if in.CertificateArn != "" {
		return s.reimport(ctx, in, now)
	}
	if err := s.authorize(ctx, "ImportCertificate", "*"); err != nil {
		return nil, err
	}
	id := uuid.NewString()
	rec := certRecord{ID: id, Certificate: string(in.Certificate), Chain: string(in.CertificateChain), Key: string(in.PrivateKey),
		Tags: in.Tags, CreatedAt: now, ImportedAt: now}
	key := s.keys.cert(id)
	if err := s.store.Commit(ctx, store.NewTxn().IfAbsent(key).Put(key, rec)); err != nil {
		return nil, fmt.Errorf("import certificate: %w", err)
	}
	s.log.Info("certificate imported", "certificate", s.arn(id))
	return &ImportCertificateOutput{CertificateArn: s.arn(id)}, nil
}

// reimport replaces the certificate of an existing ARN.
func (s *Service) reimport(ctx context.Context, in *ImportCertificateInput, now time.Time) (*ImportCertificateOutput, error) {
	id, err := s.certID("certificateArn", in.CertificateArn)
	if err != nil {
		return nil, err
	}
	if len(in.Tags) > 0 {
		return nil, api.Errorf(codeInvalidParam, "You cannot apply tags when reimporting a certificate.")
	}
	if err := s.authorize(ctx, "ImportCertificate", in.CertificateArn); err != nil {
		return nil, err
	}
	_, err = store.Update(ctx, s.store, s.keys.cert(id), func(r *certRecord) error {
		r.Certificate, r.Chain, r.Key, r.ImportedAt = string(in.Certificate), string(in.CertificateChain), string(in.PrivateKey), now
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(in.CertificateArn)
	}
	if err != nil {
		return nil, fmt.Errorf("reimport certificate: %w", err)
	}
	s.log.Info("certificate reimported", "certificate", in.CertificateArn)
	return &ImportCertificateOutput{CertificateArn: in.CertificateArn}, nil
}

// CertificateDetail is ACM's CertificateDetail shape, for imported
// certificates.
type CertificateDetail struct {
	CertificateArn          string
	DomainName              string
	SubjectAlternativeNames []string
	Serial                  string
	Subject                 string
	Issuer                  string
	CreatedAt               *api.Timestamp
	ImportedAt              *api.Timestamp
	Status                  string
	NotBefore               *api.Timestamp
	NotAfter                *api.Timestamp
	KeyAlgorithm            string
	SignatureAlgorithm      string
	InUseBy                 []string
	Type                    string
	KeyUsages               []KeyUsage         `json:",omitempty"`
	ExtendedKeyUsages       []ExtendedKeyUsage `json:",omitempty"`
	RenewalEligibility      string
}

// KeyUsage and ExtendedKeyUsage are ACM's shapes of a usage's name.
type KeyUsage struct{ Name string }
type ExtendedKeyUsage struct{ Name string }

// status is ISSUED, or EXPIRED past the certificate's NotAfter.
func (s *Service) status(p parsed) string {
	if s.now().After(p.leaf.NotAfter) {
		return "EXPIRED"
	}
	return "ISSUED"
}

// read parses a stored certificate (it was validated at import).
func read(r certRecord) (parsed, error) {
	certs, err := certificates("certificate", []byte(r.Certificate))
	if err != nil {
		return parsed{}, fmt.Errorf("stored certificate %s: %w", r.ID, err)
	}
	p := parsed{leaf: certs[0]}
	if pair, err := tls.X509KeyPair([]byte(r.Certificate), []byte(r.Key)); err == nil {
		p.keyAlgorithm, _ = keyAlgorithm(pair.PrivateKey)
	}
	return p, nil
}

type CertificateArnInput struct {
	CertificateArn string
}

type DescribeCertificateOutput struct {
	Certificate CertificateDetail
}

// DescribeCertificate reports a certificate's names, validity, key and
// the listeners that use it.
func (s *Service) DescribeCertificate(ctx context.Context, in *CertificateArnInput) (*DescribeCertificateOutput, error) {
	it, err := s.load(ctx, "certificateArn", in.CertificateArn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "DescribeCertificate", in.CertificateArn); err != nil {
		return nil, err
	}
	p, err := read(it.Value)
	if err != nil {
		return nil, err
	}
	users, err := s.usersOf(ctx, in.CertificateArn)
	if err != nil {
		return nil, err
	}
	r, c := it.Value, p.leaf
	d := CertificateDetail{CertificateArn: in.CertificateArn, Serial: serial(c), Subject: c.Subject.String(), Issuer: issuer(c),
		CreatedAt: api.At(r.CreatedAt), ImportedAt: api.At(r.ImportedAt), Status: s.status(p),
		NotBefore: api.At(c.NotBefore), NotAfter: api.At(c.NotAfter), KeyAlgorithm: p.keyAlgorithm,
		SignatureAlgorithm: signatureAlgorithm(c), InUseBy: users, Type: "IMPORTED", RenewalEligibility: "INELIGIBLE"}
	d.DomainName, d.SubjectAlternativeNames = domains(c)
	for _, u := range keyUsages(c) {
		d.KeyUsages = append(d.KeyUsages, KeyUsage{u})
	}
	for _, u := range extKeyUsages(c) {
		d.ExtendedKeyUsages = append(d.ExtendedKeyUsages, ExtendedKeyUsage{u})
	}
	return &DescribeCertificateOutput{Certificate: d}, nil
}

// issuer is the issuer's organization, else its common name, as ACM shows it.
func issuer(c *x509.Certificate) string {
	if len(c.Issuer.Organization) > 0 {
		return c.Issuer.Organization[0]
	}
	return c.Issuer.CommonName
}

// usersOf lists the resources using a certificate, sorted; none without
// a judge.
func (s *Service) usersOf(ctx context.Context, arn string) ([]string, error) {
	if s.users == nil {
		return []string{}, nil
	}
	users, err := s.users(ctx, arn)
	if err != nil {
		return nil, fmt.Errorf("resources using %s: %w", arn, err)
	}
	slices.Sort(users)
	if users == nil {
		users = []string{}
	}
	return users, nil
}

type GetCertificateOutput struct {
	Certificate      string
	CertificateChain string `json:",omitempty"`
}

// GetCertificate returns a certificate and its chain, never its key.
func (s *Service) GetCertificate(ctx context.Context, in *CertificateArnInput) (*GetCertificateOutput, error) {
	it, err := s.load(ctx, "certificateArn", in.CertificateArn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "GetCertificate", in.CertificateArn); err != nil {
		return nil, err
	}
	return &GetCertificateOutput{Certificate: it.Value.Certificate, CertificateChain: it.Value.Chain}, nil
}

// DeleteCertificate deletes a certificate no listener uses.
func (s *Service) DeleteCertificate(ctx context.Context, in *CertificateArnInput) (*Empty, error) {
	it, err := s.load(ctx, "certificateArn", in.CertificateArn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "DeleteCertificate", in.CertificateArn); err != nil {
		return nil, err
	}
	users, err := s.usersOf(ctx, in.CertificateArn)
	if err != nil {
		return nil, err
	}
	if len(users) > 0 {
		return nil, api.Errorf(codeInUse, "Certificate %s in account %s is in use.", in.CertificateArn, s.cfg.Account)
	}
	key := s.keys.cert(it.Value.ID)
	err = s.store.Commit(ctx, store.NewTxn().IfRev(key, it.Rev).Delete(key))
	if errors.Is(err, store.ErrConflict) {
		return nil, api.Errorf("ConflictException", "The certificate %s changed while it was being deleted; try again.", in.CertificateArn)
	}
	if err != nil {
		return nil, fmt.Errorf("delete certificate: %w", err)
	}
	return &Empty{}, nil
}

type RequestCertificateInput struct {
	DomainName string
}

// RequestCertificate is refused: issuing needs domain validation, which
// a local ACM cannot do; certificates are imported.
func (s *Service) RequestCertificate(ctx context.Context, in *RequestCertificateInput) (*ImportCertificateOutput, error) {
	if in.DomainName == "" {
		return nil, check.Null("domainName")
	}
	if err := s.authorize(ctx, "RequestCertificate", "*"); err != nil {
		return nil, err
	}
	return nil, api.Errorf(codeInvalidParam, "Berth cannot issue certificates: it has no domain validation. Import a certificate with ImportCertificate instead.")
}

// Exists reports whether a certificate ARN names an imported certificate.
func (s *Service) Exists(ctx context.Context, arn string) (bool, error) {
	_, err := s.load(ctx, "certificateArn", arn)
	var ae *api.Error
	if errors.As(err, &ae) {
		return false, nil
	}
	return err == nil, err
}

// PairsAt returns every certificate with its key, at store revision rev
// (0: the latest), for the TLS listeners.
func (s *Service) PairsAt(ctx context.Context, rev int64) (map[string]Pair, error) {
	items, _, err := store.ListAt[certRecord](ctx, s.store, s.keys.certs(), rev)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Pair, len(items))
	for _, it := range items {
		r := it.Value
		pemBytes := []byte(r.Certificate)
		if r.Chain != "" {
			pemBytes = append(append(pemBytes, '\n'), r.Chain...)
		}
		out[s.arn(r.ID)] = Pair{ARN: s.arn(r.ID), CertificatePEM: pemBytes, KeyPEM: []byte(r.Key)}
	}
	return out, nil
}
