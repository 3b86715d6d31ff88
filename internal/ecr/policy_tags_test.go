package ecr

import (
	"fmt"
	"strings"
	"testing"
)

func TestRepositoryTags(t *testing.T) {
	s, ctx := newService(t)
	out, err := s.CreateRepository(ctx, &CreateRepositoryInput{RepositoryName: "app", Tags: []Tag{{Key: "team", Value: "a"}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := out.Repository.RepositoryArn
	list := func() string {
		t.Helper()
		out, err := s.ListTagsForResource(ctx, &ListTagsForResourceInput{ResourceArn: arn})
		if err != nil {
			t.Fatal(err)
		}
		var kv []string
		for _, tg := range out.Tags {
			kv = append(kv, tg.Key+"="+tg.Value)
		}
		return strings.Join(kv, ",")
	}
	if got := list(); got != "team=a" {
		t.Fatalf("tags given at creation: %q", got)
	}
	if _, err := s.TagResource(ctx, &TagResourceInput{ResourceArn: arn, Tags: []Tag{{Key: "team", Value: "b"}, {Key: "env", Value: ""}}}); err != nil {
		t.Fatal(err)
	}
	if got := list(); got != "team=b,env=" {
		t.Fatalf("after TagResource: %q", got)
	}
	if _, err := s.UntagResource(ctx, &UntagResourceInput{ResourceArn: arn, TagKeys: []string{"team", "absent"}}); err != nil {
		t.Fatal(err)
	}
	if got := list(); got != "env=" {
		t.Fatalf("after UntagResource: %q", got)
	}
	var fifty []Tag
	for i := range 50 {
		fifty = append(fifty, Tag{Key: fmt.Sprint("k", i)})
	}
	for _, tt := range []struct {
		name string
		in   TagResourceInput
		want string
	}{
		{"reserved prefix", TagResourceInput{Tags: []Tag{{Key: "aws:owner", Value: "x"}}}, "InvalidTagParameterException"},
		{"reserved prefix, any case", TagResourceInput{Tags: []Tag{{Key: "AWS:owner", Value: "x"}}}, "InvalidTagParameterException"},
		{"empty key", TagResourceInput{Tags: []Tag{{Key: ""}}}, "InvalidTagParameterException"},
		{"long key", TagResourceInput{Tags: []Tag{{Key: strings.Repeat("k", 129)}}}, "InvalidTagParameterException"},
		{"long value", TagResourceInput{Tags: []Tag{{Key: "k", Value: strings.Repeat("v", 257)}}}, "InvalidTagParameterException"},
		{"bad characters", TagResourceInput{Tags: []Tag{{Key: "k", Value: "a;b"}}}, "InvalidTagParameterException"},
		{"duplicate keys", TagResourceInput{Tags: []Tag{{Key: "k"}, {Key: "k"}}}, "InvalidTagParameterException"},
		{"over 50 with the existing one", TagResourceInput{Tags: fifty}, "TooManyTagsException"},
		{"other region", TagResourceInput{ResourceArn: "arn:aws:ecr:eu-west-1:123456789012:repository/app"}, "InvalidParameterException"},
		{"not an arn", TagResourceInput{ResourceArn: "app"}, "InvalidParameterException"},
		{"unknown repository", TagResourceInput{ResourceArn: "arn:aws:ecr:us-east-1:123456789012:repository/nope"}, "RepositoryNotFoundException"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.in.ResourceArn == "" {
				tt.in.ResourceArn = arn
			}
			if _, err := s.TagResource(ctx, &tt.in); code(err) != tt.want {
				t.Fatalf("error %v, want %s", err, tt.want)
			}
		})
	}
	if got := list(); got != "env=" {
		t.Fatalf("rejected TagResource calls changed the tags: %q", got)
	}
	if _, err := s.TagResource(ctx, &TagResourceInput{ResourceArn: arn, Tags: fifty[:49]}); err != nil {
		t.Fatalf("exactly 50 tags: %v", err)
	}
	if _, err := s.CreateRepository(ctx, &CreateRepositoryInput{RepositoryName: "many", Tags: append(fifty, Tag{Key: "x"})}); code(err) != "TooManyTagsException" {
		t.Fatalf("create with 51 tags: %v", err)
	}
	if _, err := s.UntagResource(ctx, &UntagResourceInput{ResourceArn: arn, TagKeys: []string{"aws:x"}}); code(err) != "InvalidTagParameterException" {
		t.Fatalf("untag a reserved key: %v", err)
	}
}

func TestRepositoryPolicy(t *testing.T) {
	s, ctx := newService(t)
	s.CreateRepository(ctx, &CreateRepositoryInput{RepositoryName: "app"})
	policy := `{"Version":"2012-10-17","Statement":[{"Sid":"pull","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}`
	if _, err := s.GetRepositoryPolicy(ctx, &RepositoryPolicyInput{RepositoryName: "app"}); code(err) != "RepositoryPolicyNotFoundException" {
		t.Fatalf("get before set: %v", err)
	}
	if _, err := s.DeleteRepositoryPolicy(ctx, &RepositoryPolicyInput{RepositoryName: "app"}); code(err) != "RepositoryPolicyNotFoundException" {
		t.Fatalf("delete before set: %v", err)
	}
	set, err := s.SetRepositoryPolicy(ctx, &SetRepositoryPolicyInput{RepositoryName: "app", PolicyText: policy})
	if err != nil || set.PolicyText != policy || set.RegistryId != "123456789012" {
		t.Fatalf("set: %+v, %v", set, err)
	}
	for _, tt := range []struct{ name, text string }{
		{"empty", ""},
		{"not json", "{"},
		{"trailing data", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"ecr:*"}} x`},
		{"no statement", `{"Version":"2012-10-17"}`},
		{"empty statements", `{"Statement":[]}`},
		{"bad version", `{"Version":"2020-01-01","Statement":{"Effect":"Allow","Principal":"*","Action":"ecr:*"}}`},
		{"bad effect", `{"Statement":{"Effect":"Maybe","Principal":"*","Action":"ecr:*"}}`},
		{"no principal", `{"Statement":{"Effect":"Allow","Action":"ecr:*"}}`},
		{"no action", `{"Statement":{"Effect":"Allow","Principal":"*"}}`},
		{"bad action", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"pull everything"}}`},
		{"unknown field", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"ecr:*","Colour":"red"}}`},
		{"too long", `{"Id":"` + strings.Repeat("x", maxPolicy) + `","Statement":{"Effect":"Allow","Principal":"*","Action":"ecr:*"}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.SetRepositoryPolicy(ctx, &SetRepositoryPolicyInput{RepositoryName: "app", PolicyText: tt.text}); code(err) != "InvalidParameterException" {
				t.Fatalf("error %v, want InvalidParameterException", err)
			}
		})
	}
	single := `{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"*"},"NotAction":"ecr:*"}}`
	if _, err := s.SetRepositoryPolicy(ctx, &SetRepositoryPolicyInput{RepositoryName: "app", PolicyText: single}); err != nil {
		t.Fatalf("single statement with Not* elements: %v", err)
	}
	got, err := s.GetRepositoryPolicy(ctx, &RepositoryPolicyInput{RepositoryName: "app"})
	if err != nil || got.PolicyText != single {
		t.Fatalf("get: %+v, %v", got, err)
	}
	// Other writes to the repository record keep the policy.
	if _, err := s.PutImageTagMutability(ctx, &PutImageTagMutabilityInput{RepositoryName: "app", ImageTagMutability: "IMMUTABLE"}); err != nil {
		t.Fatal(err)
	}
	del, err := s.DeleteRepositoryPolicy(ctx, &RepositoryPolicyInput{RepositoryName: "app"})
	if err != nil || del.PolicyText != single {
		t.Fatalf("delete: %+v, %v", del, err)
	}
	if _, err := s.GetRepositoryPolicy(ctx, &RepositoryPolicyInput{RepositoryName: "app"}); code(err) != "RepositoryPolicyNotFoundException" {
		t.Fatalf("get after delete: %v", err)
	}
	if _, err := s.SetRepositoryPolicy(ctx, &SetRepositoryPolicyInput{RepositoryName: "nope", PolicyText: policy}); code(err) != "RepositoryNotFoundException" {
		t.Fatalf("unknown repository: %v", err)
	}
}

