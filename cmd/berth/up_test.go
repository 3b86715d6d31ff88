package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/auth"
	"github.com/berth-dev/berth/internal/server"
)

// TestAgentLaunchKeysStayOutOfTheEnvironment starts an agent process the
// way berth up does, with the root keys also in berth up's environment (as
// after `source berth.env`): the keys reach the child only through its
// config file, of mode 0600, never its /proc/<pid>/environ.
func TestAgentLaunchKeysStayOutOfTheEnvironment(t *testing.T) {
	acct := auth.Account{ID: "123456789012", RootAccessKeyID: "AKIATESTTESTTEST0001", RootSecretAccessKey: "sEcReT/launch+key0123456789abcdefghijklm"}
	t.Setenv("AWS_ACCESS_KEY_ID", acct.RootAccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", acct.RootSecretAccessKey)
	dir := filepath.Join(t.TempDir(), "instances", "0")
	// A stale file with a loose mode is replaced, not reused.
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, "launch-keys.config"), []byte("old"), 0o644)
	path, err := writeLaunchKeys(dir, acct)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s has mode %v, want 0600", path, fi.Mode().Perm())
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), "AWS_SECRET_ACCESS_KEY="+acct.RootSecretAccessKey+"\n") {
		t.Fatalf("%s = %q, want the secret key", path, b)
	}
	// sh -c takes the trailing --config-file arguments as $0 and $1; env
	// prints the environment the kernel handed the exec'ed child. (Reading
	// /proc/<pid>/environ instead races with the exec and can come back cut.)
	var out bytes.Buffer
	c := agentCommand("/bin/sh", []string{"-c", "exec env -0", "--config-file", path}, &out)
	if err := c.Run(); err != nil {
		t.Fatalf("run the child: %v (%s)", err, out.Bytes())
	}
	environ := out.Bytes()
	if len(environ) == 0 {
		t.Fatal("the child printed no environment")
	}
	if bytes.Contains(environ, []byte(acct.RootSecretAccessKey)) || bytes.Contains(environ, []byte("AWS_ACCESS_KEY_ID=")) {
		t.Fatalf("the agent's environment holds launch keys: %q", environ)
	}
	if !bytes.Contains(environ, []byte("PATH=")) {
		t.Fatalf("the agent's environment lost the rest: %q", environ)
	}
}

// TestPrintAccessShowsTheSecretOnce: the root secret is printed when the
// account was created by this start, and never after.
func TestPrintAccessShowsTheSecretOnce(t *testing.T) {
	srv := &server.Server{Account: auth.Account{ID: "123456789012", RootAccessKeyID: "AKIAX", RootSecretAccessKey: "very-secret"}, Endpoint: "http://127.0.0.1:4600", Region: "us-east-1"}
	for _, tc := range []struct {
		created bool
		dataDir string
		want    string
	}{
		{true, "/d", "secret key: very-secret"},
		{false, "/d", "secret key: keys in /d/berth.env"},
		{false, "", "secret key: (shown at the first start only)"},
	} {
		srv.AccountCreated = tc.created
		var out bytes.Buffer
		printAccess(&out, srv, tc.dataDir)
		if !strings.Contains(out.String(), tc.want) || !tc.created && strings.Contains(out.String(), "very-secret") {
			t.Errorf("created=%v: printed %q, want %q", tc.created, out.String(), tc.want)
		}
	}
}
