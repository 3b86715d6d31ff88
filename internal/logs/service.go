// Package logs implements Amazon CloudWatch Logs: log groups, log streams
// and their events, kept in etcd so that every server of a region serves
// the same logs.
package logs

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/controller"
	"github.com/berth-dev/berth/internal/store"
)

// TargetPrefix is the X-Amz-Target prefix of CloudWatch Logs.
const TargetPrefix = "Logs_20140328"

// Config names where the service lives.
type Config struct {
	Region, Account string
}

// Service is the CloudWatch Logs API.
type Service struct {
	cfg   Config
	store *store.Store
	authz api.Authorizer
	log   *slog.Logger
	keys  keys
	// now is the clock events are judged too old or too new by.
	now func() time.Time
}

// New returns the Logs service on st, authorizing every call with authz.
func New(cfg Config, st *store.Store, authz api.Authorizer, log *slog.Logger) *Service {
	return &Service{cfg: cfg, store: st, authz: authz, log: log, keys: keys{"/berth/" + cfg.Region + "/logs/"}, now: time.Now}
}

// Register serves CloudWatch Logs on router.
func (s *Service) Register(router *api.Router) { router.AddJSON(s.JSONService()) }

// RetentionInterval is how often the leader expires events past their
// groups' retention.
const RetentionInterval = time.Hour

// Controllers are the Logs background loops: retention, on the leader.
func (s *Service) Controllers() []controller.Controller {
	return []controller.Controller{
		controller.Leader("logs-retention", func(ctx context.Context) error {
			s.RunRetention(ctx, RetentionInterval)
			return nil
		}),
	}
}

// JSONService exposes the operations over AWS JSON 1.1.
func (s *Service) JSONService() *api.JSONService {
	js := api.NewJSONService("logs", TargetPrefix)
	// Logs names its internal error ServiceUnavailableException (its
	// model has no ServerException).
	js.FaultCode = "ServiceUnavailableException"
	js.Handle("CreateLogGroup", api.Op(s.CreateLogGroup))
	js.Handle("DeleteLogGroup", api.Op(s.DeleteLogGroup))
	js.Handle("DescribeLogGroups", api.Op(s.DescribeLogGroups))
	js.Handle("PutRetentionPolicy", api.Op(s.PutRetentionPolicy))
	js.Handle("DeleteRetentionPolicy", api.Op(s.DeleteRetentionPolicy))
	js.Handle("CreateLogStream", api.Op(s.CreateLogStream))
	js.Handle("DeleteLogStream", api.Op(s.DeleteLogStream))
	js.Handle("DescribeLogStreams", api.Op(s.DescribeLogStreams))
	js.Handle("PutLogEvents", api.Op(s.PutLogEvents))
	js.Handle("GetLogEvents", api.Op(s.GetLogEvents))
	js.Handle("FilterLogEvents", api.Op(s.FilterLogEvents))
	return js
}

// Empty is the response of the operations that return nothing.
type Empty struct{}

// authorize runs the authorization hook for logs:action on resource.
func (s *Service) authorize(ctx context.Context, action, resource string) error {
	return s.authz.Authorize(ctx, api.PrincipalFrom(ctx), "logs:"+action, resource)
}

// groupArn is the ARN IAM policies match a log group's actions against,
// the form with a trailing ":*" that DescribeLogGroups reports as arn.
func (s *Service) groupArn(group string) string { return s.groupBareArn(group) + ":*" }

// groupBareArn is the log group's ARN without the ":*" (logGroupArn).
func (s *Service) groupBareArn(group string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", s.cfg.Region, s.cfg.Account, group)
}

// streamArn is a log stream's ARN, the resource of event reads and writes.
func (s *Service) streamArn(group, stream string) string {
	return s.groupBareArn(group) + ":log-stream:" + stream
}

// keys lays out Logs records in etcd. Group names cannot hold ':' and
// stream names cannot hold ':' or '*', so ':' ends every name in a key:
// "<group>:" bounds a group's streams and "<group>:<stream>:" a stream's
// event batches. Names may hold '/' (ECS names streams
// "prefix/container/task-id"), so '/' never ends one: a stream "a" must
// not own the keys of "a/b".
type keys struct{ prefix string }

func (k keys) group(name string) string { return k.prefix + "group/" + name }
func (k keys) groups() string           { return k.prefix + "group/" }
func (k keys) stream(group, name string) string {
	return k.prefix + "stream/" + group + ":" + name
}
func (k keys) streams(group string) string { return k.prefix + "stream/" + group + ":" }
func (k keys) batch(group, stream string, seq int64, events []event) string {
	return k.batches(group, stream) + batchSuffix(seq, events[0].Timestamp, events[len(events)-1].Timestamp, len(events))
}
func (k keys) batches(group, stream string) string {
	return k.prefix + "events/" + group + ":" + stream + ":"
}
func (k keys) groupBatches(group string) string { return k.prefix + "events/" + group + ":" }
func (k keys) allBatches() string               { return k.prefix + "events/" }

// Error codes of CloudWatch Logs.
const (
	codeNotFound      = "ResourceNotFoundException"
	codeAlreadyExists = "ResourceAlreadyExistsException"
)

func groupNotFound() error {
	return api.Errorf(codeNotFound, "The specified log group does not exist.")
}
func streamNotFound() error {
	return api.Errorf(codeNotFound, "The specified log stream does not exist.")
}

var groupNameRE = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]+$`)

// validGroupName checks a log group name against the model's constraints.
func validGroupName(field, name string) error {
	if name == "" {
		return check.Null(field)
	}
	if len(name) > 512 || !groupNameRE.MatchString(name) {
		return check.Fail(field, name, "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+ and have length between 1 and 512")
	}
	return nil
}

// validStreamName checks a log stream name against the model's constraints.
func validStreamName(field, name string) error {
	if name == "" {
		return check.Null(field)
	}
	if len(name) > 512 || strings.ContainsAny(name, ":*") {
		return check.Fail(field, name, "Member must satisfy regular expression pattern: [^:*]* and have length between 1 and 512")
	}
	return nil
}

// resolveGroup returns the group named by logGroupName or
// logGroupIdentifier (a name or an ARN); exactly one must be given.
func resolveGroup(name, identifier string) (string, error) {
	switch {
	case name != "" && identifier != "":
		return "", api.InvalidParameter("LogGroup name and LogGroup identifier are mutually exclusive parameters.")
	case identifier != "":
		if rest, ok := strings.CutPrefix(identifier, "arn:"); ok {
			_, group, found := strings.Cut(rest, ":log-group:")
			if !found {
				return "", api.InvalidParameter("Invalid log group identifier %s.", identifier)
			}
			group = strings.TrimSuffix(group, ":*")
			return group, validGroupName("logGroupIdentifier", group)
		}
		return identifier, validGroupName("logGroupIdentifier", identifier)
	default:
		return name, validGroupName("logGroupName", name)
	}
}

// checkLimit validates an optional page size against [1, max] and
// returns it, or max when unset.
func checkLimit(limit *int, max int) (int, error) {
	if limit == nil {
		return max, nil
	}
	if *limit < 1 || *limit > max {
		return 0, check.Fail("limit", *limit, fmt.Sprintf("Member must have value between 1 and %d", max))
	}
	return *limit, nil
}

// check words the errors of values that break the model's constraints.
var check = api.ParameterValidation
