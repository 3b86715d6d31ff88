package ecs

import (
	"testing"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

func TestSubmitAttachmentStateChanges(t *testing.T) {
	e := newAwsvpcEnv(t)
	out, err := e.svc.RunTask(e.ctx, &RunTaskInput{Cluster: "vpc", TaskDefinition: e.td.TaskDefinitionArn,
		NetworkConfiguration: awsvpc([]string{e.subnets["us-east-1a"].SubnetID}, e.group)})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("run: %v %+v", err, out)
	}
	task := out.Tasks[0]
	att := arn("attachment/" + task.Attachments[0].ID)
	for _, c := range []struct {
		name string
		in   SubmitAttachmentStateChangesInput
		code string
	}{
		{"no attachments", SubmitAttachmentStateChangesInput{Cluster: "vpc"}, "InvalidParameterException"},
		{"bad status", SubmitAttachmentStateChangesInput{Cluster: "vpc", Attachments: []AttachmentStateChange{{AttachmentArn: att, Status: "GONE"}}}, "InvalidParameterException"},
		{"unknown attachment", SubmitAttachmentStateChangesInput{Cluster: "vpc", Attachments: []AttachmentStateChange{{AttachmentArn: att, Status: "DETACHED"},
			{AttachmentArn: arn("attachment/00000000-0000-0000-0000-000000000000"), Status: "DETACHED"}}}, "InvalidParameterException"},
		{"missing cluster", SubmitAttachmentStateChangesInput{Cluster: "nope", Attachments: []AttachmentStateChange{{AttachmentArn: att, Status: "DETACHED"}}}, "ClusterNotFoundException"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := e.with(t)
			e.rejected(c.code, func() error { _, err := e.svc.SubmitAttachmentStateChanges(e.ctx, &c.in); return err })
		})
	}
	for _, status := range []string{"DETACHED", "ATTACHED"} {
		ack, err := e.svc.SubmitAttachmentStateChanges(e.ctx, &SubmitAttachmentStateChangesInput{Cluster: "vpc",
			Attachments: []AttachmentStateChange{{AttachmentArn: att, Status: status}}})
		if err != nil || ack.Acknowledgment != "true" {
			t.Fatalf("report %s: %v %+v", status, err, ack)
		}
		if got := e.describeTask("vpc", task.TaskArn).Attachments[0].Status; got != status {
			t.Fatalf("attachment status %s after reporting %s", got, status)
		}
	}
}

// TestAttachmentReportsOnlyOwnTasks: an instance's session may report the
// attachments of its own tasks only, as with task state changes.
func TestAttachmentReportsOnlyOwnTasks(t *testing.T) {
	e := newIdentityEnv(t)
	// The task on instance A gets an interface attachment.
	key := e.svc.keys.task(e.cluster, e.task.ID)
	if _, err := store.Update(e.ctx, e.st, key, func(r *taskRecord) error {
		r.Interface = &taskInterface{ID: "eni-0abc", Attachment: "11111111-2222-3333-4444-555555555555"}
		r.Task.Attachments = []Attachment{{ID: r.Interface.Attachment, Type: "ElasticNetworkInterface", Status: "ATTACHED"}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	in := &SubmitAttachmentStateChangesInput{Cluster: e.cluster, Attachments: []AttachmentStateChange{
		{AttachmentArn: arn("attachment/11111111-2222-3333-4444-555555555555"), Status: "DETACHED"}}}
	rev := e.revision()
	_, err := e.svc.SubmitAttachmentStateChanges(e.b.ctx, in)
	wantCode(t, err, api.CodeAccessDenied)
	if got := e.revision(); got != rev {
		t.Fatalf("the refused report wrote to the store (revision %d -> %d)", rev, got)
	}
	if _, err := e.svc.SubmitAttachmentStateChanges(e.a.ctx, in); err != nil {
		t.Fatalf("the instance's own session: %v", err)
	}
	if got := e.describeTask(e.cluster, e.task.Task.TaskArn).Attachments[0].Status; got != "DETACHED" {
		t.Fatalf("attachment status %s, want DETACHED", got)
	}
}
