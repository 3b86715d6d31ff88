package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestInstanceRole: agents act as the role of their instance profile.
// berth up's own instances register as ecsInstanceRole sessions; an agent
// started by a user needs iam:PassRole on the profile's role, and one
// whose role lacks AmazonEC2ContainerServiceforEC2Role cannot register and
// exits saying why.
func TestInstanceRole(t *testing.T) {
	t.Parallel() // CLI-bound and independent of the other tests
	cli := requireCLIv2(t)
	b := shared(t)
	eventually(t, 60*time.Second, 500*time.Millisecond, "berth up's instances to register as ecsInstanceRole sessions", func() (bool, string) {
		return strings.Contains(b.readLog(), "by=arn:aws:sts::"+b.AccountID+":assumed-role/ecsInstanceRole/i-"), b.LogTail(5)
	})

	role, user, cluster := uniqueName("e2e-instance"), uniqueName("e2e-launcher"), uniqueName("e2e-profile")
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	ec2Role := "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
	b.Run(t, cli, "iam", "create-role", "--role-name", role, "--assume-role-policy-document", trust).MustSucceed(t)
	b.Run(t, cli, "iam", "attach-role-policy", "--role-name", role, "--policy-arn", ec2Role).MustSucceed(t)
	b.Run(t, cli, "iam", "create-instance-profile", "--instance-profile-name", role).MustSucceed(t)
	b.Run(t, cli, "iam", "add-role-to-instance-profile", "--instance-profile-name", role, "--role-name", role).MustSucceed(t)
	var profile struct {
		InstanceProfile struct{ Roles []struct{ RoleName string } }
	}
	b.Run(t, cli, "iam", "get-instance-profile", "--instance-profile-name", role).MustSucceed(t).JSON(t, &profile)
	if len(profile.InstanceProfile.Roles) != 1 || profile.InstanceProfile.Roles[0].RoleName != role {
		t.Fatalf("get-instance-profile roles = %+v", profile.InstanceProfile.Roles)
	}
	b.Run(t, cli, "ecs", "create-cluster", "--cluster-name", cluster).MustSucceed(t)
	b.Run(t, cli, "iam", "create-user", "--user-name", user).MustSucceed(t)
	var key struct{ AccessKey creds }
	b.Run(t, cli, "iam", "create-access-key", "--user-name", user).MustSucceed(t).JSON(t, &key)

	agent := func(ctx context.Context, name string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, b.bin, "agent", "--endpoint", b.Endpoint, "--cluster", cluster, "--region", b.Region,
			"--instance-profile", role, "--instance-type", "t3.micro", "--data-dir", filepath.Join(t.TempDir(), name),
			"--config-file", filepath.Join(t.TempDir(), "none"))
		cmd.Env = append(withoutAWSEnv(os.Environ()), "AWS_ACCESS_KEY_ID="+key.AccessKey.AccessKeyId,
			"AWS_SECRET_ACCESS_KEY="+key.AccessKey.SecretAccessKey)
		return cmd
	}
	// refused runs an agent that must give up by itself, and returns its
	// output.
	refused := func(name string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out, err := agent(ctx, name).CombinedOutput()
		if ctx.Err() != nil || err == nil {
			t.Fatalf("agent %s kept running or succeeded (err %v):\n%s", name, err, out)
		}
		return string(out)
	}

	if out := refused("no-passrole"); !strings.Contains(out, "iam:PassRole") {
		t.Fatalf("agent launched without iam:PassRole: want an error naming it, got:\n%s", out)
	}

	pass := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::` + b.AccountID + `:role/` + role + `"}]}`
	b.Run(t, cli, "iam", "put-user-policy", "--user-name", user, "--policy-name", "pass", "--policy-document", pass).MustSucceed(t)
	ctx, cancel := context.WithCancel(context.Background())
	running := agent(ctx, "allowed")
	var out bytes.Buffer
	running.Stdout, running.Stderr = &out, &out
	if err := running.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); running.Wait() }()
	eventually(t, 60*time.Second, 500*time.Millisecond, "the agent to register", func() (bool, string) {
		var list struct{ ContainerInstanceArns []string }
		b.Run(t, cli, "ecs", "list-container-instances", "--cluster", cluster).MustSucceed(t).JSON(t, &list)
		return len(list.ContainerInstanceArns) == 1, out.String()
	})
	if !strings.Contains(b.readLog(), "by=arn:aws:sts::"+b.AccountID+":assumed-role/"+role+"/i-") {
		t.Fatalf("the agent did not register as a session of %s", role)
	}

	b.Run(t, cli, "iam", "detach-role-policy", "--role-name", role, "--policy-arn", ec2Role).MustSucceed(t)
	out2 := refused("no-permissions")
	if !strings.Contains(out2, "ecs:RegisterContainerInstance") || !strings.Contains(out2, "AmazonEC2ContainerServiceforEC2Role") {
		t.Fatalf("agent whose role lacks the ECS instance permissions: want an error naming ecs:RegisterContainerInstance, got:\n%s", out2)
	}
}
