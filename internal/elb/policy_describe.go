package elb

import (
	"context"
	"slices"

	"github.com/berth-dev/berth/internal/api"
)

type DescribeLoadBalancerPoliciesInput struct {
	LoadBalancerName string
	PolicyNames      []string
}

type PolicyDescription struct {
	PolicyName                  string
	PolicyTypeName              string
	PolicyAttributeDescriptions api.Members[PolicyAttribute]
}

type DescribeLoadBalancerPoliciesOutput struct {
	PolicyDescriptions api.Members[PolicyDescription]
}

// DescribeLoadBalancerPolicies describes a load balancer's policies, or,
// without a load balancer, the predefined security policies; all, or
// those named (an unknown one is PolicyNotFound).
func (s *Service) DescribeLoadBalancerPolicies(ctx context.Context, in *DescribeLoadBalancerPoliciesInput) (*DescribeLoadBalancerPoliciesOutput, error) {
	var policies []policyRecord
	if in.LoadBalancerName != "" {
		if err := s.authorizeName(ctx, "DescribeLoadBalancerPolicies", in.LoadBalancerName); err != nil {
			return nil, err
		}
		it, err := s.balancer(ctx, in.LoadBalancerName)
		if err != nil {
			return nil, err
		}
		policies = it.Value.Policies
	} else {
		if err := s.authorize(ctx, "DescribeLoadBalancerPolicies", "*"); err != nil {
			return nil, err
		}
		for _, sp := range securityPolicies {
			policies = append(policies, policyRecord{Name: sp.name, Type: typeSSL, Attributes: sp.attributes()})
		}
	}
	if len(in.PolicyNames) > 0 {
		var named []policyRecord
		for _, n := range in.PolicyNames {
			i := slices.IndexFunc(policies, func(p policyRecord) bool { return p.Name == n })
			if i < 0 {
				return nil, api.Errorf(codePolicyNotFound, "There is no policy named '%s'", n)
			}
			named = append(named, policies[i])
		}
		policies = named
	}
	out := &DescribeLoadBalancerPoliciesOutput{PolicyDescriptions: api.Members[PolicyDescription]{}}
	for _, p := range policies {
		out.PolicyDescriptions = append(out.PolicyDescriptions, PolicyDescription{PolicyName: p.Name, PolicyTypeName: p.Type,
			PolicyAttributeDescriptions: append(api.Members[PolicyAttribute]{}, p.Attributes...)})
	}
	return out, nil
}

type DescribeLoadBalancerPolicyTypesInput struct {
	PolicyTypeNames []string
}

type PolicyAttributeTypeDescription struct {
	AttributeName string
	AttributeType string
	Description   string `xml:",omitempty"`
	DefaultValue  string `xml:",omitempty"`
	Cardinality   string
}

type PolicyTypeDescription struct {
	PolicyTypeName                  string
	Description                     string
	PolicyAttributeTypeDescriptions api.Members[PolicyAttributeTypeDescription]
}

type DescribeLoadBalancerPolicyTypesOutput struct {
	PolicyTypeDescriptions api.Members[PolicyTypeDescription]
}

// DescribeLoadBalancerPolicyTypes describes the policy types, all or
// those named (an unknown one is PolicyTypeNotFound).
func (s *Service) DescribeLoadBalancerPolicyTypes(ctx context.Context, in *DescribeLoadBalancerPolicyTypesInput) (*DescribeLoadBalancerPolicyTypesOutput, error) {
	if err := s.authorize(ctx, "DescribeLoadBalancerPolicyTypes", "*"); err != nil {
		return nil, err
	}
	types := policyTypes
	if len(in.PolicyTypeNames) > 0 {
		types = nil
		for _, n := range in.PolicyTypeNames {
			t, ok := policyTypeNamed(n)
			if !ok {
				return nil, api.Errorf(codePolicyTypeNotFound, "There is no policy type named '%s'", n)
			}
			types = append(types, t)
		}
	}
	out := &DescribeLoadBalancerPolicyTypesOutput{PolicyTypeDescriptions: api.Members[PolicyTypeDescription]{}}
	for _, t := range types {
		d := PolicyTypeDescription{PolicyTypeName: t.name, Description: t.description, PolicyAttributeTypeDescriptions: api.Members[PolicyAttributeTypeDescription]{}}
		for _, a := range t.attrs {
			d.PolicyAttributeTypeDescriptions = append(d.PolicyAttributeTypeDescriptions, PolicyAttributeTypeDescription{
				AttributeName: a.name, AttributeType: a.typ, Description: a.description, DefaultValue: a.def, Cardinality: a.cardinality})
		}
		out.PolicyTypeDescriptions = append(out.PolicyTypeDescriptions, d)
	}
	return out, nil
}
