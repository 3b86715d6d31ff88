package ecr

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/berth-dev/berth/internal/api"
)

// TestScanningAndReplicationWithTheSDK drives the scanning and replication
// operations with the AWS SDK through the router, so the wire shapes, enums
// and error types are the ones SDK users see.
func TestScanningAndReplicationWithTheSDK(t *testing.T) {
	s, sctx := newService(t)
	if _, err := s.CreateRepository(sctx, &CreateRepositoryInput{RepositoryName: "app"}); err != nil {
		t.Fatal(err)
	}
	img := newTestImage(t, s, sctx, "app")
	if _, err := s.PutImage(sctx, &PutImageInput{RepositoryName: "app", ImageManifest: img.manifest, ImageTag: "v1"}); err != nil {
		t.Fatal(err)
	}
	r := api.NewRouter(rootVerifier{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	r.AddJSON(s.JSONService())
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	c := sdkecr.New(sdkecr.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.AnonymousCredentials{}})
	ctx := context.Background()
	v1 := &types.ImageIdentifier{ImageTag: aws.String("v1")}

	got, err := c.GetRegistryScanningConfiguration(ctx, &sdkecr.GetRegistryScanningConfigurationInput{})
	if err != nil || got.ScanningConfiguration.ScanType != types.ScanTypeBasic || len(got.ScanningConfiguration.Rules) != 0 || aws.ToString(got.RegistryId) != "123456789012" {
		t.Fatalf("get scanning configuration: %+v %v", got, err)
	}
	manualRule := types.RegistryScanningRule{ScanFrequency: types.ScanFrequencyManual,
		RepositoryFilters: []types.ScanningRepositoryFilter{{Filter: aws.String("a*"), FilterType: types.ScanningRepositoryFilterTypeWildcard}}}
	put, err := c.PutRegistryScanningConfiguration(ctx, &sdkecr.PutRegistryScanningConfigurationInput{ScanType: types.ScanTypeBasic, Rules: []types.RegistryScanningRule{manualRule}})
	if err != nil || len(put.RegistryScanningConfiguration.Rules) != 1 || put.RegistryScanningConfiguration.Rules[0].ScanFrequency != types.ScanFrequencyManual {
		t.Fatalf("put a manual rule: %+v %v", put, err)
	}
	var invalid *types.InvalidParameterException
	if _, err := c.PutRegistryScanningConfiguration(ctx, &sdkecr.PutRegistryScanningConfigurationInput{ScanType: types.ScanTypeBasic,
		Rules: []types.RegistryScanningRule{{ScanFrequency: types.ScanFrequencyScanOnPush, RepositoryFilters: manualRule.RepositoryFilters}}}); !errors.As(err, &invalid) {
		t.Fatalf("put scan on push: %v", err)
	}
	repos, err := c.BatchGetRepositoryScanningConfiguration(ctx, &sdkecr.BatchGetRepositoryScanningConfigurationInput{RepositoryNames: []string{"app", "gone"}})
	if err != nil || len(repos.ScanningConfigurations) != 1 || len(repos.Failures) != 1 {
		t.Fatalf("batch get: %+v %v", repos, err)
	}
	if rc := repos.ScanningConfigurations[0]; rc.ScanOnPush || rc.ScanFrequency != types.ScanFrequencyManual || len(rc.AppliedScanFilters) != 1 || aws.ToString(rc.AppliedScanFilters[0].Filter) != "a*" {
		t.Errorf("app's configuration: %+v", rc)
	}
	if f := repos.Failures[0]; aws.ToString(f.RepositoryName) != "gone" || f.FailureCode != types.ScanningConfigurationFailureCodeRepositoryNotFound {
		t.Errorf("failure: %+v", f)
	}

	var unsupported *types.UnsupportedImageTypeException
	if _, err := c.StartImageScan(ctx, &sdkecr.StartImageScanInput{RepositoryName: aws.String("app"), ImageId: v1}); !errors.As(err, &unsupported) {
		t.Errorf("start image scan: %v", err)
	}
	var noImage *types.ImageNotFoundException
	if _, err := c.StartImageScan(ctx, &sdkecr.StartImageScanInput{RepositoryName: aws.String("app"), ImageId: &types.ImageIdentifier{ImageTag: aws.String("v2")}}); !errors.As(err, &noImage) {
		t.Errorf("start image scan of a missing image: %v", err)
	}
	var noScan *types.ScanNotFoundException
	if _, err := c.DescribeImageScanFindings(ctx, &sdkecr.DescribeImageScanFindingsInput{RepositoryName: aws.String("app"), ImageId: v1}); !errors.As(err, &noScan) {
		t.Errorf("describe image scan findings: %v", err)
	}
	var noRepo *types.RepositoryNotFoundException
	if _, err := c.DescribeImageScanFindings(ctx, &sdkecr.DescribeImageScanFindingsInput{RepositoryName: aws.String("gone"), ImageId: v1}); !errors.As(err, &noRepo) {
		t.Errorf("describe image scan findings in a missing repository: %v", err)
	}

	status, err := c.DescribeImageReplicationStatus(ctx, &sdkecr.DescribeImageReplicationStatusInput{RepositoryName: aws.String("app"), ImageId: v1})
	if err != nil || aws.ToString(status.ImageId.ImageDigest) != img.manifestDigest.String() || status.ReplicationStatuses == nil || len(status.ReplicationStatuses) != 0 {
		t.Errorf("replication status: %+v %v", status, err)
	}
	empty, err := c.PutReplicationConfiguration(ctx, &sdkecr.PutReplicationConfigurationInput{ReplicationConfiguration: &types.ReplicationConfiguration{Rules: []types.ReplicationRule{}}})
	if err != nil || empty.ReplicationConfiguration == nil || len(empty.ReplicationConfiguration.Rules) != 0 {
		t.Fatalf("put empty replication: %+v %v", empty, err)
	}
	if _, err := c.PutReplicationConfiguration(ctx, &sdkecr.PutReplicationConfigurationInput{ReplicationConfiguration: &types.ReplicationConfiguration{
		Rules: []types.ReplicationRule{{Destinations: []types.ReplicationDestination{{Region: aws.String("eu-west-1"), RegistryId: aws.String("123456789012")}}}}}}); !errors.As(err, &invalid) {
		t.Fatalf("put a destination: %v", err)
	}
	reg, err := c.DescribeRegistry(ctx, &sdkecr.DescribeRegistryInput{})
	if err != nil || reg.ReplicationConfiguration == nil || len(reg.ReplicationConfiguration.Rules) != 0 {
		t.Fatalf("describe registry: %+v %v", reg, err)
	}
}
