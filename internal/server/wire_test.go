package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/berth-dev/berth/internal/server"
)

func startWire(t *testing.T, cfg server.Config) *server.Server {
	t.Helper()
	cfg.DataDir, cfg.Listen, cfg.AccountID = t.TempDir(), "127.0.0.1:0", "123456789012"
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// TestSDKClientInAnotherRegion checks, with aws-sdk-go-v2 clients, that a
// client configured for a region other than the server's is refused as
// AWS refuses it, while IAM and STS also take us-east-1.
func TestSDKClientInAnotherRegion(t *testing.T) {
	srv := startWire(t, server.Config{Region: "eu-west-1"})
	creds := credentials.NewStaticCredentialsProvider(srv.Account.RootAccessKeyID, srv.Account.RootSecretAccessKey, "")
	ctx := context.Background()
	ecsIn := func(region string) *ecs.Client {
		return ecs.New(ecs.Options{Region: region, BaseEndpoint: aws.String(srv.Endpoint), Credentials: creds})
	}
	iamIn := func(region string) *iam.Client {
		return iam.New(iam.Options{Region: region, BaseEndpoint: aws.String(srv.Endpoint), Credentials: creds})
	}
	stsIn := func(region string) *sts.Client {
		return sts.New(sts.Options{Region: region, BaseEndpoint: aws.String(srv.Endpoint), Credentials: creds})
	}
	tests := []struct {
		name     string
		call     func() error
		wantCode string // "" means accepted
		wantMsg  string
	}{
		{"ecs in the server's region", func() error { _, err := ecsIn("eu-west-1").ListClusters(ctx, nil); return err }, "", ""},
		{"ecs in another region", func() error { _, err := ecsIn("us-west-2").ListClusters(ctx, nil); return err },
			"InvalidSignatureException", "Credential should be scoped to a valid region, not 'us-west-2'. "},
		{"iam in the server's region", func() error { _, err := iamIn("eu-west-1").ListUsers(ctx, nil); return err }, "", ""},
		{"iam in us-east-1", func() error { _, err := iamIn("us-east-1").ListUsers(ctx, nil); return err }, "", ""},
		{"iam in another region", func() error { _, err := iamIn("ap-south-1").ListUsers(ctx, nil); return err },
			"SignatureDoesNotMatch", "Credential should be scoped to a valid region, not 'ap-south-1'. "},
		{"sts in another region", func() error { _, err := stsIn("us-west-2").GetCallerIdentity(ctx, nil); return err },
			"SignatureDoesNotMatch", "Credential should be scoped to a valid region, not 'us-west-2'. "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tt.wantCode || ae.ErrorMessage() != tt.wantMsg {
				t.Fatalf("err = %v, want %s %q", err, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

// TestSlowHeadersCutOff checks that a client trickling its request headers
// (slowloris) is disconnected after the header timeout.
func TestSlowHeadersCutOff(t *testing.T) {
	srv := startWire(t, server.Config{Region: "us-east-1", ReadHeaderTimeout: 500 * time.Millisecond})
	conn, err := net.Dial("tcp", srv.Endpoint[len("http://"):])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	io.WriteString(conn, "POST / HTTP/1.1\r\nHost: berth\r\n")
	closed := make(chan struct{})
	go func() {
		// One header byte every 100ms, never ending the headers.
		for i := 0; i < 100; i++ {
			select {
			case <-closed:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := io.WriteString(conn, "X"); err != nil {
				return
			}
		}
	}()
	conn.SetReadDeadline(time.Now().Add(8 * time.Second))
	_, err = io.ReadAll(conn)
	close(closed)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v of trickled headers", time.Since(start))
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("connection closed only after %v", took)
	}
	if server.ReadTimeout <= 0 || server.IdleTimeout <= 0 {
		t.Fatal("the listener has no read or idle timeout")
	}
}

// TestServiceFaultCodes checks that IAM, STS and Logs answer an internal
// error with the code their models name, not ECS's ServerException.
func TestServiceFaultCodes(t *testing.T) {
	srv := startWire(t, server.Config{Region: "us-east-1"})
	for name, got := range map[string]string{
		"iam":  srv.IAM.QueryService().FaultCode,
		"sts":  srv.IAM.STSQueryService().FaultCode,
		"logs": srv.Logs.JSONService().FaultCode,
	} {
		want := map[string]string{"iam": "ServiceFailure", "sts": "InternalFailure", "logs": "ServiceUnavailableException"}[name]
		if got != want {
			t.Errorf("%s answers internal errors as %q, want %q", name, got, want)
		}
	}
}
