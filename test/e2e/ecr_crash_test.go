package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestECRCrashMidPush kills berth up with SIGKILL while a layer upload is
// half done: after the restart the image pushed before is intact and
// pullable, and nothing of the interrupted push is visible.
func TestECRCrashMidPush(t *testing.T) {
	cli := requireCLIv2(t)
	testutil.RequireDocker(t)
	image := testutil.BuildTestImage(t, "")
	b := startBerth(t)
	cfg, host, password := ecrLogin(t, b, cli)
	repo := uniqueName("e2e-crash")
	ref := host + "/" + repo + ":v1"
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", ref).Run() })
	b.Run(t, cli, "ecr", "create-repository", "--repository-name", repo).MustSucceed(t)
	if out, err := docker(t, cfg, "", "tag", image, ref); err != nil {
		t.Fatalf("docker tag: %v\n%s", err, out)
	}
	if out, err := docker(t, cfg, "", "push", ref); err != nil {
		t.Fatalf("docker push: %v\n%s", err, out)
	}

	// Start a layer upload and send half of it.
	layer := make([]byte, 4<<20)
	rand.Read(layer)
	digest := fmt.Sprintf("sha256:%x", sha256.Sum256(layer))
	do := func(method, url string, body []byte) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, url, bytes.NewReader(body))
		req.SetBasicAuth("AWS", password)
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		resp.Body.Close()
		return resp
	}
	resp := do("POST", b.Endpoint+"/v2/"+repo+"/blobs/uploads/", nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("start upload: %d", resp.StatusCode)
	}
	upload := resp.Header.Get("Location")
	if !strings.HasPrefix(upload, "http") {
		upload = b.Endpoint + upload
	}
	if resp := do("PATCH", upload, layer[:len(layer)/2]); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("upload half the layer: %d", resp.StatusCode)
	}

	if err := b.Crash(); err != nil {
		t.Fatalf("crash and restart: %v", err)
	}

	// The half-sent layer is nowhere to be seen; the image pushed before is.
	if resp := do("HEAD", b.Endpoint+"/v2/"+repo+"/blobs/"+digest, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("HEAD of the interrupted layer = %d, want 404", resp.StatusCode)
	}
	var images struct {
		ImageIds []struct {
			ImageTag string `json:"imageTag"`
		} `json:"imageIds"`
	}
	b.Run(t, cli, "ecr", "list-images", "--repository-name", repo).MustSucceed(t).JSON(t, &images)
	if len(images.ImageIds) != 1 || images.ImageIds[0].ImageTag != "v1" {
		t.Fatalf("list-images after the crash: %s", pretty(images))
	}
	if out, err := docker(t, cfg, "", "rmi", ref); err != nil {
		t.Fatalf("docker rmi: %v\n%s", err, out)
	}
	if out, err := docker(t, cfg, "", "pull", ref); err != nil {
		t.Fatalf("docker pull after the crash: %v\n%s", err, out)
	}
}
