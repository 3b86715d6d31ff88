package placement

import (
	"strings"
	"testing"
	"time"
)

func fixture() *Instance {
	return &Instance{
		ARN: "arn:aws:ecs:us-east-1:123456789012:container-instance/default/a", EC2InstanceID: "i-0123456789abcdef0",
		Status: "ACTIVE", Connected: true, AgentVersion: "1.80.0", RunningTasks: 3,
		RegisteredAt: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC),
		Attributes: map[string]string{
			"ecs.instance-type": "t3.medium", "ecs.availability-zone": "us-east-1a", "ecs.os-type": "linux",
			"stack": "prod", "gpu": "", "cores": "16",
		},
		TaskGroups: map[string]int{"service:web": 2, "family:batch": 1},
	}
}

func TestParseAndEval(t *testing.T) {
	tests := []struct {
		expr string
		want bool
	}{
		// Examples from the ECS cluster query language documentation.
		{"attribute:ecs.instance-type == t3.medium", true},
		{"attribute:ecs.instance-type =~ t3.*", true},
		{"attribute:ecs.instance-type =~ g2.*", false},
		{"attribute:ecs.instance-type !~ t3.*", false},
		{"attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", true},
		{"attribute:ecs.availability-zone not_in [us-east-1a, us-east-1b]", false},
		{"attribute:ecs.availability-zone in ['us-east-1c']", false},
		{"task:group == service:web", true},
		{"task:group == service:api", false},
		{"task:group != service:api", true},  // no task of that group here
		{"task:group != service:web", false}, // a task of that group runs here
		{"not(task:group == service:api)", true},
		{"agentConnected == true", true},
		{"agentVersion >= 1.11.0", true},
		{"agentVersion < 1.9.0", false},
		{"ec2InstanceId in ['i-abcd1234', 'i-0123456789abcdef0']", true},
		{"registeredAt > 2026-01-01", true},
		{"registeredAt < 2026-01-01T00:00:00Z", false},
		{"runningTasksCount <= 3", true},
		{"runningTasksCount > 3", false},
		{"attribute:cores > 8", true}, // numeric, not lexicographic
		{"attribute:gpu exists", true},
		{"attribute:fpga exists", false},
		{"attribute:fpga != x", true}, // a missing attribute differs from every value
		{"attribute:fpga == x", false},
		{"attribute:stack == prod and attribute:ecs.os-type == linux", true},
		{"attribute:stack == dev or attribute:ecs.os-type == linux", true},
		{"attribute:stack == dev && attribute:ecs.os-type == linux", false},
		{"(attribute:stack == dev or attribute:stack == prod) and not attribute:fpga exists", true},
		{"! (attribute:stack == prod)", false},
		{"attribute:ecs.instance-type=~t3.*", true}, // operators need no spaces
		{"attribute:stack == \"prod\"", true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			e, err := ParseExpr(tt.expr)
			if err != nil {
				t.Fatalf("ParseExpr: %v", err)
			}
			if got := e.Eval(fixture()); got != tt.want {
				t.Fatalf("Eval = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"", "unexpected end"},
		{"attribute:stack ==", "needs a value"},
		{"attribute:stack", "needs an operator"},
		{"colour == red", "unknown subject"},
		{"attribute: == x", "needs an attribute name"},
		{"attribute:a === b", "unknown operator"},
		{"(attribute:a == b", "missing closing parenthesis"},
		{"attribute:a == b)", "unexpected"},
		{"attribute:a in [x, y", "unterminated list"},
		{"attribute:a in x", "need a list"},
		{"attribute:a in []", "empty list"},
		{"attribute:a == 'b", "unterminated quote"},
		{"attribute:a == b and", "unexpected end"},
		{strings.Repeat("a", MaxExpressionLength+1), "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := ParseExpr(tt.expr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseExpr(%q) = %v, want error containing %q", tt.expr, err, tt.want)
			}
		})
	}
}

func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{
		"attribute:ecs.instance-type =~ t3.*", "task:group == service:web and not(agentConnected == false)",
		"attribute:a in [x, 'y', \"z\"]", "(((", "registeredAt > 2020-01-01 || runningTasksCount < 5",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExpr(s)
		if err != nil {
			return
		}
		e.Eval(fixture()) // must not panic
		e.Eval(&Instance{})
	})
}
