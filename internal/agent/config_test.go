package agent

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestECSConfigFileAndEnvironment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ecs.config")
	os.WriteFile(path, []byte(`# written by user data
ECS_CLUSTER=from-file
ECS_BACKEND_HOST=http://berth.internal:4600
ECS_INSTANCE_ATTRIBUTES={"stack":"prod","team":"core"}
ECS_RESERVED_MEMORY=256
ECS_RESERVED_PORTS=[8000, 8001]
ECS_CONTAINER_STOP_TIMEOUT=45s
ECS_ENABLE_TASK_ENI=true
AWS_ACCESS_KEY_ID=AKIDFILE
AWS_SECRET_ACCESS_KEY=secretfile
`), 0o600)
	file, err := LoadConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The environment wins over the file, flags win over both.
	t.Setenv("ECS_CLUSTER", "from-env")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	os.Unsetenv("AWS_ACCESS_KEY_ID")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	os.Unsetenv("AWS_SECRET_ACCESS_KEY")
	cfg := Config{Attributes: map[string]string{"team": "from-flag"}}
	if err := cfg.ApplyECSEnv(file); err != nil {
		t.Fatal(err)
	}
	want := Config{Endpoint: "http://berth.internal:4600", Cluster: "from-env", Region: "us-east-1", ReservedMemory: 256,
		StopTimeout: 45 * time.Second, CleanupWait: 3 * time.Hour, AccessKeyID: "AKIDFILE", SecretAccessKey: "secretfile"}
	if cfg.Endpoint != want.Endpoint || cfg.Cluster != want.Cluster || cfg.ReservedMemory != want.ReservedMemory ||
		cfg.StopTimeout != want.StopTimeout || cfg.CleanupWait != want.CleanupWait || cfg.AccessKeyID != want.AccessKeyID || !cfg.TaskENI {
		t.Fatalf("config = %+v", cfg)
	}
	if cfg.Attributes["stack"] != "prod" || cfg.Attributes["team"] != "from-flag" {
		t.Fatalf("attributes = %v", cfg.Attributes)
	}
	if len(cfg.ReservedPorts) != 2 || cfg.ReservedPorts[1] != 8001 {
		t.Fatalf("reserved ports = %v", cfg.ReservedPorts)
	}
}

func TestECSConfigErrors(t *testing.T) {
	for name, content := range map[string]string{
		"not key=value":    "ECS_CLUSTER\n",
		"bad attributes":   "ECS_INSTANCE_ATTRIBUTES=stack=prod\nECS_BACKEND_HOST=http://x\nAWS_ACCESS_KEY_ID=a\nAWS_SECRET_ACCESS_KEY=b\n",
		"bad stop timeout": "ECS_CONTAINER_STOP_TIMEOUT=soon\nECS_BACKEND_HOST=http://x\nAWS_ACCESS_KEY_ID=a\nAWS_SECRET_ACCESS_KEY=b\n",
		"no endpoint":      "AWS_ACCESS_KEY_ID=a\nAWS_SECRET_ACCESS_KEY=b\n",
	} {
		t.Run(name, func(t *testing.T) {
			for _, k := range []string{"ECS_BACKEND_HOST", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ECS", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			path := filepath.Join(t.TempDir(), "ecs.config")
			os.WriteFile(path, []byte(content), 0o600)
			file, err := LoadConfigFile(path)
			if err == nil {
				var cfg Config
				err = cfg.ApplyECSEnv(file)
			}
			if err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if vals, err := LoadConfigFile(filepath.Join(t.TempDir(), "missing")); err != nil || len(vals) != 0 {
		t.Fatalf("a missing file must read as empty: %v %v", vals, err)
	}
}
