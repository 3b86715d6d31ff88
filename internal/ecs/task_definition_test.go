package ecs

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func tdArn(family string, rev int) string {
	return arn(fmt.Sprintf("task-definition/%s:%d", family, rev))
}

func TestTaskDefinitionRevisions(t *testing.T) {
	e := newEnv(t)
	for rev := 1; rev <= 3; rev++ {
		td := e.taskDef("web", container("app", 128, 64+rev))
		if td.Revision != rev || td.TaskDefinitionArn != tdArn("web", rev) || td.Family != "web" || td.Status != "ACTIVE" {
			t.Fatalf("registration %d = rev %d arn %s status %s", rev, td.Revision, td.TaskDefinitionArn, td.Status)
		}
	}
	// Another family counts its own revisions.
	if td := e.simpleTaskDef("worker", 64, 64); td.Revision != 1 {
		t.Fatalf("first worker revision = %d", td.Revision)
	}

	describe := func(t *testing.T, ref string) *TaskDefinition {
		t.Helper()
		out, err := e.svc.DescribeTaskDefinition(e.ctx, &DescribeTaskDefinitionInput{TaskDefinition: ref})
		if err != nil {
			t.Fatalf("describe %s: %v", ref, err)
		}
		return out.TaskDefinition
	}
	for _, tc := range []struct {
		ref     string
		wantRev int
	}{
		{"web", 3}, {"web:1", 1}, {"web:2", 2}, {tdArn("web", 1), 1}, {tdArn("web", 3), 3},
	} {
		t.Run("describe "+tc.ref, func(t *testing.T) {
			td := describe(t, tc.ref)
			if td.Revision != tc.wantRev || *td.ContainerDefinitions[0].Memory != 64+tc.wantRev {
				t.Fatalf("describe %s = revision %d memory %d, want %d", tc.ref, td.Revision, *td.ContainerDefinitions[0].Memory, tc.wantRev)
			}
		})
	}
	for _, ref := range []string{"", "web:9", "nosuch", "web:0", "web:x", "arn:aws:ecs:us-east-1:123456789012:cluster/web"} {
		t.Run("describe unknown "+ref, func(t *testing.T) {
			_, err := e.svc.DescribeTaskDefinition(e.ctx, &DescribeTaskDefinitionInput{TaskDefinition: ref})
			wantCode(t, err, "ClientException")
		})
	}

	t.Run("LatestActiveAfterDeregisteringNewest", func(t *testing.T) {
		e := e.with(t)
		out := must[*TaskDefinitionOutput](t)(e.svc.DeregisterTaskDefinition(e.ctx, &DeregisterTaskDefinitionInput{TaskDefinition: "web:3"}))
		if out.TaskDefinition.Status != "INACTIVE" || out.TaskDefinition.DeregisteredAt == nil {
			t.Fatalf("deregistered = %+v", out.TaskDefinition)
		}
		if td := describe(t, "web"); td.Revision != 2 {
			t.Fatalf("latest active = %d, want 2", td.Revision)
		}
		// The inactive revision itself can still be described.
		if td := describe(t, "web:3"); td.Status != "INACTIVE" {
			t.Fatalf("web:3 status = %s", td.Status)
		}
		// Deregistering again is a no-op answer.
		before := e.snapshot()
		again := must[*TaskDefinitionOutput](t)(e.svc.DeregisterTaskDefinition(e.ctx, &DeregisterTaskDefinitionInput{TaskDefinition: tdArn("web", 3)}))
		e.unchanged(before)
		if again.TaskDefinition.Status != "INACTIVE" {
			t.Fatalf("second deregister = %+v", again.TaskDefinition)
		}
		// The next registration still gets a fresh revision number.
		if td := e.simpleTaskDef("web", 128, 128); td.Revision != 4 {
			t.Fatalf("revision after deregistering 3 = %d, want 4", td.Revision)
		}
		for _, ref := range []string{"web", "web:99", "", "bad name:1"} {
			e.rejected("ClientException", func() error {
				_, err := e.svc.DeregisterTaskDefinition(e.ctx, &DeregisterTaskDefinitionInput{TaskDefinition: ref})
				return err
			})
		}
	})
}

