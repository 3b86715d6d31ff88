// Package acm is a local AWS Certificate Manager: certificates imported
// with their private keys, kept in etcd for the load balancers' TLS
// listeners. It issues nothing itself: there is no domain validation here.
package acm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// TargetPrefix is the X-Amz-Target prefix of ACM.
const TargetPrefix = "CertificateManager"

// Config names where the service lives.
type Config struct {
	Region, Account string
}

// Users names what uses a certificate (load balancer listeners), for
// DescribeCertificate's InUseBy and DeleteCertificate's refusal.
type Users func(ctx context.Context, certificateARN string) ([]string, error)

// Service is the ACM API.
type Service struct {
	cfg   Config
	store *store.Store
	authz api.Authorizer
	log   *slog.Logger
	keys  keys
	users Users
	now   func() time.Time
}

// New returns ACM on st, authorizing every call with authz.
func New(cfg Config, st *store.Store, authz api.Authorizer, log *slog.Logger) *Service {
	return &Service{cfg: cfg, store: st, authz: authz, log: log, keys: keys{"/berth/" + cfg.Region + "/acm/"}, now: time.Now}
}

// UseUsers makes users the judge of which resources use a certificate.
func (s *Service) UseUsers(users Users) { s.users = users }

// Register serves ACM on router.
func (s *Service) Register(router *api.Router) { router.AddJSON(s.JSONService()) }

// JSONService exposes the operations over AWS JSON 1.1.
func (s *Service) JSONService() *api.JSONService {
	js := api.NewJSONService("acm", TargetPrefix)
	js.Handle("ImportCertificate", api.Op(s.ImportCertificate))
	js.Handle("DescribeCertificate", api.Op(s.DescribeCertificate))
	js.Handle("ListCertificates", api.Op(s.ListCertificates))
	js.Handle("GetCertificate", api.Op(s.GetCertificate))
	js.Handle("DeleteCertificate", api.Op(s.DeleteCertificate))
	js.Handle("RequestCertificate", api.Op(s.RequestCertificate))
	js.Handle("AddTagsToCertificate", api.Op(s.AddTagsToCertificate))
	js.Handle("RemoveTagsFromCertificate", api.Op(s.RemoveTagsFromCertificate))
	js.Handle("ListTagsForCertificate", api.Op(s.ListTagsForCertificate))
	return js
}

// Empty is the response of the operations that return nothing.
type Empty struct{}

// authorize runs the authorization hook for acm:action on resource.
func (s *Service) authorize(ctx context.Context, action, resource string) error {
	return s.authz.Authorize(ctx, api.PrincipalFrom(ctx), "acm:"+action, resource)
}

// arn is a certificate's ARN.
func (s *Service) arn(id string) string {
	return fmt.Sprintf("arn:aws:acm:%s:%s:certificate/%s", s.cfg.Region, s.cfg.Account, id)
}

// keys lays out ACM records in etcd: one record per certificate, by id.
type keys struct{ prefix string }

func (k keys) certs() string         { return k.prefix + "cert/" }
func (k keys) cert(id string) string { return k.prefix + "cert/" + id }

// Prefix is where certificates are stored: a watch on it sees every
// import, re-import and delete.
func (s *Service) Prefix() string { return s.keys.certs() }

// Error codes of ACM.
const (
	codeNotFound     = "ResourceNotFoundException"
	codeInvalidArn   = "InvalidArnException"
	codeInUse        = "ResourceInUseException"
	codeInvalidTag   = "InvalidTagException"
	codeTooManyTags  = "TooManyTagsException"
	codeValidation   = "ValidationException"
	codeInvalidParam = "InvalidParameterException"
	codeInvalidArgs  = "InvalidArgsException"
)

// check words the errors of values that break the model's constraints.
var check = api.JSONValidation

// arnRE is the model's Arn pattern.
var arnRE = regexp.MustCompile(`^arn:[\w+=/,.@-]+:acm:[\w+=/,.@-]*:[0-9]+:[\w+=,.@-]+(/[\w+=,.@-]+)*$`)

// certID checks a certificate ARN and returns its id: the ARN must be
// well formed (InvalidArnException) and of this region and account
// (ResourceNotFoundException, as AWS answers for another account's).
func (s *Service) certID(field, arn string) (string, error) {
	if arn == "" {
		return "", check.Null(field)
	}
	if len(arn) < 20 || len(arn) > 2048 {
		return "", check.Fail(field, arn, "Member must have length between 20 and 2048")
	}
	if !arnRE.MatchString(arn) {
		return "", api.Errorf(codeInvalidArn, "String '%s' is not a valid ARN.", arn)
	}
	prefix := s.arn("")
	if len(arn) <= len(prefix) || arn[:len(prefix)] != prefix {
		return "", notFound(arn)
	}
	return arn[len(prefix):], nil
}

func notFound(arn string) error {
	return api.Errorf(codeNotFound, "Could not find certificate %s.", arn)
}

// load reads a certificate by ARN.
func (s *Service) load(ctx context.Context, field, arn string) (store.Item[certRecord], error) {
	id, err := s.certID(field, arn)
	if err != nil {
		return store.Item[certRecord]{}, err
	}
	it, err := store.Get[certRecord](ctx, s.store, s.keys.cert(id))
	if errors.Is(err, store.ErrNotFound) {
		return it, notFound(arn)
	}
	return it, err
}
