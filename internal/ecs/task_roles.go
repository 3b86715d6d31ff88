package ecs

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/acs"
	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/iam"
	"github.com/berth-dev/berth/internal/store"
)

// Task and execution roles. A task whose definition (or run overrides)
// names a taskRoleArn or executionRoleArn gets, per role, an unguessable
// credentials id when it is created. The agent learns the ids from the
// ACS payload; the containers get the task role's as
// AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, and the credentials endpoint on
// their host (169.254.170.2) exchanges it, through the task-credentials
// endpoint below, for temporary credentials of the role, issued to
// ecs-tasks.amazonaws.com with the task id as the session name.

// RoleIssuer is what ECS needs of IAM for task and execution roles.
type RoleIssuer interface {
	// CheckPassRole authorizes the caller in ctx to pass the role.
	CheckPassRole(ctx context.Context, roleARN string) error
	// CheckServiceTrust returns iam.ErrUntrusted unless the role trusts service.
	CheckServiceTrust(ctx context.Context, service, roleARN string) error
	// ServiceSession issues temporary credentials of the role to service,
	// the same ones again until half their lifetime has passed.
	ServiceSession(ctx context.Context, service, roleARN, sessionName string) (iam.RoleSession, error)
}

// taskCredentials are the roles of a task and their credentials ids.
type taskCredentials struct {
	TaskRole        string `json:"taskRole,omitempty"`
	TaskRoleID      string `json:"taskRoleId,omitempty"`
	ExecutionRole   string `json:"executionRole,omitempty"`
	ExecutionRoleID string `json:"executionRoleId,omitempty"`
}

// Role types of the credentials endpoint and ACS.
const (
	roleTypeTask      = "TaskApplication"
	roleTypeExecution = "TaskExecution"
)

// runRoles returns the task and execution roles of a run: the overrides'
// if set, else the definition's.
func runRoles(td *TaskDefinition, o *TaskOverride) (task, execution string) {
	task, execution = td.TaskRoleArn, td.ExecutionRoleArn
	if o != nil && o.TaskRoleArn != "" {
		task = o.TaskRoleArn
	}
	if o != nil && o.ExecutionRoleArn != "" {
		execution = o.ExecutionRoleArn
	}
	return task, execution
}

