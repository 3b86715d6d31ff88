package ecr

import (
	"strings"
	"testing"
)

// TestUnsupportedRepositorySettings checks that KMS encryption and scan on
// push are refused by name, while ECR's defaults are accepted.
func TestUnsupportedRepositorySettings(t *testing.T) {
	s, ctx := newService(t)
	for _, tt := range []struct {
		name  string
		in    CreateRepositoryInput
		field string // "" = accepted
	}{
		{"defaults", CreateRepositoryInput{}, ""},
		{"AES256", CreateRepositoryInput{EncryptionConfiguration: &EncryptionConfiguration{EncryptionType: "AES256"}}, ""},
		{"no scan on push", CreateRepositoryInput{ImageScanningConfiguration: &ImageScanningConfiguration{ScanOnPush: false}}, ""},
		{"KMS", CreateRepositoryInput{EncryptionConfiguration: &EncryptionConfiguration{EncryptionType: "KMS", KmsKey: "alias/mine"}}, "encryptionConfiguration"},
		{"KMS_DSSE", CreateRepositoryInput{EncryptionConfiguration: &EncryptionConfiguration{EncryptionType: "KMS_DSSE"}}, "encryptionConfiguration"},
		{"AES256 with a key", CreateRepositoryInput{EncryptionConfiguration: &EncryptionConfiguration{EncryptionType: "AES256", KmsKey: "k"}}, "kmsKey"},
		{"unknown encryption", CreateRepositoryInput{EncryptionConfiguration: &EncryptionConfiguration{EncryptionType: "ROT13"}}, "encryptionType"},
		{"scan on push", CreateRepositoryInput{ImageScanningConfiguration: &ImageScanningConfiguration{ScanOnPush: true}}, "scanOnPush"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.RepositoryName = "repo-" + strings.ToLower(strings.NewReplacer(" ", "-", "_", "-").Replace(tt.name))
			out, err := s.CreateRepository(ctx, &tt.in)
			if tt.field == "" {
				if err != nil || out.Repository.EncryptionConfiguration.EncryptionType != "AES256" {
					t.Fatalf("CreateRepository = %+v, %v; want an AES256 repository", out, err)
				}
				return
			}
			if code(err) != "InvalidParameterException" || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("error %v, want InvalidParameterException naming %s", err, tt.field)
			}
			if _, err := s.DescribeRepositories(ctx, &DescribeRepositoriesInput{RepositoryNames: []string{tt.in.RepositoryName}}); code(err) != "RepositoryNotFoundException" {
				t.Fatalf("a refused repository exists: %v", err)
			}
		})
	}

	put := func(name string, scan bool) error {
		_, err := s.PutImageScanningConfiguration(ctx, &PutImageScanningConfigurationInput{RepositoryName: name, ImageScanningConfiguration: &ImageScanningConfiguration{ScanOnPush: scan}})
		return err
	}
	if err := put("repo-defaults", false); err != nil {
		t.Fatalf("scanOnPush false: %v", err)
	}
	if err := put("repo-defaults", true); code(err) != "InvalidParameterException" || !strings.Contains(err.Error(), "scanOnPush") {
		t.Fatalf("scanOnPush true: %v, want InvalidParameterException naming scanOnPush", err)
	}
	if err := put("repo-nosuch", false); code(err) != "RepositoryNotFoundException" {
		t.Fatalf("unknown repository: %v", err)
	}
	if _, err := s.PutImageScanningConfiguration(ctx, &PutImageScanningConfigurationInput{RepositoryName: "repo-defaults"}); code(err) != "InvalidParameterException" {
		t.Fatalf("no configuration: %v", err)
	}
}
