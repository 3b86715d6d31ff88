package lb

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestApplySourceKeepsOtherSources: two sources' listeners are served
// together, and a source's new part replaces only its own.
func TestApplySourceKeepsOtherSources(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer backend.Close()
	addr := backend.Listener.Addr().String()
	p := New(Options{CheckInterval: 50 * time.Millisecond, Log: quiet()})
	defer p.Close()
	part := func(name string, port int) Config {
		return Config{
			Groups: []TargetGroup{{ARN: name + "-tg", Protocol: "HTTP", Health: HealthCheck{Enabled: true, Protocol: "HTTP", Path: "/",
				Timeout: time.Second, Healthy: 2, Unhealthy: 2}, Targets: []Target{{Key: "t", Addr: addr, HealthAddr: addr}}}},
			Listeners: []Listener{{ARN: name + "-l", Protocol: "HTTP", Port: port,
				Rules: []Rule{{Action: Action{Type: "forward", Forward: []Weighted{{Group: name + "-tg", Weight: 1}}}}}}},
		}
	}
	portA, portB := freePort(t), freePort(t)
	if err := p.ApplySource("a", part("a", portA)); err != nil {
		t.Fatal(err)
	}
	if err := p.ApplySource("b", part("b", portB)); err != nil {
		t.Fatal(err)
	}
	get := func(port int) (int, error) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ca, errA := get(portA)
		cb, errB := get(portB)
		if errA == nil && errB == nil && ca == 200 && cb == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a: %d %v, b: %d %v", ca, errA, cb, errB)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// b empties its part: a's listener stays, b's closes.
	if err := p.ApplySource("b", Config{}); err != nil {
		t.Fatal(err)
	}
	if c, err := get(portA); err != nil || c != 200 {
		t.Fatalf("a after b emptied its part: %d %v", c, err)
	}
	if _, err := get(portB); err == nil {
		t.Fatal("b's listener still answers")
	}
	if _, ok := p.Health("a-tg"); !ok {
		t.Fatal("a's group is gone")
	}
}
