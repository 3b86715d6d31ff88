package e2e

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testutil"
)

// docker runs the docker CLI with its own config dir, so logins stay in
// the test.
func docker(t *testing.T, configDir, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("docker", append([]string{"--config", configDir}, args...)...)
	cmd.Env = append(cmd.Environ(), "DOCKER_BUILDKIT=0")
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// ecrLogin logs a fresh docker config dir in to Berth's registry with
// get-login-password, as the article does, and returns the dir and host.
func ecrLogin(t *testing.T, b *Berth, cli CLI) (configDir, host, password string) {
	t.Helper()
	u, _ := url.Parse(b.Endpoint)
	host = "localhost:" + u.Port()
	configDir = t.TempDir()
	password = strings.TrimSpace(b.Run(t, cli, "ecr", "get-login-password").MustSucceed(t).Stdout)
	if out, err := docker(t, configDir, password, "login", "--username", "AWS", "--password-stdin", host); err != nil || !strings.Contains(out, "Login Succeeded") {
		t.Fatalf("docker login: %v\n%s", err, out)
	}
	return configDir, host, password
}

// TestECRPushPullAndRun is the article's registry workflow: create a
// repository, log Docker in with get-login-password, push, list, and run an
// ECS task whose image the agent pulls from Berth's ECR with its own token.
func TestECRPushPullAndRun(t *testing.T) {
	cli := requireCLIv2(t)
	testutil.RequireDocker(t)
	image := testutil.BuildTestImage(t, "")
	b := shared(t)
	cfg, host, password := ecrLogin(t, b, cli)
	repo := uniqueName("e2e-app")
	ref := host + "/" + repo + ":v1"
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", ref).Run() })

	var created struct {
		Repository struct {
			RepositoryArn, RepositoryUri, ImageTagMutability string
		} `json:"repository"`
	}
	b.Run(t, cli, "ecr", "create-repository", "--repository-name", repo).MustSucceed(t).JSON(t, &created)
	if created.Repository.RepositoryUri != host+"/"+repo || created.Repository.RepositoryArn != "arn:aws:ecr:us-east-1:"+b.AccountID+":repository/"+repo || created.Repository.ImageTagMutability != "MUTABLE" {
		t.Fatalf("create-repository: %s", pretty(created))
	}
	b.Run(t, cli, "ecr", "create-repository", "--repository-name", repo).MustFail(t, 254, "RepositoryAlreadyExistsException")
	b.Run(t, cli, "ecr", "create-repository", "--repository-name", "Bad_Name").MustFail(t, 254, "InvalidParameterException")

	// Without logging in, pushing is refused.
	anon := t.TempDir()
	if out, err := docker(t, anon, "", "tag", image, ref); err != nil {
		t.Fatalf("docker tag: %v\n%s", err, out)
	}
	if out, err := docker(t, anon, "", "push", ref); err == nil || !strings.Contains(strings.ToLower(out), "no basic auth credentials") && !strings.Contains(strings.ToLower(out), "unauthorized") && !strings.Contains(strings.ToLower(out), "denied") {
		t.Fatalf("anonymous push: err %v\n%s", err, out)
	}

	if _, err := docker(t, t.TempDir(), "", "login", "--username", "AWS", "--password", password+"x", host); err == nil {
		t.Fatal("docker login accepted a tampered password")
	}
	if out, err := docker(t, cfg, "", "push", ref); err != nil {
		t.Fatalf("docker push: %v\n%s", err, out)
	}
	var listed struct {
		ImageIds []struct{ ImageDigest, ImageTag string } `json:"imageIds"`
	}
	b.Run(t, cli, "ecr", "list-images", "--repository-name", repo).MustSucceed(t).JSON(t, &listed)
	if len(listed.ImageIds) != 1 || listed.ImageIds[0].ImageTag != "v1" || !strings.HasPrefix(listed.ImageIds[0].ImageDigest, "sha256:") {
		t.Fatalf("list-images: %s", pretty(listed))
	}

	var described struct {
		ImageDetails []struct {
			ImageDigest            string   `json:"imageDigest"`
			ImageTags              []string `json:"imageTags"`
			ImageSizeInBytes       int64    `json:"imageSizeInBytes"`
			ImagePushedAt          any      `json:"imagePushedAt"`
			ImageManifestMediaType string   `json:"imageManifestMediaType"`
		} `json:"imageDetails"`
	}
	b.Run(t, cli, "ecr", "describe-images", "--repository-name", repo).MustSucceed(t).JSON(t, &described)
	if d := described.ImageDetails; len(d) != 1 || d[0].ImageDigest != listed.ImageIds[0].ImageDigest || len(d[0].ImageTags) != 1 ||
		d[0].ImageTags[0] != "v1" || d[0].ImageSizeInBytes < 1<<20 || d[0].ImagePushedAt == nil || !strings.Contains(d[0].ImageManifestMediaType, "manifest") {
		t.Fatalf("describe-images: %s", pretty(described))
	}
	b.Run(t, cli, "ecr", "describe-images", "--repository-name", repo, "--image-ids", "imageTag=v9").MustFail(t, 254, "ImageNotFoundException")

	// The agent pulls it: remove the local copy first.
	if out, err := docker(t, cfg, "", "rmi", ref); err != nil {
		t.Fatalf("docker rmi: %v\n%s", err, out)
	}
	family := uniqueName("e2e-ecr")
	registerTestApp(t, b, cli, family, ref, map[string]string{"GREETING": "from-ecr"})
	tk := runTask(t, b, cli, defaultCluster, family)
	running := waitTask(t, b, cli, defaultCluster, tk.TaskArn, "RUNNING")
	checkApp(t, running, "GREETING", "from-ecr")
	b.Run(t, cli, "ecs", "stop-task", "--cluster", defaultCluster, "--task", tk.TaskArn).MustSucceed(t)
	waitTask(t, b, cli, defaultCluster, tk.TaskArn, "STOPPED")

	b.Run(t, cli, "ecr", "delete-repository", "--repository-name", repo).MustFail(t, 254, "RepositoryNotEmptyException")
	b.Run(t, cli, "ecr", "delete-repository", "--repository-name", repo, "--force").MustSucceed(t)
	b.Run(t, cli, "ecr", "describe-repositories", "--repository-names", repo).MustFail(t, 254, "RepositoryNotFoundException")
	if out, err := docker(t, cfg, "", "pull", ref); err == nil {
		t.Fatalf("pull from a deleted repository succeeded:\n%s", out)
	}
}

// TestECRImmutableTags pushes over an existing tag of an IMMUTABLE
// repository: the same image may be pushed again, another may not, until
// the repository is made MUTABLE.
func TestECRImmutableTags(t *testing.T) {
	cli := requireCLIv2(t)
	testutil.RequireDocker(t)
	image := testutil.BuildTestImage(t, "")
	b := shared(t)
	cfg, host, _ := ecrLogin(t, b, cli)
	repo := uniqueName("e2e-immutable")
	ref := host + "/" + repo + ":v1"
	variant := repo + "-variant:test"
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", ref, variant).Run() })

	b.Run(t, cli, "ecr", "create-repository", "--repository-name", repo, "--image-tag-mutability", "IMMUTABLE").MustSucceed(t)
	for _, args := range [][]string{{"tag", image, ref}, {"push", ref}, {"push", ref}} {
		if out, err := docker(t, cfg, "", args...); err != nil {
			t.Fatalf("docker %v (the same image may be pushed again): %v\n%s", args, err, out)
		}
	}
	if out, err := docker(t, cfg, "FROM "+image+"\nLABEL variant=2\n", "build", "-q", "-t", variant, "-"); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	if out, err := docker(t, cfg, "", "tag", variant, ref); err != nil {
		t.Fatalf("docker tag: %v\n%s", err, out)
	}
	out, err := docker(t, cfg, "", "push", ref)
	if err == nil || !strings.Contains(out, "cannot be overwritten because the repository is immutable") {
		t.Fatalf("push over an immutable tag: err %v\n%s", err, out)
	}
	b.Run(t, cli, "ecr", "put-image-tag-mutability", "--repository-name", repo, "--image-tag-mutability", "MUTABLE").MustSucceed(t)
	if out, err := docker(t, cfg, "", "push", ref); err != nil {
		t.Fatalf("push after put-image-tag-mutability MUTABLE: %v\n%s", err, out)
	}
	b.Run(t, cli, "ecr", "delete-repository", "--repository-name", repo, "--force").MustSucceed(t)
}

// TestECRImageAPI drives the image, layer, tag and policy operations with
// the aws CLI on an image docker pushed: re-tagging with batch-get-image +
// put-image as the ECR user guide shows, untag vs delete, a layer upload
// through the API, resource tags and a repository policy.
func TestECRImageAPI(t *testing.T) {
	cli := requireCLIv2(t)
	testutil.RequireDocker(t)
	image := testutil.BuildTestImage(t, "")
	b := shared(t)
	cfg, host, _ := ecrLogin(t, b, cli)
	repo := uniqueName("e2e-api")
	ref := host + "/" + repo + ":v1"
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", ref).Run() })
	ecr := func(args ...string) CLIResult { return b.Run(t, cli, append([]string{"ecr"}, args...)...) }
	fail := func(errCode string, args ...string) { ecr(args...).MustFail(t, cli.ServiceErrorExit, errCode) }

	var created struct {
		Repository struct{ RepositoryArn string }
	}
	ecr("create-repository", "--repository-name", repo, "--tags", "Key=team,Value=platform").MustSucceed(t).JSON(t, &created)
	arn := created.Repository.RepositoryArn
	for _, args := range [][]string{{"tag", image, ref}, {"push", ref}} {
		if out, err := docker(t, cfg, "", args...); err != nil {
			t.Fatalf("docker %v: %v\n%s", args, err, out)
		}
	}

	// Re-tag: fetch the manifest docker pushed and put it under a new tag.
	manifest := strings.TrimSpace(ecr("batch-get-image", "--repository-name", repo, "--image-ids", "imageTag=v1",
		"--output", "text", "--query", "images[].imageManifest").MustSucceed(t).Stdout)
	var put struct {
		Image struct {
			ImageId                struct{ ImageDigest, ImageTag string } `json:"imageId"`
			ImageManifestMediaType string                                 `json:"imageManifestMediaType"`
		} `json:"image"`
	}
	ecr("put-image", "--repository-name", repo, "--image-tag", "v2", "--image-manifest", manifest).MustSucceed(t).JSON(t, &put)
	var listed struct {
		ImageIds []struct{ ImageDigest, ImageTag string } `json:"imageIds"`
	}
	ecr("list-images", "--repository-name", repo).MustSucceed(t).JSON(t, &listed)
	if len(listed.ImageIds) != 2 || listed.ImageIds[0].ImageDigest != put.Image.ImageId.ImageDigest || listed.ImageIds[1].ImageDigest != put.Image.ImageId.ImageDigest ||
		put.Image.ImageId.ImageTag != "v2" || !strings.Contains(put.Image.ImageManifestMediaType, "manifest") {
		t.Fatalf("after re-tagging, list-images: %s\nput-image: %s", pretty(listed), pretty(put))
	}
	fail("ImageAlreadyExistsException", "put-image", "--repository-name", repo, "--image-tag", "v2", "--image-manifest", manifest)
	fail("InvalidParameterException", "put-image", "--repository-name", repo, "--image-tag", "v3", "--image-manifest", "{not json")
	fail("LayersNotFoundException", "put-image", "--repository-name", repo, "--image-tag", "v3", "--image-manifest",
		`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[]}`)

	// The layers docker pushed are visible to the layer API.
	var m struct {
		Layers []struct{ Digest string } `json:"layers"`
	}
	if err := json.Unmarshal([]byte(manifest), &m); err != nil || len(m.Layers) == 0 {
		t.Fatalf("manifest from batch-get-image: %v\n%s", err, manifest)
	}
	var avail struct {
		Layers []struct {
			LayerDigest, LayerAvailability string
			LayerSize                      int64
		} `json:"layers"`
		Failures []struct{ LayerDigest, FailureCode string } `json:"failures"`
	}
	ecr("batch-check-layer-availability", "--repository-name", repo, "--layer-digests", m.Layers[0].Digest, "sha256:"+strings.Repeat("0", 64)).MustSucceed(t).JSON(t, &avail)
	if len(avail.Layers) != 1 || avail.Layers[0].LayerAvailability != "AVAILABLE" || avail.Layers[0].LayerSize == 0 ||
		len(avail.Failures) != 1 || avail.Failures[0].FailureCode != "MissingLayerDigest" {
		t.Fatalf("batch-check-layer-availability: %s", pretty(avail))
	}
	var dl struct{ DownloadUrl string }
	ecr("get-download-url-for-layer", "--repository-name", repo, "--layer-digest", m.Layers[0].Digest).MustSucceed(t).JSON(t, &dl)
	if !strings.HasPrefix(dl.DownloadUrl, "http://"+host+"/v2/"+repo+"/blobs/"+m.Layers[0].Digest+"?") {
		t.Fatalf("get-download-url-for-layer: %s", dl.DownloadUrl)
	}
	// Like ECR's S3 URLs, it needs no credentials.
	resp, err := http.Get(dl.DownloadUrl)
	if err != nil {
		t.Fatal(err)
	}
	layer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || fmt.Sprintf("sha256:%x", sha256.Sum256(layer)) != m.Layers[0].Digest {
		t.Fatalf("GET %s: %s, %d bytes", dl.DownloadUrl, resp.Status, len(layer))
	}

	// A layer uploaded through the API, in two parts.
	blob := []byte(strings.Repeat("berth layer ", 100))
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "part1"), blob[:600], 0o644)
	os.WriteFile(filepath.Join(dir, "part2"), blob[600:], 0o644)
	var up struct{ UploadId string }
	ecr("initiate-layer-upload", "--repository-name", repo).MustSucceed(t).JSON(t, &up)
	part := func(first, last int, file string) CLIResult {
		return ecr("upload-layer-part", "--repository-name", repo, "--upload-id", up.UploadId, "--part-first-byte", fmt.Sprint(first),
			"--part-last-byte", fmt.Sprint(last), "--layer-part-blob", "fileb://"+filepath.Join(dir, file))
	}
	part(0, 599, "part1").MustSucceed(t)
	part(700, 1199, "part2").MustFail(t, cli.ServiceErrorExit, "InvalidLayerPartException")
	var last struct{ LastByteReceived int64 }
	part(600, len(blob)-1, "part2").MustSucceed(t).JSON(t, &last)
	if last.LastByteReceived != int64(len(blob)-1) {
		t.Fatalf("lastByteReceived = %d", last.LastByteReceived)
	}
	layerDigest := fmt.Sprintf("sha256:%x", sha256.Sum256(blob))
	var done struct{ LayerDigest string }
	ecr("complete-layer-upload", "--repository-name", repo, "--upload-id", up.UploadId, "--layer-digests", layerDigest).MustSucceed(t).JSON(t, &done)
	if done.LayerDigest != layerDigest {
		t.Fatalf("complete-layer-upload: %s, want %s", done.LayerDigest, layerDigest)
	}
	fail("UploadNotFoundException", "complete-layer-upload", "--repository-name", repo, "--upload-id", up.UploadId, "--layer-digests", layerDigest)
	ecr("initiate-layer-upload", "--repository-name", repo).MustSucceed(t).JSON(t, &up)
	part(0, 599, "part1").MustSucceed(t)
	fail("InvalidLayerException", "complete-layer-upload", "--repository-name", repo, "--upload-id", up.UploadId, "--layer-digests", "sha256:"+strings.Repeat("1", 64))

	// Untag, then delete: the image goes with its last tag.
	var deleted struct {
		ImageIds []struct{ ImageDigest, ImageTag string } `json:"imageIds"`
		Failures []struct{ FailureCode string }           `json:"failures"`
	}
	ecr("batch-delete-image", "--repository-name", repo, "--image-ids", "imageTag=v1", "imageTag=nope").MustSucceed(t).JSON(t, &deleted)
	if len(deleted.ImageIds) != 1 || deleted.ImageIds[0].ImageTag != "v1" || len(deleted.Failures) != 1 || deleted.Failures[0].FailureCode != "ImageNotFound" {
		t.Fatalf("batch-delete-image: %s", pretty(deleted))
	}
	var got struct {
		Images   []struct{ ImageManifest string } `json:"images"`
		Failures []struct{ FailureCode string }   `json:"failures"`
	}
	ecr("batch-get-image", "--repository-name", repo, "--image-ids", "imageTag=v1", "imageDigest="+put.Image.ImageId.ImageDigest).MustSucceed(t).JSON(t, &got)
	if len(got.Images) != 1 || got.Images[0].ImageManifest != manifest || len(got.Failures) != 1 || got.Failures[0].FailureCode != "ImageNotFound" {
		t.Fatalf("batch-get-image after untagging v1: %s", pretty(got))
	}
	ecr("batch-delete-image", "--repository-name", repo, "--image-ids", "imageTag=v2").MustSucceed(t)
	ecr("batch-get-image", "--repository-name", repo, "--image-ids", "imageDigest="+put.Image.ImageId.ImageDigest).MustSucceed(t).JSON(t, &got)
	if len(got.Images) != 0 {
		t.Fatalf("the image outlived its last tag: %s", pretty(got))
	}
	if out, err := docker(t, cfg, "", "pull", host+"/"+repo+":v2"); err == nil {
		t.Fatalf("pulled a deleted image:\n%s", out)
	}

	// Resource tags.
	ecr("tag-resource", "--resource-arn", arn, "--tags", "Key=env,Value=test").MustSucceed(t)
	fail("InvalidTagParameterException", "tag-resource", "--resource-arn", arn, "--tags", "Key=aws:x,Value=y")
	var tags struct{ Tags []struct{ Key, Value string } }
	ecr("list-tags-for-resource", "--resource-arn", arn).MustSucceed(t).JSON(t, &tags)
	if len(tags.Tags) != 2 || tags.Tags[0].Key != "team" || tags.Tags[1].Key != "env" || tags.Tags[1].Value != "test" {
		t.Fatalf("list-tags-for-resource: %s", pretty(tags))
	}
	ecr("untag-resource", "--resource-arn", arn, "--tag-keys", "team").MustSucceed(t)
	ecr("list-tags-for-resource", "--resource-arn", arn).MustSucceed(t).JSON(t, &tags)
	if len(tags.Tags) != 1 || tags.Tags[0].Key != "env" {
		t.Fatalf("after untag-resource: %s", pretty(tags))
	}

	// Repository policy.
	policy := `{"Version":"2012-10-17","Statement":[{"Sid":"pull","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + b.AccountID + `:root"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}`
	fail("RepositoryPolicyNotFoundException", "get-repository-policy", "--repository-name", repo)
	fail("InvalidParameterException", "set-repository-policy", "--repository-name", repo, "--policy-text", `{"Statement":"none"}`)
	ecr("set-repository-policy", "--repository-name", repo, "--policy-text", policy).MustSucceed(t)
	var pol struct{ RegistryId, RepositoryName, PolicyText string }
	ecr("get-repository-policy", "--repository-name", repo).MustSucceed(t).JSON(t, &pol)
	if pol.PolicyText != policy || pol.RepositoryName != repo || pol.RegistryId != b.AccountID {
		t.Fatalf("get-repository-policy: %s", pretty(pol))
	}
	ecr("delete-repository-policy", "--repository-name", repo).MustSucceed(t)
	fail("RepositoryPolicyNotFoundException", "get-repository-policy", "--repository-name", repo)
	ecr("delete-repository", "--repository-name", repo, "--force").MustSucceed(t)
}

