package ecs

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
)

// TestTaskProtection: a service's tasks can be protected (for 120 minutes
// by default, 1 to 2,880 when asked) and the scheduler then scales the
// service in around them; a standalone task, a missing one and a bad
// expiry are refused as ECS refuses them.
func TestTaskProtection(t *testing.T) {
	e := newEnv(t)
	cluster := e.cluster("prot")
	for range 2 {
		e.instance(cluster, 2048, 2048)
	}
	e.simpleTaskDef("web", 128, 128)
	must[*ServiceOutput](t)(e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: cluster, ServiceName: "web", TaskDefinition: "web", DesiredCount: ptr(3)}))
	s := newSched(e, cluster)
	s.pass()
	tasks := s.tasks()
	if len(tasks) != 3 {
		t.Fatalf("%d tasks, want 3", len(tasks))
	}
	standalone := e.run(cluster, "web", 1).Tasks[0].TaskArn
	a, b := tasks[0].Task.TaskArn, tasks[1].Task.TaskArn

	out := must[*TaskProtectionOutput](t)(e.svc.UpdateTaskProtection(e.ctx, &UpdateTaskProtectionInput{Cluster: cluster,
		Tasks: []string{a, standalone, "0123456789abcdef0123456789abcdef"}, ProtectionEnabled: ptr(true)}))
	if len(out.ProtectedTasks) != 1 || !out.ProtectedTasks[0].ProtectionEnabled || out.ProtectedTasks[0].TaskArn != a {
		t.Fatalf("protected %+v", out.ProtectedTasks)
	}
	if exp := out.ProtectedTasks[0].ExpirationDate.Time; exp.Before(time.Now().Add(119*time.Minute)) || exp.After(time.Now().Add(121*time.Minute)) {
		t.Fatalf("default protection ends %v, want in 120 minutes", exp)
	}
	reasons := map[string]string{}
	for _, f := range out.Failures {
		reasons[f.Arn] = f.Reason
	}
	if reasons[standalone] != "TASK_NOT_VALID" || reasons["0123456789abcdef0123456789abcdef"] != "MISSING" {
		t.Fatalf("failures %+v", out.Failures)
	}
	must[*TaskProtectionOutput](t)(e.svc.UpdateTaskProtection(e.ctx, &UpdateTaskProtectionInput{Cluster: cluster,
		Tasks: []string{b}, ProtectionEnabled: ptr(true), ExpiresInMinutes: ptr(2880)}))
	for _, bad := range []*int{ptr(0), ptr(2881)} {
		e.rejected("InvalidParameterException", func() error {
			_, err := e.svc.UpdateTaskProtection(e.ctx, &UpdateTaskProtectionInput{Cluster: cluster, Tasks: []string{b}, ProtectionEnabled: ptr(true), ExpiresInMinutes: bad})
			return err
		})
	}
	got := must[*TaskProtectionOutput](t)(e.svc.GetTaskProtection(e.ctx, &GetTaskProtectionInput{Cluster: cluster, Tasks: []string{a, b, tasks[2].Task.TaskArn}}))
	enabled := map[string]bool{}
	for _, p := range got.ProtectedTasks {
		enabled[p.TaskArn] = p.ProtectionEnabled
	}
	if !enabled[a] || !enabled[b] || enabled[tasks[2].Task.TaskArn] {
		t.Fatalf("GetTaskProtection %+v", got.ProtectedTasks)
	}

	// Scale to zero: only the unprotected task stops.
	must[*ServiceOutput](t)(e.svc.UpdateService(e.ctx, &UpdateServiceInput{Cluster: cluster, Service: "web", DesiredCount: ptr(0)}))
	s.pass()
	for _, tk := range s.tasks() {
		if tk.Task.Group != "service:web" {
			continue
		}
		stopping := tk.Task.DesiredStatus == "STOPPED"
		if want := tk.Task.TaskArn == tasks[2].Task.TaskArn; stopping != want {
			t.Errorf("task %s desired %s; protected tasks must stay, the other go", tk.Task.TaskArn, tk.Task.DesiredStatus)
		}
	}
	// Once protection ends, the scheduler finishes the scale-in.
	must[*TaskProtectionOutput](t)(e.svc.UpdateTaskProtection(e.ctx, &UpdateTaskProtectionInput{Cluster: cluster, Tasks: []string{a}, ProtectionEnabled: ptr(false)}))
	s.now = time.Now().Add(49 * time.Hour) // b's 2,880 minutes are over
	s.pass()
	for _, tk := range s.tasks() {
		if tk.Task.Group == "service:web" && tk.Task.DesiredStatus != "STOPPED" {
			t.Errorf("task %s still desired %s after protection ended", tk.Task.TaskArn, tk.Task.DesiredStatus)
		}
	}
}

// TestTaskProtectionThroughSDK: the shapes are the ones aws-sdk-go-v2's
// ECS client decodes (the expiration date a timestamp, failures a list).
func TestTaskProtectionThroughSDK(t *testing.T) {
	e := newEnv(t)
	client := e.sdkClient()
	cluster := e.cluster("psdk")
	e.instance(cluster, 2048, 2048)
	e.simpleTaskDef("web", 128, 128)
	must[*ServiceOutput](t)(e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: cluster, ServiceName: "web", TaskDefinition: "web", DesiredCount: ptr(1)}))
	s := newSched(e, cluster)
	s.pass()
	task := s.tasks()[0].Task.TaskArn
	up, err := client.UpdateTaskProtection(context.Background(), &awsecs.UpdateTaskProtectionInput{Cluster: aws.String(cluster), Tasks: []string{task, "nope"},
		ProtectionEnabled: true, ExpiresInMinutes: aws.Int32(30)})
	if err != nil || len(up.ProtectedTasks) != 1 || !up.ProtectedTasks[0].ProtectionEnabled || len(up.Failures) != 1 || aws.ToString(up.Failures[0].Reason) != "MISSING" {
		t.Fatalf("UpdateTaskProtection %+v %v", up, err)
	}
	if exp := aws.ToTime(up.ProtectedTasks[0].ExpirationDate); exp.Before(time.Now().Add(29*time.Minute)) || exp.After(time.Now().Add(31*time.Minute)) {
		t.Fatalf("expiration %v, want in 30 minutes", exp)
	}
	got, err := client.GetTaskProtection(context.Background(), &awsecs.GetTaskProtectionInput{Cluster: aws.String(cluster), Tasks: []string{task}})
	if err != nil || len(got.ProtectedTasks) != 1 || !got.ProtectedTasks[0].ProtectionEnabled {
		t.Fatalf("GetTaskProtection %+v %v", got, err)
	}
}
