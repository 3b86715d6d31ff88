package autoscaling

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// policyRecord is a simple or step scaling policy of a group.
type policyRecord struct {
	Group                  string           `json:"group"`
	Name                   string           `json:"name"`
	ARN                    string           `json:"arn"`
	Type                   string           `json:"type"`
	AdjustmentType         string           `json:"adjustmentType"`
	ScalingAdjustment      *int             `json:"scalingAdjustment,omitempty"`
	MinAdjustmentMagnitude *int             `json:"minAdjustmentMagnitude,omitempty"`
	Cooldown               *int             `json:"cooldown,omitempty"`
	Steps                  []StepAdjustment `json:"steps,omitempty"`
	MetricAggregationType  string           `json:"metricAggregationType,omitempty"`
	Warmup                 *int             `json:"warmup,omitempty"`
	Enabled                bool             `json:"enabled"`
}

type StepAdjustment struct {
	MetricIntervalLowerBound *float64 `json:"lower,omitempty" xml:",omitempty"`
	MetricIntervalUpperBound *float64 `json:"upper,omitempty" xml:",omitempty"`
	ScalingAdjustment        int      `json:"adjustment"`
}

var adjustmentTypes = []string{"ChangeInCapacity", "ExactCapacity", "PercentChangeInCapacity"}

type PutScalingPolicyInput struct {
	AutoScalingGroupName    string
	PolicyName              string
	PolicyType              string
	AdjustmentType          string
	MinAdjustmentStep       *int
	MinAdjustmentMagnitude  *int
	ScalingAdjustment       *int
	Cooldown                *int
	MetricAggregationType   string
	StepAdjustments         []StepAdjustment
	EstimatedInstanceWarmup *int
	Enabled                 *bool
}

type PutScalingPolicyOutput struct {
	PolicyARN string
	Alarms    api.Members[struct{}]
}

// PutScalingPolicy creates or replaces a simple or step scaling policy.
// Target tracking and predictive policies need CloudWatch metrics, which
// Berth does not have yet; they are refused.
func (s *Service) PutScalingPolicy(ctx context.Context, in *PutScalingPolicyInput) (*PutScalingPolicyOutput, error) {
	if err := checkName("PolicyName", in.PolicyName); err != nil {
		return nil, err
	}
	g, err := s.group(ctx, in.AutoScalingGroupName)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "PutScalingPolicy", g.Value.ARN); err != nil {
		return nil, err
	}
	p := policyRecord{Group: g.Value.Name, Name: in.PolicyName, Type: in.PolicyType, AdjustmentType: in.AdjustmentType,
		ScalingAdjustment: in.ScalingAdjustment, MinAdjustmentMagnitude: in.MinAdjustmentMagnitude, Cooldown: in.Cooldown,
		Steps: in.StepAdjustments, MetricAggregationType: in.MetricAggregationType, Warmup: in.EstimatedInstanceWarmup,
		Enabled: in.Enabled == nil || *in.Enabled}
	if p.Type == "" {
		p.Type = "SimpleScaling"
	}
	if p.MinAdjustmentMagnitude == nil && in.MinAdjustmentStep != nil {
		p.MinAdjustmentMagnitude = in.MinAdjustmentStep
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	key := s.keys.policy(p.Group, p.Name)
	err = store.Retry(ctx, func() error {
		old, err := store.Get[policyRecord](ctx, s.store, key)
		switch {
		case err == nil:
			p.ARN = old.Value.ARN
		case errors.Is(err, store.ErrNotFound):
			p.ARN = s.arn("scalingPolicy", "autoScalingGroupName/"+p.Group+":policyName/"+p.Name)
		default:
			return err
		}
		return s.store.Commit(ctx, store.NewTxn().IfRev(key, old.Rev).IfExists(g.Key).Put(key, p))
	})
	if err != nil {
		return nil, err
	}
	return &PutScalingPolicyOutput{PolicyARN: p.ARN, Alarms: api.Members[struct{}]{}}, nil
}