// checkPassRoles lets a caller start tasks with roles only if it may pass
// each of them and ECS may assume them, as ECS checks at RunTask,
// StartTask, CreateService and UpdateService.
func (s *Service) checkPassRoles(ctx context.Context, roles ...string) error {
	for _, role := range roles {
		if role == "" {
			continue
		}
		if s.roles == nil {
			return api.ClientError("IAM roles for tasks are not available on this server.")
		}
		if err := s.roles.CheckPassRole(ctx, role); err != nil {
			return err
		}
		err := s.roles.CheckServiceTrust(ctx, iam.PrincipalECSTasks, role)
		if errors.Is(err, iam.ErrUntrusted) {
			return api.ClientError("ECS was unable to assume the role '%s' that was provided for this task. Please verify that the role being passed has the proper trust relationship and permissions and that your IAM user has permissions to pass this role.", role)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// newTaskCredentials gives each role of a run a credentials id; nil when
// the run has no roles.
func newTaskCredentials(td *TaskDefinition, o *TaskOverride) *taskCredentials {
	task, execution := runRoles(td, o)
	if task == "" && execution == "" {
		return nil
	}
	c := &taskCredentials{TaskRole: task, ExecutionRole: execution}
	if task != "" {
		c.TaskRoleID = api.NewRequestID()
	}
	if execution != "" {
		c.ExecutionRoleID = api.NewRequestID()
	}
	return c
}

// acsCredentials names a task's roles and credentials ids in its payload.
// The keys themselves are fetched from the task-credentials endpoint when
// needed, so payloads carry no secrets.
func (c *taskCredentials) acsCredentials() (task, execution *acs.IAMRoleCredentials) {
	if c == nil {
		return nil, nil
	}
	if c.TaskRoleID != "" {
		task = &acs.IAMRoleCredentials{CredentialsId: c.TaskRoleID, RoleArn: c.TaskRole}
	}
	if c.ExecutionRoleID != "" {
		execution = &acs.IAMRoleCredentials{CredentialsId: c.ExecutionRoleID, RoleArn: c.ExecutionRole}
	}
	return task, execution
}

// TaskCredentials is the credentials endpoint's answer, the shape the AWS
// SDKs' container credential providers read.
type TaskCredentials struct {
	RoleArn         string
	AccessKeyId     string
	SecretAccessKey string
	Token           string
	Expiration      time.Time
}

// TaskCredentialsHandler serves GET /berth/task-credentials?taskArn=
// &credentialsId=: an agent's SigV4-signed request for credentials of a
// task's role. The caller must be allowed ecs:Poll on the task's container
// instance and be that instance (or whoever registered it), the id must
// be the task's, and the task must not have stopped. The same session is
// answered until half its lifetime (see iam.Service.ServiceSession).
func (s *Service) TaskCredentialsHandler(authn api.Authenticator) http.Handler {
	return api.SignedGet(authn, func(ctx context.Context, q url.Values) (any, error) {
		return s.taskCredentials(ctx, q.Get("taskArn"), q.Get("credentialsId"))
	})
}

func (s *Service) taskCredentials(ctx context.Context, taskArn, id string) (*TaskCredentials, error) {
	notFound := &api.Error{Code: "CredentialsNotFound", Status: http.StatusNotFound,
		Message: "No credentials with this id for task " + taskArn + "."}
	cluster, taskID, ok := s.parseTaskARN(taskArn)
	if !ok || id == "" {
		return nil, notFound
	}
	it, found, err := s.findTask(ctx, cluster, taskID)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound
	}
	rec := it.Value
	if err := s.authorize(ctx, "Poll", s.instanceARN(&rec)); err != nil {
		return nil, err
	}
	if err := s.checkReceivesKeys(ctx, &rec); err != nil {
		return nil, err
	}
	c := rec.Credentials
	var role string
	switch {
	case c == nil:
		return nil, notFound
	case c.TaskRoleID != "" && subtle.ConstantTimeCompare([]byte(id), []byte(c.TaskRoleID)) == 1:
		role = c.TaskRole
	case c.ExecutionRoleID != "" && subtle.ConstantTimeCompare([]byte(id), []byte(c.ExecutionRoleID)) == 1:
		role = c.ExecutionRole
	default:
		return nil, notFound
	}
	if rec.Task.LastStatus == "STOPPED" {
		return nil, notFound
	}
	if s.roles == nil {
		return nil, notFound
	}
	rs, err := s.roles.ServiceSession(ctx, iam.PrincipalECSTasks, role, taskID)
	if errors.Is(err, iam.ErrUntrusted) {
		return nil, &api.Error{Code: "AccessDeniedException", Status: http.StatusForbidden,
			Message: "ECS was unable to assume the role '" + role + "' that was provided for this task: it no longer exists or does not trust " + iam.PrincipalECSTasks + "."}
	}
	if err != nil {
		return nil, err
	}
	return &TaskCredentials{RoleArn: role, AccessKeyId: rs.AccessKeyId, SecretAccessKey: rs.SecretAccessKey,
		Token: rs.SessionToken, Expiration: rs.Expiration}, nil
}

// checkReceivesKeys refuses credentials of a task's roles to a caller that
// is neither the task's instance nor the instance's registrant.
func (s *Service) checkReceivesKeys(ctx context.Context, rec *taskRecord) error {
	p := api.PrincipalFrom(ctx)
	inst, err := store.Get[instanceRecord](ctx, s.store, s.keys.instance(rec.Cluster, rec.InstanceID))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err == nil && receivesKeys(p, &inst.Value) {
		return nil
	}
	if p.SourceInstance != "" {
		return notThisInstance(p, "Poll", s.instanceARN(rec))
	}
	return api.Errorf(api.CodeAccessDenied, "User: %s is not authorized to receive the credentials of tasks on %s: only the instance itself and whoever registered it are.",
		p.ARN, s.instanceARN(rec))
}

// instanceARN is the ARN of the container instance a task runs on, which
// a Fargate task does not show.
func (s *Service) instanceARN(rec *taskRecord) string {
	return s.arn("container-instance/" + rec.Cluster + "/" + rec.InstanceID)
}

// parseTaskARN splits a task ARN of this region and account into its
// cluster and task id.
func (s *Service) parseTaskARN(arn string) (cluster, id string, ok bool) {
	rest, found := strings.CutPrefix(arn, s.arn("task/"))
	if !found {
		return "", "", false
	}
	cluster, id, ok = strings.Cut(rest, "/")
	return cluster, id, ok && cluster != "" && id != "" && !strings.Contains(id, "/")
}
