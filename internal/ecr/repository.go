package ecr

import (
	"context"
	"errors"
	"regexp"
	"sort"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

var repoNameRE = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)

// Tag is a resource tag (ECR spells the fields with capitals).
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// ImageScanningConfiguration says whether images are scanned on push.
type ImageScanningConfiguration struct {
	ScanOnPush bool `json:"scanOnPush"`
}

// EncryptionConfiguration says how images are encrypted at rest.
type EncryptionConfiguration struct {
	EncryptionType string `json:"encryptionType"`
	KmsKey         string `json:"kmsKey,omitempty"`
}

// Repository is the ECR Repository shape.
type Repository struct {
	RepositoryArn              string                     `json:"repositoryArn"`
	RegistryId                 string                     `json:"registryId"`
	RepositoryName             string                     `json:"repositoryName"`
	RepositoryUri              string                     `json:"repositoryUri"`
	CreatedAt                  *api.Timestamp             `json:"createdAt"`
	ImageTagMutability         string                     `json:"imageTagMutability"`
	ImageScanningConfiguration ImageScanningConfiguration `json:"imageScanningConfiguration"`
	EncryptionConfiguration    EncryptionConfiguration    `json:"encryptionConfiguration"`
}

// repoRecord is a repository as stored.
type repoRecord struct {
	Repository Repository `json:"repository"`
	Tags       []Tag      `json:"tags"`
	// Policy is the repository policy document, as the caller wrote it.
	Policy string `json:"policy,omitempty"`
	// LifecyclePolicy is the lifecycle policy, as the caller wrote it, and
	// LifecycleEvaluatedAt when it was last applied.
	LifecyclePolicy      string         `json:"lifecyclePolicy,omitempty"`
	LifecycleEvaluatedAt *api.Timestamp `json:"lifecycleEvaluatedAt,omitempty"`
	// PreviewPolicy is the lifecycle policy of the last preview started.
	PreviewPolicy string `json:"previewPolicy,omitempty"`
}

func (s *Service) repoKey(name string) string { return s.prefix + "repo/" + name }

type CreateRepositoryInput struct {
	RegistryId                 string                      `json:"registryId"`
	RepositoryName             string                      `json:"repositoryName"`
	Tags                       []Tag                       `json:"tags"`
	ImageTagMutability         string                      `json:"imageTagMutability"`
	ImageScanningConfiguration *ImageScanningConfiguration `json:"imageScanningConfiguration"`
	EncryptionConfiguration    *EncryptionConfiguration    `json:"encryptionConfiguration"`
}

type RepositoryOutput struct {
	Repository Repository `json:"repository"`
}

func (s *Service) checkRegistry(id string) error {
	if id != "" && id != s.cfg.Account {
		return api.InvalidParameter("Invalid parameter at 'registryId' failed to satisfy constraint: 'registry %s does not belong to this account'", id)
	}
	return nil
}

func validName(name string) error {
	if len(name) < 2 || len(name) > 256 || !repoNameRE.MatchString(name) {
		return api.InvalidParameter("Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''")
	}
	return nil
}

// CreateRepository creates a repository images can be pushed to.
func (s *Service) CreateRepository(ctx context.Context, in *CreateRepositoryInput) (*RepositoryOutput, error) {
	if err := s.checkRegistry(in.RegistryId); err != nil {
		return nil, err
	}
	if err := validName(in.RepositoryName); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "CreateRepository", s.repoArn(in.RepositoryName)); err != nil {
		return nil, err
	}
	mut := in.ImageTagMutability
	if mut == "" {
		mut = "MUTABLE"
	}
	if mut != "MUTABLE" && mut != "IMMUTABLE" {
		return nil, api.InvalidParameter("Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: [MUTABLE, IMMUTABLE]'")
	}
	enc, err := checkEncryption(in.EncryptionConfiguration)
	if err != nil {
		return nil, err
	}
	if in.ImageScanningConfiguration != nil && in.ImageScanningConfiguration.ScanOnPush {
		return nil, errScanOnPush()
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	if len(in.Tags) > maxTags {
		return nil, tooManyTags()
	}
	repo := Repository{
		RepositoryArn: s.repoArn(in.RepositoryName), RegistryId: s.cfg.Account, RepositoryName: in.RepositoryName,
		RepositoryUri: s.cfg.RegistryHost + "/" + in.RepositoryName, CreatedAt: api.Now(), ImageTagMutability: mut,
		EncryptionConfiguration: enc,
	}
	if in.ImageScanningConfiguration != nil {
		repo.ImageScanningConfiguration = *in.ImageScanningConfiguration
	}
	key := s.repoKey(in.RepositoryName)
	err = s.store.Commit(ctx, store.NewTxn().IfAbsent(key).Put(key, repoRecord{Repository: repo, Tags: in.Tags}))
	if errors.Is(err, store.ErrConflict) {
		return nil, api.Errorf("RepositoryAlreadyExistsException", "The repository with name '%s' already exists in the registry with id '%s'", in.RepositoryName, s.cfg.Account)
	}
	if err != nil {
		return nil, err
	}
	return &RepositoryOutput{Repository: repo}, nil
}

