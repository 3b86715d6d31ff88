// Package ecr implements Amazon ECR: the repository API and an OCI
// registry (distribution/v3) behind ECR's token authentication.
package ecr

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/distribution/distribution/v3"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/controller"
	"github.com/berth-dev/berth/internal/store"
)

// TargetPrefix is the X-Amz-Target prefix of ECR.
const TargetPrefix = "AmazonEC2ContainerRegistry_V20150921"

// Config names where the registry lives.
type Config struct {
	Region, Account string
	// RegistryHost is host[:port] users push to; repositoryUri starts with it.
	RegistryHost string
	// DataDir holds the registry's content when Storage is the filesystem.
	DataDir string
	// Storage is where image content lives; the zero value is DataDir.
	Storage Storage
}

// Service is the ECR API and registry.
type Service struct {
	cfg      Config
	store    *store.Store
	authz    api.Authorizer
	log      *slog.Logger
	secret   []byte
	registry http.Handler
	content  distribution.Namespace
	driver   storagedriver.StorageDriver
	prefix   string
	// rootKey resolves the access key a token was issued to.
	principal func(accessKeyID string) (api.Principal, bool)
	// uploadLocks holds an *uploadLock per layer upload id.
	uploadLocks sync.Map
	// cacheRefresh is how long a tag fetched by the pull through cache is
	// served before the upstream is asked again.
	cacheRefresh time.Duration
}

// New returns the ECR service; principal maps an access key id to its
// principal when a registry token is presented.
func New(ctx context.Context, cfg Config, st *store.Store, authz api.Authorizer, principal func(string) (api.Principal, bool), log *slog.Logger) (*Service, error) {
	s := &Service{cfg: cfg, store: st, authz: authz, log: log, principal: principal, prefix: "/berth/" + cfg.Region + "/ecr/",
		cacheRefresh: CacheRefreshInterval}
	secret, err := s.ensureSecret(ctx)
	if err != nil {
		return nil, err
	}
	s.secret = secret
	if err := s.startRegistry(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// ensureSecret loads (or creates once) the key that signs registry tokens,
// shared by every server of the region.
func (s *Service) ensureSecret(ctx context.Context) ([]byte, error) {
	key := s.prefix + "token-secret"
	it, err := store.Get[[]byte](ctx, s.store, key)
	if err == nil {
		return it.Value, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	if err := s.store.Commit(ctx, store.NewTxn().IfAbsent(key).Put(key, secret)); errors.Is(err, store.ErrConflict) {
		return s.ensureSecret(ctx)
	} else if err != nil {
		return nil, fmt.Errorf("create registry token secret: %w", err)
	}
	return secret, nil
}

// JSONService returns the operations table for the router.
func (s *Service) JSONService() *api.JSONService {
	js := api.NewJSONService("ecr", TargetPrefix)
	js.MaxBody = MaxRequestBody
	js.Handle("CreateRepository", api.Op(s.CreateRepository))
	js.Handle("DescribeRepositories", api.Op(s.DescribeRepositories))
	js.Handle("DeleteRepository", api.Op(s.DeleteRepository))
	js.Handle("GetAuthorizationToken", api.Op(s.GetAuthorizationToken))
	js.Handle("ListImages", api.Op(s.ListImages))
	js.Handle("DescribeImages", api.Op(s.DescribeImages))
	js.Handle("PutImageTagMutability", api.Op(s.PutImageTagMutability))
	js.Handle("PutImageScanningConfiguration", api.Op(s.PutImageScanningConfiguration))
	js.Handle("BatchGetImage", api.Op(s.BatchGetImage))
	js.Handle("PutImage", api.Op(s.PutImage))
	js.Handle("BatchDeleteImage", api.Op(s.BatchDeleteImage))
	js.Handle("BatchCheckLayerAvailability", api.Op(s.BatchCheckLayerAvailability))
	js.Handle("InitiateLayerUpload", api.Op(s.InitiateLayerUpload))
	js.Handle("UploadLayerPart", api.Op(s.UploadLayerPart))
	js.Handle("CompleteLayerUpload", api.Op(s.CompleteLayerUpload))
	js.Handle("GetDownloadUrlForLayer", api.Op(s.GetDownloadUrlForLayer))
	js.Handle("SetRepositoryPolicy", api.Op(s.SetRepositoryPolicy))
	js.Handle("PutRegistryPolicy", api.Op(s.PutRegistryPolicy))
	js.Handle("GetRegistryPolicy", api.Op(s.GetRegistryPolicy))
	js.Handle("DeleteRegistryPolicy", api.Op(s.DeleteRegistryPolicy))
	js.Handle("DescribeRegistry", api.Op(s.DescribeRegistry))
	js.Handle("CreatePullThroughCacheRule", api.Op(s.CreatePullThroughCacheRule))
	js.Handle("DescribePullThroughCacheRules", api.Op(s.DescribePullThroughCacheRules))
	js.Handle("DeletePullThroughCacheRule", api.Op(s.DeletePullThroughCacheRule))
	js.Handle("UpdatePullThroughCacheRule", api.Op(s.UpdatePullThroughCacheRule))
	js.Handle("ValidatePullThroughCacheRule", api.Op(s.ValidatePullThroughCacheRule))
	js.Handle("GetRepositoryPolicy", api.Op(s.GetRepositoryPolicy))
	js.Handle("DeleteRepositoryPolicy", api.Op(s.DeleteRepositoryPolicy))
	js.Handle("TagResource", api.Op(s.TagResource))
	js.Handle("UntagResource", api.Op(s.UntagResource))
	js.Handle("ListTagsForResource", api.Op(s.ListTagsForResource))
	js.Handle("PutLifecyclePolicy", api.Op(s.PutLifecyclePolicy))
	js.Handle("GetLifecyclePolicy", api.Op(s.GetLifecyclePolicy))
	js.Handle("DeleteLifecyclePolicy", api.Op(s.DeleteLifecyclePolicy))
	js.Handle("StartLifecyclePolicyPreview", api.Op(s.StartLifecyclePolicyPreview))
	js.Handle("GetLifecyclePolicyPreview", api.Op(s.GetLifecyclePolicyPreview))
	js.Handle("StartImageScan", api.Op(s.StartImageScan))
	js.Handle("DescribeImageScanFindings", api.Op(s.DescribeImageScanFindings))
	js.Handle("GetRegistryScanningConfiguration", api.Op(s.GetRegistryScanningConfiguration))
	js.Handle("PutRegistryScanningConfiguration", api.Op(s.PutRegistryScanningConfiguration))
	js.Handle("BatchGetRepositoryScanningConfiguration", api.Op(s.BatchGetRepositoryScanningConfiguration))
	js.Handle("PutReplicationConfiguration", api.Op(s.PutReplicationConfiguration))
	js.Handle("DescribeImageReplicationStatus", api.Op(s.DescribeImageReplicationStatus))
	return js
}

// Register serves ECR on router, and the registry under /v2/.
func (s *Service) Register(router *api.Router) {
	router.AddJSON(s.JSONService())
	router.Handle("/v2/", slowBody(s.RegistryHandler(), RegistryBodyTimeout))
}

// RegistryBodyTimeout is how long a registry upload's body (an image
// layer, possibly gigabytes on a slow link) may take, instead of the
// listener's read timeout.
const RegistryBodyTimeout = time.Hour

// slowBody lets the body of a request that sends one (a registry upload)
// take up to d instead of the listener's ReadTimeout.
func slowBody(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			// Fails only on a connection without deadlines; keep serving.
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
		}
		h.ServeHTTP(w, r)
	})
}

