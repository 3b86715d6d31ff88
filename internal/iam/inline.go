package iam

import (
	"context"
	"slices"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// inlineInput is the request of the {Put,Get,Delete,List}{User,Role}Policy
// actions; exactly one of UserName and RoleName is used.
type inlineInput struct {
	UserName       string
	RoleName       string
	GroupName      string
	PolicyName     string
	PolicyDocument string
	Marker         string
	MaxItems       *int32
}

func (in *inlineInput) target(kind entityKind) string {
	return kind.pick(in.UserName, in.RoleName, in.GroupName)
}

// InlinePolicyOutput is GetUserPolicy's and GetRolePolicy's result.
type InlinePolicyOutput struct {
	UserName       string `xml:",omitempty"`
	RoleName       string `xml:",omitempty"`
	GroupName      string `xml:",omitempty"`
	PolicyName     string
	PolicyDocument string
}

type ListInlinePoliciesOutput struct {
	PolicyNames api.Members[string]
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

// handleInline registers the inline policy actions of users and roles.
func (s *Service) handleInline(q *api.QueryService) {
	for _, kind := range []entityKind{kindUser, kindRole, kindGroup} {
		noun := kind.noun()
		q.Handle("Put"+noun+"Policy", api.QueryOp(func(ctx context.Context, in *inlineInput) (*struct{}, error) {
			return nil, s.putInline(ctx, kind, "Put"+noun+"Policy", in)
		}))
		q.Handle("Get"+noun+"Policy", api.QueryOp(func(ctx context.Context, in *inlineInput) (*InlinePolicyOutput, error) {
			return s.getInline(ctx, kind, "Get"+noun+"Policy", in)
		}))
		q.Handle("Delete"+noun+"Policy", api.QueryOp(func(ctx context.Context, in *inlineInput) (*struct{}, error) {
			return nil, s.deleteInline(ctx, kind, "Delete"+noun+"Policy", in)
		}))
		q.Handle("List"+noun+"Policies", api.QueryOp(func(ctx context.Context, in *inlineInput) (*ListInlinePoliciesOutput, error) {
			return s.listInline(ctx, kind, "List"+noun+"Policies", in)
		}))
	}
}

func (s *Service) checkInlineTarget(ctx context.Context, kind entityKind, action string, in *inlineInput, needPolicy bool) error {
	if err := checkName(kind.nameField(), in.target(kind), kind.maxName()); err != nil {
		return err
	}
	if needPolicy {
		if err := checkName("PolicyName", in.PolicyName, 128); err != nil {
			return err
		}
	}
	return s.authorizeOn(ctx, action, kind, in.target(kind), nil)
}

// putInline adds or replaces an inline policy.
func (s *Service) putInline(ctx context.Context, kind entityKind, action string, in *inlineInput) error {
	if err := s.checkInlineTarget(ctx, kind, action, in, true); err != nil {
		return err
	}
	if err := checkIdentityPolicy(in.PolicyDocument); err != nil {
		return err
	}
	return s.updateEntity(ctx, kind, in.target(kind), func(e *entity, _ *store.Txn) error {
		if err := checkInlineSize(e, in.PolicyName, in.PolicyDocument); err != nil {
			return err
		}
		if e.Inline == nil {
			e.Inline = map[string]string{}
		}
		e.Inline[in.PolicyName] = in.PolicyDocument
		return nil
	})
}

func (s *Service) getInline(ctx context.Context, kind entityKind, action string, in *inlineInput) (*InlinePolicyOutput, error) {
	if err := s.checkInlineTarget(ctx, kind, action, in, true); err != nil {
		return nil, err
	}
	it, err := s.getEntity(ctx, kind, in.target(kind))
	if err != nil {
		return nil, err
	}
	doc, ok := it.Value.Inline[in.PolicyName]
	if !ok {
		return nil, noSuchEntity("The %s policy with name %s cannot be found.", kind.title(), in.PolicyName)
	}
	out := &InlinePolicyOutput{PolicyName: in.PolicyName, PolicyDocument: encodeDocument(doc)}
	switch kind {
	case kindUser:
		out.UserName = it.Value.Name
	case kindRole:
		out.RoleName = it.Value.Name
	case kindGroup:
		out.GroupName = it.Value.Name
	}
	return out, nil
}

func (s *Service) deleteInline(ctx context.Context, kind entityKind, action string, in *inlineInput) error {
	if err := s.checkInlineTarget(ctx, kind, action, in, true); err != nil {
		return err
	}
	return s.updateEntity(ctx, kind, in.target(kind), func(e *entity, _ *store.Txn) error {
		if _, ok := e.Inline[in.PolicyName]; !ok {
			return noSuchEntity("The %s policy with name %s cannot be found.", kind.title(), in.PolicyName)
		}
		delete(e.Inline, in.PolicyName)
		return nil
	})
}

func (s *Service) listInline(ctx context.Context, kind entityKind, action string, in *inlineInput) (*ListInlinePoliciesOutput, error) {
	if err := s.checkInlineTarget(ctx, kind, action, in, false); err != nil {
		return nil, err
	}
	it, err := s.getEntity(ctx, kind, in.target(kind))
	if err != nil {
		return nil, err
	}
	var names []string
	for n := range it.Value.Inline {
		names = append(names, n)
	}
	slices.Sort(names)
	items, truncated, marker, err := page(names, func(n string) string { return n }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &ListInlinePoliciesOutput{PolicyNames: append(api.Members[string]{}, items...), IsTruncated: truncated, Marker: marker}, nil
}
