package logs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// groupRecord is a log group as stored.
type groupRecord struct {
	Name            string            `json:"name"`
	CreationTime    int64             `json:"creationTime"`
	RetentionInDays int               `json:"retentionInDays,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
	Class           string            `json:"class,omitempty"`
}

// LogGroup is the LogGroup shape.
type LogGroup struct {
	LogGroupName      string `json:"logGroupName"`
	CreationTime      int64  `json:"creationTime"`
	RetentionInDays   *int   `json:"retentionInDays,omitempty"`
	MetricFilterCount int    `json:"metricFilterCount"`
	Arn               string `json:"arn"`
	LogGroupArn       string `json:"logGroupArn"`
	StoredBytes       int64  `json:"storedBytes"`
	LogGroupClass     string `json:"logGroupClass"`
}

func (s *Service) logGroup(r groupRecord) LogGroup {
	g := LogGroup{LogGroupName: r.Name, CreationTime: r.CreationTime, Arn: s.groupArn(r.Name),
		LogGroupArn: s.groupBareArn(r.Name), LogGroupClass: cmp.Or(r.Class, "STANDARD")}
	if r.RetentionInDays > 0 {
		days := r.RetentionInDays
		g.RetentionInDays = &days
	}
	return g
}

// group loads a log group or returns ResourceNotFoundException.
func (s *Service) group(ctx context.Context, name string) (store.Item[groupRecord], error) {
	it, err := store.Get[groupRecord](ctx, s.store, s.keys.group(name))
	if errors.Is(err, store.ErrNotFound) {
		return it, groupNotFound()
	}
	return it, err
}

// maxTags is how many tags a log group may carry.
const maxTags = 50

type CreateLogGroupInput struct {
	LogGroupName  string            `json:"logGroupName"`
	KmsKeyId      string            `json:"kmsKeyId"`
	Tags          map[string]string `json:"tags"`
	LogGroupClass string            `json:"logGroupClass"`
}

// CreateLogGroup creates an empty log group whose events never expire.
func (s *Service) CreateLogGroup(ctx context.Context, in *CreateLogGroupInput) (*Empty, error) {
	if err := validGroupName("logGroupName", in.LogGroupName); err != nil {
		return nil, err
	}
	if strings.HasPrefix(in.LogGroupName, "aws/") {
		return nil, api.InvalidParameter("Log group names can't start with 'aws/'.")
	}
	if len(in.Tags) > maxTags {
		return nil, check.Fail("tags", api.List, fmt.Sprintf("Member must have length less than or equal to %d", maxTags))
	}
	if c := in.LogGroupClass; c != "" && c != "STANDARD" && c != "INFREQUENT_ACCESS" {
		return nil, check.Fail("logGroupClass", c, "Member must satisfy enum value set: [STANDARD, INFREQUENT_ACCESS]")
	}
	if err := s.authorize(ctx, "CreateLogGroup", s.groupArn(in.LogGroupName)); err != nil {
		return nil, err
	}
	key := s.keys.group(in.LogGroupName)
	rec := groupRecord{Name: in.LogGroupName, CreationTime: s.now().UnixMilli(), Tags: in.Tags, Class: in.LogGroupClass}
	err := s.store.Commit(ctx, store.NewTxn().IfAbsent(key).Put(key, rec))
	if errors.Is(err, store.ErrConflict) {
		return nil, api.Errorf(codeAlreadyExists, "The specified log group already exists")
	}
	if err != nil {
		return nil, err
	}
	return &Empty{}, nil
}

type DeleteLogGroupInput struct {
	LogGroupName string `json:"logGroupName"`
}

// DeleteLogGroup deletes a log group with its streams and their events, in
// one transaction.
func (s *Service) DeleteLogGroup(ctx context.Context, in *DeleteLogGroupInput) (*Empty, error) {
	if err := validGroupName("logGroupName", in.LogGroupName); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "DeleteLogGroup", s.groupArn(in.LogGroupName)); err != nil {
		return nil, err
	}
	key := s.keys.group(in.LogGroupName)
	err := s.store.Commit(ctx, store.NewTxn().IfExists(key).Delete(key).
		DeletePrefix(s.keys.streams(in.LogGroupName)).
		DeletePrefix(s.keys.groupBatches(in.LogGroupName)))
	if errors.Is(err, store.ErrConflict) {
		return nil, groupNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("delete log group %s: %w", in.LogGroupName, err)
	}
	return &Empty{}, nil
}

type DescribeLogGroupsInput struct {
	LogGroupNamePrefix string  `json:"logGroupNamePrefix"`
	NextToken          *string `json:"nextToken"`
	Limit              *int    `json:"limit"`
}

type DescribeLogGroupsOutput struct {
	LogGroups []LogGroup `json:"logGroups"`
	NextToken *string    `json:"nextToken,omitempty"`
}

// DescribeLogGroups lists log groups in ASCII order of their names.
func (s *Service) DescribeLogGroups(ctx context.Context, in *DescribeLogGroupsInput) (*DescribeLogGroupsOutput, error) {
	if in.LogGroupNamePrefix != "" {
		if err := validGroupName("logGroupNamePrefix", in.LogGroupNamePrefix); err != nil {
			return nil, err
		}
	}
	n, err := checkLimit(in.Limit, 50)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "DescribeLogGroups", s.groupBareArn("*")); err != nil {
		return nil, err
	}
	items, err := store.List[groupRecord](ctx, s.store, s.keys.groups()+in.LogGroupNamePrefix)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = it.Value.Name
	}
	idx, next, err := page(names, false, in.NextToken, n)
	if err != nil {
		return nil, err
	}
	out := &DescribeLogGroupsOutput{LogGroups: []LogGroup{}, NextToken: next}
	for _, i := range idx {
		out.LogGroups = append(out.LogGroups, s.logGroup(items[i].Value))
	}
	return out, nil
}

// retentionDays are the retention periods CloudWatch Logs accepts.
var retentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

type PutRetentionPolicyInput struct {
	LogGroupName    string `json:"logGroupName"`
	RetentionInDays int    `json:"retentionInDays"`
}

// PutRetentionPolicy sets how many days a group's events are kept; events
// older than that are rejected by PutLogEvents as expired.
func (s *Service) PutRetentionPolicy(ctx context.Context, in *PutRetentionPolicyInput) (*Empty, error) {
	if err := validGroupName("logGroupName", in.LogGroupName); err != nil {
		return nil, err
	}
	if !slices.Contains(retentionDays, in.RetentionInDays) {
		return nil, check.Fail("retentionInDays", in.RetentionInDays, fmt.Sprintf("Member must satisfy enum value set: %v", retentionDays))
	}
	return s.setRetention(ctx, "PutRetentionPolicy", in.LogGroupName, in.RetentionInDays)
}

type DeleteRetentionPolicyInput struct {
	LogGroupName string `json:"logGroupName"`
}

// DeleteRetentionPolicy makes a group's events never expire.
func (s *Service) DeleteRetentionPolicy(ctx context.Context, in *DeleteRetentionPolicyInput) (*Empty, error) {
	if err := validGroupName("logGroupName", in.LogGroupName); err != nil {
		return nil, err
	}
	return s.setRetention(ctx, "DeleteRetentionPolicy", in.LogGroupName, 0)
}

func (s *Service) setRetention(ctx context.Context, action, group string, days int) (*Empty, error) {
	if err := s.authorize(ctx, action, s.groupArn(group)); err != nil {
		return nil, err
	}
	_, err := store.Update(ctx, s.store, s.keys.group(group), func(r *groupRecord) error {
		r.RetentionInDays = days
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, groupNotFound()
	}
	if err != nil {
		return nil, err
	}
	return &Empty{}, nil
}
