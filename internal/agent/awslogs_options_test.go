package agent

import (
	"testing"

	"github.com/berth-dev/berth/internal/acs"
)

func TestAWSLogsOptions(t *testing.T) {
	const task = "arn:aws:ecs:us-east-1:123456789012:task/default/0123abcd"
	tests := []struct {
		name       string
		hostConfig string
		ok         bool
		want       awslogsOptions
		stream     string
	}{
		{"prefix", `{"LogConfig":{"Type":"awslogs","Config":{"awslogs-group":"/ecs/web","awslogs-region":"us-east-1","awslogs-stream-prefix":"ecs","awslogs-create-group":"true"}}}`,
			true, awslogsOptions{Group: "/ecs/web", Region: "us-east-1", StreamPrefix: "ecs", CreateGroup: true}, "ecs/web/0123abcd"},
		{"no prefix names the stream after the container id", `{"LogConfig":{"Type":"awslogs","Config":{"awslogs-group":"g"}}}`,
			true, awslogsOptions{Group: "g"}, "c0ffee"},
		{"create-group not true", `{"LogConfig":{"Type":"awslogs","Config":{"awslogs-group":"g","awslogs-create-group":"no"}}}`,
			true, awslogsOptions{Group: "g"}, "c0ffee"},
		{"another driver", `{"LogConfig":{"Type":"json-file","Config":{"max-size":"1m"}}}`, false, awslogsOptions{}, ""},
		{"no log configuration", ``, false, awslogsOptions{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cd := &acs.Container{Name: "web"}
			cd.DockerConfig.HostConfig = tt.hostConfig
			got, ok := awslogsOf(cd)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("awslogsOf = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
			if ok {
				if s := got.streamName("web", task, "c0ffee"); s != tt.stream {
					t.Errorf("stream = %q, want %q", s, tt.stream)
				}
			}
		})
	}
}
