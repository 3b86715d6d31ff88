package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/berth-dev/berth/internal/testutil"
)

// exampleTaskDef loads docs/examples/web.json, the task definition the
// README's quickstart registers, as a generic JSON object.
func exampleTaskDef(t *testing.T) map[string]any {
	t.Helper()
	root, err := testutil.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "docs", "examples", "web.json"))
	if err != nil {
		t.Fatal(err)
	}
	var td map[string]any
	if err := json.Unmarshal(data, &td); err != nil {
		t.Fatalf("docs/examples/web.json: %v", err)
	}
	return td
}

// firstContainer returns the first container definition of a generic task
// definition, for tests to modify.
func firstContainer(t *testing.T, td map[string]any) map[string]any {
	t.Helper()
	cds, _ := td["containerDefinitions"].([]any)
	if len(cds) == 0 {
		t.Fatalf("task definition has no containerDefinitions: %v", td)
	}
	c, ok := cds[0].(map[string]any)
	if !ok {
		t.Fatalf("containerDefinitions[0] is not an object: %v", cds[0])
	}
	return c
}

// TestTaskDefinitions registers, describes, lists and deregisters task
// definitions from a JSON file with the aws CLI v2.
func TestTaskDefinitions(t *testing.T) {
	b := shared(t)
	cli := requireCLIv2(t)
	family := uniqueName("e2e-td")
	td := exampleTaskDef(t)
	td["family"] = family
	file := writeJSON(t, "taskdef.json", td)
	arn := func(rev string) string {
		return "arn:aws:ecs:us-east-1:" + b.AccountID + ":task-definition/" + family + ":" + rev
	}

	// Register the same file twice: revisions 1 and 2.
	for rev := 1; rev <= 2; rev++ {
		var out taskDefinitionOutput
		b.Run(t, cli, "ecs", "register-task-definition", "--cli-input-json", file).MustSucceed(t).JSON(t, &out)
		got := out.TaskDefinition
		if got.Family != family || got.Revision != rev || got.Status != "ACTIVE" || got.TaskDefinitionArn != arn(strconv.Itoa(rev)) {
			t.Fatalf("registration %d: want ACTIVE %s, got %s", rev, arn(strconv.Itoa(rev)), pretty(got))
		}
		if got.NetworkMode != "bridge" || !slices.Contains(got.Compatibilities, "EC2") {
			t.Errorf("registration %d: want networkMode bridge and EC2 compatibility, got %s", rev, pretty(got))
		}
		if len(got.ContainerDefinitions) != 1 {
			t.Fatalf("registration %d: want 1 container, got %s", rev, pretty(got))
		}
		c := got.ContainerDefinitions[0]
		if c.Name != "web" || c.Cpu != 128 || intOr(c.Memory, 0) != 128 || c.Essential == nil || !*c.Essential ||
			len(c.PortMappings) != 1 || intOr(c.PortMappings[0].ContainerPort, 0) != 8080 || intOr(c.PortMappings[0].HostPort, -1) != 0 {
			t.Errorf("registration %d: container not as in docs/examples/web.json: %s", rev, pretty(c))
		}
	}

	// describe by family → the latest revision; by family:1 → revision 1.
	var desc taskDefinitionOutput
	b.Run(t, cli, "ecs", "describe-task-definition", "--task-definition", family).MustSucceed(t).JSON(t, &desc)
	if desc.TaskDefinition.Revision != 2 || desc.TaskDefinition.TaskDefinitionArn != arn("2") {
		t.Errorf("describe-task-definition %s: want revision 2, got %s", family, pretty(desc.TaskDefinition))
	}
	b.Run(t, cli, "ecs", "describe-task-definition", "--task-definition", family+":1").MustSucceed(t).JSON(t, &desc)
	if desc.TaskDefinition.Revision != 1 {
		t.Errorf("describe-task-definition %s:1: got revision %d", family, desc.TaskDefinition.Revision)
	}

	var list struct {
		TaskDefinitionArns []string `json:"taskDefinitionArns"`
	}
	b.Run(t, cli, "ecs", "list-task-definitions", "--family-prefix", family).MustSucceed(t).JSON(t, &list)
	if !slices.Equal(list.TaskDefinitionArns, []string{arn("1"), arn("2")}) {
		t.Errorf("list-task-definitions --family-prefix %s: want [%s %s], got %v", family, arn("1"), arn("2"), list.TaskDefinitionArns)
	}
	var fams struct {
		Families []string `json:"families"`
	}
	b.Run(t, cli, "ecs", "list-task-definition-families", "--family-prefix", family).MustSucceed(t).JSON(t, &fams)
	if !slices.Equal(fams.Families, []string{family}) {
		t.Errorf("list-task-definition-families --family-prefix %s: got %v", family, fams.Families)
	}

	// deregister revision 1 → INACTIVE; only revision 2 stays ACTIVE.
	var dereg taskDefinitionOutput
	b.Run(t, cli, "ecs", "deregister-task-definition", "--task-definition", family+":1").MustSucceed(t).JSON(t, &dereg)
	if dereg.TaskDefinition.Status != "INACTIVE" || dereg.TaskDefinition.Revision != 1 {
		t.Errorf("deregister-task-definition: want revision 1 INACTIVE, got %s", pretty(dereg.TaskDefinition))
	}
	b.Run(t, cli, "ecs", "describe-task-definition", "--task-definition", family+":1").MustSucceed(t).JSON(t, &desc)
	if desc.TaskDefinition.Status != "INACTIVE" {
		t.Errorf("describe-task-definition after deregister: status %s, want INACTIVE", desc.TaskDefinition.Status)
	}
	list.TaskDefinitionArns = nil
	b.Run(t, cli, "ecs", "list-task-definitions", "--family-prefix", family, "--status", "ACTIVE").MustSucceed(t).JSON(t, &list)
	if !slices.Equal(list.TaskDefinitionArns, []string{arn("2")}) {
		t.Errorf("list-task-definitions --status ACTIVE after deregistering :1: want [%s], got %v", arn("2"), list.TaskDefinitionArns)
	}
	list.TaskDefinitionArns = nil
	b.Run(t, cli, "ecs", "list-task-definitions", "--family-prefix", family, "--status", "INACTIVE").MustSucceed(t).JSON(t, &list)
	if !slices.Equal(list.TaskDefinitionArns, []string{arn("1")}) {
		t.Errorf("list-task-definitions --status INACTIVE: want [%s], got %v", arn("1"), list.TaskDefinitionArns)
	}

	// An unknown revision cannot be described.
	b.Run(t, cli, "ecs", "describe-task-definition", "--task-definition", family+":99").MustFail(t, cli.ServiceErrorExit, "ClientException")
}

