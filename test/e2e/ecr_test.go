package e2e

import (
	"net/url"
	"os/exec"
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
