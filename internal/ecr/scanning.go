package ecr

import (
	"context"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// Berth has no image scanner and no KMS: a repository asking for scans on
// push or KMS encryption is refused by name rather than accepted and left
// unscanned or unencrypted by KMS. AES256 (ECR's default) is what Berth's
// storage provides.

func errScanOnPush() error {
	return api.InvalidParameter("Invalid parameter at 'imageScanningConfiguration': scanOnPush is not supported: Berth has no image scanner; set scanOnPush to false.")
}

// checkEncryption returns the encryption configuration of a new
// repository: AES256 unless KMS is asked for, which is refused.
func checkEncryption(in *EncryptionConfiguration) (EncryptionConfiguration, error) {
	if in == nil || in.EncryptionType == "AES256" && in.KmsKey == "" {
		return EncryptionConfiguration{EncryptionType: "AES256"}, nil
	}
	switch in.EncryptionType {
	case "KMS", "KMS_DSSE":
		return EncryptionConfiguration{}, api.InvalidParameter("Invalid parameter at 'encryptionConfiguration': encryptionType %s is not supported: Berth has no KMS; leave encryptionConfiguration out or use AES256.", in.EncryptionType)
	case "AES256":
		return EncryptionConfiguration{}, api.InvalidParameter("Invalid parameter at 'encryptionConfiguration': kmsKey can only be given with encryptionType KMS or KMS_DSSE.")
	}
	return EncryptionConfiguration{}, api.InvalidParameter("Invalid parameter at 'encryptionType' failed to satisfy constraint: 'Member must satisfy enum value set: [AES256, KMS, KMS_DSSE]'")
}

type PutImageScanningConfigurationInput struct {
	RegistryId                 string                      `json:"registryId"`
	RepositoryName             string                      `json:"repositoryName"`
	ImageScanningConfiguration *ImageScanningConfiguration `json:"imageScanningConfiguration"`
}

type PutImageScanningConfigurationOutput struct {
	RegistryId                 string                     `json:"registryId"`
	RepositoryName             string                     `json:"repositoryName"`
	ImageScanningConfiguration ImageScanningConfiguration `json:"imageScanningConfiguration"`
}

// PutImageScanningConfiguration sets a repository's scan-on-push setting;
// only false (no scanning) is accepted.
func (s *Service) PutImageScanningConfiguration(ctx context.Context, in *PutImageScanningConfigurationInput) (*PutImageScanningConfigurationOutput, error) {
	if err := s.checkRegistry(in.RegistryId); err != nil {
		return nil, err
	}
	if err := validName(in.RepositoryName); err != nil {
		return nil, err
	}
	if in.ImageScanningConfiguration == nil {
		return nil, api.InvalidParameter("imageScanningConfiguration is required.")
	}
	if err := s.authorize(ctx, "PutImageScanningConfiguration", s.repoArn(in.RepositoryName)); err != nil {
		return nil, err
	}
	if in.ImageScanningConfiguration.ScanOnPush {
		return nil, errScanOnPush()
	}
	it, err := s.repository(ctx, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	if _, err := store.Update(ctx, s.store, it.Key, func(r *repoRecord) error {
		r.Repository.ImageScanningConfiguration = *in.ImageScanningConfiguration
		return nil
	}); err != nil {
		return nil, err
	}
	return &PutImageScanningConfigurationOutput{RegistryId: s.cfg.Account, RepositoryName: in.RepositoryName, ImageScanningConfiguration: *in.ImageScanningConfiguration}, nil
}
