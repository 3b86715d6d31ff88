package ecr

import (
	"context"
	"sort"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

type StartLifecyclePolicyPreviewInput struct {
	RegistryId          string `json:"registryId"`
	RepositoryName      string `json:"repositoryName"`
	LifecyclePolicyText string `json:"lifecyclePolicyText"`
}

type StartLifecyclePolicyPreviewOutput struct {
	RegistryId          string `json:"registryId"`
	RepositoryName      string `json:"repositoryName"`
	LifecyclePolicyText string `json:"lifecyclePolicyText"`
	Status              string `json:"status"`
}

// StartLifecyclePolicyPreview starts a dry run of a lifecycle policy (the
// one given, or the repository's). The preview is computed when it is read.
func (s *Service) StartLifecyclePolicyPreview(ctx context.Context, in *StartLifecyclePolicyPreviewInput) (*StartLifecyclePolicyPreviewOutput, error) {
	it, err := s.loadRepository(ctx, in.RegistryId, in.RepositoryName, "StartLifecyclePolicyPreview")
	if err != nil {
		return nil, err
	}
	text := in.LifecyclePolicyText
	if text == "" {
		text = it.Value.LifecyclePolicy
	}
	if text == "" {
		return nil, s.noLifecyclePolicy(in.RepositoryName)
	}
	if _, err := parseLifecyclePolicy(text); err != nil {
		return nil, err
	}
	if _, err := store.Update(ctx, s.store, it.Key, func(r *repoRecord) error {
		r.PreviewPolicy = text
		return nil
	}); err != nil {
		return nil, err
	}
	return &StartLifecyclePolicyPreviewOutput{RegistryId: s.cfg.Account, RepositoryName: in.RepositoryName, LifecyclePolicyText: text, Status: "IN_PROGRESS"}, nil
}

type GetLifecyclePolicyPreviewInput struct {
	RegistryId     string            `json:"registryId"`
	RepositoryName string            `json:"repositoryName"`
	ImageIds       []ImageIdentifier `json:"imageIds"`
	NextToken      *string           `json:"nextToken"`
	MaxResults     *int              `json:"maxResults"`
	Filter         *ImageFilter      `json:"filter"`
}

// LifecyclePolicyPreviewResult is an image the previewed policy would expire.
type LifecyclePolicyPreviewResult struct {
	ImageTags           []string       `json:"imageTags,omitempty"`
	ImageDigest         string         `json:"imageDigest"`
	ImagePushedAt       *api.Timestamp `json:"imagePushedAt,omitempty"`
	Action              RuleAction     `json:"action"`
	AppliedRulePriority int            `json:"appliedRulePriority"`
}

// RuleAction is what a lifecycle rule does to an image.
type RuleAction struct {
	Type string `json:"type"`
}

// PreviewSummary counts what a preview would expire.
type PreviewSummary struct {
	ExpiringImageTotalCount int `json:"expiringImageTotalCount"`
}

type GetLifecyclePolicyPreviewOutput struct {
	RegistryId          string                         `json:"registryId"`
	RepositoryName      string                         `json:"repositoryName"`
	LifecyclePolicyText string                         `json:"lifecyclePolicyText"`
	Status              string                         `json:"status"`
	NextToken           *string                        `json:"nextToken,omitempty"`
	PreviewResults      []LifecyclePolicyPreviewResult `json:"previewResults"`
	Summary             PreviewSummary                 `json:"summary"`
}

// GetLifecyclePolicyPreview evaluates the previewed policy against the
// repository's images as they are now and lists those it would expire.
func (s *Service) GetLifecyclePolicyPreview(ctx context.Context, in *GetLifecyclePolicyPreviewInput) (*GetLifecyclePolicyPreviewOutput, error) {
	it, err := s.loadRepository(ctx, in.RegistryId, in.RepositoryName, "GetLifecyclePolicyPreview")
	if err != nil {
		return nil, err
	}
	if it.Value.PreviewPolicy == "" {
		return nil, api.Errorf("LifecyclePolicyPreviewNotFoundException", "There is no dry run for the repository with name '%s' in the registry with id '%s'", in.RepositoryName, s.cfg.Account)
	}
	status, err := tagStatus(in.Filter)
	if err != nil {
		return nil, err
	}
	if len(in.ImageIds) > 0 && (in.NextToken != nil || in.MaxResults != nil) {
		return nil, api.InvalidParameter("maxResults and nextToken cannot be used with imageIds.")
	}
	if len(in.ImageIds) > 100 {
		return nil, api.InvalidParameter("Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must have length less than or equal to 100'")
	}
	p, err := parseLifecyclePolicy(it.Value.PreviewPolicy)
	if err != nil {
		return nil, err
	}
	images, err := s.lifecycleImages(ctx, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	expired := p.evaluate(images, time.Now())
	byDigest := map[string]LifecyclePolicyPreviewResult{}
	for _, e := range expired {
		if !status.matches(e.Image.Tags) || !wanted(in.ImageIds, e.Image) {
			continue
		}
		byDigest[e.Image.Digest.String()] = LifecyclePolicyPreviewResult{ImageTags: e.Image.Tags, ImageDigest: e.Image.Digest.String(),
			ImagePushedAt: api.At(e.Image.PushedAt), Action: RuleAction{Type: "EXPIRE"}, AppliedRulePriority: e.Rule}
	}
	keys := make([]string, 0, len(byDigest))
	for k := range byDigest {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	page, next, err := api.Paginate(keys, in.NextToken, in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	out := &GetLifecyclePolicyPreviewOutput{RegistryId: s.cfg.Account, RepositoryName: in.RepositoryName, LifecyclePolicyText: it.Value.PreviewPolicy,
		Status: "COMPLETE", NextToken: next, PreviewResults: []LifecyclePolicyPreviewResult{}, Summary: PreviewSummary{ExpiringImageTotalCount: len(expired)}}
	for _, k := range page {
		out.PreviewResults = append(out.PreviewResults, byDigest[k])
	}
	return out, nil
}

// wanted reports whether an image is among ids (all images when there are none).
func wanted(ids []ImageIdentifier, img lifecycleImage) bool {
	if len(ids) == 0 {
		return true
	}
	for _, id := range ids {
		if id.ImageDigest != "" && digest.Digest(id.ImageDigest) != img.Digest {
			continue
		}
		if id.ImageTag == "" && id.ImageDigest != "" {
			return true
		}
		for _, t := range img.Tags {
			if t == id.ImageTag {
				return true
			}
		}
	}
	return false
}
