package ecr

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/api"
)

func manual(filters ...string) RegistryScanningRule {
	r := RegistryScanningRule{ScanFrequency: "MANUAL", RepositoryFilters: []ScanningRepositoryFilter{}}
	for _, f := range filters {
		r.RepositoryFilters = append(r.RepositoryFilters, ScanningRepositoryFilter{Filter: f, FilterType: "WILDCARD"})
	}
	return r
}

// TestRegistryScanningConfiguration checks that a configuration that scans
// nothing is validated, stored and returned, and that one that would scan
// (or breaks the model) is refused, naming why, with nothing stored.
func TestRegistryScanningConfiguration(t *testing.T) {
	s, ctx := newService(t)
	get := func() RegistryScanningConfiguration {
		t.Helper()
		out, err := s.GetRegistryScanningConfiguration(ctx, &struct{}{})
		if err != nil || out.RegistryId != "123456789012" {
			t.Fatalf("GetRegistryScanningConfiguration = %+v, %v", out, err)
		}
		return out.ScanningConfiguration
	}
	none := RegistryScanningConfiguration{ScanType: "BASIC", Rules: []RegistryScanningRule{}}
	if got := get(); !reflect.DeepEqual(got, none) {
		t.Fatalf("default configuration %+v, want BASIC with no rules", got)
	}
	stored := none
	tooMany := manual()
	for range 101 {
		tooMany.RepositoryFilters = append(tooMany.RepositoryFilters, ScanningRepositoryFilter{Filter: "a", FilterType: "WILDCARD"})
	}
	for _, tt := range []struct {
		name  string
		in    PutRegistryScanningConfigurationInput
		want  RegistryScanningConfiguration // when accepted
		field string                        // "" = accepted; else the refusal names it
	}{
		{"basic, no rules", PutRegistryScanningConfigurationInput{ScanType: "BASIC"}, none, ""},
		{"scan type left out", PutRegistryScanningConfigurationInput{}, none, ""},
		{"manual rules", PutRegistryScanningConfigurationInput{ScanType: "BASIC", Rules: []RegistryScanningRule{manual("team/*", "app"), manual("*-dev")}},
			RegistryScanningConfiguration{ScanType: "BASIC", Rules: []RegistryScanningRule{manual("team/*", "app"), manual("*-dev")}}, ""},
		{"manual rule without filters", PutRegistryScanningConfigurationInput{ScanType: "BASIC", Rules: []RegistryScanningRule{manual()}},
			RegistryScanningConfiguration{ScanType: "BASIC", Rules: []RegistryScanningRule{manual()}}, ""},
		{"enhanced", PutRegistryScanningConfigurationInput{ScanType: "ENHANCED"}, none, "ENHANCED"},
		{"enhanced with manual rules", PutRegistryScanningConfigurationInput{ScanType: "ENHANCED", Rules: []RegistryScanningRule{manual("*")}}, none, "ENHANCED"},
		{"scan on push", PutRegistryScanningConfigurationInput{ScanType: "BASIC", Rules: []RegistryScanningRule{{ScanFrequency: "SCAN_ON_PUSH", RepositoryFilters: manual("*").RepositoryFilters}}}, none, "SCAN_ON_PUSH"},
		{"continuous", PutRegistryScanningConfigurationInput{ScanType: "BASIC", Rules: []RegistryScanningRule{manual("a"), {ScanFrequency: "CONTINUOUS_SCAN", RepositoryFilters: manual("*").RepositoryFilters}}}, none, "CONTINUOUS_SCAN"},
		{"unknown scan type", PutRegistryScanningConfigurationInput{ScanType: "DEEP"}, none, "scanType"},
		{"three rules", PutRegistryScanningConfigurationInput{Rules: []RegistryScanningRule{manual("a"), manual("b"), manual("c")}}, none, "rules"},
		{"unknown frequency", PutRegistryScanningConfigurationInput{Rules: []RegistryScanningRule{{ScanFrequency: "DAILY", RepositoryFilters: manual("a").RepositoryFilters}}}, none, "scanFrequency"},
		{"filters left out", PutRegistryScanningConfigurationInput{Rules: []RegistryScanningRule{{ScanFrequency: "MANUAL"}}}, none, "repositoryFilters"},
		{"101 filters", PutRegistryScanningConfigurationInput{Rules: []RegistryScanningRule{tooMany}}, none, "repositoryFilters"},
		{"bad filter", PutRegistryScanningConfigurationInput{Rules: []RegistryScanningRule{manual("Team/*")}}, none, "filter"},
		{"empty filter", PutRegistryScanningConfigurationInput{Rules: []RegistryScanningRule{manual("")}}, none, "filter"},
		{"long filter", PutRegistryScanningConfigurationInput{Rules: []RegistryScanningRule{manual(strings.Repeat("a", 256))}}, none, "filter"},
		{"prefix filter type", PutRegistryScanningConfigurationInput{Rules: []RegistryScanningRule{{ScanFrequency: "MANUAL", RepositoryFilters: []ScanningRepositoryFilter{{Filter: "a", FilterType: "PREFIX_MATCH"}}}}}, none, "filterType"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Start each case from a configuration other than the default,
			// so a refusal that stored anything would show.
			if _, err := s.PutRegistryScanningConfiguration(ctx, &PutRegistryScanningConfigurationInput{ScanType: "BASIC", Rules: []RegistryScanningRule{manual("before")}}); err != nil {
				t.Fatal(err)
			}
			stored = RegistryScanningConfiguration{ScanType: "BASIC", Rules: []RegistryScanningRule{manual("before")}}
			out, err := s.PutRegistryScanningConfiguration(ctx, &tt.in)
			if tt.field == "" {
				if err != nil || !reflect.DeepEqual(out.RegistryScanningConfiguration, tt.want) {
					t.Fatalf("Put = %+v, %v; want %+v", out, err, tt.want)
				}
				if got := get(); !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("stored %+v, want %+v", got, tt.want)
				}
				return
			}
			if code(err) != api.CodeInvalidParameterException || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("Put: %v, want InvalidParameterException naming %s", err, tt.field)
			}
			if got := get(); !reflect.DeepEqual(got, stored) {
				t.Fatalf("after a refusal the configuration is %+v, want %+v", got, stored)
			}
		})
	}
}

