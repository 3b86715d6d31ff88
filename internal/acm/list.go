package acm

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

var (
	statuses      = []string{"PENDING_VALIDATION", "ISSUED", "INACTIVE", "EXPIRED", "VALIDATION_TIMED_OUT", "REVOKED", "FAILED"}
	keyAlgorithms = []string{"RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1"}
	// defaultKeyTypes are the keys ListCertificates lists when the
	// request names none, as AWS documents.
	defaultKeyTypes = []string{"RSA_1024", "RSA_2048"}
)

type ListCertificatesInput struct {
	CertificateStatuses []string
	Includes            *struct {
		KeyTypes []string `json:"keyTypes"`
	}
	NextToken *string
	MaxItems  *int
	SortBy    string
	SortOrder string
}

// CertificateSummary is ACM's CertificateSummary shape.
type CertificateSummary struct {
	CertificateArn                       string
	DomainName                           string
	SubjectAlternativeNameSummaries      []string
	HasAdditionalSubjectAlternativeNames bool
	Status                               string
	Type                                 string
	KeyAlgorithm                         string
	KeyUsages                            []string `json:",omitempty"`
	ExtendedKeyUsages                    []string `json:",omitempty"`
	InUse                                bool
	RenewalEligibility                   string
	NotBefore, NotAfter                  *api.Timestamp
	CreatedAt, ImportedAt                *api.Timestamp
}

type ListCertificatesOutput struct {
	CertificateSummaryList []CertificateSummary
	NextToken              *string `json:",omitempty"`
}

// ListCertificates lists the certificates of the given statuses (all when
// none) and key types (RSA_1024 and RSA_2048 when none), by creation
// time, a page at a time.
func (s *Service) ListCertificates(ctx context.Context, in *ListCertificatesInput) (*ListCertificatesOutput, error) {
	for i, st := range in.CertificateStatuses {
		if !slices.Contains(statuses, st) {
			return nil, check.Fail("certificateStatuses."+itoa(i+1)+".member", st, "Member must satisfy enum value set: [PENDING_VALIDATION, ISSUED, INACTIVE, EXPIRED, VALIDATION_TIMED_OUT, REVOKED, FAILED]")
		}
	}
	keyTypes := defaultKeyTypes
	if in.Includes != nil && len(in.Includes.KeyTypes) > 0 {
		keyTypes = in.Includes.KeyTypes
		for _, k := range keyTypes {
			if !slices.Contains(keyAlgorithms, k) {
				return nil, api.Errorf(codeValidation, "1 validation error detected: Value '%s' at 'includes.keyTypes' failed to satisfy constraint: Member must satisfy enum value set: [RSA_1024, RSA_2048, RSA_3072, RSA_4096, EC_prime256v1, EC_secp384r1, EC_secp521r1]", k)
			}
		}
	}
	if err := check.Enum("sortBy", in.SortBy, "", "CREATED_AT"); err != nil {
		return nil, err
	}
	if err := check.Enum("sortOrder", in.SortOrder, "", "ASCENDING", "DESCENDING"); err != nil {
		return nil, err
	}
	if in.SortOrder != "" && in.SortBy == "" {
		return nil, api.Errorf(codeValidation, "SortBy must be specified when SortOrder is specified.")
	}
	limit := 1000
	if in.MaxItems != nil {
		if err := check.Range("maxItems", *in.MaxItems, 1, 1000); err != nil {
			return nil, err
		}
		limit = *in.MaxItems
	}
	if err := s.authorize(ctx, "ListCertificates", "*"); err != nil {
		return nil, err
	}
	items, err := store.List[certRecord](ctx, s.store, s.keys.certs())
	if err != nil {
		return nil, err
	}
	var all []CertificateSummary
	for _, it := range items {
		sum, err := s.summary(ctx, it.Value)
		if err != nil {
			return nil, err
		}
		if len(in.CertificateStatuses) > 0 && !slices.Contains(in.CertificateStatuses, sum.Status) {
			continue
		}
		if !slices.Contains(keyTypes, sum.KeyAlgorithm) {
			continue
		}
		all = append(all, sum)
	}
	// Oldest first (ties by ARN), so that a page token stays in place as
	// certificates are imported.
	slices.SortStableFunc(all, func(a, b CertificateSummary) int {
		if c := a.CreatedAt.Compare(b.CreatedAt.Time); c != 0 {
			return c
		}
		return strings.Compare(a.CertificateArn, b.CertificateArn)
	})
	if in.SortOrder == "DESCENDING" {
		slices.Reverse(all)
	}
	token := ""
	if in.NextToken != nil {
		token = *in.NextToken
	}
	out, next, err := store.Page(all, func(c CertificateSummary) string { return c.CertificateArn }, token, limit)
	if errors.Is(err, store.ErrBadCursor) {
		return nil, api.Errorf(codeInvalidArgs, "The nextToken %s is not valid.", token)
	}
	if err != nil {
		return nil, err
	}
	resp := &ListCertificatesOutput{CertificateSummaryList: out}
	if resp.CertificateSummaryList == nil {
		resp.CertificateSummaryList = []CertificateSummary{}
	}
	if next != "" {
		resp.NextToken = &next
	}
	return resp, nil
}

func (s *Service) summary(ctx context.Context, r certRecord) (CertificateSummary, error) {
	p, err := read(r)
	if err != nil {
		return CertificateSummary{}, err
	}
	users, err := s.usersOf(ctx, s.arn(r.ID))
	if err != nil {
		return CertificateSummary{}, err
	}
	c := p.leaf
	sum := CertificateSummary{CertificateArn: s.arn(r.ID), Status: s.status(p), Type: "IMPORTED", KeyAlgorithm: p.keyAlgorithm,
		KeyUsages: keyUsages(c), ExtendedKeyUsages: extKeyUsages(c), InUse: len(users) > 0, RenewalEligibility: "INELIGIBLE",
		NotBefore: api.At(c.NotBefore), NotAfter: api.At(c.NotAfter), CreatedAt: api.At(r.CreatedAt), ImportedAt: api.At(r.ImportedAt)}
	sum.DomainName, sum.SubjectAlternativeNameSummaries = domains(c)
	return sum, nil
}
