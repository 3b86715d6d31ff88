package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// clis returns the aws CLIs the cluster tests run with; a test is run once
// per CLI, each as its own subtest (v1 is skipped where it is missing).
func clis() []struct {
	name string
	get  func(*testing.T) CLI
} {
	return []struct {
		name string
		get  func(*testing.T) CLI
	}{
		{"cliv2", requireCLIv2},
		{"cliv1", requireCLIv1},
	}
}

func hasTag(tags []tag, key, value string) bool {
	return slices.ContainsFunc(tags, func(t tag) bool { return t.Key == key && t.Value == value })
}

func intOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

// TestClusterLifecycle creates, describes, lists, tags, updates and deletes
// a cluster with both aws CLI versions.
func TestClusterLifecycle(t *testing.T) {
	for _, c := range clis() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := shared(t)
			cli := c.get(t)
			name := uniqueName("e2e-lifecycle-" + cli.Name)
			wantARN := "arn:aws:ecs:us-east-1:" + b.AccountID + ":cluster/" + name

			// create-cluster
			var created clusterOutput
			b.Run(t, cli, "ecs", "create-cluster", "--cluster-name", name, "--tags", "key=team,value=berth").MustSucceed(t).JSON(t, &created)
			if created.Cluster.ClusterArn != wantARN || created.Cluster.ClusterName != name || created.Cluster.Status != "ACTIVE" {
				t.Fatalf("create-cluster returned %s; want ACTIVE cluster %s", pretty(created), wantARN)
			}
			if !hasTag(created.Cluster.Tags, "team", "berth") {
				t.Errorf("create-cluster did not echo the tag team=berth: %s", pretty(created.Cluster.Tags))
			}

			// create-cluster again is idempotent: the same active cluster.
			var again clusterOutput
			b.Run(t, cli, "ecs", "create-cluster", "--cluster-name", name).MustSucceed(t).JSON(t, &again)
			if again.Cluster.ClusterArn != wantARN || again.Cluster.Status != "ACTIVE" {
				t.Errorf("second create-cluster returned %s", pretty(again))
			}

			// describe-clusters, by name and by ARN, with counts and statistics.
			for _, ref := range []string{name, wantARN} {
				var desc describeClustersOutput
				b.Run(t, cli, "ecs", "describe-clusters", "--clusters", ref, "--include", "TAGS", "STATISTICS").MustSucceed(t).JSON(t, &desc)
				if len(desc.Clusters) != 1 || len(desc.Failures) != 0 {
					t.Fatalf("describe-clusters %s: want 1 cluster and no failures, got %s", ref, pretty(desc))
				}
				cl := desc.Clusters[0]
				if cl.ClusterArn != wantARN || cl.Status != "ACTIVE" {
					t.Errorf("describe-clusters %s: got %s", ref, pretty(cl))
				}
				if intOr(cl.RegisteredContainerInstancesCount, -1) != 0 || intOr(cl.RunningTasksCount, -1) != 0 ||
					intOr(cl.PendingTasksCount, -1) != 0 || intOr(cl.ActiveServicesCount, -1) != 0 {
					t.Errorf("describe-clusters %s: a new cluster must have all counts 0, got %s", ref, pretty(cl))
				}
				if !hasTag(cl.Tags, "team", "berth") {
					t.Errorf("describe-clusters --include TAGS: tag team=berth missing: %s", pretty(cl.Tags))
				}
				if !slices.ContainsFunc(cl.Statistics, func(kv keyValue) bool { return kv.Name == "runningEC2TasksCount" && kv.Value == "0" }) {
					t.Errorf("describe-clusters --include STATISTICS: no runningEC2TasksCount=0 in %s", pretty(cl.Statistics))
				}
			}

			// list-clusters shows it next to the default cluster.
			var list struct {
				ClusterArns []string `json:"clusterArns"`
			}
			b.Run(t, cli, "ecs", "list-clusters").MustSucceed(t).JSON(t, &list)
			defaultARN := "arn:aws:ecs:us-east-1:" + b.AccountID + ":cluster/default"
			if !slices.Contains(list.ClusterArns, wantARN) || !slices.Contains(list.ClusterArns, defaultARN) {
				t.Errorf("list-clusters: want %s and %s in %v", wantARN, defaultARN, list.ClusterArns)
			}

			// Tags: add one, remove one, list.
			b.Run(t, cli, "ecs", "tag-resource", "--resource-arn", wantARN, "--tags", "key=env,value=test").MustSucceed(t)
			b.Run(t, cli, "ecs", "untag-resource", "--resource-arn", wantARN, "--tag-keys", "team").MustSucceed(t)
			var tags struct {
				Tags []tag `json:"tags"`
			}
			b.Run(t, cli, "ecs", "list-tags-for-resource", "--resource-arn", wantARN).MustSucceed(t).JSON(t, &tags)
			if len(tags.Tags) != 1 || !hasTag(tags.Tags, "env", "test") {
				t.Errorf("list-tags-for-resource after tag env=test and untag team: want only env=test, got %s", pretty(tags.Tags))
			}

			// update-cluster-settings
			var upd clusterOutput
			b.Run(t, cli, "ecs", "update-cluster-settings", "--cluster", name, "--settings", "name=containerInsights,value=enabled").MustSucceed(t).JSON(t, &upd)
			if !slices.Contains(upd.Cluster.Settings, keyValue{"containerInsights", "enabled"}) {
				t.Errorf("update-cluster-settings: want containerInsights=enabled, got %s", pretty(upd.Cluster.Settings))
			}

			// delete-cluster
			var del clusterOutput
			b.Run(t, cli, "ecs", "delete-cluster", "--cluster", name).MustSucceed(t).JSON(t, &del)
			if del.Cluster.ClusterArn != wantARN || del.Cluster.Status != "INACTIVE" {
				t.Errorf("delete-cluster: want INACTIVE %s, got %s", wantARN, pretty(del))
			}

			// After deletion: described as INACTIVE, no longer listed, not deletable.
			var after describeClustersOutput
			b.Run(t, cli, "ecs", "describe-clusters", "--clusters", name).MustSucceed(t).JSON(t, &after)
			if len(after.Clusters) != 1 || after.Clusters[0].Status != "INACTIVE" || after.Clusters[0].ClusterArn != wantARN {
				t.Errorf("describe-clusters after delete: want one INACTIVE cluster, got %s", pretty(after))
			}
			list.ClusterArns = nil
			b.Run(t, cli, "ecs", "list-clusters").MustSucceed(t).JSON(t, &list)
			if slices.Contains(list.ClusterArns, wantARN) {
				t.Errorf("list-clusters after delete still lists %s", wantARN)
			}
			b.Run(t, cli, "ecs", "delete-cluster", "--cluster", name).MustFail(t, cli.ServiceErrorExit, "ClusterNotFoundException")
		})
	}
}

