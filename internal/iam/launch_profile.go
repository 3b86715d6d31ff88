package iam

import (
	"context"
	"strings"

	"github.com/berth-dev/berth/internal/api"
)

// ProfileForLaunch resolves the instance profile of an EC2 launch, named
// by name or ARN, and checks that the caller may pass its role
// (iam:PassRole), as EC2's RunInstances does.
func (s *Service) ProfileForLaunch(ctx context.Context, nameOrARN string) (name, arn, id string, err error) {
	name = nameOrARN
	if strings.HasPrefix(nameOrARN, "arn:") {
		name = nameOrARN[strings.LastIndexByte(nameOrARN, '/')+1:]
	}
	invalid := api.Errorf("InvalidParameterValue", "Value (%s) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name", nameOrARN)
	if checkName("InstanceProfileName", name, 128) != nil {
		return "", "", "", invalid
	}
	prof, err := s.getProfile(ctx, name)
	if isNoSuchEntity(err) {
		return "", "", "", invalid
	}
	if err != nil {
		return "", "", "", err
	}
	if strings.HasPrefix(nameOrARN, "arn:") && nameOrARN != prof.Value.ARN {
		return "", "", "", api.Errorf("InvalidParameterValue", "Value (%s) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN", nameOrARN)
	}
	for _, role := range prof.Value.Roles {
		r, err := s.getEntity(ctx, kindRole, role)
		if err != nil {
			return "", "", "", err
		}
		if err := s.CheckPassRole(ctx, r.Value.ARN); err != nil {
			return "", "", "", api.Errorf("UnauthorizedOperation", "You are not authorized to perform this operation. %s", api.AsError(err).Message)
		}
	}
	return prof.Value.Name, prof.Value.ARN, prof.Value.ID, nil
}