// repository loads a repository or returns RepositoryNotFoundException.
func (s *Service) repository(ctx context.Context, name string) (store.Item[repoRecord], error) {
	it, err := store.Get[repoRecord](ctx, s.store, s.repoKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return it, api.Errorf("RepositoryNotFoundException", "The repository with name '%s' does not exist in the registry with id '%s'", name, s.cfg.Account)
	}
	return it, err
}

type DescribeRepositoriesInput struct {
	RegistryId      string   `json:"registryId"`
	RepositoryNames []string `json:"repositoryNames"`
	NextToken       *string  `json:"nextToken"`
	MaxResults      *int     `json:"maxResults"`
}

type DescribeRepositoriesOutput struct {
	Repositories []Repository `json:"repositories"`
	NextToken    *string      `json:"nextToken,omitempty"`
}

// DescribeRepositories describes the named repositories, or all of them.
func (s *Service) DescribeRepositories(ctx context.Context, in *DescribeRepositoriesInput) (*DescribeRepositoriesOutput, error) {
	if err := s.checkRegistry(in.RegistryId); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "DescribeRepositories", "*"); err != nil {
		return nil, err
	}
	out := &DescribeRepositoriesOutput{Repositories: []Repository{}}
	if len(in.RepositoryNames) > 0 {
		if in.NextToken != nil || in.MaxResults != nil {
			return nil, api.InvalidParameter("maxResults and nextToken cannot be used with repositoryNames.")
		}
		for _, name := range in.RepositoryNames {
			it, err := s.repository(ctx, name)
			if err != nil {
				return nil, err
			}
			out.Repositories = append(out.Repositories, it.Value.Repository)
		}
		return out, nil
	}
	items, err := store.List[repoRecord](ctx, s.store, s.prefix+"repo/")
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(items))
	byName := map[string]Repository{}
	for _, it := range items {
		names = append(names, it.Value.Repository.RepositoryName)
		byName[it.Value.Repository.RepositoryName] = it.Value.Repository
	}
	sort.Strings(names)
	page, next, err := api.Paginate(names, in.NextToken, in.MaxResults, 1000)
	if err != nil {
		return nil, err
	}
	for _, n := range page {
		out.Repositories = append(out.Repositories, byName[n])
	}
	out.NextToken = next
	return out, nil
}

type DeleteRepositoryInput struct {
	RegistryId     string `json:"registryId"`
	RepositoryName string `json:"repositoryName"`
	Force          bool   `json:"force"`
}

// DeleteRepository deletes an empty repository, or any with force.
func (s *Service) DeleteRepository(ctx context.Context, in *DeleteRepositoryInput) (*RepositoryOutput, error) {
	it, err := s.loadRepository(ctx, in.RegistryId, in.RepositoryName, "DeleteRepository")
	if err != nil {
		return nil, err
	}
	images, err := s.repoImages(ctx, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	if len(images) > 0 && !in.Force {
		return nil, api.Errorf("RepositoryNotEmptyException", "The repository with name '%s' in registry with id '%s' cannot be deleted because it still contains images", in.RepositoryName, s.cfg.Account)
	}
	// Content goes first: should that fail, the repository stays and the
	// call can be repeated, rather than leaving content a repository
	// created again under the name would serve.
	if err := s.removeContent(ctx, in.RepositoryName); err != nil {
		return nil, err
	}
	if err := s.store.Commit(ctx, store.NewTxn().Delete(it.Key)); err != nil {
		return nil, err
	}
	return &RepositoryOutput{Repository: it.Value.Repository}, nil
}
