package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testutil"
)

// creds are access keys as the CLI prints them (create-access-key,
// assume-role).
type creds struct {
	AccessKeyId, SecretAccessKey, SessionToken string
}

// runAs runs the aws CLI with c's credentials, session token included.
func (b *Berth) runAs(t *testing.T, cli CLI, c creds, args ...string) CLIResult {
	t.Helper()
	if c.SessionToken == "" {
		return b.RunWith(t, cli, c.AccessKeyId, c.SecretAccessKey, args...)
	}
	full := append([]string{"--endpoint-url", b.Endpoint, "--region", b.Region, "--output", "json"}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli.Path, full...)
	home := t.TempDir()
	cmd.Dir = home
	cmd.Env = append(withoutAWSEnv(os.Environ()),
		"AWS_ACCESS_KEY_ID="+c.AccessKeyId, "AWS_SECRET_ACCESS_KEY="+c.SecretAccessKey, "AWS_SESSION_TOKEN="+c.SessionToken,
		"AWS_DEFAULT_REGION="+b.Region, "AWS_REGION="+b.Region, "AWS_PAGER=",
		"AWS_CONFIG_FILE="+filepath.Join(home, "no-config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "no-credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CLI_AUTO_PROMPT=off", "AWS_MAX_ATTEMPTS=2")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := CLIResult{Args: full, Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.ExitCode = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run aws: %v", err)
	}
	return r
}

