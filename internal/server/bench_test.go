package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth-dev/berth/internal/server"
	"github.com/berth-dev/berth/internal/simagent"
)

// startServer runs a real control plane (embedded etcd, HTTP, SigV4) and
// returns an SDK client for it.
func startServer(tb testing.TB) (*server.Server, *ecs.Client) {
	tb.Helper()
	srv, err := server.Start(context.Background(), server.Config{
		DataDir: tb.TempDir(), Listen: "127.0.0.1:0", Region: "us-east-1", AccountID: "123456789012",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	client := ecs.New(ecs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(srv.Account.RootAccessKeyID, srv.Account.RootSecretAccessKey, ""),
	})
	return srv, client
}

func containerDef() []ecstypes.ContainerDefinition {
	return []ecstypes.ContainerDefinition{{
		Name: aws.String("app"), Image: aws.String("app:latest"), Memory: aws.Int32(128), Cpu: 128,
		PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080)}},
	}}
}

// BenchmarkRegisterTaskDefinition measures RegisterTaskDefinition calls/s
// end to end (SDK → HTTP → SigV4 → etcd transaction), from parallel clients.
func BenchmarkRegisterTaskDefinition(b *testing.B) {
	_, client := startServer(b)
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			family := fmt.Sprintf("bench-%d", n.Add(1)%8)
			if _, err := client.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
				Family: aws.String(family), ContainerDefinitions: containerDef(),
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// BenchmarkDescribeTasks measures DescribeTasks calls/s for 10 tasks per call.
func BenchmarkDescribeTasks(b *testing.B) {
	_, client := startServer(b)
	ctx := context.Background()
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{}); err != nil {
		b.Fatal(err)
	}
	if _, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"), ContainerDefinitions: containerDef()}); err != nil {
		b.Fatal(err)
	}
	creds, _ := client.Options().Credentials.Retrieve(ctx)
	for i := 0; i < 2; i++ {
		a, err := simagent.Start(ctx, client, simagent.Options{Cluster: "default", CPU: 4096, Memory: 8192, Region: "us-east-1", Credentials: creds})
		if err != nil {
			b.Fatal(err)
		}
		defer a.Close()
	}
	var ids []string
	for len(ids) < 10 {
		out, err := client.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Count: aws.Int32(5)})
		if err != nil {
			b.Fatal(err)
		}
		if len(out.Failures) > 0 {
			continue // agents still connecting
		}
		for _, t := range out.Tasks {
			ids = append(ids, aws.ToString(t.TaskArn))
		}
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: ids}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}
