package ecr

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// rule builds one lifecycle rule as JSON.
func rule(priority int, selection string) string {
	return fmt.Sprintf(`{"rulePriority":%d,"description":"rule %d","selection":{%s},"action":{"type":"expire"}}`, priority, priority, selection)
}

func policyOf(rules ...string) string {
	return `{"rules":[` + strings.Join(rules, ",") + `]}`
}

func TestParseLifecyclePolicy(t *testing.T) {
	keepTen := `"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":10`
	oldUntagged := `"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14`
	if _, err := parseLifecyclePolicy(policyOf(rule(1, keepTen), rule(2, oldUntagged))); err != nil {
		t.Fatalf("valid policy: %v", err)
	}
	for _, tt := range []struct{ name, text string }{
		{"too short", `{"rules":[]}`},
		{"not json", "{" + strings.Repeat(" ", 100)},
		{"no rules", `{"rules":[]` + strings.Repeat(" ", 100) + `}`},
		{"duplicate priority", policyOf(rule(1, keepTen), rule(1, oldUntagged))},
		{"zero priority", policyOf(rule(0, keepTen))},
		{"tagged without prefixes", policyOf(rule(1, `"tagStatus":"tagged","countType":"imageCountMoreThan","countNumber":1`))},
		{"untagged with prefixes", policyOf(rule(1, `"tagStatus":"untagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":1`))},
		{"prefixes and patterns", policyOf(rule(1, `"tagStatus":"tagged","tagPrefixList":["v"],"tagPatternList":["v*"],"countType":"imageCountMoreThan","countNumber":1`))},
		{"too many wildcards", policyOf(rule(1, `"tagStatus":"tagged","tagPatternList":["*a*b*c*d*"],"countType":"imageCountMoreThan","countNumber":1`))},
		{"bad tag status", policyOf(rule(1, `"tagStatus":"some","countType":"imageCountMoreThan","countNumber":1`))},
		{"bad count type", policyOf(rule(1, `"tagStatus":"untagged","countType":"forever","countNumber":1`))},
		{"days without unit", policyOf(rule(1, `"tagStatus":"untagged","countType":"sinceImagePushed","countNumber":1`))},
		{"count with unit", policyOf(rule(1, `"tagStatus":"untagged","countType":"imageCountMoreThan","countUnit":"days","countNumber":1`))},
		{"zero count", policyOf(rule(1, `"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":0`))},
		{"any not last", policyOf(rule(1, `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":5`), rule(2, oldUntagged))},
		{"unknown field", policyOf(rule(1, oldUntagged+`,"colour":"red"`))},
		{"other action", strings.Replace(policyOf(rule(1, oldUntagged)), "expire", "archive", 1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseLifecyclePolicy(tt.text); code(err) != "InvalidParameterException" {
				t.Fatalf("error %v, want InvalidParameterException", err)
			}
		})
	}
}

func TestLifecycleEvaluate(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	img := func(name string, ageDays int, tags ...string) lifecycleImage {
		return lifecycleImage{Digest: digest.FromString(name), Tags: tags, PushedAt: now.Add(-time.Duration(ageDays) * 24 * time.Hour)}
	}
	images := []lifecycleImage{
		img("prod1", 30, "prod-1"), img("prod2", 20, "prod-2"), img("prod3", 10, "prod-3", "latest"),
		img("dev1", 40, "dev-1"), img("dev2", 5, "dev-2"),
		img("u1", 20), img("u2", 2),
	}
	name := map[digest.Digest]string{}
	for _, i := range images {
		name[i.Digest] = "untagged-" + i.PushedAt.Format("01-02")
		if len(i.Tags) > 0 {
			name[i.Digest] = i.Tags[0]
		}
	}
	for _, tt := range []struct {
		name  string
		rules []string
		want  string
	}{
		{"keep the two newest prod images", []string{rule(1, `"tagStatus":"tagged","tagPrefixList":["prod"],"countType":"imageCountMoreThan","countNumber":2`)}, "prod-1@1"},
		{"untagged older than a week", []string{rule(1, `"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":7`)}, "untagged-05-12@1"},
		{"all prefixes must match", []string{rule(1, `"tagStatus":"tagged","tagPrefixList":["prod","lat"],"countType":"imageCountMoreThan","countNumber":1`)}, ""},
		{"patterns", []string{rule(1, `"tagStatus":"tagged","tagPatternList":["*-1"],"countType":"sinceImagePushed","countUnit":"days","countNumber":1`)}, "dev-1@1 prod-1@1"},
		{"a higher rule protects what it selects", []string{
			rule(1, `"tagStatus":"tagged","tagPrefixList":["prod"],"countType":"imageCountMoreThan","countNumber":2`),
			rule(2, `"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":15`),
		}, "prod-1@1 dev-1@2 untagged-05-12@2"},
		{"any counts everything", []string{rule(1, `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":3`)}, "prod-2@1 untagged-05-12@1 prod-1@1 dev-1@1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseLifecyclePolicy(policyOf(tt.rules...) + strings.Repeat(" ", 100))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range p.evaluate(images, now) {
				got = append(got, fmt.Sprintf("%s@%d", name[e.Image.Digest], e.Rule))
			}
			if !sameWords(strings.Join(got, " "), tt.want) {
				t.Fatalf("expired %q, want %q", strings.Join(got, " "), tt.want)
			}
		})
	}
}

