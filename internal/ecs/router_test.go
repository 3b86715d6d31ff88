package ecs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/auth"
)

// TestRouter drives the ECS operations table through the real router and
// SigV4 authenticator over HTTP, signing with aws-sdk-go-v2's signer.
func TestRouter(t *testing.T) {
	e := newEnv(t)
	acct := auth.Account{ID: testAccount, RootAccessKeyID: "AKIAROUTERTEST000001", RootSecretAccessKey: "routerTestSecretKey/0123456789abcdefghijk"}
	router := api.NewRouter(auth.NewAuthenticator(acct, testRegion), quietLogger())
	router.AddJSON(e.svc.JSONService())
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	creds := aws.Credentials{AccessKeyID: acct.RootAccessKeyID, SecretAccessKey: acct.RootSecretAccessKey}

	call := func(t *testing.T, target, body string, signWith aws.Credentials) (*http.Response, map[string]any) {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/", bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", target)
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(context.Background(), signWith, req, hex.EncodeToString(sum[:]), "ecs", testRegion, time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("response is not JSON: %q", raw)
		}
		return resp, out
	}

	for _, tc := range []struct {
		name   string
		target string
		body   string
		status int
		code   string
	}{
		{"malformed JSON", TargetPrefix + ".CreateCluster", `{"clusterName":`, 400, "SerializationException"},
		{"not an object", TargetPrefix + ".CreateCluster", `[1,2]`, 400, "SerializationException"},
		{"wrong-typed field", TargetPrefix + ".CreateCluster", `{"clusterName": 42}`, 400, "SerializationException"},
		{"wrong-typed nested field", TargetPrefix + ".RunTask", `{"taskDefinition":"x","count":"three"}`, 400, "SerializationException"},
		{"unknown operation", TargetPrefix + ".LaunchRocket", `{}`, 400, "UnknownOperationException"},
		{"unknown service", "AmazonEC2ContainerRegistry_V20150921.ListImages", `{}`, 400, "UnknownOperationException"},
		{"no target", "", `{}`, 400, "UnknownOperationException"},
		{"service error", TargetPrefix + ".DeleteCluster", `{"cluster":"ghost"}`, 400, "ClusterNotFoundException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.with(t).snapshot()
			resp, out := call(t, tc.target, tc.body, creds)
			if resp.StatusCode != tc.status || out["__type"] != tc.code || resp.Header.Get("X-Amzn-ErrorType") != tc.code {
				t.Fatalf("status %d body %v, want %d %s", resp.StatusCode, out, tc.status, tc.code)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
				t.Fatalf("Content-Type = %q", ct)
			}
			if msg, _ := out["message"].(string); msg == "" {
				t.Fatalf("error without message: %v", out)
			}
			e.with(t).unchanged(before)
		})
	}

	t.Run("valid call", func(t *testing.T) {
		resp, out := call(t, TargetPrefix+".CreateCluster", `{"clusterName":"via-http","tags":[{"key":"k","value":"v"}]}`, creds)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-amz-json-1.1" || resp.Header.Get("x-amzn-RequestId") == "" {
			t.Fatalf("status %d headers %v body %v", resp.StatusCode, resp.Header, out)
		}
		cluster, _ := out["cluster"].(map[string]any)
		if cluster["clusterArn"] != arn("cluster/via-http") || cluster["status"] != "ACTIVE" {
			t.Fatalf("body = %v", out)
		}
		// The call really happened, as the root principal.
		list := must[*ListClustersOutput](t)(e.svc.ListClusters(e.ctx, &ListInput{}))
		if len(list.ClusterArns) != 1 || list.ClusterArns[0] != arn("cluster/via-http") {
			t.Fatalf("clusters = %v", list.ClusterArns)
		}
		// An empty body is the zero request.
		resp, out = call(t, TargetPrefix+".ListClusters", ``, creds)
		if resp.StatusCode != 200 || len(out["clusterArns"].([]any)) != 1 {
			t.Fatalf("ListClusters with empty body: %d %v", resp.StatusCode, out)
		}
		resp, out = call(t, TargetPrefix+".RegisterTaskDefinition", `{"family":"http","containerDefinitions":[{"name":"a","image":"busybox","memory":64}]}`, creds)
		td, _ := out["taskDefinition"].(map[string]any)
		if resp.StatusCode != 200 || td["taskDefinitionArn"] != tdArn("http", 1) || td["registeredBy"] != "arn:aws:iam::"+testAccount+":root" {
			t.Fatalf("RegisterTaskDefinition: %d %v", resp.StatusCode, out)
		}
	})

	t.Run("bad signature", func(t *testing.T) {
		before := e.with(t).snapshot()
		wrong := creds
		wrong.SecretAccessKey = "not-the-secret"
		resp, out := call(t, TargetPrefix+".CreateCluster", `{"clusterName":"sneaky"}`, wrong)
		if resp.StatusCode != 403 || out["__type"] != "InvalidSignatureException" {
			t.Fatalf("status %d body %v", resp.StatusCode, out)
		}
		e.with(t).unchanged(before)
	})
}
