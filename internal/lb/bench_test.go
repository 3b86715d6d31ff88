package lb

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkALB compares a GET through an application listener with the
// same GET straight to the target, both over keep-alive connections on
// 127.0.0.1.
func BenchmarkALB(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	defer srv.Close()
	p := New(Options{Log: quiet()})
	defer p.Close()
	port := freePort(b)
	addr := srv.Listener.Addr().String()
	err := p.Apply(Config{
		Groups: []TargetGroup{{ARN: "tg", Protocol: "HTTP", Health: HealthCheck{Enabled: true, Protocol: "HTTP", Path: "/", Interval: time.Hour, Timeout: time.Second, Healthy: 2, Unhealthy: 2},
			Targets: []Target{{Key: "t", Addr: addr, HealthAddr: addr}}}},
		Listeners: []Listener{{ARN: "l", Protocol: "HTTP", Port: port, Rules: []Rule{{Action: Action{Type: "forward", Forward: []Weighted{{Group: "tg", Weight: 1}}}}}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	get := func(b *testing.B, url string) {
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	for _, tc := range []struct{ name, url string }{
		{"direct", srv.URL + "/"},
		{"through-listener", fmt.Sprintf("http://127.0.0.1:%d/", port)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			get(b, tc.url)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				get(b, tc.url)
			}
		})
		// Eight clients at once: throughput rather than one request's
		// latency.
		b.Run(tc.name+"-parallel", func(b *testing.B) {
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					get(b, tc.url)
				}
			})
		})
	}
}
