package ecr

import (
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/berth-dev/berth/internal/api"
)

// TestDeniedCallersLearnNothingOfExistence: a caller refused on a
// repository gets the same refusal whether it exists or not, over the API
// and the registry, as AWS authorizes before it looks.
func TestDeniedCallersLearnNothingOfExistence(t *testing.T) {
	tr := newTestRegistry(t)
	if _, err := tr.CreateRepository(tr.ctx, &CreateRepositoryInput{RepositoryName: "secret"}); err != nil {
		t.Fatal(err)
	}
	tr.authz = grants{}
	ctx := api.WithPrincipal(tr.ctx, user)
	for _, name := range []string{"secret", "missing"} {
		for op, call := range map[string]func() error{
			"DescribeImages": func() error { _, err := tr.DescribeImages(ctx, &DescribeImagesInput{RepositoryName: name}); return err },
			"ListImages":     func() error { _, err := tr.ListImages(ctx, &ListImagesInput{RepositoryName: name}); return err },
			"PutImageTagMutability": func() error {
				_, err := tr.PutImageTagMutability(ctx, &PutImageTagMutabilityInput{RepositoryName: name, ImageTagMutability: "IMMUTABLE"})
				return err
			},
			"GetLifecyclePolicy": func() error {
				_, err := tr.GetLifecyclePolicy(ctx, &LifecyclePolicyInput{RepositoryName: name})
				return err
			},
		} {
			if got := code(call()); got != api.CodeAccessDenied {
				t.Errorf("%s on %s: %s, want AccessDeniedException", op, name, got)
			}
		}
		userAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("AWS:"+tr.userPassword))
		resp, body := tr.do(t, http.MethodGet, "/v2/"+name+"/tags/list", userAuth, "", nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET tags of %s: %s %s, want 403 DENIED", name, resp.Status, body)
		}
	}
}
