package agent

import (
	"fmt"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/acs"
)

// TestHealthReport checks which containers a health report carries, how
// Docker states map to ECS ones, that statusSince holds while a state
// lasts, and that reports are split ten tasks to a request.
func TestHealthReport(t *testing.T) {
	a := &Agent{cfg: Config{Cluster: "c"}, instanceArn: "inst", tasks: map[string]*task{}}
	add := func(arn, status string, cs ...*container) {
		a.tasks[arn] = &task{arn: arn, family: "f", version: "3", status: status, containers: cs}
	}
	ct := func(name, health string) *container {
		return &container{name: name, status: statusRunning, health: health}
	}
	add("t1", statusRunning, ct("web", "healthy"), ct("plain", ""), ct("side", "unhealthy"))
	add("t2", statusRunning, ct("web", "starting"))
	add("t3", statusPending, ct("web", "healthy"))
	add("t4", statusRunning, ct("plain", ""))

	since := healthSince{}
	report := a.healthReport(since)
	got := map[string]string{}
	for _, th := range report {
		if th.TaskDefinitionFamily != "f" || th.TaskDefinitionVersion != "3" {
			t.Fatalf("task %s: family/version %s:%s", th.TaskArn, th.TaskDefinitionFamily, th.TaskDefinitionVersion)
		}
		for _, c := range th.Containers {
			got[th.TaskArn+"/"+c.ContainerName] = c.HealthStatus
		}
	}
	want := map[string]string{"t1/web": "HEALTHY", "t1/side": "UNHEALTHY", "t2/web": "UNKNOWN"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("report %v, want %v", got, want)
	}
	first := report[0].Containers[0].StatusSince.Time

	time.Sleep(5 * time.Millisecond)
	if again := a.healthReport(since); !again[0].Containers[0].StatusSince.Time.Equal(first) {
		t.Fatalf("statusSince moved without a change: %v then %v", first, again[0].Containers[0].StatusSince.Time)
	}
	a.tasks["t1"].containers[0].health = "unhealthy"
	if changed := a.healthReport(since); !changed[0].Containers[0].StatusSince.Time.After(first) {
		t.Fatalf("statusSince did not move on a change")
	}

	var many []acs.TaskHealth
	for i := range 23 {
		many = append(many, acs.TaskHealth{TaskArn: fmt.Sprint(i)})
	}
	reqs := a.healthRequests(many)
	if len(reqs) != 3 || len(reqs[0].Tasks) != 10 || len(reqs[2].Tasks) != 3 {
		t.Fatalf("split into %d requests", len(reqs))
	}
	for i, r := range reqs {
		if r.Metadata.Fin != (i == 2) || r.Metadata.Cluster != "c" || r.Metadata.ContainerInstance != "inst" || r.Metadata.MessageId == "" {
			t.Fatalf("request %d metadata %+v", i, r.Metadata)
		}
	}
	if reqs := a.healthRequests(nil); len(reqs) != 0 {
		t.Fatalf("an empty report became %d requests", len(reqs))
	}
}
