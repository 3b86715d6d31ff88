package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestRegistryStorageFlag: --registry-storage reaches the server's
// configuration, and a bad value fails flag parsing, before anything starts.
func TestRegistryStorageFlag(t *testing.T) {
	for _, tc := range []struct {
		arg        string
		wantBucket string // "" for the data dir
		wantErr    string
	}{
		{arg: ""},
		{arg: "s3://images/berth?region=eu-west-1", wantBucket: "images"},
		{arg: "s3://images?endpoint=http://127.0.0.1:9000&forcepathstyle=true", wantBucket: "images"},
		{arg: "s3://", wantErr: "no bucket"},
		{arg: "gs://images", wantErr: `unsupported scheme "gs"`},
		{arg: "/var/lib/berth/registry", wantErr: "unsupported scheme"},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			var f serverFlags
			cmd := &cobra.Command{Use: "server"}
			f.register(cmd)
			err := cmd.ParseFlags([]string{"--registry-storage", tc.arg})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "--registry-storage") {
					t.Fatalf("parse --registry-storage %q = %v, want an error naming the flag and %q", tc.arg, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := f.config()
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.RegistryStorage
			if (got.S3 == nil) != (tc.wantBucket == "") || (got.S3 != nil && got.S3.Bucket != tc.wantBucket) {
				t.Fatalf("--registry-storage %q configured %+v, want bucket %q", tc.arg, got.S3, tc.wantBucket)
			}
		})
	}
}