// agedImages puts images v1 (30 days old), v2 (20), v3 (10), an untagged
// one of 5 days and an untagged one of 40, and returns their digests in
// that order.
func agedImages(t *testing.T, s *Service, ctx context.Context) []digest.Digest {
	t.Helper()
	s.CreateRepository(ctx, &CreateRepositoryInput{RepositoryName: "app"})
	var digests []digest.Digest
	for i, days := range []int{30, 20, 10, 5, 40} {
		img := newTestImage(t, s, ctx, "app")
		tag := fmt.Sprint("v", i+1)
		if i >= 3 {
			tag = ""
		}
		if _, err := s.PutImage(ctx, &PutImageInput{RepositoryName: "app", ImageManifest: img.manifest, ImageTag: tag}); err != nil {
			t.Fatal(err)
		}
		at := time.Now().Add(-time.Duration(days) * 24 * time.Hour)
		if err := os.Chtimes(filepath.Join(s.cfg.DataDir, "registry", blobDataPath(img.manifestDigest)), at, at); err != nil {
			t.Fatal(err)
		}
		digests = append(digests, img.manifestDigest)
	}
	return digests
}

// keepTwoAndFreshUntagged keeps the two newest v images and untagged ones
// younger than a week.
var keepTwoAndFreshUntagged = policyOf(
	rule(1, `"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":2`),
	rule(2, `"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":7`))

