package ecs

import (
	"slices"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/store"
)

func TestClusters(t *testing.T) {
	base := newEnv(t)

	t.Run("CreateIsIdempotentForTheSameName", func(t *testing.T) {
		e := base.with(t)
		first := must[*ClusterOutput](t)(e.svc.CreateCluster(e.ctx, &CreateClusterInput{
			ClusterName: "alpha", Tags: []Tag{{Key: "team", Value: "a"}},
		}))
		c := first.Cluster
		if c.ClusterArn != arn("cluster/alpha") || c.ClusterName != "alpha" || c.Status != "ACTIVE" {
			t.Fatalf("created cluster = %+v", c)
		}
		if len(c.Settings) != 1 || c.Settings[0] != (ClusterSetting{Name: "containerInsights", Value: "disabled"}) {
			t.Fatalf("default settings = %+v, want containerInsights=disabled", c.Settings)
		}
		if len(c.Tags) != 1 || c.Tags[0].Key != "team" {
			t.Fatalf("tags = %+v", c.Tags)
		}
		// A second create of the same name returns the existing cluster and writes nothing.
		before := e.snapshot()
		second := must[*ClusterOutput](t)(e.svc.CreateCluster(e.ctx, &CreateClusterInput{
			ClusterName: "alpha", Settings: []ClusterSetting{{Name: "containerInsights", Value: "enabled"}},
		}))
		e.unchanged(before)
		if second.Cluster.ClusterArn != c.ClusterArn || second.Cluster.Settings[0].Value != "disabled" {
			t.Fatalf("second create = %+v, want the existing cluster", second.Cluster)
		}
	})

	t.Run("EmptyNameMeansDefault", func(t *testing.T) {
		e := base.with(t)
		out := must[*ClusterOutput](t)(e.svc.CreateCluster(e.ctx, &CreateClusterInput{}))
		if out.Cluster.ClusterName != "default" || out.Cluster.ClusterArn != arn("cluster/default") {
			t.Fatalf("cluster = %+v", out.Cluster)
		}
	})

	t.Run("InvalidInput", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			in   CreateClusterInput
			code string
		}{
			{"space", CreateClusterInput{ClusterName: "has space"}, "InvalidParameterException"},
			{"punctuation", CreateClusterInput{ClusterName: "bad!"}, "InvalidParameterException"},
			{"slash", CreateClusterInput{ClusterName: "a/b"}, "InvalidParameterException"},
			{"colon", CreateClusterInput{ClusterName: "a:b"}, "InvalidParameterException"},
			{"non-ascii", CreateClusterInput{ClusterName: "clüster"}, "InvalidParameterException"},
			{"too long", CreateClusterInput{ClusterName: strings.Repeat("x", 256)}, "InvalidParameterException"},
			{"unknown setting", CreateClusterInput{ClusterName: "s1", Settings: []ClusterSetting{{Name: "fastMode", Value: "enabled"}}}, "InvalidParameterException"},
			{"bad setting value", CreateClusterInput{ClusterName: "s2", Settings: []ClusterSetting{{Name: "containerInsights", Value: "on"}}}, "InvalidParameterException"},
			{"aws: tag", CreateClusterInput{ClusterName: "s3", Tags: []Tag{{Key: "aws:owner", Value: "x"}}}, "InvalidParameterException"},
			{"AWS: tag any case", CreateClusterInput{ClusterName: "s4", Tags: []Tag{{Key: "AWS:owner", Value: "x"}}}, "InvalidParameterException"},
			{"empty tag key", CreateClusterInput{ClusterName: "s5", Tags: []Tag{{Key: "", Value: "x"}}}, "InvalidParameterException"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := base.with(t)
				e.rejected(tc.code, func() error { _, err := e.svc.CreateCluster(e.ctx, &tc.in); return err })
			})
		}
		// The longest valid name is accepted.
		e := base.with(t)
		long := strings.Repeat("y", 255)
		must[*ClusterOutput](t)(e.svc.CreateCluster(e.ctx, &CreateClusterInput{ClusterName: long}))
	})

	t.Run("ValidSettings", func(t *testing.T) {
		e := base.with(t)
		for _, v := range []string{"enabled", "disabled", "enhanced"} {
			out := must[*ClusterOutput](t)(e.svc.CreateCluster(e.ctx, &CreateClusterInput{
				ClusterName: "ci-" + v, Settings: []ClusterSetting{{Name: "containerInsights", Value: v}},
			}))
			if len(out.Cluster.Settings) != 1 || out.Cluster.Settings[0].Value != v {
				t.Fatalf("settings = %+v, want containerInsights=%s", out.Cluster.Settings, v)
			}
		}
	})

	t.Run("Describe", func(t *testing.T) {
		e := base.with(t)
		must[*ClusterOutput](t)(e.svc.CreateCluster(e.ctx, &CreateClusterInput{ClusterName: "desc", Tags: []Tag{{Key: "env", Value: "test"}}}))
		e.instance("desc", 2048, 2048)
		td := e.simpleTaskDef("desc-app", 128, 128)
		ran := e.run("desc", td.TaskDefinitionArn, 2)
		if len(ran.Tasks) != 2 {
			t.Fatalf("RunTask placed %d tasks", len(ran.Tasks))
		}
		must[*AcknowledgmentOutput](t)(e.svc.SubmitTaskStateChange(e.ctx, &SubmitTaskStateChangeInput{Cluster: "desc", Task: ran.Tasks[0].TaskArn, Status: "RUNNING"}))

		stat := func(c *Cluster, name string) string {
			for _, kv := range c.Statistics {
				if kv.Name == name {
					return kv.Value
				}
			}
			return "<absent>"
		}
		for _, tc := range []struct {
			name      string
			include   []string
			wantStats bool
			wantTags  bool
		}{
			{"plain", nil, false, false},
			{"statistics", []string{"STATISTICS"}, true, false},
			{"tags", []string{"TAGS"}, false, true},
			{"both", []string{"STATISTICS", "TAGS", "SETTINGS"}, true, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				// By name and by ARN alike.
				out := must[*DescribeClustersOutput](t)(e.svc.DescribeClusters(e.ctx, &DescribeClustersInput{
					Clusters: []string{"desc", arn("cluster/desc")}, Include: tc.include,
				}))
				if len(out.Clusters) != 2 || len(out.Failures) != 0 {
					t.Fatalf("describe = %+v", out)
				}
				for _, c := range out.Clusters {
					if c.ClusterName != "desc" || c.Status != "ACTIVE" || c.RegisteredContainerInstancesCount != 1 ||
						c.RunningTasksCount != 1 || c.PendingTasksCount != 1 {
						t.Fatalf("cluster = %+v", c)
					}
					if tc.wantStats {
						if len(c.Statistics) != 8 || stat(c, "runningEC2TasksCount") != "1" || stat(c, "pendingEC2TasksCount") != "1" ||
							stat(c, "runningFargateTasksCount") != "0" {
							t.Fatalf("statistics = %+v", c.Statistics)
						}
					} else if len(c.Statistics) != 0 {
						t.Fatalf("statistics without include: %+v", c.Statistics)
					}
					if tc.wantTags != (len(c.Tags) == 1) || (tc.wantTags && c.Tags[0] != (Tag{Key: "env", Value: "test"})) {
						t.Fatalf("tags = %+v, want included=%v", c.Tags, tc.wantTags)
					}
				}
			})
		}

		t.Run("missing", func(t *testing.T) {
			out := must[*DescribeClustersOutput](t)(e.svc.DescribeClusters(e.ctx, &DescribeClustersInput{
				Clusters: []string{"desc", "nope", arn("cluster/gone")},
			}))
			if len(out.Clusters) != 1 || out.Clusters[0].ClusterName != "desc" {
				t.Fatalf("clusters = %+v", out.Clusters)
			}
			want := []Failure{{Arn: arn("cluster/nope"), Reason: "MISSING"}, {Arn: arn("cluster/gone"), Reason: "MISSING"}}
			if !slices.Equal(out.Failures, want) {
				t.Fatalf("failures = %+v, want %+v", out.Failures, want)
			}
		})

		t.Run("bad include", func(t *testing.T) {
			_, err := e.svc.DescribeClusters(e.ctx, &DescribeClustersInput{Clusters: []string{"desc"}, Include: []string{"EVERYTHING"}})
			wantCode(t, err, "InvalidParameterException")
		})
	})

	t.Run("DeleteRefusedWithInstancesThenInactive", func(t *testing.T) {
		e := base.with(t)
		e.cluster("doomed")
		ci := e.instance("doomed", 1024, 1024)
		e.rejected("ClusterContainsContainerInstancesException", func() error {
			_, err := e.svc.DeleteCluster(e.ctx, &ClusterRefInput{Cluster: "doomed"})
			return err
		})
		must[*ContainerInstanceOutput](t)(e.svc.DeregisterContainerInstance(e.ctx, &DeregisterContainerInstanceInput{Cluster: "doomed", ContainerInstance: ci.ContainerInstanceArn}))
		out := must[*ClusterOutput](t)(e.svc.DeleteCluster(e.ctx, &ClusterRefInput{Cluster: arn("cluster/doomed")}))
		if out.Cluster.Status != "INACTIVE" || out.Cluster.ClusterArn != arn("cluster/doomed") {
			t.Fatalf("deleted cluster = %+v", out.Cluster)
		}
		desc := must[*DescribeClustersOutput](t)(e.svc.DescribeClusters(e.ctx, &DescribeClustersInput{Clusters: []string{"doomed"}}))
		if len(desc.Clusters) != 1 || desc.Clusters[0].Status != "INACTIVE" {
			t.Fatalf("describe after delete = %+v", desc)
		}
		list := must[*ListClustersOutput](t)(e.svc.ListClusters(e.ctx, &ListInput{}))
		if slices.Contains(list.ClusterArns, arn("cluster/doomed")) {
			t.Fatalf("ListClusters still lists the deleted cluster: %v", list.ClusterArns)
		}
		e.rejected("ClusterNotFoundException", func() error {
			_, err := e.svc.DeleteCluster(e.ctx, &ClusterRefInput{Cluster: "doomed"})
			return err
		})
		e.rejected("ClusterNotFoundException", func() error {
			_, err := e.svc.ListContainerInstances(e.ctx, &ListContainerInstancesInput{Cluster: "doomed"})
			return err
		})
		// Creating it again brings it back.
		again := must[*ClusterOutput](t)(e.svc.CreateCluster(e.ctx, &CreateClusterInput{ClusterName: "doomed"}))
		if again.Cluster.Status != "ACTIVE" || again.Cluster.RegisteredContainerInstancesCount != 0 {
			t.Fatalf("recreated = %+v", again.Cluster)
		}
	})

	t.Run("DeleteRefusedWithTasks", func(t *testing.T) {
		e := base.with(t)
		e.cluster("busy")
		ci := e.instance("busy", 1024, 1024)
		td := e.simpleTaskDef("busy-app", 128, 128)
		out := e.run("busy", td.TaskDefinitionArn, 1)
		must[*ContainerInstanceOutput](t)(e.svc.DeregisterContainerInstance(e.ctx, &DeregisterContainerInstanceInput{Cluster: "busy", ContainerInstance: ci.ContainerInstanceArn, Force: ptr(true)}))
		// Force deregistration stops the instance's tasks; one still
		// active for another reason keeps the cluster.
		key := e.svc.keys.task("busy", lastSegment(out.Tasks[0].TaskArn))
		if got := must[store.Item[taskRecord]](t)(store.Get[taskRecord](e.ctx, e.st, key)).Value.Task.LastStatus; got != "STOPPED" {
			t.Fatalf("task on the force-deregistered instance is %s, want STOPPED", got)
		}
		must[taskRecord](t)(store.Update(e.ctx, e.st, key, func(r *taskRecord) error {
			r.Task.LastStatus, r.Task.DesiredStatus = "RUNNING", "RUNNING"
			return nil
		}))
		e.rejected("ClusterContainsTasksException", func() error {
			_, err := e.svc.DeleteCluster(e.ctx, &ClusterRefInput{Cluster: "busy"})
			return err
		})
	})

	t.Run("DeleteValidation", func(t *testing.T) {
		e := base.with(t)
		e.rejected("InvalidParameterException", func() error { _, err := e.svc.DeleteCluster(e.ctx, &ClusterRefInput{}); return err })
		e.rejected("ClusterNotFoundException", func() error {
			_, err := e.svc.DeleteCluster(e.ctx, &ClusterRefInput{Cluster: "never-was"})
			return err
		})
	})

	t.Run("UpdateClusterSettings", func(t *testing.T) {
		e := base.with(t)
		e.cluster("tune")
		out := must[*ClusterOutput](t)(e.svc.UpdateClusterSettings(e.ctx, &ClusterRefInput{
			Cluster: "tune", Settings: []ClusterSetting{{Name: "containerInsights", Value: "enhanced"}},
		}))
		if len(out.Cluster.Settings) != 1 || out.Cluster.Settings[0].Value != "enhanced" {
			t.Fatalf("settings = %+v", out.Cluster.Settings)
		}
		desc := must[*DescribeClustersOutput](t)(e.svc.DescribeClusters(e.ctx, &DescribeClustersInput{Clusters: []string{"tune"}, Include: []string{"SETTINGS"}}))
		if s := desc.Clusters[0].Settings; len(s) != 1 || s[0] != (ClusterSetting{Name: "containerInsights", Value: "enhanced"}) {
			t.Fatalf("described settings = %+v", s)
		}
		for _, tc := range []struct {
			name string
			in   ClusterRefInput
			code string
		}{
			{"no settings", ClusterRefInput{Cluster: "tune"}, "InvalidParameterException"},
			{"no cluster", ClusterRefInput{Settings: []ClusterSetting{{Name: "containerInsights", Value: "enabled"}}}, "InvalidParameterException"},
			{"bad value", ClusterRefInput{Cluster: "tune", Settings: []ClusterSetting{{Name: "containerInsights", Value: "maybe"}}}, "InvalidParameterException"},
			{"bad name", ClusterRefInput{Cluster: "tune", Settings: []ClusterSetting{{Name: "turbo", Value: "enabled"}}}, "InvalidParameterException"},
			{"unknown cluster", ClusterRefInput{Cluster: "ghost", Settings: []ClusterSetting{{Name: "containerInsights", Value: "enabled"}}}, "ClusterNotFoundException"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := e.with(t)
				e.rejected(tc.code, func() error { _, err := e.svc.UpdateClusterSettings(e.ctx, &tc.in); return err })
			})
		}
	})
}