func TestListTaskDefinitions(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 4; i++ {
		e.simpleTaskDef("api", 128, 128)
	}
	e.simpleTaskDef("api-v2", 128, 128)
	e.simpleTaskDef("batch", 128, 128)
	e.simpleTaskDef("old", 128, 128)
	must[*TaskDefinitionOutput](t)(e.svc.DeregisterTaskDefinition(e.ctx, &DeregisterTaskDefinitionInput{TaskDefinition: "api:2"}))
	must[*TaskDefinitionOutput](t)(e.svc.DeregisterTaskDefinition(e.ctx, &DeregisterTaskDefinitionInput{TaskDefinition: "old:1"}))

	list := func(t *testing.T, in ListTaskDefinitionsInput) []string {
		t.Helper()
		out, err := e.svc.ListTaskDefinitions(e.ctx, &in)
		if err != nil {
			t.Fatalf("ListTaskDefinitions(%+v): %v", in, err)
		}
		return out.TaskDefinitionArns
	}
	for _, tc := range []struct {
		name string
		in   ListTaskDefinitionsInput
		want []string
	}{
		{"all active", ListTaskDefinitionsInput{}, []string{tdArn("api", 1), tdArn("api", 3), tdArn("api", 4), tdArn("api-v2", 1), tdArn("batch", 1)}},
		{"family", ListTaskDefinitionsInput{FamilyPrefix: "api"}, []string{tdArn("api", 1), tdArn("api", 3), tdArn("api", 4)}},
		{"family is a whole name", ListTaskDefinitionsInput{FamilyPrefix: "ap"}, []string{}},
		{"desc", ListTaskDefinitionsInput{FamilyPrefix: "api", Sort: "DESC"}, []string{tdArn("api", 4), tdArn("api", 3), tdArn("api", 1)}},
		{"asc", ListTaskDefinitionsInput{FamilyPrefix: "api", Sort: "ASC"}, []string{tdArn("api", 1), tdArn("api", 3), tdArn("api", 4)}},
		{"inactive", ListTaskDefinitionsInput{Status: "INACTIVE"}, []string{tdArn("api", 2), tdArn("old", 1)}},
		{"inactive of family", ListTaskDefinitionsInput{Status: "INACTIVE", FamilyPrefix: "old"}, []string{tdArn("old", 1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := list(t, tc.in); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("Pagination", func(t *testing.T) {
		for _, order := range []string{"ASC", "DESC"} {
			full := list(t, ListTaskDefinitionsInput{Sort: order})
			var got []string
			var token *string
			for page := 0; ; page++ {
				if page > 10 {
					t.Fatal("pagination does not end")
				}
				out := must[*ListTaskDefinitionsOutput](t)(e.svc.ListTaskDefinitions(e.ctx, &ListTaskDefinitionsInput{Sort: order, MaxResults: ptr(2), NextToken: token}))
				if len(out.TaskDefinitionArns) > 2 {
					t.Fatalf("page of %d", len(out.TaskDefinitionArns))
				}
				got = append(got, out.TaskDefinitionArns...)
				if out.NextToken == nil {
					break
				}
				token = out.NextToken
			}
			if !slices.Equal(got, full) || len(full) != 5 {
				t.Fatalf("%s pages gave %v, want %v", order, got, full)
			}
		}
	})

	for _, in := range []ListTaskDefinitionsInput{{Status: "GONE"}, {Sort: "UP"}, {MaxResults: ptr(0)}, {MaxResults: ptr(101)}} {
		t.Run(fmt.Sprintf("invalid %+v", in), func(t *testing.T) {
			_, err := e.svc.ListTaskDefinitions(e.ctx, &in)
			wantCode(t, err, "InvalidParameterException")
		})
	}

	t.Run("Families", func(t *testing.T) {
		for _, tc := range []struct {
			in   ListTaskDefinitionFamiliesInput
			want []string
		}{
			// By default both ACTIVE and INACTIVE families are listed (AWS docs).
			{ListTaskDefinitionFamiliesInput{}, []string{"api", "api-v2", "batch", "old"}},
			{ListTaskDefinitionFamiliesInput{Status: "ALL"}, []string{"api", "api-v2", "batch", "old"}},
			{ListTaskDefinitionFamiliesInput{Status: "ACTIVE"}, []string{"api", "api-v2", "batch"}},
			{ListTaskDefinitionFamiliesInput{Status: "INACTIVE"}, []string{"old"}},
			{ListTaskDefinitionFamiliesInput{FamilyPrefix: "ap"}, []string{"api", "api-v2"}},
			{ListTaskDefinitionFamiliesInput{FamilyPrefix: "api-", Status: "ACTIVE"}, []string{"api-v2"}},
			{ListTaskDefinitionFamiliesInput{FamilyPrefix: "zzz"}, []string{}},
		} {
			out, err := e.svc.ListTaskDefinitionFamilies(e.ctx, &tc.in)
			if err != nil {
				t.Fatalf("%+v: %v", tc.in, err)
			}
			if !slices.Equal(out.Families, tc.want) {
				t.Errorf("families(%+v) = %v, want %v", tc.in, out.Families, tc.want)
			}
		}
		// Pagination over families.
		var got []string
		var token *string
		for page := 0; page < 10; page++ {
			out := must[*ListTaskDefinitionFamiliesOutput](t)(e.svc.ListTaskDefinitionFamilies(e.ctx, &ListTaskDefinitionFamiliesInput{Status: "ALL", MaxResults: ptr(3), NextToken: token}))
			got = append(got, out.Families...)
			if token = out.NextToken; token == nil {
				break
			}
		}
		if !slices.Equal(got, []string{"api", "api-v2", "batch", "old"}) {
			t.Fatalf("paged families = %v", got)
		}
		_, err := e.svc.ListTaskDefinitionFamilies(e.ctx, &ListTaskDefinitionFamiliesInput{Status: "DELETE_IN_PROGRESS"})
		wantCode(t, err, "InvalidParameterException")
	})
}

// validTaskDef returns a valid registration request to break one field of.
func validTaskDef() RegisterTaskDefinitionInput {
	return RegisterTaskDefinitionInput{Family: "bad", ContainerDefinitions: []ContainerDefinition{container("app", 128, 128)}}
}

func TestRegisterTaskDefinitionValidation(t *testing.T) {
	e := newEnv(t)
	e.simpleTaskDef("bad", 128, 128) // revision 1 exists; no rejected call may add another.
	for _, tc := range []struct {
		name   string
		mutate func(*RegisterTaskDefinitionInput)
		code   string
	}{
		{"no containers", func(in *RegisterTaskDefinitionInput) { in.ContainerDefinitions = nil }, "ClientException"},
		{"eleven containers", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions = nil
			for i := range 11 {
				in.ContainerDefinitions = append(in.ContainerDefinitions, container(fmt.Sprintf("c%d", i), 0, 16))
			}
		}, "ClientException"},
		{"no family", func(in *RegisterTaskDefinitionInput) { in.Family = "" }, "ClientException"},
		{"bad family", func(in *RegisterTaskDefinitionInput) { in.Family = "bad:family" }, "ClientException"},
		{"missing name", func(in *RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Name = "" }, "ClientException"},
		{"bad name", func(in *RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Name = "a b" }, "ClientException"},
		{"missing image", func(in *RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Image = "" }, "ClientException"},
		{"blank image", func(in *RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Image = "   " }, "ClientException"},
		{"no memory anywhere", func(in *RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Memory = nil }, "ClientException"},
		{"memory below 6", func(in *RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Memory = ptr(4) }, "ClientException"},
		{"memoryReservation above memory", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].Memory = ptr(128)
			in.ContainerDefinitions[0].MemoryReservation = ptr(256)
		}, "ClientException"},
		{"negative cpu", func(in *RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Cpu = -1 }, "ClientException"},
		{"duplicate container names", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions = append(in.ContainerDefinitions, container("app", 0, 32))
		}, "ClientException"},
		{"no essential container", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].Essential = ptr(false)
			side := container("side", 0, 32)
			side.Essential = ptr(false)
			in.ContainerDefinitions = append(in.ContainerDefinitions, side)
		}, "ClientException"},
		{"bad networkMode", func(in *RegisterTaskDefinitionInput) { in.NetworkMode = "overlay" }, "InvalidParameterException"},
		{"host mode hostPort differs", func(in *RegisterTaskDefinitionInput) {
			in.NetworkMode = "host"
			in.ContainerDefinitions[0] = withPorts(in.ContainerDefinitions[0], [2]int{80, 8080})
		}, "ClientException"},
		{"awsvpc hostPort differs", func(in *RegisterTaskDefinitionInput) {
			in.NetworkMode = "awsvpc"
			in.ContainerDefinitions[0] = withPorts(in.ContainerDefinitions[0], [2]int{80, 81})
		}, "ClientException"},
		{"port mappings with none", func(in *RegisterTaskDefinitionInput) {
			in.NetworkMode = "none"
			in.ContainerDefinitions[0] = withPorts(in.ContainerDefinitions[0], [2]int{80, 0})
		}, "ClientException"},
		{"containerPort 0", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0] = withPorts(in.ContainerDefinitions[0], [2]int{0, 0})
		}, "ClientException"},
		{"hostPort out of range", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0] = withPorts(in.ContainerDefinitions[0], [2]int{80, 70000})
		}, "ClientException"},
		{"same host port twice", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0] = withPorts(in.ContainerDefinitions[0], [2]int{80, 8080})
			in.ContainerDefinitions = append(in.ContainerDefinitions, withPorts(container("b", 0, 32), [2]int{81, 8080}))
		}, "ClientException"},
		{"bad protocol", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].PortMappings = []PortMapping{{ContainerPort: ptr(80), Protocol: "sctp"}}
		}, "ClientException"},
		{"links outside bridge", func(in *RegisterTaskDefinitionInput) {
			in.NetworkMode = "host"
			in.ContainerDefinitions = append(in.ContainerDefinitions, container("db", 0, 32))
			in.ContainerDefinitions[0].Links = []string{"db"}
		}, "ClientException"},
		{"link to unknown container", func(in *RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Links = []string{"ghost:alias"} }, "ClientException"},
		{"dependsOn unknown container", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].DependsOn = []ContainerDependency{{ContainerName: "ghost", Condition: "START"}}
		}, "ClientException"},
		{"dependsOn itself", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].DependsOn = []ContainerDependency{{ContainerName: "app", Condition: "START"}}
		}, "ClientException"},
		{"dependsOn bad condition", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions = append(in.ContainerDefinitions, container("db", 0, 32))
			in.ContainerDefinitions[0].DependsOn = []ContainerDependency{{ContainerName: "db", Condition: "READY"}}
		}, "ClientException"},
		{"volumesFrom unknown container", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].VolumesFrom = []VolumeFrom{{SourceContainer: "ghost"}}
		}, "ClientException"},
		{"unknown mountPoint volume", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].MountPoints = []MountPoint{{SourceVolume: "data", ContainerPath: "/data"}}
		}, "ClientException"},
		{"relative mountPoint path", func(in *RegisterTaskDefinitionInput) {
			in.Volumes = []Volume{{Name: "data"}}
			in.ContainerDefinitions[0].MountPoints = []MountPoint{{SourceVolume: "data", ContainerPath: "data"}}
		}, "ClientException"},
		{"duplicate volume", func(in *RegisterTaskDefinitionInput) { in.Volumes = []Volume{{Name: "v"}, {Name: "v"}} }, "ClientException"},
		{"bad healthCheck interval", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].HealthCheck = &HealthCheck{Command: []string{"CMD", "true"}, Interval: ptr(1)}
		}, "ClientException"},
		{"bad healthCheck retries", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].HealthCheck = &HealthCheck{Command: []string{"CMD", "true"}, Retries: ptr(11)}
		}, "ClientException"},
		{"empty healthCheck command", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].HealthCheck = &HealthCheck{}
		}, "ClientException"},
		{"stopTimeout too long", func(in *RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].StopTimeout = ptr(121) }, "ClientException"},
		{"bad ulimit", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].Ulimits = []Ulimit{{Name: "files", SoftLimit: 1, HardLimit: 1}}
		}, "ClientException"},
		{"bad log driver", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].LogConfiguration = &LogConfiguration{LogDriver: "carrier-pigeon"}
		}, "ClientException"},
		{"empty env name", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].Environment = []KeyValuePair{{Name: "", Value: "x"}}
		}, "ClientException"},
		{"FARGATE without awsvpc", func(in *RegisterTaskDefinitionInput) {
			in.RequiresCompatibilities = []string{"FARGATE"}
			in.Cpu, in.Memory = "256", "512"
		}, "ClientException"},
		{"FARGATE without task size", func(in *RegisterTaskDefinitionInput) {
			in.RequiresCompatibilities = []string{"FARGATE"}
			in.NetworkMode = "awsvpc"
		}, "ClientException"},
		{"unknown compatibility", func(in *RegisterTaskDefinitionInput) { in.RequiresCompatibilities = []string{"LAMBDA"} }, "InvalidParameterException"},
		{"bad task cpu", func(in *RegisterTaskDefinitionInput) { in.Cpu = "lots" }, "ClientException"},
		{"task cpu too small", func(in *RegisterTaskDefinitionInput) { in.Cpu = "64" }, "ClientException"},
		{"bad task memory", func(in *RegisterTaskDefinitionInput) { in.Memory = "big" }, "ClientException"},
		{"task cpu above 192 vCPU", func(in *RegisterTaskDefinitionInput) { in.Cpu = "196609" }, "ClientException"},
		{"task cpu too many digits", func(in *RegisterTaskDefinitionInput) { in.Cpu = strings.Repeat("9", 400) }, "ClientException"},
		{"task memory too many digits", func(in *RegisterTaskDefinitionInput) { in.Memory = strings.Repeat("9", 30) }, "ClientException"},
		{"task memory wraps around in GB", func(in *RegisterTaskDefinitionInput) { in.Memory = "18014398509481985 GB" }, "ClientException"},
		{"container memory beyond 32 bits", func(in *RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Memory = ptr(1 << 62) }, "ClientException"},
		{"memoryReservation beyond 32 bits", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].Memory = nil
			in.ContainerDefinitions[0].MemoryReservation = ptr(1 << 62)
		}, "ClientException"},
		{"aws: tag", func(in *RegisterTaskDefinitionInput) { in.Tags = []Tag{{Key: "aws:x", Value: "y"}} }, "InvalidParameterException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			in := validTaskDef()
			tc.mutate(&in)
			e.rejected(tc.code, func() error { _, err := e.svc.RegisterTaskDefinition(e.ctx, &in); return err })
			// normalizeTaskDefinition alone agrees unless the failure is in tags.
			if tc.name != "aws: tag" {
				in := validTaskDef()
				tc.mutate(&in)
				if _, err := normalizeTaskDefinition(&in); errCode(err) != tc.code {
					t.Fatalf("normalizeTaskDefinition = %v, want %s", err, tc.code)
				}
			}
		})
	}
	list := must[*ListTaskDefinitionsOutput](t)(e.svc.ListTaskDefinitions(e.ctx, &ListTaskDefinitionsInput{FamilyPrefix: "bad"}))
	if !slices.Equal(list.TaskDefinitionArns, []string{tdArn("bad", 1)}) {
		t.Fatalf("after rejected registrations: %v", list.TaskDefinitionArns)
	}
}

