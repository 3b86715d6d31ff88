package ecs

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/gorilla/websocket"

	"github.com/berth-dev/berth/internal/acs"
	"github.com/berth-dev/berth/internal/auth"
)

// TestTaskHealthRule checks how a task's health follows from its containers'.
func TestTaskHealthRule(t *testing.T) {
	ess := map[string]bool{"a": true, "b": true, "side": false, "plain": true}
	c := func(name, health string) Container { return Container{Name: name, HealthStatus: health} }
	for _, tc := range []struct {
		name       string
		containers []Container
		want       string
	}{
		{"no health checks", []Container{c("plain", "")}, "UNKNOWN"},
		{"one healthy", []Container{c("a", "HEALTHY"), c("plain", "")}, "HEALTHY"},
		{"all healthy", []Container{c("a", "HEALTHY"), c("b", "HEALTHY")}, "HEALTHY"},
		{"one still unknown", []Container{c("a", "HEALTHY"), c("b", "UNKNOWN")}, "UNKNOWN"},
		{"one unhealthy wins over unknown", []Container{c("a", "UNKNOWN"), c("b", "UNHEALTHY")}, "UNHEALTHY"},
		{"one unhealthy wins over healthy", []Container{c("a", "UNHEALTHY"), c("b", "HEALTHY")}, "UNHEALTHY"},
		{"non-essential unhealthy does not count", []Container{c("a", "HEALTHY"), c("side", "UNHEALTHY")}, "HEALTHY"},
		{"only non-essential checked", []Container{c("side", "HEALTHY"), c("plain", "")}, "UNKNOWN"},
		{"container unknown to the definition", []Container{c("ghost", "UNHEALTHY"), c("a", "HEALTHY")}, "HEALTHY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := taskHealth(tc.containers, ess); got != tc.want {
				t.Fatalf("taskHealth = %s, want %s", got, tc.want)
			}
		})
	}
}

// tcsClient is a signed TCS websocket of one container instance.
type tcsClient struct {
	t    *testing.T
	conn *websocket.Conn
}

// dialTCS opens the telemetry websocket as an agent does and returns the
// handshake status when the server refuses it.
func dialTCS(t *testing.T, srvURL, cluster, instanceArn string, creds aws.Credentials) (*tcsClient, int) {
	t.Helper()
	q := url.Values{"cluster": {cluster}, "containerInstance": {instanceArn}, "agentVersion": {"1.90.0"}}
	conn, resp, err := acs.Dial(context.Background(), srvURL+"/tcs/ws?"+q.Encode(), creds, testRegion)
	if err != nil {
		if resp == nil {
			t.Fatalf("dial TCS: %v", err)
		}
		return nil, resp.StatusCode
	}
	t.Cleanup(func() { conn.Close() })
	return &tcsClient{t: t, conn: conn}, http.StatusSwitchingProtocols
}

// send writes a raw frame and, when ack is set, waits for that
// acknowledgement (skipping heartbeats).
func (c *tcsClient) send(frame, ack string) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		c.t.Fatalf("write frame: %v", err)
	}
	if ack == "" {
		return
	}
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var f struct{ Type string }
		if err := c.conn.ReadJSON(&f); err != nil {
			c.t.Fatalf("waiting for %s: %v", ack, err)
		}
		if f.Type == ack {
			return
		}
	}
}

// healthFrame renders a PublishHealthRequest as the ECS agent sends it.
func healthFrame(cluster, instance, taskArn string, pairs ...string) string {
	var cs []string
	for i := 0; i+1 < len(pairs); i += 2 {
		cs = append(cs, `{"containerName":"`+pairs[i]+`","healthStatus":"`+pairs[i+1]+`","statusSince":1746802078.031}`)
	}
	return `{"type":"PublishHealthRequest","message":{"metadata":{"cluster":"` + cluster + `","containerInstance":"` + instance +
		`","fin":true,"messageId":"m-1"},"tasks":[{"taskArn":"` + taskArn + `","taskDefinitionFamily":"hc","taskDefinitionVersion":"1","containers":[` +
		strings.Join(cs, ",") + `]}],"timestamp":1746802078.5}}`
}