// TestRepositoryScanningConfiguration checks the per-repository view: never
// on push, MANUAL, with the filters of the registry's rules that match,
// and missing repositories as failures.
func TestRepositoryScanningConfiguration(t *testing.T) {
	s, ctx := newService(t)
	for _, name := range []string{"app", "team/api", "team/web-dev"} {
		if _, err := s.CreateRepository(ctx, &CreateRepositoryInput{RepositoryName: name}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.PutRegistryScanningConfiguration(ctx, &PutRegistryScanningConfigurationInput{ScanType: "BASIC",
		Rules: []RegistryScanningRule{manual("team/*", "app"), manual("*-dev", "*p*")}}); err != nil {
		t.Fatal(err)
	}
	out, err := s.BatchGetRepositoryScanningConfiguration(ctx, &BatchGetRepositoryScanningConfigurationInput{RepositoryNames: []string{"app", "team/web-dev", "team/api", "missing"}})
	if err != nil {
		t.Fatal(err)
	}
	filters := func(fs ...string) []ScanningRepositoryFilter { return manual(fs...).RepositoryFilters }
	want := []RepositoryScanningConfiguration{
		{RepositoryArn: "arn:aws:ecr:us-east-1:123456789012:repository/app", RepositoryName: "app", ScanFrequency: "MANUAL", AppliedScanFilters: filters("app", "*p*")},
		{RepositoryArn: "arn:aws:ecr:us-east-1:123456789012:repository/team/web-dev", RepositoryName: "team/web-dev", ScanFrequency: "MANUAL", AppliedScanFilters: filters("team/*", "*-dev")},
		{RepositoryArn: "arn:aws:ecr:us-east-1:123456789012:repository/team/api", RepositoryName: "team/api", ScanFrequency: "MANUAL", AppliedScanFilters: filters("team/*", "*p*")},
	}
	if !reflect.DeepEqual(out.ScanningConfigurations, want) {
		t.Errorf("configurations\n%+v\nwant\n%+v", out.ScanningConfigurations, want)
	}
	if len(out.Failures) != 1 || out.Failures[0].RepositoryName != "missing" || out.Failures[0].FailureCode != "REPOSITORY_NOT_FOUND" || out.Failures[0].FailureReason == "" {
		t.Errorf("failures %+v, want missing as REPOSITORY_NOT_FOUND", out.Failures)
	}

	for _, tt := range []struct {
		name  string
		names []string
	}{
		{"none", nil},
		{"26", strings.Split(strings.Repeat("aa,", 26)[:3*26-1], ",")},
		{"bad name", []string{"App"}},
	} {
		if _, err := s.BatchGetRepositoryScanningConfiguration(ctx, &BatchGetRepositoryScanningConfigurationInput{RepositoryNames: tt.names}); code(err) != api.CodeInvalidParameterException {
			t.Errorf("%s: %v, want InvalidParameterException", tt.name, err)
		}
	}
}

// TestWildcardMatch pins the scanning filters' wildcard.
func TestWildcardMatch(t *testing.T) {
	for _, tt := range []struct {
		pattern, name string
		want          bool
	}{
		{"app", "app", true}, {"app", "apps", false}, {"*", "team/app", true},
		{"team/*", "team/app", true}, {"team/*", "teams/app", false}, {"*-dev", "web-dev", true},
		{"*-dev", "web-dev2", false}, {"a*b*c", "abc", true}, {"a*b*c", "axxbyyc", true},
		{"a*b*c", "acb", false}, {"ab*ba", "aba", false},
	} {
		if got := wildcardMatch(tt.pattern, tt.name); got != tt.want {
			t.Errorf("wildcardMatch(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

// TestImageScanAndReplicationStatus checks the operations on one image:
// a missing repository, then a missing image, answer as on ECR; an
// existing image cannot be scanned (no scanner), has no scan findings and
// no replication.
func TestImageScanAndReplicationStatus(t *testing.T) {
	s, ctx := newService(t)
	if _, err := s.CreateRepository(ctx, &CreateRepositoryInput{RepositoryName: "app"}); err != nil {
		t.Fatal(err)
	}
	img := newTestImage(t, s, ctx, "app")
	if _, err := s.PutImage(ctx, &PutImageInput{RepositoryName: "app", ImageManifest: img.manifest, ImageTag: "v1"}); err != nil {
		t.Fatal(err)
	}
	d := img.manifestDigest.String()
	ops := map[string]func(repo string, id *ImageIdentifier) error{
		"StartImageScan": func(repo string, id *ImageIdentifier) error {
			_, err := s.StartImageScan(ctx, &ImageScanInput{RepositoryName: repo, ImageId: id})
			return err
		},
		"DescribeImageScanFindings": func(repo string, id *ImageIdentifier) error {
			_, err := s.DescribeImageScanFindings(ctx, &ImageScanInput{RepositoryName: repo, ImageId: id})
			return err
		},
		"DescribeImageReplicationStatus": func(repo string, id *ImageIdentifier) error {
			out, err := s.DescribeImageReplicationStatus(ctx, &DescribeImageReplicationStatusInput{RepositoryName: repo, ImageId: id})
			if err == nil && (out.ImageId.ImageDigest != d || out.RepositoryName != repo || out.ReplicationStatuses == nil || len(out.ReplicationStatuses) != 0) {
				t.Errorf("DescribeImageReplicationStatus = %+v, want the image with no statuses", out)
			}
			return err
		},
	}
	found := map[string]string{"StartImageScan": "UnsupportedImageTypeException", "DescribeImageScanFindings": "ScanNotFoundException", "DescribeImageReplicationStatus": ""}
	for _, tt := range []struct {
		name string
		repo string
		id   *ImageIdentifier
		want string // "found" = the image exists
	}{
		{"missing repository", "missing", &ImageIdentifier{ImageTag: "v1"}, "RepositoryNotFoundException"},
		{"missing repository and image", "missing", &ImageIdentifier{ImageTag: "nope"}, "RepositoryNotFoundException"},
		{"missing tag", "app", &ImageIdentifier{ImageTag: "nope"}, "ImageNotFoundException"},
		{"missing digest", "app", &ImageIdentifier{ImageDigest: "sha256:" + strings.Repeat("0", 64)}, "ImageNotFoundException"},
		{"tag and digest disagree", "app", &ImageIdentifier{ImageTag: "v1", ImageDigest: "sha256:" + strings.Repeat("0", 64)}, "ImageNotFoundException"},
		{"no identifier", "app", &ImageIdentifier{}, api.CodeInvalidParameterException},
		{"no imageId", "app", nil, api.CodeInvalidParameterException},
		{"bad digest", "app", &ImageIdentifier{ImageDigest: "sha256:xyz"}, api.CodeInvalidParameterException},
		{"bad repository name", "App", &ImageIdentifier{ImageTag: "v1"}, api.CodeInvalidParameterException},
		{"by tag", "app", &ImageIdentifier{ImageTag: "v1"}, "found"},
		{"by digest", "app", &ImageIdentifier{ImageDigest: d}, "found"},
	} {
		for op, call := range ops {
			want := tt.want
			if want == "found" {
				want = found[op]
			}
			err := call(tt.repo, tt.id)
			if code(err) != want || (err != nil) != (want != "") {
				t.Errorf("%s, %s: %v, want %q", op, tt.name, err, want)
			}
			if want == "UnsupportedImageTypeException" && !strings.Contains(err.Error(), "no image scanner") {
				t.Errorf("%s, %s: %v does not say Berth has no image scanner", op, tt.name, err)
			}
		}
	}
	if _, err := s.DescribeImageScanFindings(ctx, &ImageScanInput{RepositoryName: "app", ImageId: &ImageIdentifier{ImageTag: "v1"}, MaxResults: new(int)}); code(err) != api.CodeInvalidParameterException {
		t.Errorf("maxResults 0: %v", err)
	}
}

// TestReplicationConfiguration checks that only the empty rules list is
// accepted (and shown by DescribeRegistry), and that a destination, even
// this registry, is refused naming why, with nothing stored.
func TestReplicationConfiguration(t *testing.T) {
	s, ctx := newService(t)
	dest := func(region, id string) ReplicationDestination {
		return ReplicationDestination{Region: region, RegistryId: id}
	}
	rule := func(ds ...ReplicationDestination) ReplicationRule { return ReplicationRule{Destinations: ds} }
	rules := func(rs ...ReplicationRule) *PutReplicationConfigurationInput {
		return &PutReplicationConfigurationInput{ReplicationConfiguration: &replicationInput{Rules: &rs}}
	}
	many := func(n int) []ReplicationDestination {
		return make([]ReplicationDestination, n)
	}
	elevenRules := make([]ReplicationRule, 11)
	for _, tt := range []struct {
		name string
		in   *PutReplicationConfigurationInput
		want string // words of the refusal; "" = accepted
	}{
		{"empty rules", rules(), ""},
		{"another region", rules(rule(dest("eu-west-1", "123456789012"))), "single region"},
		{"another account", rules(rule(dest("us-east-1", "210987654321"))), "single region"},
		{"this registry", rules(rule(dest("us-east-1", "123456789012"))), "its own registry"},
		{"this registry after another", rules(rule(dest("eu-west-1", "123456789012"), dest("us-east-1", "123456789012"))), "its own registry"},
		{"rule without destinations", rules(rule(many(0)...)), "replicates nothing"},
		{"prefix filter", rules(ReplicationRule{Destinations: []ReplicationDestination{dest("eu-west-1", "123456789012")}, RepositoryFilters: []RepositoryFilter{{Filter: "team", FilterType: "PREFIX_MATCH"}}}), "single region"},
		{"no configuration", &PutReplicationConfigurationInput{}, "replicationConfiguration"},
		{"no rules", &PutReplicationConfigurationInput{ReplicationConfiguration: &replicationInput{}}, "rules"},
		{"destinations left out", rules(ReplicationRule{}), "destinations"},
		{"11 rules", rules(elevenRules...), "rules"},
		{"26 destinations", rules(rule(many(26)...)), "destinations"},
		{"bad region", rules(rule(dest("EU_WEST", "123456789012"))), "region"},
		{"bad registry id", rules(rule(dest("eu-west-1", "1234"))), "registryId"},
		{"empty filters", rules(ReplicationRule{Destinations: many(0), RepositoryFilters: []RepositoryFilter{}}), "repositoryFilters"},
		{"bad filter", rules(ReplicationRule{Destinations: many(0), RepositoryFilters: []RepositoryFilter{{Filter: "Team", FilterType: "PREFIX_MATCH"}}}), "filter"},
		{"wildcard filter type", rules(ReplicationRule{Destinations: many(0), RepositoryFilters: []RepositoryFilter{{Filter: "team", FilterType: "WILDCARD"}}}), "filterType"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := s.PutReplicationConfiguration(ctx, tt.in)
			if tt.want == "" {
				if err != nil || out.ReplicationConfiguration.Rules == nil || len(out.ReplicationConfiguration.Rules) != 0 {
					t.Fatalf("Put = %+v, %v; want the empty configuration", out, err)
				}
			} else if code(err) != api.CodeInvalidParameterException || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Put: %v, want InvalidParameterException saying %q", err, tt.want)
			}
			reg, err := s.DescribeRegistry(ctx, &struct{}{})
			if err != nil || reg.ReplicationConfiguration.Rules == nil || len(reg.ReplicationConfiguration.Rules) != 0 {
				t.Fatalf("DescribeRegistry = %+v, %v; want no rules", reg, err)
			}
		})
	}
}

// TestScanningAndReplicationAuthorization checks each operation asks for
// its own action on the resource ECR documents: the registry for the
// registry-wide settings, the repository otherwise.
func TestScanningAndReplicationAuthorization(t *testing.T) {
	s, rootCtx := newService(t)
	if _, err := s.CreateRepository(rootCtx, &CreateRepositoryInput{RepositoryName: "app"}); err != nil {
		t.Fatal(err)
	}
	ctx := api.WithPrincipal(rootCtx, user)
	registry := "arn:aws:ecr:us-east-1:123456789012:registry/123456789012"
	repo := "arn:aws:ecr:us-east-1:123456789012:repository/app"
	id := &ImageIdentifier{ImageTag: "v1"}
	for _, tt := range []struct {
		action, resource string
		call             func(context.Context) error
		granted          string // the error code once granted
	}{
		{"GetRegistryScanningConfiguration", registry, func(ctx context.Context) error {
			_, err := s.GetRegistryScanningConfiguration(ctx, &struct{}{})
			return err
		}, ""},
		{"PutRegistryScanningConfiguration", registry, func(ctx context.Context) error {
			_, err := s.PutRegistryScanningConfiguration(ctx, &PutRegistryScanningConfigurationInput{ScanType: "BASIC"})
			return err
		}, ""},
		{"PutReplicationConfiguration", registry, func(ctx context.Context) error {
			_, err := s.PutReplicationConfiguration(ctx, &PutReplicationConfigurationInput{ReplicationConfiguration: &replicationInput{Rules: &[]ReplicationRule{}}})
			return err
		}, ""},
		{"BatchGetRepositoryScanningConfiguration", repo, func(ctx context.Context) error {
			_, err := s.BatchGetRepositoryScanningConfiguration(ctx, &BatchGetRepositoryScanningConfigurationInput{RepositoryNames: []string{"app"}})
			return err
		}, ""},
		{"StartImageScan", repo, func(ctx context.Context) error {
			_, err := s.StartImageScan(ctx, &ImageScanInput{RepositoryName: "app", ImageId: id})
			return err
		}, "ImageNotFoundException"},
		{"DescribeImageScanFindings", repo, func(ctx context.Context) error {
			_, err := s.DescribeImageScanFindings(ctx, &ImageScanInput{RepositoryName: "app", ImageId: id})
			return err
		}, "ImageNotFoundException"},
		{"DescribeImageReplicationStatus", repo, func(ctx context.Context) error {
			_, err := s.DescribeImageReplicationStatus(ctx, &DescribeImageReplicationStatusInput{RepositoryName: "app", ImageId: id})
			return err
		}, "ImageNotFoundException"},
	} {
		s.authz = grants{}
		if err := tt.call(ctx); code(err) != api.CodeAccessDenied {
			t.Errorf("%s without a grant: %v, want AccessDeniedException", tt.action, err)
		}
		s.authz = grants{"ecr:" + tt.action + " " + tt.resource: true}
		if err := tt.call(ctx); code(err) != tt.granted {
			t.Errorf("%s granted on %s: %v, want %q", tt.action, tt.resource, err, tt.granted)
		}
	}
}
