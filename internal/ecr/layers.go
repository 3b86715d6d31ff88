package ecr

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/distribution/distribution/v3"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/internal/api"
)

const (
	// maxLayerPart is the largest layer part ECR accepts (LayerPartBlob).
	maxLayerPart = 20 << 20
	// partSize is the part size InitiateLayerUpload suggests.
	partSize = 10 << 20
	// MaxRequestBody bounds an ECR request: a largest part, base64-encoded,
	// with room for the rest of the JSON.
	MaxRequestBody = maxLayerPart/3*4 + 1<<20
)

// uploadIDRE is the UploadId pattern of the ECR model; it also keeps an id
// a single, safe storage path element.
var uploadIDRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

type InitiateLayerUploadInput struct {
	RegistryId     string `json:"registryId"`
	RepositoryName string `json:"repositoryName"`
}

type InitiateLayerUploadOutput struct {
	UploadId string `json:"uploadId"`
	PartSize int64  `json:"partSize"`
}

// InitiateLayerUpload starts a blob upload in the registry's storage; its
// id is the same kind of upload docker push uses.
func (s *Service) InitiateLayerUpload(ctx context.Context, in *InitiateLayerUploadInput) (*InitiateLayerUploadOutput, error) {
	repo, err := s.openRepository(ctx, in.RegistryId, in.RepositoryName, "InitiateLayerUpload")
	if err != nil {
		return nil, err
	}
	w, err := repo.Blobs(ctx).Create(ctx)
	if err != nil {
		return nil, fmt.Errorf("start upload: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("start upload: %w", err)
	}
	return &InitiateLayerUploadOutput{UploadId: w.ID(), PartSize: partSize}, nil
}

// checkUploadID refuses an upload id that is not a UUID, before any lock
// is taken for it.
func checkUploadID(id string) error {
	if !uploadIDRE.MatchString(id) {
		return api.InvalidParameter("Invalid parameter at 'uploadId' failed to satisfy constraint: 'must be a UUID'")
	}
	return nil
}

// resumeUpload reopens an upload of the repository; the caller holds its
// lock.
func (s *Service) resumeUpload(ctx context.Context, repo distribution.Repository, name, id string) (distribution.BlobWriter, error) {
	w, err := repo.Blobs(ctx).Resume(ctx, id)
	if errors.Is(err, distribution.ErrBlobUploadUnknown) {
		s.uploadLocks.Delete(id) // no lock for an upload that does not exist
		return nil, api.Errorf("UploadNotFoundException", "The upload with id '%s' does not exist in the repository with name '%s' in registry with id '%s'", id, name, s.cfg.Account)
	}
	if err != nil {
		return nil, fmt.Errorf("resume upload %s: %w", id, err)
	}
	return w, nil
}

type UploadLayerPartInput struct {
	RegistryId     string `json:"registryId"`
	RepositoryName string `json:"repositoryName"`
	UploadId       string `json:"uploadId"`
	PartFirstByte  *int64 `json:"partFirstByte"`
	PartLastByte   *int64 `json:"partLastByte"`
	LayerPartBlob  []byte `json:"layerPartBlob"`
}

type UploadLayerPartOutput struct {
	RegistryId       string `json:"registryId"`
	RepositoryName   string `json:"repositoryName"`
	UploadId         string `json:"uploadId"`
	LastByteReceived int64  `json:"lastByteReceived"`
}

// UploadLayerPart appends a part to an upload. Parts must arrive in order:
// partFirstByte is the number of bytes received so far.
func (s *Service) UploadLayerPart(ctx context.Context, in *UploadLayerPartInput) (*UploadLayerPartOutput, error) {
	repo, err := s.openRepository(ctx, in.RegistryId, in.RepositoryName, "UploadLayerPart")
	if err != nil {
		return nil, err
	}
	if in.PartFirstByte == nil || in.PartLastByte == nil || in.LayerPartBlob == nil {
		return nil, api.InvalidParameter("partFirstByte, partLastByte and layerPartBlob are required.")
	}
	if err := checkUploadID(in.UploadId); err != nil {
		return nil, err
	}
	defer s.lockUpload(in.UploadId)()
	w, err := s.resumeUpload(ctx, repo, in.RepositoryName, in.UploadId)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	first, last, n := *in.PartFirstByte, *in.PartLastByte, int64(len(in.LayerPartBlob))
	invalid := func(format string, args ...any) error {
		e := api.Errorf("InvalidLayerPartException", format, args...).
			With("registryId", s.cfg.Account).With("repositoryName", in.RepositoryName).With("uploadId", in.UploadId)
		if w.Size() > 0 {
			e.With("lastValidByteReceived", w.Size()-1)
		}
		return e
	}
	switch {
	case n == 0 || n > maxLayerPart:
		return nil, invalid("The layer part must be between 1 and %d bytes; it is %d.", maxLayerPart, n)
	case first != w.Size():
		return nil, invalid("The part's first byte %d is not consecutive to the last byte received (%d bytes so far).", first, w.Size())
	case last != first+n-1:
		return nil, invalid("The part's byte range %d-%d does not match its length %d.", first, last, n)
	}
	if _, err := w.Write(in.LayerPartBlob); err != nil {
		return nil, fmt.Errorf("write layer part: %w", err)
	}
	return &UploadLayerPartOutput{RegistryId: s.cfg.Account, RepositoryName: in.RepositoryName, UploadId: in.UploadId, LastByteReceived: last}, nil
}

type CompleteLayerUploadInput struct {
	RegistryId     string   `json:"registryId"`
	RepositoryName string   `json:"repositoryName"`
	UploadId       string   `json:"uploadId"`
	LayerDigests   []string `json:"layerDigests"`
}

type CompleteLayerUploadOutput struct {
	RegistryId     string `json:"registryId"`
	RepositoryName string `json:"repositoryName"`
	UploadId       string `json:"uploadId"`
	LayerDigest    string `json:"layerDigest"`
}

// CompleteLayerUpload verifies the uploaded bytes against the digest and
// makes them a blob of the repository.
func (s *Service) CompleteLayerUpload(ctx context.Context, in *CompleteLayerUploadInput) (*CompleteLayerUploadOutput, error) {
	repo, err := s.openRepository(ctx, in.RegistryId, in.RepositoryName, "CompleteLayerUpload")
	if err != nil {
		return nil, err
	}
	if len(in.LayerDigests) < 1 || len(in.LayerDigests) > 100 {
		return nil, api.InvalidParameter("Invalid parameter at 'layerDigests' failed to satisfy constraint: 'Member must have length between 1 and 100'")
	}
	want, err := digest.Parse(in.LayerDigests[0])
	if err != nil {
		return nil, api.InvalidParameter("Invalid parameter at 'layerDigests' failed to satisfy constraint: 'invalid digest %q'", in.LayerDigests[0])
	}
	if err := checkUploadID(in.UploadId); err != nil {
		return nil, err
	}
	defer s.lockUpload(in.UploadId)()
	w, err := s.resumeUpload(ctx, repo, in.RepositoryName, in.UploadId)
	if err != nil {
		return nil, err
	}
	for _, other := range in.LayerDigests[1:] {
		if other != want.String() {
			w.Close()
			return nil, api.Errorf("InvalidLayerException", "The layer digests %v do not agree.", in.LayerDigests)
		}
	}
	if w.Size() == 0 {
		w.Close()
		return nil, api.Errorf("EmptyUploadException", "The upload with id '%s' contains no layer parts.", in.UploadId)
	}
	if _, err := repo.Blobs(ctx).Stat(ctx, want); err == nil {
		s.dropUpload(ctx, w, in.RepositoryName)
		return nil, api.Errorf("LayerAlreadyExistsException", "The layer '%s' already exists in the repository with name '%s' in registry with id '%s'", want, in.RepositoryName, s.cfg.Account)
	}
	desc, err := w.Commit(ctx, v1.Descriptor{Digest: want, MediaType: "application/octet-stream"})
	if errors.As(err, new(distribution.ErrBlobInvalidDigest)) {
		s.dropUpload(ctx, w, in.RepositoryName)
		return nil, api.Errorf("InvalidLayerException", "The digest of the uploaded layer does not match '%s'.", want)
	}
	if err != nil {
		return nil, fmt.Errorf("complete upload %s: %w", in.UploadId, err)
	}
	s.uploadLocks.Delete(in.UploadId)
	return &CompleteLayerUploadOutput{RegistryId: s.cfg.Account, RepositoryName: in.RepositoryName, UploadId: in.UploadId, LayerDigest: desc.Digest.String()}, nil
}

// dropUpload abandons an upload and removes what it wrote, even after a
// failed commit (which leaves the writer unable to cancel).
func (s *Service) dropUpload(ctx context.Context, w distribution.BlobWriter, name string) {
	s.uploadLocks.Delete(w.ID())
	if err := w.Cancel(ctx); err == nil {
		return
	}
	dir := fmt.Sprintf("/docker/registry/v2/repositories/%s/_uploads/%s", name, w.ID())
	if err := s.driver.Delete(ctx, dir); err != nil {
		s.log.Warn("remove abandoned upload", "repository", name, "upload", w.ID(), "err", err)
	}
}