// LifecycleInterval is how often the leader applies lifecycle policies
// and removes abandoned uploads.
const LifecycleInterval = time.Hour

// Controllers are ECR's background loops: the lifecycle sweep, on the
// leader.
func (s *Service) Controllers() []controller.Controller {
	return []controller.Controller{
		controller.Leader("ecr-lifecycle", func(ctx context.Context) error {
			s.RunLifecycle(ctx, LifecycleInterval)
			return nil
		}),
	}
}

// RegistryHandler serves the OCI distribution API under /v2/.
func (s *Service) RegistryHandler() http.Handler { return http.HandlerFunc(s.serveRegistry) }

func (s *Service) authorize(ctx context.Context, action, resource string) error {
	return s.authz.Authorize(ctx, api.PrincipalFrom(ctx), "ecr:"+action, resource)
}

func (s *Service) repoArn(name string) string {
	return fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", s.cfg.Region, s.cfg.Account, name)
}

// loadRepository checks the registry id, authorizes action on the
// repository and loads its record: the preamble of every repository
// operation. The caller is authorized first, so that one who may not act
// on the repository learns nothing of whether it exists.
func (s *Service) loadRepository(ctx context.Context, registryID, name, action string) (store.Item[repoRecord], error) {
	if err := s.checkRegistry(registryID); err != nil {
		return store.Item[repoRecord]{}, err
	}
	if err := s.authorize(ctx, action, s.repoArn(name)); err != nil {
		return store.Item[repoRecord]{}, err
	}
	return s.repository(ctx, name)
}

// openRepository is loadRepository for operations on a repository's
// images and layers: it returns the repository's content.
func (s *Service) openRepository(ctx context.Context, registryID, name, action string) (distribution.Repository, error) {
	if _, err := s.loadRepository(ctx, registryID, name, action); err != nil {
		return nil, err
	}
	return s.contentRepo(ctx, name)
}
