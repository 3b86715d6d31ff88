package ec2

import (
	"encoding/base64"
	"maps"
	"testing"
)

func TestECSConfig(t *testing.T) {
	for _, tc := range []struct {
		name, userData string
		want           map[string]string
	}{
		{"echo append", "#!/bin/bash\necho ECS_CLUSTER=demo >> /etc/ecs/ecs.config\n", map[string]string{"ECS_CLUSTER": "demo"}},
		{"quoted, with a second setting", "#!/bin/bash\necho \"ECS_CLUSTER=demo\" >> /etc/ecs/ecs.config\necho 'ECS_ENABLE_TASK_IAM_ROLE=true' >> /etc/ecs/ecs.config",
			map[string]string{"ECS_CLUSTER": "demo", "ECS_ENABLE_TASK_IAM_ROLE": "true"}},
		{"truncate then append", "#!/bin/sh\necho ECS_CLUSTER=a >> /etc/ecs/ecs.config\necho ECS_CLUSTER=b > /etc/ecs/ecs.config\necho ECS_LOGLEVEL=debug >> /etc/ecs/ecs.config",
			map[string]string{"ECS_CLUSTER": "b", "ECS_LOGLEVEL": "debug"}},
		{"tee", "#!/bin/bash\necho ECS_CLUSTER=teed | sudo tee -a /etc/ecs/ecs.config\n", map[string]string{"ECS_CLUSTER": "teed"}},
		{"heredoc after", "#!/bin/bash\ncat <<EOF >> /etc/ecs/ecs.config\nECS_CLUSTER=here\nECS_CONTAINER_STOP_TIMEOUT=10s\nEOF\necho done\n",
			map[string]string{"ECS_CLUSTER": "here", "ECS_CONTAINER_STOP_TIMEOUT": "10s"}},
		{"heredoc before, quoted, with variables", "#!/bin/bash\nCLUSTER=prod\ncat > /etc/ecs/ecs.config <<'END'\nECS_CLUSTER=$CLUSTER\nEND\n",
			map[string]string{"ECS_CLUSTER": "$CLUSTER"}},
		{"variables expanded", "#!/bin/bash\nCLUSTER=\"prod\"\necho ECS_CLUSTER=${CLUSTER} >> /etc/ecs/ecs.config\n", map[string]string{"ECS_CLUSTER": "prod"}},
		{"printf", "#!/bin/bash\nprintf 'ECS_CLUSTER=p\\nECS_LOGLEVEL=warn\\n' >> /etc/ecs/ecs.config\n", map[string]string{"ECS_CLUSTER": "p", "ECS_LOGLEVEL": "warn"}},
		{"other files are not the config", "#!/bin/bash\necho ECS_CLUSTER=x >> /tmp/ecs.config\nyum install -y htop\n", map[string]string{}},
		{"cloud-config", "#cloud-config\nwrite_files:\n  - path: /etc/ecs/ecs.config\n    content: |\n      ECS_CLUSTER=cc\n      ECS_LOGLEVEL=info\n",
			map[string]string{"ECS_CLUSTER": "cc", "ECS_LOGLEVEL": "info"}},
		{"cloud-config runcmd", "#cloud-config\nruncmd:\n  - echo ECS_CLUSTER=run >> /etc/ecs/ecs.config\n", map[string]string{"ECS_CLUSTER": "run"}},
		{"multipart", "Content-Type: multipart/mixed; boundary=\"XX\"\nMIME-Version: 1.0\n\n--XX\nContent-Type: text/x-shellscript\n\n#!/bin/bash\necho ECS_CLUSTER=mime >> /etc/ecs/ecs.config\n--XX--\n",
			map[string]string{"ECS_CLUSTER": "mime"}},
		{"garbage", "\x00\x01not a script", map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, form := range []string{tc.userData, base64.StdEncoding.EncodeToString([]byte(tc.userData))} {
				if got := ECSConfig(form); !maps.Equal(got, tc.want) {
					t.Fatalf("ECSConfig = %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func FuzzECSConfig(f *testing.F) {
	f.Add("#!/bin/bash\necho ECS_CLUSTER=demo >> /etc/ecs/ecs.config\n")
	f.Add("#cloud-config\nwrite_files:\n  - path: /etc/ecs/ecs.config\n")
	f.Fuzz(func(t *testing.T, s string) { ECSConfig(s) })
}
