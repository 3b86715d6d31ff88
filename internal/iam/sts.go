package iam

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/api"
)

// STSQueryService returns the STS API.
func (s *Service) STSQueryService() *api.QueryService {
	q := api.NewQueryService("sts", stsNamespace)
	q.FaultCode = "InternalFailure" // STS's model has no fault shape; AWS's common error
	q.Handle("GetCallerIdentity", api.QueryOp(s.GetCallerIdentity))
	q.Handle("AssumeRole", api.QueryOp(s.AssumeRole))
	q.Handle("GetSessionToken", api.QueryOp(s.GetSessionToken))
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

type GetSessionTokenInput struct {
	DurationSeconds *int32
	SerialNumber    string
	TokenCode       string
}

type GetSessionTokenOutput struct {
	Credentials Credentials
}

// GetSessionToken bounds of DurationSeconds, in seconds.
const (
	minSessionTokenDuration  = 900
	maxSessionTokenDuration  = 129600
	defSessionTokenDuration  = 43200
	rootSessionTokenDuration = 3600
)

// GetSessionToken issues temporary credentials that act as the calling
// user, or root user, with the same permissions; like AWS's without MFA
// they cannot call IAM, nor STS beyond AssumeRole and GetCallerIdentity.
// Berth has no MFA devices, so a request naming one fails as a wrong
// code does. It needs no permission.
func (s *Service) GetSessionToken(ctx context.Context, in *GetSessionTokenInput) (*GetSessionTokenOutput, error) {
	p := api.PrincipalFrom(ctx)
	if strings.HasPrefix(p.AccessKeyID, "ASIA") {
		return nil, &api.Error{Code: "AccessDenied", Message: "Cannot call GetSessionToken with session credentials", Status: http.StatusForbidden}
	}
	duration := int32(defSessionTokenDuration)
	if p.Root {
		duration = rootSessionTokenDuration
	}
	if in.DurationSeconds != nil {
		duration = *in.DurationSeconds
		if duration < minSessionTokenDuration {
			return nil, check.AtLeast("durationSeconds", int(duration), minSessionTokenDuration)
		}
		if duration > maxSessionTokenDuration {
			return nil, check.AtMost("durationSeconds", int(duration), maxSessionTokenDuration)
		}
	}
	if p.Root {
		duration = min(duration, rootSessionTokenDuration) // AWS shortens root sessions to an hour
	}
	if in.SerialNumber != "" || in.TokenCode != "" {
		return nil, &api.Error{Code: "AccessDenied", Status: http.StatusForbidden,
			Message: "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user."}
	}
	ss := session{ID: newID("ASIA", 16), Secret: newSecret(), Token: newToken(), UserARN: p.ARN, UserID: p.UserID, Root: p.Root,
		Expiration: s.nowUTC().Add(time.Duration(duration) * time.Second)}
	if err := s.putSession(ctx, ss, time.Duration(duration)*time.Second); err != nil {
		return nil, err
	}
	return &GetSessionTokenOutput{Credentials: ss.credentials()}, nil
}
