package ecs

import (
	"testing"
)

func TestServiceAPIValidation(t *testing.T) {
	e := newEnv(t)
	cluster := e.cluster("api")
	e.simpleTaskDef("web", 64, 64)
	if _, err := e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: cluster, ServiceName: "web", TaskDefinition: "web", DesiredCount: ptr(1), Tags: []Tag{{Key: "team", Value: "a"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: cluster, ServiceName: "gone", TaskDefinition: "web", DesiredCount: ptr(0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.DeleteService(e.ctx, &DeleteServiceInput{Cluster: cluster, Service: "gone"}); err != nil {
		t.Fatal(err)
	}
	// While it has tasks a deleted service is DRAINING; without any, the
	// scheduler's next pass makes it INACTIVE.
	if svc := newSched(e, cluster).service("gone"); svc.Status != "DRAINING" {
		t.Fatalf("deleted service status %s, want DRAINING", svc.Status)
	}
	newSched(e, cluster).pass()
	create := func(mod func(*CreateServiceInput)) func() error {
		return func() error {
			in := CreateServiceInput{Cluster: cluster, ServiceName: "new", TaskDefinition: "web", DesiredCount: ptr(2)}
			mod(&in)
			_, err := e.svc.CreateService(e.ctx, &in)
			return err
		}
	}
	update := func(in UpdateServiceInput) func() error {
		return func() error {
			if in.Cluster == "" {
				in.Cluster = cluster
			}
			_, err := e.svc.UpdateService(e.ctx, &in)
			return err
		}
	}
	for _, tc := range []struct {
		name, code string
		call       func() error
	}{
		{"negative desired count", "InvalidParameterException", create(func(in *CreateServiceInput) { in.DesiredCount = ptr(-1) })},
		{"missing desired count", "InvalidParameterException", create(func(in *CreateServiceInput) { in.DesiredCount = nil })},
		{"bad name", "InvalidParameterException", create(func(in *CreateServiceInput) { in.ServiceName = "no spaces" })},
		{"unknown cluster", "ClusterNotFoundException", create(func(in *CreateServiceInput) { in.Cluster = "nope" })},
		{"unknown task definition", "InvalidParameterException", create(func(in *CreateServiceInput) { in.TaskDefinition = "nope:3" })},
		{"bad scheduling strategy", "InvalidParameterException", create(func(in *CreateServiceInput) { in.SchedulingStrategy = "BATCH" })},
		{"daemon with placement strategy", "InvalidParameterException", create(func(in *CreateServiceInput) {
			in.SchedulingStrategy, in.DesiredCount = "DAEMON", nil
			in.PlacementStrategy = []PlacementStrategy{{Type: "binpack", Field: "memory"}}
		})},
		{"daemon with desired count", "InvalidParameterException", create(func(in *CreateServiceInput) { in.SchedulingStrategy = "DAEMON" })},
		{"minimum above 100", "InvalidParameterException", create(func(in *CreateServiceInput) {
			in.DeploymentConfiguration = &DeploymentConfiguration{MinimumHealthyPercent: ptr(150)}
		})},
		{"maximum below 100", "InvalidParameterException", create(func(in *CreateServiceInput) {
			in.DeploymentConfiguration = &DeploymentConfiguration{MaximumPercent: ptr(50)}
		})},
		{"100/100 cannot roll", "InvalidParameterException", create(func(in *CreateServiceInput) {
			in.DeploymentConfiguration = &DeploymentConfiguration{MaximumPercent: ptr(100)}
		})},
		{"bad constraint", "InvalidParameterException", create(func(in *CreateServiceInput) {
			in.PlacementConstraints = []PlacementConstraint{{Type: "memberOf", Expression: "attribute:x =="}}
		})},
		{"fargate", "InvalidParameterException", create(func(in *CreateServiceInput) { in.LaunchType = "FARGATE" })},
		{"negative grace", "InvalidParameterException", create(func(in *CreateServiceInput) { in.HealthCheckGracePeriodSeconds = ptr(-1) })},
		{"bad propagateTags", "InvalidParameterException", create(func(in *CreateServiceInput) { in.PropagateTags = "ALL" })},
		{"reserved tag", "InvalidParameterException", create(func(in *CreateServiceInput) { in.Tags = []Tag{{Key: "aws:x", Value: "y"}} })},
		{"existing name", "InvalidParameterException", create(func(in *CreateServiceInput) { in.ServiceName = "web" })},
		{"update unknown service", "ServiceNotFoundException", update(UpdateServiceInput{Service: "nope", DesiredCount: ptr(1)})},
		{"update deleted service", "ServiceNotActiveException", update(UpdateServiceInput{Service: "gone", DesiredCount: ptr(1)})},
		{"update negative count", "InvalidParameterException", update(UpdateServiceInput{Service: "web", DesiredCount: ptr(-2)})},
		{"update bad percentages", "InvalidParameterException", update(UpdateServiceInput{Service: "web", DeploymentConfiguration: &DeploymentConfiguration{MinimumHealthyPercent: ptr(-5)}})},
		{"update unknown task definition", "InvalidParameterException", update(UpdateServiceInput{Service: "web", TaskDefinition: "web:99"})},
		{"update unknown cluster", "ClusterNotFoundException", update(UpdateServiceInput{Cluster: "nope", Service: "web"})},
		{"delete scaled service", "InvalidParameterException", func() error {
			_, err := e.svc.DeleteService(e.ctx, &DeleteServiceInput{Cluster: cluster, Service: "web"})
			return err
		}},
		{"delete twice", "ServiceNotActiveException", func() error {
			_, err := e.svc.DeleteService(e.ctx, &DeleteServiceInput{Cluster: cluster, Service: "gone"})
			return err
		}},
		{"describe eleven", "InvalidParameterException", func() error {
			_, err := e.svc.DescribeServices(e.ctx, &DescribeServicesInput{Cluster: cluster, Services: make([]string, 11)})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { e.with(t).rejected(tc.code, tc.call) })
	}

	// Describe: unknown names are MISSING, tags only on request; list
	// shows the active service only.
	out, err := e.svc.DescribeServices(e.ctx, &DescribeServicesInput{Cluster: cluster, Services: []string{"web", arn("service/api/nope")}, Include: []string{"TAGS"}})
	if err != nil || len(out.Services) != 1 || len(out.Failures) != 1 || out.Failures[0].Reason != "MISSING" {
		t.Fatalf("describe = %+v, %v", out, err)
	}
	svc := out.Services[0]
	if svc.ServiceArn != arn("service/api/web") || svc.Status != "ACTIVE" || len(svc.Tags) != 1 || svc.SchedulingStrategy != "REPLICA" ||
		*svc.DeploymentConfiguration.MinimumHealthyPercent != 100 || *svc.DeploymentConfiguration.MaximumPercent != 200 {
		t.Fatalf("described service = %+v", svc)
	}
	list, err := e.svc.ListServices(e.ctx, &ListServicesInput{Cluster: cluster})
	if err != nil || len(list.ServiceArns) != 1 || list.ServiceArns[0] != svc.ServiceArn {
		t.Fatalf("list = %+v, %v", list, err)
	}
	// Services take tags like other resources.
	if _, err := e.svc.TagResource(e.ctx, &TagResourceInput{ResourceArn: svc.ServiceArn, Tags: []Tag{{Key: "env", Value: "prod"}}}); err != nil {
		t.Fatal(err)
	}
	if tags, err := e.svc.ListTagsForResource(e.ctx, &TagResourceInput{ResourceArn: svc.ServiceArn}); err != nil || len(tags.Tags) != 2 {
		t.Fatalf("service tags = %+v, %v", tags, err)
	}
	// An INACTIVE service's name can be used again; a client token makes
	// a create retry-safe.
	for range 2 {
		if _, err := e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: cluster, ServiceName: "gone", TaskDefinition: "web", DesiredCount: ptr(1), ClientToken: "tok-1"}); err != nil {
			t.Fatalf("re-create with token: %v", err)
		}
	}
	// A cluster with services cannot be deleted.
	e.rejected("ClusterContainsServicesException", func() error {
		_, err := e.svc.DeleteCluster(e.ctx, &ClusterRefInput{Cluster: cluster})
		return err
	})
	c, _ := e.svc.DescribeClusters(e.ctx, &DescribeClustersInput{Clusters: []string{cluster}})
	if c.Clusters[0].ActiveServicesCount != 2 {
		t.Fatalf("activeServicesCount = %d, want 2", c.Clusters[0].ActiveServicesCount)
	}
}
