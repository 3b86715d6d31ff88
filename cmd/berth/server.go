package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/ec2"
	"github.com/berth-dev/berth/internal/ecr"
	"github.com/berth-dev/berth/internal/ecs"
	"github.com/berth-dev/berth/internal/iam"
	"github.com/berth-dev/berth/internal/server"
	"github.com/berth-dev/berth/internal/store"
)

// serverFlags are shared by `berth server` and `berth up`.
type serverFlags struct {
	dataDir, listen, region, account, etcd, advertise, logLevel, registryHost string
	defaultVPC                                                                string
	tlsCert, tlsKey                                                           string
	etcdCert, etcdKey, etcdCA, etcdUser, etcdPasswordFile                     string
	alsoListen                                                                []string
	lbAddresses                                                               []string
	registryStorage                                                           storageFlag
	heartbeat, lostAgentGrace, leaderTTL, roleCredentials                     time.Duration
}

func (f *serverFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.dataDir, "data-dir", defaultDataDir(), "directory for state (embedded etcd, credentials)")
	cmd.Flags().StringVar(&f.listen, "listen", "127.0.0.1:4600", "address of the API listener (all AWS APIs, the registry, agents)")
	cmd.Flags().StringVar(&f.region, "region", "us-east-1", "AWS region this server serves")
	cmd.Flags().StringVar(&f.account, "account-id", "123456789012", "12-digit account id, used on first start")
	cmd.Flags().StringVar(&f.etcd, "etcd-endpoints", "", "comma-separated external etcd endpoints; empty runs an embedded etcd in --data-dir")
	cmd.Flags().StringVar(&f.etcdCA, "etcd-cacert", "", "PEM CA bundle that signed the etcd servers' certificates (https endpoints)")
	cmd.Flags().StringVar(&f.etcdCert, "etcd-cert", "", "PEM client certificate to present to etcd (with --etcd-key)")
	cmd.Flags().StringVar(&f.etcdKey, "etcd-key", "", "PEM private key of --etcd-cert")
	cmd.Flags().StringVar(&f.etcdUser, "etcd-username", "", "etcd user when etcd authentication is on (with --etcd-password-file; a client certificate alone authenticates as its CN)")
	cmd.Flags().StringVar(&f.etcdPasswordFile, "etcd-password-file", "", "file holding the password of --etcd-username")
	cmd.Flags().StringVar(&f.advertise, "advertise-url", "", "URL agents use to reach this server (default http://<listen>)")
	cmd.Flags().StringVar(&f.registryHost, "registry-host", "", "host[:port] of ECR repository URIs (default localhost:<port> for a loopback --listen)")
	cmd.Flags().Var(&f.registryStorage, "registry-storage", "where the registry keeps image content: empty for --data-dir, or s3://BUCKET[/PREFIX][?region=R&endpoint=URL&forcepathstyle=true] (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE); servers sharing etcd must share a bucket")
	cmd.Flags().StringVar(&f.tlsCert, "tls-cert", "", "PEM certificate to serve HTTPS with (with --tls-key); Docker on other hosts needs it for the registry")
	cmd.Flags().StringVar(&f.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	cmd.Flags().StringArrayVar(&f.lbAddresses, "lb-address", nil, "another IP address the load balancers' listeners bind on their ports besides 127.0.0.1 (repeatable; 0.0.0.0 binds every address)")
	cmd.Flags().StringArrayVar(&f.alsoListen, "also-listen", nil, "another IP address to serve the API port on (repeatable), e.g. the Docker bridge gateway 172.17.0.1 so that containers reach Berth; berth up adds the bridge gateway itself")
	cmd.Flags().DurationVar(&f.heartbeat, "heartbeat", 30*time.Second, "interval of ACS heartbeats to agents")
	cmd.Flags().DurationVar(&f.lostAgentGrace, "lost-agent-grace", time.Minute, "how long an instance's agent may stay disconnected before its service tasks are replaced elsewhere")
	cmd.Flags().DurationVar(&f.leaderTTL, "leader-ttl", 5*time.Second, "lease of the leader among servers sharing etcd (it runs the schedulers and the other leader-only controllers): a dead leader is replaced after about this long")
	cmd.Flags().DurationVar(&f.roleCredentials, "role-credentials-duration", iam.DefaultServiceSessionDuration, "lifetime of the temporary credentials of instance, task and execution roles (renewed well before they expire)")
	cmd.Flags().StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	cmd.Flags().StringVar(&f.defaultVPC, "default-vpc-cidr", ec2.DefaultVPCCIDR, "range of the default VPC created at the first start (AWS's is 172.31.0.0/16; give another, /16 to /18, to run two Berths on one machine without their instance addresses meeting)")
}

func (f *serverFlags) config() (server.Config, error) {
	var eps []string
	if f.etcd != "" {
		eps = strings.Split(f.etcd, ",")
	}
	password, err := readSecretFile(f.etcdPasswordFile)
	if err != nil {
		return server.Config{}, err
	}
	if len(eps) == 0 && (f.etcdCA != "" || f.etcdCert != "" || f.etcdKey != "" || f.etcdUser != "" || password != "") {
		return server.Config{}, errors.New("--etcd-cacert, --etcd-cert, --etcd-key, --etcd-username and --etcd-password-file apply to --etcd-endpoints")
	}
	return server.Config{
		DataDir: f.dataDir, Listen: f.listen, Region: f.region, AccountID: f.account,
		EtcdEndpoints: eps, EtcdTLS: store.TLSFiles{CertFile: f.etcdCert, KeyFile: f.etcdKey, CAFile: f.etcdCA}, EtcdUsername: f.etcdUser, EtcdPassword: password, AdvertiseURL: f.advertise, RegistryHost: f.registryHost, RegistryStorage: f.registryStorage.Storage, TLSCertFile: f.tlsCert, TLSKeyFile: f.tlsKey, Heartbeat: f.heartbeat, RoleCredentialsDuration: f.roleCredentials, AlsoListenOn: f.alsoListen, LoadBalancerAddresses: f.lbAddresses, Logger: newLogger(f.logLevel),
		Scheduler: ecs.SchedulerOptions{LostAgentGrace: f.lostAgentGrace}, LeaderTTL: f.leaderTTL, DefaultVPCCIDR: f.defaultVPC,
	}, nil
}

// readSecretFile reads a password from a file (not a flag, which any user
// sees in the process list), without its trailing newline; "" for no file.
func readSecretFile(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}

// storageFlag is --registry-storage, parsed when flags are, so a bad value
// stops the command before anything starts.
type storageFlag struct{ ecr.Storage }

func (f *storageFlag) Set(s string) (err error) {
	f.Storage, err = ecr.ParseStorage(s)
	return err
}

func (f *storageFlag) Type() string { return "url" }

func serverCmd() *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane: every AWS API on one listener, state in etcd",
		Long: `berth server runs the control plane only: the ECS API, the agent
communication service (ACS) and the schedulers, with all state in etcd.
Agents join it with 'berth agent --endpoint <url>'.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			cfg, err := f.config()
			if err != nil {
				return err
			}
			srv, err := server.Start(ctx, cfg)
			if err != nil {
				return err
			}
			printAccess(cmd.OutOrStdout(), srv, "")
			select {
			case <-ctx.Done():
			case err := <-srv.Done():
				srv.Close()
				return err
			}
			return srv.Close()
		},
	}
	f.register(cmd)
	return cmd
}