func TestRegisterTaskDefinitionDefaults(t *testing.T) {
	e := newEnv(t)

	t.Run("bridge", func(t *testing.T) {
		app := withPorts(container("app", 256, 512), [2]int{80, 0})
		app.PortMappings = append(app.PortMappings, PortMapping{ContainerPort: ptr(53), Protocol: "udp"})
		app.HealthCheck = &HealthCheck{Command: []string{"CMD-SHELL", "curl -f localhost"}}
		side := container("side", 0, 0)
		side.Memory, side.MemoryReservation = nil, ptr(64)
		side.Essential = ptr(false)
		side.DependsOn = []ContainerDependency{{ContainerName: "app", Condition: "HEALTHY"}}
		side.Links = []string{"app:web"}
		out := must[*TaskDefinitionOutput](t)(e.svc.RegisterTaskDefinition(e.ctx, &RegisterTaskDefinitionInput{
			Family: "defaults", ContainerDefinitions: []ContainerDefinition{app, side},
			Tags: []Tag{{Key: "k", Value: "v"}},
		}))
		td := out.TaskDefinition
		if td.NetworkMode != "bridge" || td.Status != "ACTIVE" || td.Revision != 1 || td.RegisteredAt == nil ||
			td.RegisteredBy != rootPrincipal.ARN || len(out.Tags) != 1 {
			t.Fatalf("task definition = %+v", td)
		}
		if !slices.Equal(td.Compatibilities, []string{"EXTERNAL", "EC2"}) {
			t.Fatalf("compatibilities = %v", td.Compatibilities)
		}
		c := td.ContainerDefinitions[0]
		if c.Essential == nil || !*c.Essential {
			t.Fatalf("essential not defaulted to true: %+v", c.Essential)
		}
		if pm := c.PortMappings[0]; *pm.HostPort != 0 || pm.Protocol != "tcp" || *pm.ContainerPort != 80 {
			t.Fatalf("tcp port mapping = %+v hostPort %d", pm, *pm.HostPort)
		}
		if pm := c.PortMappings[1]; *pm.HostPort != 0 || pm.Protocol != "udp" {
			t.Fatalf("udp port mapping = %+v", pm)
		}
		hc := c.HealthCheck
		if *hc.Interval != 30 || *hc.Timeout != 5 || *hc.Retries != 3 || *hc.StartPeriod != 0 {
			t.Fatalf("healthCheck defaults = %d/%d/%d/%d, want 30/5/3/0", *hc.Interval, *hc.Timeout, *hc.Retries, *hc.StartPeriod)
		}
		if c.Environment == nil || c.MountPoints == nil || c.VolumesFrom == nil {
			t.Fatalf("list fields not filled: %+v", c)
		}
		if s := td.ContainerDefinitions[1]; *s.Essential || *s.MemoryReservation != 64 {
			t.Fatalf("side container = %+v", s)
		}
		// Described, it reads the same, and tags come only with include TAGS.
		desc := must[*TaskDefinitionOutput](t)(e.svc.DescribeTaskDefinition(e.ctx, &DescribeTaskDefinitionInput{TaskDefinition: "defaults:1"}))
		if *desc.TaskDefinition.ContainerDefinitions[0].HealthCheck.Interval != 30 || desc.Tags != nil {
			t.Fatalf("described = %+v tags %v", desc.TaskDefinition, desc.Tags)
		}
		desc = must[*TaskDefinitionOutput](t)(e.svc.DescribeTaskDefinition(e.ctx, &DescribeTaskDefinitionInput{TaskDefinition: "defaults", Include: []string{"TAGS"}}))
		if len(desc.Tags) != 1 || desc.Tags[0].Key != "k" {
			t.Fatalf("described tags = %v", desc.Tags)
		}
	})

	t.Run("host", func(t *testing.T) {
		out := must[*TaskDefinitionOutput](t)(e.svc.RegisterTaskDefinition(e.ctx, &RegisterTaskDefinitionInput{
			Family: "hostnet", NetworkMode: "host", ContainerDefinitions: []ContainerDefinition{withPorts(container("app", 0, 64), [2]int{9000, 0})},
		}))
		if hp := *out.TaskDefinition.ContainerDefinitions[0].PortMappings[0].HostPort; hp != 9000 {
			t.Fatalf("host mode hostPort = %d, want containerPort 9000", hp)
		}
	})

	t.Run("awsvpc with task size", func(t *testing.T) {
		app := container("app", 0, 0)
		app.Memory = nil // the task-level memory is enough
		out := must[*TaskDefinitionOutput](t)(e.svc.RegisterTaskDefinition(e.ctx, &RegisterTaskDefinitionInput{
			Family: "vpc", NetworkMode: "awsvpc", Cpu: "0.5 vCPU", Memory: "1 GB",
			RequiresCompatibilities: []string{"FARGATE"}, ContainerDefinitions: []ContainerDefinition{app},
		}))
		td := out.TaskDefinition
		if td.Cpu != "512" || td.Memory != "1024" {
			t.Fatalf("task size = %s/%s, want 512/1024", td.Cpu, td.Memory)
		}
		if !slices.Equal(td.Compatibilities, []string{"EC2", "FARGATE"}) {
			t.Fatalf("compatibilities = %v", td.Compatibilities)
		}
	})
}