// TestLifecycleSweep applies a policy to real images: a sweep keeps the
// newest tagged images and expires old untagged ones.
func TestLifecycleSweep(t *testing.T) {
	s, ctx := newService(t)
	digests := agedImages(t, s, ctx)
	now := time.Now()
	policy := keepTwoAndFreshUntagged
	if _, err := s.GetLifecyclePolicy(ctx, &LifecyclePolicyInput{RepositoryName: "app"}); code(err) != "LifecyclePolicyNotFoundException" {
		t.Fatalf("get before put: %v", err)
	}
	if _, err := s.PutLifecyclePolicy(ctx, &PutLifecyclePolicyInput{RepositoryName: "app", LifecyclePolicyText: "{}"}); code(err) != "InvalidParameterException" {
		t.Fatalf("put an invalid policy: %v", err)
	}
	if _, err := s.PutLifecyclePolicy(ctx, &PutLifecyclePolicyInput{RepositoryName: "app", LifecyclePolicyText: policy}); err != nil {
		t.Fatal(err)
	}
	if err := s.sweepLifecycle(ctx, now); err != nil {
		t.Fatal(err)
	}
	list, _ := s.ListImages(ctx, &ListImagesInput{RepositoryName: "app"})
	var left []string
	for _, id := range list.ImageIds {
		left = append(left, id.ImageTag+"@"+id.ImageDigest)
	}
	want := []string{"@" + digests[3].String(), "v2@" + digests[1].String(), "v3@" + digests[2].String()}
	if !sameWords(strings.Join(left, " "), strings.Join(want, " ")) {
		t.Fatalf("after the sweep: %v, want %v", left, want)
	}
	got, err := s.GetLifecyclePolicy(ctx, &LifecyclePolicyInput{RepositoryName: "app"})
	if err != nil || got.LifecyclePolicyText != policy || got.LastEvaluatedAt == nil {
		t.Fatalf("get: %+v, %v", got, err)
	}
	if _, err := s.DeleteLifecyclePolicy(ctx, &LifecyclePolicyInput{RepositoryName: "app"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteLifecyclePolicy(ctx, &LifecyclePolicyInput{RepositoryName: "app"}); code(err) != "LifecyclePolicyNotFoundException" {
		t.Fatalf("delete twice: %v", err)
	}
}

// TestLifecyclePreview previews a policy without expiring anything.
func TestLifecyclePreview(t *testing.T) {
	s, ctx := newService(t)
	digests := agedImages(t, s, ctx)
	if _, err := s.GetLifecyclePolicyPreview(ctx, &GetLifecyclePolicyPreviewInput{RepositoryName: "app"}); code(err) != "LifecyclePolicyPreviewNotFoundException" {
		t.Fatalf("get before start: %v", err)
	}
	if _, err := s.StartLifecyclePolicyPreview(ctx, &StartLifecyclePolicyPreviewInput{RepositoryName: "app"}); code(err) != "LifecyclePolicyNotFoundException" {
		t.Fatalf("start without any policy: %v", err)
	}
	if _, err := s.StartLifecyclePolicyPreview(ctx, &StartLifecyclePolicyPreviewInput{RepositoryName: "app", LifecyclePolicyText: "{}"}); code(err) != "InvalidParameterException" {
		t.Fatalf("start with an invalid policy: %v", err)
	}
	start, err := s.StartLifecyclePolicyPreview(ctx, &StartLifecyclePolicyPreviewInput{RepositoryName: "app", LifecyclePolicyText: keepTwoAndFreshUntagged})
	if err != nil || start.Status != "IN_PROGRESS" {
		t.Fatalf("start: %+v, %v", start, err)
	}
	preview := func(in GetLifecyclePolicyPreviewInput) *GetLifecyclePolicyPreviewOutput {
		t.Helper()
		in.RepositoryName = "app"
		out, err := s.GetLifecyclePolicyPreview(ctx, &in)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	all := preview(GetLifecyclePolicyPreviewInput{})
	if all.Status != "COMPLETE" || all.Summary.ExpiringImageTotalCount != 2 || len(all.PreviewResults) != 2 || all.LifecyclePolicyText != keepTwoAndFreshUntagged {
		t.Fatalf("preview: %+v", all)
	}
	byDigest := map[string]LifecyclePolicyPreviewResult{}
	for _, r := range all.PreviewResults {
		byDigest[r.ImageDigest] = r
	}
	if r := byDigest[digests[0].String()]; r.AppliedRulePriority != 1 || r.Action.Type != "EXPIRE" || len(r.ImageTags) != 1 || r.ImagePushedAt == nil {
		t.Fatalf("v1 in the preview: %+v", r)
	}
	if r := byDigest[digests[4].String()]; r.AppliedRulePriority != 2 || len(r.ImageTags) != 0 {
		t.Fatalf("the old untagged image in the preview: %+v", r)
	}
	if out := preview(GetLifecyclePolicyPreviewInput{Filter: &ImageFilter{TagStatus: "UNTAGGED"}}); len(out.PreviewResults) != 1 || out.PreviewResults[0].ImageDigest != digests[4].String() {
		t.Fatalf("untagged only: %+v", out)
	}
	if out := preview(GetLifecyclePolicyPreviewInput{ImageIds: []ImageIdentifier{{ImageTag: "v1"}, {ImageTag: "v3"}}}); len(out.PreviewResults) != 1 || out.PreviewResults[0].ImageDigest != digests[0].String() {
		t.Fatalf("by image id: %+v", out)
	}
	first := preview(GetLifecyclePolicyPreviewInput{MaxResults: ptr(1)})
	second := preview(GetLifecyclePolicyPreviewInput{MaxResults: ptr(1), NextToken: first.NextToken})
	if len(first.PreviewResults) != 1 || first.NextToken == nil || len(second.PreviewResults) != 1 || second.NextToken != nil ||
		first.PreviewResults[0].ImageDigest == second.PreviewResults[0].ImageDigest {
		t.Fatalf("pages: %+v then %+v", first, second)
	}
	if _, err := s.GetLifecyclePolicyPreview(ctx, &GetLifecyclePolicyPreviewInput{RepositoryName: "app", MaxResults: ptr(101)}); code(err) != "InvalidParameterException" {
		t.Fatalf("maxResults 101: %v", err)
	}
	if list, _ := s.ListImages(ctx, &ListImagesInput{RepositoryName: "app"}); len(list.ImageIds) != 5 {
		t.Fatalf("a preview expired images: %+v", list.ImageIds)
	}
}