// TestTelemetryRecordsHealth drives the TCS handler over a real SigV4-signed
// websocket: health reports reach DescribeTasks, and bad frames, foreign
// instances and unknown containers change nothing.
func TestTelemetryRecordsHealth(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := e.svc.StartACS(ctx, ACSOptions{Heartbeat: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	acct := auth.Account{ID: testAccount, RootAccessKeyID: "AKIATCSTEST000000001", RootSecretAccessKey: "tcsTestSecretKey/0123456789abcdefghijklmn"}
	mux := http.NewServeMux()
	mux.Handle("GET /tcs/ws", e.svc.TelemetryHandler(auth.NewAuthenticator(acct, testRegion).For("ecs")))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	creds := aws.Credentials{AccessKeyID: acct.RootAccessKeyID, SecretAccessKey: acct.RootSecretAccessKey}

	cluster := e.cluster("health")
	hc := &HealthCheck{Command: []string{"CMD", "true"}}
	web, side, plain := container("web", 128, 128), container("side", 128, 128), container("plain", 128, 128)
	web.HealthCheck, side.HealthCheck, side.Essential = hc, hc, ptr(false)
	td := e.taskDef("hc", web, side, plain)
	// The health check makes the task require the capability.
	capable := instanceOpts{attrs: []Attribute{{Name: "ecs.capability.container-health-check"}}}
	inst := e.instance(cluster, 4096, 4096, capable)
	other := e.instance(cluster, 4096, 4096, capable)
	var taskArn string
	for taskArn == "" {
		ran := e.run(cluster, td.TaskDefinitionArn, 1)
		if ran.Tasks[0].ContainerInstanceArn == inst.ContainerInstanceArn {
			taskArn = ran.Tasks[0].TaskArn
		}
	}
	must[*AcknowledgmentOutput](t)(e.svc.SubmitTaskStateChange(e.ctx, &SubmitTaskStateChangeInput{Cluster: cluster, Task: taskArn, Status: "RUNNING"}))

	health := func() map[string]string {
		task := e.describeTask(cluster, taskArn)
		got := map[string]string{"task": task.HealthStatus}
		for _, c := range task.Containers {
			got[c.Name] = c.HealthStatus
		}
		return got
	}
	want := func(step string, w map[string]string) {
		t.Helper()
		got := health()
		for k, v := range w {
			if got[k] != v {
				t.Fatalf("%s: health %v, want %v", step, got, w)
			}
		}
	}
	want("new task", map[string]string{"task": "UNKNOWN", "web": "UNKNOWN", "side": "UNKNOWN", "plain": ""})

	if _, status := dialTCS(t, srv.URL, cluster, arn("container-instance/"+cluster+"/nosuch"), creds); status != http.StatusBadRequest {
		t.Fatalf("unknown instance: handshake status %d, want 400", status)
	}
	if _, status := dialTCS(t, srv.URL, cluster, inst.ContainerInstanceArn, aws.Credentials{AccessKeyID: acct.RootAccessKeyID, SecretAccessKey: "wrong"}); status < 400 {
		t.Fatalf("bad signature: handshake status %d, want an error", status)
	}

	c, _ := dialTCS(t, srv.URL, cluster, inst.ContainerInstanceArn, creds)
	before := e.snapshot()
	c.send(`not json at all`, "")
	c.send(`{"type":"PublishHealthRequest","message":"oops"}`, "AckPublishHealth")
	c.send(`{"type":"PublishHealthRequest","message":{"tasks":[{"taskArn":42}]}}`, "AckPublishHealth")
	c.send(`{"type":"PublishHealthRequest","message":{"tasks":[null,{}]}}`, "AckPublishHealth")
	c.send(healthFrame(cluster, inst.ContainerInstanceArn, taskArn, "web", "BOGUS", "plain", "HEALTHY", "ghost", "HEALTHY"), "AckPublishHealth")
	c.send(healthFrame(cluster, inst.ContainerInstanceArn, arn("task/"+cluster+"/0123456789abcdef0123456789abcdef"), "web", "HEALTHY"), "AckPublishHealth")
	c.send(`{"type":"PublishMetricsRequest","message":{"metadata":{"fin":true}}}`, "AckPublishMetric")
	e.unchanged(before)

	// Another instance cannot speak for this task.
	o, _ := dialTCS(t, srv.URL, cluster, other.ContainerInstanceArn, creds)
	o.send(healthFrame(cluster, other.ContainerInstanceArn, taskArn, "web", "UNHEALTHY"), "AckPublishHealth")
	e.unchanged(before)

	c.send(healthFrame(cluster, inst.ContainerInstanceArn, taskArn, "web", "HEALTHY"), "AckPublishHealth")
	want("essential healthy", map[string]string{"task": "HEALTHY", "web": "HEALTHY", "side": "UNKNOWN", "plain": ""})
	version := e.describeTask(cluster, taskArn).Version

	// The periodic re-report of an unchanged state writes nothing.
	before = e.snapshot()
	c.send(healthFrame(cluster, inst.ContainerInstanceArn, taskArn, "web", "HEALTHY"), "AckPublishHealth")
	e.unchanged(before)

	c.send(healthFrame(cluster, inst.ContainerInstanceArn, taskArn, "side", "UNHEALTHY"), "AckPublishHealth")
	want("non-essential unhealthy", map[string]string{"task": "HEALTHY", "side": "UNHEALTHY"})
	c.send(healthFrame(cluster, inst.ContainerInstanceArn, taskArn, "web", "UNHEALTHY", "side", "HEALTHY"), "AckPublishHealth")
	want("essential unhealthy", map[string]string{"task": "UNHEALTHY", "web": "UNHEALTHY", "side": "HEALTHY"})
	if v := e.describeTask(cluster, taskArn).Version; v <= version {
		t.Fatalf("task version %d did not move past %d on a health change", v, version)
	}

	// A stopped task keeps its last health.
	must[*AcknowledgmentOutput](t)(e.svc.SubmitTaskStateChange(e.ctx, &SubmitTaskStateChangeInput{Cluster: cluster, Task: taskArn, Status: "STOPPED"}))
	before = e.snapshot()
	c.send(healthFrame(cluster, inst.ContainerInstanceArn, taskArn, "web", "HEALTHY"), "AckPublishHealth")
	e.unchanged(before)
}

// TestSchedulerReplacesUnhealthyTask reports a service task UNHEALTHY: the
// scheduler leaves it alone during the grace period, then stops it as
// failing its health checks and starts a replacement.
func TestSchedulerReplacesUnhealthyTask(t *testing.T) {
	e := newEnv(t)
	cluster := e.cluster("sick")
	inst := e.instance(cluster, 2048, 2048, instanceOpts{attrs: []Attribute{{Name: "ecs.capability.container-health-check"}}})
	app := container("app", 128, 128)
	app.HealthCheck = &HealthCheck{Command: []string{"CMD", "true"}}
	e.taskDef("web", app)
	s := newSched(e, cluster)
	if _, err := e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: cluster, ServiceName: "web", TaskDefinition: "web",
		DesiredCount: ptr(1), HealthCheckGracePeriodSeconds: ptr(30)}); err != nil {
		t.Fatal(err)
	}
	s.pass()
	s.agents(nil)
	s.pass()
	victim := s.tasks()[0]
	ir, _, err := e.svc.findInstance(e.ctx, cluster, inst.ContainerInstanceArn)
	if err != nil {
		t.Fatal(err)
	}
	report := acs.TaskHealth{TaskArn: victim.Task.TaskArn, Containers: []acs.ContainerHealth{{ContainerName: "app", HealthStatus: "UNHEALTHY"}}}
	if err := e.svc.recordTaskHealth(e.ctx, ir.Value, report); err != nil {
		t.Fatal(err)
	}

	s.pass()
	if got := e.describeTask(cluster, victim.ID); got.DesiredStatus != "RUNNING" || got.HealthStatus != "UNHEALTHY" {
		t.Fatalf("within the grace period: desired %s health %s", got.DesiredStatus, got.HealthStatus)
	}
	s.now = s.now.Add(31 * time.Second)
	s.pass()
	got := e.describeTask(cluster, victim.ID)
	if got.DesiredStatus != "STOPPED" || got.StoppedReason != "Task failed container health checks" || got.StopCode != "ServiceSchedulerInitiated" {
		t.Fatalf("after the grace period: desired %s stopCode %s reason %q", got.DesiredStatus, got.StopCode, got.StoppedReason)
	}
	s.agents(nil)
	s.pass()
	if running, pending, _ := s.live("web"); running+pending != 1 {
		t.Fatalf("no replacement: %d running, %d pending", running, pending)
	}
	if svc := s.service("web"); !hasEvent(svc, "(service web) has stopped 1 running tasks") {
		t.Fatalf("events: %+v", svc.Events)
	}
}
