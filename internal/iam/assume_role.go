package iam

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/iam/policy"
)

type AssumeRoleInput struct {
	RoleArn           string
	RoleSessionName   string
	DurationSeconds   *int32
	Policy            string
	PolicyArns        []PolicyDescriptor
	Tags              []Tag
	TransitiveTagKeys []string
	ExternalId        string
	SourceIdentity    string
}

// PolicyDescriptor is the STS PolicyDescriptorType: a managed policy to
// use as a session policy.
type PolicyDescriptor struct {
	Arn string `query:"arn"`
}

// Credentials is the STS Credentials shape.
type Credentials struct {
	AccessKeyId     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

// AssumedRoleUser is the STS AssumedRoleUser shape.
type AssumedRoleUser struct {
	AssumedRoleId string
	Arn           string
}

type AssumeRoleOutput struct {
	Credentials      Credentials
	AssumedRoleUser  AssumedRoleUser
	PackedPolicySize *int32 `xml:",omitempty"`
	SourceIdentity   string `xml:",omitempty"`
}

// Session quotas of AssumeRole.
const (
	maxSessionPolicyArns = 10
	maxSessionTags       = 50
)

// AssumeRole issues temporary credentials for a role whose trust policy
// lets the caller in. Session policies (Policy, PolicyArns) cap what the
// role allows; session tags need sts:TagSession in the trust policy and
// become the session's aws:PrincipalTag/*; transitive tags carry on when
// the session assumes another role. Role chaining is capped at one hour,
// as in AWS.
func (s *Service) AssumeRole(ctx context.Context, in *AssumeRoleInput) (*AssumeRoleOutput, error) {
	p := api.PrincipalFrom(ctx)
	if err := checkAssumeRole(in); err != nil {
		return nil, err
	}
	denied := func() error {
		return &api.Error{Code: "AccessDenied", Status: http.StatusForbidden,
			Message: fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", p.ARN, in.RoleArn)}
	}
	if p.Root {
		return nil, &api.Error{Code: "AccessDenied", Status: http.StatusForbidden, Message: "Roles may not be assumed by root accounts."}
	}
	policyDocs, err := s.sessionPolicyDocs(ctx, in.PolicyArns)
	if err != nil {
		return nil, err
	}
	role, trust, err := s.roleAndTrust(ctx, in.RoleArn)
	if err != nil {
		return nil, denied()
	}
	caller, err := s.callerPolicies(ctx, p)
	if err != nil {
		return nil, err
	}
	tags, transitive := sessionTags(caller, in)
	req := caller.request(policy.ActionAssumeRole, in.RoleArn, s.now())
	for k, v := range requestTagKeys(in.Tags) {
		req.Context[k] = v
	}
	if in.ExternalId != "" {
		req.Context["sts:ExternalId"] = []string{in.ExternalId}
	}
	if in.SourceIdentity != "" {
		req.Context["sts:SourceIdentity"] = []string{in.SourceIdentity}
	}
	// Each of these needs the trust policy's (and, for a trust naming only
	// the account, the caller's policies') permission.
	actions := []string{policy.ActionAssumeRole}
	if len(in.Tags) > 0 {
		actions = append(actions, "sts:TagSession")
	}
	if in.SourceIdentity != "" {
		actions = append(actions, "sts:SetSourceIdentity")
	}
	for _, action := range actions {
		req.Action = action
		if d := policy.AssumeRole(req, trust, caller.identity, caller.options()...); !d.Allowed() {
			if action == policy.ActionAssumeRole {
				return nil, denied()
			}
			return nil, &api.Error{Code: "AccessDenied", Status: http.StatusForbidden,
				Message: fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s", p.ARN, action, in.RoleArn)}
		}
	}
	duration := int32(3600)
	if in.DurationSeconds != nil {
		duration = *in.DurationSeconds
	}
	limit := role.MaxSessionDuration
	if caller.roleARN != "" {
		limit = 3600 // role chaining
	}
	if duration < 900 {
		return nil, check.AtLeast("durationSeconds", int(duration), 900)
	}
	if duration > limit {
		return nil, validationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	packed := packedSize(in.Policy, in.PolicyArns, tags)
	if packed > 100 {
		return nil, &api.Error{Code: "PackedPolicyTooLarge", Status: http.StatusBadRequest,
			Message: fmt.Sprintf("Packed policy consumes %d%% of allotted space, please use smaller policy.", packed)}
	}
	lasts := time.Duration(duration) * time.Second
	ss := s.roleSession(role, in.RoleSessionName, lasts)
	ss.Policy, ss.PolicyDocs, ss.Tags, ss.TransitiveTagKeys = in.Policy, policyDocs, tags, transitive
	ss.SourceIdentity = cmp.Or(in.SourceIdentity, caller.sourceIdentity)
	if err := s.putSession(ctx, ss, lasts); err != nil {
		return nil, err
	}
	out := &AssumeRoleOutput{
		Credentials:     ss.credentials(),
		AssumedRoleUser: AssumedRoleUser{AssumedRoleId: ss.RoleID + ":" + ss.SessionName, Arn: ss.arn(s.account)},
		SourceIdentity:  ss.SourceIdentity,
	}
	if in.Policy != "" || len(policyDocs) > 0 || len(tags) > 0 {
		size := int32(packed)
		out.PackedPolicySize = &size
	}
	return out, nil
}

// checkAssumeRole validates AssumeRole's parameters before anything is read.
func checkAssumeRole(in *AssumeRoleInput) error {
	if err := checkSessionName(in.RoleSessionName); err != nil {
		return err
	}
	if len(in.RoleArn) < 20 {
		return check.Fail("roleArn", in.RoleArn, "Member must have length greater than or equal to 20")
	}
	if in.Policy != "" {
		if err := checkIdentityPolicy(in.Policy); err != nil {
			return err
		}
	}
	if len(in.PolicyArns) > maxSessionPolicyArns {
		return check.Fail("policyArns", api.List, fmt.Sprintf("Member must have length less than or equal to %d", maxSessionPolicyArns))
	}
	if len(in.Tags) > maxSessionTags {
		return check.Fail("tags", api.List, fmt.Sprintf("Member must have length less than or equal to %d", maxSessionTags))
	}
	if err := checkTags(in.Tags); err != nil {
		return err
	}
	for _, k := range in.TransitiveTagKeys {
		if !slices.ContainsFunc(in.Tags, func(t Tag) bool { return strings.EqualFold(t.Key, k) }) {
			return invalidParameter("The specified transitive tag key must be included in the requested tags.")
		}
	}
	if n := len(in.ExternalId); in.ExternalId != "" && (n < 2 || n > 1224 || !externalIDPattern.MatchString(in.ExternalId)) {
		return check.Fail("externalId", in.ExternalId, "Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]* and have length between 2 and 1224")
	}
	if n := len(in.SourceIdentity); in.SourceIdentity != "" && (n < 2 || n > 64 || !sourceIdentityPattern.MatchString(in.SourceIdentity)) {
		return check.Fail("sourceIdentity", in.SourceIdentity, "Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length between 2 and 64")
	}
	return nil
}

var (
	externalIDPattern     = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
	sourceIdentityPattern = regexp.MustCompile(`^[\w+=,.@-]*$`)
)

func invalidParameter(format string, args ...any) error {
	return &api.Error{Code: "InvalidParameterValue", Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

// sessionPolicyDocs loads the managed session policies' current documents.
func (s *Service) sessionPolicyDocs(ctx context.Context, descriptors []PolicyDescriptor) ([]string, error) {
	var docs []string
	for _, d := range descriptors {
		mp, err := s.loadPolicy(ctx, d.Arn)
		if isNoSuchEntity(err) {
			return nil, invalidParameter("Policy %s does not exist or is not attachable.", d.Arn)
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, mp.Value.Document)
	}
	return docs, nil
}

// sessionTags are the tags of a new session: the requested ones, and the
// caller's transitive session tags, which a chained session keeps and
// cannot change.
func sessionTags(c *caller, in *AssumeRoleInput) (tags []Tag, transitive []string) {
	tags = slices.Clone(in.Tags)
	transitive = slices.Clone(in.TransitiveTagKeys)
	for _, t := range c.transitive {
		tags = slices.DeleteFunc(tags, func(x Tag) bool { return strings.EqualFold(x.Key, t.Key) })
		tags = append(tags, t)
		if !slices.ContainsFunc(transitive, func(k string) bool { return strings.EqualFold(k, t.Key) }) {
			transitive = append(transitive, t.Key)
		}
	}
	return tags, transitive
}

// packedSize is the percentage of the packed session policy quota that
// session policies and tags use; managed session policies count by
// their ARN, as they are passed by reference.
func packedSize(inline string, arns []PolicyDescriptor, tags []Tag) int {
	n := policy.CharCount(inline)
	for _, d := range arns {
		n += len(d.Arn)
	}
	for _, t := range tags {
		n += len(t.Key) + len(t.Value)
	}
	return n * 100 / maxSessionPolicySize
}

func checkSessionName(name string) error {
	if len(name) < 2 || len(name) > 64 {
		return check.Fail("roleSessionName", name, "Member must have length between 2 and 64")
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_+=,.@-", c)) {
			return check.Fail("roleSessionName", name, "Member must satisfy regular expression pattern: [\\w+=,.@-]*")
		}
	}
	return nil
}
