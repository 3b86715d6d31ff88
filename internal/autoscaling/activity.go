package autoscaling

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// Activity is Auto Scaling's Activity shape: one launch, termination or
// detachment, with why it happened.
type Activity struct {
	ActivityId           string     `json:"id"`
	AutoScalingGroupName string     `json:"group"`
	AutoScalingGroupARN  string     `json:"groupArn"`
	Description          string     `json:"description"`
	Cause                string     `json:"cause"`
	StartTime            time.Time  `json:"start"`
	EndTime              *time.Time `json:"end,omitempty" xml:",omitempty"`
	StatusCode           string     `json:"status"`
	StatusMessage        string     `json:"message,omitempty" xml:",omitempty"`
	Progress             int        `json:"progress"`
	Details              string     `json:"details"`
}

// maxActivities is how many activities a group keeps; older ones go.
const maxActivities = 100

// newActivity starts an activity of group g, in progress.
func (s *Service) newActivity(g *groupRecord, description, cause string) Activity {
	zones := strings.Join(g.Zones, ", ")
	return Activity{ActivityId: uuid.NewString(), AutoScalingGroupName: g.Name, AutoScalingGroupARN: g.ARN, Description: description,
		Cause: cause, StartTime: s.now().UTC().Truncate(time.Millisecond), StatusCode: "InProgress", Progress: 0,
		Details: `{"Availability Zone":"` + zones + `"}`}
}

// putActivities records activities, each under its group.
func (s *Service) putActivities(ctx context.Context, acts ...Activity) error {
	for _, a := range acts {
		if err := store.Put(ctx, s.store, s.keys.activity(a.AutoScalingGroupName, a.ActivityId), a); err != nil {
			return err
		}
	}
	return nil
}

// finishActivity ends an activity with status (Successful, Failed,
// Cancelled) and a message.
func (s *Service) finishActivity(ctx context.Context, group, id, status, message string) error {
	if id == "" {
		return nil
	}
	return store.Retry(ctx, func() error {
		it, err := store.Get[Activity](ctx, s.store, s.keys.activity(group, id))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		end := s.now().UTC().Truncate(time.Millisecond)
		it.Value.StatusCode, it.Value.StatusMessage, it.Value.Progress, it.Value.EndTime = status, message, 100, &end
		return s.store.Commit(ctx, store.NewTxn().IfRev(it.Key, it.Rev).Put(it.Key, it.Value))
	})
}

// pruneActivities keeps a group's newest maxActivities activities.
func (s *Service) pruneActivities(ctx context.Context, group string) error {
	acts, err := store.List[Activity](ctx, s.store, s.keys.activities(group))
	if err != nil || len(acts) <= maxActivities {
		return err
	}
	slices.SortFunc(acts, func(a, b store.Item[Activity]) int { return a.Value.StartTime.Compare(b.Value.StartTime) })
	txn := store.NewTxn()
	for _, a := range acts[:len(acts)-maxActivities] {
		txn.Delete(a.Key)
	}
	return s.store.Commit(ctx, txn)
}

type DescribeScalingActivitiesInput struct {
	ActivityIds          []string
	AutoScalingGroupName string
	IncludeDeletedGroups bool
	MaxRecords           int
	NextToken            string
}

type DescribeScalingActivitiesOutput struct {
	Activities api.Members[Activity]
	NextToken  string `xml:",omitempty"`
}

// DescribeScalingActivities lists activities, newest first.
func (s *Service) DescribeScalingActivities(ctx context.Context, in *DescribeScalingActivitiesInput) (*DescribeScalingActivitiesOutput, error) {
	if err := s.authorize(ctx, "DescribeScalingActivities", "*"); err != nil {
		return nil, err
	}
	prefix := s.keys.prefix + "activity/"
	if in.AutoScalingGroupName != "" {
		if err := checkName("AutoScalingGroupName", in.AutoScalingGroupName); err != nil {
			return nil, err
		}
		prefix = s.keys.activities(in.AutoScalingGroupName)
	}
	items, err := store.List[Activity](ctx, s.store, prefix)
	if err != nil {
		return nil, err
	}
	groups, err := s.store.Keys(ctx, s.keys.groups())
	if err != nil {
		return nil, err
	}
	var acts []Activity
	for _, it := range items {
		a := it.Value
		if len(in.ActivityIds) > 0 && !slices.Contains(in.ActivityIds, a.ActivityId) {
			continue
		}
		if !in.IncludeDeletedGroups && !slices.Contains(groups, s.keys.group(a.AutoScalingGroupName)) {
			continue
		}
		acts = append(acts, a)
	}
	// Newest first; the cursor is the start time and id, which sort the
	// same way once inverted.
	slices.SortFunc(acts, func(a, b Activity) int {
		if c := b.StartTime.Compare(a.StartTime); c != 0 {
			return c
		}
		return strings.Compare(a.ActivityId, b.ActivityId)
	})
	acts, next, err := page(acts, activityCursor, in.NextToken, in.MaxRecords)
	if err != nil {
		return nil, err
	}
	return &DescribeScalingActivitiesOutput{Activities: api.Members[Activity](orEmpty(acts)), NextToken: next}, nil
}

// activityCursor orders activities newest first as strings: the time
// counted down from the far future, then the id.
func activityCursor(a Activity) string {
	return fmt.Sprintf("%020d/%s", math.MaxInt64-a.StartTime.UnixNano(), a.ActivityId)
}