// TestIAMUserPermissions: a user with AmazonEC2ContainerRegistryReadOnly may
// read ECR but not write it nor run tasks; it can assume a role that trusts
// it, and the CLI sees who it is at each step.
func TestIAMUserPermissions(t *testing.T) {
	t.Parallel() // CLI-bound and independent of the other tests
	cli := requireCLIv2(t)
	b := shared(t)
	user, role, cluster := uniqueName("e2e-user"), uniqueName("e2e-role"), uniqueName("e2e-iam")
	userARN := "arn:aws:iam::" + b.AccountID + ":user/" + user

	var created struct {
		User struct{ UserName, Arn, UserId string }
	}
	b.Run(t, cli, "iam", "create-user", "--user-name", user).MustSucceed(t).JSON(t, &created)
	if created.User.Arn != userARN || !strings.HasPrefix(created.User.UserId, "AIDA") {
		t.Fatalf("create-user: %s", pretty(created))
	}
	b.Run(t, cli, "iam", "create-user", "--user-name", user).MustFail(t, cli.ServiceErrorExit, "EntityAlreadyExists")
	b.Run(t, cli, "iam", "get-user", "--user-name", "no-such-user").MustFail(t, cli.ServiceErrorExit, "NoSuchEntity")

	var key struct{ AccessKey creds }
	b.Run(t, cli, "iam", "create-access-key", "--user-name", user).MustSucceed(t).JSON(t, &key)
	k := key.AccessKey
	b.Run(t, cli, "iam", "attach-user-policy", "--user-name", user, "--policy-arn", "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly").MustSucceed(t)
	var attached struct{ AttachedPolicies []struct{ PolicyName string } }
	b.Run(t, cli, "iam", "list-attached-user-policies", "--user-name", user).MustSucceed(t).JSON(t, &attached)
	if len(attached.AttachedPolicies) != 1 || attached.AttachedPolicies[0].PolicyName != "AmazonEC2ContainerRegistryReadOnly" {
		t.Fatalf("list-attached-user-policies: %s", pretty(attached))
	}
	var version struct {
		PolicyVersion struct {
			Document struct{ Statement []struct{ Action []string } }
		}
	}
	var shipped struct {
		Policy struct{ DefaultVersionId string }
	}
	b.Run(t, cli, "iam", "get-policy", "--policy-arn", "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly").MustSucceed(t).JSON(t, &shipped)
	b.Run(t, cli, "iam", "get-policy-version", "--policy-arn", "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
		"--version-id", shipped.Policy.DefaultVersionId).MustSucceed(t).JSON(t, &version)
	if st := version.PolicyVersion.Document.Statement; len(st) != 1 || len(st[0].Action) != 12 {
		t.Fatalf("get-policy-version: %s", pretty(version))
	}
	b.Run(t, cli, "ecs", "create-cluster", "--cluster-name", cluster).MustSucceed(t)
	t.Cleanup(func() { b.Run(t, cli, "ecs", "delete-cluster", "--cluster", cluster) })

	// As the user.
	var id struct{ Account, Arn, UserId string }
	b.runAs(t, cli, k, "sts", "get-caller-identity").MustSucceed(t).JSON(t, &id)
	if id.Arn != userARN || id.Account != b.AccountID || id.UserId != created.User.UserId {
		t.Fatalf("get-caller-identity as the user: %s", pretty(id))
	}
	b.runAs(t, cli, k, "ecr", "describe-repositories").MustSucceed(t)
	r := b.runAs(t, cli, k, "ecr", "create-repository", "--repository-name", uniqueName("e2e-denied")).MustFail(t, cli.ServiceErrorExit, "AccessDeniedException")
	if !strings.Contains(r.Stderr, "ecr:CreateRepository") || !strings.Contains(r.Stderr, userARN) {
		t.Fatalf("denial does not name the user and action:\n%v", r)
	}
	r = b.runAs(t, cli, k, "ecs", "run-task", "--cluster", cluster, "--task-definition", "nothing:1").MustFail(t, cli.ServiceErrorExit, "AccessDeniedException")
	if !strings.Contains(r.Stderr, "is not authorized to perform: ecs:RunTask") {
		t.Fatalf("denial does not name ecs:RunTask:\n%v", r)
	}
	b.runAs(t, cli, k, "iam", "create-user", "--user-name", uniqueName("e2e-x")).MustFail(t, cli.ServiceErrorExit, "AccessDenied")

	// Into a role that trusts the user.
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + userARN + `"},"Action":"sts:AssumeRole"}]}`
	b.Run(t, cli, "iam", "create-role", "--role-name", role, "--assume-role-policy-document", trust).MustSucceed(t)
	var assumed struct {
		Credentials     creds
		AssumedRoleUser struct{ Arn string }
	}
	b.runAs(t, cli, k, "sts", "assume-role", "--role-arn", "arn:aws:iam::"+b.AccountID+":role/"+role, "--role-session-name", "e2e").MustSucceed(t).JSON(t, &assumed)
	sessionARN := "arn:aws:sts::" + b.AccountID + ":assumed-role/" + role + "/e2e"
	if assumed.AssumedRoleUser.Arn != sessionARN || !strings.HasPrefix(assumed.Credentials.AccessKeyId, "ASIA") {
		t.Fatalf("assume-role: %s", pretty(assumed))
	}
	b.runAs(t, cli, assumed.Credentials, "sts", "get-caller-identity").MustSucceed(t).JSON(t, &id)
	if id.Arn != sessionARN {
		t.Fatalf("get-caller-identity as the role session: %s", pretty(id))
	}
	b.runAs(t, cli, assumed.Credentials, "ecr", "describe-repositories").MustFail(t, cli.ServiceErrorExit, "AccessDeniedException")
	b.Run(t, cli, "sts", "assume-role", "--role-arn", "arn:aws:iam::"+b.AccountID+":role/"+role, "--role-session-name", "root").MustFail(t, cli.ServiceErrorExit, "AccessDenied")

	// A repository policy naming the user grants it that repository.
	repo := uniqueName("e2e-shared")
	b.Run(t, cli, "ecr", "create-repository", "--repository-name", repo).MustSucceed(t)
	t.Cleanup(func() { b.Run(t, cli, "ecr", "delete-repository", "--repository-name", repo, "--force") })
	b.runAs(t, cli, k, "ecr", "put-image-tag-mutability", "--repository-name", repo, "--image-tag-mutability", "IMMUTABLE").MustFail(t, cli.ServiceErrorExit, "AccessDeniedException")
	repoPolicy := `{"Version":"2012-10-17","Statement":[{"Sid":"team","Effect":"Allow","Principal":{"AWS":"` + userARN + `"},"Action":"ecr:PutImageTagMutability"}]}`
	b.Run(t, cli, "ecr", "set-repository-policy", "--repository-name", repo, "--policy-text", repoPolicy).MustSucceed(t)
	b.runAs(t, cli, k, "ecr", "put-image-tag-mutability", "--repository-name", repo, "--image-tag-mutability", "IMMUTABLE").MustSucceed(t)

	// An inactive key authenticates nobody.
	b.Run(t, cli, "iam", "update-access-key", "--user-name", user, "--access-key-id", k.AccessKeyId, "--status", "Inactive").MustSucceed(t)
	b.runAs(t, cli, k, "sts", "get-caller-identity").MustFail(t, cli.ServiceErrorExit, "InvalidClientTokenId")
	b.runAs(t, cli, k, "ecr", "describe-repositories").MustFail(t, cli.ServiceErrorExit, "UnrecognizedClientException")

	// Nothing can be deleted while something depends on it.
	b.Run(t, cli, "iam", "delete-user", "--user-name", user).MustFail(t, cli.ServiceErrorExit, "DeleteConflict")
	b.Run(t, cli, "iam", "delete-access-key", "--user-name", user, "--access-key-id", k.AccessKeyId).MustSucceed(t)
	b.Run(t, cli, "iam", "detach-user-policy", "--user-name", user, "--policy-arn", "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly").MustSucceed(t)
	b.Run(t, cli, "iam", "delete-user", "--user-name", user).MustSucceed(t)
	b.Run(t, cli, "iam", "delete-role", "--role-name", role).MustSucceed(t)
}