func TestListClustersPagination(t *testing.T) {
	e := newEnv(t)
	var want []string
	for _, n := range []string{"c5", "c1", "c7", "c3", "c2", "c6", "c4"} {
		e.cluster(n)
	}
	for i := 1; i <= 7; i++ {
		want = append(want, arn("cluster/c"+string(rune('0'+i))))
	}
	// An inactive cluster is not listed.
	e.cluster("gone")
	must[*ClusterOutput](t)(e.svc.DeleteCluster(e.ctx, &ClusterRefInput{Cluster: "gone"}))

	all := must[*ListClustersOutput](t)(e.svc.ListClusters(e.ctx, &ListInput{}))
	if !slices.Equal(all.ClusterArns, want) || all.NextToken != nil {
		t.Fatalf("unpaged list = %v (next %v), want %v", all.ClusterArns, all.NextToken, want)
	}

	var got []string
	var sizes []int
	var token *string
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatal("pagination does not end")
		}
		out := must[*ListClustersOutput](t)(e.svc.ListClusters(e.ctx, &ListInput{MaxResults: ptr(3), NextToken: token}))
		got = append(got, out.ClusterArns...)
		sizes = append(sizes, len(out.ClusterArns))
		if out.NextToken == nil {
			break
		}
		token = out.NextToken
	}
	if !slices.Equal(sizes, []int{3, 3, 1}) || !slices.Equal(got, want) {
		t.Fatalf("pages of sizes %v gave %v, want 3,3,1 giving %v", sizes, got, want)
	}

	for _, tc := range []struct {
		name string
		in   ListInput
	}{
		{"maxResults 0", ListInput{MaxResults: ptr(0)}},
		{"maxResults 101", ListInput{MaxResults: ptr(101)}},
		{"garbage token", ListInput{NextToken: ptr("!!not-base64!!")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.with(t).svc.ListClusters(e.ctx, &tc.in)
			wantCode(t, err, "InvalidParameterException")
		})
	}
}