func (p policyRecord) check() error {
	switch p.Type {
	case "SimpleScaling", "StepScaling":
	case "TargetTrackingScaling", "PredictiveScaling":
		return validation("%s policies need CloudWatch metrics, which Berth does not have yet; use SimpleScaling or StepScaling (run by ExecutePolicy).", p.Type)
	default:
		return validation("Invalid policy type: %s. Valid types: SimpleScaling, StepScaling, TargetTrackingScaling, PredictiveScaling.", p.Type)
	}
	if !slices.Contains(adjustmentTypes, p.AdjustmentType) {
		return validation("Invalid adjustment type: %q. Valid types: ChangeInCapacity, ExactCapacity, PercentChangeInCapacity.", p.AdjustmentType)
	}
	if p.MinAdjustmentMagnitude != nil && p.AdjustmentType != "PercentChangeInCapacity" {
		return validation("MinAdjustmentMagnitude is only valid for the PercentChangeInCapacity adjustment type.")
	}
	if p.Type == "SimpleScaling" {
		if p.ScalingAdjustment == nil {
			return validation("ScalingAdjustment is required for a SimpleScaling policy.")
		}
		if len(p.Steps) > 0 || p.MetricAggregationType != "" || p.Warmup != nil {
			return validation("StepAdjustments, MetricAggregationType and EstimatedInstanceWarmup are only valid for StepScaling policies.")
		}
		return nil
	}
	if p.ScalingAdjustment != nil || p.Cooldown != nil {
		return validation("ScalingAdjustment and Cooldown are only valid for SimpleScaling policies.")
	}
	if len(p.Steps) == 0 {
		return validation("StepAdjustments is required for a StepScaling policy.")
	}
	switch p.MetricAggregationType {
	case "", "Average", "Minimum", "Maximum":
	default:
		return validation("Invalid metric aggregation type: %s", p.MetricAggregationType)
	}
	// The steps must not overlap and leave no gap, and only one may be
	// unbounded at each end, as AWS checks.
	steps := slices.Clone(p.Steps)
	lower := func(s StepAdjustment) float64 {
		if s.MetricIntervalLowerBound == nil {
			return math.Inf(-1)
		}
		return *s.MetricIntervalLowerBound
	}
	upper := func(s StepAdjustment) float64 {
		if s.MetricIntervalUpperBound == nil {
			return math.Inf(1)
		}
		return *s.MetricIntervalUpperBound
	}
	slices.SortFunc(steps, func(a, b StepAdjustment) int { return cmpFloat(lower(a), lower(b)) })
	for i, st := range steps {
		if lower(st) >= upper(st) {
			return validation("Step adjustment upper bound must be greater than its lower bound.")
		}
		if i > 0 && upper(steps[i-1]) != lower(st) {
			return validation("Step adjustments must not overlap or have gaps between them.")
		}
	}
	return nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

type DescribePoliciesInput struct {
	AutoScalingGroupName string
	PolicyNames          []string
	PolicyTypes          []string
	NextToken            string
	MaxRecords           int
}

// ScalingPolicy is Auto Scaling's ScalingPolicy shape.
type ScalingPolicy struct {
	AutoScalingGroupName    string
	PolicyName              string
	PolicyARN               string
	PolicyType              string
	AdjustmentType          string
	MinAdjustmentStep       *int `xml:",omitempty"`
	MinAdjustmentMagnitude  *int `xml:",omitempty"`
	ScalingAdjustment       *int `xml:",omitempty"`
	Cooldown                *int `xml:",omitempty"`
	StepAdjustments         api.Members[StepAdjustment]
	MetricAggregationType   string `xml:",omitempty"`
	EstimatedInstanceWarmup *int   `xml:",omitempty"`
	Alarms                  api.Members[struct{}]
	Enabled                 bool
}

type DescribePoliciesOutput struct {
	ScalingPolicies api.Members[ScalingPolicy]
	NextToken       string `xml:",omitempty"`
}

// DescribePolicies lists scaling policies, of one group or all.
func (s *Service) DescribePolicies(ctx context.Context, in *DescribePoliciesInput) (*DescribePoliciesOutput, error) {
	if err := s.authorize(ctx, "DescribePolicies", "*"); err != nil {
		return nil, err
	}
	prefix := s.keys.prefix + "policy/"
	if in.AutoScalingGroupName != "" {
		prefix = s.keys.policies(in.AutoScalingGroupName)
	}
	items, err := store.List[policyRecord](ctx, s.store, prefix)
	if err != nil {
		return nil, err
	}
	var recs []store.Item[policyRecord]
	for _, it := range items {
		p := it.Value
		if len(in.PolicyNames) > 0 && !slices.Contains(in.PolicyNames, p.Name) && !slices.Contains(in.PolicyNames, p.ARN) {
			continue
		}
		if len(in.PolicyTypes) > 0 && !slices.Contains(in.PolicyTypes, p.Type) {
			continue
		}
		recs = append(recs, it)
	}
	recs, next, err := page(recs, func(it store.Item[policyRecord]) string { return it.Key }, in.NextToken, in.MaxRecords)
	if err != nil {
		return nil, err
	}
	out := &DescribePoliciesOutput{ScalingPolicies: api.Members[ScalingPolicy]{}, NextToken: next}
	for _, it := range recs {
		p := it.Value
		out.ScalingPolicies = append(out.ScalingPolicies, ScalingPolicy{AutoScalingGroupName: p.Group, PolicyName: p.Name, PolicyARN: p.ARN,
			PolicyType: p.Type, AdjustmentType: p.AdjustmentType, MinAdjustmentStep: p.MinAdjustmentMagnitude, MinAdjustmentMagnitude: p.MinAdjustmentMagnitude,
			ScalingAdjustment: p.ScalingAdjustment, Cooldown: p.Cooldown, StepAdjustments: api.Members[StepAdjustment](orEmpty(p.Steps)),
			MetricAggregationType: p.MetricAggregationType, EstimatedInstanceWarmup: p.Warmup, Alarms: api.Members[struct{}]{}, Enabled: p.Enabled})
	}
	return out, nil
}

type DeletePolicyInput struct {
	AutoScalingGroupName string
	PolicyName           string
}

// DeletePolicy deletes a scaling policy, by name (with its group) or ARN.
func (s *Service) DeletePolicy(ctx context.Context, in *DeletePolicyInput) (*struct{}, error) {
	p, err := s.policy(ctx, in.AutoScalingGroupName, in.PolicyName)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "DeletePolicy", p.Value.ARN); err != nil {
		return nil, err
	}
	return nil, s.store.Commit(ctx, store.NewTxn().IfRev(p.Key, p.Rev).Delete(p.Key))
}

