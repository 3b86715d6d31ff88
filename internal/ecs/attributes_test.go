package ecs

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func attrKey(a Attribute) string {
	v := "<nil>"
	if a.Value != nil {
		v = *a.Value
	}
	return a.TargetId + " " + a.Name + "=" + v
}

func attrKeys(as []Attribute) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = attrKey(a)
	}
	slices.Sort(out)
	return out
}

func TestAttributes(t *testing.T) {
	e := newEnv(t)
	e.cluster("attr")
	a := e.instance("attr", 1024, 1024, instanceOpts{attrs: []Attribute{{Name: "ecs.os-type", Value: ptr("linux")}}})
	b := e.instance("attr", 1024, 1024)
	aArn, bArn := a.ContainerInstanceArn, b.ContainerInstanceArn

	put := must[*AttributesOutput](t)(e.svc.PutAttributes(e.ctx, &AttributesInput{Cluster: "attr", Attributes: []Attribute{
		{Name: "stack", Value: ptr("prod"), TargetId: aArn},
		{Name: "stack", Value: ptr("dev"), TargetType: "container-instance", TargetId: lastSegment(bArn)},
		{Name: "gpu", TargetId: lastSegment(aArn)},
	}}))
	want := sorted(aArn+" gpu=<nil>", aArn+" stack=prod", bArn+" stack=dev")
	if got := attrKeys(put.Attributes); !slices.Equal(got, want) {
		t.Fatalf("PutAttributes = %v, want %v", got, want)
	}
	for _, at := range put.Attributes {
		if at.TargetType != "container-instance" {
			t.Fatalf("targetType = %q", at.TargetType)
		}
	}
	// The instance carries them.
	names := []string{}
	for _, at := range e.describeInstance("attr", aArn).Attributes {
		names = append(names, at.Name)
	}
	if !slices.Equal(names, []string{"ecs.os-type", "gpu", "stack"}) {
		t.Fatalf("instance attributes = %v", names)
	}
	// Put again overwrites the value.
	must[*AttributesOutput](t)(e.svc.PutAttributes(e.ctx, &AttributesInput{Cluster: "attr", Attributes: []Attribute{{Name: "stack", Value: ptr("staging"), TargetId: bArn}}}))

	list := func(t *testing.T, in ListAttributesInput) []string {
		t.Helper()
		in.Cluster, in.TargetType = "attr", "container-instance"
		out, err := e.svc.ListAttributes(e.ctx, &in)
		if err != nil {
			t.Fatalf("ListAttributes: %v", err)
		}
		return attrKeys(out.Attributes)
	}
	for _, tc := range []struct {
		name string
		in   ListAttributesInput
		want []string
	}{
		{"all", ListAttributesInput{}, sorted(aArn+" ecs.os-type=linux", aArn+" gpu=<nil>", aArn+" stack=prod", bArn+" stack=staging")},
		{"by name", ListAttributesInput{AttributeName: "stack"}, sorted(aArn+" stack=prod", bArn+" stack=staging")},
		{"by name and value", ListAttributesInput{AttributeName: "stack", AttributeValue: ptr("staging")}, []string{bArn + " stack=staging"}},
		{"value matches nothing", ListAttributesInput{AttributeName: "stack", AttributeValue: ptr("dev")}, []string{}},
		{"valueless", ListAttributesInput{AttributeName: "gpu"}, []string{aArn + " gpu=<nil>"}},
	} {
		t.Run("List "+tc.name, func(t *testing.T) {
			if got := list(t, tc.in); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("List pagination", func(t *testing.T) {
		var got []string
		var token *string
		for page := 0; page < 10; page++ {
			out := must[*AttributesOutput](t)(e.svc.ListAttributes(e.ctx, &ListAttributesInput{Cluster: "attr", TargetType: "container-instance", MaxResults: ptr(3), NextToken: token}))
			if len(out.Attributes) > 3 {
				t.Fatalf("page of %d", len(out.Attributes))
			}
			got = append(got, attrKeys(out.Attributes)...)
			if token = out.NextToken; token == nil {
				break
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, list(t, ListAttributesInput{})) {
			t.Fatalf("paged = %v", got)
		}
	})

	t.Run("Rejected", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			call func() error
			code string
		}{
			{"unknown target", func() error {
				_, err := e.svc.PutAttributes(e.ctx, &AttributesInput{Cluster: "attr", Attributes: []Attribute{{Name: "x", TargetId: "ffffffffffffffffffffffffffffffff"}}})
				return err
			}, "TargetNotFoundException"},
			{"unknown target among good ones", func() error {
				_, err := e.svc.PutAttributes(e.ctx, &AttributesInput{Cluster: "attr", Attributes: []Attribute{
					{Name: "x", Value: ptr("1"), TargetId: aArn}, {Name: "x", TargetId: arn("container-instance/attr/ffff")},
				}})
				return err
			}, "TargetNotFoundException"},
			{"delete on unknown target", func() error {
				_, err := e.svc.DeleteAttributes(e.ctx, &AttributesInput{Cluster: "attr", Attributes: []Attribute{{Name: "stack", TargetId: aArn}, {Name: "stack", TargetId: "nope"}}})
				return err
			}, "TargetNotFoundException"},
			{"no targetId", func() error {
				_, err := e.svc.PutAttributes(e.ctx, &AttributesInput{Cluster: "attr", Attributes: []Attribute{{Name: "x"}}})
				return err
			}, "InvalidParameterException"},
			{"bad name", func() error {
				_, err := e.svc.PutAttributes(e.ctx, &AttributesInput{Cluster: "attr", Attributes: []Attribute{{Name: "no spaces", TargetId: aArn}}})
				return err
			}, "InvalidParameterException"},
			{"long value", func() error {
				_, err := e.svc.PutAttributes(e.ctx, &AttributesInput{Cluster: "attr", Attributes: []Attribute{{Name: "x", Value: ptr(strings.Repeat("v", 129)), TargetId: aArn}}})
				return err
			}, "InvalidParameterException"},
			{"bad targetType", func() error {
				_, err := e.svc.PutAttributes(e.ctx, &AttributesInput{Cluster: "attr", Attributes: []Attribute{{Name: "x", TargetType: "task", TargetId: aArn}}})
				return err
			}, "InvalidParameterException"},
			{"no attributes", func() error {
				_, err := e.svc.PutAttributes(e.ctx, &AttributesInput{Cluster: "attr"})
				return err
			}, "InvalidParameterException"},
			{"eleven attributes", func() error {
				var as []Attribute
				for i := range 11 {
					as = append(as, Attribute{Name: "a" + string(rune('a'+i)), TargetId: aArn})
				}
				_, err := e.svc.PutAttributes(e.ctx, &AttributesInput{Cluster: "attr", Attributes: as})
				return err
			}, "InvalidParameterException"},
			{"unknown cluster", func() error {
				_, err := e.svc.PutAttributes(e.ctx, &AttributesInput{Cluster: "ghost", Attributes: []Attribute{{Name: "x", TargetId: aArn}}})
				return err
			}, "ClusterNotFoundException"},
			{"list without targetType", func() error {
				_, err := e.svc.ListAttributes(e.ctx, &ListAttributesInput{Cluster: "attr"})
				return err
			}, "InvalidParameterException"},
			{"list value without name", func() error {
				_, err := e.svc.ListAttributes(e.ctx, &ListAttributesInput{Cluster: "attr", TargetType: "container-instance", AttributeValue: ptr("prod")})
				return err
			}, "InvalidParameterException"},
		} {
			t.Run(tc.name, func(t *testing.T) { e.with(t).rejected(tc.code, tc.call) })
		}
	})

	t.Run("Delete", func(t *testing.T) {
		out := must[*AttributesOutput](t)(e.svc.DeleteAttributes(e.ctx, &AttributesInput{Cluster: "attr", Attributes: []Attribute{
			{Name: "stack", TargetId: lastSegment(aArn)}, {Name: "gpu", TargetId: aArn}, {Name: "never-set", TargetId: bArn},
		}}))
		if len(out.Attributes) != 3 {
			t.Fatalf("DeleteAttributes = %+v", out.Attributes)
		}
		if got, want := list(t, ListAttributesInput{}), sorted(aArn+" ecs.os-type=linux", bArn+" stack=staging"); !slices.Equal(got, want) {
			t.Fatalf("after delete: %v, want %v", got, want)
		}
	})

	t.Run("DeregisteredInstanceIsNotATarget", func(t *testing.T) {
		e := e.with(t)
		c := e.instance("attr", 1024, 1024)
		must[*ContainerInstanceOutput](t)(e.svc.DeregisterContainerInstance(e.ctx, &DeregisterContainerInstanceInput{Cluster: "attr", ContainerInstance: c.ContainerInstanceArn}))
		e.rejected("TargetNotFoundException", func() error {
			_, err := e.svc.PutAttributes(e.ctx, &AttributesInput{Cluster: "attr", Attributes: []Attribute{{Name: "x", TargetId: c.ContainerInstanceArn}}})
			return err
		})
	})
}

// TestAttributeLimitPerResource checks that an instance carries at most 10
// custom attributes (ecs.* and com.amazonaws.* do not count): the 11th is
// AttributeLimitExceededException, and a call that would overfill one
// instance writes nothing to the others.
func TestAttributeLimitPerResource(t *testing.T) {
	e := newEnv(t)
	e.cluster("lim")
	a := e.instance("lim", 1024, 1024, instanceOpts{attrs: []Attribute{{Name: "ecs.os-type", Value: ptr("linux")}, {Name: "com.amazonaws.ecs.capability.privileged-container"}}})
	b := e.instance("lim", 1024, 1024)
	var ten []Attribute
	for i := range 10 {
		ten = append(ten, Attribute{Name: fmt.Sprintf("c%d", i), Value: ptr("v"), TargetId: a.ContainerInstanceArn})
	}
	must[*AttributesOutput](t)(e.svc.PutAttributes(e.ctx, &AttributesInput{Cluster: "lim", Attributes: ten}))
	// Replacing a value keeps the count.
	must[*AttributesOutput](t)(e.svc.PutAttributes(e.ctx, &AttributesInput{Cluster: "lim", Attributes: []Attribute{{Name: "c0", Value: ptr("w"), TargetId: a.ContainerInstanceArn}}}))
	_, err := e.svc.PutAttributes(e.ctx, &AttributesInput{Cluster: "lim", Attributes: []Attribute{
		{Name: "onb", Value: ptr("1"), TargetId: b.ContainerInstanceArn},
		{Name: "eleventh", Value: ptr("1"), TargetId: a.ContainerInstanceArn},
	}})
	wantCode(t, err, "AttributeLimitExceededException")
	for _, at := range e.describeInstance("lim", b.ContainerInstanceArn).Attributes {
		if at.Name == "onb" {
			t.Fatal("the refused call wrote to the other instance")
		}
	}
	if n := len(e.describeInstance("lim", a.ContainerInstanceArn).Attributes); n != 12 {
		t.Fatalf("instance has %d attributes, want 12 (10 custom)", n)
	}
	// After a delete there is room again.
	must[*AttributesOutput](t)(e.svc.DeleteAttributes(e.ctx, &AttributesInput{Cluster: "lim", Attributes: []Attribute{{Name: "c9", TargetId: a.ContainerInstanceArn}}}))
	must[*AttributesOutput](t)(e.svc.PutAttributes(e.ctx, &AttributesInput{Cluster: "lim", Attributes: []Attribute{{Name: "eleventh", Value: ptr("1"), TargetId: a.ContainerInstanceArn}}}))
}