// TestIAMRegistryReadOnly: a user with AmazonEC2ContainerRegistryReadOnly
// logs Docker in with its own get-login-password and may pull but not push.
func TestIAMRegistryReadOnly(t *testing.T) {
	t.Parallel() // CLI-bound and independent of the other tests
	cli := requireCLIv2(t)
	testutil.RequireDocker(t)
	image := testutil.BuildTestImage(t, "")
	b := shared(t)
	rootCfg, host, _ := ecrLogin(t, b, cli)
	repo, user := uniqueName("e2e-ro"), uniqueName("e2e-puller")
	ref, denied := host+"/"+repo+":v1", host+"/"+repo+":v2"
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", ref, denied).Run() })
	b.Run(t, cli, "ecr", "create-repository", "--repository-name", repo).MustSucceed(t)
	if out, err := docker(t, rootCfg, "", "tag", image, ref); err != nil {
		t.Fatalf("docker tag: %v\n%s", err, out)
	}
	if out, err := docker(t, rootCfg, "", "push", ref); err != nil {
		t.Fatalf("push as root: %v\n%s", err, out)
	}

	b.Run(t, cli, "iam", "create-user", "--user-name", user).MustSucceed(t)
	var key struct{ AccessKey creds }
	b.Run(t, cli, "iam", "create-access-key", "--user-name", user).MustSucceed(t).JSON(t, &key)
	b.Run(t, cli, "iam", "attach-user-policy", "--user-name", user, "--policy-arn", "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly").MustSucceed(t)
	password := strings.TrimSpace(b.runAs(t, cli, key.AccessKey, "ecr", "get-login-password").MustSucceed(t).Stdout)
	cfg := t.TempDir()
	if out, err := docker(t, cfg, password, "login", "--username", "AWS", "--password-stdin", host); err != nil {
		t.Fatalf("docker login as the user: %v\n%s", err, out)
	}
	if out, err := docker(t, cfg, "", "pull", ref); err != nil {
		t.Fatalf("pull as the read-only user: %v\n%s", err, out)
	}
	if out, err := docker(t, cfg, "", "tag", image, denied); err != nil {
		t.Fatalf("docker tag: %v\n%s", err, out)
	}
	out, err := docker(t, cfg, "", "push", denied)
	if err == nil || !strings.Contains(out, "denied") || !strings.Contains(out, "not authorized to perform: ecr:") {
		t.Fatalf("push as the read-only user: err %v\n%s", err, out)
	}
}