// TestECRLifecyclePolicy stores, previews and removes a lifecycle policy
// with the aws CLI; its rules themselves are covered by unit tests.
func TestECRLifecyclePolicy(t *testing.T) {
	cli := requireCLIv2(t)
	b := shared(t)
	repo := uniqueName("e2e-lifecycle")
	ecr := func(args ...string) CLIResult { return b.Run(t, cli, append([]string{"ecr"}, args...)...) }
	policy := `{"rules":[{"rulePriority":1,"description":"expire old untagged images","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}]}`
	ecr("create-repository", "--repository-name", repo).MustSucceed(t)
	ecr("get-lifecycle-policy", "--repository-name", repo).MustFail(t, cli.ServiceErrorExit, "LifecyclePolicyNotFoundException")
	ecr("put-lifecycle-policy", "--repository-name", repo, "--lifecycle-policy-text", strings.Replace(policy, "expire\"}", "keep\"}", 1)).
		MustFail(t, cli.ServiceErrorExit, "InvalidParameterException")
	ecr("put-lifecycle-policy", "--repository-name", repo, "--lifecycle-policy-text", policy).MustSucceed(t)
	var got struct{ LifecyclePolicyText string }
	ecr("get-lifecycle-policy", "--repository-name", repo).MustSucceed(t).JSON(t, &got)
	if got.LifecyclePolicyText != policy {
		t.Fatalf("get-lifecycle-policy: %s", pretty(got))
	}
	ecr("get-lifecycle-policy-preview", "--repository-name", repo).MustFail(t, cli.ServiceErrorExit, "LifecyclePolicyPreviewNotFoundException")
	ecr("start-lifecycle-policy-preview", "--repository-name", repo).MustSucceed(t)
	var preview struct {
		Status         string
		PreviewResults []any
		Summary        struct{ ExpiringImageTotalCount int }
	}
	ecr("get-lifecycle-policy-preview", "--repository-name", repo).MustSucceed(t).JSON(t, &preview)
	if preview.Status != "COMPLETE" || len(preview.PreviewResults) != 0 || preview.Summary.ExpiringImageTotalCount != 0 {
		t.Fatalf("get-lifecycle-policy-preview of an empty repository: %s", pretty(preview))
	}
	ecr("delete-lifecycle-policy", "--repository-name", repo).MustSucceed(t)
	ecr("delete-lifecycle-policy", "--repository-name", repo).MustFail(t, cli.ServiceErrorExit, "LifecyclePolicyNotFoundException")
	ecr("delete-repository", "--repository-name", repo).MustSucceed(t)
}
