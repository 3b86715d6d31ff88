package iam

import (
	"context"

	"github.com/berth-dev/berth/internal/api"
)

// STSQueryService returns the STS API.
func (s *Service) STSQueryService() *api.QueryService {
	q := api.NewQueryService("sts", stsNamespace)
	q.Handle("GetCallerIdentity", api.QueryOp(s.GetCallerIdentity))
	q.Handle("AssumeRole", api.QueryOp(s.AssumeRole))
	return q
}

type GetCallerIdentityOutput struct {
	UserId  string
	Account string
	Arn     string
}

// GetCallerIdentity names the caller. Like AWS it needs no permission.
func (s *Service) GetCallerIdentity(ctx context.Context, _ *struct{}) (*GetCallerIdentityOutput, error) {
	p := api.PrincipalFrom(ctx)
	return &GetCallerIdentityOutput{UserId: p.UserID, Account: p.Account, Arn: p.ARN}, nil
}
