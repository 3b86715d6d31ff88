package ecs

import (
	"slices"
	"strings"
	"testing"
)

func tagList(t *testing.T, e *env, resource string) []string {
	t.Helper()
	out, err := e.svc.ListTagsForResource(e.ctx, &TagResourceInput{ResourceArn: resource})
	if err != nil {
		t.Fatalf("ListTagsForResource(%s): %v", resource, err)
	}
	var kv []string
	for _, tg := range out.Tags {
		kv = append(kv, tg.Key+"="+tg.Value)
	}
	slices.Sort(kv)
	return kv
}

func TestTags(t *testing.T) {
	e := newEnv(t)
	e.cluster("tagged")
	ci := e.instance("tagged", 1024, 1024)
	td := e.simpleTaskDef("tagged-app", 128, 128)
	task := e.run("tagged", td.TaskDefinitionArn, 1).Tasks[0]

	for _, tc := range []struct {
		kind     string
		resource string
		missing  string
		describe func() []Tag // the tags as the resource's own Describe shows them
	}{
		{"cluster", arn("cluster/tagged"), arn("cluster/absent"), func() []Tag {
			out := must[*DescribeClustersOutput](t)(e.svc.DescribeClusters(e.ctx, &DescribeClustersInput{Clusters: []string{"tagged"}, Include: []string{"TAGS"}}))
			return out.Clusters[0].Tags
		}},
		{"task definition", td.TaskDefinitionArn, tdArn("tagged-app", 9), func() []Tag {
			out := must[*TaskDefinitionOutput](t)(e.svc.DescribeTaskDefinition(e.ctx, &DescribeTaskDefinitionInput{TaskDefinition: td.TaskDefinitionArn, Include: []string{"TAGS"}}))
			return out.Tags
		}},
		{"container instance", ci.ContainerInstanceArn, arn("container-instance/tagged/ffffffffffffffffffffffffffffffff"), func() []Tag {
			out := must[*DescribeContainerInstancesOutput](t)(e.svc.DescribeContainerInstances(e.ctx, &DescribeContainerInstancesInput{Cluster: "tagged", ContainerInstances: []string{ci.ContainerInstanceArn}, Include: []string{"TAGS"}}))
			return out.ContainerInstances[0].Tags
		}},
		{"task", task.TaskArn, arn("task/tagged/ffffffffffffffffffffffffffffffff"), func() []Tag {
			return e.describeTask("tagged", task.TaskArn).Tags
		}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			e := e.with(t)
			if got := tagList(t, e, tc.resource); len(got) != 0 {
				t.Fatalf("fresh resource has tags %v", got)
			}
			must[*struct{}](t)(e.svc.TagResource(e.ctx, &TagResourceInput{ResourceArn: tc.resource, Tags: []Tag{{Key: "env", Value: "prod"}, {Key: "team", Value: "core"}}}))
			must[*struct{}](t)(e.svc.TagResource(e.ctx, &TagResourceInput{ResourceArn: tc.resource, Tags: []Tag{{Key: "env", Value: "staging"}, {Key: "empty", Value: ""}}}))
			if got, want := tagList(t, e, tc.resource), []string{"empty=", "env=staging", "team=core"}; !slices.Equal(got, want) {
				t.Fatalf("tags = %v, want %v", got, want)
			}
			if got := tc.describe(); len(got) != 3 {
				t.Fatalf("described tags = %v", got)
			}
			must[*struct{}](t)(e.svc.UntagResource(e.ctx, &TagResourceInput{ResourceArn: tc.resource, TagKeys: []string{"team", "empty", "not-there"}}))
			if got, want := tagList(t, e, tc.resource), []string{"env=staging"}; !slices.Equal(got, want) {
				t.Fatalf("after untag: %v, want %v", got, want)
			}

			for _, rc := range []struct {
				name string
				call func() error
				code string
			}{
				{"aws: prefix", func() error {
					_, err := e.svc.TagResource(e.ctx, &TagResourceInput{ResourceArn: tc.resource, Tags: []Tag{{Key: "ok", Value: "1"}, {Key: "aws:cloudformation:stack-name", Value: "x"}}})
					return err
				}, "InvalidParameterException"},
				{"no tags", func() error {
					_, err := e.svc.TagResource(e.ctx, &TagResourceInput{ResourceArn: tc.resource})
					return err
				}, "InvalidParameterException"},
				{"long key", func() error {
					_, err := e.svc.TagResource(e.ctx, &TagResourceInput{ResourceArn: tc.resource, Tags: []Tag{{Key: strings.Repeat("k", 129), Value: "v"}}})
					return err
				}, "InvalidParameterException"},
				{"more than 50 in total", func() error {
					var tags []Tag
					for i := range 50 {
						tags = append(tags, Tag{Key: "k" + strings.Repeat("x", i), Value: "v"})
					}
					_, err := e.svc.TagResource(e.ctx, &TagResourceInput{ResourceArn: tc.resource, Tags: tags})
					return err
				}, "InvalidParameterException"},
				{"untag without keys", func() error {
					_, err := e.svc.UntagResource(e.ctx, &TagResourceInput{ResourceArn: tc.resource})
					return err
				}, "InvalidParameterException"},
				{"missing resource", func() error {
					_, err := e.svc.TagResource(e.ctx, &TagResourceInput{ResourceArn: tc.missing, Tags: []Tag{{Key: "a", Value: "b"}}})
					return err
				}, "ResourceNotFoundException"},
				{"list missing resource", func() error {
					_, err := e.svc.ListTagsForResource(e.ctx, &TagResourceInput{ResourceArn: tc.missing})
					return err
				}, "ResourceNotFoundException"},
			} {
				t.Run(rc.name, func(t *testing.T) { e.with(t).rejected(rc.code, rc.call) })
			}
		})
	}

	t.Run("BadARNs", func(t *testing.T) {
		for _, resource := range []string{
			"", "not-an-arn", "arn:aws:ecs:eu-west-1:123456789012:cluster/tagged", "arn:aws:ecs:us-east-1:999999999999:cluster/tagged",
		} {
			e.with(t).rejected("InvalidParameterException", func() error {
				_, err := e.svc.TagResource(e.ctx, &TagResourceInput{ResourceArn: resource, Tags: []Tag{{Key: "a", Value: "b"}}})
				return err
			})
		}
		for _, resource := range []string{tdArn("tagged-app", 0), arn("task-definition/tagged-app"), arn("task/tagged"), arn("container-instance/noid"), arn("service/tagged/web"), arn("capacity-provider/cp")} {
			e.with(t).rejected("ResourceNotFoundException", func() error {
				_, err := e.svc.TagResource(e.ctx, &TagResourceInput{ResourceArn: resource, Tags: []Tag{{Key: "a", Value: "b"}}})
				return err
			})
		}
	})

	t.Run("InactiveCluster", func(t *testing.T) {
		e := e.with(t)
		e.cluster("tag-gone")
		must[*ClusterOutput](t)(e.svc.DeleteCluster(e.ctx, &ClusterRefInput{Cluster: "tag-gone"}))
		e.rejected("ClusterNotFoundException", func() error {
			_, err := e.svc.TagResource(e.ctx, &TagResourceInput{ResourceArn: arn("cluster/tag-gone"), Tags: []Tag{{Key: "a", Value: "b"}}})
			return err
		})
	})
}