// policy finds a policy by group and name, or by ARN alone.
func (s *Service) policy(ctx context.Context, group, nameOrARN string) (store.Item[policyRecord], error) {
	if nameOrARN == "" {
		return store.Item[policyRecord]{}, check.Null("policyName")
	}
	items, err := store.List[policyRecord](ctx, s.store, s.keys.prefix+"policy/")
	if err != nil {
		return store.Item[policyRecord]{}, err
	}
	for _, it := range items {
		if it.Value.ARN == nameOrARN || (it.Value.Group == group && it.Value.Name == nameOrARN) {
			return it, nil
		}
	}
	return store.Item[policyRecord]{}, validation("Scaling policy %s not found for AutoScalingGroup %s.", nameOrARN, group)
}

func isARN(s string) bool { return len(s) > 4 && s[:4] == "arn:" }

type ExecutePolicyInput struct {
	AutoScalingGroupName string
	PolicyName           string
	HonorCooldown        bool
	MetricValue          *float64
	BreachThreshold      *float64
}

// ExecutePolicy runs a policy now, as an alarm would: a simple policy
// applies its adjustment; a step policy the step that holds MetricValue
// minus BreachThreshold.
func (s *Service) ExecutePolicy(ctx context.Context, in *ExecutePolicyInput) (*struct{}, error) {
	p, err := s.policy(ctx, in.AutoScalingGroupName, in.PolicyName)
	if err != nil {
		return nil, err
	}
	pol := p.Value
	if !pol.Enabled {
		return nil, validation("Policy %s is disabled.", pol.Name)
	}
	adjust := 0
	if pol.Type == "SimpleScaling" {
		if in.MetricValue != nil || in.BreachThreshold != nil {
			return nil, validation("MetricValue and BreachThreshold are only valid for StepScaling policies.")
		}
		adjust = *pol.ScalingAdjustment
	} else {
		if in.MetricValue == nil || in.BreachThreshold == nil {
			return nil, validation("MetricValue and BreachThreshold are required to execute a StepScaling policy.")
		}
		diff, found := *in.MetricValue-*in.BreachThreshold, false
		for _, st := range pol.Steps {
			lo, hi := math.Inf(-1), math.Inf(1)
			if st.MetricIntervalLowerBound != nil {
				lo = *st.MetricIntervalLowerBound
			}
			if st.MetricIntervalUpperBound != nil {
				hi = *st.MetricIntervalUpperBound
			}
			if diff >= lo && diff < hi {
				adjust, found = st.ScalingAdjustment, true
			}
		}
		if !found {
			return nil, validation("No step adjustment of policy %s covers the metric value %g with breach threshold %g.", pol.Name, *in.MetricValue, *in.BreachThreshold)
		}
	}
	err = s.update(ctx, "ExecutePolicy", pol.Group, func(g *groupRecord) error {
		cooldown := g.Cooldown
		if pol.Cooldown != nil {
			cooldown = *pol.Cooldown
		}
		if in.HonorCooldown && s.now().Before(g.LastScaled.Add(time.Duration(cooldown)*time.Second)) {
			return api.Errorf(codeActivityInProgress, "Scaling activity is in progress and blocks this action.")
		}
		n := pol.apply(g.Desired, adjust)
		g.setDesired(clamp(n, g.Min, g.Max), fmt.Sprintf("a user request executed policy %s", pol.Name), s.now())
		return nil
	})
	return nil, err
}

// apply is the desired capacity after an adjustment of the policy's type.
// A percentage rounds toward zero, but moves by at least one instance
// (and MinAdjustmentMagnitude), as AWS does.
func (p policyRecord) apply(desired, adjust int) int {
	switch p.AdjustmentType {
	case "ExactCapacity":
		return adjust
	case "PercentChangeInCapacity":
		change := int(float64(desired) * float64(adjust) / 100)
		if change == 0 && adjust != 0 {
			change = 1
			if adjust < 0 {
				change = -1
			}
		}
		if m := p.MinAdjustmentMagnitude; m != nil && abs(change) < *m {
			change = *m * sign(adjust)
		}
		return desired + change
	}
	return desired + adjust
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func sign(n int) int {
	if n < 0 {
		return -1
	}
	return 1
}
