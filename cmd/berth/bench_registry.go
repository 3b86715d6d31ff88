package main

import (
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/bench"
)

func benchRegistryCmd() *cobra.Command {
	var cfg bench.RegistryConfig
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "docker push/pull throughput through Berth's registry, beside a plain registry of the same library",
		Long: `bench registry measures 'docker push' and 'docker pull' of an image of
--size-mb MB of random data in --layers layers (FROM scratch), --runs times,
through Berth's registry (ECR repository, token login) and through a plain
registry built from the same registry library (filesystem storage, no
authentication) that it starts on a free localhost port.

Every run builds a new image, so no layer is already in either registry,
and removes it from Docker before each pull, so every layer is downloaded.
The two registries take turns going first. It prints the median MB/s
(10^6 bytes of layer data per second) of each and their ratio.

Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (source the
berth.env file 'berth up' writes). Needs the docker CLI.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return bench.Registry(cmd.Context(), cmd.OutOrStdout(), cfg)
		},
	}
	targetFlags(cmd, &cfg.Target)
	cmd.Flags().IntVar(&cfg.SizeMB, "size-mb", 200, "image size in MB (random, incompressible data)")
	cmd.Flags().IntVar(&cfg.Layers, "layers", 4, "number of layers the data is split into")
	cmd.Flags().IntVar(&cfg.Runs, "runs", 5, "number of push/pull rounds")
	return cmd
}