// TestRegistryPolicyAndDescribeRegistry: the registry's policy is
// validated, stored, returned and deleted with ECR's errors; the
// registry has no replication rules.
func TestRegistryPolicyAndDescribeRegistry(t *testing.T) {
	s, ctx := newService(t)
	if _, err := s.GetRegistryPolicy(ctx, &struct{}{}); code(err) != "RegistryPolicyNotFoundException" {
		t.Fatalf("get before put: %v", err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Sid":"replicate","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:root"},"Action":["ecr:CreateRepository","ecr:ReplicateImage"],"Resource":"arn:aws:ecr:us-east-1:123456789012:repository/*"}]}`
	if _, err := s.PutRegistryPolicy(ctx, &RegistryPolicyInput{PolicyText: `{"Statement":[]}`}); code(err) != "InvalidParameterException" {
		t.Fatalf("an empty policy: %v", err)
	}
	put, err := s.PutRegistryPolicy(ctx, &RegistryPolicyInput{PolicyText: policy})
	if err != nil || put.PolicyText != policy || put.RegistryId != "123456789012" {
		t.Fatalf("put: %+v %v", put, err)
	}
	if got, err := s.GetRegistryPolicy(ctx, &struct{}{}); err != nil || got.PolicyText != policy {
		t.Fatalf("get: %+v %v", got, err)
	}
	if del, err := s.DeleteRegistryPolicy(ctx, &struct{}{}); err != nil || del.PolicyText != policy {
		t.Fatalf("delete: %+v %v", del, err)
	}
	if _, err := s.DeleteRegistryPolicy(ctx, &struct{}{}); code(err) != "RegistryPolicyNotFoundException" {
		t.Fatalf("delete again: %v", err)
	}
	d, err := s.DescribeRegistry(ctx, &struct{}{})
	if err != nil || d.RegistryId != "123456789012" || d.ReplicationConfiguration.Rules == nil {
		t.Fatalf("describe registry: %+v %v", d, err)
	}
}