// TestIAMGroupPermissions: a user in a group with
// AmazonEC2ContainerRegistryReadOnly attached may read ECR but not write
// it, and loses that once the policy is detached; the user cannot be
// deleted while in the group. Session-token credentials act as the user
// but IAM refuses them, as AWS does without MFA.
func TestIAMGroupPermissions(t *testing.T) {
	t.Parallel() // CLI-bound and independent of the other tests
	cli := requireCLIv2(t)
	b := shared(t)
	user, group := uniqueName("e2e-member"), uniqueName("e2e-readers")
	const readOnly = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"

	b.Run(t, cli, "iam", "create-user", "--user-name", user, "--tags", "Key=team,Value=infra").MustSucceed(t)
	b.Run(t, cli, "iam", "create-group", "--group-name", group).MustSucceed(t)
	b.Run(t, cli, "iam", "create-group", "--group-name", group).MustFail(t, cli.ServiceErrorExit, "EntityAlreadyExists")
	b.Run(t, cli, "iam", "attach-group-policy", "--group-name", group, "--policy-arn", readOnly).MustSucceed(t)
	b.Run(t, cli, "iam", "add-user-to-group", "--group-name", group, "--user-name", user).MustSucceed(t)
	var got struct {
		Group struct{ GroupName, Arn string }
		Users []struct{ UserName string }
	}
	b.Run(t, cli, "iam", "get-group", "--group-name", group).MustSucceed(t).JSON(t, &got)
	if got.Group.Arn != "arn:aws:iam::"+b.AccountID+":group/"+group || len(got.Users) != 1 || got.Users[0].UserName != user {
		t.Fatalf("get-group: %s", pretty(got))
	}
	var forUser struct{ Groups []struct{ GroupName string } }
	b.Run(t, cli, "iam", "list-groups-for-user", "--user-name", user).MustSucceed(t).JSON(t, &forUser)
	if len(forUser.Groups) != 1 || forUser.Groups[0].GroupName != group {
		t.Fatalf("list-groups-for-user: %s", pretty(forUser))
	}
	var tags struct{ Tags []struct{ Key, Value string } }
	b.Run(t, cli, "iam", "list-user-tags", "--user-name", user).MustSucceed(t).JSON(t, &tags)
	if len(tags.Tags) != 1 || tags.Tags[0].Key != "team" {
		t.Fatalf("list-user-tags: %s", pretty(tags))
	}

	var key struct{ AccessKey creds }
	b.Run(t, cli, "iam", "create-access-key", "--user-name", user).MustSucceed(t).JSON(t, &key)
	k := key.AccessKey
	b.runAs(t, cli, k, "ecr", "describe-repositories").MustSucceed(t)
	r := b.runAs(t, cli, k, "ecr", "create-repository", "--repository-name", uniqueName("e2e-denied")).MustFail(t, cli.ServiceErrorExit, "AccessDeniedException")
	if !strings.Contains(r.Stderr, "ecr:CreateRepository") {
		t.Fatalf("denial does not name the action:\n%v", r)
	}

	var token struct{ Credentials creds }
	b.runAs(t, cli, k, "sts", "get-session-token", "--duration-seconds", "900").MustSucceed(t).JSON(t, &token)
	b.runAs(t, cli, token.Credentials, "ecr", "describe-repositories").MustSucceed(t)
	b.runAs(t, cli, token.Credentials, "iam", "list-groups-for-user", "--user-name", user).MustFail(t, cli.ServiceErrorExit, "InvalidClientTokenId")

	b.Run(t, cli, "iam", "detach-group-policy", "--group-name", group, "--policy-arn", readOnly).MustSucceed(t)
	b.runAs(t, cli, k, "ecr", "describe-repositories").MustFail(t, cli.ServiceErrorExit, "AccessDeniedException")

	b.Run(t, cli, "iam", "delete-access-key", "--user-name", user, "--access-key-id", k.AccessKeyId).MustSucceed(t)
	r = b.Run(t, cli, "iam", "delete-user", "--user-name", user).MustFail(t, cli.ServiceErrorExit, "DeleteConflict")
	if !strings.Contains(r.Stderr, "must remove users from group first") {
		t.Fatalf("delete-user in a group:\n%v", r)
	}
	b.Run(t, cli, "iam", "delete-group", "--group-name", group).MustFail(t, cli.ServiceErrorExit, "DeleteConflict")
	b.Run(t, cli, "iam", "remove-user-from-group", "--group-name", group, "--user-name", user).MustSucceed(t)
	b.Run(t, cli, "iam", "delete-group", "--group-name", group).MustSucceed(t)
	b.Run(t, cli, "iam", "delete-user", "--user-name", user).MustSucceed(t)
}

