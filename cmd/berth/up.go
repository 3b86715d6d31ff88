package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/agent/dockerrt"
	"github.com/berth-dev/berth/internal/auth"
	"github.com/berth-dev/berth/internal/instancetype"
	"github.com/berth-dev/berth/internal/server"
	"github.com/berth-dev/berth/internal/vpc"
)

func upCmd() *cobra.Command {
	var (
		f            serverFlags
		instances    int
		instanceType string
		cluster      string
		profile      string
		hf           hostFlags
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run everything on this machine: control plane, and EC2 instances that run tasks",
		Long: `berth up starts the control plane (all AWS APIs, embedded etcd) and makes
this machine an EC2 host: every instance RunInstances gives it gets a
private address of its subnet (on the bridge --vpc-bridge, where its
published ports listen), its security groups enforced in iptables, a
control group of its instance type's size, and a 'berth agent' process that
joins the cluster its user data names and runs tasks with Docker.

At the first start it launches --instances such instances itself, into the
default VPC's subnets one zone after the other (us-east-1a, -b, -c), in
security group berth-up (all inbound traffic allowed), joining --cluster;
later starts launch only the missing ones. Reach a task at its
networkBindings' bindIP and hostPort.

At every start it prints the endpoint, region, account id and access key
(the secret key at the first start only), and writes the credentials to the
data dir as an AWS shared-credentials file (profile 'berth') and an env file
you can source:

  source ~/.berth/berth.env
  aws ecs describe-clusters --endpoint-url "$AWS_ENDPOINT_URL"

The instances act as the role of instance profile ecsInstanceRole (see
--instance-profile), created at the first start with the role of the same
name and AmazonEC2ContainerServiceforEC2Role attached, as the ECS console
does.

Tasks find Berth as containers on ECS find AWS: AWS_ENDPOINT_URL points at
the server through the Docker bridge gateway (berth up listens there too),
and a task with a taskRoleArn gets that role's credentials from
169.254.170.2, which the agents set up with iptables as ecs-init does
(this needs root; without it the instances offer no task roles).

Stopping berth up (Ctrl-C) stops the agents; containers keep running and
are adopted again at the next start. Without root, instances share this
machine's ports and security groups are not enforced.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, ok := instancetype.Lookup(instanceType); !ok {
				return fmt.Errorf("unknown --instance-type %q; known: %s", instanceType, strings.Join(instancetype.Names(), ", "))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			cfg, err := f.config()
			if err != nil {
				return err
			}
			if instances > 0 {
				rt, err := dockerrt.New(ctx)
				if err != nil {
					return fmt.Errorf("berth up runs its instances' tasks with Docker, but %w\n(start dockerd, or use --instances 0 for the control plane only)", err)
				}
				// Containers reach the APIs on the bridge's gateway
				// (AWS_ENDPOINT_URL in tasks).
				if bridge, err := rt.DefaultBridge(ctx); err == nil && loopback(cfg.Listen) {
					cfg.AlsoListenOn = append(cfg.AlsoListenOn, bridge.Gateway)
				}
				rt.Close()
			}
			srv, err := server.Start(ctx, cfg)
			if err != nil {
				return err
			}
			defer srv.Close()
			if err := srv.ECS.EnsureCluster(ctx, cluster); err != nil {
				return err
			}
			if profile != "" {
				if err := srv.IAM.EnsureInstanceRole(ctx, profile); err != nil {
					return fmt.Errorf("set up instance profile %s: %w", profile, err)
				}
			}
			if err := writeAccessFiles(f.dataDir, srv); err != nil {
				return err
			}
			printAccess(cmd.OutOrStdout(), srv, f.dataDir)
			self, err := os.Executable()
			if err != nil {
				return err
			}
			host, err := startHost(ctx, srv, f, hf, self, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer host.stop()
			if err := launchLocalInstances(ctx, srv, host.id, instances, instanceType, cluster, profile); err != nil {
				return err
			}
			select {
			case <-ctx.Done():
			case err = <-srv.Done():
			}
			stop()
			return err
		},
	}
	f.register(cmd)
	cmd.Flags().IntVar(&instances, "instances", 2, "number of instances berth up launches on this machine (with RunInstances) and keeps")
	cmd.Flags().StringVar(&instanceType, "instance-type", "t3.medium", "instance type whose vCPUs and memory each instance registers")
	cmd.Flags().StringVar(&cluster, "cluster", "default", "cluster the local instances join")
	cmd.Flags().StringVar(&hf.bridge, "vpc-bridge", vpc.DefaultBridge, "bridge that holds the instances' private addresses")
	cmd.Flags().StringVar(&hf.chainPrefix, "vpc-chain-prefix", "BERTH", "prefix of the iptables chains that enforce security groups (at most 13 characters; another Berth on this machine needs its own)")
	cmd.Flags().StringVar(&profile, "instance-profile", "ecsInstanceRole", "IAM instance profile the local instances act as; created with its role (AmazonEC2ContainerServiceforEC2Role) when missing; empty: the account's root keys")
	return cmd
}

// agentCommand is an agent process. Its keys come from its config file
// (writeLaunchKeys), never the environment, which any process of the same
// user reads in /proc and which Docker's and the agent's children inherit:
// keys in berth up's own environment are left out.
func agentCommand(self string, args []string, stderr io.Writer) *exec.Cmd {
	c := exec.Command(self, args...)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
			"BERTH_ROOT_ACCESS_KEY_ID", "BERTH_ROOT_SECRET_ACCESS_KEY":
			continue
		}
		c.Env = append(c.Env, kv)
	}
	c.Stdout, c.Stderr = stderr, stderr
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return c
}

// writeLaunchKeys writes the keys a local instance's agent starts with,
// and its other settings (KEY=VALUE), as an ecs.config file in dir that
// only its owner may read, and returns its path. The file is replaced
// whole, so an older one's mode does not stay.
func writeLaunchKeys(dir string, acct auth.Account, settings ...string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "launch-keys.config")
	tmp, err := os.CreateTemp(dir, ".launch-keys-*") // mode 0600 whatever the umask
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	_, err = fmt.Fprintf(tmp, "AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n", acct.RootAccessKeyID, acct.RootSecretAccessKey)
	for _, kv := range settings {
		if err == nil {
			_, err = fmt.Fprintln(tmp, kv)
		}
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return "", fmt.Errorf("write the agents' launch keys: %w", err)
	}
	return path, nil
}

// localInstancePolicy is what berth up's local instances refuse tasks:
// they share the host with Berth itself, so no privileged container and no
// bind mount of Berth's data dir, Docker's socket or the host's root.
func localInstancePolicy(dataDir string) []string {
	if abs, err := filepath.Abs(dataDir); err == nil {
		dataDir = abs
	}
	return []string{"ECS_DISABLE_PRIVILEGED=true",
		"BERTH_PROTECTED_HOST_PATHS=" + strings.Join([]string{dataDir, "/var/run/docker.sock", "/run/docker.sock", "/"}, ",")}
}

// writeAccessFiles writes the credentials as an AWS shared-credentials file
// (profile berth), an AWS config file and an env file.
func writeAccessFiles(dir string, srv *server.Server) error {
	creds := fmt.Sprintf("[berth]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
		srv.Account.RootAccessKeyID, srv.Account.RootSecretAccessKey)
	config := fmt.Sprintf("[profile berth]\nregion = %s\nendpoint_url = %s\n", srv.Region, srv.Endpoint)
	env := fmt.Sprintf("AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\nAWS_REGION=%s\nAWS_DEFAULT_REGION=%s\nAWS_ENDPOINT_URL=%s\nBERTH_ACCOUNT_ID=%s\n",
		srv.Account.RootAccessKeyID, srv.Account.RootSecretAccessKey, srv.Region, srv.Region, srv.Endpoint, srv.Account.ID)
	for name, content := range map[string]string{"credentials": creds, "config": config, "berth.env": env} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// printAccess says how to reach Berth. The root secret is shown at the
// first start only; later it is only in the files (or the store).
func printAccess(w io.Writer, srv *server.Server, dataDir string) {
	secret := srv.Account.RootSecretAccessKey
	if !srv.AccountCreated {
		secret = "(shown at the first start only)"
		if dataDir != "" {
			secret = "keys in " + filepath.Join(dataDir, "berth.env")
		}
	}
	fmt.Fprintf(w, "Berth is up.\n  endpoint:   %s\n  region:     %s\n  account id: %s\n  access key: %s\n  secret key: %s\n",
		srv.Endpoint, srv.Region, srv.Account.ID, srv.Account.RootAccessKeyID, secret)
	if dataDir != "" {
		fmt.Fprintf(w, "  credentials: %s (profile berth)\n  env file:    %s\n\nTry:  source %s && aws ecs list-clusters --endpoint-url \"$AWS_ENDPOINT_URL\"\n",
			filepath.Join(dataDir, "credentials"), filepath.Join(dataDir, "berth.env"), filepath.Join(dataDir, "berth.env"))
	}
}

// loopback reports whether a listen address is on a loopback interface.
func loopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}
