package agent

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/berth-dev/berth/internal/agent/dockerrt"
)

// TestShipperFinishesACallWhenStopping: the agent stopping while a
// PutLogEvents call is in flight lets the call finish and records how far
// the output was shipped, so the next agent does not ship the batch again
// (CloudWatch Logs stored it whether or not this agent heard the answer).
func TestShipperFinishesACallWhenStopping(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var once sync.Once
	arrived := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		once.Do(func() { close(arrived) })
		<-ctx.Done() // the agent stops while the call is answered
		time.Sleep(50 * time.Millisecond)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	go func() {
		<-arrived
		stop()
	}()
	creds := credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")
	a := &Agent{cfg: Config{DataDir: t.TempDir(), Region: "us-east-1"}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s := &logShipper{a: a, opts: awslogsOptions{Group: "g"}, id: "c1", stream: "s", log: a.log, creds: creds, credsAt: time.Now(),
		client: cloudwatchlogs.New(cloudwatchlogs.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: creds, RetryMaxAttempts: 1})}
	when := time.Date(2026, 12, 5, 12, 0, 0, 123456789, time.UTC)
	s.put(ctx, []dockerrt.LogLine{{Time: when, Text: "shipped once"}})
	if got := a.loadLogPosition("c1"); !got.Equal(when) {
		t.Fatalf("position after a call the stop interrupted: %v, want %v", got, when)
	}
}
