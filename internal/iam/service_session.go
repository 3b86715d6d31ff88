package iam

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/iam/policy"
)

// Service principals that assume roles for their callers.
const (
	// PrincipalEC2 assumes an instance profile's role for the instance.
	PrincipalEC2 = "ec2.amazonaws.com"
	// PrincipalECSTasks assumes task and execution roles for ECS tasks.
	PrincipalECSTasks = "ecs-tasks.amazonaws.com"
)

// DefaultServiceSessionDuration is how long credentials that a service
// obtains for instances and tasks last, as on AWS (about six hours,
// refreshed well before they expire).
const DefaultServiceSessionDuration = 6 * time.Hour

// ErrUntrusted is returned when a role's trust policy does not let the
// service principal assume it (or the role does not exist).
var ErrUntrusted = errors.New("role cannot be assumed by the service")

// RoleSession is a set of temporary credentials of a role.
type RoleSession struct {
	Credentials
	// RoleArn is the role's ARN; AssumedRoleArn the session's.
	RoleArn, AssumedRoleArn string
	// Issued is when the session was made; a reused session keeps it, so
	// Issued plus half of Expiration-Issued is when a new one is made.
	Issued time.Time
}

// maxReusedSessions bounds the service sessions kept for reuse; beyond it
// the one due for renewal first is dropped early.
const maxReusedSessions = 1 << 16

// ServiceSession issues credentials of the role for a service principal
// acting for a caller that was allowed to pass the role: the role's trust
// policy must name the service. sessionName becomes the last part of the
// session's ARN (the instance id, the task id).
//
// Like the credentials endpoints of ECS and EC2, it hands out the same
// session again until half its lifetime has passed, so that a task or an
// instance reading its credentials in a loop does not make a new session
// (a store write) each time. The trust policy is checked on every call,
// and a role deleted and made again under the same name is a new role
// (its id is part of the reuse key), so nothing outlives the role's
// consent except keys already handed out, as on AWS.
func (s *Service) ServiceSession(ctx context.Context, service, roleARN, sessionName string) (RoleSession, error) {
	role, err := s.trustedRole(ctx, service, roleARN)
	if err != nil {
		return RoleSession{}, err
	}
	now := s.now()
	reuse := service + "\x00" + role.ID + "\x00" + sessionName
	if rs, ok := s.reused.get(reuse, now); ok {
		return rs, nil
	}
	d := s.serviceSession
	if d <= 0 {
		d = DefaultServiceSessionDuration
	}
	ss := s.roleSession(role, sessionName, d)
	ss.Service = service
	if err := s.putSession(ctx, ss, d); err != nil {
		return RoleSession{}, err
	}
	issued := ss.Expiration.Add(-d)
	rs := RoleSession{Credentials: ss.credentials(), RoleArn: ss.RoleARN, AssumedRoleArn: ss.arn(s.account), Issued: issued}
	s.reused.put(reuse, rs, issued.Add(d/2), now)
	return rs, nil
}

// CheckServiceTrust returns ErrUntrusted unless the role exists and its
// trust policy lets the service principal assume it.
func (s *Service) CheckServiceTrust(ctx context.Context, service, roleARN string) error {
	_, err := s.trustedRole(ctx, service, roleARN)
	return err
}

func (s *Service) trustedRole(ctx context.Context, service, roleARN string) (entity, error) {
	role, trust, err := s.roleAndTrust(ctx, roleARN)
	if err != nil {
		return entity{}, err
	}
	req := policy.Request{Action: policy.ActionAssumeRole, Resource: roleARN, Time: s.now(),
		Principal: policy.Principal{Service: service}}
	if ok, _ := policy.Trusts(trust, req); !ok {
		return entity{}, ErrUntrusted
	}
	return role, nil
}

// roleAndTrust loads the role of this account an ARN names (path
// included) with its parsed trust policy: ErrUntrusted when there is no
// such role or its trust policy does not parse.
func (s *Service) roleAndTrust(ctx context.Context, roleARN string) (entity, *policy.Document, error) {
	if !strings.HasPrefix(roleARN, "arn:aws:iam::"+s.account+":role/") {
		return entity{}, nil, ErrUntrusted
	}
	role, err := s.getEntity(ctx, kindRole, lastSegment(roleARN))
	if isNoSuchEntity(err) || err == nil && role.Value.ARN != roleARN {
		return entity{}, nil, ErrUntrusted
	}
	if err != nil {
		return entity{}, nil, err
	}
	trust, err := parsePolicy(role.Value.TrustPolicy, policy.KindTrust)
	if err != nil {
		return entity{}, nil, ErrUntrusted
	}
	return role.Value, trust, nil
}

