package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/testutil"
)

// fakeS3 serves an S3-compatible API (in memory, in this test process)
// with one empty bucket, and returns the --registry-storage value naming
// it and the environment that gives a server credentials for it.
func fakeS3(t *testing.T) (storage string, env []string) {
	t.Helper()
	storage = "s3://images/berth?forcepathstyle=true&endpoint=" + url.QueryEscape(testutil.FakeS3(t, "images"))
	return storage, []string{"AWS_ACCESS_KEY_ID=berth-test", "AWS_SECRET_ACCESS_KEY=berth-test", "AWS_EC2_METADATA_DISABLED=true"}
}

// s3Servers starts a berth etcd and n berth servers on it sharing one
// bucket, and returns a Berth (for the aws CLI) per server.
func s3Servers(t *testing.T, n int) []*Berth {
	t.Helper()
	storage, env := fakeS3(t)
	sa := newStandalone(t, "s3-registry")
	sa.serverEnv = env
	var servers []*Berth
	for i := range n {
		_, u := sa.server(fmt.Sprintf("server-%c", 'a'+i), "--registry-storage", storage)
		servers = append(servers, &Berth{Endpoint: u, Region: sa.creds.Region, AccountID: sa.account,
			AccessKey: sa.creds.AccessKey, SecretKey: sa.creds.SecretKey})
	}
	return servers
}

// TestRegistrySharedS3 runs two berth servers on one etcd with their
// registry content in one S3 bucket: docker pushes through one and pulls
// through the other, each sees what the other deletes, and a chunked
// upload started on one server is finished on the other.
func TestRegistrySharedS3(t *testing.T) {
	cli := requireCLIv2(t)
	bin := requireSkopeo(t)
	image := testutil.BuildTestImage(t, "")
	servers := s3Servers(t, 2)
	a, b := servers[0], servers[1]
	repo := uniqueName("e2e-s3")
	a.Run(t, cli, "ecr", "create-repository", "--repository-name", repo).MustSucceed(t)
	cfgA, hostA, password := ecrLogin(t, a, cli)
	cfgB, hostB, _ := ecrLogin(t, b, cli)
	refA, refB := hostA+"/"+repo+":v1", hostB+"/"+repo+":v1"
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", refA, refB).Run() })

	// docker push through A, docker pull and skopeo copy (every blob) through B.
	if out, err := docker(t, cfgA, "", "tag", image, refA); err != nil {
		t.Fatalf("docker tag: %v\n%s", err, out)
	}
	out, err := docker(t, cfgA, "", "push", refA)
	if err != nil {
		t.Fatalf("docker push through server A: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`digest: (sha256:[0-9a-f]{64})`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no digest in docker push output:\n%s", out)
	}
	pushed := m[1]
	if out, err := docker(t, cfgB, "", "pull", refB); err != nil || !strings.Contains(out, pushed) {
		t.Fatalf("docker pull through server B: %v\n%s", err, out)
	}
	layout := filepath.Join(t.TempDir(), "layout")
	skopeo(t, bin, "copy", "--src-creds", "AWS:"+password, "--src-tls-verify=false", "docker://"+refB, "oci:"+layout+":v1")

	// DescribeImages on B sees the image; BatchDeleteImage on B removes it from A.
	var described struct {
		ImageDetails []struct {
			ImageDigest string   `json:"imageDigest"`
			ImageTags   []string `json:"imageTags"`
		} `json:"imageDetails"`
	}
	b.Run(t, cli, "ecr", "describe-images", "--repository-name", repo, "--image-ids", "imageTag=v1").MustSucceed(t).JSON(t, &described)
	if len(described.ImageDetails) != 1 || described.ImageDetails[0].ImageDigest != pushed {
		t.Fatalf("describe-images on server B: %s, want %s", pretty(described), pushed)
	}
	b.Run(t, cli, "ecr", "batch-delete-image", "--repository-name", repo, "--image-ids", "imageDigest="+pushed).MustSucceed(t)
	resp, body := registryDo(t, http.MethodGet, a.Endpoint, "/v2/"+repo+"/manifests/"+pushed, password, nil, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("manifest on server A after batch-delete-image on B: %s %s, want 404", resp.Status, body)
	}
	var listed struct {
		ImageIds []json.RawMessage `json:"imageIds"`
	}
	a.Run(t, cli, "ecr", "list-images", "--repository-name", repo).MustSucceed(t).JSON(t, &listed)
	if len(listed.ImageIds) != 0 {
		t.Fatalf("list-images on server A after the delete on B: %s", pretty(listed))
	}

	// A chunked upload: POST and the first PATCH on A, the second PATCH and
	// the closing PUT on B.
	blob := make([]byte, 3<<20)
	rand.Read(blob)
	resp, body = registryDo(t, http.MethodPost, a.Endpoint, "/v2/"+repo+"/blobs/uploads/", password, nil, nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("start upload on A: %s %s", resp.Status, body)
	}
	loc := resp.Header.Get("Location")
	for i, part := range []struct {
		server string
		from   int
		to     int
	}{{a.Endpoint, 0, 1 << 20}, {b.Endpoint, 1 << 20, len(blob)}} {
		resp, body = registryDo(t, http.MethodPatch, part.server, requestURI(t, loc), password, map[string]string{
			"Content-Type":  "application/octet-stream",
			"Content-Range": fmt.Sprintf("%d-%d", part.from, part.to-1),
		}, blob[part.from:part.to])
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("PATCH %d to %s: %s %s", i, part.server, resp.Status, body)
		}
		loc = resp.Header.Get("Location")
	}
	d := digest.FromBytes(blob)
	resp, body = registryDo(t, http.MethodPut, b.Endpoint, requestURI(t, loc)+"&digest="+d.String(), password, nil, nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("finish upload on B: %s %s", resp.Status, body)
	}
	resp, body = registryDo(t, http.MethodGet, a.Endpoint, "/v2/"+repo+"/blobs/"+d.String(), password, nil, nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, blob) {
		t.Fatalf("blob on A: %s, %d bytes, want the %d uploaded through A and B", resp.Status, len(body), len(blob))
	}
}

// TestOCIConformanceS3 runs the conformance suite against a server whose
// registry content is in S3.
func TestOCIConformanceS3(t *testing.T) {
	cli := requireCLIv2(t)
	runConformance(t, s3Servers(t, 1)[0], cli)
}

// registryDo sends a registry request as AWS with password to the server
// at base and returns the response with its body read.
func registryDo(t *testing.T, method, base, uri, password string, headers map[string]string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, base+uri, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("AWS", password)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	c := http.Client{Timeout: time.Minute}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

// requestURI is loc's path and query, to send it to any server.
func requestURI(t *testing.T, loc string) string {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}
