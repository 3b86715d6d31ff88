package ecs

import (
	"slices"
	"testing"
)

// tdWith builds a task definition of one container changed by edit.
func tdWith(edit func(td *TaskDefinition, c *ContainerDefinition)) *TaskDefinition {
	c := container("app", 10, 64)
	td := &TaskDefinition{Family: "f", NetworkMode: "bridge"}
	edit(td, &c)
	td.ContainerDefinitions = []ContainerDefinition{c}
	return td
}

func TestRequiresAttributes(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(td *TaskDefinition, c *ContainerDefinition)
		want []string
	}{
		{"plain container needs nothing", func(*TaskDefinition, *ContainerDefinition) {}, nil},
		{"docker labels", func(_ *TaskDefinition, c *ContainerDefinition) { c.DockerLabels = map[string]string{"a": "b"} },
			[]string{capDockerAPI + "1.18"}},
		{"ulimits", func(_ *TaskDefinition, c *ContainerDefinition) {
			c.Ulimits = []Ulimit{{Name: "nofile", SoftLimit: 1, HardLimit: 1}}
		},
			[]string{capDockerAPI + "1.18"}},
		{"log driver", func(_ *TaskDefinition, c *ContainerDefinition) {
			c.LogConfiguration = &LogConfiguration{LogDriver: "syslog"}
		},
			[]string{capDockerAPI + "1.18", capLoggingDriver + "syslog"}},
		{"awslogs with execution role", func(td *TaskDefinition, c *ContainerDefinition) {
			td.ExecutionRoleArn = "arn:aws:iam::123456789012:role/exec"
			c.LogConfiguration = &LogConfiguration{LogDriver: "awslogs"}
		}, []string{capDockerAPI + "1.18", capLoggingDriver + "awslogs", capExecRoleAwslogs}},
		{"health check", func(_ *TaskDefinition, c *ContainerDefinition) {
			c.HealthCheck = &HealthCheck{Command: []string{"CMD", "true"}}
		}, []string{capHealthCheck}},
		{"dependsOn", func(_ *TaskDefinition, c *ContainerDefinition) {
			c.DependsOn = []ContainerDependency{{ContainerName: "init", Condition: "START"}}
		}, []string{capContainerOrdering}},
		{"stopTimeout", func(_ *TaskDefinition, c *ContainerDefinition) { c.StopTimeout = ptr(5) }, []string{capContainerOrdering}},
		{"privileged", func(_ *TaskDefinition, c *ContainerDefinition) { c.Privileged = ptr(true) }, []string{capPrivileged}},
		{"not privileged", func(_ *TaskDefinition, c *ContainerDefinition) { c.Privileged = ptr(false) }, nil},
		{"task role on host network", func(td *TaskDefinition, _ *ContainerDefinition) {
			td.TaskRoleArn, td.NetworkMode = "arn:aws:iam::123456789012:role/app", "host"
		}, []string{capTaskIAMRole, capTaskIAMRoleHost}},
		{"awsvpc", func(td *TaskDefinition, _ *ContainerDefinition) { td.NetworkMode = "awsvpc" }, []string{capTaskENI}},
		{"ECR image with execution role", func(td *TaskDefinition, c *ContainerDefinition) {
			td.ExecutionRoleArn = "arn:aws:iam::123456789012:role/exec"
			c.Image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"
		}, []string{capECRAuth, capExecRoleECRPull}},
		{"secrets", func(_ *TaskDefinition, c *ContainerDefinition) {
			c.Secrets = []Secret{{Name: "A", ValueFrom: "arn:aws:secretsmanager:us-east-1:123456789012:secret:a"}, {Name: "B", ValueFrom: "/param/b"}}
		}, []string{capSecretsASM, capSecretsSSM}},
		{"environment files", func(_ *TaskDefinition, c *ContainerDefinition) {
			c.EnvironmentFiles = []EnvironmentFile{{Type: "s3", Value: "arn:aws:s3:::b/env"}}
		}, []string{capEnvFilesS3}},
		{"docker volume plugin", func(td *TaskDefinition, _ *ContainerDefinition) {
			td.Volumes = []Volume{{Name: "v", DockerVolumeConfiguration: &DockerVolumeConfiguration{Scope: "task"}}}
		}, []string{capDockerPlugin + "local"}},
		{"pid mode", func(td *TaskDefinition, _ *ContainerDefinition) { td.PidMode = "task" }, []string{capPidIpcSharing}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := attributeNames(requiresAttributes(tdWith(tc.edit)))
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("requiresAttributes = %v, want %v", got, want)
			}
		})
	}
}

// TestRequiresAttributesPlacement registers a definition with a health
// check: DescribeTaskDefinition reports the capability, an instance lacking
// it refuses the task with ATTRIBUTE, and one that has it takes it.
func TestRequiresAttributesPlacement(t *testing.T) {
	e := newEnv(t)
	cl := e.cluster("caps")
	c := container("app", 10, 64)
	c.HealthCheck = &HealthCheck{Command: []string{"CMD", "true"}}
	td := e.taskDef("checked", c)
	desc, err := e.svc.DescribeTaskDefinition(e.ctx, &DescribeTaskDefinitionInput{TaskDefinition: td.TaskDefinitionArn})
	if err != nil {
		t.Fatal(err)
	}
	if got := attributeNames(desc.TaskDefinition.RequiresAttributes); !slices.Equal(got, []string{capHealthCheck}) {
		t.Fatalf("requiresAttributes = %v, want [%s]", got, capHealthCheck)
	}

	bare := e.instance(cl, 1024, 1024)
	out := e.run(cl, td.TaskDefinitionArn, 1)
	if len(out.Tasks) != 0 || len(out.Failures) != 1 || out.Failures[0].Reason != "ATTRIBUTE" || out.Failures[0].Arn != bare.ContainerInstanceArn {
		t.Fatalf("on an instance without %s: tasks %d, failures %+v; want one ATTRIBUTE failure", capHealthCheck, len(out.Tasks), out.Failures)
	}
	sout, err := e.svc.StartTask(e.ctx, &RunTaskInput{Cluster: cl, TaskDefinition: td.TaskDefinitionArn, ContainerInstances: []string{bare.ContainerInstanceArn}})
	if err != nil || len(sout.Failures) != 1 || sout.Failures[0].Reason != "ATTRIBUTE" {
		t.Fatalf("StartTask on an instance without %s: %v %+v; want an ATTRIBUTE failure", capHealthCheck, err, sout)
	}

	capable := e.instance(cl, 1024, 1024, instanceOpts{attrs: []Attribute{{Name: capHealthCheck}}})
	out = e.run(cl, td.TaskDefinitionArn, 2)
	if len(out.Tasks) != 2 || len(out.Failures) != 0 {
		t.Fatalf("with a capable instance: tasks %d, failures %+v; want 2 placed", len(out.Tasks), out.Failures)
	}
	for _, task := range out.Tasks {
		if task.ContainerInstanceArn != capable.ContainerInstanceArn {
			t.Fatalf("task placed on %s, want the capable %s", task.ContainerInstanceArn, capable.ContainerInstanceArn)
		}
	}
}
