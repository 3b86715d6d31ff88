package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/controller"
	"github.com/berth-dev/berth/internal/server"
)

// The background loops run under the controller runtime: the ones that
// must not run on several servers at once on the leader only, and
// /healthz/leader answers what the runtime knows.
func TestControllersWiring(t *testing.T) {
	srv, err := server.Start(context.Background(), server.Config{Region: "us-east-1", DataDir: t.TempDir(), Listen: "127.0.0.1:0",
		AccountID: "123456789012", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			srv.Close()
		}
	}()
	scopes := map[string]controller.Scope{}
	for _, c := range srv.Controllers.Registered() {
		if _, dup := scopes[c.Name]; dup {
			t.Errorf("controller %s registered twice", c.Name)
		}
		scopes[c.Name] = c.Scope
	}
	want := map[string]controller.Scope{
		"ecs-service-scheduler": controller.OnLeader,
		"ecs-task-collector":    controller.OnLeader,
		"ecr-lifecycle":         controller.OnLeader,
		"logs-retention":        controller.OnLeader,
		"store-maintenance":     controller.OnLeader,
		"ecs-instance-cache":    controller.OnEvery,
	}
	for name, scope := range want {
		if got, ok := scopes[name]; !ok || got != scope {
			t.Errorf("controller %s: registered %v, scope %v; want scope %v", name, ok, got, scope)
		}
	}
	var names []string
	for name := range scopes {
		names = append(names, name)
	}
	slices.Sort(names)
	t.Logf("controllers: %v", names)
	status := func() int {
		resp, err := http.Get(srv.Endpoint + "/healthz/leader")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	deadline := time.Now().Add(15 * time.Second)
	for !srv.Controllers.IsLeader() || status() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("a lone server does not come to lead: IsLeader %v, /healthz/leader %d", srv.Controllers.IsLeader(), status())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// After Close the runtime has stopped: no longer the leader.
	closed = true
	srv.Close()
	if srv.Controllers.IsLeader() {
		t.Error("still the leader after Close")
	}
}