// TestUpdateCluster: a cluster's execute command configuration, Service
// Connect defaults and settings are stored and returned; bad logging
// configurations are refused and change nothing.
func TestUpdateCluster(t *testing.T) {
	e := newEnv(t)
	e.cluster("cfg")
	conf := &ClusterConfiguration{ExecuteCommandConfiguration: &ExecuteCommandConfiguration{Logging: "OVERRIDE",
		LogConfiguration: &ExecuteCommandLogConfiguration{CloudWatchLogGroupName: "/exec", CloudWatchEncryptionEnabled: true}}}
	out := must[*ClusterOutput](t)(e.svc.UpdateCluster(e.ctx, &UpdateClusterInput{Cluster: "cfg", Configuration: conf,
		ServiceConnectDefaults: &ServiceConnectDefaults{Namespace: "internal"}, Settings: []ClusterSetting{{Name: "containerInsights", Value: "enabled"}}}))
	c := out.Cluster
	if c.Configuration == nil || c.Configuration.ExecuteCommandConfiguration.LogConfiguration.CloudWatchLogGroupName != "/exec" ||
		c.ServiceConnectDefaults == nil || c.ServiceConnectDefaults.Namespace != "internal" || c.Settings[0].Value != "enabled" {
		t.Fatalf("updated cluster %+v", c)
	}
	before := e.snapshot()
	for _, bad := range []*ClusterConfiguration{
		{ExecuteCommandConfiguration: &ExecuteCommandConfiguration{Logging: "LOUD"}},
		{ExecuteCommandConfiguration: &ExecuteCommandConfiguration{Logging: "OVERRIDE"}},
		{ExecuteCommandConfiguration: &ExecuteCommandConfiguration{Logging: "NONE", LogConfiguration: &ExecuteCommandLogConfiguration{S3BucketName: "b"}}},
	} {
		e.rejected("InvalidParameterException", func() error {
			_, err := e.svc.UpdateCluster(e.ctx, &UpdateClusterInput{Cluster: "cfg", Configuration: bad})
			return err
		})
	}
	e.unchanged(before)
	d := must[*DescribeClustersOutput](t)(e.svc.DescribeClusters(e.ctx, &DescribeClustersInput{Clusters: []string{"cfg"}}))
	if d.Clusters[0].Configuration == nil || d.Clusters[0].ServiceConnectDefaults == nil {
		t.Fatalf("described %+v", d.Clusters[0])
	}
}

// TestUpdateContainerAgent: there is never an update for Berth's agent,
// and ECS's answer says so; an unknown instance is refused.
func TestUpdateContainerAgent(t *testing.T) {
	e := newEnv(t)
	cluster := e.cluster("agents")
	ci := e.instance(cluster, 1024, 1024)
	_, err := e.svc.UpdateContainerAgent(e.ctx, &UpdateContainerAgentInput{Cluster: cluster, ContainerInstance: ci.ContainerInstanceArn})
	wantCode(t, err, "NoUpdateAvailableException")
	_, err = e.svc.UpdateContainerAgent(e.ctx, &UpdateContainerAgentInput{Cluster: cluster, ContainerInstance: "0123456789abcdef0123456789abcdef"})
	wantCode(t, err, "InvalidParameterException")
}
