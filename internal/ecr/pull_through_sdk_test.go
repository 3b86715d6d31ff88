package ecr

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/berth-dev/berth/internal/api"
)

// rootVerifier takes every request as root's.
type rootVerifier struct{}

func (rootVerifier) Begin(context.Context, *http.Request, string) (func([]byte) (api.Principal, error), error) {
	return func([]byte) (api.Principal, error) { return root, nil }, nil
}

// TestPullThroughCacheRulesWithTheSDK drives the rule operations with the
// AWS SDK through the router, so the wire shapes and error types are the
// ones SDK users see.
func TestPullThroughCacheRulesWithTheSDK(t *testing.T) {
	s, _ := newService(t)
	r := api.NewRouter(rootVerifier{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	r.AddJSON(s.JSONService())
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	c := sdkecr.New(sdkecr.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.AnonymousCredentials{}})
	ctx := context.Background()
	up := newUpstreamRegistry(t, false)

	created, err := c.CreatePullThroughCacheRule(ctx, &sdkecr.CreatePullThroughCacheRuleInput{
		EcrRepositoryPrefix: aws.String("local/"), UpstreamRegistryUrl: aws.String(up.host())})
	if err != nil || aws.ToString(created.EcrRepositoryPrefix) != "local" || created.CreatedAt == nil || aws.ToString(created.RegistryId) != "123456789012" {
		t.Fatalf("create: %+v %v", created, err)
	}
	desc, err := c.DescribePullThroughCacheRules(ctx, &sdkecr.DescribePullThroughCacheRulesInput{EcrRepositoryPrefixes: []string{"local"}})
	if err != nil || len(desc.PullThroughCacheRules) != 1 || aws.ToString(desc.PullThroughCacheRules[0].UpstreamRegistryUrl) != up.host() ||
		!desc.PullThroughCacheRules[0].CreatedAt.Equal(*created.CreatedAt) {
		t.Fatalf("describe: %+v %v", desc, err)
	}
	v, err := c.ValidatePullThroughCacheRule(ctx, &sdkecr.ValidatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("local")})
	if err != nil || !v.IsValid {
		t.Fatalf("validate: %+v %v", v, err)
	}
	if _, err := c.DeletePullThroughCacheRule(ctx, &sdkecr.DeletePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("local")}); err != nil {
		t.Fatal(err)
	}

	var notFound *types.PullThroughCacheRuleNotFoundException
	if _, err := c.DeletePullThroughCacheRule(ctx, &sdkecr.DeletePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("local")}); !errors.As(err, &notFound) {
		t.Fatalf("delete again: %v", err)
	}
	var unsupported *types.UnsupportedUpstreamRegistryException
	if _, err := c.CreatePullThroughCacheRule(ctx, &sdkecr.CreatePullThroughCacheRuleInput{
		EcrRepositoryPrefix: aws.String("far"), UpstreamRegistryUrl: aws.String("registry.example.com")}); !errors.As(err, &unsupported) {
		t.Fatalf("an unsupported upstream: %v", err)
	}
}
