package elb

import (
	"context"
	"strconv"

	"github.com/berth-dev/berth/internal/api"
)

type DescribeAccountLimitsInput struct {
	Marker   string
	PageSize int
}

type Limit struct {
	Name, Max string
}

type DescribeAccountLimitsOutput struct {
	Limits     api.Members[Limit]
	NextMarker string `xml:",omitempty"`
}

// DescribeAccountLimits answers the quotas Berth enforces, by AWS's names.
func (s *Service) DescribeAccountLimits(ctx context.Context, in *DescribeAccountLimitsInput) (*DescribeAccountLimitsOutput, error) {
	if err := s.authorize(ctx, "DescribeAccountLimits", "*"); err != nil {
		return nil, err
	}
	all := []Limit{{"classic-listeners", strconv.Itoa(maxListeners)}, {"classic-load-balancers", strconv.Itoa(maxBalancers)},
		{"classic-registered-instances", strconv.Itoa(maxInstances)}}
	page, next, err := api.MarkerPage(all, func(l Limit) string { return l.Name }, in.Marker, in.PageSize, 400)
	if err != nil {
		return nil, err
	}
	return &DescribeAccountLimitsOutput{Limits: page, NextMarker: next}, nil
}