// TestClusterErrors checks how errors reach the aws CLIs: failures in the
// body for batch calls, AWS error codes with the CLI's exit code otherwise.
func TestClusterErrors(t *testing.T) {
	for _, c := range clis() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := shared(t)
			cli := c.get(t)
			unknown := uniqueName("e2e-no-such-cluster")

			t.Run("describe unknown cluster is a MISSING failure", func(t *testing.T) {
				var desc describeClustersOutput
				b.Run(t, cli, "ecs", "describe-clusters", "--clusters", unknown).MustSucceed(t).JSON(t, &desc)
				wantARN := "arn:aws:ecs:us-east-1:" + b.AccountID + ":cluster/" + unknown
				if len(desc.Clusters) != 0 || len(desc.Failures) != 1 || desc.Failures[0].Reason != "MISSING" || desc.Failures[0].Arn != wantARN {
					t.Errorf("want no clusters and one MISSING failure for %s, got %s", wantARN, pretty(desc))
				}
			})

			errCases := []struct {
				name      string
				access    string
				secret    string
				args      []string
				errCode   string
				stderrHas string
			}{
				{
					name: "delete unknown cluster", access: b.AccessKey, secret: b.SecretKey,
					args: []string{"ecs", "delete-cluster", "--cluster", unknown}, errCode: "ClusterNotFoundException",
				},
				{
					name: "wrong secret key", access: b.AccessKey, secret: b.SecretKey[:len(b.SecretKey)-4] + "XXXX",
					args: []string{"ecs", "list-clusters"}, errCode: "InvalidSignatureException", stderrHas: "signature",
				},
				{
					name: "unknown access key", access: "AKIAE2EUNKNOWNKEY000", secret: b.SecretKey,
					args: []string{"ecs", "list-clusters"}, errCode: "UnrecognizedClientException", stderrHas: "security token",
				},
			}
			for _, tc := range errCases {
				t.Run(tc.name, func(t *testing.T) {
					r := b.RunWith(t, cli, tc.access, tc.secret, tc.args...).MustFail(t, cli.ServiceErrorExit, tc.errCode)
					if tc.stderrHas != "" && !strings.Contains(r.Stderr, tc.stderrHas) {
						t.Errorf("stderr should mention %q:\n%v", tc.stderrHas, r)
					}
				})
			}

			// The failed delete must not have created anything.
			var desc describeClustersOutput
			b.Run(t, cli, "ecs", "describe-clusters", "--clusters", unknown).MustSucceed(t).JSON(t, &desc)
			if len(desc.Clusters) != 0 {
				t.Errorf("cluster %s exists after failed calls: %s", unknown, pretty(desc))
			}
		})
	}
}