// TestTaskDefinitionValidation registers invalid task definitions: each is
// a ClientException and registers nothing.
func TestTaskDefinitionValidation(t *testing.T) {
	b := shared(t)
	cli := requireCLIv2(t)
	cases := []struct {
		name   string
		mutate func(td map[string]any, c map[string]any)
	}{
		{"no containers", func(td, _ map[string]any) { td["containerDefinitions"] = []any{} }},
		{"missing image", func(_, c map[string]any) { delete(c, "image") }},
		{"empty image", func(_, c map[string]any) { c["image"] = "" }},
		{"memory missing", func(_, c map[string]any) { delete(c, "memory") }},
		{"no essential container", func(_, c map[string]any) { c["essential"] = false }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			family := uniqueName("e2e-invalid")
			td := exampleTaskDef(t)
			td["family"] = family
			tc.mutate(td, firstContainer(t, td))
			file := writeJSON(t, "taskdef.json", td)
			b.Run(t, cli, "ecs", "register-task-definition", "--cli-input-json", file).MustFail(t, cli.ServiceErrorExit, "ClientException")

			var fams struct {
				Families []string `json:"families"`
			}
			b.Run(t, cli, "ecs", "list-task-definition-families", "--family-prefix", family, "--status", "ALL").MustSucceed(t).JSON(t, &fams)
			if len(fams.Families) != 0 {
				t.Errorf("a rejected registration left families %v", fams.Families)
			}
			b.Run(t, cli, "ecs", "describe-task-definition", "--task-definition", family).MustFail(t, cli.ServiceErrorExit, "ClientException")
		})
	}
}
