package iam

import (
	"context"
	"slices"
	"strings"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// maxAttached is IAM's default quota of managed policies per user or role.
const maxAttached = 10

type attachInput struct {
	UserName   string
	RoleName   string
	GroupName  string
	PolicyArn  string
	PathPrefix string
	Marker     string
	MaxItems   *int32
}

func (in *attachInput) target(kind entityKind) string {
	return kind.pick(in.UserName, in.RoleName, in.GroupName)
}

// AttachedPolicy is the IAM AttachedPolicy shape.
type AttachedPolicy struct {
	PolicyName string
	PolicyArn  string
}

type ListAttachedPoliciesOutput struct {
	AttachedPolicies api.Members[AttachedPolicy]
	IsTruncated      bool
	Marker           string `xml:",omitempty"`
}

func (s *Service) handleAttach(q *api.QueryService) {
	for _, kind := range []entityKind{kindUser, kindRole, kindGroup} {
		noun := kind.noun()
		q.Handle("Attach"+noun+"Policy", api.QueryOp(func(ctx context.Context, in *attachInput) (*struct{}, error) {
			return nil, s.attach(ctx, kind, "Attach"+noun+"Policy", in, true)
		}))
		q.Handle("Detach"+noun+"Policy", api.QueryOp(func(ctx context.Context, in *attachInput) (*struct{}, error) {
			return nil, s.attach(ctx, kind, "Detach"+noun+"Policy", in, false)
		}))
		q.Handle("ListAttached"+noun+"Policies", api.QueryOp(func(ctx context.Context, in *attachInput) (*ListAttachedPoliciesOutput, error) {
			return s.listAttached(ctx, kind, "ListAttached"+noun+"Policies", in)
		}))
	}
}

func (s *Service) checkAttachTarget(ctx context.Context, kind entityKind, action string, in *attachInput) error {
	if err := checkName(kind.nameField(), in.target(kind), kind.maxName()); err != nil {
		return err
	}
	return s.authorizeOn(ctx, action, kind, in.target(kind), nil)
}

// attach attaches (on) or detaches a managed policy. The entity and a
// customer policy's attachment count change in one conditional write.
func (s *Service) attach(ctx context.Context, kind entityKind, action string, in *attachInput, on bool) error {
	if err := s.checkAttachTarget(ctx, kind, action, in); err != nil {
		return err
	}
	if in.PolicyArn == "" {
		return check.Null("policyArn")
	}
	return s.updateEntity(ctx, kind, in.target(kind), func(e *entity, txn *store.Txn) error {
		i := slices.Index(e.Attached, in.PolicyArn)
		if on && i >= 0 {
			return nil // attaching twice changes nothing
		}
		if !on && i < 0 {
			return noSuchEntity("Policy %s was not found.", in.PolicyArn)
		}
		if on && len(e.Attached) >= maxAttached {
			return limitExceeded("Cannot exceed quota for PoliciesPer%s: %d", kind.noun(), maxAttached)
		}
		p, err := s.loadPolicy(ctx, in.PolicyArn)
		if err != nil && on {
			return err
		}
		if on {
			e.Attached = append(e.Attached, in.PolicyArn)
		} else {
			e.Attached = slices.Delete(e.Attached, i, i+1)
		}
		if err == nil && p.Rev != 0 { // a customer policy: keep its count
			if on {
				p.Value.AttachmentCount++
			} else if p.Value.AttachmentCount > 0 {
				p.Value.AttachmentCount--
			}
			txn.IfRev(p.Key, p.Rev).Put(p.Key, p.Value)
		}
		return nil
	})
}

func (s *Service) listAttached(ctx context.Context, kind entityKind, action string, in *attachInput) (*ListAttachedPoliciesOutput, error) {
	if err := s.checkAttachTarget(ctx, kind, action, in); err != nil {
		return nil, err
	}
	it, err := s.getEntity(ctx, kind, in.target(kind))
	if err != nil {
		return nil, err
	}
	var all []AttachedPolicy
	for _, arn := range it.Value.Attached {
		p, err := s.loadPolicy(ctx, arn)
		if err != nil {
			continue // deleted meanwhile
		}
		if strings.HasPrefix(p.Value.Path, orSlash(in.PathPrefix)) {
			all = append(all, AttachedPolicy{PolicyName: p.Value.Name, PolicyArn: arn})
		}
	}
	items, truncated, marker, err := page(all, func(p AttachedPolicy) string { return p.PolicyArn }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &ListAttachedPoliciesOutput{AttachedPolicies: append(api.Members[AttachedPolicy]{}, items...), IsTruncated: truncated, Marker: marker}, nil
}
