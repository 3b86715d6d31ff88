package main

import (
	"fmt"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/store"
)

func etcdCmd() *cobra.Command {
	var (
		dataDir, clientURL, logLevel, passwordFile string
		tlsFiles                                   store.TLSFiles
		retention                                  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "etcd",
		Short: "Run Berth's embedded etcd on its own, for several servers to share",
		Long: `berth etcd runs the same single-member etcd that 'berth up' and
'berth server' embed, served on --listen-client-url, so that several
'berth server --etcd-endpoints <url>' processes share one store: any of them
serves the API and one, elected, runs the schedulers. For a store that
survives the loss of a machine, use an etcd cluster of three or five
members instead.

Off loopback, serve it over TLS with client certificates: --cert-file and
--key-file for an https:// --listen-client-url, and --trusted-ca-file so that
only clients with a certificate signed by that CA may connect (etcd's
--client-cert-auth). --root-password-file turns etcd authentication on at the
first start, for user root; a client then authenticates with that password
or with a certificate whose CN is root. The member has no network peer
URL (it is a single member), so it needs no peer certificates.

It keeps --auto-compaction-retention of history, and defragments its file
when compaction has left it mostly free.`,
		Example: `  berth etcd --data-dir /var/lib/berth-etcd --listen-client-url https://10.0.0.5:2379 \
    --cert-file etcd.pem --key-file etcd-key.pem --trusted-ca-file ca.pem --root-password-file etcd-root.txt
  berth server --etcd-endpoints https://10.0.0.5:2379 --etcd-cacert ca.pem \
    --etcd-cert server1.pem --etcd-key server1-key.pem --etcd-username root --etcd-password-file etcd-root.txt`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			password, err := readSecretFile(passwordFile)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			st, err := store.Open(ctx, store.Config{DataDir: dataDir, ClientURL: clientURL, TLS: tlsFiles, Password: password,
				CompactionRetention: retention, Logger: newLogger(logLevel)})
			if err != nil {
				return err
			}
			defer st.Close()
			go st.RunMaintenance(ctx, time.Minute)
			fmt.Fprintf(cmd.OutOrStdout(), "etcd is serving at %s (data in %s)\n", clientURL, dataDir)
			<-ctx.Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", defaultDataDir(), "directory for the etcd data")
	f.StringVar(&clientURL, "listen-client-url", "http://127.0.0.1:2379", "URL to serve etcd clients on (https:// with --cert-file and --key-file)")
	f.StringVar(&tlsFiles.CertFile, "cert-file", "", "PEM certificate of the client URL")
	f.StringVar(&tlsFiles.KeyFile, "key-file", "", "PEM private key of --cert-file")
	f.StringVar(&tlsFiles.CAFile, "trusted-ca-file", "", "PEM CA bundle; clients must present a certificate it signed")
	f.StringVar(&passwordFile, "root-password-file", "", "file holding the password of etcd user root; turns etcd authentication on at the first start")
	f.DurationVar(&retention, "auto-compaction-retention", store.DefaultCompactionRetention, "history kept; older revisions are compacted")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}