// CheckPassRole authorizes the caller in ctx to hand a role to a service
// (iam:PassRole on the role), as launching an instance with a profile or
// running a task with a role requires.
func (s *Service) CheckPassRole(ctx context.Context, roleARN string) error {
	return s.Authorize(ctx, api.PrincipalFrom(ctx), "iam:PassRole", roleARN)
}

// InstanceCredentials returns credentials of the role in an instance
// profile for the instance instanceID, as an EC2 instance launched with
// the profile gets them from its metadata service. The caller launches the
// instance, so it must be allowed iam:PassRole on the role, and the role
// must trust ec2.amazonaws.com.
func (s *Service) InstanceCredentials(ctx context.Context, profileName, instanceID string) (RoleSession, error) {
	if err := checkName("InstanceProfileName", profileName, 128); err != nil {
		return RoleSession{}, err
	}
	prof, err := s.getProfile(ctx, profileName)
	if err != nil {
		return RoleSession{}, err
	}
	if len(prof.Value.Roles) == 0 {
		return RoleSession{}, api.Errorf(api.CodeValidation, "Instance profile %s has no role; add one with AddRoleToInstanceProfile.", profileName)
	}
	role, err := s.getEntity(ctx, kindRole, prof.Value.Roles[0])
	if err != nil {
		return RoleSession{}, err
	}
	if err := s.CheckPassRole(ctx, role.Value.ARN); err != nil {
		return RoleSession{}, err
	}
	rs, err := s.ServiceSession(ctx, PrincipalEC2, role.Value.ARN, instanceID)
	if errors.Is(err, ErrUntrusted) {
		return rs, &api.Error{Code: "AccessDeniedException", Status: http.StatusForbidden,
			Message: "The role " + role.Value.ARN + " of instance profile " + profileName + " does not trust " + PrincipalEC2 + " (its trust policy must allow sts:AssumeRole for that service)."}
	}
	return rs, err
}

// MetadataCredentials is the EC2 instance metadata shape of role
// credentials (iam/security-credentials/<role>), which the AWS SDKs read.
type MetadataCredentials struct {
	Code            string
	LastUpdated     time.Time
	Type            string
	AccessKeyId     string
	SecretAccessKey string
	Token           string
	Expiration      time.Time
	// RoleArn is not in the EC2 shape; the ECS credentials endpoint adds it.
	RoleArn string `json:",omitempty"`
}

// InstanceCredentialsHandler serves GET /berth/instance-credentials
// ?instanceProfile=NAME&instanceId=i-...: a SigV4-signed request by whoever
// launches an instance, answered with the profile role's credentials in
// the instance metadata shape.
func (s *Service) InstanceCredentialsHandler(authn api.Authenticator) http.Handler {
	return api.SignedGet(authn, func(ctx context.Context, q url.Values) (any, error) {
		instanceID := q.Get("instanceId")
		if !strings.HasPrefix(instanceID, "i-") || checkSessionName(instanceID) != nil {
			return nil, api.Errorf(api.CodeValidation, "instanceId %q must be an instance id (i-...).", instanceID)
		}
		rs, err := s.InstanceCredentials(ctx, q.Get("instanceProfile"), instanceID)
		if err != nil {
			return nil, err
		}
		return rs.Metadata(rs.Issued), nil
	})
}

// Metadata renders the session in the metadata-service shape; updated
// is when the credentials last changed.
func (rs RoleSession) Metadata(updated time.Time) MetadataCredentials {
	return MetadataCredentials{Code: "Success", LastUpdated: updated, Type: "AWS-HMAC", AccessKeyId: rs.AccessKeyId,
		SecretAccessKey: rs.SecretAccessKey, Token: rs.SessionToken, Expiration: rs.Expiration, RoleArn: rs.RoleArn}
}
