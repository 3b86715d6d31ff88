package ecs

import (
	"context"

	"github.com/berth-dev/berth/internal/api"
)

// Berth has no Cloud Map, so no namespace exists: ListServicesByNamespace
// answers every valid request as ECS answers for a namespace that does not
// exist, with the model's NamespaceNotFoundException ("The specified
// namespace wasn't found."). Services cannot join a namespace either:
// CreateService and UpdateService refuse serviceConnectConfiguration.

type ListServicesByNamespaceInput struct {
	Namespace  string  `json:"namespace"`
	NextToken  *string `json:"nextToken"`
	MaxResults *int    `json:"maxResults"`
}

type ListServicesByNamespaceOutput struct {
	ServiceArns []string `json:"serviceArns"`
	NextToken   *string  `json:"nextToken,omitempty"`
}

// ListServicesByNamespace lists the services of a Cloud Map namespace.
func (s *Service) ListServicesByNamespace(ctx context.Context, in *ListServicesByNamespaceInput) (*ListServicesByNamespaceOutput, error) {
	if in.Namespace == "" {
		return nil, api.InvalidParameter("namespace is required.")
	}
	if in.MaxResults != nil && (*in.MaxResults < 1 || *in.MaxResults > 100) {
		return nil, api.InvalidParameter("maxResults must be between 1 and 100.")
	}
	if err := s.authorize(ctx, "ListServicesByNamespace", "*"); err != nil {
		return nil, err
	}
	return nil, api.Errorf("NamespaceNotFoundException", "The specified namespace wasn't found.")
}