// TestIAMPolicyVersions: a new default version of a customer managed
// policy takes effect for the next request.
func TestIAMPolicyVersions(t *testing.T) {
	t.Parallel() // CLI-bound and independent of the other tests
	cli := requireCLIv2(t)
	b := shared(t)
	user, name := uniqueName("e2e-versioned"), uniqueName("e2e-policy")
	describe := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:DescribeRepositories","Resource":"*"}]}`
	nothing := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:ListClusters","Resource":"*"}]}`
	var created struct{ Policy struct{ Arn string } }
	b.Run(t, cli, "iam", "create-policy", "--policy-name", name, "--policy-document", describe).MustSucceed(t).JSON(t, &created)
	arn := created.Policy.Arn
	b.Run(t, cli, "iam", "create-user", "--user-name", user).MustSucceed(t)
	b.Run(t, cli, "iam", "attach-user-policy", "--user-name", user, "--policy-arn", arn).MustSucceed(t)
	var key struct{ AccessKey creds }
	b.Run(t, cli, "iam", "create-access-key", "--user-name", user).MustSucceed(t).JSON(t, &key)
	b.runAs(t, cli, key.AccessKey, "ecr", "describe-repositories").MustSucceed(t)

	b.Run(t, cli, "iam", "create-policy-version", "--policy-arn", arn, "--policy-document", nothing, "--set-as-default").MustSucceed(t)
	b.runAs(t, cli, key.AccessKey, "ecr", "describe-repositories").MustFail(t, cli.ServiceErrorExit, "AccessDeniedException")
	var versions struct{ Versions []struct{ VersionId string } }
	b.Run(t, cli, "iam", "list-policy-versions", "--policy-arn", arn).MustSucceed(t).JSON(t, &versions)
	if len(versions.Versions) != 2 || versions.Versions[0].VersionId != "v2" {
		t.Fatalf("list-policy-versions: %s", pretty(versions))
	}
	b.Run(t, cli, "iam", "delete-policy-version", "--policy-arn", arn, "--version-id", "v2").MustFail(t, cli.ServiceErrorExit, "DeleteConflict")
	b.Run(t, cli, "iam", "set-default-policy-version", "--policy-arn", arn, "--version-id", "v1").MustSucceed(t)
	b.runAs(t, cli, key.AccessKey, "ecr", "describe-repositories").MustSucceed(t)

	b.Run(t, cli, "iam", "delete-access-key", "--user-name", user, "--access-key-id", key.AccessKey.AccessKeyId).MustSucceed(t)
	b.Run(t, cli, "iam", "detach-user-policy", "--user-name", user, "--policy-arn", arn).MustSucceed(t)
	b.Run(t, cli, "iam", "delete-user", "--user-name", user).MustSucceed(t)
	b.Run(t, cli, "iam", "delete-policy-version", "--policy-arn", arn, "--version-id", "v2").MustSucceed(t)
	b.Run(t, cli, "iam", "delete-policy", "--policy-arn", arn).MustSucceed(t)
}
