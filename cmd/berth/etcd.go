package main

import (
	"fmt"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/store"
)

func etcdCmd() *cobra.Command {
	var dataDir, clientURL, logLevel string
	cmd := &cobra.Command{
		Use:   "etcd",
		Short: "Run Berth's embedded etcd on its own, for several servers to share",
		Long: `berth etcd runs the same single-member etcd that 'berth up' and
'berth server' embed, served on --listen-client-url, so that several
'berth server --etcd-endpoints <url>' processes share one store: any of them
serves the API and one, elected, runs the schedulers. For a store that
survives the loss of a machine, use an etcd cluster of three or five
members instead.`,
		Example: `  berth etcd --data-dir /var/lib/berth-etcd --listen-client-url http://127.0.0.1:2379
  berth server --etcd-endpoints http://127.0.0.1:2379 --listen 127.0.0.1:4600
  berth server --etcd-endpoints http://127.0.0.1:2379 --listen 127.0.0.1:4601`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			st, err := store.Open(ctx, store.Config{DataDir: dataDir, ClientURL: clientURL, Logger: newLogger(logLevel)})
			if err != nil {
				return err
			}
			defer st.Close()
			fmt.Fprintf(cmd.OutOrStdout(), "etcd is serving at %s (data in %s)\n", clientURL, dataDir)
			<-ctx.Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", defaultDataDir(), "directory for the etcd data")
	cmd.Flags().StringVar(&clientURL, "listen-client-url", "http://127.0.0.1:2379", "URL to serve etcd clients on")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}