// TestRawHTTP talks AWS JSON 1.1 by hand: a signed request for an unknown
// operation, an unsigned request, and a signed valid one.
func TestRawHTTP(t *testing.T) {
	b := shared(t)
	post := func(t *testing.T, target, body string, sign bool) (int, map[string]any, http.Header) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.Endpoint+"/", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", target)
		if sign {
			sum := sha256.Sum256([]byte(body))
			creds := aws.Credentials{AccessKeyID: b.AccessKey, SecretAccessKey: b.SecretKey}
			if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ecs", b.Region, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("%s answered %s with a body that is not JSON: %q", target, resp.Status, data)
		}
		return resp.StatusCode, out, resp.Header
	}

	cases := []struct {
		name       string
		target     string
		sign       bool
		wantStatus int
		wantType   string
	}{
		{"unknown operation", "AmazonEC2ContainerServiceV20141113.NoSuchOperation", true, 400, "UnknownOperationException"},
		{"unknown service", "NoSuchService_20200101.ListClusters", true, 400, "UnknownOperationException"},
		{"unsigned request", "AmazonEC2ContainerServiceV20141113.ListClusters", false, 403, "MissingAuthenticationTokenException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, out, hdr := post(t, tc.target, "{}", tc.sign)
			if status != tc.wantStatus {
				t.Errorf("HTTP status %d, want %d (body %v)", status, tc.wantStatus, out)
			}
			typ, _ := out["__type"].(string)
			if !strings.HasSuffix(typ, tc.wantType) {
				t.Errorf("__type %q, want %s (body %v)", typ, tc.wantType, out)
			}
			if hdr.Get("x-amzn-RequestId") == "" {
				t.Errorf("no x-amzn-RequestId header")
			}
		})
	}

	t.Run("signed ListClusters", func(t *testing.T) {
		status, out, _ := post(t, "AmazonEC2ContainerServiceV20141113.ListClusters", "{}", true)
		arns, _ := out["clusterArns"].([]any)
		if status != 200 || !slices.Contains(arns, any("arn:aws:ecs:us-east-1:"+b.AccountID+":cluster/default")) {
			t.Errorf("want 200 listing the default cluster, got %d %v", status, out)
		}
	})
}
