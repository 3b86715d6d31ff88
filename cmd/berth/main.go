// Command berth runs Amazon ECS, ECR and the EC2 instances under them on your
// own machines.
package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	// Everything Berth writes — its etcd, credentials files, registry
	// content, agent sockets and state — is its owner's alone, whatever
	// umask it was started with.
	syscall.Umask(0o077)
	root := &cobra.Command{
		Use:   "berth",
		Short: "Amazon ECS, ECR and EC2 instances on your own machines",
		Long: `Berth runs the Amazon ECS control plane, ECR, IAM, CloudWatch Logs and the
EC2 instances (in a VPC, with security groups) that run the tasks as real
Docker containers, on hardware you own. The aws CLI, the AWS SDKs and docker
work against it unchanged with --endpoint-url. Fargate is not offered yet.

Start everything on this machine:    berth up
Then, in another shell:              source ~/.berth/berth.env
                                     aws ecs list-clusters --endpoint-url "$AWS_ENDPOINT_URL"`,
		SilenceUsage: true,
	}
	root.AddCommand(upCmd(), serverCmd(), agentCmd(), etcdCmd(), benchCmd(), versionCmd())
	if err := root.Execute(); err != nil {
		os.Exit(1)
	}
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print Berth's version",
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "berth %s\n", version)
		},
	}
}

// defaultDataDir is $BERTH_DATA_DIR, else ~/.berth.
func defaultDataDir() string {
	if d := os.Getenv("BERTH_DATA_DIR"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".berth"
	}
	return filepath.Join(home, ".berth")
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}
